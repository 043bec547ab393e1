//! The AAI and discovery suites against the real stack in `testbed/aai/`: Keystone 30 under
//! Apache with mod_auth_openidc, panva's oidc-provider and a GOCDB PI stand-in. The healthy
//! stack passes; each testbed fault fails exactly the check it targets. Tests run one at a
//! time, because a fault restarts the shared testbed.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use fedcloud_conformance::checks::Status;
use fedcloud_conformance::report::{Mode, ReportJson};
use fedcloud_conformance::session::{self, RunRequest};
use libtest_mimic::{Arguments, Failed, Trial};
use tokio_util::sync::CancellationToken;

mod common;

/// Suites run against the testbed. Nova, Glance and Neutron are the reference site there,
/// accepting the tokens this Keystone validates.
const FILTERS: &[&str] = &[
    "suite:aai",
    "suite:discovery",
    "suite:requirements",
    "suite:capacity",
];

/// Checks of the host the tests run on rather than of the site; a busy CI machine would fail
/// the load check for reasons that have nothing to do with the testbed.
const SKIPS: &[&str] = &["capacity.host-*", "capacity.spool-disk"];

/// A testbed fault, the check it must fail and a phrase of the message.
struct Case {
    fault: &'static str,
    check: &'static str,
    message: &'static str,
    /// Other checks the same fault rightly breaks.
    also: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        fault: "accept-any-entitlement",
        check: "aai.rejects-no-entitlement",
        message: "a valid token without the VO entitlement",
        also: &[],
    },
    Case {
        fault: "no-ops",
        check: "aai.ops-project",
        message: "no project for ops",
        also: &["aai.vo-projects"],
    },
    Case {
        fault: "old-issuer-only",
        check: "aai.federated-unscoped-token",
        message: "https://localhost:15443/auth/realms/egi",
        also: &[],
    },
    Case {
        fault: "gocdb-wrong-url",
        check: "discovery.gocdb-keystone-url",
        message: "https://localhost:15001/v3",
        also: &[
            "discovery.catalog-identity-gocdb",
            "discovery.glue-endpoint",
        ],
    },
    Case {
        fault: "short-refresh-token",
        check: "aai.refresh-token-lifetime",
        message: "under the 15 days EGI's monitoring requires",
        also: &[],
    },
    Case {
        fault: "no-openid-protocol",
        check: "aai.federated-unscoped-token",
        message: "federation protocol `openid` is not configured",
        also: &[],
    },
];

fn testbed() -> PathBuf {
    common::repo().join("testbed/aai")
}

fn state_dir() -> PathBuf {
    std::env::var_os("TESTBED_AAI_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| testbed().join(".state"))
}

/// Restarts the testbed with `faults` (none for the healthy stack).
fn restart(faults: &[&str]) -> Result<(), Failed> {
    let mut command = Command::new(testbed().join("up"));
    for fault in faults {
        command.args(["--fault", fault]);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "testbed/aai/up {faults:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

fn run_suites() -> Result<ReportJson, Failed> {
    let profile = state_dir().join("site.toml");
    if !profile.exists() {
        return Err(format!(
            "{} is missing: install and start the AAI testbed with `sudo testbed/aai/install && sudo testbed/aai/up` (scripts/test does both)",
            profile.display()
        )
        .into());
    }
    let out = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let request = RunRequest {
        catalog: common::catalog(),
        profile_path: profile,
        out: Some(out.path().join("bundle")),
        filters: FILTERS.iter().map(|f| f.parse().unwrap()).collect(),
        skips: SKIPS.iter().map(|f| f.parse().unwrap()).collect(),
        jobs: 4,
        check_timeout: Duration::from_secs(60),
        deadline: None,
        mode: Mode::SelfTest,
        strict: false,
        sign: None,
        secret_overrides: Vec::new(),
        plain: true,
        print_summary: false,
        cancel: CancellationToken::new(),
    };
    let summary = runtime.block_on(session::run(request))?;
    Ok(summary.report)
}

/// Every required check in `report` passed, except those in `exempt`.
fn all_pass_except(report: &ReportJson, exempt: &[&str]) -> Result<(), Failed> {
    for check in &report.checks {
        if exempt.contains(&check.id.as_str()) || check.level == "advisory" {
            continue;
        }
        if check.status != Status::Passed {
            return Err(format!("{} is {:?}: {}", check.id, check.status, check.message).into());
        }
    }
    Ok(())
}

fn healthy() -> Result<(), Failed> {
    let report = run_suites()?;
    all_pass_except(&report, &[])?;
    let negative = common::entry(&report, "aai.rejects-forged-token");
    if !negative.message.contains("HTTP 401") {
        return Err(format!("forged token: {}", negative.message).into());
    }
    Ok(())
}

fn fault(case: &Case) -> Result<(), Failed> {
    restart(&[case.fault])?;
    let result = (|| {
        let report = run_suites()?;
        let target = common::entry(&report, case.check);
        if target.status != Status::Failed {
            return Err::<(), Failed>(
                format!("{} is {:?}: {}", case.check, target.status, target.message).into(),
            );
        }
        if !target.message.contains(case.message) {
            return Err(format!(
                "{} message {:?} lacks {:?}",
                case.check, target.message, case.message
            )
            .into());
        }
        let mut exempt = dependents(&report, case.check);
        for other in case.also {
            exempt.extend(dependents(&report, other));
        }
        let exempt: Vec<&str> = exempt.iter().map(String::as_str).collect();
        all_pass_except(&report, &exempt)
    })();
    // Leave the healthy stack behind whatever happened.
    restart(&[])?;
    result
}

/// `id` and every check that depends on it, directly or not.
fn dependents(report: &ReportJson, id: &str) -> Vec<String> {
    let mut set = vec![id.to_owned()];
    loop {
        let before = set.len();
        for check in &report.checks {
            if !set.contains(&check.id) && check.depends_on.iter().any(|d| set.contains(d)) {
                set.push(check.id.clone());
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

fn main() {
    let mut args = Arguments::from_args();
    // Faults restart the one shared testbed, so the tests must not overlap.
    args.test_threads = Some(1);
    let mut trials = vec![Trial::test("healthy", healthy)];
    for case in CASES {
        trials.push(Trial::test(format!("fault::{}", case.fault), move || {
            fault(case)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
