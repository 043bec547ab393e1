//! Monitoring mode (`check CHECK_ID --site SITE.toml`): one check and what it depends on, run by
//! the same session and runner as `run`, reported as a Nagios/ARGO probe.
//!
//! The probe prints one line, `STATE - message | perfdata`, and exits with the state's code.
//! OK 0: passed. WARNING 1: an advisory failure, or a failure an active waiver accepts (shown,
//! so it stays visible). CRITICAL 2: a required failure. UNKNOWN 3: error, skipped, or the
//! probe could not run, usage errors included.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::checks::Status;
use crate::manifest::Catalog;
use crate::report::{CheckEntry, Mode, ReportJson};
use crate::session::{self, RunExtras, RunRequest};

/// A Nagios plugin state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    /// Returns the plugin exit code of the state.
    pub fn code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// The probe's state and status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub state: State,
    /// The whole status line, without a newline.
    pub line: String,
}

/// One probe run.
pub struct ProbeRequest {
    pub catalog: Catalog,
    pub profile_path: PathBuf,
    pub check_id: String,
    pub jobs: usize,
    pub check_timeout: Duration,
    /// Bundle directory; without it no bundle is written.
    pub out: Option<PathBuf>,
    pub waivers: Option<PathBuf>,
    pub cancel: CancellationToken,
}

/// Runs the check and its dependencies and builds the status line.
pub async fn probe(request: ProbeRequest) -> ProbeResult {
    if request.catalog.get(&request.check_id).is_none() {
        return unknown(&format!(
            "unknown check `{}` (hint: `fedcloud-conformance list` prints the ids)",
            request.check_id
        ));
    }
    let filter = match format!("id:{}", request.check_id).parse() {
        Ok(filter) => filter,
        Err(err) => return unknown(&format!("invalid check id `{}`: {err}", request.check_id)),
    };
    let no_bundle = request.out.is_none();
    let run = RunRequest {
        catalog: request.catalog,
        profile_path: request.profile_path,
        out: request.out,
        filters: vec![filter],
        skips: Vec::new(),
        jobs: request.jobs,
        check_timeout: request.check_timeout,
        deadline: None,
        mode: Mode::Ci,
        strict: false,
        sign: None,
        secret_overrides: Vec::new(),
        plain: true,
        print_summary: false,
        cancel: request.cancel,
    };
    let extras = RunExtras {
        waivers: request.waivers,
        quiet: true,
        no_bundle,
    };
    match session::run_with(run, extras).await {
        Ok(summary) => status_line(&summary.report, &request.check_id),
        Err(err) => unknown(&format!("cannot run: {err}")),
    }
}

fn unknown(message: &str) -> ProbeResult {
    ProbeResult {
        state: State::Unknown,
        line: format!("UNKNOWN - {}", plugin_text(message)),
    }
}

/// Builds the state and status line for `check_id` from a finished run.
pub fn status_line(report: &ReportJson, check_id: &str) -> ProbeResult {
    let Some(entry) = report.checks.iter().find(|entry| entry.id == check_id) else {
        return unknown(&format!("{check_id} is missing from the run's report"));
    };
    let required = entry.level == "required";
    let state = match entry.status {
        Status::Passed => State::Ok,
        Status::Failed if entry.is_waived() => State::Warning,
        Status::Failed if required => State::Critical,
        Status::Failed => State::Warning,
        Status::Error | Status::Skipped => State::Unknown,
    };
    let mut message = format!("{check_id}: {}", entry.message);
    if let Some(waiver) = entry.waiver.as_ref().filter(|_| entry.is_waived()) {
        message.push_str(&format!(" (waived: {})", waiver.describe()));
    }
    if let Some(cause) = failed_dependency(report, entry) {
        message.push_str(&format!(
            " ({} {}: {})",
            cause.id,
            cause.outcome(),
            cause.message
        ));
    }
    let total_ms: u64 = report.checks.iter().map(|entry| entry.duration_ms).sum();
    let perfdata = format!(
        "time={:.3}s;;;0 checks_time={:.3}s;;;0 checks={};;;0",
        entry.duration_ms as f64 / 1000.0,
        total_ms as f64 / 1000.0,
        report.checks.len()
    );
    ProbeResult {
        state,
        line: format!(
            "{} - {} | {perfdata}",
            state.as_str(),
            plugin_text(&message)
        ),
    }
}

/// Finds the cause of a skipped check: following dependencies that did not pass, the last
/// one reached.
fn failed_dependency<'a>(report: &'a ReportJson, entry: &CheckEntry) -> Option<&'a CheckEntry> {
    if entry.status != Status::Skipped {
        return None;
    }
    let mut current = entry;
    let mut cause = None;
    // The catalog rejects dependency cycles, so this ends; the bound guards a hand-edited report.
    for _ in 0..report.checks.len() {
        let next = current.depends_on.iter().find_map(|id| {
            report
                .checks
                .iter()
                .find(|dep| &dep.id == id && dep.status != Status::Passed)
        });
        match next {
            Some(dependency) => {
                cause = Some(dependency);
                current = dependency;
            }
            None => break,
        }
    }
    cause
}

/// Joins the lines of `text` into one plugin output line and replaces `|`, because Nagios
/// reads everything after the first `|` as performance data.
fn plugin_text(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}
