//! How much a finding of an offline validator (accounting, GOCDB, GLUE2.1) matters.

use serde::Serialize;

/// Severity of a finding, ordered from most to least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A FedCloud service (accounting, monitoring, discovery) loses data, breaks or ignores
    /// the site.
    Error,
    /// Works today, but is probably wrong, fragile or against EGI's rules.
    Warning,
    /// Worth knowing, no action needed.
    Info,
}

impl Severity {
    /// Returns the lowercase name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}
