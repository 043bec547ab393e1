//! Runner behaviour against the reference site: dependencies, timeouts, retries, cancellation
//! and the overall deadline.

use std::time::Duration;

use fedcloud_conformance::checks::Status;
use fedcloud_conformance::reference_site::Fault;
use fedcloud_conformance::report::{exit, verify_bundle};

mod common;

use common::{Scenario, entry, run_scenario};

#[tokio::test(flavor = "multi_thread")]
async fn failed_dependency_skips_dependents() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        faults: vec![Fault::Keystone500],
        filters: vec!["suite:aai"],
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let projects = entry(&summary.report, "aai.vo-projects");
    assert_eq!(projects.status, Status::Skipped);
    assert_eq!(
        projects.message,
        "dependency aai.federated-unscoped-token failed"
    );
    let scoped = entry(&summary.report, "aai.scoped-tokens");
    assert_eq!(scoped.message, "dependency aai.vo-projects was skipped");
    assert_eq!(summary.exit_code, exit::FAILED);
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_are_retried_and_counted() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        faults: vec![Fault::Flaky],
        filters: vec!["requirements.keystone-v3"],
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let check = entry(&summary.report, "requirements.keystone-v3");
    assert_eq!(check.status, Status::Passed, "{}", check.message);
    assert_eq!(check.attempts, 3);
    // Each attempt is kept as evidence, the two 503 answers included.
    assert_eq!(check.evidence.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_check_times_out_as_error() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        faults: vec![Fault::Slow],
        filters: vec!["requirements.keystone-v3"],
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let check = entry(&summary.report, "requirements.keystone-v3");
    assert_eq!(check.status, Status::Error);
    assert!(
        check.message.starts_with("timed out after 1.0 s"),
        "{}",
        check.message
    );
    assert_eq!(summary.exit_code, exit::NOT_EVALUATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancellation_still_writes_every_report() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        faults: vec![Fault::Slow],
        filters: vec!["suite:aai", "suite:requirements"],
        cancel_after: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let incomplete = summary.report.incomplete.as_deref().unwrap_or_default();
    assert!(incomplete.starts_with("interrupted"), "{incomplete}");
    assert_eq!(summary.exit_code, exit::NOT_EVALUATED);
    // Every selected check is recorded, none passed, and the bundle is intact.
    let catalog = common::catalog();
    let selected = catalog
        .checks
        .iter()
        .filter(|c| c.suite == "aai" || c.suite == "requirements")
        .map(|c| c.id.clone())
        .collect();
    let expected = fedcloud_conformance::runner::with_dependencies(&catalog.checks, &selected);
    assert_eq!(summary.report.checks.len(), expected.len());
    assert!(
        summary
            .report
            .checks
            .iter()
            .all(|c| c.status != Status::Passed)
    );
    assert_eq!(verify_bundle(out.path(), None), Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn deadline_stops_the_run() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        faults: vec![Fault::Slow],
        filters: vec!["requirements.keystone-v3", "aai.issuer-discovery"],
        deadline: Some(Duration::from_millis(800)),
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    assert_eq!(
        summary.report.incomplete.as_deref(),
        Some("deadline reached before every check finished")
    );
    let check = entry(&summary.report, "requirements.keystone-v3");
    assert_eq!(check.status, Status::Error);
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_pulls_in_dependencies() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        filters: vec!["aai.scoped-tokens"],
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let ids: Vec<&str> = summary
        .report
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "aai.issuer-discovery",
            "aai.access-token",
            "aai.federated-unscoped-token",
            "aai.vo-projects",
            "aai.scoped-tokens"
        ]
    );
    assert!(
        summary
            .report
            .checks
            .iter()
            .all(|c| c.status == Status::Passed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_job_runs_checks_one_at_a_time() {
    let out = tempfile::tempdir().unwrap();
    let scenario = Scenario {
        filters: vec!["suite:network", "suite:requirements"],
        jobs: 1,
        ..Default::default()
    };
    let summary = run_scenario(scenario, out.path()).await;
    let mut spans: Vec<(chrono::DateTime<chrono::FixedOffset>, u64)> = summary
        .report
        .checks
        .iter()
        .filter(|c| c.status == Status::Passed)
        .map(|c| {
            (
                chrono::DateTime::parse_from_rfc3339(&c.started_at).unwrap(),
                c.duration_ms,
            )
        })
        .collect();
    spans.sort();
    // With one job, each check starts after the previous one ended.
    for pair in spans.windows(2) {
        let end = pair[0].0 + chrono::Duration::milliseconds(pair[0].1 as i64);
        assert!(
            pair[1].0 + chrono::Duration::milliseconds(1) >= end,
            "{pair:?}"
        );
    }
}
