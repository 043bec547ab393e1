//! The certificate SSM signs accounting messages with. The APEL repository accepts messages
//! only from signers whose subject is a Host DN in GOCDB. EGI's registration guide requires
//! cloud sites to set that Host DN on their `eu.egi.cloud.accounting` endpoint and to use an
//! IGTF-accredited CA.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::super::discovery::site_services;
use super::super::{CheckCtx, Outcome, Problem};
use crate::gocdb::dn;
use crate::gocdb::rules::ACCOUNTING;
use crate::x509::{self, CaCertificate};

/// Default of `[certificates] certificate` in SSM's `sender.cfg`.
const DEFAULT_HOST_CERTIFICATE: &str = "/etc/grid-security/hostcert.pem";

/// Facts about the first certificate of a PEM file.
struct HostCertificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    not_before: i64,
    not_after: i64,
}

fn read_host_certificate(path: &Path) -> Result<HostCertificate, String> {
    let certificates = x509::read_certificates(path).map_err(|problem| problem.to_string())?;
    let first = certificates
        .first()
        .ok_or_else(|| format!("{} holds no certificate", path.display()))?;
    let parsed = x509::parse_certificate(&first.der)
        .map_err(|reason| format!("{}: {reason}", path.display()))?;
    Ok(HostCertificate {
        der: first.der.to_vec(),
        subject: first.subject.clone(),
        issuer: x509::rfc4514(parsed.issuer()),
        not_before: parsed.validity().not_before.timestamp(),
        not_after: parsed.validity().not_after.timestamp(),
    })
}

/// Returns the problem with the certificate's issuer, or the CA file that signed it.
fn issuing_ca(anchors: Option<&Path>, certificate: &HostCertificate) -> Result<PathBuf, String> {
    let Some(dir) = anchors else {
        return Err(
            "tls.trust_anchors is not set, so the issuer cannot be checked; point it at the IGTF \
             CA directory, e.g. /etc/grid-security/certificates"
                .to_owned(),
        );
    };
    let store = x509::read_trust_store(dir)
        .map_err(|problem| format!("cannot read the trust anchors: {problem}"))?;
    let candidates: Vec<&CaCertificate> = store
        .certificates
        .iter()
        .filter(|ca| ca.subject == certificate.issuer)
        .collect();
    for ca in &candidates {
        if x509::certificate_signed_by(&certificate.der, ca) == Ok(true) {
            return Ok(ca.path.clone());
        }
    }
    Err(if candidates.is_empty() {
        format!(
            "its issuer `{}` is not a CA in {}; SSM needs a certificate from an \
             IGTF-accredited CA",
            certificate.issuer,
            dir.display()
        )
    } else {
        format!(
            "it names `{}` as issuer, but that CA's key in {} did not sign it",
            certificate.issuer,
            candidates[0].path.display()
        )
    })
}

pub async fn accounting_certificate(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let Some(accounting) = &ctx.profile().accounting else {
        return Ok(Outcome::skip(
            "the profile has no [accounting] section, so there is no SSM host to check",
        ));
    };
    let path = accounting
        .host_certificate
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_HOST_CERTIFICATE));
    if accounting.host_certificate.is_none() && !path.exists() {
        return Ok(Outcome::skip(format!(
            "accounting.host_certificate is not set and {DEFAULT_HOST_CERTIFICATE} does not \
             exist here; set it to the certificate that SSM's sender.cfg names"
        )));
    }
    let certificate = match read_host_certificate(&path) {
        Ok(certificate) => certificate,
        Err(reason) => {
            return Ok(Outcome::fail(format!(
                "cannot read SSM's certificate {reason}; fix accounting.host_certificate or the \
                 file"
            )));
        }
    };
    let file_name = path.display();
    let mut problems = Vec::new();
    let now = ctx.env.now.timestamp();
    if certificate.not_after < now {
        problems.push(format!(
            "it expired on {}; renew it, or SSM's messages are rejected",
            x509::utc_date(certificate.not_after)
        ));
    } else if certificate.not_before > now {
        problems.push(format!(
            "it is valid only from {}",
            x509::utc_date(certificate.not_before)
        ));
    }
    let issuer = issuing_ca(ctx.profile().tls.trust_anchors.as_deref(), &certificate);
    if let Err(problem) = &issuer {
        problems.push(problem.clone());
    }

    let mut host_dns = Vec::new();
    let mut gocdb_note = String::new();
    if ctx.profile().gocdb.is_some() {
        let (services, source) = site_services(&ctx, Some(ACCOUNTING)).await?;
        host_dns = services
            .iter()
            .map(|service| service.host_dn.trim().to_owned())
            .filter(|host_dn| !host_dn.is_empty())
            .collect();
        let matches = host_dns
            .iter()
            .any(|host_dn| dn::slash_to_rfc2253(host_dn).as_deref() == Ok(&certificate.subject));
        if host_dns.is_empty() {
            // A missing endpoint or Host DN is discovery.gocdb-accounting-service's failure.
            gocdb_note = format!(
                "; GOCDB has no {ACCOUNTING} Host DN to compare it with ({source}), see \
                 discovery.gocdb-accounting-service"
            );
        } else if matches {
            gocdb_note = format!(", and GOCDB registers it as the Host DN of {ACCOUNTING}");
        } else {
            problems.push(format!(
                "its subject `{}` is not the Host DN of any {ACCOUNTING} endpoint in GOCDB \
                 ({source}: {}); the repository rejects messages from other signers, so copy \
                 the subject from `openssl x509 -noout -subject -nameopt compat -in \
                 {file_name}` into the Host DN",
                certificate.subject,
                host_dns.join(", ")
            ));
        }
    }
    ctx.evidence.add_json(
        "accounting-certificate.json",
        &json!({
            "path": path,
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "not_after": x509::utc_date(certificate.not_after),
            "issuing_ca": issuer.as_ref().ok(),
            "gocdb_host_dns": host_dns,
        }),
    );
    if !problems.is_empty() {
        return Ok(Outcome::fail(format!(
            "SSM's certificate {file_name} (`{}`): {}",
            certificate.subject,
            problems.join("; ")
        )));
    }
    Ok(Outcome::pass(format!(
        "SSM's certificate {file_name} is `{}`, issued by `{}` from tls.trust_anchors, valid until \
         {}{gocdb_note}",
        certificate.subject,
        certificate.issuer,
        x509::utc_date(certificate.not_after)
    )))
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    use super::*;

    /// Makes a CA named `CN=name` and returns its PEM and an issuer for it.
    fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).expect("CA").pem();
        (pem, Issuer::new(params, key))
    }

    fn test_ca() -> (String, Issuer<'static, KeyPair>) {
        make_ca("Test IGTF CA")
    }

    fn host_certificate(issuer: &Issuer<'static, KeyPair>, dir: &Path) -> HostCertificate {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(vec!["ssm.example.org".to_owned()]).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "ssm.example.org");
        let pem = params.signed_by(&key, issuer).expect("certificate").pem();
        let path = dir.join("hostcert.pem");
        std::fs::write(&path, pem).expect("write");
        read_host_certificate(&path).expect("readable")
    }

    #[test]
    fn issuer_in_anchors_is_found() {
        let dir = tempfile::tempdir().expect("dir");
        let (ca_pem, issuer) = test_ca();
        std::fs::write(dir.path().join("test-ca.pem"), ca_pem).expect("write");
        let certificate = host_certificate(&issuer, dir.path());

        assert_eq!(certificate.subject, "CN=ssm.example.org");
        assert_eq!(certificate.issuer, "CN=Test IGTF CA");
        assert_eq!(
            issuing_ca(Some(dir.path()), &certificate),
            Ok(dir.path().join("test-ca.pem"))
        );
    }

    #[test]
    fn same_name_other_key_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let (_, real_issuer) = test_ca();
        let (impostor_pem, _) = test_ca();
        std::fs::write(dir.path().join("test-ca.pem"), impostor_pem).expect("write");
        let certificate = host_certificate(&real_issuer, dir.path());

        let problem = issuing_ca(Some(dir.path()), &certificate).expect_err("not signed");
        assert!(problem.contains("did not sign it"), "{problem}");
    }

    #[test]
    fn unknown_issuer_is_named() {
        let anchors = tempfile::tempdir().expect("dir");
        let other = tempfile::tempdir().expect("dir");
        let (unrelated_pem, _) = make_ca("Other CA");
        std::fs::write(anchors.path().join("other-ca.pem"), unrelated_pem).expect("write");
        let (_, issuer) = test_ca();
        let certificate = host_certificate(&issuer, other.path());

        let problem = issuing_ca(Some(anchors.path()), &certificate).expect_err("unknown");
        assert!(
            problem.contains("its issuer `CN=Test IGTF CA` is not a CA in"),
            "{problem}"
        );
        assert!(
            issuing_ca(None, &certificate)
                .expect_err("no anchors")
                .contains("tls.trust_anchors is not set")
        );
    }
}
