//! The operator-side check of the CA and CRL files the site and this suite rely on: the
//! trust-anchor directory (an installed IGTF bundle) and the concatenated CRL file that the
//! site's TLS server loads. A stale or unreadable file here breaks client-certificate checks
//! without any error a remote probe can see. Each CRL's signature is checked against its CA.

use crate::checks::{CheckCtx, Outcome, Problem};
use crate::x509::{self, CaCertificate, Crl};

use super::join_limited;

/// Problems of CRLs that are out of date at `now`.
fn stale_crls(crls: &[Crl], now: i64) -> Vec<String> {
    crls.iter()
        .filter_map(|crl| match crl.next_update {
            Some(next) if next < now => Some(format!(
                "{} (line {}): the CRL of `{}` was due for renewal on {}; run fetch-crl and rebuild the file",
                crl.path.display(),
                crl.line,
                crl.issuer,
                x509::utc_date(next)
            )),
            _ => None,
        })
        .collect()
}

/// Problems of CRLs whose issuer is a CA of the trust store but whose signature is not by that
/// CA's key: a CRL altered after signing, or one from another CA with the same name.
fn unsigned_crls(crls: &[Crl], certificates: &[CaCertificate]) -> Vec<String> {
    let mut problems = Vec::new();
    for crl in crls {
        let issuers: Vec<&CaCertificate> = certificates
            .iter()
            .filter(|ca| ca.subject == crl.issuer)
            .collect();
        if issuers.is_empty() {
            continue;
        }
        let results: Vec<Result<bool, String>> = issuers
            .iter()
            .map(|ca| x509::crl_signed_by(crl, ca))
            .collect();
        if results.iter().any(|result| matches!(result, Ok(true))) {
            continue;
        }
        let place = format!("{} (line {})", crl.path.display(), crl.line);
        match results.into_iter().find_map(Result::err) {
            Some(reason) => problems.push(format!(
                "{place}: cannot check the signature of the CRL of `{}`: {reason}",
                crl.issuer
            )),
            None => problems.push(format!(
                "{place}: the CRL of `{}` is not signed by the CA certificate {}; it was altered \
                 or comes from another CA with the same name. Fetch it again with fetch-crl",
                crl.issuer,
                issuers[0].path.display()
            )),
        }
    }
    problems
}

/// Reads the trust-anchor directory, adding its problems and returning its CA certificates.
fn check_anchor_dir(
    ctx: &CheckCtx,
    problems: &mut Vec<String>,
    lines: &mut Vec<String>,
) -> Vec<CaCertificate> {
    let tls = &ctx.profile().tls;
    let now = ctx.env.now.timestamp();
    let Some(dir) = &tls.trust_anchors else {
        if !tls.public_roots {
            problems.push(
                "tls.trust_anchors is not set, so no host certificate can be verified; point it at the IGTF CA directory, e.g. /etc/grid-security/certificates".to_owned(),
            );
        }
        return Vec::new();
    };
    let store = match x509::read_trust_store(dir) {
        Ok(store) => store,
        Err(problem) => {
            problems.push(format!("cannot read the trust-anchor directory {problem}"));
            return Vec::new();
        }
    };
    for problem in &store.problems {
        problems.push(format!("unreadable CA or CRL file {problem}"));
    }
    if store.certificates.is_empty() {
        problems.push(format!(
            "{} holds no readable CA certificate (*.pem, *.crt or hash links)",
            dir.display()
        ));
    }
    for cert in &store.certificates {
        lines.push(format!(
            "CA {} `{}` until {}",
            cert.path.display(),
            cert.subject,
            x509::utc_date(cert.not_after)
        ));
        if cert.not_after < now {
            problems.push(format!(
                "{}: the CA certificate `{}` expired on {}; update the IGTF bundle",
                cert.path.display(),
                cert.subject,
                x509::utc_date(cert.not_after)
            ));
        }
    }
    problems.extend(stale_crls(&store.crls, now));
    problems.extend(unsigned_crls(&store.crls, &store.certificates));
    store.certificates
}

pub(super) async fn trust_store(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let now = ctx.env.now.timestamp();
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    let certificates = check_anchor_dir(&ctx, &mut problems, &mut lines);
    let mut summary = format!("{} CA certificates readable", certificates.len());

    if let Some(bundle) = &ctx.profile().tls.crl_bundle {
        match x509::read_crls(bundle) {
            Err(problem) => problems.push(format!("unreadable CRL bundle {problem}")),
            Ok(crls) => {
                for crl in &crls {
                    let next = crl
                        .next_update
                        .map_or_else(|| "never".to_owned(), x509::utc_date);
                    lines.push(format!(
                        "CRL {} line {} `{}` next update {next}, {} revoked",
                        crl.path.display(),
                        crl.line,
                        crl.issuer,
                        crl.revoked
                    ));
                }
                problems.extend(stale_crls(&crls, now));
                problems.extend(unsigned_crls(&crls, &certificates));
                let missing: Vec<String> = certificates
                    .iter()
                    .filter(|ca| !crls.iter().any(|crl| crl.issuer == ca.subject))
                    .map(|ca| format!("`{}`", ca.subject))
                    .collect();
                if !missing.is_empty() {
                    problems.push(format!(
                        "the CRL bundle {} has {} CRLs but none for {}; rebuild it from every CA's .r0 file",
                        bundle.display(),
                        crls.len(),
                        missing.join(", ")
                    ));
                }
                summary.push_str(&format!(
                    ", CRL bundle {} holds {} current CRLs",
                    bundle.display(),
                    crls.len()
                ));
            }
        }
    }
    ctx.evidence.add_text("trust-store.txt", &lines.join("\n"));
    if problems.is_empty() {
        return Ok(Outcome::pass(summary));
    }
    Ok(Outcome::fail(join_limited(&problems, 5)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/tls/crl-signature")
            .join(name)
    }

    #[test]
    fn crl_by_its_ca_passes() {
        let ca = x509::read_certificates(&fixture("ca.pem")).expect("fixture CA");
        let crls = x509::read_crls(&fixture("crl-by-ca.pem")).expect("fixture CRL");
        assert_eq!(unsigned_crls(&crls, &ca), Vec::<String>::new());
    }

    #[test]
    fn crl_by_another_key_is_named() {
        let ca = x509::read_certificates(&fixture("ca.pem")).expect("fixture CA");
        let crls = x509::read_crls(&fixture("crl-by-another-key.pem")).expect("fixture CRL");
        let problems = unsigned_crls(&crls, &ca);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("crl-by-another-key.pem (line 1): the CRL of `"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("is not signed by the CA certificate"),
            "{}",
            problems[0]
        );
    }
}
