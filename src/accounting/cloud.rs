//! APEL cloud message parser that reproduces the APEL 2.5.0 loader's record parsing.
//!
//! The loader splits the body on the literal `%%` anywhere in the text and skips empty chunks.
//! It splits every line at its first `:`, strips key and value, and keeps the last value of a
//! repeated key. Then it checks each key in order of first appearance. The first error in the
//! first bad record rejects the whole message. This module reports every error it finds, in that
//! order, so the first one is APEL's.

use memchr::memmem;

use super::python::{self, PyInt};
use super::rules;

/// APEL's header type for cloud VM messages.
pub(crate) const HEADER_TYPE: &str = "APEL-cloud-message";

/// Value type APEL checks for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Float,
    Time,
}

/// Fields of APEL's CloudRecord, in its message field order, followed by the VO fields that it
/// accepts but recomputes from FQAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    RecordCreateTime,
    VmUuid,
    SiteName,
    CloudComputeService,
    MachineName,
    LocalUserId,
    LocalGroupId,
    GlobalUserName,
    Fqan,
    Status,
    StartTime,
    EndTime,
    SuspendDuration,
    WallDuration,
    CpuDuration,
    CpuCount,
    NetworkType,
    NetworkInbound,
    NetworkOutbound,
    PublicIpCount,
    Memory,
    Disk,
    BenchmarkType,
    Benchmark,
    StorageRecordId,
    ImageId,
    CloudType,
    Vo,
    VoGroup,
    VoRole,
}

pub(crate) const FIELD_COUNT: usize = 30;

const FIELD_TABLE: [(Field, &str, Kind); FIELD_COUNT] = [
    (Field::RecordCreateTime, "RecordCreateTime", Kind::Time),
    (Field::VmUuid, "VMUUID", Kind::Text),
    (Field::SiteName, "SiteName", Kind::Text),
    (
        Field::CloudComputeService,
        "CloudComputeService",
        Kind::Text,
    ),
    (Field::MachineName, "MachineName", Kind::Text),
    (Field::LocalUserId, "LocalUserId", Kind::Text),
    (Field::LocalGroupId, "LocalGroupId", Kind::Text),
    (Field::GlobalUserName, "GlobalUserName", Kind::Text),
    (Field::Fqan, "FQAN", Kind::Text),
    (Field::Status, "Status", Kind::Text),
    (Field::StartTime, "StartTime", Kind::Time),
    (Field::EndTime, "EndTime", Kind::Time),
    (Field::SuspendDuration, "SuspendDuration", Kind::Int),
    (Field::WallDuration, "WallDuration", Kind::Int),
    (Field::CpuDuration, "CpuDuration", Kind::Int),
    (Field::CpuCount, "CpuCount", Kind::Float),
    (Field::NetworkType, "NetworkType", Kind::Text),
    (Field::NetworkInbound, "NetworkInbound", Kind::Int),
    (Field::NetworkOutbound, "NetworkOutbound", Kind::Int),
    (Field::PublicIpCount, "PublicIPCount", Kind::Int),
    (Field::Memory, "Memory", Kind::Int),
    (Field::Disk, "Disk", Kind::Int),
    (Field::BenchmarkType, "BenchmarkType", Kind::Text),
    (Field::Benchmark, "Benchmark", Kind::Float),
    (Field::StorageRecordId, "StorageRecordId", Kind::Text),
    (Field::ImageId, "ImageId", Kind::Text),
    (Field::CloudType, "CloudType", Kind::Text),
    (Field::Vo, "VO", Kind::Text),
    (Field::VoGroup, "VOGroup", Kind::Text),
    (Field::VoRole, "VORole", Kind::Text),
];

/// Keys APEL silently drops.
pub(crate) const IGNORED_KEYS: [&str; 4] = [
    "UpdateTime",
    "MeasurementTime",
    "MeasurementMonth",
    "MeasurementYear",
];

/// Fields APEL requires, in the order it checks them.
const MANDATORY: [Field; 2] = [Field::VmUuid, Field::SiteName];

/// Slots of the key hash table; a power of two.
const KEY_SLOTS: usize = 64;
const NO_FIELD: u8 = u8::MAX;

/// Hashes a key by its length and its first and last bytes. [`KEY_TABLE`] proves at compile
/// time that no two field names share a slot, so one compare confirms a key.
const fn key_hash(key: &[u8]) -> usize {
    let last = key[key.len() - 1] as usize;
    (key.len() * 20 + key[0] as usize + last * 13) % KEY_SLOTS
}

const KEY_TABLE: [u8; KEY_SLOTS] = {
    let mut table = [NO_FIELD; KEY_SLOTS];
    let mut index = 0;
    while index < FIELD_COUNT {
        let slot = key_hash(FIELD_TABLE[index].1.as_bytes());
        assert!(table[slot] == NO_FIELD, "two field names share a key slot");
        table[slot] = index as u8;
        index += 1;
    }
    table
};

/// Compares two short byte strings eight bytes at a time. Keys are at most 19 bytes long, so a
/// library memcmp call would cost more than the compare itself.
#[inline]
fn same_key(left: &[u8], right: &[u8]) -> bool {
    let length = left.len();
    if length != right.len() {
        return false;
    }
    if length < 8 {
        return left == right;
    }
    let mut at = 0;
    while at + 8 < length {
        if load_word(left, at) != load_word(right, at) {
            return false;
        }
        at += 8;
    }
    load_word(left, length - 8) == load_word(right, length - 8)
}

/// Reads the eight bytes at `at` as one little-endian word; the caller keeps `at + 8` in bounds.
#[inline]
fn load_word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

impl Field {
    /// Returns the APEL key.
    pub(crate) fn name(self) -> &'static str {
        FIELD_TABLE[self as usize].1
    }

    pub(crate) fn kind(self) -> Kind {
        FIELD_TABLE[self as usize].2
    }

    /// Looks up an APEL key, which is case-sensitive.
    #[inline]
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        let bytes = key.as_bytes();
        if bytes.is_empty() {
            return None;
        }
        let index = KEY_TABLE[key_hash(bytes)];
        let (field, name, _) = FIELD_TABLE.get(usize::from(index))?;
        same_key(name.as_bytes(), bytes).then_some(*field)
    }
}

/// A field value after APEL's type check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    /// `none`, `null` or empty, in any case.
    Null,
    Text,
    Int(PyInt),
    Float(f64),
    Time(i64),
    /// Failed APEL's check, and the error is in the record's errors.
    Invalid,
}

/// The last value of a key in a record, and its line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'a> {
    pub(crate) raw: &'a str,
    pub(crate) line: usize,
    pub(crate) value: Value,
}

/// A reason the loader rejects the message.
#[derive(Debug, Clone)]
pub(crate) struct LoaderError {
    pub(crate) rule: &'static str,
    pub(crate) line: Option<usize>,
    pub(crate) field: Option<String>,
    /// Exception text as APEL stores it after `Parsing unsuccessful: `.
    pub(crate) apel_text: String,
    /// The same in a site admin's words.
    pub(crate) explanation: String,
}

/// A repeated key: APEL keeps the later value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DuplicateKey<'a> {
    pub(crate) key: &'a str,
    pub(crate) dropped: &'a str,
    pub(crate) dropped_line: usize,
    pub(crate) kept: &'a str,
    pub(crate) kept_line: usize,
}

/// One record as the loader parses it.
#[derive(Debug, Clone)]
pub(crate) struct CloudRecord<'a> {
    /// 1-based position in the message.
    pub(crate) number: usize,
    /// Line of the record's first key.
    pub(crate) line: usize,
    slots: [Option<Slot<'a>>; FIELD_COUNT],
    /// Bit `field as usize` is set when the field is present, so the rules visit only those.
    present: u32,
    pub(crate) errors: Vec<LoaderError>,
    pub(crate) duplicates: Vec<DuplicateKey<'a>>,
    /// Ignored keys with their lines.
    pub(crate) ignored: Vec<(&'a str, usize)>,
}

impl<'a> CloudRecord<'a> {
    pub(crate) fn slot(&self, field: Field) -> Option<&Slot<'a>> {
        self.slots[field as usize].as_ref()
    }

    /// Returns the raw text of a field unless it is absent or a null token.
    pub(crate) fn text(&self, field: Field) -> Option<&'a str> {
        self.slot(field)
            .filter(|slot| slot.value != Value::Null)
            .map(|slot| slot.raw)
    }

    pub(crate) fn line_of(&self, field: Field) -> Option<usize> {
        self.slot(field).map(|slot| slot.line)
    }

    pub(crate) fn int(&self, field: Field) -> Option<PyInt> {
        match self.slot(field)?.value {
            Value::Int(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn float(&self, field: Field) -> Option<f64> {
        match self.slot(field)?.value {
            Value::Float(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn time(&self, field: Field) -> Option<i64> {
        match self.slot(field)?.value {
            Value::Time(value) => Some(value),
            _ => None,
        }
    }

    /// Iterates over the fields present, in field order, with their slots.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (Field, &Slot<'a>)> {
        let mut bits = self.present;
        std::iter::from_fn(move || {
            while bits != 0 {
                let index = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(slot) = &self.slots[index] {
                    return Some((FIELD_TABLE[index].0, slot));
                }
            }
            None
        })
    }
}

/// Key of a record line, in order of first appearance.
#[derive(Debug, Clone, Copy)]
enum SeenKey<'a> {
    Known(Field),
    Unknown(&'a str, usize),
}

/// Reader of the records of a cloud message body: the text after the header line, with `\n`
/// line breaks only. It parses one record at a time into one reused record, so a huge message
/// never has all its records in memory and a record costs no allocation.
pub(crate) struct CloudRecords<'a> {
    body: &'a str,
    position: usize,
    line: usize,
    number: usize,
    finder: memmem::Finder<'static>,
    /// Key order of the current record.
    order: Vec<SeenKey<'a>>,
    /// Blank lines since the last line with text; they are errors only if more text follows.
    blank: Vec<usize>,
    record: CloudRecord<'a>,
}

impl<'a> CloudRecords<'a> {
    /// Starts at `body`, whose first line is line `first_line` of the message file.
    pub(crate) fn new(body: &'a str, first_line: usize) -> Self {
        Self {
            body,
            position: 0,
            line: first_line,
            number: 0,
            finder: memmem::Finder::new(b"%%"),
            order: Vec::with_capacity(32),
            blank: Vec::new(),
            record: CloudRecord {
                number: 0,
                line: first_line,
                slots: [None; FIELD_COUNT],
                present: 0,
                errors: Vec::new(),
                duplicates: Vec::new(),
                ignored: Vec::new(),
            },
        }
    }

    /// Parses the next record. Chunks between `%%` that hold only whitespace are skipped, as
    /// the loader skips them.
    pub(crate) fn next_record(&mut self) -> Option<&CloudRecord<'a>> {
        while self.position <= self.body.len() {
            let rest = &self.body[self.position..];
            let end = self.finder.find(rest.as_bytes()).unwrap_or(rest.len());
            // `%%` is ASCII, so both cut points are character boundaries.
            self.position += end + 2;
            if self.parse_chunk(&rest[..end]) {
                return Some(&self.record);
            }
        }
        None
    }

    /// Parses one chunk into the record; returns false when it holds only whitespace.
    ///
    /// The loader strips the chunk and splits it at `\n`, so whitespace-only lines at either
    /// end vanish while one between two lines with text is a line without `:`. Stripping the
    /// chunk's outer edges changes no key or value, because each is stripped again.
    fn parse_chunk(&mut self, chunk: &'a str) -> bool {
        let record = &mut self.record;
        record.slots = [None; FIELD_COUNT];
        record.present = 0;
        record.errors.clear();
        record.duplicates.clear();
        record.ignored.clear();
        self.order.clear();
        self.blank.clear();

        let bytes = chunk.as_bytes();
        let mut line = self.line;
        let mut from = 0;
        let mut started = false;
        loop {
            let (colon, newline) = find_colon_and_newline(bytes, from);
            let text = &chunk[from..newline.unwrap_or(bytes.len())];
            let colon = colon.map(|at| at - from);
            if colon.is_none() && python::strip(text).is_empty() {
                if started {
                    self.blank.push(line);
                }
            } else {
                if !started {
                    started = true;
                    record.line = line;
                }
                for blank in self.blank.drain(..) {
                    record.errors.push(no_colon_error("", blank));
                }
                match colon {
                    Some(colon) => {
                        let key = python::strip(&text[..colon]);
                        let raw = python::strip(&text[colon + 1..]);
                        store_line(record, &mut self.order, key, raw, line);
                    }
                    None => record.errors.push(no_colon_error(text, line)),
                }
            }
            match newline {
                Some(at) => {
                    from = at + 1;
                    line += 1;
                }
                None => break,
            }
        }
        self.line = line;
        if !started {
            return false;
        }

        self.number += 1;
        record.number = self.number;
        check_values(record, &self.order);
        check_mandatory(record);
        true
    }
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Marks the bytes of `word` equal to `byte` with their high bit. Borrows only run upward, so
/// the lowest mark is always a real match, which is the one used.
#[inline]
fn matches_of(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * u64::from(byte));
    diff.wrapping_sub(ONES) & !diff & HIGHS
}

/// Finds, from `from`, the first `:` of the line and the `\n` that ends it, eight bytes at a
/// time: lines average about 30 bytes, where a vectorised search call costs more than it saves.
#[inline]
fn find_colon_and_newline(bytes: &[u8], from: usize) -> (Option<usize>, Option<usize>) {
    let mut colon = None;
    let mut at = from;
    while at + 8 <= bytes.len() {
        let word = load_word(bytes, at);
        let newlines = matches_of(word, b'\n');
        if colon.is_none() {
            let colons = matches_of(word, b':');
            if colons != 0 && (newlines == 0 || colons.trailing_zeros() < newlines.trailing_zeros())
            {
                colon = Some(at + colons.trailing_zeros() as usize / 8);
            }
        }
        if newlines != 0 {
            return (colon, Some(at + newlines.trailing_zeros() as usize / 8));
        }
        at += 8;
    }
    for (offset, byte) in bytes[at..].iter().enumerate() {
        match byte {
            b'\n' => return (colon, Some(at + offset)),
            b':' if colon.is_none() => colon = Some(at + offset),
            _ => {}
        }
    }
    (colon, None)
}

fn no_colon_error(text: &str, line: usize) -> LoaderError {
    let what = if python::strip(text).is_empty() {
        "is blank inside a record".to_owned()
    } else {
        format!("'{}' has no ':'", python::shorten(python::strip(text), 60))
    };
    LoaderError {
        rule: rules::CLOUD_SYNTAX,
        line: Some(line),
        field: None,
        apel_text: "Message header is incorrect: not enough values to unpack (expected 2, got 1)"
            .to_owned(),
        explanation: format!(
            "line {line} {what}; every record line must be 'Key: value' (APEL calls this a \
             header error although it is in the record body)"
        ),
    }
}

fn store_line<'a>(
    record: &mut CloudRecord<'a>,
    order: &mut Vec<SeenKey<'a>>,
    key: &'a str,
    raw: &'a str,
    line: usize,
) {
    let Some(field) = Field::from_key(key) else {
        if IGNORED_KEYS.contains(&key) {
            record.ignored.push((key, line));
        } else if !order
            .iter()
            .any(|seen| matches!(seen, SeenKey::Unknown(k, _) if *k == key))
        {
            order.push(SeenKey::Unknown(key, line));
        }
        return;
    };
    let slot = &mut record.slots[field as usize];
    match slot {
        Some(previous) => {
            record.duplicates.push(DuplicateKey {
                key: field.name(),
                dropped: previous.raw,
                dropped_line: previous.line,
                kept: raw,
                kept_line: line,
            });
            previous.raw = raw;
            previous.line = line;
        }
        None => {
            *slot = Some(Slot {
                raw,
                line,
                value: Value::Invalid,
            });
            record.present |= 1 << field as u32;
            order.push(SeenKey::Known(field));
        }
    }
}

fn is_null_token(raw: &str) -> bool {
    raw.is_empty() || raw.eq_ignore_ascii_case("none") || raw.eq_ignore_ascii_case("null")
}

fn check_values(record: &mut CloudRecord<'_>, order: &[SeenKey<'_>]) {
    for seen in order {
        match *seen {
            SeenKey::Unknown(key, line) => record.errors.push(LoaderError {
                rule: rules::CLOUD_FIELDS,
                line: Some(line),
                field: Some(key.to_owned()),
                apel_text: format!("Unknown field: {key}"),
                explanation: format!(
                    "'{}' is not a field of APEL cloud records (keys are case-sensitive)",
                    python::shorten(key, 60)
                ),
            }),
            SeenKey::Known(field) => {
                let Some(slot) = record.slots[field as usize].as_mut() else {
                    continue;
                };
                match checked_value(field, slot.raw) {
                    Ok(value) => slot.value = value,
                    Err(error) => {
                        let mut error = *error;
                        error.line = Some(slot.line);
                        record.errors.push(error);
                    }
                }
            }
        }
    }
}

/// Checks one value like APEL's `checked_value`, returning the typed value.
// The error is boxed so the common result stays as small as a value.
fn checked_value(field: Field, raw: &str) -> Result<Value, Box<LoaderError>> {
    if is_null_token(raw) {
        if MANDATORY.contains(&field) {
            return Err(null_mandatory_error(field, raw));
        }
        return Ok(Value::Null);
    }
    let value = match field.kind() {
        Kind::Text => return Ok(Value::Text),
        Kind::Int => python::parse_int(raw).map(Value::Int),
        Kind::Float => python::parse_float(raw).map(Value::Float),
        Kind::Time => {
            return python::parse_apel_datetime(raw)
                .map(Value::Time)
                .map_err(|text| time_error(field, raw, text));
        }
    };
    value.ok_or_else(|| type_error(field, raw))
}

#[cold]
fn null_mandatory_error(field: Field, raw: &str) -> Box<LoaderError> {
    let name = field.name();
    loader_error(
        rules::CLOUD_MANDATORY,
        field,
        format!("NULL in mandatory field: {name}"),
        format!("{name} is empty or a null token ('{raw}'); APEL requires a value"),
    )
}

#[cold]
fn type_error(field: Field, raw: &str) -> Box<LoaderError> {
    let name = field.name();
    let quoted = python::shorten(raw, 60);
    let (kind, form) = if field.kind() == Kind::Int {
        ("int", "a whole number in base 10")
    } else {
        ("float", "a number such as 2 or 0.5")
    };
    loader_error(
        rules::CLOUD_TYPES,
        field,
        format!("Invalid {kind} value {raw} in field {name}"),
        format!("{name} is '{quoted}'; it must be {form}"),
    )
}

#[cold]
fn time_error(field: Field, raw: &str, apel_text: String) -> Box<LoaderError> {
    loader_error(
        rules::CLOUD_TYPES,
        field,
        apel_text,
        format!(
            "{} is '{}'; it must be Unix seconds between years 1 and 9999 (or \
             YYYY-MM-DDTHH:MM:SSZ)",
            field.name(),
            python::shorten(raw, 60)
        ),
    )
}

fn loader_error(
    rule: &'static str,
    field: Field,
    apel_text: String,
    explanation: String,
) -> Box<LoaderError> {
    Box::new(LoaderError {
        rule,
        line: None,
        field: Some(field.name().to_owned()),
        apel_text,
        explanation,
    })
}

fn check_mandatory(record: &mut CloudRecord<'_>) {
    for field in MANDATORY {
        if record.slot(field).is_none() {
            let name = field.name();
            record.errors.push(LoaderError {
                rule: rules::CLOUD_MANDATORY,
                line: None,
                field: Some(name.to_owned()),
                apel_text: format!("Mandatory field {name} not specified."),
                explanation: format!("{name} is missing; APEL requires it in every record"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(body: &str) -> Vec<CloudRecord<'_>> {
        let mut reader = CloudRecords::new(body, 2);
        let mut all = Vec::new();
        while let Some(record) = reader.next_record() {
            all.push(record.clone());
        }
        all
    }

    #[test]
    fn splits_on_percent_pairs_anywhere() {
        let parsed = records("VMUUID: a\nSiteName: S\n%%\nVMUUID: b %% SiteName: T\n%%\n");
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].text(Field::VmUuid), Some("b"));
        assert_eq!(parsed[1].line, 5);
        assert_eq!(parsed[2].line, 5);
        assert!(
            parsed[2]
                .errors
                .iter()
                .any(|e| e.field.as_deref() == Some("VMUUID"))
        );
    }

    #[test]
    fn every_field_name_is_found() {
        for (field, name, _) in FIELD_TABLE {
            assert_eq!(Field::from_key(name), Some(field));
            assert_eq!(field.name(), name);
        }
        assert_eq!(Field::from_key("vmuuid"), None);
    }

    #[test]
    fn colon_and_line_end_at_every_offset() {
        for length in 0..40 {
            for colon_at in 0..length {
                let mut line = vec![b'k'; length];
                line[colon_at] = b':';
                line.push(b'\n');
                line.extend_from_slice(b"x:y\n");
                assert_eq!(
                    find_colon_and_newline(&line, 0),
                    (Some(colon_at), Some(length)),
                    "{length} {colon_at}"
                );
            }
            let mut plain = vec![b'k'; length];
            plain.extend_from_slice(b"\nx:y");
            assert_eq!(find_colon_and_newline(&plain, 0), (None, Some(length)));
            assert_eq!(find_colon_and_newline(&plain[..length], 0), (None, None));
        }
        assert_eq!(find_colon_and_newline(b"ab:c:d", 1), (Some(2), None));
    }

    #[test]
    fn last_duplicate_wins() {
        let parsed = records("VMUUID: a\nSiteName: S\nStatus: completed\nStatus: started\n");
        let record = &parsed[0];
        assert_eq!(record.text(Field::Status), Some("started"));
        assert_eq!(record.duplicates.len(), 1);
        assert_eq!(record.duplicates[0].dropped, "completed");
        assert_eq!(record.duplicates[0].kept_line, 5);
    }

    #[test]
    fn first_error_follows_key_order() {
        let parsed = records("Foo: x\nWallDuration: 1.5\nVMUUID: a\nSiteName: S\n");
        let texts: Vec<_> = parsed[0]
            .errors
            .iter()
            .map(|e| e.apel_text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "Unknown field: Foo",
                "Invalid int value 1.5 in field WallDuration"
            ]
        );
    }

    #[test]
    fn null_tokens_and_mandatory_fields() {
        let parsed = records("VMUUID: NuLL\nFQAN: None\n");
        let texts: Vec<_> = parsed[0]
            .errors
            .iter()
            .map(|e| e.apel_text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "NULL in mandatory field: VMUUID",
                "Mandatory field SiteName not specified."
            ]
        );
        assert_eq!(parsed[0].text(Field::Fqan), None);
    }

    #[test]
    fn blank_line_inside_record_is_an_error() {
        let parsed = records("\n\nVMUUID: a\n\nSiteName: S\n\n");
        assert_eq!(parsed[0].line, 4);
        assert_eq!(parsed[0].errors.len(), 1);
        assert_eq!(parsed[0].errors[0].line, Some(5));
        assert_eq!(parsed[0].errors[0].rule, rules::CLOUD_SYNTAX);
    }

    #[test]
    fn types_are_checked() {
        let parsed = records(
            "VMUUID: a\nSiteName: S\nCpuCount: 2.5\nMemory: 1_024\nStartTime: 2024-03-01T01:00:00Z\n\
             EndTime: -1\nBenchmark: x\n",
        );
        let record = &parsed[0];
        assert_eq!(record.float(Field::CpuCount), Some(2.5));
        assert_eq!(record.int(Field::Memory), Some(PyInt::Value(1024)));
        assert_eq!(record.time(Field::StartTime), Some(1_709_254_800));
        assert_eq!(record.time(Field::EndTime), Some(-1));
        assert_eq!(
            record.errors[0].apel_text,
            "Invalid float value x in field Benchmark"
        );
    }

    #[test]
    fn ignored_and_vo_keys_are_accepted() {
        let parsed = records("VMUUID: a\nSiteName: S\nMeasurementTime: 5\nVO: x\n");
        assert!(parsed[0].errors.is_empty());
        assert_eq!(parsed[0].ignored, [("MeasurementTime", 4)]);
    }
}
