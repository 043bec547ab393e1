//! StAR storage record messages (XML in the EMI storage record namespace), as APEL 2.5.0's
//! loader parses them, plus the checks it lets through.
//!
//! APEL parses the whole document with expat before it looks at the namespace, so a
//! well-formedness error wins over every other reason. Its stored text is expat's error string
//! without the position. Then the root element's namespace picks the parser, and a StAR document
//! must hold at least one `StorageUsageRecord`.

use std::collections::HashSet;

use quick_xml::NsReader;
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use super::python::{self, days_from_civil};
use super::report::Finding;
use super::rules;
use super::{Draft, MessageType};

/// Namespace of StAR storage records that cASO writes and APEL reads.
pub(crate) const STAR_NAMESPACE: &str = "http://eu-emi.eu/namespaces/2011/02/storagerecord";
/// Namespace of CAR job records, which APEL also loads.
pub(crate) const CAR_NAMESPACE: &str = "http://eu-emi.eu/namespaces/2012/11/computerecord";

/// Text elements of a StAR record that the checks read, by local name.
const TEXT_FIELDS: [&str; 15] = [
    "StorageSystem",
    "Site",
    "StorageShare",
    "StorageMedia",
    "StorageClass",
    "FileCount",
    "DirectoryPath",
    "LocalUser",
    "LocalGroup",
    "UserIdentity",
    "Group",
    "StartTime",
    "EndTime",
    "ResourceCapacityUsed",
    "LogicalCapacityUsed",
];

const INT_FIELDS: [&str; 3] = ["FileCount", "ResourceCapacityUsed", "LogicalCapacityUsed"];

/// Fields APEL requires, in the order its StAR record checks them.
const MANDATORY: [&str; 6] = [
    "RecordId",
    "CreateTime",
    "StorageSystem",
    "StartTime",
    "EndTime",
    "ResourceCapacityUsed",
];

/// One `StorageUsageRecord`, with the text of the fields the checks need.
#[derive(Debug, Default)]
struct StarRecord {
    number: usize,
    line: usize,
    values: Vec<(&'static str, String)>,
}

impl StarRecord {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parser state while walking the document.
struct Walk<'t> {
    text: &'t str,
    depth: usize,
    root_namespace: Option<Option<String>>,
    root_closed: bool,
    record: Option<(usize, StarRecord)>,
    field: Option<(&'static str, String)>,
    records: usize,
    line_cursor: (usize, usize),
}

impl Walk<'_> {
    /// Returns the 1-based line of a byte offset, counting forward from the last call.
    fn line_at(&mut self, offset: usize) -> usize {
        let (mut from, mut line) = self.line_cursor;
        let offset = offset.min(self.text.len());
        if offset >= from {
            line += memchr::memchr_iter(b'\n', &self.text.as_bytes()[from..offset]).count();
            from = offset;
            self.line_cursor = (from, line);
        }
        line
    }
}

/// Validates a message whose stripped text starts with `<`.
pub(crate) fn validate(text: &str, first_line: usize, draft: &mut Draft<'_>) {
    let mut walk = Walk {
        text,
        depth: 0,
        root_namespace: None,
        root_closed: false,
        record: None,
        field: None,
        records: 0,
        line_cursor: (0, first_line),
    };
    let mut record_errors: Vec<(String, String)> = Vec::new();
    let mut record_ids = HashSet::new();
    let xml_error = walk_document(&mut walk, draft, &mut record_errors, &mut record_ids);

    let root_namespace = walk.root_namespace.clone().flatten();
    draft.kind = match root_namespace.as_deref() {
        Some(STAR_NAMESPACE) => MessageType::Storage,
        _ if text.contains(STAR_NAMESPACE) || text.contains("StorageUsageRecord") => {
            MessageType::Storage
        }
        _ => MessageType::Unknown,
    };
    draft.records = walk.records;

    if let Some(error) = xml_error {
        let line = walk.line_at(text.len());
        draft.reject(
            format!("Parsing unsuccessful: {error}"),
            format!("the XML is not well-formed ({error}) at or before line {line}"),
        );
        draft.push(Finding::error(
            rules::STAR_XML,
            format!("XML parser error: {error}; APEL rejects the whole message"),
        ));
        return;
    }
    match root_namespace.as_deref() {
        Some(STAR_NAMESPACE) => {}
        Some(CAR_NAMESPACE) => {
            // TODO: CAR job records are not emulated; APEL loads valid ones, so this verdict can be wrong.
            draft.reject(
                "Parsing unsuccessful: CAR job records are not checked by this suite".to_owned(),
                "this is a CAR job record message, not cloud or storage accounting".to_owned(),
            );
            draft.push(Finding::error(
                rules::TYPE_UNKNOWN,
                "CAR job record XML: grid job accounting, not part of cloud accounting",
            ));
            return;
        }
        other => {
            draft.reject(
                "Parsing unsuccessful: XML format not recognised.".to_owned(),
                format!(
                    "the root element's namespace is {}; storage records need {STAR_NAMESPACE}",
                    other.map_or("missing".to_owned(), |ns| format!("'{ns}'"))
                ),
            );
            draft.push(Finding::error(
                rules::STAR_XML,
                format!(
                    "unknown XML namespace {}; APEL only reads StAR ({STAR_NAMESPACE}) and CAR",
                    other.unwrap_or("(none)")
                ),
            ));
            return;
        }
    }
    if walk.records == 0 {
        draft.reject(
            "Parsing unsuccessful: File does not contain StAR records!".to_owned(),
            "the storage message holds no StorageUsageRecord".to_owned(),
        );
        draft.push(Finding::error(
            rules::STAR_NONEMPTY,
            "the StAR document has no sr:StorageUsageRecord; a storage message must carry at \
             least one record with RecordIdentity, StorageSystem, Site, StartTime, EndTime and \
             ResourceCapacityUsed",
        ));
        return;
    }
    if let Some((reason, explanation)) = record_errors.into_iter().next() {
        draft.reject(format!("Parsing unsuccessful: {reason}"), explanation);
    }
}

/// Walks every event, returning expat's error string for the first well-formedness error.
fn walk_document(
    walk: &mut Walk<'_>,
    draft: &mut Draft<'_>,
    record_errors: &mut Vec<(String, String)>,
    record_ids: &mut HashSet<String>,
) -> Option<&'static str> {
    let mut reader = NsReader::from_str(walk.text);
    let mut seen_anything = false;
    loop {
        let position = reader.buffer_position() as usize;
        let event = match reader.read_resolved_event() {
            Ok(event) => event,
            Err(error) => return Some(expat_text(&error)),
        };
        match event {
            (namespace, Event::Start(start)) => {
                let namespace = resolved(namespace);
                if let Err(text) = open_element(walk, &reader, &start, namespace, position) {
                    return Some(text);
                }
            }
            (namespace, Event::Empty(start)) => {
                let namespace = resolved(namespace);
                if let Err(text) = open_element(walk, &reader, &start, namespace, position) {
                    return Some(text);
                }
                close_element(
                    walk,
                    start.local_name().as_ref(),
                    draft,
                    record_errors,
                    record_ids,
                );
            }
            (_, Event::End(end)) => {
                close_element(
                    walk,
                    end.local_name().as_ref(),
                    draft,
                    record_errors,
                    record_ids,
                );
            }
            (_, Event::Text(content)) => {
                let decoded = content.decode().unwrap_or_default();
                if let Err(text) = add_text(walk, &decoded) {
                    return Some(text);
                }
            }
            (_, Event::CData(content)) => {
                let decoded = String::from_utf8_lossy(&content).into_owned();
                if let Err(text) = add_text(walk, &decoded) {
                    return Some(text);
                }
            }
            (_, Event::GeneralRef(reference)) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match reference.decode().unwrap_or_default().as_ref() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "apos" => "'".to_owned(),
                        "quot" => "\"".to_owned(),
                        _ => return Some("undefined entity"),
                    },
                    Err(_) => return Some("reference to invalid character number"),
                };
                if let Err(text) = add_text(walk, &resolved) {
                    return Some(text);
                }
            }
            (_, Event::Decl(_)) if seen_anything => {
                return Some("XML or text declaration not at start of entity");
            }
            (_, Event::Eof) => {
                if walk.root_namespace.is_none() || walk.depth > 0 {
                    return Some("no element found");
                }
                return None;
            }
            _ => {}
        }
        seen_anything = true;
    }
}

fn resolved(namespace: ResolveResult<'_>) -> Result<Option<String>, ()> {
    match namespace {
        ResolveResult::Bound(Namespace(uri)) => Ok(Some(String::from_utf8_lossy(uri).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(()),
    }
}

/// Maps a quick-xml error to the expat error string that APEL stores.
fn expat_text(error: &XmlError) -> &'static str {
    match error {
        XmlError::Syntax(SyntaxError::UnclosedCData) => "unclosed CDATA section",
        XmlError::Syntax(_) => "unclosed token",
        XmlError::IllFormed(IllFormedError::MissingEndTag(_)) => "no element found",
        XmlError::IllFormed(IllFormedError::MismatchedEndTag { .. })
        | XmlError::IllFormed(IllFormedError::UnmatchedEndTag(_)) => "mismatched tag",
        XmlError::InvalidAttr(AttrError::Duplicated(_, _)) => "duplicate attribute",
        XmlError::Namespace(_) => "unbound prefix",
        _ => "not well-formed (invalid token)",
    }
}

fn open_element(
    walk: &mut Walk<'_>,
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    namespace: Result<Option<String>, ()>,
    position: usize,
) -> Result<(), &'static str> {
    let namespace = namespace.map_err(|()| "unbound prefix")?;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| match error {
            AttrError::Duplicated(_, _) => "duplicate attribute",
            _ => "not well-formed (invalid token)",
        })?;
        if let (ResolveResult::Unknown(_), _) = reader.resolve_attribute(attribute.key) {
            return Err("unbound prefix");
        }
        let value = attribute
            .unescape_value()
            .map_err(|_| "undefined entity")?
            .into_owned();
        attributes.push((attribute.key.local_name().as_ref().to_vec(), value));
    }
    if walk.depth == 0 {
        if walk.root_closed {
            return Err("junk after document element");
        }
        walk.root_namespace = Some(namespace.clone());
    }
    walk.depth += 1;

    let local = start.local_name();
    let local = local.as_ref();
    let in_star = namespace.as_deref() == Some(STAR_NAMESPACE);
    if in_star && local == b"StorageUsageRecord" && walk.record.is_none() {
        walk.records += 1;
        let line = walk.line_at(position);
        walk.record = Some((
            walk.depth,
            StarRecord {
                number: walk.records,
                line,
                values: Vec::new(),
            },
        ));
    } else if let Some((_, record)) = walk.record.as_mut() {
        if local == b"RecordIdentity" {
            for (name, value) in attributes {
                match name.as_slice() {
                    b"recordId" => record.values.push(("RecordId", value)),
                    b"createTime" => record.values.push(("CreateTime", value)),
                    _ => {}
                }
            }
        } else if let Some(name) = TEXT_FIELDS.iter().find(|name| name.as_bytes() == local) {
            walk.field = Some((name, String::new()));
        }
    }
    Ok(())
}

fn add_text(walk: &mut Walk<'_>, text: &str) -> Result<(), &'static str> {
    if walk.depth == 0 {
        if python::strip(text).is_empty() {
            return Ok(());
        }
        return Err(if walk.root_closed {
            "junk after document element"
        } else {
            "syntax error"
        });
    }
    if let Some((_, value)) = walk.field.as_mut() {
        // Huge text stays bounded: the checks only need the start and the length.
        if value.len() < 4096 {
            value.push_str(text);
        }
    }
    Ok(())
}

fn close_element(
    walk: &mut Walk<'_>,
    local: &[u8],
    draft: &mut Draft<'_>,
    record_errors: &mut Vec<(String, String)>,
    record_ids: &mut HashSet<String>,
) {
    if let Some((name, value)) = walk.field.take() {
        if name.as_bytes() == local {
            if let Some((_, record)) = walk.record.as_mut() {
                record.values.push((name, value));
            }
        } else {
            walk.field = Some((name, value));
        }
    }
    if walk
        .record
        .as_ref()
        .is_some_and(|(depth, _)| *depth == walk.depth)
    {
        if let Some((_, record)) = walk.record.take() {
            check_record(&record, draft, record_errors, record_ids);
        }
    }
    walk.depth = walk.depth.saturating_sub(1);
    if walk.depth == 0 {
        walk.root_closed = true;
    }
}

/// Parses an ISO 8601 date-time (`YYYY-MM-DD[Thh:mm[:ss[.f]]][Z|±hh[:mm]]`; naive means UTC)
/// into Unix seconds.
pub(crate) fn parse_iso8601(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (Ok(month), Ok(day)) = (u32::try_from(month), u32::try_from(day)) else {
        return None;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut rest = &text[10..];
    if let Some(time) = rest.strip_prefix(['T', ' ']) {
        let hour = number(11..13)?;
        if time.as_bytes().get(2) != Some(&b':') {
            return None;
        }
        let minute = number(14..16)?;
        let mut consumed = 5;
        let mut second = 0;
        if time.as_bytes().get(5) == Some(&b':') {
            second = number(17..19)?;
            consumed = 8;
            if time.as_bytes().get(8) == Some(&b'.') {
                consumed += 1 + time[9..].bytes().take_while(u8::is_ascii_digit).count();
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        seconds += hour * 3600 + minute * 60 + second;
        rest = &time[consumed..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 2 && digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits
                .get(2..)
                .filter(|m| !m.is_empty())
                .map_or(Ok(0), str::parse)
                .ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(seconds - offset)
}

/// Checks one record like APEL's StAR record does, and adds the checks it lets through.
// NOTE: the texts for a missing mandatory element and an unparsable time are APEL's record
// texts as read from its source, not observed on a StAR message.
fn check_record(
    record: &StarRecord,
    draft: &mut Draft<'_>,
    record_errors: &mut Vec<(String, String)>,
    record_ids: &mut HashSet<String>,
) {
    let number = record.number;
    let line = record.line;
    let mut fail = |draft: &mut Draft<'_>, field: &str, reason: String, explanation: String| {
        draft.push(
            Finding::error(
                rules::STAR_FIELDS,
                format!("record {number}: {explanation}"),
            )
            .at_record(number)
            .at_line(line)
            .on_field(field),
        );
        record_errors.push((
            reason,
            format!("record {number} (line {line}): {explanation}"),
        ));
    };

    for name in MANDATORY {
        let missing = record
            .get(name)
            .is_none_or(|value| python::strip(value).is_empty());
        if missing {
            fail(
                draft,
                name,
                format!("Mandatory field {name} not specified."),
                format!("{name} is missing or empty; APEL requires it"),
            );
        }
    }
    for name in INT_FIELDS {
        if let Some(value) = record.get(name).map(python::strip)
            && python::parse_int(value).is_none()
        {
            fail(
                draft,
                name,
                format!("Invalid int value {value} in field {name}"),
                format!(
                    "{name} is '{}'; it must be a whole number",
                    python::shorten(value, 60)
                ),
            );
        }
    }
    let mut times = [None, None, None];
    for (slot, name) in times.iter_mut().zip(["CreateTime", "StartTime", "EndTime"]) {
        let Some(value) = record
            .get(name)
            .map(python::strip)
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        *slot = parse_iso8601(value);
        if slot.is_none() {
            fail(
                draft,
                name,
                format!("Unable to parse date string '{value}'"),
                format!(
                    "{name} is '{}'; it must be an ISO 8601 time",
                    python::shorten(value, 60)
                ),
            );
        }
    }
    check_record_semantics(record, times, draft, record_ids);
}

/// Checks that APEL lets through: site and service names, VO, time order, sizes.
fn check_record_semantics(
    record: &StarRecord,
    [_, start, end]: [Option<i64>; 3],
    draft: &mut Draft<'_>,
    record_ids: &mut HashSet<String>,
) {
    let number = record.number;
    let at = |finding: Finding, field: &str| {
        finding
            .at_record(number)
            .at_line(record.line)
            .on_field(field)
    };
    let site = record.get("Site").map(python::strip);
    match (site, draft.opts.site_name.as_deref()) {
        (None, _) => draft.push(at(
            Finding::warning(
                rules::SITE_NAME,
                "no Site: the portal cannot attribute this storage to a site",
            ),
            "Site",
        )),
        (Some(site), Some(expected)) if site != expected => draft.push(at(
            Finding::error(
                rules::SITE_NAME,
                format!("Site is '{site}' but the site is registered as '{expected}'"),
            ),
            "Site",
        )),
        _ => {}
    }
    if let (Some(system), Some(expected)) = (
        record.get("StorageSystem").map(python::strip),
        draft.opts.service.as_deref(),
    ) && system != expected
    {
        draft.push(at(
            Finding::error(
                rules::SERVICE,
                format!("StorageSystem is '{system}' but the service is '{expected}'"),
            ),
            "StorageSystem",
        ));
    }
    if record
        .get("Group")
        .is_none_or(|group| python::strip(group).is_empty())
    {
        draft.push(at(
            Finding::warning(
                rules::CLOUD_FQAN,
                "no Group: the storage is not attributed to a VO",
            ),
            "Group",
        ));
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            draft.push(at(
                Finding::error(rules::STAR_FIELDS, "EndTime is before StartTime"),
                "EndTime",
            ));
        }
        draft.note_time(end);
    }
    if let Some(python::PyInt::Value(bytes)) = record
        .get("ResourceCapacityUsed")
        .and_then(|value| python::parse_int(python::strip(value)))
        && bytes < 0
    {
        draft.push(at(
            Finding::error(rules::STAR_FIELDS, "ResourceCapacityUsed is negative"),
            "ResourceCapacityUsed",
        ));
    }
    if let Some(id) = record.get("RecordId") {
        if !record_ids.insert(id.to_owned()) {
            draft.push(at(
                Finding::warning(
                    rules::STAR_FIELDS,
                    format!("recordId {id} appears twice in this message; APEL keeps the last"),
                ),
                "RecordId",
            ));
        }
    }
    for (name, value) in &record.values {
        if value.chars().count() > 255 {
            draft.push(at(
                Finding::error(
                    rules::CLOUD_LENGTH,
                    format!("{name} is longer than the 255-character database column"),
                ),
                name,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_forms() {
        assert_eq!(
            parse_iso8601("2024-03-02T00:00:00+00:00"),
            Some(1_709_337_600)
        );
        assert_eq!(parse_iso8601("2024-03-02T00:00:00"), Some(1_709_337_600));
        assert_eq!(
            parse_iso8601("2024-03-02T01:00:00+01:00"),
            Some(1_709_337_600)
        );
        assert_eq!(parse_iso8601("2024-03-02T00:00:00.5Z"), Some(1_709_337_600));
        assert_eq!(parse_iso8601("2024-03-02"), Some(1_709_337_600));
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2024-13-02"), None);
    }
}
