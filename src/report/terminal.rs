//! What a person sees while a run goes: a progress bar on a terminal, one line per check
//! otherwise, then counts per suite, failed required checks first, and one verdict line.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use crate::checks::Status;
use crate::manifest::Level;
use crate::report::Counts;
use crate::runner::{CheckRecord, RunEvent};

/// Progress display on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Checks with an active waiver, whose failures are shown as WAIVED.
    waived: HashSet<String>,
    /// Print nothing per check (monitoring and federation runs).
    quiet: bool,
}

impl Progress {
    /// A bar when stderr is a terminal and `plain` is not asked for, plain lines otherwise.
    pub fn new(total: usize, plain: bool) -> Self {
        let bar = (!plain && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            waived: HashSet::new(),
            quiet: false,
        }
    }

    /// No output at all, for callers that print their own.
    pub fn quiet() -> Self {
        Progress {
            bar: None,
            waived: HashSet::new(),
            quiet: true,
        }
    }

    /// Shows failures of these checks as WAIVED.
    pub fn with_waived(mut self, checks: HashSet<String>) -> Self {
        self.waived = checks;
        self
    }

    pub fn event(&self, event: RunEvent<'_>) {
        if self.quiet {
            return;
        }
        match event {
            RunEvent::Started { spec } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(spec.id.clone());
                }
            }
            RunEvent::Finished { record } => {
                let waived =
                    record.status == Status::Failed && self.waived.contains(&record.spec.id);
                let line = format!(
                    "{:>7} {:<44} {:>7.2}s  {}",
                    if waived {
                        "WAIVED"
                    } else {
                        label(record.status)
                    },
                    record.spec.id,
                    record.duration.as_secs_f64(),
                    first_line(&record.message)
                );
                match &self.bar {
                    Some(bar) => {
                        if record.status != Status::Passed {
                            bar.println(line);
                        }
                        bar.inc(1);
                    }
                    None => eprintln!("{line}"),
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn label(status: Status) -> &'static str {
    match status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Error => "ERROR",
        Status::Skipped => "SKIP",
    }
}

/// Returns the label of a finished record, WAIVED for a failure an active waiver accepts.
fn record_label(record: &CheckRecord) -> &'static str {
    match &record.waiver {
        Some(waiver) if waiver.waives(record.status) => "WAIVED",
        _ => label(record.status),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Writes the end-of-run summary.
pub fn print_summary(
    out: &mut impl Write,
    records: &[CheckRecord],
    verdict: &str,
    bundle: &std::path::Path,
    incomplete: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{:<14} {:>6} {:>6} {:>6} {:>7}",
        "suite", "passed", "failed", "error", "skipped"
    )?;
    let mut suites: Vec<&str> = records.iter().map(|r| r.spec.suite.as_str()).collect();
    suites.dedup();
    let mut seen = std::collections::HashSet::new();
    for suite in suites.into_iter().filter(|suite| seen.insert(*suite)) {
        let in_suite: Vec<CheckRecord> = records
            .iter()
            .filter(|r| r.spec.suite == suite)
            .cloned()
            .collect();
        let counts = Counts::of(&in_suite);
        writeln!(
            out,
            "{:<14} {:>6} {:>6} {:>6} {:>7}",
            suite, counts.passed, counts.failed, counts.error, counts.skipped
        )?;
    }
    let mut problems: Vec<&CheckRecord> = records
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Error))
        .collect();
    // Required failures first, then required errors, then advisory ones; waived failures last.
    problems.sort_by_key(|r| {
        (
            record_label(r) == "WAIVED",
            r.spec.level != Level::Required,
            r.status != Status::Failed,
        )
    });
    if !problems.is_empty() {
        writeln!(out)?;
    }
    for record in problems {
        writeln!(
            out,
            "{} {} ({}): {}",
            record_label(record),
            record.spec.id,
            record.spec.level.as_str(),
            record.message
        )?;
        if let Some(waiver) = record.waiver.as_ref().filter(|w| w.waives(record.status)) {
            writeln!(out, "  waiver: {}", waiver.describe())?;
        }
    }

    for record in records {
        if let Some(waiver) = record.waiver.as_ref().filter(|w| w.expired) {
            writeln!(
                out,
                "warning: the waiver for {} {} and was ignored",
                record.spec.id,
                waiver.describe()
            )?;
        }
    }
    if let Some(reason) = incomplete {
        writeln!(out, "\nrun incomplete: {reason}")?;
    }
    let counts = Counts::of(records);
    writeln!(
        out,
        "\n{verdict}: {} passed, {} failed ({} required), {} error, {} skipped{}",
        counts.passed,
        counts.failed,
        counts.required_failed,
        counts.error,
        counts.skipped,
        if counts.waived > 0 {
            format!(", {} waived", counts.waived)
        } else {
            String::new()
        }
    )?;
    writeln!(out, "reports: {}", bundle.display())?;
    writeln!(out, "  {}", bundle.join("junit.xml").display())?;
    writeln!(out, "  {}", bundle.join("report.json").display())?;
    writeln!(out, "  {}", bundle.join("report.html").display())?;
    Ok(())
}
