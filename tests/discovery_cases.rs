//! One test per case file under `fixtures/discovery/{gocdb,glue}/*.toml`: the validator's verdict
//! on the case's input, and the exact set of rules with an error or warning finding.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use fedcloud_conformance::validate::{Finding, Severity, Verdict};
use fedcloud_conformance::{glue, gocdb};
use libtest_mimic::{Arguments, Failed, Trial};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

/// A case file. Paths are relative to the case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    input: PathBuf,
    verdict: String,
    rules: Vec<String>,
    keystone: Option<String>,
    site: Option<String>,
    /// PEM certificate whose subject the nova HOSTDN is compared with.
    host_cert: Option<PathBuf>,
    /// What DNS returns for the nova HOSTNAME.
    host_addresses: Option<Vec<IpAddr>>,
    #[serde(default)]
    vos: Vec<String>,
    /// RFC 3339 time freshness is judged at; the clock when absent.
    now: Option<String>,
}

fn run_case(kind: &str, path: &Path) -> Result<(), Failed> {
    let case: Case = toml::from_str(&std::fs::read_to_string(path)?)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let input = std::fs::read_to_string(dir.join(&case.input))?;
    let findings = match kind {
        "gocdb" => gocdb_findings(&case, dir, &input)?,
        "glue" => glue_findings(&case, &input)?,
        other => return Err(format!("unknown case directory {other}").into()),
    };
    let listing = findings
        .iter()
        .map(Finding::line)
        .collect::<Vec<_>>()
        .join("\n");
    let verdict = Verdict::of(&findings).name();
    if verdict != case.verdict {
        return Err(format!("verdict {verdict}, expected {}:\n{listing}", case.verdict).into());
    }
    let rules: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.rule)
        .collect();
    let expected: BTreeSet<&str> = case.rules.iter().map(String::as_str).collect();
    if rules != expected {
        return Err(format!("rules {rules:?}, expected {expected:?}:\n{listing}").into());
    }
    Ok(())
}

fn gocdb_findings(case: &Case, dir: &Path, input: &str) -> Result<Vec<Finding>, Failed> {
    let subject = match &case.host_cert {
        Some(file) => {
            let der = CertificateDer::from_pem_file(dir.join(file))
                .map_err(|err| format!("{}: {err}", file.display()))?;
            Some(gocdb::dn::certificate_subject(&der)?)
        }
        None => None,
    };
    let context = gocdb::rules::Context {
        site: case.site.as_deref(),
        keystone: case.keystone.as_deref(),
        host_subject: subject.as_deref(),
        host_addresses: case.host_addresses.as_deref(),
    };
    Ok(gocdb::rules::check_document(input, &context))
}

fn glue_findings(case: &Case, input: &str) -> Result<Vec<Finding>, Failed> {
    let now = match &case.now {
        Some(text) => text.parse().map_err(|err| format!("now `{text}`: {err}"))?,
        None => chrono::Utc::now(),
    };
    let context = glue::Context {
        keystone: case.keystone.as_deref(),
        vos: &case.vos,
        now,
    };
    Ok(glue::check_text(input, &context))
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/discovery");
    let mut trials = Vec::new();
    for kind in ["gocdb", "glue"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(kind))
            .expect("fixtures/discovery lists its case directories")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let name = format!("{kind}/{stem}");
            trials.push(Trial::test(name, move || run_case(kind, &path)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
