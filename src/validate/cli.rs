//! `validate gocdb` and `validate glue`: check a saved GOCDB PI response or a GLUE2.1 document
//! offline and print what a site admin must fix.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{Finding, Severity, Verdict};
use crate::{glue, gocdb};

/// Exit code when no finding is an error (warnings allowed).
pub const EXIT_PASSED: i32 = 0;
/// Exit code when a finding is an error, or the report could not be written.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for usage errors: a file or option value that cannot be used.
pub const EXIT_USAGE: i32 = 2;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per finding and a verdict line, for people.
    Text,
    /// One JSON object: {file, document, verdict, counts, findings: [{severity, rule,
    /// location, message}]}.
    Json,
}

/// Checks a saved GOCDB PI response (`get_site` or `get_service_endpoint`) against EGI's
/// registration rules for a FedCloud site.
///
/// Exit status: 0 when no finding is an error (warnings allowed), 1 when one is, 2 on usage
/// errors.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateGocdbArgs {
    /// The saved XML response, or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Keystone URL the org.openstack.nova service must register (compared without /v3 and
    /// trailing slashes).
    #[arg(long, value_name = "URL")]
    pub keystone: Option<String>,
    /// Check only the site with this GOCDB short name.
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// The nova host's certificate (PEM), whose subject the HOSTDN must equal.
    #[arg(long, value_name = "PEM")]
    pub host_cert: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Checks a GLUE2.1 JSON document as cloud-info-provider publishes it: shape, endpoint, a share
/// per VO, images, instance types and freshness.
///
/// Exit status: 0 when no finding is an error (warnings allowed), 1 when one is, 2 on usage
/// errors.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateGlueArgs {
    /// The GLUE2.1 JSON document, or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Keystone URL the org.openstack.nova endpoint must publish.
    #[arg(long, value_name = "URL")]
    pub keystone: Option<String>,
    /// VO that must have a share. Repeatable; without it, at least one share is required.
    #[arg(long = "vo", value_name = "VO")]
    pub vos: Vec<String>,
    /// Judge freshness at this time (RFC 3339, e.g. 2026-12-04T16:00:00Z) instead of the
    /// clock, for documents saved earlier.
    #[arg(long, value_name = "TIME")]
    pub now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `validate gocdb`; returns the exit code.
pub fn run_gocdb(args: &ValidateGocdbArgs) -> i32 {
    let prepared = read_input(
        &args.file,
        "a saved get_site or get_service_endpoint response",
    )
    .and_then(|text| {
        check_keystone_option(args.keystone.as_deref())?;
        let subject = args
            .host_cert
            .as_deref()
            .map(certificate_subject)
            .transpose()?;
        Ok((text, subject))
    });
    let (text, subject) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => return usage_error(&message),
    };
    let context = gocdb::rules::Context {
        site: args.site.as_deref(),
        keystone: args.keystone.as_deref(),
        host_subject: subject.as_deref(),
        // TODO: offline runs have no DNS answer to compare HOST_IP with; only the suite's
        // gocdb-host-identity check resolves HOSTNAME.
        host_addresses: None,
    };
    let findings = gocdb::rules::check_document(&text, &context);
    report(&args.file, "gocdb", &findings, args.format)
}

/// Runs `validate glue`; returns the exit code.
pub fn run_glue(args: &ValidateGlueArgs) -> i32 {
    let text = match read_input(&args.file, "cloud-info-provider's glue21json output")
        .and_then(|text| check_keystone_option(args.keystone.as_deref()).map(|()| text))
    {
        Ok(text) => text,
        Err(message) => return usage_error(&message),
    };
    let context = glue::Context {
        keystone: args.keystone.as_deref(),
        vos: &args.vos,
        now: args.now.unwrap_or_else(Utc::now),
    };
    let findings = glue::check_text(&text, &context);
    report(&args.file, "glue", &findings, args.format)
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

fn read_input(path: &Path, what: &str) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        return io::stdin()
            .read_to_string(&mut text)
            .map(|_| text)
            .map_err(|err| format!("cannot read standard input: {err}"));
    }
    if path.is_dir() {
        return Err(format!(
            "{} is a directory\n(hint: pass {what} as a file)",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|err| {
        format!(
            "cannot read {}: {err}\n(hint: check the path; pass {what}, or - for standard input)",
            path.display()
        )
    })
}

fn check_keystone_option(keystone: Option<&str>) -> Result<(), String> {
    let Some(keystone) = keystone else {
        return Ok(());
    };
    crate::openstack::keystone_root(keystone)
        .map(drop)
        .map_err(|err| format!("--keystone: {err}\n(hint: write it as https://host:port/v3)"))
}

fn certificate_subject(path: &Path) -> Result<String, String> {
    let certificate = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?
        .next()
        .ok_or_else(|| {
            format!(
                "{} holds no PEM certificate\n(hint: save the host certificate with `openssl \
                 s_client -connect HOST:PORT </dev/null | openssl x509 > host.pem`)",
                path.display()
            )
        })?
        .map_err(|err| format!("invalid PEM in {}: {err}", path.display()))?;
    gocdb::dn::certificate_subject(&certificate).map_err(|err| format!("{}: {err}", path.display()))
}

fn report(file: &Path, document: &str, findings: &[Finding], format: Format) -> i32 {
    let verdict = Verdict::of(findings);
    let mut out = io::stdout().lock();
    let written = match format {
        Format::Text => write_text(&mut out, file, findings, verdict),
        Format::Json => write_json(&mut out, file, document, findings, verdict),
    };
    if let Err(err) = written {
        if err.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: failed to write the report: {err}");
            return EXIT_FAILED;
        }
    }
    if verdict == Verdict::Fail {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    }
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

fn write_text(
    out: &mut dyn Write,
    file: &Path,
    findings: &[Finding],
    verdict: Verdict,
) -> io::Result<()> {
    for finding in findings {
        writeln!(out, "{}", finding.line())?;
    }
    writeln!(
        out,
        "{}: {} ({} errors, {} warnings)",
        file.display(),
        verdict.name().to_uppercase(),
        count(findings, Severity::Error),
        count(findings, Severity::Warning)
    )
}

fn write_json(
    out: &mut dyn Write,
    file: &Path,
    document: &str,
    findings: &[Finding],
    verdict: Verdict,
) -> io::Result<()> {
    let value = serde_json::json!({
        "file": file.display().to_string(),
        "document": document,
        "verdict": verdict,
        "counts": {
            "error": count(findings, Severity::Error),
            "warning": count(findings, Severity::Warning),
            "info": count(findings, Severity::Info),
        },
        "findings": findings,
    });
    serde_json::to_writer(&mut *out, &value)?;
    writeln!(out)
}
