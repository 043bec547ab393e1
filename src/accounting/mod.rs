//! Accounting message validation: what the APEL 2.5.0 server loader does with each message a
//! site's cASO writes, and what it lets through that is still wrong.
//!
//! [`validate_message`] judges one message; [`validate_paths`] walks files and dirq spools one
//! message at a time; [`cli`] prints reports for site admins.

pub mod cli;
mod cloud;
mod cloud_rules;
mod context;
mod encoding;
mod json_message;
mod python;
mod report;
pub mod rules;
mod spool;
mod star;

use std::time::{SystemTime, UNIX_EPOCH};

pub use context::{
    ContextError, DEFAULT_VO_PROPERTY, KeystoneProject, NovaServer, SiteContext, VO_PROPERTY_KEYS,
    VomsEntry,
};
pub use report::{ApelVerdict, Finding, MessageReport, MessageType, Severity, SpoolSummary};
pub use spool::{MAX_MESSAGE_BYTES, validate_paths};

use report::FindingSink;

/// Largest message the messaging service carries, in bytes.
pub const MESSAGING_LIMIT_BYTES: usize = 1_000_000;
/// cASO's default number of records per message (`[ssm] max_size`).
pub const CASO_RECORDS_PER_MESSAGE: usize = 100;
/// Longest APEL reason kept verbatim; APEL echoes whole header lines and values, which can be
/// megabytes long.
const MAX_REASON_CHARS: usize = 2000;

/// Settings of a validation run.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// GOCDB site name every record must carry, when known.
    pub site_name: Option<String>,
    /// CloudComputeService (StAR StorageSystem) every record must carry, when known.
    pub service: Option<String>,
    /// Current time in Unix seconds, for freshness and year checks.
    pub now: i64,
    /// Nova, Keystone and cASO configuration for lifecycle and VO mapping rules.
    pub context: SiteContext,
}

impl ValidateOptions {
    /// Creates options with no site profile or context, evaluated as of `now`.
    pub fn at(now: i64) -> Self {
        Self {
            site_name: None,
            service: None,
            now,
            context: SiteContext::default(),
        }
    }
}

impl Default for ValidateOptions {
    /// Options evaluated as of the system clock.
    fn default() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            });
        Self::at(now)
    }
}

/// A report being built for one message.
pub(crate) struct Draft<'o> {
    pub(crate) opts: &'o ValidateOptions,
    pub(crate) kind: MessageType,
    pub(crate) version: Option<String>,
    pub(crate) records: usize,
    /// APEL's stored text and the admin's explanation of the first rejection reason.
    rejection: Option<(String, String)>,
    sink: FindingSink,
    newest: Option<i64>,
    /// False for message types APEL's loader is not meant to consume.
    apel_applies: bool,
}

impl<'o> Draft<'o> {
    fn new(opts: &'o ValidateOptions) -> Self {
        Self {
            opts,
            kind: MessageType::Unknown,
            version: None,
            records: 0,
            rejection: None,
            sink: FindingSink::default(),
            newest: None,
            apel_applies: true,
        }
    }

    pub(crate) fn push(&mut self, finding: Finding) {
        self.sink.push(finding);
    }

    /// Records a rejection reason unless an earlier one is already APEL's.
    pub(crate) fn reject(&mut self, apel_reason: String, explanation: String) {
        if self.rejection.is_none() {
            let reason = python::shorten(&apel_reason, MAX_REASON_CHARS).into_owned();
            self.rejection = Some((reason, explanation));
        }
    }

    pub(crate) fn note_time(&mut self, time: i64) {
        self.newest = Some(self.newest.map_or(time, |newest| newest.max(time)));
    }

    fn finish(self, path: &str) -> MessageReport {
        let has_errors = self.sink.has_errors();
        let (apel, apel_reason, explanation) = match self.rejection {
            Some((reason, explanation)) => (ApelVerdict::Rejected, Some(reason), Some(explanation)),
            None => (ApelVerdict::Accepted, None, None),
        };
        let passed = !has_errors && (apel == ApelVerdict::Accepted || !self.apel_applies);
        MessageReport {
            path: path.to_owned(),
            kind: self.kind,
            version: self.version,
            records: self.records,
            apel,
            apel_reason,
            explanation,
            findings: self.sink.finish(),
            newest_record_time: self.newest,
            passed,
        }
    }
}

/// Validates one message: APEL's verdict, and every finding APEL lets through.
pub fn validate_message(path: &str, bytes: &[u8], opts: &ValidateOptions) -> MessageReport {
    let mut draft = Draft::new(opts);
    let plain = python::is_plain_text(bytes);
    // Checking first is much faster than the lossy decoder on valid input, the common case.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let stripped = python::strip(&text);
    let offset = stripped.as_ptr() as usize - text.as_ptr() as usize;
    let first_line = 1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..offset]).count();

    if stripped.is_empty() {
        draft.reject(
            "Failed to verify message: No blank line between message header and body".to_owned(),
            "the message is empty or whitespace only; SSM's receiver rejects it (APEL's loader \
             would crash on it)"
                .to_owned(),
        );
        draft.push(Finding::error(
            rules::EMPTY,
            "empty message: remove the file from the spool and check cASO's output",
        ));
        return draft.finish(path);
    }
    if bytes.len() > MESSAGING_LIMIT_BYTES {
        draft.push(Finding::error(
            rules::MESSAGE_SIZE,
            format!(
                "the message is {} bytes, over the 1 MB messaging limit: it cannot be sent; \
                 lower [ssm] max_size in caso.conf",
                bytes.len()
            ),
        ));
    }

    if stripped.starts_with('<') {
        star::validate(stripped, first_line, &mut draft);
    } else {
        validate_text_message(stripped, plain, first_line, &mut draft);
    }
    if !plain {
        encoding::check(bytes, draft.kind, &mut draft);
    }
    if draft.records > CASO_RECORDS_PER_MESSAGE {
        draft.push(Finding::warning(
            rules::MESSAGE_SIZE,
            format!(
                "{} records in one message, more than cASO's default of {CASO_RECORDS_PER_MESSAGE}; \
                 large messages risk the 1 MB messaging limit",
                draft.records
            ),
        ));
    }
    draft.finish(path)
}

/// Header types APEL 2.5.0 accepts besides cloud: grid job, summary and sync messages.
const OTHER_APEL_HEADERS: [&str; 5] = [
    "APEL-individual-job-message",
    "APEL-summary-job-message",
    "APEL-normalised-summary-message",
    "APEL-sync-message",
    "APEL-cloud-summary-message",
];

/// Handles every message that does not start with `<`: APEL reads its first line as a header.
fn validate_text_message(stripped: &str, plain: bool, first_line: usize, draft: &mut Draft<'_>) {
    let normalized = if plain {
        std::borrow::Cow::Borrowed(stripped)
    } else {
        python::normalize_line_breaks(stripped)
    };
    let (header, body) = normalized
        .split_once('\n')
        .unwrap_or((normalized.as_ref(), ""));
    let json = if stripped.starts_with(['{', '[']) {
        serde_json::from_str::<serde_json::Value>(stripped).ok()
    } else {
        None
    };
    draft.kind = classify(header, json.as_ref());

    // The loader's header step, with its exact texts.
    let shown_header = python::shorten(header, 80);
    let Some(colon) = header.find(':') else {
        draft.reject(
            "Parsing unsuccessful: Message header is incorrect: substring not found".to_owned(),
            format!(
                "APEL reads the first line as a 'type: version' header, and '{shown_header}' \
                 has no ':'"
            ),
        );
        finish_unrecognised(header, body, json.as_ref(), draft);
        return;
    };
    let header_type = python::strip(&header[..colon]);
    let version = header[colon..].trim_matches([':', ' ']);
    if header_type == cloud::HEADER_TYPE {
        draft.version = Some(version.to_owned());
        validate_cloud(version, body, first_line + 1, draft);
        return;
    }
    if OTHER_APEL_HEADERS.contains(&header_type) {
        // TODO: grid job, summary and sync messages are not emulated; APEL may accept them.
        draft.reject(
            format!("Parsing unsuccessful: {header_type} messages are not checked by this suite"),
            format!("'{header_type}' is an APEL grid or summary message, not cloud accounting"),
        );
        draft.push(Finding::error(
            rules::TYPE_UNKNOWN,
            format!("{header_type} is not a message type that cloud sites send"),
        ));
        return;
    }
    draft.reject(
        format!("Parsing unsuccessful: Message type {header} not recognised."),
        format!(
            "APEL does not know the message type '{}'",
            python::shorten(header_type, 80)
        ),
    );
    finish_unrecognised(header, body, json.as_ref(), draft);
}

/// Recognises the message type from its first line or its JSON content.
fn classify(header: &str, json: Option<&serde_json::Value>) -> MessageType {
    if header.starts_with(cloud::HEADER_TYPE) {
        return MessageType::Cloud;
    }
    if let Some(value) = json {
        return json_message::kind_of(value);
    }
    let first_word = header
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    if first_word.eq_ignore_ascii_case("IP message") {
        return MessageType::Ip;
    }
    let key = header.split_once(':').map(|(key, _)| python::strip(key));
    if key.and_then(cloud::Field::from_key).is_some() {
        return MessageType::Cloud;
    }
    MessageType::Unknown
}

/// Adds the findings for a message whose header APEL does not recognise.
fn finish_unrecognised(
    header: &str,
    body: &str,
    json: Option<&serde_json::Value>,
    draft: &mut Draft<'_>,
) {
    match (draft.kind, json) {
        (MessageType::Ip | MessageType::Accelerator, Some(value)) => {
            draft.apel_applies = false;
            draft.push(Finding::info(
                rules::JSON_ROUTING,
                "APEL 2.5.0's loader has no JSON support and rejects this message; EGI routes \
                 IP and accelerator messages to a separate consumer, so this suite judges them \
                 by the EGI record schema instead",
            ));
            json_message::validate(value, draft);
        }
        (MessageType::Ip, None) => json_message::validate_legacy_ip(header, body, draft),
        (MessageType::Cloud, _) => draft.push(
            Finding::error(
                rules::CLOUD_HEADER,
                format!(
                    "the header line is missing or malformed ('{}'); a cloud message must start \
                 with 'APEL-cloud-message: v0.4'",
                    python::shorten(header, 60)
                ),
            )
            .at_line(1),
        ),
        (_, Some(value)) => draft.push(Finding::error(rules::TYPE_UNKNOWN, describe_json(value))),
        (_, None) => draft.push(Finding::error(
            rules::TYPE_UNKNOWN,
            format!(
                "unknown message type; it starts with '{}'",
                python::shorten(&header.escape_debug().to_string(), 60)
            ),
        )),
    }
}

fn describe_json(value: &serde_json::Value) -> String {
    let keys: Vec<&str> = value
        .as_object()
        .map(|object| object.keys().take(6).map(String::as_str).collect())
        .unwrap_or_default();
    if value.get("EnergyWh").is_some() {
        return "a cASO energy record: not an APEL message type, and cASO's SSM messenger cannot \
                send it"
            .to_owned();
    }
    match value.get("Type") {
        Some(kind) => format!("JSON message of unknown Type {kind}"),
        None => format!("JSON without a Type field (keys: {})", keys.join(", ")),
    }
}

/// Parses and checks a cloud message body record by record.
fn validate_cloud(version: &str, body: &str, body_line: usize, draft: &mut Draft<'_>) {
    if version != "v0.4" {
        draft.push(
            Finding::warning(
                rules::CLOUD_HEADER,
                format!(
                    "header version '{}' is not v0.4; APEL ignores the version and reads the \
                     records as v0.4, so fields of other versions may be misread",
                    python::shorten(version, 20)
                ),
            )
            .at_line(body_line - 1),
        );
    }
    let mut state = cloud_rules::MessageState::default();
    let mut records = cloud::CloudRecords::new(body, body_line);
    while let Some(record) = records.next_record() {
        draft.records += 1;
        cloud_rules::report_loader_errors(record, draft);
        cloud_rules::check_record(record, draft, &mut state);
    }
    state.finish(draft);
    if draft.records == 0 {
        draft.push(Finding::info(
            rules::EMPTY,
            "the message has a header but no records",
        ));
    }
}

#[cfg(test)]
mod tests;
