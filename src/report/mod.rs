//! Everything a run writes: the bundle directory with `junit.xml`, `report.json`, the evidence
//! files and `SHA256SUMS`, plus the verdict and exit code.

mod bundle;
pub mod diff;
pub mod html;
pub mod json;
mod junit;
pub mod merge;
pub mod terminal;

use std::path::Path;

pub use bundle::{VerifyError, sign_bundle, verify_bundle, write_sums};
pub use json::{CheckEntry, HostFacts, REPORT_FORMAT_VERSION, ReportJson};
pub use junit::junit_report;

use crate::checks::Status;
use crate::manifest::Level;
use crate::runner::CheckRecord;

/// Purpose of a run. It changes what is allowed and how advisory checks count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// An EGI operator certifying a site: every check runs, no filters.
    Certify,
    /// A site admin testing before asking for certification.
    SelfTest,
    /// Nightly regression: plain output; with --strict, advisory failures fail the run.
    Ci,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Certify => "certify",
            Mode::SelfTest => "self-test",
            Mode::Ci => "ci",
        }
    }
}

/// Exit codes of `run`, `demo` and `verify`.
pub mod exit {
    /// Every required check passed.
    pub const PASSED: i32 = 0;
    /// A required check failed (or, for `verify`, the bundle does not match).
    pub const FAILED: i32 = 1;
    /// Usage or configuration error.
    pub const USAGE: i32 = 2;
    /// No required check failed, but at least one could not be evaluated.
    pub const NOT_EVALUATED: i32 = 3;
}

/// Counts of one suite or of the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub passed: usize,
    /// Failures without an active waiver.
    pub failed: usize,
    pub error: usize,
    pub skipped: usize,
    pub required_failed: usize,
    pub required_not_evaluated: usize,
    pub advisory_failed: usize,
    /// Failures accepted by an active waiver; they count in no other field.
    #[serde(default)]
    pub waived: usize,
}

impl Counts {
    pub fn add(&mut self, record: &CheckRecord) {
        let waived = record
            .waiver
            .as_ref()
            .is_some_and(|waiver| waiver.waives(record.status));
        self.tally(record.status, record.spec.level == Level::Required, waived);
    }

    /// Adds a check read back from `report.json`.
    pub fn add_entry(&mut self, entry: &CheckEntry) {
        self.tally(
            entry.status,
            entry.level == Level::Required.as_str(),
            entry.is_waived(),
        );
    }

    fn tally(&mut self, status: Status, required: bool, waived: bool) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed if waived => self.waived += 1,
            Status::Failed => {
                self.failed += 1;
                if required {
                    self.required_failed += 1;
                } else {
                    self.advisory_failed += 1;
                }
            }
            Status::Error => {
                self.error += 1;
                if required {
                    self.required_not_evaluated += 1;
                }
            }
            Status::Skipped => {
                self.skipped += 1;
                if required {
                    self.required_not_evaluated += 1;
                }
            }
        }
    }

    pub fn of(records: &[CheckRecord]) -> Counts {
        let mut counts = Counts::default();
        records.iter().for_each(|record| counts.add(record));
        counts
    }
}

/// Returns the run's verdict as one word and its exit code.
pub fn verdict(counts: &Counts, incomplete: bool, strict: bool) -> (&'static str, i32) {
    if counts.required_failed > 0 || (strict && counts.advisory_failed > 0) {
        ("FAILED", exit::FAILED)
    } else if counts.required_not_evaluated > 0 || incomplete {
        ("INCOMPLETE", exit::NOT_EVALUATED)
    } else {
        ("PASSED", exit::PASSED)
    }
}

/// Returns the path of a check's evidence directory inside a bundle.
pub fn evidence_dir(check_id: &str) -> String {
    format!("evidence/{check_id}")
}

/// Writes a file inside the bundle, creating parent directories.
pub(crate) fn write_file(root: &Path, relative: &str, content: &[u8]) -> std::io::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}
