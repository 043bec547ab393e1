//! `validate accounting`: checks message files and spools and prints what a site admin must fix.

use std::io::{self, Write};
use std::path::PathBuf;

use super::python::{civil_from_days, shorten};
use super::report::{Finding, MessageReport, Severity, SpoolSummary};
use super::{ApelVerdict, SiteContext, ValidateOptions, rules, validate_paths};

// The offline validators share their exit codes: 0 passed, 1 an error finding (here also a
// message APEL rejects), 2 a path or context file that cannot be used.
pub use crate::validate::cli::{EXIT_FAILED, EXIT_PASSED, EXIT_USAGE};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary per message and a total, for people.
    Text,
    /// JSON Lines: one object per message, then one `{"summary": ...}` object.
    Json,
}

/// Checks APEL accounting messages as the APEL 2.5.0 loader would, plus what it lets through.
///
/// Exit status: 0 when every message passes, 1 when any message is rejected or has an error
/// finding (IP and accelerator JSON messages are judged by their EGI schema, because APEL
/// 2.5.0's loader rejects all JSON), 2 on usage errors.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateAccountingArgs {
    /// Message files, spool directories (dirq layout <8 hex>/<14 hex>) or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format. `json` writes JSON Lines: one object per message ({path, type, version,
    /// records, apel, apel_reason, explanation, findings, newest_record_time, passed}), then a
    /// last line {"summary": {...}}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// GOCDB site name that every record's SiteName (StAR Site) must equal.
    #[arg(long, value_name = "NAME")]
    pub site_name: Option<String>,

    /// Service every record's CloudComputeService (StAR StorageSystem) must equal, usually the
    /// Keystone URL.
    #[arg(long, value_name = "URL")]
    pub service: Option<String>,

    /// Evaluate record freshness as of this time, in Unix seconds, instead of the clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<i64>,

    /// Nova server list (JSON: a `GET /servers/detail` response or `openstack server list
    /// --long -f json`), to find deleted VMs still published as running.
    #[arg(long, value_name = "FILE", help_heading = "Site context")]
    pub nova_servers: Option<PathBuf>,

    /// Keystone project list (JSON: a `GET /v3/projects` response or a list of projects with
    /// their properties), to find projects whose VO property cASO does not read.
    #[arg(long, value_name = "FILE", help_heading = "Site context")]
    pub keystone_projects: Option<PathBuf>,

    /// cASO's VO mapping file (voms.json), to find entries cASO cannot read.
    #[arg(long, value_name = "FILE", help_heading = "Site context")]
    pub voms_mapping: Option<PathBuf>,

    /// cASO's configuration (caso.conf), for the project property it reads (vo_property).
    #[arg(long, value_name = "FILE", help_heading = "Site context")]
    pub caso_config: Option<PathBuf>,
}

/// Builds validation options from the arguments, or returns a usage error message.
pub fn options_from_args(args: &ValidateAccountingArgs) -> Result<ValidateOptions, String> {
    for path in &args.paths {
        if path.as_os_str() != "-" && !path.exists() {
            return Err(format!(
                "path not found: {}\n(hint: pass a message file, a spool directory such as \
                 /var/spool/apel/outgoing, or - for standard input)",
                path.display()
            ));
        }
    }
    let mut options = ValidateOptions::default();
    if let Some(now) = args.now {
        options.now = now;
    }
    options.site_name = args.site_name.clone();
    options.service = args.service.clone();
    let mut context = SiteContext::default();
    let loads = [
        (
            &args.nova_servers,
            SiteContext::load_nova_servers as fn(&mut SiteContext, &std::path::Path) -> _,
        ),
        (&args.keystone_projects, SiteContext::load_keystone_projects),
        (&args.voms_mapping, SiteContext::load_voms_mapping),
        (&args.caso_config, SiteContext::load_caso_config),
    ];
    for (path, load) in loads {
        if let Some(path) = path {
            load(&mut context, path).map_err(|error| {
                let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
                format!("{error}\ncaused by: {cause}\n(hint: check the path and that the file is the right format)")
            })?;
        }
    }
    options.context = context;
    Ok(options)
}

/// Runs the command, printing to standard output and standard error, and returns the exit code.
pub fn run(args: &ValidateAccountingArgs) -> i32 {
    let stdout = io::stdout();
    let stderr = io::stderr();
    run_with_output(args, &mut stdout.lock(), &mut stderr.lock())
}

/// Runs the command with the given output streams and returns the exit code.
pub fn run_with_output(
    args: &ValidateAccountingArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let options = match options_from_args(args) {
        Ok(options) => options,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_USAGE;
        }
    };
    let mut write_failed = None;
    let summary = validate_paths(&args.paths, &options, |report| {
        if write_failed.is_some() {
            return;
        }
        let written = match args.format {
            Format::Text => write_text_report(out, &report),
            Format::Json => serde_json::to_writer(&mut *out, &report)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out)),
        };
        if let Err(error) = written {
            write_failed = Some(error);
        }
    });
    let written = match args.format {
        Format::Text => write_text_summary(out, &summary, options.now),
        Format::Json => {
            serde_json::to_writer(&mut *out, &serde_json::json!({ "summary": summary }))
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    if let Some(error) = write_failed.or(written.err()) {
        let _ = writeln!(err, "error: failed to write the report: {error}");
        return EXIT_FAILED;
    }
    if summary.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn location(finding: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(record) = finding.record {
        parts.push(format!("record {record}"));
    }
    if let Some(line) = finding.line {
        parts.push(format!("line {line}"));
    }
    if let Some(field) = &finding.field {
        parts.push(field.clone());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join(", "))
    }
}

fn write_finding(out: &mut dyn Write, indent: &str, finding: &Finding) -> io::Result<()> {
    writeln!(
        out,
        "{indent}{:<7} {}{}: {}",
        finding.severity.name(),
        finding.rule,
        location(finding),
        finding.message
    )
}

/// Returns `count noun`, adding `s` to the noun unless the count is one.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn write_text_report(out: &mut dyn Write, report: &MessageReport) -> io::Result<()> {
    let status = if report.passed { "PASS" } else { "FAIL" };
    let schema_judged = report
        .findings
        .iter()
        .any(|finding| finding.rule == rules::JSON_ROUTING);
    let apel = match report.apel {
        _ if schema_judged => "judged by the EGI record schema, as APEL 2.5.0 reads no JSON",
        ApelVerdict::Accepted => "APEL accepted",
        ApelVerdict::Rejected => "APEL rejected",
    };
    let version = report
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{status} {}: {}{version}, {}, {apel}",
        report.path,
        report.kind.name(),
        plural(report.records, "record")
    )?;
    if let Some(reason) = &report.apel_reason {
        writeln!(out, "     APEL stores: {}", shorten(reason, 160))?;
    }
    if let Some(explanation) = &report.explanation {
        writeln!(out, "     why: {explanation}")?;
    }
    for finding in &report.findings {
        write_finding(out, "     ", finding)?;
    }
    Ok(())
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn format_time(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        in_day / 3600,
        in_day % 3600 / 60
    )
}

fn write_text_summary(out: &mut dyn Write, summary: &SpoolSummary, now: i64) -> io::Result<()> {
    writeln!(out)?;
    let failed = summary.messages - summary.passed;
    writeln!(
        out,
        "Checked {} ({}, {:.1} MB): {} passed, {failed} failed; APEL 2.5.0 accepts {} and \
         rejects {}.",
        plural(summary.messages, "message"),
        plural(summary.records, "record"),
        summary.bytes as f64 / 1e6,
        summary.passed,
        summary.apel_accepted,
        summary.apel_rejected
    )?;
    let mut types: Vec<_> = summary.by_type.iter().collect();
    types.sort();
    let types: Vec<String> = types
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    if !types.is_empty() {
        writeln!(out, "Message types: {}", types.join(", "))?;
    }
    if let Some(newest) = summary.newest_record_time {
        writeln!(
            out,
            "Newest record: {} ({} days before the check)",
            format_time(newest),
            now.saturating_sub(newest) / 86_400
        )?;
    }
    if !summary.findings.is_empty() {
        writeln!(out, "Spool and site findings:")?;
        for finding in &summary.findings {
            write_finding(out, "  ", finding)?;
        }
    }
    let verdict = if summary.passed() {
        "PASS: every message reaches the accounting repository intact".to_owned()
    } else {
        // The spool's own findings can fail a run in which every message passed.
        let spool_errors = summary
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count();
        let place = if failed == 0 && spool_errors > 0 {
            " (in the spool and site findings)"
        } else {
            ""
        };
        format!(
            "FAIL: {}{place} and {}; fix the errors above, then run the check again",
            plural(summary.errors, "error"),
            plural(summary.warnings, "warning")
        )
    };
    writeln!(out, "Result: {verdict}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_is_utc() {
        assert_eq!(format_time(1_709_337_600), "2024-03-02 00:00 UTC");
        assert_eq!(format_time(-1), "1969-12-31 23:59 UTC");
    }
}
