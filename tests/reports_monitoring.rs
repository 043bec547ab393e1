//! Monitoring mode: `check CHECK_ID --site SITE.toml` against the reference site must print one
//! Nagios/ARGO status line and exit with the plugin code of the outcome.

use std::path::Path;
use std::process::Command;

use fedcloud_conformance::reference_site::{self, Fault, SiteOptions};
use libtest_mimic::{Arguments, Failed, Trial};

mod common;

/// A probe invocation against a reference site and the line it must print.
struct ProbeCase {
    name: &'static str,
    faults: &'static [Fault],
    /// Text appended to the site profile.
    profile_extra: &'static str,
    /// Arguments after `check`; `{site}` becomes the profile, `{dir}` a scratch directory.
    args: &'static [&'static str],
    /// A waiver file to write at `{dir}/waivers.toml`.
    waivers: Option<&'static str>,
    exit: i32,
    /// The start of the status line.
    prefix: &'static str,
    contains: &'static [&'static str],
}

const WAIVER: &str = "[[waiver]]\ncheck = \"aai.federated-unscoped-token\"\njustification = \"upgrade planned\"\napproved_by = \"EGI operations\"\nexpires = 2099-01-01T00:00:00Z\n";

const CASES: &[ProbeCase] = &[
    ProbeCase {
        name: "passed_is_ok",
        faults: &[],
        profile_extra: "",
        args: &["requirements.keystone-v3", "--site", "{site}"],
        waivers: None,
        exit: 0,
        prefix: "OK - requirements.keystone-v3: https://localhost:",
        contains: &["serves Identity API v3", " | time=", "s;;;0 checks=1;;;0"],
    },
    ProbeCase {
        name: "dependencies_run_first",
        faults: &[],
        profile_extra: "",
        args: &["aai.ops-project", "--site", "{site}"],
        waivers: None,
        exit: 0,
        prefix: "OK - aai.ops-project: ",
        contains: &["checks=4;;;0"],
    },
    ProbeCase {
        name: "required_failure_is_critical",
        faults: &[Fault::Keystone500],
        profile_extra: "",
        args: &["aai.federated-unscoped-token", "--site", "{site}"],
        waivers: None,
        exit: 2,
        prefix: "CRITICAL - aai.federated-unscoped-token: POST ",
        contains: &["HTTP 500 Internal Server Error", " | time="],
    },
    ProbeCase {
        name: "skipped_is_unknown_with_cause",
        faults: &[Fault::Keystone500],
        profile_extra: "",
        args: &["aai.ops-project", "--site", "{site}"],
        waivers: None,
        exit: 3,
        prefix: "UNKNOWN - aai.ops-project: dependency aai.federated-unscoped-token failed",
        contains: &["(aai.federated-unscoped-token failed: POST", "HTTP 500"],
    },
    ProbeCase {
        name: "advisory_failure_is_warning",
        faults: &[],
        profile_extra: "\n[capacity]\nmin_host_cpus = 100000\n",
        args: &["capacity.host-resources", "--site", "{site}"],
        waivers: None,
        exit: 1,
        prefix: "WARNING - capacity.host-resources: ",
        contains: &["100000"],
    },
    ProbeCase {
        name: "waived_failure_is_warning",
        faults: &[Fault::Keystone500],
        profile_extra: "",
        args: &[
            "aai.federated-unscoped-token",
            "--site",
            "{site}",
            "--waivers",
            "{dir}/waivers.toml",
        ],
        waivers: Some(WAIVER),
        exit: 1,
        prefix: "WARNING - aai.federated-unscoped-token: POST ",
        contains: &["(waived: approved by EGI operations until 2099-01-01T00:00:00Z"],
    },
    ProbeCase {
        name: "unknown_check_is_unknown",
        faults: &[],
        profile_extra: "",
        args: &["requirements.nope", "--site", "{site}"],
        waivers: None,
        exit: 3,
        prefix: "UNKNOWN - unknown check `requirements.nope`",
        contains: &[],
    },
    ProbeCase {
        name: "invalid_profile_is_unknown",
        faults: &[],
        profile_extra: "\n[bogus]\n",
        args: &["requirements.keystone-v3", "--site", "{site}"],
        waivers: None,
        exit: 3,
        prefix: "UNKNOWN - cannot run: ",
        contains: &["unknown field `bogus`"],
    },
];

fn run_case(case: &ProbeCase) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let site = runtime.block_on(reference_site::start(SiteOptions {
        faults: case.faults.to_vec(),
        ..SiteOptions::default()
    }))?;
    let profile = dir.path().join("site.toml");
    let text = std::fs::read_to_string(&site.profile_path)? + case.profile_extra;
    std::fs::write(&profile, text)?;
    if let Some(waivers) = case.waivers {
        std::fs::write(dir.path().join("waivers.toml"), waivers)?;
    }
    let args: Vec<String> = case
        .args
        .iter()
        .map(|arg| substitute(arg, &profile, dir.path()))
        .collect();
    // The site's server runs on `runtime`, so the binary runs on another thread meanwhile.
    let output = runtime.block_on(async {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
            .current_dir(common::repo())
            .arg("check")
            .args(&args)
            .output()
            .await
    })?;
    drop(site);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    if output.status.code() != Some(case.exit) {
        return Err(format!(
            "exit {:?}, expected {}\n{stdout}\n{stderr}",
            output.status.code(),
            case.exit
        )
        .into());
    }
    if lines.len() != 1 {
        return Err(format!("expected one line, got {}:\n{stdout}", lines.len()).into());
    }
    if !lines[0].starts_with(case.prefix) {
        return Err(format!("line does not start with {:?}:\n{}", case.prefix, lines[0]).into());
    }
    for expected in case.contains {
        if !lines[0].contains(expected) {
            return Err(format!("line lacks {expected:?}:\n{}", lines[0]).into());
        }
    }
    if lines[0].matches('|').count() > 1 {
        return Err(format!("more than one `|`:\n{}", lines[0]).into());
    }
    Ok(())
}

fn substitute(arg: &str, profile: &Path, dir: &Path) -> String {
    arg.replace("{site}", &profile.display().to_string())
        .replace("{dir}", &dir.display().to_string())
}

/// Usage errors of a plugin are UNKNOWN (3), not the harness's usage code 2.
fn missing_arguments_exit_unknown() -> Result<(), Failed> {
    let output = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .arg("check")
        .output()?;
    if output.status.code() != Some(3) {
        return Err(format!("exit {:?}", output.status.code()).into());
    }
    Ok(())
}

/// `--out` writes a bundle of the probe's run that `verify` accepts.
fn out_writes_verified_bundle() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let site = runtime.block_on(reference_site::start(SiteOptions::default()))?;
    let bundle = dir.path().join("bundle");
    let output = runtime.block_on(async {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
            .current_dir(common::repo())
            .args(["check", "requirements.keystone-v3", "--site"])
            .arg(&site.profile_path)
            .arg("--out")
            .arg(&bundle)
            .output()
            .await
    })?;
    drop(site);
    if output.status.code() != Some(0) {
        return Err(format!("exit {:?}", output.status.code()).into());
    }
    let problems = fedcloud_conformance::report::verify_bundle(&bundle, None);
    if !problems.is_empty() {
        return Err(format!("verify found {problems:?}").into());
    }
    let report = fedcloud_conformance::report::merge::read_report(&bundle)?;
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    if ids != ["requirements.keystone-v3"] {
        return Err(format!("the bundle has checks {ids:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        Trial::test(
            "probe::missing_arguments_unknown",
            missing_arguments_exit_unknown,
        ),
        Trial::test("probe::out_writes_bundle", out_writes_verified_bundle),
    ];
    for case in CASES {
        trials.push(Trial::test(format!("probe::{}", case.name), move || {
            run_case(case)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
