//! Many sites' bundles as one: a JUnit file whose testsuites are named `SITE/suite`, and a
//! summary (`summary.json` and a text table) with one row per site. `merge` and federation runs
//! (`run --sites`) both write these.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::{Counts, ReportJson, exit, junit_report};

/// Bumped whenever a field of `summary.json` changes meaning or disappears.
pub const SUMMARY_FORMAT_VERSION: u32 = 1;

/// Verdict of a site whose run could not start (for example an invalid profile).
pub const NOT_RUN: &str = "NOT RUN";

/// One site's row of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteResult {
    pub site: String,
    /// The profile the run used, for federation runs.
    pub profile: Option<PathBuf>,
    pub bundle: Option<PathBuf>,
    pub run_id: Option<String>,
    /// PASSED, FAILED, INCOMPLETE, or NOT RUN when `error` is set.
    pub verdict: String,
    pub exit_code: i32,
    pub counts: Counts,
    /// The reason the site's run could not start.
    pub error: Option<String>,
}

/// Counts of sites by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTotals {
    pub sites: usize,
    pub passed: usize,
    pub failed: usize,
    pub incomplete: usize,
    pub not_run: usize,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationSummary {
    pub format_version: u32,
    pub generated_at: String,
    pub totals: SiteTotals,
    /// 1 when a site failed; else 2 when a site could not run; else 3 when a site is
    /// incomplete; else 0.
    pub exit_code: i32,
    pub sites: Vec<SiteResult>,
}

impl FederationSummary {
    /// Builds the summary, sites sorted by name.
    pub fn new(mut sites: Vec<SiteResult>) -> Self {
        sites.sort_by(|a, b| a.site.cmp(&b.site));
        let mut totals = SiteTotals {
            sites: sites.len(),
            ..SiteTotals::default()
        };
        for site in &sites {
            match site.verdict.as_str() {
                "PASSED" => totals.passed += 1,
                "FAILED" => totals.failed += 1,
                NOT_RUN => totals.not_run += 1,
                _ => totals.incomplete += 1,
            }
        }
        let exit_code = if totals.failed > 0 {
            exit::FAILED
        } else if totals.not_run > 0 {
            exit::USAGE
        } else if totals.incomplete > 0 {
            exit::NOT_EVALUATED
        } else {
            exit::PASSED
        };
        FederationSummary {
            format_version: SUMMARY_FORMAT_VERSION,
            generated_at: chrono::Utc::now().to_rfc3339(),
            totals,
            exit_code,
            sites,
        }
    }
}

impl SiteResult {
    /// Builds the row of a site that has a report.
    pub fn from_report(bundle: &Path, report: &ReportJson) -> Self {
        SiteResult {
            site: report.site_name(),
            profile: None,
            bundle: Some(bundle.to_owned()),
            run_id: Some(report.run_id.clone()),
            verdict: report.summary.verdict.clone(),
            exit_code: report.summary.exit_code,
            counts: report.summary.counts,
            error: None,
        }
    }

    /// Builds the row of a site whose run could not start.
    pub fn not_run(site: String, profile: &Path, error: String) -> Self {
        SiteResult {
            site,
            profile: Some(profile.to_owned()),
            bundle: None,
            run_id: None,
            verdict: NOT_RUN.to_owned(),
            exit_code: exit::USAGE,
            counts: Counts::default(),
            error: Some(error),
        }
    }
}

/// Reads a bundle's `report.json`.
pub fn read_report(bundle: &Path) -> Result<ReportJson, String> {
    let path = bundle.join("report.json");
    let bytes = std::fs::read(&path).map_err(|err| {
        format!(
            "cannot read {}: {err} (hint: pass a bundle directory written by `run`)",
            path.display()
        )
    })?;
    let report: ReportJson = serde_json::from_slice(&bytes)
        .map_err(|err| format!("{} is not a valid report: {err}", path.display()))?;
    if report.format_version > crate::report::REPORT_FORMAT_VERSION {
        return Err(format!(
            "{} has format version {}, newer than this tool reads ({}); upgrade fedcloud-conformance",
            path.display(),
            report.format_version,
            crate::report::REPORT_FORMAT_VERSION
        ));
    }
    Ok(report)
}

/// Builds one JUnit report over every site. Testsuites and classnames become `SITE/suite`, so
/// CI viewers keep the sites apart.
pub fn merged_junit(reports: &[&ReportJson]) -> quick_junit::Report {
    let mut merged = quick_junit::Report::new("fedcloud-conformance federation");
    for report in reports {
        let site = report.site_name();
        for mut suite in junit_report(report).test_suites {
            let name = format!("{site}/{}", suite.name.as_str());
            suite.name = name.clone().into();
            for case in &mut suite.test_cases {
                case.set_classname(name.clone());
            }
            merged.add_test_suite(suite);
        }
    }
    merged
}

/// Renders the summary as a text table, for stdout.
pub fn summary_text(summary: &FederationSummary) -> String {
    let mut out = format!(
        "{:<32} {:<10} {:>6} {:>6} {:>6} {:>6} {:>7}\n",
        "site", "verdict", "passed", "failed", "waived", "error", "skipped"
    );
    for site in &summary.sites {
        let counts = &site.counts;
        let _ = writeln!(
            out,
            "{:<32} {:<10} {:>6} {:>6} {:>6} {:>6} {:>7}",
            site.site,
            site.verdict,
            counts.passed,
            counts.failed,
            counts.waived,
            counts.error,
            counts.skipped
        );
        if let Some(error) = &site.error {
            let _ = writeln!(out, "  error: {error}");
        }
    }
    let totals = &summary.totals;
    let _ = writeln!(
        out,
        "\n{} sites: {} passed, {} failed, {} incomplete, {} not run",
        totals.sites, totals.passed, totals.failed, totals.incomplete, totals.not_run
    );
    out
}

/// Writes `junit.xml`, `summary.json` and `summary.txt` into `out`, refusing to replace an
/// earlier summary.
pub fn write_outputs(
    out: &Path,
    summary: &FederationSummary,
    reports: &[&ReportJson],
) -> Result<(), String> {
    let failed =
        |what: &str, err: String| format!("cannot write {what} in {}: {err}", out.display());
    std::fs::create_dir_all(out).map_err(|err| failed("the output directory", err.to_string()))?;
    let xml = merged_junit(reports)
        .to_string()
        .map_err(|err| failed("junit.xml", err.to_string()))?;
    std::fs::write(out.join("junit.xml"), xml)
        .map_err(|err| failed("junit.xml", err.to_string()))?;
    let json = serde_json::to_string_pretty(summary)
        .map_err(|err| failed("summary.json", err.to_string()))?;
    std::fs::write(out.join("summary.json"), json + "\n")
        .map_err(|err| failed("summary.json", err.to_string()))?;
    std::fs::write(out.join("summary.txt"), summary_text(summary))
        .map_err(|err| failed("summary.txt", err.to_string()))
}

/// Returns whether `out` already contains a summary that `write_outputs` would replace.
pub fn has_outputs(out: &Path) -> bool {
    out.join("summary.json").exists()
}

/// Combines finished bundles: verifies each, rejects a site that appears twice, and writes
/// the outputs. Returns the summary.
pub fn merge_bundles(bundles: &[PathBuf], out: &Path) -> Result<FederationSummary, String> {
    if has_outputs(out) {
        return Err(format!(
            "{} already holds a summary (hint: choose an empty directory with --out)",
            out.display()
        ));
    }
    let mut reports = Vec::new();
    for bundle in bundles {
        let problems = crate::report::verify_bundle(bundle, None);
        if let Some(first) = problems.first() {
            return Err(format!(
                "{} does not verify ({} problem(s), first: {first}); run `fedcloud-conformance verify` on it",
                bundle.display(),
                problems.len()
            ));
        }
        let report = read_report(bundle)?;
        if let Some((earlier, _)) = reports
            .iter()
            .find(|(_, r): &&(PathBuf, ReportJson)| r.site_name() == report.site_name())
        {
            return Err(format!(
                "site {} appears in both {} and {}; merge one bundle per site",
                report.site_name(),
                earlier.display(),
                bundle.display()
            ));
        }
        reports.push((bundle.clone(), report));
    }
    let summary = FederationSummary::new(
        reports
            .iter()
            .map(|(bundle, report)| SiteResult::from_report(bundle, report))
            .collect(),
    );
    let refs: Vec<&ReportJson> = reports.iter().map(|(_, report)| report).collect();
    write_outputs(out, &summary, &refs)?;
    Ok(summary)
}
