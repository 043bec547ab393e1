//! Python 3 string, number and time semantics that APEL's loader applies to message text.
//!
//! APEL 2.5.0 is written in Python: it uses `str.strip()`, `str.splitlines()`, `int()`,
//! `float()` and `datetime.utcfromtimestamp()` on every field. Agreeing with its verdicts means
//! agreeing with those functions, including their exact error texts.

use std::borrow::Cow;

use memchr::{memchr, memchr3};

/// Returns true for the characters Python's `str.isspace()` accepts, which `str.strip()` removes.
/// Python also counts the ASCII separators U+001C to U+001F, unlike Rust's `char::is_whitespace`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// ASCII bytes that Python's `str.isspace()` accepts.
const ASCII_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let spaces = [
        b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r', 0x1c, 0x1d, 0x1e, 0x1f,
    ];
    let mut index = 0;
    while index < spaces.len() {
        table[spaces[index] as usize] = true;
        index += 1;
    }
    table
};

/// Returns true for printable ASCII other than space, and DEL: bytes that are not whitespace
/// and start no multi-byte character.
#[inline]
fn is_plain(byte: u8) -> bool {
    byte.wrapping_sub(0x21) < 0x5f
}

/// Strips like Python's `str.strip()` with no argument.
#[inline]
pub(crate) fn strip(text: &str) -> &str {
    // Keys and `: value` halves of cASO lines, by far the most common inputs.
    match text.as_bytes() {
        [first, .., last] if is_plain(*first) && is_plain(*last) => text,
        [b' ', second, .., last] if is_plain(*second) && is_plain(*last) => &text[1..],
        [single] if is_plain(*single) => text,
        _ => strip_edges(text),
    }
}

fn strip_edges(text: &str) -> &str {
    // ASCII edges are trimmed bytewise; only an edge that is still non-ASCII afterwards can
    // hold Unicode whitespace and needs character decoding.
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() && ASCII_SPACE[usize::from(bytes[start])] {
        start += 1;
    }
    let mut end = bytes.len();
    while end > start && ASCII_SPACE[usize::from(bytes[end - 1])] {
        end -= 1;
    }
    let inner = &text[start..end];
    if bytes.get(start).is_some_and(|b| *b >= 0x80) || (end > start && bytes[end - 1] >= 0x80) {
        inner.trim_matches(is_space)
    } else {
        inner
    }
}

/// Returns true when every byte is printable ASCII, a space, a tab or `\n`: text with nothing
/// to normalise and no encoding finding, which is what cASO writes.
pub(crate) fn is_plain_text(bytes: &[u8]) -> bool {
    let clean = |byte: u8| (byte.wrapping_sub(0x20) < 0x5f) | (byte == b'\n') | (byte == b'\t');
    let mut blocks = bytes.chunks_exact(64);
    // A fixed-size block with no early exit inside is vectorised.
    for block in &mut blocks {
        if !block.iter().fold(true, |all, byte| all & clean(*byte)) {
            return false;
        }
    }
    blocks.remainder().iter().all(|byte| clean(*byte))
}

/// Returns true when `text` contains a line boundary of `str.splitlines()` other than `\n`.
fn has_other_line_breaks(text: &str) -> bool {
    let bytes = text.as_bytes();
    if memchr3(b'\r', 0x0b, 0x0c, bytes).is_some() || memchr3(0x1c, 0x1d, 0x1e, bytes).is_some() {
        return true;
    }
    // U+0085, U+2028 and U+2029 start with these lead bytes in UTF-8.
    (memchr(0xc2, bytes).is_some() || memchr(0xe2, bytes).is_some())
        && text.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

/// Rewrites every `str.splitlines()` boundary (`\r\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`, U+0085,
/// U+2028, U+2029) as `\n`, as the SSM receiver does before the loader reads the text.
pub(crate) fn normalize_line_breaks(text: &str) -> Cow<'_, str> {
    if !has_other_line_breaks(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push('\n'),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Integer value as Python's `int()` reads it; Python integers have no size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyInt {
    Value(i128),
    /// Beyond the range of `i128`, so beyond every database column.
    Huge {
        negative: bool,
    },
}

impl PyInt {
    /// Returns the value when it fits in an `i64`.
    pub(crate) fn as_i64(self) -> Option<i64> {
        match self {
            Self::Value(value) => i64::try_from(value).ok(),
            Self::Huge { .. } => None,
        }
    }
}

/// Checks ASCII digits with single underscores between them, as Python 3.6+ allows in numbers.
fn is_digit_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return false;
    }
    bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_') && !text.contains("__")
}

/// First code points of the runs of ten decimal digits (Unicode category Nd), as listed by
/// the unicodedata module of Python 3.11 (Unicode 14.0).
// NOTE: the Python version of APEL's server is not known here; Unicode 15 and later add runs
// (such as Kawi digits at U+11F50) that a newer Python also accepts.
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// Returns the value of a decimal digit of any script.
fn decimal_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    let run = DECIMAL_ZEROS
        .partition_point(|zero| *zero <= code)
        .checked_sub(1)?;
    let offset = code - DECIMAL_ZEROS[run];
    u8::try_from(offset).ok().filter(|digit| *digit < 10)
}

/// Rewrites decimal digits of other scripts as ASCII digits, as Python does before `int()` and
/// `float()` parse a string. Other non-ASCII characters stay, so the parse fails as in Python.
fn ascii_digits(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match decimal_value(c) {
                Some(digit) if !c.is_ascii() => char::from(b'0' + digit),
                _ => c,
            })
            .collect(),
    )
}

/// Parses an already stripped value like Python's `int(value)` in base 10.
pub(crate) fn parse_int(text: &str) -> Option<PyInt> {
    // Plain digits, the form cASO writes, cannot overflow an i64 below 19 of them.
    let bytes = text.as_bytes();
    if (1..=18).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
        let value = bytes
            .iter()
            .fold(0_i64, |value, byte| value * 10 + i64::from(byte - b'0'));
        return Some(PyInt::Value(i128::from(value)));
    }
    let converted = ascii_digits(text);
    let text = converted.as_ref();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text.as_bytes()[1..]),
        b'+' => (false, &text.as_bytes()[1..]),
        _ => (false, text.as_bytes()),
    };
    // One pass: digits, with single underscores only between two digits.
    let mut value: i128 = 0;
    let mut huge = false;
    let mut previous_digit = false;
    for (index, byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                let digit = i128::from(byte - b'0');
                match value.checked_mul(10).and_then(|v| v.checked_add(digit)) {
                    Some(next) => value = next,
                    None => huge = true,
                }
                previous_digit = true;
            }
            b'_' if previous_digit && index + 1 < digits.len() => previous_digit = false,
            _ => return None,
        }
    }
    if !previous_digit {
        return None;
    }
    Some(if huge {
        PyInt::Huge { negative }
    } else {
        PyInt::Value(if negative { -value } else { value })
    })
}

/// Parses an already stripped value like Python's `float(value)`.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    if let Some(value) = parse_short_decimal(text) {
        return Some(value);
    }
    let converted = ascii_digits(text);
    let text = converted.as_ref();
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else if !is_decimal_literal(body) {
        return None;
    } else if body.contains('_') {
        body.replace('_', "").parse::<f64>().ok()?
    } else {
        body.parse::<f64>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Powers of ten that an f64 represents exactly.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Parses `digits[.digits]` with at most 15 digits in all, the form cASO writes. Such a value
/// is an exact integer over an exact power of ten, and one IEEE division of two exact values is
/// correctly rounded, so the result equals the full parser's.
fn parse_short_decimal(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut point = None;
    for (index, byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
            }
            b'.' if point.is_none() => point = Some(index),
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    let scale = point.map_or(0, |at| bytes.len() - at - 1);
    Some(mantissa as f64 / EXACT_POWERS_OF_TEN[scale])
}

/// Checks Python's float grammar without sign: `digits [. [digits]] | . digits`, then an
/// optional exponent.
fn is_decimal_literal(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(index) => (&text[..index], Some(&text[index + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => is_digit_part(fraction),
        Some((whole, "")) => is_digit_part(whole),
        Some((whole, fraction)) => is_digit_part(whole) && is_digit_part(fraction),
        None => is_digit_part(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(exp) => is_digit_part(exp.strip_prefix(['+', '-']).unwrap_or(exp)),
    };
    mantissa_ok && exponent_ok
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Converts a proleptic Gregorian date to days since 1970-01-01.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Checks an epoch the way `datetime.utcfromtimestamp()` on 64-bit Linux does, returning the
/// Python exception text on failure.
// NOTE: only the "year N is out of range" text was observed from APEL 2.5.0; the two other
// texts are CPython's and glibc's messages for the larger ranges, not observed through APEL.
pub(crate) fn check_utc_timestamp(value: PyInt) -> Result<i64, String> {
    const TIME_T_RANGE: &str = "timestamp out of range for platform time_t";
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    const FIRST_SECOND: i128 = -62_135_596_800;
    const LAST_SECOND: i128 = 253_402_300_799;
    if let PyInt::Value(seconds @ FIRST_SECOND..=LAST_SECOND) = value {
        return Ok(seconds as i64);
    }
    let Some(seconds) = value.as_i64() else {
        return Err(TIME_T_RANGE.to_owned());
    };
    let (year, _, _) = civil_from_days(seconds.div_euclid(86_400));
    // glibc's gmtime() keeps `tm_year` (year - 1900) in a C int and fails with EOVERFLOW.
    if i32::try_from(year - 1900).is_err() {
        return Err("[Errno 75] Value too large for defined data type".to_owned());
    }
    if !(1..=9999).contains(&year) {
        return Err(format!("year {year} is out of range"));
    }
    Ok(seconds)
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` with `strptime` leniency (one- or two-digit fields,
/// case-insensitive `T` and `Z`), returning Unix seconds.
// NOTE: APEL's string branch was observed on one valid and one invalid value only; leap seconds
// and other `strptime` corner cases are treated as invalid.
pub(crate) fn parse_iso_z(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 12 || !bytes[..4].iter().all(u8::is_ascii_digit) || bytes[4] != b'-' {
        return None;
    }
    let year: i64 = text[..4].parse().ok()?;
    let mut rest = &text[5..];
    let mut take = |separator: Option<char>| -> Option<u32> {
        let digits = rest.bytes().take(2).take_while(u8::is_ascii_digit).count();
        let value = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        if let Some(sep) = separator {
            let next = rest.chars().next()?;
            if !next.eq_ignore_ascii_case(&sep) {
                return None;
            }
            rest = &rest[1..];
        }
        Some(value)
    };
    let month = take(Some('-'))?;
    let day = take(Some('T'))?;
    let hour = take(Some(':'))?;
    let minute = take(Some(':'))?;
    let second = take(Some('Z'))?;
    if !rest.is_empty()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// Parses an APEL datetime field: an integer epoch, else `YYYY-MM-DDTHH:MM:SSZ`. Returns the
/// exception text APEL stores when neither works.
pub(crate) fn parse_apel_datetime(text: &str) -> Result<i64, String> {
    match parse_int(text) {
        Some(value) => check_utc_timestamp(value),
        None => parse_iso_z(text).ok_or_else(|| format!("Unknown datetime format!: {text}")),
    }
}

/// Shortens `text` to at most `max_chars` characters for display, marking the cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} more bytes)",
            &text[..cut],
            text.len() - cut
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_python_whitespace() {
        assert_eq!(strip("\u{1f} a b\u{a0}\t"), "a b");
        assert_eq!(strip(" \n"), "");
    }

    #[test]
    fn strip_fast_paths_match_edges() {
        for text in [
            "a",
            " a",
            "key",
            " value",
            "a b",
            " ",
            "",
            "\ta ",
            " \u{a0}x",
            "x\u{2003}",
        ] {
            assert_eq!(strip(text), strip_edges(text), "{text:?}");
        }
    }

    #[test]
    fn plain_text_rejects_other_bytes() {
        let mut text = "VMUUID: a\tb\n".repeat(20).into_bytes();
        assert!(is_plain_text(&text));
        for bad in [b'\r', 0x0b, 0x00, 0x7f, 0xc3] {
            for at in [3, 70, text.len() - 1] {
                let original = text[at];
                text[at] = bad;
                assert!(!is_plain_text(&text), "byte {bad:#x} at {at}");
                text[at] = original;
            }
        }
    }

    #[test]
    fn normalize_line_breaks_joins_crlf() {
        assert_eq!(normalize_line_breaks("a\r\nb\rc\u{2028}d"), "a\nb\nc\nd");
        assert!(matches!(normalize_line_breaks("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn parse_int_follows_python() {
        assert_eq!(parse_int("-5"), Some(PyInt::Value(-5)));
        assert_eq!(parse_int("+007"), Some(PyInt::Value(7)));
        assert_eq!(parse_int("1_000"), Some(PyInt::Value(1000)));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_int("12.5"), None);
        assert_eq!(parse_int("0.0"), None);
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(
            parse_int("9".repeat(60).as_str()),
            Some(PyInt::Huge { negative: false })
        );
    }

    #[test]
    fn parse_float_follows_python() {
        assert_eq!(parse_float("12.5"), Some(12.5));
        assert_eq!(parse_float("5."), Some(5.0));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("1e-05"), Some(1e-5));
        assert_eq!(parse_float("1_0.5"), Some(10.5));
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_float("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float("two"), None);
        assert_eq!(parse_float("."), None);
        assert_eq!(parse_float("1e"), None);
    }

    #[test]
    fn utc_timestamp_limits_match_cpython() {
        assert_eq!(
            check_utc_timestamp(PyInt::Value(99_999_999_999_999)),
            Err("year 3170843 is out of range".to_owned())
        );
        assert_eq!(check_utc_timestamp(PyInt::Value(-1)), Ok(-1));
        assert_eq!(
            check_utc_timestamp(PyInt::Value(-62_135_596_801)),
            Err("year 0 is out of range".to_owned())
        );
        assert_eq!(
            check_utc_timestamp(PyInt::Value(i64::MAX.into())),
            Err("[Errno 75] Value too large for defined data type".to_owned())
        );
        assert_eq!(
            check_utc_timestamp(PyInt::Huge { negative: false }),
            Err("timestamp out of range for platform time_t".to_owned())
        );
    }

    #[test]
    fn iso_z_datetime_parses_to_epoch() {
        assert_eq!(parse_iso_z("2024-03-01T01:00:00Z"), Some(1_709_254_800));
        assert_eq!(parse_iso_z("2024-3-1t1:0:0z"), Some(1_709_254_800));
        assert_eq!(parse_iso_z("2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_iso_z("2024-03-01T01:00:00+00:00"), None);
        assert_eq!(
            parse_apel_datetime("yesterday"),
            Err("Unknown datetime format!: yesterday".to_owned())
        );
    }

    #[test]
    fn number_fast_paths_match_parsers() {
        for text in [
            "0",
            "7",
            "12.5",
            "5.",
            ".5",
            "0.001",
            "123456789012345",
            "99999999.9999999",
        ] {
            let full: f64 = text.parse().expect("a decimal");
            assert_eq!(parse_short_decimal(text), Some(full), "{text}");
        }
        for text in [".", "", "1.2.3", "1e5", "1234567890123456", "-1"] {
            assert_eq!(parse_short_decimal(text), None, "{text}");
        }
        assert_eq!(
            parse_int("999999999999999999"),
            Some(PyInt::Value(999_999_999_999_999_999))
        );
        assert_eq!(
            parse_int("9999999999999999999"),
            Some(PyInt::Value(9_999_999_999_999_999_999))
        );
        let edge = |year, month, day| days_from_civil(year, month, day) * 86_400;
        assert_eq!(
            check_utc_timestamp(PyInt::Value(edge(1, 1, 1).into())),
            Ok(-62_135_596_800)
        );
        assert_eq!(
            check_utc_timestamp(PyInt::Value((edge(10_000, 1, 1) - 1).into())),
            Ok(253_402_300_799)
        );
        assert_eq!(
            check_utc_timestamp(PyInt::Value(edge(10_000, 1, 1).into())),
            Err("year 10000 is out of range".to_owned())
        );
    }

    #[test]
    fn digits_of_other_scripts_parse_as_python() {
        // Values Python 3.11 gives for the same strings.
        assert_eq!(parse_int("\u{661}\u{662}\u{663}"), Some(PyInt::Value(123)));
        assert_eq!(parse_int("\u{ff11}_\u{ff10}"), Some(PyInt::Value(10)));
        assert_eq!(parse_float("\u{661}.\u{665}"), Some(1.5));
        assert_eq!(parse_float("\u{1d7d9}\u{1d7ce}"), Some(10.0));
        assert_eq!(parse_int("1\u{66b}5"), None);
        assert_eq!(decimal_value('\u{1d7ff}'), Some(9));
        assert_eq!(decimal_value('\u{669}'), Some(9));
        assert_eq!(decimal_value('\u{66a}'), None);
        assert_eq!(decimal_value('/'), None);
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 19_783, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 3), "abc… (3 more bytes)");
    }
}
