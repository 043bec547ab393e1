//! Walks message files and spool directories one message at a time.
//!
//! cASO's SSM messenger writes a dirq `QueueSimple`: `<spool>/<8 hex digits>/<14 hex digits>`,
//! names growing with time, `.tmp` while a file is being written and `.lck` while `ssmsend`
//! has it locked. A directory without such buckets is read as SSM's plain `directory` spool, where
//! every file is a message. Only one message is in memory at a time.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::report::{Finding, MessageReport, MessageType, Severity, SpoolSummary};
use super::{ApelVerdict, ValidateOptions, rules, validate_message};

/// Largest message read into memory; larger files are reported without being parsed.
pub const MAX_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Read buffers above this size are released after use, so one huge message does not keep the
/// process large for the rest of the walk.
const KEEP_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// Bytes at each end of a message that identify duplicate candidates.
const SAMPLE_BYTES: usize = 4096;
/// Messages remembered for duplicate detection, bounding its memory.
const MAX_REMEMBERED: usize = 1_000_000;
/// Age of the newest record that draws a warning (7 days) or an error (30 days), as EGI's
/// accounting publication probe applies them.
const FRESHNESS_WARNING_SECONDS: i64 = 7 * 86_400;
const FRESHNESS_ERROR_SECONDS: i64 = 30 * 86_400;

fn is_hex_name(name: &str, length: usize) -> bool {
    name.len() == length && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Remembers messages by length and a hash of their ends. A match is confirmed by comparing the
/// earlier file in full, so no false duplicate is reported.
#[derive(Default)]
struct DuplicateIndex {
    seen: HashMap<(usize, u64), PathBuf>,
    full: bool,
}

impl DuplicateIndex {
    fn sample_hash(bytes: &[u8]) -> u64 {
        let mut hasher = DefaultHasher::new();
        bytes[..bytes.len().min(SAMPLE_BYTES)].hash(&mut hasher);
        bytes[bytes.len().saturating_sub(SAMPLE_BYTES)..].hash(&mut hasher);
        hasher.finish()
    }

    /// Returns the earlier path with the same content, remembering this one otherwise.
    fn check(&mut self, path: &Path, bytes: &[u8]) -> Option<PathBuf> {
        let key = (bytes.len(), Self::sample_hash(bytes));
        if let Some(earlier) = self.seen.get(&key) {
            let same = fs::read(earlier).is_ok_and(|content| content == bytes);
            return same.then(|| earlier.clone());
        }
        if self.seen.len() < MAX_REMEMBERED {
            self.seen.insert(key, path.to_owned());
        } else {
            self.full = true;
        }
        None
    }
}

struct Walker<'o, F> {
    opts: &'o ValidateOptions,
    on_message: F,
    summary: SpoolSummary,
    buffer: Vec<u8>,
    duplicates: DuplicateIndex,
}

/// Walks files and spool directories (dirq layout `<8 hex>/<14 hex>`, in name order) one message
/// at a time and calls `on_message` for each. Unreadable files become reports, never a stop.
/// Returns totals and spool-level findings: newest record older than 7 days (warning) or 30
/// days (error), identical messages, files that are not messages, and the context's own
/// findings.
pub fn validate_paths(
    paths: &[PathBuf],
    opts: &ValidateOptions,
    on_message: impl FnMut(MessageReport),
) -> SpoolSummary {
    let mut walker = Walker {
        opts,
        on_message,
        summary: SpoolSummary::default(),
        buffer: Vec::new(),
        duplicates: DuplicateIndex::default(),
    };
    walker.summary.findings.extend(opts.context.findings());
    for path in paths {
        walker.walk(path);
    }
    walker.finish()
}

impl<F: FnMut(MessageReport)> Walker<'_, F> {
    fn walk(&mut self, path: &Path) {
        if path.as_os_str() == "-" {
            let result = read_bounded(io::stdin().lock(), &mut self.buffer);
            self.validate_read(path, result);
            return;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => self.walk_dir(path),
            Ok(_) => self.validate_file(path),
            Err(error) => self.unreadable(path, &error),
        }
    }

    fn walk_dir(&mut self, dir: &Path) {
        let mut entries = match sorted_entries(dir) {
            Ok(entries) => entries,
            Err(error) => return self.unreadable(dir, &error),
        };
        let is_dirq = entries
            .iter()
            .any(|(name, is_dir)| *is_dir && is_hex_name(name, 8));
        for (name, is_dir) in entries.drain(..) {
            let path = dir.join(&name);
            match (is_dir, is_dirq) {
                (true, true) if is_hex_name(&name, 8) => self.walk_bucket(&path),
                (true, _) => self.walk_dir(&path),
                (false, false) if !name.starts_with('.') => self.validate_file(&path),
                (false, _) => self.layout(&path, "is not a dirq message; ssmsend ignores it"),
            }
        }
    }

    fn walk_bucket(&mut self, bucket: &Path) {
        let entries = match sorted_entries(bucket) {
            Ok(entries) => entries,
            Err(error) => return self.unreadable(bucket, &error),
        };
        for (name, is_dir) in entries {
            let path = bucket.join(&name);
            if is_dir {
                self.layout(
                    &path,
                    "is a directory inside a dirq bucket; ssmsend ignores it",
                );
            } else if is_hex_name(&name, 14) {
                self.validate_file(&path);
            } else if name.len() == 18 && name.ends_with(".tmp") {
                self.layout_info(
                    &path,
                    "is still being written (.tmp); ssmsend skips it for now",
                );
            } else if name.len() == 18 && name.ends_with(".lck") {
                self.layout_info(
                    &path,
                    "is locked (.lck) by a running ssmsend; checked anyway",
                );
                self.validate_file(&path);
            } else {
                self.layout(
                    &path,
                    "is not a dirq message name (14 hex digits); ssmsend ignores it",
                );
            }
        }
    }

    fn validate_file(&mut self, path: &Path) {
        let result = File::open(path).and_then(|file| read_bounded(file, &mut self.buffer));
        self.validate_read(path, result);
    }

    fn validate_read(&mut self, path: &Path, result: io::Result<bool>) {
        match result {
            Err(error) => self.unreadable(path, &error),
            Ok(false) => self.oversized(path),
            Ok(true) => {
                let shown = path.display().to_string();
                let report = validate_message(&shown, &self.buffer, self.opts);
                if path.as_os_str() != "-"
                    && let Some(earlier) = self.duplicates.check(path, &self.buffer)
                {
                    self.summary.findings.push(Finding::warning(
                        rules::SPOOL_DUPLICATE,
                        format!(
                            "{shown} is identical to {}; the records are counted twice unless \
                             the repository replaces them",
                            earlier.display()
                        ),
                    ));
                }
                self.summary.bytes += self.buffer.len() as u64;
                self.emit(report);
            }
        }
        if self.buffer.capacity() > KEEP_BUFFER_BYTES {
            self.buffer = Vec::new();
        }
    }

    fn unreadable(&mut self, path: &Path, error: &io::Error) {
        let shown = path.display().to_string();
        self.emit(failure_report(
            shown,
            format!("cannot read {}: {error}", path.display()),
            Finding::error(
                rules::SPOOL_UNREADABLE,
                format!(
                    "cannot read the file ({error}); ssmsend cannot send it either: check its \
                     owner and permissions"
                ),
            ),
        ));
    }

    fn oversized(&mut self, path: &Path) {
        let shown = path.display().to_string();
        self.emit(failure_report(
            shown,
            format!("the file is larger than {MAX_MESSAGE_BYTES} bytes"),
            Finding::error(
                rules::MESSAGE_SIZE,
                format!(
                    "the file is larger than {} MiB, far over the 1 MB messaging limit; it was \
                     not parsed and cannot be sent",
                    MAX_MESSAGE_BYTES >> 20
                ),
            ),
        ));
    }

    fn layout(&mut self, path: &Path, what: &str) {
        self.summary.findings.push(Finding::warning(
            rules::SPOOL_LAYOUT,
            format!("{} {what}", path.display()),
        ));
    }

    fn layout_info(&mut self, path: &Path, what: &str) {
        self.summary.findings.push(Finding::info(
            rules::SPOOL_LAYOUT,
            format!("{} {what}", path.display()),
        ));
    }

    fn emit(&mut self, report: MessageReport) {
        let summary = &mut self.summary;
        summary.messages += 1;
        summary.passed += usize::from(report.passed);
        match report.apel {
            ApelVerdict::Accepted => summary.apel_accepted += 1,
            ApelVerdict::Rejected => summary.apel_rejected += 1,
        }
        summary.records += report.records;
        *summary
            .by_type
            .entry(report.kind.name().to_owned())
            .or_default() += 1;
        summary.errors += report.count(Severity::Error);
        summary.warnings += report.count(Severity::Warning);
        if let Some(time) = report.newest_record_time {
            summary.newest_record_time = Some(
                summary
                    .newest_record_time
                    .map_or(time, |newest| newest.max(time)),
            );
        }
        (self.on_message)(report);
    }

    fn finish(mut self) -> SpoolSummary {
        if self.duplicates.full {
            self.layout_info(
                Path::new("the walk"),
                "has over a million messages; duplicate detection covered the first million",
            );
        }
        if let Some(finding) = freshness(&self.summary, self.opts.now) {
            self.summary.findings.push(finding);
        }
        let spool_errors = self
            .summary
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count();
        let spool_warnings = self
            .summary
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::Warning)
            .count();
        self.summary.errors += spool_errors;
        self.summary.warnings += spool_warnings;
        self.summary
    }
}

fn failure_report(path: String, explanation: String, finding: Finding) -> MessageReport {
    MessageReport {
        path,
        kind: MessageType::Unknown,
        version: None,
        records: 0,
        apel: ApelVerdict::Rejected,
        apel_reason: None,
        explanation: Some(explanation),
        findings: vec![finding],
        newest_record_time: None,
        passed: false,
    }
}

/// Lists a directory as (name, is directory), sorted by name; names that are not UTF-8 are
/// kept lossily so they are still reported.
fn sorted_entries(dir: &Path) -> io::Result<Vec<(String, bool)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        entries.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    entries.sort();
    Ok(entries)
}

/// Reads at most [`MAX_MESSAGE_BYTES`] into `buffer`; returns false when the input is larger.
fn read_bounded(reader: impl Read, buffer: &mut Vec<u8>) -> io::Result<bool> {
    buffer.clear();
    reader.take(MAX_MESSAGE_BYTES + 1).read_to_end(buffer)?;
    Ok(buffer.len() as u64 <= MAX_MESSAGE_BYTES)
}

fn freshness(summary: &SpoolSummary, now: i64) -> Option<Finding> {
    let newest = summary.newest_record_time?;
    let age = now.saturating_sub(newest);
    let days = age / 86_400;
    let message = format!(
        "the newest record is {days} days old; EGI's monitoring warns after 7 days and fails \
         after 30. Check that cASO runs and that ssmsend empties the spool"
    );
    if age > FRESHNESS_ERROR_SECONDS {
        Some(Finding::error(rules::FRESHNESS, message))
    } else if age > FRESHNESS_WARNING_SECONDS {
        Some(Finding::warning(rules::FRESHNESS, message))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "APEL-cloud-message: v0.4\nVMUUID: a\nSiteName: S\nFQAN: vo\n\
                           CloudComputeService: svc\nStatus: started\nStartTime: 1000000\n";

    fn write(path: &Path, content: &[u8]) {
        fs::create_dir_all(path.parent().expect("test paths have parents")).expect("create dir");
        fs::write(path, content).expect("write test file");
    }

    #[test]
    fn dirq_walk_is_sorted_and_flags_strays() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            &dir.path().join("6b12d4f8/6b12d4fc000002"),
            MESSAGE.as_bytes(),
        );
        write(
            &dir.path().join("6b12d4f8/6b12d4fc000001"),
            MESSAGE.replace("a\n", "b\n").as_bytes(),
        );
        write(&dir.path().join("6b12d4f8/notes.txt"), b"x");
        write(&dir.path().join("6b12d4f8/6b12d4fc000003.tmp"), b"partial");
        let mut paths = Vec::new();
        let summary = validate_paths(
            &[dir.path().to_owned()],
            &ValidateOptions::at(1_000_100),
            |report| {
                paths.push(report.path);
            },
        );
        assert_eq!(paths.len(), 2);
        assert!(paths[0].ends_with("6b12d4fc000001"));
        assert_eq!(summary.messages, 2);
        assert_eq!(summary.passed, 2);
        let layout: Vec<_> = summary
            .findings
            .iter()
            .filter(|f| f.rule == rules::SPOOL_LAYOUT)
            .collect();
        assert_eq!(layout.len(), 2);
    }

    #[test]
    fn identical_messages_are_flagged() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("a.msg"), MESSAGE.as_bytes());
        write(&dir.path().join("b.msg"), MESSAGE.as_bytes());
        let summary = validate_paths(
            &[dir.path().to_owned()],
            &ValidateOptions::at(1_000_100),
            |_| {},
        );
        let duplicates: Vec<_> = summary
            .findings
            .iter()
            .filter(|f| f.rule == rules::SPOOL_DUPLICATE)
            .collect();
        assert_eq!(duplicates.len(), 1);
        assert!(duplicates[0].message.contains("a.msg"));
    }

    #[test]
    fn missing_path_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("a.msg"), MESSAGE.as_bytes());
        let paths = [dir.path().join("missing"), dir.path().join("a.msg")];
        let mut reports = Vec::new();
        let summary = validate_paths(&paths, &ValidateOptions::at(1_000_100), |r| reports.push(r));
        assert_eq!(summary.messages, 2);
        assert_eq!(reports[0].findings[0].rule, rules::SPOOL_UNREADABLE);
        assert!(reports[1].passed);
    }

    #[test]
    fn unreadable_message_is_reported_and_walk_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            &dir.path().join("6b12d4f8/6b12d4fc000002"),
            MESSAGE.as_bytes(),
        );
        let dangling = dir.path().join("6b12d4f8/6b12d4fc000001");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).expect("symlink");
        let mut reports = Vec::new();
        let summary = validate_paths(
            &[dir.path().to_owned()],
            &ValidateOptions::at(1_000_100),
            |r| reports.push(r),
        );
        assert_eq!(summary.messages, 2);
        assert_eq!(reports[0].findings[0].rule, rules::SPOOL_UNREADABLE);
        assert!(!reports[0].passed);
        assert!(reports[1].passed);
        assert!(!summary.passed());
    }

    #[test]
    fn freshness_thresholds() {
        let mut summary = SpoolSummary {
            newest_record_time: Some(0),
            ..SpoolSummary::default()
        };
        assert!(freshness(&summary, 7 * 86_400).is_none());
        assert_eq!(
            freshness(&summary, 8 * 86_400).map(|f| f.severity),
            Some(Severity::Warning)
        );
        assert_eq!(
            freshness(&summary, 31 * 86_400).map(|f| f.severity),
            Some(Severity::Error)
        );
        summary.newest_record_time = None;
        assert!(freshness(&summary, 31 * 86_400).is_none());
    }
}
