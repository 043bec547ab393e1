//! Helpers shared by the integration tests: run the suites against the reference site.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fedcloud_conformance::manifest::Catalog;
use fedcloud_conformance::reference_site::{self, Fault, SiteOptions};
use fedcloud_conformance::report::{Mode, ReportJson};
use fedcloud_conformance::session::{self, RunRequest, RunSummary};
use tokio_util::sync::CancellationToken;

/// The repository root, where `suites/` and `fixtures/` live.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn catalog() -> Catalog {
    Catalog::load(&[repo().join("suites")]).expect("bundled suites load")
}

/// Settings of one run against the reference site.
pub struct Scenario {
    pub faults: Vec<Fault>,
    pub filters: Vec<&'static str>,
    pub timeout: Duration,
    pub deadline: Option<Duration>,
    pub cancel_after: Option<Duration>,
    pub jobs: usize,
    /// `keystone.region` to add to the reference site's profile.
    pub keystone_region: Option<&'static str>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            faults: Vec::new(),
            filters: Vec::new(),
            timeout: Duration::from_secs(20),
            deadline: None,
            cancel_after: None,
            jobs: 4,
            keystone_region: None,
        }
    }
}

/// Starts the reference site with the scenario's faults, runs the suites and returns the
/// summary; the bundle lives in `out`.
pub async fn run_scenario(scenario: Scenario, out: &Path) -> RunSummary {
    let site = reference_site::start(SiteOptions {
        faults: scenario.faults,
        ..SiteOptions::default()
    })
    .await
    .expect("reference site starts");
    if let Some(region) = scenario.keystone_region {
        let text = std::fs::read_to_string(&site.profile_path).expect("profile readable");
        let with_region = text.replacen(
            "[keystone]\n",
            &format!("[keystone]\nregion = \"{region}\"\n"),
            1,
        );
        assert_ne!(with_region, text, "the profile has a [keystone] line");
        std::fs::write(&site.profile_path, with_region).expect("profile writable");
    }
    let cancel = CancellationToken::new();
    if let Some(after) = scenario.cancel_after {
        let token = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            token.cancel();
        });
    }
    let request = RunRequest {
        catalog: catalog(),
        profile_path: site.profile_path.clone(),
        out: Some(out.to_path_buf()),
        filters: scenario
            .filters
            .iter()
            .map(|f| f.parse().unwrap())
            .collect(),
        skips: Vec::new(),
        jobs: scenario.jobs,
        check_timeout: scenario.timeout,
        deadline: scenario.deadline,
        mode: Mode::SelfTest,
        strict: false,
        sign: None,
        secret_overrides: Vec::new(),
        plain: true,
        print_summary: false,
        cancel,
    };
    let summary = session::run(request).await.expect("run completes");
    drop(site);
    summary
}

/// The entry of check `id` in a report.
pub fn entry<'a>(report: &'a ReportJson, id: &str) -> &'a fedcloud_conformance::report::CheckEntry {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("check {id} missing from the report"))
}
