//! `report.json`: the versioned, machine-readable record of a run.

use serde::{Deserialize, Serialize};

use crate::checks::Status;
use crate::report::Counts;
use crate::runner::CheckRecord;
use crate::waiver::{Waiver, WaiverSummary};

/// Bumped whenever a field changes meaning or disappears; additions keep the number.
pub const REPORT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportJson {
    pub format_version: u32,
    pub tool: ToolInfo,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub mode: String,
    /// Why the run did not finish every check, when it did not.
    pub incomplete: Option<String>,
    pub manifest_sha256: String,
    /// The site profile as given, without secret values (only where they come from).
    pub site: serde_json::Value,
    pub host: HostFacts,
    pub summary: Summary,
    pub checks: Vec<CheckEntry>,
    /// The waiver file of the run and what became of each waiver, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waivers: Option<WaiverSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Facts about the machine the run came from, so a verdict can be reproduced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostFacts {
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub cpus: usize,
    pub memory_mib: u64,
}

impl HostFacts {
    pub fn collect() -> Self {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        HostFacts {
            hostname: sysinfo::System::host_name(),
            os: sysinfo::System::long_os_version(),
            kernel: sysinfo::System::kernel_version(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mib: system.total_memory() / (1024 * 1024),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub verdict: String,
    pub exit_code: i32,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckEntry {
    pub id: String,
    pub suite: String,
    pub title: String,
    pub level: String,
    pub rule: String,
    pub kind: String,
    pub status: Status,
    pub message: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// Attempts of the check's network operations: 1 plus retries of transient errors.
    pub attempts: u32,
    /// Bundle-relative paths of the evidence files.
    pub evidence: Vec<String>,
    pub depends_on: Vec<String>,
    pub source: String,
    /// The waiver for this check, active or expired; only an active one on a failure waives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

impl CheckEntry {
    pub fn from_record(record: &CheckRecord) -> Self {
        let spec = &record.spec;
        let dir = crate::report::evidence_dir(&spec.id);
        CheckEntry {
            id: spec.id.clone(),
            suite: spec.suite.clone(),
            title: spec.title.clone(),
            level: spec.level.as_str().to_owned(),
            rule: spec.rule.clone(),
            kind: spec.kind.clone(),
            status: record.status,
            message: record.message.clone(),
            started_at: record.started_at.to_rfc3339(),
            duration_ms: u64::try_from(record.duration.as_millis()).unwrap_or(u64::MAX),
            attempts: 1 + record.retries,
            evidence: record
                .evidence
                .iter()
                .map(|file| format!("{dir}/{}", file.name))
                .collect(),
            depends_on: spec.depends_on.clone(),
            source: spec.source.clone(),
            waiver: record.waiver.clone(),
        }
    }

    /// Returns whether the check failed and an active waiver accepted the failure.
    pub fn is_waived(&self) -> bool {
        self.waiver
            .as_ref()
            .is_some_and(|waiver| waiver.waives(self.status))
    }

    /// Returns the outcome as one word, `waived` for an accepted failure.
    pub fn outcome(&self) -> &'static str {
        if self.is_waived() {
            "waived"
        } else {
            self.status.as_str()
        }
    }
}
