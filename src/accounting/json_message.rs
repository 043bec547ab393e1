//! Public IP (v0.2) and accelerator (v0.1) usage messages, which cASO writes as JSON.
//!
//! APEL 2.5.0's loader has no JSON branch: it reads the first line as a header and rejects the
//! message with "Message type ... not recognised.". EGI routes these messages to a separate
//! consumer, so this module judges them by the EGI record schemas instead. The report still
//! carries the loader's verdict.

use serde_json::{Map, Value};

use super::python::{self, days_from_civil};
use super::report::Finding;
use super::rules;
use super::{Draft, MessageType};

/// `Type` of the public IP usage message.
pub(crate) const IP_TYPE: &str = "APEL Public IP message";
/// `Type` of the accelerator usage message.
pub(crate) const ACCELERATOR_TYPE: &str = "APEL-accelerator-message";

/// Maximum `UsageRecords` per message in the EGI JSON schemas.
const MAX_RECORDS: usize = 1000;

/// Recognises a JSON message type from its parsed value.
pub(crate) fn kind_of(value: &Value) -> MessageType {
    match value.get("Type").and_then(Value::as_str) {
        Some(IP_TYPE) => MessageType::Ip,
        Some(kind) if kind.eq_ignore_ascii_case(ACCELERATOR_TYPE) => MessageType::Accelerator,
        _ => MessageType::Unknown,
    }
}

/// Validates a parsed JSON message of a known type.
pub(crate) fn validate(value: &Value, draft: &mut Draft<'_>) {
    let rule = match draft.kind {
        MessageType::Ip => rules::IP_SCHEMA,
        _ => rules::ACCELERATOR_SCHEMA,
    };
    let envelope = value.as_object().expect("kind_of only matches objects");
    check_envelope(envelope, rule, draft);
    let Some(records) = envelope.get("UsageRecords").and_then(Value::as_array) else {
        draft.push(
            Finding::error(rule, "UsageRecords is missing or not a list").on_field("UsageRecords"),
        );
        return;
    };
    draft.records = records.len();
    if records.is_empty() || records.len() > MAX_RECORDS {
        draft.push(
            Finding::error(
                rule,
                format!(
                    "UsageRecords has {} items; the schema allows 1 to {MAX_RECORDS}",
                    records.len()
                ),
            )
            .on_field("UsageRecords"),
        );
    }
    for (index, record) in records.iter().enumerate() {
        let number = index + 1;
        let Some(record) = record.as_object() else {
            draft.push(
                Finding::error(rule, format!("record {number} is not a JSON object"))
                    .at_record(number),
            );
            continue;
        };
        if draft.kind == MessageType::Ip {
            check_ip_record(record, number, draft);
        } else {
            check_accelerator_record(record, number, draft);
        }
        check_site_and_service(record, number, draft);
    }
}

fn check_envelope(envelope: &Map<String, Value>, rule: &str, draft: &mut Draft<'_>) {
    let (expected_type, expected_version) = match draft.kind {
        MessageType::Ip => (IP_TYPE, "0.2"),
        _ => (ACCELERATOR_TYPE, "0.1"),
    };
    if let Some(kind) = envelope.get("Type").and_then(Value::as_str)
        && kind != expected_type
    {
        draft.push(
            Finding::error(
                rule,
                format!("Type is '{kind}'; it must be exactly '{expected_type}'"),
            )
            .on_field("Type"),
        );
    }
    let version = envelope.get("Version").and_then(Value::as_str);
    draft.version = version.map(str::to_owned);
    match version {
        Some(v) if v == expected_version => {}
        Some(v) if v.strip_prefix('v') == Some(expected_version) => draft.push(
            Finding::info(
                rule,
                format!(
                    "Version is '{v}'; cASO sends '{expected_version}', and APEL's draft schema \
                     wrote '{v}': accepted until APEL settles it"
                ),
            )
            .on_field("Version"),
        ),
        other => draft.push(
            Finding::error(
                rule,
                format!(
                    "Version is {}; it must be \"{expected_version}\"",
                    other.map_or("missing".to_owned(), |v| format!("'{v}'"))
                ),
            )
            .on_field("Version"),
        ),
    }
}

/// Field expectation in a JSON usage record.
#[derive(Clone, Copy)]
enum Expect {
    Text,
    TextOrNull,
    Integer,
    IntegerOrNull,
    Number,
    NumberOrNull,
}

fn check_fields(
    record: &Map<String, Value>,
    fields: &[(&str, Expect, bool)],
    rule: &str,
    number: usize,
    draft: &mut Draft<'_>,
) {
    for &(name, expect, required) in fields {
        let value = record.get(name);
        let problem = match (value, expect) {
            (None, _) if required => Some("is missing".to_owned()),
            (None, _) => None,
            (
                Some(Value::Null),
                Expect::TextOrNull | Expect::IntegerOrNull | Expect::NumberOrNull,
            ) => None,
            (Some(Value::Null), _) => Some("is null".to_owned()),
            (Some(Value::String(_)), Expect::Text | Expect::TextOrNull) => None,
            (Some(v), Expect::Integer | Expect::IntegerOrNull) if v.is_i64() || v.is_u64() => None,
            (Some(Value::Number(_)), Expect::Number | Expect::NumberOrNull) => None,
            (Some(v), Expect::Text | Expect::TextOrNull) => Some(format!("is {v}, not a string")),
            (Some(v), Expect::Integer | Expect::IntegerOrNull) => {
                Some(format!("is {v}, not an integer"))
            }
            (Some(v), _) => Some(format!("is {v}, not a number")),
        };
        if let Some(problem) = problem {
            draft.push(
                Finding::error(rule, format!("record {number}: {name} {problem}"))
                    .at_record(number)
                    .on_field(name),
            );
        }
    }
}

fn check_ip_record(record: &Map<String, Value>, number: usize, draft: &mut Draft<'_>) {
    const FIELDS: [(&str, Expect, bool); 10] = [
        ("MeasurementTime", Expect::Integer, true),
        ("SiteName", Expect::Text, true),
        ("CloudComputeService", Expect::TextOrNull, false),
        ("CloudType", Expect::Text, true),
        ("LocalUser", Expect::Text, true),
        ("LocalGroup", Expect::Text, true),
        ("GlobalUserName", Expect::Text, true),
        ("FQAN", Expect::Text, true),
        ("IPVersion", Expect::Integer, true),
        ("IPCount", Expect::Integer, true),
    ];
    check_fields(record, &FIELDS, rules::IP_SCHEMA, number, draft);
    if let Some(version) = record.get("IPVersion").and_then(Value::as_i64)
        && version != 4
        && version != 6
    {
        draft.push(
            Finding::error(
                rules::IP_SCHEMA,
                format!("record {number}: IPVersion is {version}; it must be 4 or 6"),
            )
            .at_record(number)
            .on_field("IPVersion"),
        );
    }
    if record
        .get("IPCount")
        .and_then(Value::as_i64)
        .is_some_and(|count| count < 0)
    {
        draft.push(
            Finding::error(
                rules::IP_SCHEMA,
                format!("record {number}: IPCount is negative"),
            )
            .at_record(number)
            .on_field("IPCount"),
        );
    }
    if let Some(time) = record.get("MeasurementTime").and_then(Value::as_i64) {
        draft.note_time(time);
    }
    note_extra_keys(
        record,
        &FIELDS.map(|(name, _, _)| name),
        rules::IP_SCHEMA,
        number,
        draft,
    );
}

fn check_accelerator_record(record: &Map<String, Value>, number: usize, draft: &mut Draft<'_>) {
    const FIELDS: [(&str, Expect, bool); 17] = [
        ("MeasurementMonth", Expect::Integer, true),
        ("MeasurementYear", Expect::Integer, true),
        ("AssociatedRecordType", Expect::Text, true),
        ("AssociatedRecord", Expect::Text, true),
        ("FQAN", Expect::Text, true),
        ("SiteName", Expect::Text, true),
        ("Count", Expect::Number, true),
        ("AvailableDuration", Expect::Integer, true),
        ("Type", Expect::Text, true),
        ("GlobalUserName", Expect::TextOrNull, false),
        ("Cores", Expect::IntegerOrNull, false),
        ("ActiveDuration", Expect::IntegerOrNull, false),
        ("BenchmarkType", Expect::TextOrNull, false),
        ("Benchmark", Expect::NumberOrNull, false),
        ("Model", Expect::Text, false),
        ("CloudType", Expect::TextOrNull, false),
        ("CloudComputeService", Expect::TextOrNull, false),
    ];
    let rule = rules::ACCELERATOR_SCHEMA;
    check_fields(record, &FIELDS, rule, number, draft);
    let at = |finding: Finding, field: &str| finding.at_record(number).on_field(field);

    let month = record.get("MeasurementMonth").and_then(Value::as_i64);
    let year = record.get("MeasurementYear").and_then(Value::as_i64);
    let (this_year, _, _) = python::civil_from_days(draft.opts.now.div_euclid(86_400));
    if month.is_some_and(|m| !(1..=12).contains(&m)) {
        draft.push(at(
            Finding::error(
                rule,
                format!("record {number}: MeasurementMonth must be 1 to 12"),
            ),
            "MeasurementMonth",
        ));
    }
    if year.is_some_and(|y| !(2000..=this_year).contains(&y)) {
        draft.push(at(
            Finding::error(
                rule,
                format!("record {number}: MeasurementYear must be 2000 to {this_year}"),
            ),
            "MeasurementYear",
        ));
    }
    if let (Some(month @ 1..=12), Some(year)) = (month, year) {
        draft.note_time(days_from_civil(year, month as u32, 1) * 86_400);
    }
    for (field, allowed) in [
        ("AssociatedRecordType", &["cloud", "job"][..]),
        ("Type", &["GPU", "FPGA", "Other"][..]),
    ] {
        if let Some(value) = record.get(field).and_then(Value::as_str)
            && !allowed.contains(&value)
        {
            draft.push(at(
                Finding::error(
                    rule,
                    format!(
                        "record {number}: {field} is '{value}'; it must be one of {}",
                        allowed.join(", ")
                    ),
                ),
                field,
            ));
        }
    }
    let available = record.get("AvailableDuration").and_then(Value::as_i64);
    let active = record.get("ActiveDuration").and_then(Value::as_i64);
    if let (Some(available), Some(active)) = (available, active)
        && active > available
    {
        draft.push(at(
            Finding::warning(
                rule,
                format!(
                    "record {number}: ActiveDuration {active} exceeds AvailableDuration {available}"
                ),
            ),
            "ActiveDuration",
        ));
    }
    if record.contains_key("benchmark_value") {
        draft.push(at(
            Finding::warning(
                rule,
                format!(
                    "record {number}: the benchmark is under 'benchmark_value', which is not a \
                     field of the accelerator record, so the benchmark is lost; cASO 5.2.2 writes \
                     this key instead of 'Benchmark'"
                ),
            ),
            "benchmark_value",
        ));
    }
    let mut known: Vec<&str> = FIELDS.iter().map(|(name, _, _)| *name).collect();
    known.push("benchmark_value");
    note_extra_keys(record, &known, rule, number, draft);
}

fn note_extra_keys(
    record: &Map<String, Value>,
    known: &[&str],
    rule: &str,
    number: usize,
    draft: &mut Draft<'_>,
) {
    for key in record.keys().filter(|key| !known.contains(&key.as_str())) {
        draft.push(
            Finding::info(
                rule,
                format!("record {number}: key '{key}' is not in the record schema and is ignored"),
            )
            .at_record(number)
            .on_field(key),
        );
    }
}

fn check_site_and_service(record: &Map<String, Value>, number: usize, draft: &mut Draft<'_>) {
    let checks = [
        ("SiteName", draft.opts.site_name.clone(), rules::SITE_NAME),
        (
            "CloudComputeService",
            draft.opts.service.clone(),
            rules::SERVICE,
        ),
    ];
    for (field, expected, rule) in checks {
        if let (Some(actual), Some(expected)) =
            (record.get(field).and_then(Value::as_str), expected)
            && actual != expected
        {
            draft.push(
                Finding::error(rule, format!("record {number}: {field} is '{actual}' but the site profile says '{expected}'"))
                    .at_record(number)
                    .on_field(field),
            );
        }
    }
}

/// Validates a public IP message in cASO 2.0.0's shape: a text line `IP message v0.4` followed
/// by the Python `repr` of a list of JSON strings, which is not a JSON document.
pub(crate) fn validate_legacy_ip(header: &str, body: &str, draft: &mut Draft<'_>) {
    draft.version = header.split_whitespace().last().map(str::to_owned);
    draft.push(Finding::error(
        rules::IP_SCHEMA,
        format!(
            "not JSON: the message starts with '{}' and a Python list of strings, as cASO 2.0.0 \
             wrote it; the body must be one JSON object {{\"Type\": \"{IP_TYPE}\", \"Version\": \
             \"0.2\", \"UsageRecords\": [...]}} (fixed in cASO 2.1.0)",
            python::shorten(header, 40)
        ),
    ));
    if draft
        .version
        .as_deref()
        .is_some_and(|v| v.trim_start_matches('v') != "0.2")
    {
        draft.push(Finding::error(
            rules::IP_SCHEMA,
            "the version label is not 0.2, the version of the IP usage record",
        ));
    }
    let records: Vec<Value> = python_string_list(body)
        .iter()
        .filter_map(|item| serde_json::from_str(item).ok())
        .collect();
    draft.records = records.len();
    for (index, record) in records.iter().enumerate() {
        if let Some(record) = record.as_object() {
            check_ip_record(record, index + 1, draft);
        }
    }
}

/// Extracts the string items of a Python list literal such as `['a', "b"]`.
fn python_string_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = python::strip(text).chars();
    if chars.next() != Some('[') {
        return items;
    }
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut item = String::new();
        while let Some(inner) = chars.next() {
            match inner {
                '\\' => match chars.next() {
                    Some('n') => item.push('\n'),
                    Some('t') => item.push('\t'),
                    Some(other) => item.push(other),
                    None => break,
                },
                quote if quote == c => break,
                other => item.push(other),
            }
        }
        items.push(item);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_list_of_strings_is_read() {
        let items = python_string_list(r#"['{"a": 1}', "it's", 'x\'y']"#);
        assert_eq!(items, [r#"{"a": 1}"#, "it's", "x'y"]);
        assert!(python_string_list("not a list").is_empty());
    }

    #[test]
    fn kind_from_type() {
        let ip: Value = serde_json::json!({"Type": IP_TYPE});
        let gpu: Value = serde_json::json!({"Type": "APEL-Accelerator-message"});
        let other: Value = serde_json::json!({"SiteName": "x"});
        assert_eq!(kind_of(&ip), MessageType::Ip);
        assert_eq!(kind_of(&gpu), MessageType::Accelerator);
        assert_eq!(kind_of(&other), MessageType::Unknown);
    }
}
