//! Ground-truth tests of the accounting validator, one test per fixture file:
//! - `fixtures/accounting/apel-2.5.0/`: messages with the verdict and error text that the APEL
//!   2.5.0 loader produced on them;
//! - `fixtures/accounting/caso-5.2.2/`: real cASO 5.2.2 outputs and spools, with the complete
//!   list of findings expected on each;
//! - `fixtures/accounting/cases/`: field reports turned into inputs, with the verdict a correct
//!   suite reports.

use std::fs;
use std::path::{Path, PathBuf};

use fedcloud_conformance::accounting::cli::{self, Format, ValidateAccountingArgs};
use fedcloud_conformance::accounting::{
    ApelVerdict, MessageReport, MessageType, Severity, SiteContext, ValidateOptions,
    validate_message, validate_paths,
};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/accounting")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

fn verdict_name(verdict: ApelVerdict) -> &'static str {
    match verdict {
        ApelVerdict::Accepted => "accepted",
        ApelVerdict::Rejected => "rejected",
    }
}

/// One test per APEL verdict row: same verdict, and APEL's exact text when it stored one.
fn apel_verdict_trials() -> Vec<Trial> {
    let dir = fixtures().join("apel-2.5.0");
    let rows = read_json(&dir.join("verdicts.json"));
    let rows = rows.as_array().expect("verdicts.json is a list").clone();
    rows.into_iter()
        .map(|row| {
            let file = row["file"].as_str().expect("file name").to_owned();
            let path = dir.join("inputs").join(&file);
            Trial::test(format!("apel_2_5_0::{file}"), move || {
                let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let report = validate_message(&file, &bytes, &ValidateOptions::at(1_709_337_600));
                let expected = row["expected"].as_str().expect("expected verdict");
                ensure(verdict_name(report.apel) == expected, || {
                    format!(
                        "verdict {:?}, APEL's is {expected}; reason {:?}",
                        report.apel, report.apel_reason
                    )
                })?;
                if let Some(text) = row.get("apel_error").and_then(Value::as_str) {
                    ensure(report.apel_reason.as_deref() == Some(text), || {
                        format!("reason {:?}, APEL stores {text:?}", report.apel_reason)
                    })?;
                }
                if expected == "rejected" {
                    ensure(report.explanation.is_some(), || {
                        "a rejection has no explanation".to_owned()
                    })?;
                }
                Ok(())
            })
        })
        .collect()
}

fn finding_tuples(report: &MessageReport) -> Vec<Value> {
    let mut tuples: Vec<Value> = report
        .findings
        .iter()
        .map(|f| serde_json::json!([f.severity, f.rule, f.record, f.field]))
        .collect();
    tuples.sort_by_key(ToString::to_string);
    tuples
}

/// Checks one report against its entry in the cASO expectations.
fn check_caso_report(report: &MessageReport, expected: &Value) -> Result<(), Failed> {
    let kind = serde_json::to_value(report.kind).expect("type serialises");
    ensure(kind == expected["type"], || {
        format!("type {kind}, expected {}", expected["type"])
    })?;
    ensure(
        Some(report.records as u64) == expected["records"].as_u64(),
        || {
            format!(
                "{} records, expected {}",
                report.records, expected["records"]
            )
        },
    )?;
    ensure(verdict_name(report.apel) == expected["apel"], || {
        format!(
            "APEL {:?} ({:?}), expected {}",
            report.apel, report.apel_reason, expected["apel"]
        )
    })?;
    if matches!(report.kind, MessageType::Cloud | MessageType::Storage) {
        ensure(report.apel == ApelVerdict::Accepted, || {
            "cASO's cloud and storage output must be accepted".to_owned()
        })?;
    }
    ensure(Some(report.passed) == expected["passed"].as_bool(), || {
        format!(
            "passed = {}, expected {}",
            report.passed, expected["passed"]
        )
    })?;
    let mut wanted: Vec<Value> = expected["findings"].as_array().cloned().unwrap_or_default();
    wanted.sort_by_key(ToString::to_string);
    let actual = finding_tuples(report);
    ensure(actual == wanted, || {
        format!(
            "findings {actual:?}\nexpected {wanted:?}\n{:#?}",
            report.findings
        )
    })
}

/// One test per cASO output file and one per spool in `caso-5.2.2/spool`.
fn caso_trials() -> Vec<Trial> {
    let dir = fixtures().join("caso-5.2.2");
    let expected = read_json(&dir.join("expected.json"));
    let now = expected["now"].as_i64().expect("now");
    let files = expected["files"].as_object().expect("files").clone();
    let mut trials = Vec::new();
    for (name, entry) in files.clone() {
        if name.starts_with("spool/") {
            continue;
        }
        let path = dir.join(&name);
        trials.push(Trial::test(format!("caso_5_2_2::{name}"), move || {
            let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            check_caso_report(
                &validate_message(&name, &bytes, &ValidateOptions::at(now)),
                &entry,
            )
        }));
    }
    for spool in ["cloud-v04-many", "mixed-push"] {
        let files = files.clone();
        let root = dir.clone();
        trials.push(Trial::test(
            format!("caso_5_2_2::spool::{spool}"),
            move || {
                let mut reports = Vec::new();
                let summary = validate_paths(
                    &[root.join("spool").join(spool)],
                    &ValidateOptions::at(now),
                    |r| reports.push(r),
                );
                ensure(reports.len() == 3 || reports.len() == 4, || {
                    format!("{} messages", reports.len())
                })?;
                ensure(summary.findings.is_empty(), || {
                    format!("spool findings {:?}", summary.findings)
                })?;
                ensure(summary.passed(), || "the spool fails".to_owned())?;
                let mut previous = String::new();
                for report in &reports {
                    ensure(report.path > previous, || {
                        "messages are not in dirq order".to_owned()
                    })?;
                    previous = report.path.clone();
                    let relative = report
                        .path
                        .strip_prefix(&format!("{}/", root.display()))
                        .unwrap_or(&report.path);
                    let entry = files
                        .get(relative)
                        .ok_or_else(|| format!("no expectation for {relative}"))?;
                    check_caso_report(report, entry)
                        .map_err(|e| format!("{relative}: {}", e.message().unwrap_or_default()))?;
                }
                Ok(())
            },
        ));
    }
    trials
}

/// Loads the context files a case directory holds, through the same loaders as the CLI flags.
fn case_context(dir: &Path) -> Result<SiteContext, Failed> {
    let mut context = SiteContext::default();
    let nova = dir.join("nova-servers.json");
    let projects = dir.join("keystone-projects.json");
    let voms = dir.join("voms.json");
    let caso = dir.join("caso.conf");
    let fail = |e: fedcloud_conformance::accounting::ContextError| Failed::from(e.to_string());
    if nova.exists() {
        context.load_nova_servers(&nova).map_err(fail)?;
    }
    if projects.exists() {
        context.load_keystone_projects(&projects).map_err(fail)?;
    }
    if voms.exists() {
        context.load_voms_mapping(&voms).map_err(fail)?;
    }
    if caso.exists() {
        context.load_caso_config(&caso).map_err(fail)?;
    }
    Ok(context)
}

fn has_finding(report: &MessageReport, severity: Severity, wanted: &Value) -> bool {
    report.findings.iter().any(|f| {
        f.severity == severity
            && wanted[0] == f.rule.as_str()
            && wanted[1].as_u64() == f.record.map(|r| r as u64)
            && wanted[2].as_str() == f.field.as_deref()
    })
}

/// One test per field case: the verdict written in its `expected.json`, for the named rules.
fn case_trials() -> Vec<Trial> {
    let dir = fixtures().join("cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("cases directory")
        .map(|entry| entry.expect("case entry").path())
        .collect();
    cases.sort();
    cases
        .into_iter()
        .map(|case| {
            let name = case
                .file_name()
                .expect("case name")
                .to_string_lossy()
                .into_owned();
            Trial::test(format!("field_case::{name}"), move || {
                let expected = read_json(&case.join("expected.json"));
                let message = fs::read_dir(&case)
                    .map_err(|e| e.to_string())?
                    .map(|entry| entry.expect("entry").path())
                    .find(|path| path.file_stem().is_some_and(|stem| stem == "message"))
                    .ok_or("no message file")?;
                let mut options = ValidateOptions::at(expected["now"].as_i64().expect("now"));
                options.context = case_context(&case)?;
                let mut reports = Vec::new();
                let summary = validate_paths(&[message], &options, |r| reports.push(r));
                let report = reports.first().ok_or("no report")?;
                let fails = !summary.passed();
                ensure(fails == (expected["verdict"] == "fail"), || {
                    format!("fails = {fails}; {:#?}", report.findings)
                })?;
                ensure(verdict_name(report.apel) == expected["apel"], || {
                    format!("APEL {:?}", report.apel)
                })?;
                if let Some(reason) = expected.get("apel_reason").and_then(Value::as_str) {
                    ensure(report.apel_reason.as_deref() == Some(reason), || {
                        format!("reason {:?}", report.apel_reason)
                    })?;
                }
                for wanted in expected["errors"].as_array().into_iter().flatten() {
                    ensure(has_finding(report, Severity::Error, wanted), || {
                        format!("no error {wanted}: {:#?}", report.findings)
                    })?;
                }
                for wanted in expected["warnings"].as_array().into_iter().flatten() {
                    ensure(has_finding(report, Severity::Warning, wanted), || {
                        format!("no warning {wanted}: {:#?}", report.findings)
                    })?;
                }
                for rule in expected["spool_errors"].as_array().into_iter().flatten() {
                    let found = summary
                        .findings
                        .iter()
                        .any(|f| f.severity == Severity::Error && *rule == f.rule.as_str());
                    ensure(found, || {
                        format!("no spool error {rule}: {:#?}", summary.findings)
                    })?;
                }
                Ok(())
            })
        })
        .collect()
}

/// Runs the CLI entry point on the cASO spool in both formats and on a missing path.
fn cli_trials() -> Vec<Trial> {
    let spool = fixtures().join("caso-5.2.2/spool");
    let args = |paths: Vec<PathBuf>, format: Format| ValidateAccountingArgs {
        paths,
        format,
        site_name: Some("EXAMPLE-FEDCLOUD-SITE".to_owned()),
        service: Some("https://keystone.cloud.example.org:5000/v3".to_owned()),
        now: Some(1_709_337_600),
        nova_servers: None,
        keystone_projects: None,
        voms_mapping: None,
        caso_config: None,
    };
    let json_spool = spool.clone();
    let text_spool = spool.clone();
    vec![
        Trial::test("cli::json_lines_for_spool", move || {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = cli::run_with_output(
                &args(vec![json_spool.clone()], Format::Json),
                &mut out,
                &mut err,
            );
            ensure(code == cli::EXIT_PASSED, || {
                format!("exit {code}: {}", String::from_utf8_lossy(&err))
            })?;
            let lines: Vec<Value> = String::from_utf8(out)
                .map_err(|e| e.to_string())?
                .lines()
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            ensure(lines.len() == 8, || format!("{} lines", lines.len()))?;
            for key in [
                "path",
                "type",
                "version",
                "records",
                "apel",
                "apel_reason",
                "findings",
            ] {
                ensure(lines[0].get(key).is_some(), || {
                    format!("no key {key} in {}", lines[0])
                })?;
            }
            ensure(lines[7]["summary"]["messages"] == 7, || {
                format!("summary {}", lines[7])
            })
        }),
        Trial::test("cli::text_summary_and_exit_codes", move || {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = cli::run_with_output(
                &args(vec![text_spool.clone()], Format::Text),
                &mut out,
                &mut err,
            );
            let text = String::from_utf8_lossy(&out);
            ensure(code == cli::EXIT_PASSED, || format!("exit {code}:\n{text}"))?;
            ensure(text.contains("Checked 7 messages (254 records"), || {
                text.to_string()
            })?;
            ensure(text.contains("Result: PASS"), || text.to_string())?;

            let mut late = args(vec![text_spool.clone()], Format::Text);
            late.now = Some(1_709_337_600 + 31 * 86_400);
            let code = cli::run_with_output(&late, &mut Vec::new(), &mut Vec::new());
            ensure(code == cli::EXIT_FAILED, || {
                format!("stale spool exit {code}")
            })?;

            let (mut out, mut err) = (Vec::new(), Vec::new());
            let missing = text_spool.join("missing");
            let code = cli::run_with_output(&args(vec![missing], Format::Text), &mut out, &mut err);
            let err = String::from_utf8_lossy(&err);
            ensure(code == cli::EXIT_USAGE, || {
                format!("missing path exit {code}")
            })?;
            ensure(
                err.contains("path not found") && err.contains("missing"),
                || err.to_string(),
            )
        }),
    ]
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = apel_verdict_trials();
    trials.extend(caso_trials());
    trials.extend(case_trials());
    trials.extend(cli_trials());
    libtest_mimic::run(&args, trials).exit();
}
