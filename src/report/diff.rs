//! `diff`: what changed between two runs of a site, read from their `report.json` files.
//!
//! Outcomes are ranked passed = waived < skipped = error < failed; a check "got worse" when its
//! rank rose between the runs. Checks present in only one run are listed as new or removed and
//! never count as worse, because a new check has no earlier outcome to compare with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::report::{CheckEntry, ReportJson, merge};

/// One run as the diff names it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRef {
    pub bundle: PathBuf,
    pub site: String,
    pub run_id: String,
    pub started_at: String,
    pub verdict: String,
}

/// A check whose outcome differs between the runs.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeChange {
    pub id: String,
    pub level: String,
    pub old: String,
    pub new: String,
    pub worse: bool,
    /// The message of the new run.
    pub message: String,
}

/// A check present in one run only.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRef {
    pub id: String,
    pub level: String,
    pub outcome: String,
    pub message: String,
}

/// A check with the same outcome but another message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageChange {
    pub id: String,
    pub outcome: String,
    pub old: String,
    pub new: String,
}

/// A check whose duration changed by at least the threshold.
#[derive(Debug, Clone, Serialize)]
pub struct DurationChange {
    pub id: String,
    pub old_ms: u64,
    pub new_ms: u64,
}

/// Everything `diff` reports; the JSON output is this structure.
#[derive(Debug, Clone, Serialize)]
pub struct RunDiff {
    pub old: RunRef,
    pub new: RunRef,
    /// Newly failing checks first, then other changes for the worse, then for the better.
    pub changed_outcome: Vec<OutcomeChange>,
    pub added: Vec<CheckRef>,
    pub removed: Vec<CheckRef>,
    pub changed_message: Vec<MessageChange>,
    pub duration_threshold_ms: u64,
    pub changed_duration: Vec<DurationChange>,
    /// Required checks that got worse; any makes the exit code 1.
    pub required_worse: Vec<String>,
}

impl RunDiff {
    /// 1 when a required check got worse, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.required_worse.is_empty() {
            crate::report::exit::PASSED
        } else {
            crate::report::exit::FAILED
        }
    }
}

/// Reads both bundles' reports and compares them.
pub fn diff_bundles(old: &Path, new: &Path, threshold: Duration) -> Result<RunDiff, String> {
    let old_report = merge::read_report(old)?;
    let new_report = merge::read_report(new)?;
    Ok(diff_reports(
        (old, &old_report),
        (new, &new_report),
        threshold,
    ))
}

fn run_ref(bundle: &Path, report: &ReportJson) -> RunRef {
    RunRef {
        bundle: bundle.to_owned(),
        site: report.site_name(),
        run_id: report.run_id.clone(),
        started_at: report.started_at.clone(),
        verdict: report.summary.verdict.clone(),
    }
}

fn rank(outcome: &str) -> u8 {
    match outcome {
        "passed" | "waived" => 0,
        "skipped" | "error" => 1,
        _ => 2,
    }
}

/// Compares two reports.
pub fn diff_reports(
    (old_bundle, old): (&Path, &ReportJson),
    (new_bundle, new): (&Path, &ReportJson),
    threshold: Duration,
) -> RunDiff {
    let old_checks: BTreeMap<&str, &CheckEntry> =
        old.checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let new_checks: BTreeMap<&str, &CheckEntry> =
        new.checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let threshold_ms = u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX);
    let mut diff = RunDiff {
        old: run_ref(old_bundle, old),
        new: run_ref(new_bundle, new),
        changed_outcome: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
        changed_message: Vec::new(),
        duration_threshold_ms: threshold_ms,
        changed_duration: Vec::new(),
        required_worse: Vec::new(),
    };
    for (id, after) in &new_checks {
        let Some(before) = old_checks.get(id) else {
            diff.added.push(check_ref(after));
            continue;
        };
        compare_check(&mut diff, before, after, threshold_ms);
    }
    diff.removed = old_checks
        .iter()
        .filter(|(id, _)| !new_checks.contains_key(*id))
        .map(|(_, entry)| check_ref(entry))
        .collect();
    diff.changed_outcome.sort_by_key(|change| {
        (
            change.new != "failed",
            !change.worse,
            change.level != "required",
            change.id.clone(),
        )
    });
    diff.required_worse = diff
        .changed_outcome
        .iter()
        .filter(|change| change.worse && change.level == "required")
        .map(|change| change.id.clone())
        .collect();
    diff
}

fn compare_check(diff: &mut RunDiff, before: &CheckEntry, after: &CheckEntry, threshold_ms: u64) {
    let (old_outcome, new_outcome) = (before.outcome(), after.outcome());
    if old_outcome != new_outcome {
        diff.changed_outcome.push(OutcomeChange {
            id: after.id.clone(),
            level: after.level.clone(),
            old: old_outcome.to_owned(),
            new: new_outcome.to_owned(),
            worse: rank(new_outcome) > rank(old_outcome),
            message: after.message.clone(),
        });
    } else if before.message != after.message {
        diff.changed_message.push(MessageChange {
            id: after.id.clone(),
            outcome: new_outcome.to_owned(),
            old: before.message.clone(),
            new: after.message.clone(),
        });
    }
    if before.duration_ms.abs_diff(after.duration_ms) >= threshold_ms {
        diff.changed_duration.push(DurationChange {
            id: after.id.clone(),
            old_ms: before.duration_ms,
            new_ms: after.duration_ms,
        });
    }
}

fn check_ref(entry: &CheckEntry) -> CheckRef {
    CheckRef {
        id: entry.id.clone(),
        level: entry.level.clone(),
        outcome: entry.outcome().to_owned(),
        message: entry.message.clone(),
    }
}

/// Parses a duration with a unit: `250ms`, `2s`, `1.5s` or `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (hint: write e.g. 500ms, 2s or 1m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "" => {
            return Err(format!(
                "`{text}` has no unit (hint: add ms, s or m, e.g. {text}s)"
            ));
        }
        other => {
            return Err(format!(
                "`{text}` has the unknown unit `{other}` (hint: use ms, s or m)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("`{text}` is out of range: {err}"))
}

/// Renders a diff as text, for people and nightly job logs.
pub fn render_text(diff: &RunDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "old: {} {} (run {}, {})\nnew: {} {} (run {}, {})",
        diff.old.site,
        diff.old.verdict,
        diff.old.run_id,
        diff.old.started_at,
        diff.new.site,
        diff.new.verdict,
        diff.new.run_id,
        diff.new.started_at
    );
    if diff.old.site != diff.new.site {
        let _ = writeln!(out, "warning: the runs are of different sites");
    }

    write_outcomes(&mut out, diff);
    write_added_removed(&mut out, diff);
    write_messages(&mut out, diff);
    write_durations(&mut out, diff);

    let _ = if diff.required_worse.is_empty() {
        writeln!(out, "\nno required check got worse")
    } else {
        writeln!(
            out,
            "\n{} required check(s) got worse: {}",
            diff.required_worse.len(),
            diff.required_worse.join(", ")
        )
    };
    out
}

fn write_outcomes(out: &mut String, diff: &RunDiff) {
    if !diff.changed_outcome.is_empty() {
        let _ = writeln!(out, "\noutcome changed ({}):", diff.changed_outcome.len());
    }
    for change in &diff.changed_outcome {
        let _ = writeln!(
            out,
            "  {:<6} {} ({}): {} -> {}: {}",
            if change.worse { "WORSE" } else { "BETTER" },
            change.id,
            change.level,
            change.old,
            change.new,
            first_line(&change.message)
        );
    }
}

fn write_added_removed(out: &mut String, diff: &RunDiff) {
    for (title, sign, list) in [
        ("new checks", '+', &diff.added),
        ("removed checks", '-', &diff.removed),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n{title} ({}):", list.len());
        }
        for check in list {
            let _ = writeln!(
                out,
                "  {sign} {} ({}): {}",
                check.id, check.level, check.outcome
            );
        }
    }
}

fn write_messages(out: &mut String, diff: &RunDiff) {
    if !diff.changed_message.is_empty() {
        let _ = writeln!(out, "\nmessage changed ({}):", diff.changed_message.len());
    }
    for change in &diff.changed_message {
        let _ = writeln!(
            out,
            "  {} ({})\n    old: {}\n    new: {}",
            change.id,
            change.outcome,
            first_line(&change.old),
            first_line(&change.new)
        );
    }
}

fn write_durations(out: &mut String, diff: &RunDiff) {
    if !diff.changed_duration.is_empty() {
        let _ = writeln!(
            out,
            "\nduration changed by {} ms or more ({}):",
            diff.duration_threshold_ms,
            diff.changed_duration.len()
        );
    }
    for change in &diff.changed_duration {
        let _ = writeln!(
            out,
            "  {}: {:.3} s -> {:.3} s",
            change.id,
            change.old_ms as f64 / 1000.0,
            change.new_ms as f64 / 1000.0
        );
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_needs_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("2h")
                .unwrap_err()
                .contains("unknown unit `h`")
        );
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
    }

    #[test]
    fn rank_orders_outcomes() {
        assert!(rank("failed") > rank("error"));
        assert!(rank("error") > rank("passed"));
        assert_eq!(rank("waived"), rank("passed"));
        assert_eq!(rank("skipped"), rank("error"));
    }
}
