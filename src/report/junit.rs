//! `junit.xml`: one testsuite per suite, one testcase per check, written by quick-junit.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::checks::Status;
use crate::report::ReportJson;
use crate::waiver::Waiver;

/// Builds the JUnit report from the same data as `report.json`, so the two always agree.
pub fn junit_report(report: &ReportJson) -> Report {
    let mut junit = Report::new(format!("fedcloud-conformance {}", report.site_name()));
    if let Ok(uuid) = report.run_id.parse::<uuid::Uuid>() {
        junit.set_report_uuid(quick_junit::ReportUuid::from_u128(uuid.as_u128()));
    }
    if let Ok(started) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
        junit.set_timestamp(started);
    }
    let mut suites: Vec<TestSuite> = Vec::new();
    for entry in &report.checks {
        let index = match suites
            .iter()
            .position(|suite| suite.name.as_str() == entry.suite)
        {
            Some(index) => index,
            None => {
                let mut suite = TestSuite::new(entry.suite.clone());
                suite.add_properties([
                    Property::new("site", report.site_name()),
                    Property::new("tool_version", report.tool.version.clone()),
                    Property::new("manifest_sha256", report.manifest_sha256.clone()),
                    Property::new("mode", report.mode.clone()),
                    Property::new("run_id", report.run_id.clone()),
                ]);
                suites.push(suite);
                suites.len() - 1
            }
        };
        let mut status = match entry.status {
            // A waived failure must not fail a CI job that reads this file, and JUnit has no
            // outcome for accepted failures: it is skipped, with the waiver as properties.
            Status::Failed if entry.is_waived() => TestCaseStatus::skipped(),
            Status::Passed => TestCaseStatus::success(),
            Status::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
            Status::Skipped => TestCaseStatus::skipped(),
        };
        if entry.is_waived() {
            status.set_message(format!("waived failure: {}", entry.message));
            status.set_type("waived");
        } else if entry.status != Status::Passed {
            status.set_message(entry.message.clone());
            status.set_type(entry.level.clone());
        }
        let mut case = TestCase::new(entry.id.clone(), status);
        case.set_classname(entry.suite.clone());
        case.set_time(Duration::from_millis(entry.duration_ms));
        case.add_property(Property::new("level", entry.level.clone()));
        case.add_property(Property::new("attempts", entry.attempts.to_string()));
        if let Some(waiver) = &entry.waiver {
            add_waiver_properties(&mut case, waiver);
        }
        let mut explanation = format!(
            "{}\nrule: {}\noutcome: {} ({})\n{}\n",
            entry.title,
            entry.rule,
            entry.outcome(),
            entry.level,
            entry.message
        );
        if let Some(waiver) = &entry.waiver {
            explanation.push_str(&format!("waiver: {}\n", waiver.describe()));
        }
        for file in &entry.evidence {
            explanation.push_str(&format!("evidence: {file}\n"));
        }
        case.set_system_out(explanation);
        let time =
            suites[index].time.unwrap_or_default() + Duration::from_millis(entry.duration_ms);
        suites[index].set_time(time);
        suites[index].add_test_case(case);
    }
    junit.add_test_suites(suites);
    junit
}

fn add_waiver_properties(case: &mut TestCase, waiver: &Waiver) {
    let state = if waiver.expired { "expired" } else { "active" };
    case.add_property(Property::new("waiver_state", state));
    case.add_property(Property::new(
        "waiver_approved_by",
        waiver.approved_by.clone(),
    ));
    case.add_property(Property::new(
        "waiver_expires",
        waiver.expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ));
    case.add_property(Property::new(
        "waiver_justification",
        waiver.justification.clone(),
    ));
}

impl ReportJson {
    /// The site name from the profile copy, or `unknown`.
    pub fn site_name(&self) -> String {
        self.site
            .pointer("/site/name")
            .and_then(|value| value.as_str())
            .unwrap_or("unknown")
            .to_owned()
    }
}
