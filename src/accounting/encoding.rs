//! Byte-level checks: invalid UTF-8, non-ASCII text and control characters.
//!
//! APEL's loader stores UTF-8, but `ssmsend` decodes every outgoing message as ASCII and fails
//! on the first other byte, so a message with non-ASCII text is never sent at all.

use memchr::{memchr, memrchr};

use super::report::Finding;
use super::rules;
use super::{Draft, MessageType};

/// Returns true for control bytes that do not belong in a record: everything below 0x20 except
/// tab, line feed and carriage return, and DEL.
fn is_control(byte: u8) -> bool {
    // Non-short-circuit operators keep the block scan branch-free, so it vectorises.
    let allowed = (byte == b'\t') | (byte == b'\n') | (byte == b'\r');
    ((byte < 0x20) & !allowed) | (byte == 0x7f)
}

/// Tells the line, record and field of a byte offset, counting forward from the last call so a
/// whole message is scanned once.
struct Locator<'t> {
    text: &'t [u8],
    cloud: bool,
    cursor: usize,
    line: usize,
    record: usize,
}

impl<'t> Locator<'t> {
    fn new(text: &'t [u8], cloud: bool) -> Self {
        Self {
            text,
            cloud,
            cursor: 0,
            line: 1,
            record: 1,
        }
    }

    fn locate(&mut self, offset: usize) -> (usize, Option<usize>, Option<String>) {
        let skipped = &self.text[self.cursor..offset];
        self.line += memchr::memchr_iter(b'\n', skipped).count();
        if self.cloud {
            self.record += memchr::memmem::find_iter(skipped, b"%%").count();
        }
        self.cursor = offset;
        let line_start = memrchr(b'\n', &self.text[..offset]).map_or(0, |i| i + 1);
        let line_end = memchr(b'\n', &self.text[offset..]).map_or(self.text.len(), |i| offset + i);
        let line_text = &self.text[line_start..line_end];
        let field = memchr(b':', line_text)
            .filter(|colon| *colon < 40 && line_start + colon < offset)
            .map(|colon| {
                String::from_utf8_lossy(&line_text[..colon])
                    .trim()
                    .to_owned()
            });
        let record = (self.cloud && self.line > 1).then_some(self.record);
        (self.line, record, field)
    }

    /// Returns the offset just past the line holding `offset`.
    fn end_of_line(&self, offset: usize) -> usize {
        memchr(b'\n', &self.text[offset..]).map_or(self.text.len(), |i| offset + i + 1)
    }
}

/// Finds the first byte at or after `from` that `bad` flags, scanning in blocks so the common
/// clean case is vectorised.
fn find_from(bytes: &[u8], from: usize, bad: impl Fn(u8) -> bool) -> Option<usize> {
    let mut start = from;
    for block in bytes[from..].chunks(64) {
        let mut any = false;
        for &byte in block {
            any |= bad(byte);
        }
        if any {
            return block.iter().position(|b| bad(*b)).map(|i| start + i);
        }
        start += block.len();
    }
    None
}

fn place(finding: Finding, line: usize, record: Option<usize>, field: Option<String>) -> Finding {
    let mut finding = finding.at_line(line);
    finding.record = record;
    finding.field = field;
    finding
}

/// Adds encoding findings for a message.
pub(crate) fn check(bytes: &[u8], kind: MessageType, draft: &mut Draft<'_>) {
    let cloud = kind == MessageType::Cloud;
    if !bytes.is_ascii() {
        let valid = std::str::from_utf8(bytes).is_ok();
        let mut locator = Locator::new(bytes, cloud);
        let mut offset = 0;
        let mut reported = 0;
        while let Some(found) = find_from(bytes, offset, |b| !b.is_ascii()) {
            let (line, record, field) = locator.locate(found);
            let end = locator.end_of_line(found);
            let sample = String::from_utf8_lossy(&bytes[found..end.min(found + 24)]);
            let message = if valid {
                format!(
                    "non-ASCII text ('{}'); ssmsend cannot send a message with non-ASCII bytes, \
                     so this whole message stays unsent. Replace or drop these characters",
                    sample.trim_end()
                )
            } else {
                "bytes that are not valid UTF-8 nor ASCII; ssmsend cannot send this message"
                    .to_owned()
            };
            draft.push(place(
                Finding::error(rules::ENCODING, message),
                line,
                record,
                field,
            ));
            reported += 1;
            offset = end;
            if reported > 50 || offset >= bytes.len() {
                break;
            }
        }
    }
    let mut locator = Locator::new(bytes, cloud);
    let mut offset = 0;
    let mut reported = 0;
    while let Some(found) = find_from(bytes, offset, is_control) {
        let (line, record, field) = locator.locate(found);
        let byte = bytes[found];
        draft.push(place(
            Finding::warning(
                rules::ENCODING,
                format!(
                    "control character 0x{byte:02X}{}; APEL stores it inside the value",
                    if byte == 0 { " (NUL)" } else { "" }
                ),
            ),
            line,
            record,
            field,
        ));
        reported += 1;
        offset = locator.end_of_line(found);
        if reported > 50 || offset >= bytes.len() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_from_skips_clean_blocks() {
        let mut bytes = vec![b'a'; 200];
        bytes[130] = 0;
        assert_eq!(find_from(&bytes, 0, is_control), Some(130));
        assert_eq!(find_from(&bytes, 131, is_control), None);
    }

    #[test]
    fn locator_names_line_record_and_field() {
        let text = b"APEL-cloud-message: v0.4\nVMUUID: a\n%%\nMachineName: \xc3\xa9\n";
        let mut locator = Locator::new(text, true);
        let offset = text
            .iter()
            .position(|b| *b == 0xc3)
            .expect("test text has it");
        let (line, record, field) = locator.locate(offset);
        assert_eq!(line, 4);
        assert_eq!(record, Some(2));
        assert_eq!(field.as_deref(), Some("MachineName"));
    }
}
