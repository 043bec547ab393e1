//! Field cases of the network suite, from inputs in `fixtures/tls/` with fictional hosts and a
//! fictional PKI. They are a catalog that advertises plain http on an IP address, a server
//! that omits its intermediate CA, and a CRL bundle whose PEM markers are glued together.
//! None needs the network testbed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use fedcloud_conformance::checks::{self, CheckCtx, Evidence, RunEnv, Shared, Status};
use fedcloud_conformance::http::{ClientConfig, HttpClient};
use fedcloud_conformance::manifest::{BUILTIN, Catalog, CheckSpec};
use fedcloud_conformance::profile::SiteProfile;
use fedcloud_conformance::report::ReportJson;
use fedcloud_conformance::secret::Redactor;
use fedcloud_conformance::x509::{self, ChainError, PemError};
use libtest_mimic::{Arguments, Failed, Trial};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

fn read_json(name: &str) -> Result<Value, Failed> {
    Ok(serde_json::from_str(&std::fs::read_to_string(fixture(
        name,
    ))?)?)
}

/// Decodes the certificates of a PEM text stored in a JSON string.
fn certificates(pem: &Value) -> Result<Vec<CertificateDer<'static>>, Failed> {
    let blocks = x509::parse_pem(pem.as_str().unwrap_or_default())?;
    Ok(blocks
        .into_iter()
        .map(|block| CertificateDer::from(block.der))
        .collect())
}

/// Case 12: the requirements suite judges the catalog's schemes and IP literals.
fn case12_catalog_public_http() -> Result<(), Failed> {
    let case = read_json("case12-catalog-public-http-ip-literal.json")?;
    let auth_url = case["auth_url_used"].as_str().unwrap_or_default();
    let source = format!(
        "[site]\nname = \"EXAMPLE-CLOUD-SITE\"\nvos = [\"ops\"]\n\n[keystone]\nurl = \"{auth_url}\"\n"
    );
    let profile = SiteProfile::parse(Path::new("/case12.toml"), &source)?;

    let redactor = Redactor::default();
    let env = Arc::new(RunEnv {
        profile,
        redactor: redactor.clone(),
        http: HttpClient::new(ClientConfig::default())?,
        shared: Shared::default(),
        secret_overrides: Vec::new(),
        now: chrono::Utc::now(),
    });
    env.shared
        .put_value("keystone.catalog", case["token"]["catalog"].clone());
    let spec = builtin_spec("requirements.public-endpoints-https")?;
    let ctx = CheckCtx {
        env,
        spec: Arc::new(spec),
        evidence: Evidence::new(redactor),
        retries: Arc::default(),
    };

    let kind = checks::lookup(&ctx.spec.kind).ok_or("no kind for the catalog check")?;
    let outcome = tokio::runtime::Runtime::new()?
        .block_on((kind.run)(ctx))
        .map_err(|problem| problem.0)?;
    let message = &outcome.message;
    assert_eq!(outcome.status, Status::Failed, "{message}");
    assert!(
        message.contains("http://192.0.2.10:5000/v3/ is not https"),
        "{message}"
    );
    assert!(
        message.contains("http://192.0.2.10:5000/v3/ uses an IP address"),
        "{message}"
    );
    assert!(
        message.contains(&format!("from the Keystone URL {auth_url}")),
        "{message}"
    );
    // Internal and admin entries are not public, so they are not judged.
    assert!(!message.contains("35357"), "{message}");
    assert!(!message.contains("cloud.example.org"), "{message}");
    Ok(())
}

fn case18_time(case: &Value) -> Result<UnixTime, Failed> {
    let time = chrono::DateTime::parse_from_rfc3339(
        case["verification_time"].as_str().unwrap_or_default(),
    )?;
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(time.timestamp())?,
    )))
}

/// Case 18: the leaf alone does not build to the root, and the report names the issuer that
/// the server left out.
fn case18_missing_intermediate_named() -> Result<(), Failed> {
    let case = read_json("case18-incomplete-tls-chain.json")?;
    let served = certificates(&case["served_chain_pem"])?;
    let roots = certificates(&case["client_trust_anchors_pem"])?;
    let (anchors, rejected) = x509::trust_anchors(&roots);
    assert!(rejected.is_empty(), "{rejected:?}");
    let err = x509::verify_chain(&served, &anchors, case18_time(&case)?).unwrap_err();
    assert_eq!(
        err,
        ChainError::MissingIssuer {
            last_subject: "CN=keystone.example.org,DC=example,DC=org".to_owned(),
            missing_issuer: "CN=Example Issuing CA 2,DC=example,DC=org".to_owned(),
        }
    );
    assert!(err.to_string().contains("the chain is incomplete"), "{err}");
    Ok(())
}

/// Case 18, positive control: with the intermediate sent, the same leaf validates.
fn case18_with_intermediate_validates() -> Result<(), Failed> {
    let case = read_json("case18-incomplete-tls-chain.json")?;
    let mut served = certificates(&case["served_chain_pem"])?;
    served.extend(certificates(
        &case["missing_intermediate_pem_for_positive_control"],
    )?);
    let roots = certificates(&case["client_trust_anchors_pem"])?;
    let (anchors, _) = x509::trust_anchors(&roots);
    x509::verify_chain(&served, &anchors, case18_time(&case)?)?;
    Ok(())
}

/// Case 18: a root the server sends itself is not trusted because it was sent.
fn case18_untrusted_root_is_self_signed() -> Result<(), Failed> {
    let case = read_json("case18-incomplete-tls-chain.json")?;
    let mut served = certificates(&case["served_chain_pem"])?;
    served.extend(certificates(
        &case["missing_intermediate_pem_for_positive_control"],
    )?);
    served.extend(certificates(&case["client_trust_anchors_pem"])?);
    let err = x509::verify_chain(&served, &[], case18_time(&case)?).unwrap_err();
    assert_eq!(
        err,
        ChainError::SelfSigned {
            subject: "CN=Example Root CA,DC=example,DC=org".to_owned()
        }
    );
    Ok(())
}

/// Case 20: the glued line is found and named, as OpenSSL cannot read past it.
fn case20_glued_markers_named() -> Result<(), Failed> {
    let text = std::fs::read_to_string(fixture("case20-crl-bundle-glued-markers.pem"))?;
    let err = x509::parse_pem(&text).unwrap_err();
    assert_eq!(
        err,
        PemError::GluedMarker {
            line: 7,
            text: "-----END X509 CRL----------BEGIN X509 CRL-----".to_owned()
        }
    );
    let path = fixture("case20-crl-bundle-glued-markers.pem");
    let problem = x509::read_crls(&path).unwrap_err();
    assert_eq!(problem.path, path);
    assert!(problem.reason.starts_with("line 7 reads"), "{problem}");
    Ok(())
}

/// Case 20, positive control: separated, the bundle contains both CAs' CRLs, valid until 2036.
fn case20_separated_bundle_reads() -> Result<(), Failed> {
    let crls = x509::read_crls(&fixture("case20-crl-bundle-separated.pem"))?;
    let issuers: Vec<&str> = crls.iter().map(|crl| crl.issuer.as_str()).collect();
    assert_eq!(
        issuers,
        [
            "CN=Example IGTF CA A,DC=example,DC=org",
            "CN=Example IGTF CA B,DC=example,DC=org"
        ]
    );
    let lines: Vec<usize> = crls.iter().map(|crl| crl.line).collect();
    assert_eq!(lines, [1, 8]);
    let next = chrono::DateTime::parse_from_rfc3339("2036-01-08T00:00:00Z")?.timestamp();
    assert!(
        crls.iter().all(|crl| crl.next_update == Some(next)),
        "{crls:?}"
    );
    assert!(crls.iter().all(|crl| crl.revoked == 1), "{crls:?}");
    Ok(())
}

/// Case 20 end to end: `network.trust-store` fails the run on the glued bundle and names the
/// file and line; the separated bundle passes.
fn case20_trust_store_check() -> Result<(), Failed> {
    for (name, expected) in [
        ("case20-crl-bundle-glued-markers.pem", Status::Failed),
        ("case20-crl-bundle-separated.pem", Status::Passed),
    ] {
        let dir = tempfile::tempdir()?;
        let bundle = fixture(name);
        let profile = dir.path().join("site.toml");
        std::fs::write(
            &profile,
            format!(
                "[site]\nname = \"EXAMPLE-CLOUD-SITE\"\nvos = [\"ops\"]\n\n[keystone]\nurl = \"https://keystone.example.org:5000/v3\"\n\n[tls]\npublic_roots = true\ncrl_bundle = \"{}\"\n",
                bundle.display()
            ),
        )?;
        let out = dir.path().join("out");
        let status = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
            .arg("run")
            .arg("--site")
            .arg(&profile)
            .args([
                "--filter",
                "id:network.trust-store",
                "--mode",
                "ci",
                "--out",
            ])
            .arg(&out)
            .output()?
            .status;
        let report: ReportJson =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json"))?)?;
        let check = &report.checks[0];
        assert_eq!(report.checks.len(), 1);
        assert_eq!(check.status, expected, "{name}: {}", check.message);
        if expected == Status::Failed {
            assert_eq!(status.code(), Some(1));
            assert!(
                check.message.contains(&format!(
                    "unreadable CRL bundle {}: line 7",
                    bundle.display()
                )),
                "{}",
                check.message
            );
        } else {
            assert_eq!(status.code(), Some(0));
            assert!(
                check.message.contains("holds 2 current CRLs"),
                "{}",
                check.message
            );
        }
    }
    Ok(())
}

/// Checks that a PEM body cut short, which decodes as base64, is reported as not DER.
fn truncated_certificate_named() -> Result<(), Failed> {
    let case = read_json("case18-incomplete-tls-chain.json")?;
    let der = certificates(&case["client_trust_anchors_pem"])?.remove(0);
    let body = base64::engine::general_purpose::STANDARD.encode(&der[..192]);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cut.pem");
    std::fs::write(
        &path,
        format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"),
    )?;
    let problem = x509::read_certificates(&path).unwrap_err();
    assert!(
        problem
            .reason
            .starts_with("line 1: the CERTIFICATE block is truncated or is not DER"),
        "{problem}"
    );
    Ok(())
}

/// Returns the manifest's declaration of `id`, from the suites built into the binary.
fn builtin_spec(id: &str) -> Result<CheckSpec, Failed> {
    let sources = BUILTIN
        .iter()
        .map(|(name, text)| (PathBuf::from(name), (*text).to_owned()))
        .collect();
    let catalog = Catalog::from_sources(sources).map_err(|err| err.to_string())?;
    Ok(catalog.get(id).ok_or(format!("no check {id}"))?.clone())
}

/// A test of one case, run as one trial.
type CaseTest = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let cases: [(&str, CaseTest); 8] = [
        ("case12_catalog_public_http", case12_catalog_public_http),
        (
            "case18_missing_intermediate_named",
            case18_missing_intermediate_named,
        ),
        (
            "case18_with_intermediate_validates",
            case18_with_intermediate_validates,
        ),
        (
            "case18_untrusted_root_is_self_signed",
            case18_untrusted_root_is_self_signed,
        ),
        ("case20_glued_markers_named", case20_glued_markers_named),
        (
            "case20_separated_bundle_reads",
            case20_separated_bundle_reads,
        ),
        ("case20_trust_store_check", case20_trust_store_check),
        ("truncated_certificate_named", truncated_certificate_named),
    ];
    let trials = cases
        .into_iter()
        .map(|(name, test)| Trial::test(name, test))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
