//! The report formats a person reads: `report.html`, `diff` between two bundles, and waivers
//! as every output shows them. Runs against the reference site, one run per scenario.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};
use fedcloud_conformance::checks::Status;
use fedcloud_conformance::reference_site::{self, Fault, SiteOptions};
use fedcloud_conformance::report::{self, Mode, ReportJson};
use fedcloud_conformance::session::{self, RunExtras, RunRequest, RunSummary, SetupError};
use libtest_mimic::{Arguments, Failed, Trial};
use sha2::Digest as _;
use tokio_util::sync::CancellationToken;

mod common;

/// The check that the `keystone500` fault fails.
const FAILING: &str = "aai.federated-unscoped-token";

/// Bundles shared by the trials: a run of the healthy site, one with `keystone500`, and one
/// of the healthy site with only the requirements suite.
struct Bundles {
    _dir: tempfile::TempDir,
    healthy: PathBuf,
    broken: PathBuf,
    requirements_only: PathBuf,
}

fn bundles() -> &'static Bundles {
    static BUNDLES: OnceLock<Bundles> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let healthy = dir.path().join("healthy");
        let broken = dir.path().join("broken");
        let requirements_only = dir.path().join("requirements-only");
        runtime().block_on(async {
            run_at_site(&[], request_for(&healthy, &[]), quiet())
                .await
                .unwrap();
            run_at_site(&[Fault::Keystone500], request_for(&broken, &[]), quiet())
                .await
                .unwrap();
            run_at_site(
                &[],
                request_for(&requirements_only, &["suite:requirements"]),
                quiet(),
            )
            .await
            .unwrap();
        });
        Bundles {
            _dir: dir,
            healthy,
            broken,
            requirements_only,
        }
    })
}

/// Extras without per-check lines, which libtest-mimic would not capture.
fn quiet() -> RunExtras {
    RunExtras {
        quiet: true,
        ..RunExtras::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request_for(out: &Path, filters: &[&str]) -> RunRequest {
    RunRequest {
        catalog: common::catalog(),
        profile_path: PathBuf::new(),
        out: Some(out.to_owned()),
        filters: filters.iter().map(|f| f.parse().unwrap()).collect(),
        skips: Vec::new(),
        jobs: 4,
        check_timeout: Duration::from_secs(20),
        deadline: None,
        mode: Mode::SelfTest,
        strict: false,
        sign: None,
        secret_overrides: Vec::new(),
        plain: true,
        print_summary: false,
        cancel: CancellationToken::new(),
    }
}

/// Starts the reference site with `faults` and runs `request` against its profile.
async fn run_at_site(
    faults: &[Fault],
    mut request: RunRequest,
    extras: RunExtras,
) -> Result<RunSummary, SetupError> {
    let site = reference_site::start(SiteOptions {
        faults: faults.to_vec(),
        ..SiteOptions::default()
    })
    .await
    .unwrap();
    request.profile_path = site.profile_path.clone();
    let result = session::run_with(request, extras).await;
    drop(site);
    result
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

// ---- report.html ----

fn html_is_in_bundle_and_verified() -> Result<(), Failed> {
    let bundle = &bundles().broken;
    let sums = read(&bundle.join("SHA256SUMS"));
    check(sums.contains("  report.html\n"), || {
        format!("SHA256SUMS does not list report.html:\n{sums}")
    })?;
    let problems = report::verify_bundle(bundle, None);
    check(problems.is_empty(), || format!("verify found {problems:?}"))?;

    // Change the page and verify must name it.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(bundle, copy.path());
    let page = copy.path().join("report.html");
    std::fs::write(&page, read(&page).replace("FAILED", "PASSED")).unwrap();
    let problems = report::verify_bundle(copy.path(), None);
    check(problems.iter().any(|p| p.file == "report.html"), || {
        format!("verify missed the edited report.html: {problems:?}")
    })
}

fn html_puts_failed_required_first() -> Result<(), Failed> {
    let bundle = &bundles().broken;
    let html = read(&bundle.join("report.html"));
    let report: ReportJson = serde_json::from_str(&read(&bundle.join("report.json"))).unwrap();
    let entry = common::entry(&report, FAILING);

    let verdict = html.find("<h1>FAILED</h1>");
    let suites = html.find("<section id=\"suites\">");
    let failed = html.find("<section id=\"failed-required\">");
    let card = html.find(&format!(
        "<article class=\"check failed\" id=\"check-{FAILING}\">"
    ));
    let first_suite = html.find("<section id=\"suite-");
    check(verdict.is_some(), || "no FAILED verdict heading".into())?;
    check(verdict < suites && suites < failed, || {
        format!("order verdict {verdict:?}, suites {suites:?}, failed {failed:?}")
    })?;
    check(card.is_some(), || format!("no card for {FAILING}"))?;
    check(failed < card && card < first_suite, || {
        format!("the failing card {card:?} is not between {failed:?} and {first_suite:?}")
    })?;
    check(html.contains("Failed required checks (1)"), || {
        "the failed section does not count 1 check".into()
    })?;

    let card_text = &html[card.unwrap()..first_suite.unwrap()];
    let rule = fedcloud_conformance::report::html::escape(&entry.rule);
    check(card_text.contains(&rule), || {
        format!("rule missing: {card_text}")
    })?;
    check(card_text.contains("HTTP 500 Internal Server Error"), || {
        format!("message missing: {card_text}")
    })?;
    let seconds = format!("{:.2} s", entry.duration_ms as f64 / 1000.0);
    check(card_text.contains(&seconds), || {
        format!("duration {seconds} missing: {card_text}")
    })?;
    check(!entry.evidence.is_empty(), || "no evidence recorded".into())?;
    for file in &entry.evidence {
        check(card_text.contains(&format!("href=\"{file}\"")), || {
            format!("no link to {file}")
        })?;
        check(bundle.join(file).is_file(), || format!("{file} is missing"))?;
    }
    Ok(())
}

fn html_fetches_nothing() -> Result<(), Failed> {
    let html = read(&bundles().broken.join("report.html"));
    check(!html.contains("<script"), || "the page has a script".into())?;
    check(!html.contains(" src="), || {
        "the page loads a resource".into()
    })?;
    check(html.contains("default-src 'none'"), || "no CSP".into())?;
    for (index, _) in html.match_indices("href=\"") {
        let target = &html[index + 6..];
        check(
            target.starts_with('#') || target.starts_with("evidence/"),
            || {
                format!(
                    "link leaves the bundle: {}",
                    &target[..target.len().min(60)]
                )
            },
        )?;
    }
    Ok(())
}

fn html_escapes_run_values() -> Result<(), Failed> {
    let bundle = &bundles().broken;
    let mut report: ReportJson = serde_json::from_str(&read(&bundle.join("report.json"))).unwrap();
    let hostile = "<script>alert(\"x\")</script> & 'q'";
    report.checks[0].message = hostile.to_owned();
    report.checks[0].title = "<b>title</b>".to_owned();
    let html = report::html::render(&report);
    check(!html.contains("<script>"), || {
        "raw <script> in the page".into()
    })?;
    check(!html.contains("<b>title</b>"), || {
        "raw <b> in the page".into()
    })?;
    check(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"),
        || "the escaped message is missing".into(),
    )
}

// ---- diff ----

/// A `diff` invocation and what it must print.
struct DiffCase {
    name: &'static str,
    old: fn(&Bundles) -> PathBuf,
    new: fn(&Bundles) -> PathBuf,
    args: &'static [&'static str],
    exit: i32,
    stdout: &'static [&'static str],
    absent: &'static [&'static str],
    stderr: &'static str,
}

const DIFF_CASES: &[DiffCase] = &[
    DiffCase {
        name: "newly_failing_exits_1",
        old: |b| b.healthy.clone(),
        new: |b| b.broken.clone(),
        args: &[],
        exit: 1,
        stdout: &[
            "outcome changed (",
            "\n  WORSE  aai.federated-unscoped-token (required): passed -> failed: POST",
            "WORSE  aai.ops-project (required): passed -> skipped",
            "required check(s) got worse: aai.federated-unscoped-token",
        ],
        absent: &["BETTER"],
        stderr: "",
    },
    DiffCase {
        name: "recovery_exits_0",
        old: |b| b.broken.clone(),
        new: |b| b.healthy.clone(),
        args: &[],
        exit: 0,
        stdout: &[
            "BETTER aai.federated-unscoped-token (required): failed -> passed",
            "no required check got worse",
        ],
        absent: &["WORSE"],
        stderr: "",
    },
    DiffCase {
        name: "same_bundle_has_no_changes",
        old: |b| b.healthy.clone(),
        new: |b| b.healthy.clone(),
        args: &["--duration-threshold", "0ms"],
        exit: 0,
        stdout: &[
            "duration changed by 0 ms or more (",
            "no required check got worse",
        ],
        absent: &[
            "outcome changed",
            "message changed",
            "new checks",
            "removed checks",
        ],
        stderr: "",
    },
    DiffCase {
        name: "smaller_run_lists_removed",
        old: |b| b.healthy.clone(),
        new: |b| b.requirements_only.clone(),
        args: &["--duration-threshold", "10m"],
        exit: 0,
        stdout: &[
            "removed checks (",
            "  - network.keystone-dns (required): passed",
            "message changed (",
        ],
        absent: &["new checks", "duration changed", "WORSE"],
        stderr: "",
    },
    DiffCase {
        name: "larger_run_lists_new_and_worse",
        old: |b| b.requirements_only.clone(),
        new: |b| b.broken.clone(),
        args: &[],
        exit: 1,
        stdout: &[
            "new checks (",
            "  + network.keystone-dns (required): passed",
            "WORSE  aai.federated-unscoped-token (required): passed -> failed",
        ],
        absent: &["removed checks"],
        stderr: "",
    },
    DiffCase {
        name: "edited_bundle_warns",
        old: |b| b.healthy.clone(),
        new: |b| {
            let copy = b.healthy.with_file_name("healthy-edited");
            if !copy.exists() {
                copy_dir(&b.healthy, &copy);
                std::fs::write(copy.join("report.html"), "<p>edited</p>").unwrap();
            }
            copy
        },
        args: &[],
        exit: 0,
        stdout: &["no required check got worse"],
        absent: &["outcome changed"],
        stderr: "healthy-edited does not verify (1 problem(s), first: report.html: SHA-256 is",
    },
    DiffCase {
        name: "threshold_without_unit_is_usage",
        old: |b| b.healthy.clone(),
        new: |b| b.broken.clone(),
        args: &["--duration-threshold", "5"],
        exit: 2,
        stdout: &[],
        absent: &["outcome"],
        stderr: "`5` has no unit",
    },
    DiffCase {
        name: "missing_bundle_is_usage",
        old: |b| b.healthy.join("nope"),
        new: |b| b.broken.clone(),
        args: &[],
        exit: 2,
        stdout: &[],
        absent: &["outcome"],
        stderr: "report.json",
    },
];

fn run_diff_case(case: &DiffCase) -> Result<(), Failed> {
    let bundles = bundles();
    let output = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .arg("diff")
        .arg((case.old)(bundles))
        .arg((case.new)(bundles))
        .args(case.args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    check(output.status.code() == Some(case.exit), || {
        format!(
            "exit {:?}, expected {}\n{stdout}\n{stderr}",
            output.status.code(),
            case.exit
        )
    })?;
    for expected in case.stdout {
        check(stdout.contains(expected), || {
            format!("stdout lacks {expected:?}:\n{stdout}")
        })?;
    }
    for unexpected in case.absent {
        check(!stdout.contains(unexpected), || {
            format!("stdout has {unexpected:?}:\n{stdout}")
        })?;
    }
    check(stderr.contains(case.stderr), || {
        format!("stderr lacks {:?}:\n{stderr}", case.stderr)
    })
}

fn diff_json_orders_newly_failing_first() -> Result<(), Failed> {
    let bundles = bundles();
    let output = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .arg("diff")
        .arg(&bundles.healthy)
        .arg(&bundles.broken)
        .args(["--format", "json"])
        .output()
        .unwrap();
    check(output.status.code() == Some(1), || {
        format!("exit {:?}", output.status.code())
    })?;
    let diff: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let first = &diff["changed_outcome"][0];
    check(first["id"] == FAILING, || {
        format!("first change is {first}")
    })?;
    check(first["old"] == "passed" && first["new"] == "failed", || {
        format!("first change is {first}")
    })?;
    check(first["worse"] == true, || {
        format!("first change is {first}")
    })?;
    let worse = diff["required_worse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check(worse.iter().any(|id| id == FAILING), || {
        format!("required_worse is {worse:?}")
    })?;
    check(diff["duration_threshold_ms"] == 1000, || {
        format!("threshold is {}", diff["duration_threshold_ms"])
    })
}

// ---- waivers ----

fn waiver_file(dir: &Path, check_id: &str, expires: &str) -> PathBuf {
    let path = dir.join("waivers.toml");
    std::fs::write(
        &path,
        format!(
            "[[waiver]]\ncheck = \"{check_id}\"\njustification = \"Keystone upgrade scheduled for the next maintenance window\"\napproved_by = \"EGI operations <ops@example.org>\"\nexpires = {expires}\n"
        ),
    )
    .unwrap();
    path
}

fn waived_failure_in_every_output() -> Result<(), Failed> {
    let dir = tempfile::tempdir().unwrap();
    let waivers = waiver_file(dir.path(), FAILING, "2099-01-01T00:00:00Z");
    let bundle = dir.path().join("bundle");
    let summary = runtime().block_on(run_at_site(
        &[Fault::Keystone500],
        request_for(&bundle, &[]),
        RunExtras {
            waivers: Some(waivers),
            quiet: true,
            ..RunExtras::default()
        },
    ))?;

    // Without the waiver this run is FAILED; the dependants it skipped keep it incomplete.
    check(summary.verdict == "INCOMPLETE", || {
        format!("verdict {}", summary.verdict)
    })?;
    check(summary.exit_code == 3, || {
        format!("exit {}", summary.exit_code)
    })?;
    let counts = summary.report.summary.counts;
    check(counts.waived == 1, || format!("counts {counts:?}"))?;
    check(counts.required_failed == 0, || format!("counts {counts:?}"))?;
    let entry = common::entry(&summary.report, FAILING);
    check(entry.status == Status::Failed, || format!("{entry:?}"))?;
    check(entry.outcome() == "waived", || format!("{entry:?}"))?;
    let applied = &summary.report.waivers.as_ref().unwrap().applied;
    check(applied == &vec![FAILING.to_owned()], || {
        format!("applied {applied:?}")
    })?;

    let json = read(&bundle.join("report.json"));
    check(
        json.contains("\"approved_by\": \"EGI operations <ops@example.org>\""),
        || "report.json lacks the waiver".into(),
    )?;
    let junit = quick_junit::Report::deserialize_from_str(&read(&bundle.join("junit.xml")))?;
    let case = junit
        .test_suites
        .iter()
        .flat_map(|suite| suite.test_cases.iter())
        .find(|case| case.name.as_str() == FAILING)
        .unwrap();
    let skipped_as_waived = matches!(
        &case.status,
        quick_junit::TestCaseStatus::Skipped { ty: Some(ty), .. } if ty.as_str() == "waived"
    );
    check(skipped_as_waived, || {
        format!("JUnit status {:?}", case.status)
    })?;
    let approved = case
        .properties
        .iter()
        .find(|p| p.name.as_str() == "waiver_approved_by")
        .map(|p| p.value.as_str().to_owned());
    check(
        approved.as_deref() == Some("EGI operations <ops@example.org>"),
        || format!("waiver_approved_by {approved:?}"),
    )?;
    let html = read(&bundle.join("report.html"));
    check(html.contains("<span class=\"badge\">WAIVED</span>"), || {
        "report.html lacks the WAIVED badge".into()
    })?;
    check(
        html.contains("Keystone upgrade scheduled for the next maintenance window"),
        || "report.html lacks the justification".into(),
    )?;
    check(html.contains("Failed required checks (0)"), || {
        "the waived failure is listed as failed".into()
    })?;
    check(bundle.join("waivers/waivers.toml").is_file(), || {
        "the bundle lacks the waiver file".into()
    })?;
    let problems = report::verify_bundle(&bundle, None);
    check(problems.is_empty(), || format!("verify found {problems:?}"))
}

fn expired_waiver_is_ignored_and_reported() -> Result<(), Failed> {
    let dir = tempfile::tempdir().unwrap();
    let waivers = waiver_file(dir.path(), FAILING, "2020-01-01T00:00:00Z");
    let bundle = dir.path().join("bundle");
    let summary = runtime().block_on(run_at_site(
        &[Fault::Keystone500],
        request_for(&bundle, &[]),
        RunExtras {
            waivers: Some(waivers),
            quiet: true,
            ..RunExtras::default()
        },
    ))?;
    check(summary.verdict == "FAILED", || {
        format!("verdict {}", summary.verdict)
    })?;
    check(summary.exit_code == 1, || {
        format!("exit {}", summary.exit_code)
    })?;
    let entry = common::entry(&summary.report, FAILING);
    check(entry.outcome() == "failed", || format!("{entry:?}"))?;
    check(entry.waiver.as_ref().is_some_and(|w| w.expired), || {
        format!("{entry:?}")
    })?;
    let expired = &summary.report.waivers.as_ref().unwrap().expired;
    check(expired.len() == 1 && expired[0].check == FAILING, || {
        format!("expired {expired:?}")
    })?;
    let html = read(&bundle.join("report.html"));
    check(
        html.contains("Expired waiver ignored for aai.federated-unscoped-token"),
        || "report.html does not report the expired waiver".into(),
    )
}

fn certify_requires_signed_waivers() -> Result<(), Failed> {
    let dir = tempfile::tempdir().unwrap();
    let waivers = waiver_file(dir.path(), FAILING, "2099-01-01T00:00:00Z");
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let key_file = dir.path().join("operator.pem");
    let der = key.to_pkcs8_der()?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
    // PEM wraps base64 at 64 characters a line.
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    std::fs::write(&key_file, pem).unwrap();
    let certify = |out: &str, sign: bool| {
        let mut request = request_for(&dir.path().join(out), &[]);
        request.mode = Mode::Certify;
        request.sign = sign.then(|| key_file.clone());
        runtime().block_on(run_at_site(
            &[Fault::Keystone500],
            request,
            RunExtras {
                waivers: Some(waivers.clone()),
                ..quiet()
            },
        ))
    };

    let unsigned_without_key = certify("a", false).unwrap_err().to_string();
    check(
        unsigned_without_key.contains("accepts only waivers signed by the certifying operator"),
        || unsigned_without_key.clone(),
    )?;
    let unsigned_with_key = certify("b", true).unwrap_err().to_string();
    check(
        unsigned_with_key.contains("waivers.toml.sig is missing"),
        || unsigned_with_key.clone(),
    )?;

    let other = SigningKey::from_bytes(&[9u8; 32]);
    let signature_file = dir.path().join("waivers.toml.sig");
    let sign_with = |key: &SigningKey| {
        let signature = key.sign(&std::fs::read(&waivers).unwrap());
        let encoded = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
        std::fs::write(&signature_file, encoded).unwrap();
    };
    sign_with(&other);
    let wrong_signer = certify("c", true).unwrap_err().to_string();
    check(wrong_signer.contains("does not match"), || {
        wrong_signer.clone()
    })?;

    sign_with(&key);
    let summary = certify("d", true)?;
    let signed_by = summary.report.waivers.as_ref().unwrap().signed_by.clone();
    let expected = hex::encode(sha2::Sha256::digest(key.verifying_key().as_bytes()));
    check(signed_by.as_deref() == Some(expected.as_str()), || {
        format!("signed_by {signed_by:?}")
    })?;
    check(summary.report.summary.counts.waived == 1, || {
        format!("{:?}", summary.report.summary.counts)
    })?;
    let bundle = dir.path().join("d");
    check(bundle.join("waivers/waivers.toml.sig").is_file(), || {
        "the bundle lacks the signature".into()
    })?;
    let problems = report::verify_bundle(&bundle, Some(&dir.path().join("d/SHA256SUMS.pub")));
    check(problems.is_empty(), || format!("verify found {problems:?}"))?;

    // A later expiry in the copy, with SHA256SUMS rewritten and left unsigned.
    let edited = dir.path().join("edited");
    copy_dir(&bundle, &edited);
    let copy = edited.join("waivers/waivers.toml");
    std::fs::write(&copy, read(&copy).replace("2099-01-01", "2199-01-01")).unwrap();
    for derived in ["SHA256SUMS.sig", "SHA256SUMS.pub"] {
        std::fs::remove_file(edited.join(derived)).unwrap();
    }
    report::write_sums(&edited)?;
    let problems = report::verify_bundle(&edited, None);
    check(
        problems.iter().any(|p| {
            p.file == "waivers/waivers.toml" && p.problem.contains("but report.json records")
        }),
        || format!("verify missed the edited waiver copy: {problems:?}"),
    )?;

    // The waiver signature swapped for another key's, the bundle re-signed by the operator.
    let swapped = dir.path().join("swapped");
    copy_dir(&bundle, &swapped);
    let signature = other.sign(&std::fs::read(swapped.join("waivers/waivers.toml")).unwrap());
    std::fs::write(
        swapped.join("waivers/waivers.toml.sig"),
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
    )
    .unwrap();
    report::write_sums(&swapped)?;
    report::sign_bundle(&swapped, &key_file)?;
    let problems = report::verify_bundle(&swapped, None);
    check(
        problems.iter().any(|p| {
            p.file == "waivers/waivers.toml.sig"
                && p.problem.contains(&format!(
                    "does not match waivers/waivers.toml for key {expected}"
                ))
        }),
        || format!("verify missed the swapped waiver signature: {problems:?}"),
    )
}

fn terminal_shows_waived() -> Result<(), Failed> {
    let dir = tempfile::tempdir().unwrap();
    let waivers = waiver_file(dir.path(), FAILING, "2099-01-01T00:00:00Z");
    let output = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .current_dir(common::repo())
        .args([
            "demo",
            "--mode",
            "ci",
            "--fault",
            "keystone500",
            "--waivers",
        ])
        .arg(&waivers)
        .arg("--out")
        .arg(dir.path().join("bundle"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    check(output.status.code() == Some(3), || {
        format!("exit {:?}\n{stdout}\n{stderr}", output.status.code())
    })?;
    check(
        stderr.contains(" WAIVED aai.federated-unscoped-token"),
        || format!("progress line lacks WAIVED:\n{stderr}"),
    )?;
    check(
        stdout.contains("WAIVED aai.federated-unscoped-token (required): POST"),
        || format!("summary lacks WAIVED:\n{stdout}"),
    )?;
    check(
        stdout.contains(
            "  waiver: approved by EGI operations <ops@example.org> until 2099-01-01T00:00:00Z",
        ),
        || format!("summary lacks the waiver:\n{stdout}"),
    )?;
    check(stdout.contains(", 1 waived"), || {
        format!("no waived count:\n{stdout}")
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        Trial::test(
            "html::in_bundle_and_verified",
            html_is_in_bundle_and_verified,
        ),
        Trial::test(
            "html::failed_required_first",
            html_puts_failed_required_first,
        ),
        Trial::test("html::fetches_nothing", html_fetches_nothing),
        Trial::test("html::escapes_run_values", html_escapes_run_values),
        Trial::test(
            "diff::json_newly_failing_first",
            diff_json_orders_newly_failing_first,
        ),
        Trial::test(
            "waivers::waived_in_every_output",
            waived_failure_in_every_output,
        ),
        Trial::test(
            "waivers::expired_is_reported",
            expired_waiver_is_ignored_and_reported,
        ),
        Trial::test(
            "waivers::certify_requires_signature",
            certify_requires_signed_waivers,
        ),
        Trial::test("waivers::terminal_shows_waived", terminal_shows_waived),
    ];
    for case in DIFF_CASES {
        trials.push(Trial::test(format!("diff::{}", case.name), move || {
            run_diff_case(case)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
