//! `report.html` in a real browser: Debian's headless Chromium loads the page of a failing demo
//! run from a `file://` URL with JavaScript disabled, and the test reads the rendered DOM and
//! takes a screenshot. CI installs Chromium in `.ci/run`. Without it this test fails
//! with a message on how to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/mod.rs"]
mod common;

const FAILING: &str = "aai.federated-unscoped-token";
const WINDOW_WIDTH: u32 = 1280;

/// Chromium on PATH, as Debian's `chromium` package installs it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed, so report.html cannot be tested in a browser \
                 (hint: install Debian's package with `apt-get install -y chromium`)"
            )
        })
}

/// Runs Chromium headless on `url` with `extra` arguments, stopping it after 90 s.
fn run_chromium(profile_dir: &Path, extra: &[String], url: &str) -> Output {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The page must be readable without JavaScript, so none runs.
            "--disable-javascript",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child
        .try_wait()
        .expect("chromium can be waited on")
        .is_none()
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("chromium output")
}

/// Returns the text of the element with `id`, tags removed and whitespace collapsed.
fn element_text(dom: &str, tag: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element with id {id} in the DOM"));
    let open = dom[..start].rfind(&format!("<{tag}")).unwrap();
    let close = start + dom[start..].find(&format!("</{tag}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom[open..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn failing_report_renders_in_chromium() {
    let chromium = chromium();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let demo = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .current_dir(common::repo())
        .args(["demo", "--mode", "ci", "--fault", "keystone500", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        demo.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let url = format!("file://{}", bundle.join("report.html").display());

    let dump = run_chromium(
        &work.path().join("profile-dom"),
        &["--dump-dom".to_owned()],
        &url,
    );
    assert!(
        dump.status.success(),
        "{} --dump-dom failed: {}",
        chromium.display(),
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert!(!dom.contains("<script"), "the page has a script");
    assert_eq!(
        element_text(&dom, "header", "verdict").split(' ').next(),
        Some("FAILED")
    );
    let card = element_text(&dom, "article", &format!("check-{FAILING}"));
    assert!(
        card.starts_with(&format!(
            "FAILED {FAILING}: Keystone exchanges a Check-in token"
        )),
        "{card}"
    );
    assert!(card.contains("Level required"), "{card}");
    assert!(
        card.contains("Rule POST with Authorization: Bearer"),
        "{card}"
    );
    assert!(
        card.contains("answered HTTP 500 Internal Server Error instead of 201"),
        "{card}"
    );
    assert!(card.contains("Duration 0."), "{card}");
    assert!(
        card.contains(&format!(
            "Evidence evidence/{FAILING}/01-http-POST-localhost.txt"
        )),
        "{card}"
    );
    let failed_section = element_text(&dom, "section", "failed-required");
    assert!(
        failed_section.starts_with("Failed required checks (1)"),
        "{failed_section}"
    );

    let screenshot = work.path().join("report.png");
    let shot = run_chromium(
        &work.path().join("profile-shot"),
        &[
            format!("--screenshot={}", screenshot.display()),
            format!("--window-size={WINDOW_WIDTH},1600"),
            "--hide-scrollbars".to_owned(),
        ],
        &url,
    );
    assert!(
        shot.status.success(),
        "--screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).expect("chromium wrote the screenshot");
    assert!(
        png.len() > 10_000,
        "the screenshot is only {} bytes",
        png.len()
    );
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // IHDR follows the signature: length, type, then width and height as big-endian u32.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, WINDOW_WIDTH);
}
