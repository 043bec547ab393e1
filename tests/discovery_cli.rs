//! `validate gocdb` and `validate glue` as a user runs them: exit codes, text and JSON output,
//! and usage errors that name the path and the fix.

use std::process::{Command, Output};

fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("validate")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn gocdb_fixture_passes() {
    let output = validate(&[
        "gocdb",
        "fixtures/gocdb/pi-get_service_endpoint.xml",
        "--keystone",
        "https://keystone.cloud.example.org:5000",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains(": PASS (0 errors, 0 warnings)"));
}

#[test]
fn gocdb_whitespace_warns_exit_zero() {
    let output = validate(&[
        "gocdb",
        "fixtures/discovery/gocdb/case14-gocdb-trailing-whitespace.xml",
        "--host-cert",
        "fixtures/discovery/gocdb/case14-host-cert.pem",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("warning GOCDB-FIELD-HYGIENE at SERVICE_ENDPOINT[12345G0]/HOSTDN"));
    assert!(text.contains(": WARN (0 errors, 2 warnings)"), "{text}");
}

#[test]
fn gocdb_other_keystone_fails() {
    let output = validate(&[
        "gocdb",
        "fixtures/gocdb/pi-get_service_endpoint.xml",
        "--keystone",
        "https://keystone.other.example.org/v3",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["counts"]["error"], 1);
    assert_eq!(report["findings"][0]["rule"], "GOCDB-KEYSTONE-URL");
    assert_eq!(
        report["findings"][0]["location"],
        "SERVICE_ENDPOINT[11111G0]/URL"
    );
}

#[test]
fn glue_cloud_info_output_passes() {
    let output = validate(&[
        "glue",
        "fixtures/cloud-info-provider-1.2.0/glue21.json",
        "--keystone",
        "https://keystone.cloud.example.org:5000/v3",
        "--vo",
        "vo.example.org",
        "--vo",
        "ops",
        "--now",
        "2026-12-04T16:00:00Z",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn glue_nesting_fails_with_shape_rule() {
    let output = validate(&[
        "glue",
        "fixtures/discovery/glue/case16-glue21-json-nesting.json",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "INFO-GLUE21-SHAPE",
            "INFO-GLUE21-SHAPE",
            "INFO-GLUE21-FRESHNESS"
        ]
    );
}

#[test]
fn missing_file_is_usage_error() {
    let output = validate(&["glue", "fixtures/discovery/glue/no-such-file.json"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("cannot read fixtures/discovery/glue/no-such-file.json"));
    assert!(message.contains("(hint: check the path"), "{message}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn directory_is_usage_error() {
    let output = validate(&["gocdb", "fixtures/gocdb"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("fixtures/gocdb is a directory"));
}

#[test]
fn invalid_keystone_is_usage_error() {
    let output = validate(&[
        "gocdb",
        "fixtures/gocdb/pi-get_site.xml",
        "--keystone",
        "keystone",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--keystone: invalid Keystone URL `keystone`"));
}

#[test]
fn invalid_now_is_usage_error() {
    let output = validate(&[
        "glue",
        "fixtures/cloud-info-provider-1.2.0/glue21.json",
        "--now",
        "yesterday",
    ]);
    assert_eq!(output.status.code(), Some(2));
}
