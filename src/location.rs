//! Configuration errors that point at a file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// An error in a configuration file (suite manifest or site profile), located precisely enough
/// for an editor to jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl ConfigError {
    /// Creates an error for the whole file, such as one that cannot be read.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_owned(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: None,
        }
    }

    /// Creates an error at a byte span of `source`.
    pub fn at(
        path: &Path,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = span.map_or((0, 0), |span| line_column(source, span.start));
        ConfigError {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the fix to suggest.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Turns a TOML parse or schema error into a located error. The toml crate's own message
    /// repeats the source line with a caret; only its first line is kept, because the location
    /// is already given.
    pub fn from_toml(path: &Path, source: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim().to_owned();
        // A missing top-level table has no place in the file, so toml points at offset 0.
        let span = err
            .span()
            .filter(|span| !(span.start == 0 && message.starts_with("missing field")));
        let mut error = ConfigError::at(path, source, span, message.clone());
        if message.starts_with("unknown field") {
            error = error.with_hint(
                "remove the key or fix its spelling; the message lists the expected keys",
            );
        }
        error
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )?;
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Finds the byte span of `key` inside the `[section]` table of TOML text (`section` empty for
/// the top level) by reading lines. Comments and other tables are skipped.
pub fn find_key(source: &str, section: &str, key: &str) -> Option<Range<usize>> {
    let mut current = String::new();
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
        } else if current == section
            && trimmed.starts_with(key)
            && trimmed[key.len()..].trim_start().starts_with('=')
        {
            let start = offset + indent;
            return Some(start..start + key.len());
        }
        offset += line.len();
    }
    None
}

/// Converts a byte offset into a 1-based line and character column.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let source = "a = 1\nbé = 2\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        // "bé" is three bytes and two characters, so the space after it is column 3.
        assert_eq!(line_column(source, 9), (2, 3));
    }

    #[test]
    fn display_has_location_and_hint() {
        let err = ConfigError::at(Path::new("s.toml"), "x\ny = 1", Some(2..3), "bad key")
            .with_hint("fix it");
        assert_eq!(err.to_string(), "s.toml:2:1: bad key\n  (hint: fix it)");
    }
}
