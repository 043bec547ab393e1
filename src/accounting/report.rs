//! Report types: the validator's result for one message and for a whole spool.

use std::collections::HashMap;

use serde::Serialize;

/// Kind of accounting message, as recognised from its content (never from its file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// APEL cloud VM message (`APEL-cloud-message` header).
    Cloud,
    /// StAR storage record XML in the EMI storage record namespace.
    Storage,
    /// Public IP usage message (JSON, `APEL Public IP message`).
    Ip,
    /// Accelerator usage message (JSON, `APEL-accelerator-message`).
    Accelerator,
    /// Anything else.
    Unknown,
}

impl MessageType {
    /// Lowercase name, as in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Storage => "storage",
            Self::Ip => "ip",
            Self::Accelerator => "accelerator",
            Self::Unknown => "unknown",
        }
    }
}

/// Verdict of the APEL 2.5.0 server loader on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApelVerdict {
    /// The loader stores every record of the message.
    Accepted,
    /// The loader moves the whole message to its reject queue, or never receives it.
    Rejected,
}

pub use crate::severity::Severity;

/// One problem found in a message or a spool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad the problem is.
    pub severity: Severity,
    /// Stable rule id such as `ACC-CLOUD-TYPES`, listed in [`crate::accounting::rules`].
    pub rule: String,
    /// 1-based record number within the message.
    pub record: Option<usize>,
    /// 1-based line number within the message file.
    pub line: Option<usize>,
    /// Record field (APEL key, StAR element or JSON key) the finding is about.
    pub field: Option<String>,
    /// What is wrong and what to do, in a site admin's words.
    pub message: String,
}

impl Finding {
    /// Creates a finding with no location.
    pub fn new(severity: Severity, rule: &str, message: impl Into<String>) -> Self {
        Self {
            severity,
            rule: rule.to_owned(),
            record: None,
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// Creates an error finding.
    pub fn error(rule: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }

    /// Creates a warning finding.
    pub fn warning(rule: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }

    /// Creates an info finding.
    pub fn info(rule: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, rule, message)
    }

    /// Sets the 1-based record number.
    pub fn at_record(mut self, record: usize) -> Self {
        self.record = Some(record);
        self
    }

    /// Sets the 1-based line number.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the line number when one is known.
    pub fn at_optional_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// Sets the field name.
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
}

/// The validator's result for one message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageReport {
    /// File path, `-` for standard input.
    pub path: String,
    /// Message type recognised from the content.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Version from the message header or envelope, as written.
    pub version: Option<String>,
    /// Number of records found, including invalid ones.
    pub records: usize,
    /// What the APEL 2.5.0 loader does with the message.
    pub apel: ApelVerdict,
    /// The exact text APEL stores with a rejected message, when it stores one.
    pub apel_reason: Option<String>,
    /// The same reason in a site admin's words, with record and line.
    pub explanation: Option<String>,
    /// Problems found, including those APEL lets through.
    pub findings: Vec<Finding>,
    /// Newest measurement time among the records, in Unix seconds.
    pub newest_record_time: Option<i64>,
    /// True when the message reaches EGI's repository intact: it has no error finding, and the
    /// consumer of its type accepts it. That is APEL's loader for cloud and storage messages, and
    /// the JSON schema for IP and accelerator messages, because APEL 2.5.0's loader rejects JSON.
    pub passed: bool,
}

impl MessageReport {
    /// Counts findings of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }
}

/// Totals over every message walked, plus findings about the spool as a whole.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpoolSummary {
    /// Messages validated, including unreadable files.
    pub messages: usize,
    /// Messages with `passed == true`.
    pub passed: usize,
    /// Messages APEL's loader accepts.
    pub apel_accepted: usize,
    /// Messages APEL's loader rejects.
    pub apel_rejected: usize,
    /// Records over all messages.
    pub records: usize,
    /// Bytes read over all messages.
    pub bytes: u64,
    /// Messages per type name.
    pub by_type: HashMap<String, usize>,
    /// Error findings over all messages and the spool.
    pub errors: usize,
    /// Warning findings over all messages and the spool.
    pub warnings: usize,
    /// Newest measurement time over all records, in Unix seconds.
    pub newest_record_time: Option<i64>,
    /// Findings about the spool or the site context rather than one message.
    pub findings: Vec<Finding>,
}

impl SpoolSummary {
    /// True when every message passed and no spool-level error was found.
    pub fn passed(&self) -> bool {
        self.passed == self.messages
            && !self
                .findings
                .iter()
                .any(|finding| finding.severity == Severity::Error)
    }
}

/// Collects findings for one message, keeping at most [`FindingSink::PER_RULE_LIMIT`] per rule so
/// that a message with a million bad records yields a readable, bounded report.
#[derive(Debug, Default)]
pub(crate) struct FindingSink {
    findings: Vec<Finding>,
    per_rule: HashMap<String, (usize, Severity)>,
}

impl FindingSink {
    pub(crate) const PER_RULE_LIMIT: usize = 20;

    pub(crate) fn push(&mut self, finding: Finding) {
        let entry = self
            .per_rule
            .entry(finding.rule.clone())
            .or_insert((0, finding.severity));
        entry.0 += 1;
        entry.1 = entry.1.min(finding.severity);
        if entry.0 <= Self::PER_RULE_LIMIT {
            self.findings.push(finding);
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.per_rule
            .values()
            .any(|(_, severity)| *severity == Severity::Error)
    }

    /// Returns the findings, with one closing finding per rule that went over the limit.
    pub(crate) fn finish(mut self) -> Vec<Finding> {
        let mut over: Vec<_> = self
            .per_rule
            .into_iter()
            .filter(|(_, (count, _))| *count > Self::PER_RULE_LIMIT)
            .collect();
        over.sort_by(|left, right| left.0.cmp(&right.0));
        for (rule, (count, severity)) in over {
            let omitted = count - Self::PER_RULE_LIMIT;
            self.findings.push(Finding::new(
                severity,
                &rule,
                format!("{omitted} more findings of this rule in this message are not listed"),
            ));
        }
        self.findings
    }
}
