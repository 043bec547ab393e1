//! The binary as a user meets it: `demo`, `verify` on intact, tampered and signed bundles,
//! `list`, configuration errors and the secret canary.

use std::path::Path;
use std::process::{Command, Output};

mod common;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"));
    command.current_dir(common::repo());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn demo_passes_and_writes_readable_junit() {
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let output = run(binary().args(["demo", "--out"]).arg(&bundle));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("PASSED:"), "{stdout}");

    let xml = std::fs::read_to_string(bundle.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let suites: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
    for suite in [
        "aai",
        "accounting",
        "capacity",
        "discovery",
        "network",
        "requirements",
    ] {
        assert!(
            suites.contains(&suite),
            "suite {suite} missing from {suites:?}"
        );
    }
    let passed = junit
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Success { .. }))
        .count();
    assert!(passed >= 12, "only {passed} checks passed");
    let aai = junit
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "aai")
        .unwrap();
    let site = aai
        .properties
        .iter()
        .find(|p| p.name.as_str() == "site")
        .unwrap();
    assert_eq!(site.value.as_str(), "REFERENCE-CLOUD-SITE");
}

#[test]
fn verify_accepts_bundle_and_names_tampered_file() {
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let demo = run(binary()
        .args(["demo", "--filter", "suite:requirements", "--out"])
        .arg(&bundle));
    assert_eq!(demo.status.code(), Some(0), "{}", text(&demo.stderr));
    let ok = run(binary().arg("verify").arg(&bundle));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));

    // Change one byte of one evidence file in a copy of the bundle.
    let copy = out.path().join("copy");
    copy_dir(&bundle, &copy);
    let evidence = copy.join("evidence/requirements.keystone-v3/01-http-GET-localhost.txt");
    let mut bytes = std::fs::read(&evidence).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&evidence, bytes).unwrap();
    let tampered = run(binary().arg("verify").arg(&copy));
    let stdout = text(&tampered.stdout);
    assert_eq!(tampered.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "MISMATCH evidence/requirements.keystone-v3/01-http-GET-localhost.txt: SHA-256 is"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("FAILED: 1 problem(s)"), "{stdout}");
}

#[test]
fn signed_bundle_verifies_only_with_its_key() {
    let out = tempfile::tempdir().unwrap();
    let key = out.path().join("key.pem");
    let other = out.path().join("other.pem");
    for path in [&key, &other] {
        let status = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(path)
            .status()
            .expect("openssl runs");
        assert!(status.success());
    }
    let other_public = out.path().join("other.pub");
    let status = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&other)
        .arg("-out")
        .arg(&other_public)
        .status()
        .unwrap();
    assert!(status.success());

    let bundle = out.path().join("bundle");
    let demo = run(binary()
        .args(["demo", "--filter", "suite:network", "--sign"])
        .arg(&key)
        .arg("--out")
        .arg(&bundle));
    assert_eq!(demo.status.code(), Some(0), "{}", text(&demo.stderr));
    assert!(bundle.join("SHA256SUMS.sig").exists());
    let own = run(binary()
        .arg("verify")
        .arg(&bundle)
        .arg("--key")
        .arg(bundle.join("SHA256SUMS.pub")));
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stdout));
    let wrong = run(binary()
        .arg("verify")
        .arg(&bundle)
        .arg("--key")
        .arg(&other_public));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stdout).contains("SHA256SUMS.sig: does not match SHA256SUMS"));
}

#[test]
fn list_json_has_every_check() {
    let output = run(binary().args(["list", "--format", "json"]));
    assert_eq!(output.status.code(), Some(0));
    let checks: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks = checks.as_array().unwrap();
    let catalog = common::catalog();
    assert_eq!(checks.len(), catalog.checks.len());
    let first = &checks[0];
    for key in [
        "id",
        "suite",
        "title",
        "level",
        "tags",
        "rule",
        "kind",
        "depends_on",
        "source",
    ] {
        assert!(first.get(key).is_some(), "key {key} missing from {first}");
    }
}

#[test]
fn list_filter_by_suite() {
    let output = run(binary().args(["list", "--filter", "suite:accounting"]));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.lines().all(|line| line.starts_with("accounting.")));
}

#[test]
fn profile_error_names_file_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("site.toml");
    std::fs::write(
        &profile,
        "[site]\nname = \"X\"\nvos = [\"ops\"]\n\n[keystone]\nurl = \"https://k.example.org/v3\"\nprotocl = \"openid\"\n",
    )
    .unwrap();
    let output = run(binary().args(["run", "--site"]).arg(&profile));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let expected = format!("error: {}:7:1: unknown field `protocl`", profile.display());
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn unknown_filter_field_is_usage_error() {
    let output = run(binary().args(["list", "--filter", "suit:aai"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown filter field `suit`"));
}

/// Runs the suites with recognisable secrets and searches everything written for them.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_output() {
    const TOKEN: &str = "canary-token-51f0c2d9e8a7b6";
    const PASSWORD: &str = "canary-password-9e8d7c6b5a4f";
    let state = tempfile::tempdir().unwrap();
    let site = fedcloud_conformance::reference_site::start(
        fedcloud_conformance::reference_site::SiteOptions {
            state_dir: Some(state.path().join("site")),
            refresh_token: Some(TOKEN.to_owned()),
            client_secret: Some(PASSWORD.to_owned()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .current_dir(common::repo())
        .env("FEDCLOUD_LOG", "trace")
        .args(["run", "--mode", "ci", "--site"])
        .arg(&site.profile_path)
        .arg("--out")
        .arg(out.path())
        .output()
        .await
        .unwrap();
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    // The run used both secrets: the access token came from the refresh grant.
    assert!(stdout.contains("PASSED"), "{stdout}");
    for canary in [TOKEN, PASSWORD, "eyJ"] {
        assert!(!stdout.contains(canary), "stdout holds {canary}");
        assert!(!stderr.contains(canary), "stderr holds {canary}");
    }
    let mut files = 0;
    for path in walk(out.path()) {
        let content = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for canary in [TOKEN, PASSWORD, "eyJ"] {
            assert!(
                !content.contains(canary),
                "{} holds {canary}",
                path.display()
            );
        }
        files += 1;
    }
    assert!(files > 20, "only {files} files written");
    drop(site);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
