//! Findings of the discovery validators (GOCDB PI responses and GLUE2.1 documents), shared by the
//! offline `validate gocdb|glue` commands and the discovery suite's checks.

pub mod cli;

use serde::Serialize;

pub use crate::severity::Severity;

/// One problem or fact found in a GOCDB PI response or a GLUE2.1 document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable rule id such as `GOCDB-FIELD-HYGIENE` or `INFO-GLUE21-SHAPE`.
    pub rule: &'static str,
    /// Position in the document: `SERVICE_ENDPOINT[11111G0]/HOSTDN`, or a JSON pointer such as
    /// `/Share/0/Associations`.
    pub location: String,
    /// The problem and its fix, in a site admin's words.
    pub message: String,
}

impl Finding {
    pub fn error(
        rule: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, rule, location, message)
    }

    pub fn warning(
        rule: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, rule, location, message)
    }

    pub fn info(
        rule: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Info, rule, location, message)
    }

    fn new(
        severity: Severity,
        rule: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity,
            rule,
            location: location.into(),
            message: message.into(),
        }
    }

    /// Formats the finding as one line: `error GOCDB-NOVA-FLAGS at SERVICE_ENDPOINT[1G0]/IN_PRODUCTION: …`.
    pub fn line(&self) -> String {
        if self.location.is_empty() {
            format!("{} {}: {}", self.severity.name(), self.rule, self.message)
        } else {
            format!(
                "{} {} at {}: {}",
                self.severity.name(),
                self.rule,
                self.location,
                self.message
            )
        }
    }
}

/// The overall result of a set of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    /// `fail` when any finding is an error, `warn` when any is a warning, else `pass`.
    pub fn of(findings: &[Finding]) -> Self {
        if findings.iter().any(|f| f.severity == Severity::Error) {
            Verdict::Fail
        } else if findings.iter().any(|f| f.severity == Severity::Warning) {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// Joins the findings of one severity into one text, one line each, separated by `; `.
pub fn summary(findings: &[Finding], severity: Severity) -> String {
    findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(Finding::line)
        .collect::<Vec<_>>()
        .join("; ")
}
