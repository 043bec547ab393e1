//! `report.html`: the report a person reads and attaches to a certification ticket.
//!
//! One self-contained file rendered from `report.json`: inline CSS, no scripts, no images, and a
//! Content-Security-Policy that forbids every fetch, so opening it never reaches the network.
//! Order: the verdict, the run's facts, suites with counts, failed required checks, then every
//! other check by suite. Every value from the run is HTML-escaped.

use std::fmt::Write as _;

use crate::checks::Status;
use crate::report::{CheckEntry, Counts, ReportJson};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1b1b}
header.verdict{padding:1rem 1.5rem;border-radius:.4rem;color:#fff}
.verdict-passed{background:#1f6f3f}.verdict-failed{background:#a4161a}
.verdict-incomplete{background:#8a5a00}
header.verdict h1{margin:0;font-size:2rem}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right}
article.check{border:1px solid #ccc;border-left:.5rem solid #888;border-radius:.3rem;
margin:.6rem 0;padding:.4rem .8rem}
article.failed{border-left-color:#a4161a}article.error{border-left-color:#8a5a00}
article.skipped{border-left-color:#777}article.passed{border-left-color:#1f6f3f}
article.waived{border-left-color:#5a3e8a}
article.check h3{margin:.2rem 0;font-size:1.05rem}
.badge{display:inline-block;min-width:5.5rem;font-weight:bold}
dl{display:grid;grid-template-columns:9rem 1fr;gap:.2rem .8rem;margin:.4rem 0}
dt{font-weight:bold}dd{margin:0}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.9rem}
.note{background:#fff4d6;border:1px solid #e0c068;padding:.4rem .8rem;border-radius:.3rem}
";

/// Renders the report page.
pub fn render(report: &ReportJson) -> String {
    let mut page = String::new();
    let site = report.site_name();
    let verdict = &report.summary.verdict;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {} - fedcloud-conformance</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(verdict),
        escape(&site)
    );
    write_verdict(&mut page, report);
    write_facts(&mut page, report);
    write_notes(&mut page, report);
    write_suites(&mut page, report);
    write_checks(&mut page, report);
    page.push_str("</body>\n</html>\n");
    page
}

fn write_verdict(page: &mut String, report: &ReportJson) {
    let counts = &report.summary.counts;
    let class = match report.summary.verdict.as_str() {
        "PASSED" => "verdict-passed",
        "FAILED" => "verdict-failed",
        _ => "verdict-incomplete",
    };
    let _ = write!(
        page,
        "<header class=\"verdict {class}\" id=\"verdict\">\n<h1>{}</h1>\n<p>Site {}: {}</p>\n</header>\n",
        escape(&report.summary.verdict),
        escape(&report.site_name()),
        escape(&counts_sentence(counts))
    );
}

fn counts_sentence(counts: &Counts) -> String {
    let mut text = format!(
        "{} passed, {} failed ({} required), {} error, {} skipped",
        counts.passed, counts.failed, counts.required_failed, counts.error, counts.skipped
    );
    if counts.waived > 0 {
        let _ = write!(text, ", {} waived", counts.waived);
    }
    text
}

fn write_facts(page: &mut String, report: &ReportJson) {
    let keystone = report
        .site
        .pointer("/keystone/url")
        .and_then(|value| value.as_str())
        .unwrap_or("");
    let host = format!(
        "{} ({}, {} CPUs, {} MiB)",
        report.host.hostname.as_deref().unwrap_or("unknown"),
        report.host.os.as_deref().unwrap_or("unknown OS"),
        report.host.cpus,
        report.host.memory_mib
    );
    let rows = [
        ("Site", report.site_name()),
        ("Keystone", keystone.to_owned()),
        ("Mode", report.mode.clone()),
        ("Run id", report.run_id.clone()),
        ("Started", report.started_at.clone()),
        ("Finished", report.finished_at.clone()),
        (
            "Tool",
            format!("{} {}", report.tool.name, report.tool.version),
        ),
        ("Manifest SHA-256", report.manifest_sha256.clone()),
        ("Host", host),
    ];
    page.push_str("<section id=\"run\">\n<h2>Run</h2>\n<table>\n");
    for (name, value) in rows {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&value)
        );
    }
    page.push_str("</table>\n</section>\n");
}

fn write_notes(page: &mut String, report: &ReportJson) {
    if let Some(reason) = &report.incomplete {
        let _ = writeln!(
            page,
            "<p class=\"note\" id=\"incomplete\">Run incomplete: {}</p>",
            escape(reason)
        );
    }
    let Some(waivers) = &report.waivers else {
        return;
    };
    let signed = match &waivers.signed_by {
        Some(key) => format!("signed by the key with SHA-256 {key}"),
        None => "not signed".to_owned(),
    };
    let _ = writeln!(
        page,
        "<section id=\"waivers\">\n<h2>Waivers</h2>\n<p>File <a href=\"{}\">{}</a> (SHA-256 {}), {}; {} applied.</p>",
        escape(&encode_path(&waivers.file)),
        escape(&waivers.file),
        escape(&waivers.sha256),
        escape(&signed),
        waivers.applied.len()
    );
    for waiver in &waivers.expired {
        let _ = writeln!(
            page,
            "<p class=\"note\">Expired waiver ignored for {}: {}</p>",
            escape(&waiver.check),
            escape(&waiver.describe())
        );
    }
    for waiver in &waivers.unused {
        let _ = writeln!(
            page,
            "<p>Unused waiver for {} (the check did not fail): {}</p>",
            escape(&waiver.check),
            escape(&waiver.describe())
        );
    }
    page.push_str("</section>\n");
}

/// Suite names in the order their first check appears.
fn suite_names(report: &ReportJson) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for entry in &report.checks {
        if !names.contains(&entry.suite.as_str()) {
            names.push(&entry.suite);
        }
    }
    names
}

fn write_suites(page: &mut String, report: &ReportJson) {
    page.push_str(
        "<section id=\"suites\">\n<h2>Suites</h2>\n<table>\n<tr><th>Suite</th><th>Passed</th>\
         <th>Failed</th><th>Waived</th><th>Error</th><th>Skipped</th></tr>\n",
    );
    for suite in suite_names(report) {
        let mut counts = Counts::default();
        report
            .checks
            .iter()
            .filter(|entry| entry.suite == suite)
            .for_each(|entry| counts.add_entry(entry));
        let _ = writeln!(
            page,
            "<tr><td><a href=\"#suite-{0}\">{0}</a></td><td class=\"n\">{1}</td><td class=\"n\">{2}</td>\
             <td class=\"n\">{3}</td><td class=\"n\">{4}</td><td class=\"n\">{5}</td></tr>",
            escape(suite),
            counts.passed,
            counts.failed,
            counts.waived,
            counts.error,
            counts.skipped
        );
    }
    page.push_str("</table>\n</section>\n");
}

fn is_failed_required(entry: &CheckEntry) -> bool {
    entry.status == Status::Failed && !entry.is_waived() && entry.level == "required"
}

/// Sort key within a suite: failures, errors, skips, waived, passes; required before advisory.
fn severity(entry: &CheckEntry) -> (u8, bool) {
    let rank = match entry.outcome() {
        "failed" => 0,
        "error" => 1,
        "skipped" => 2,
        "waived" => 3,
        _ => 4,
    };
    (rank, entry.level != "required")
}

fn write_checks(page: &mut String, report: &ReportJson) {
    let failed: Vec<&CheckEntry> = report
        .checks
        .iter()
        .filter(|e| is_failed_required(e))
        .collect();
    let _ = writeln!(
        page,
        "<section id=\"failed-required\">\n<h2>Failed required checks ({})</h2>",
        failed.len()
    );
    if failed.is_empty() {
        page.push_str("<p>No required check failed.</p>\n");
    }
    for entry in &failed {
        write_check(page, entry);
    }
    page.push_str("</section>\n");

    for suite in suite_names(report) {
        let _ = writeln!(
            page,
            "<section id=\"suite-{0}\">\n<h2>Suite {0}</h2>",
            escape(suite)
        );
        let mut entries: Vec<&CheckEntry> = report
            .checks
            .iter()
            .filter(|entry| entry.suite == suite)
            .collect();
        entries.sort_by_key(|entry| severity(entry));
        for entry in entries {
            if is_failed_required(entry) {
                let _ = writeln!(
                    page,
                    "<p><a href=\"#check-{0}\">{0}</a> failed (shown under failed required checks).</p>",
                    escape(&entry.id)
                );
            } else {
                write_check(page, entry);
            }
        }
        page.push_str("</section>\n");
    }
}

fn write_check(page: &mut String, entry: &CheckEntry) {
    let outcome = entry.outcome();
    let _ = write!(
        page,
        "<article class=\"check {outcome}\" id=\"check-{id}\">\n<h3><span class=\"badge\">{label}</span> \
         {id}: {title}</h3>\n<dl>\n<dt>Level</dt><dd>{level}</dd>\n<dt>Rule</dt><dd>{rule}</dd>\n\
         <dt>Message</dt><dd><pre>{message}</pre></dd>\n<dt>Duration</dt><dd>{seconds:.2} s</dd>\n\
         <dt>Attempts</dt><dd>{attempts}</dd>\n",
        id = escape(&entry.id),
        label = outcome.to_ascii_uppercase(),
        title = escape(&entry.title),
        level = escape(&entry.level),
        rule = escape(&entry.rule),
        message = escape(&entry.message),
        seconds = entry.duration_ms as f64 / 1000.0,
        attempts = entry.attempts,
    );
    if !entry.depends_on.is_empty() {
        let links: Vec<String> = entry
            .depends_on
            .iter()
            .map(|id| format!("<a href=\"#check-{0}\">{0}</a>", escape(id)))
            .collect();
        let _ = writeln!(page, "<dt>Depends on</dt><dd>{}</dd>", links.join(", "));
    }
    if let Some(waiver) = &entry.waiver {
        let state = if entry.is_waived() {
            "Waiver"
        } else if waiver.expired {
            "Expired waiver (ignored)"
        } else {
            "Waiver (unused)"
        };
        let _ = writeln!(
            page,
            "<dt>{state}</dt><dd>{}</dd>",
            escape(&waiver.describe())
        );
    }
    page.push_str("<dt>Evidence</dt><dd>");
    if entry.evidence.is_empty() {
        page.push_str("none");
    } else {
        page.push_str("<ul>");
        for file in &entry.evidence {
            let _ = write!(
                page,
                "<li><a href=\"{}\">{}</a></li>",
                escape(&encode_path(file)),
                escape(file)
            );
        }
        page.push_str("</ul>");
    }
    let _ = write!(
        page,
        "</dd>\n<dt>Declared in</dt><dd>{}</dd>\n</dl>\n</article>\n",
        escape(&entry.source)
    );
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a bundle-relative path for a relative link, keeping `/` as the separator
/// so the link cannot leave the bundle through a scheme or a query.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn encode_path_keeps_separators_only() {
        assert_eq!(
            encode_path("evidence/aai.x/01 a?b#c:d.txt"),
            "evidence/aai.x/01%20a%3Fb%23c%3Ad.txt"
        );
    }
}
