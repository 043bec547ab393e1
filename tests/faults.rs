//! Each reference-site fault fails exactly the check it targets, with a message a site admin
//! can act on; every check that does not depend on it still passes.

use std::collections::HashSet;

use fedcloud_conformance::checks::Status;
use fedcloud_conformance::reference_site::Fault;
use fedcloud_conformance::session::RunSummary;
use libtest_mimic::{Arguments, Failed, Trial};

mod common;

/// A fault, the check it must break, the outcome and a phrase of the message.
struct Case {
    fault: Fault,
    check: &'static str,
    status: Status,
    message: &'static str,
    /// Other checks the same fault rightly breaks.
    also: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        fault: Fault::Keystone500,
        check: "aai.federated-unscoped-token",
        status: Status::Failed,
        message: "HTTP 500",
        also: &[],
    },
    Case {
        fault: Fault::AcceptForgedToken,
        check: "aai.rejects-forged-token",
        status: Status::Failed,
        message: "a JWT signed by another key",
        also: &[],
    },
    Case {
        fault: Fault::WrongIssuer,
        check: "aai.issuer-discovery",
        status: Status::Failed,
        message: "/other-realm",
        also: &[],
    },
    Case {
        fault: Fault::NoOpsProject,
        check: "aai.ops-project",
        status: Status::Failed,
        message: "no project for ops",
        also: &["aai.vo-projects"],
    },
    Case {
        fault: Fault::GocdbWrongUrl,
        check: "discovery.gocdb-keystone-url",
        status: Status::Failed,
        message: "keystone.old-name.example.org",
        also: &[
            "discovery.catalog-identity-gocdb",
            "discovery.glue-endpoint",
        ],
    },
    Case {
        fault: Fault::HttpEndpoints,
        check: "requirements.public-endpoints-https",
        status: Status::Failed,
        message: "is not https",
        // Every check that calls a public catalog URL meets plain http on a TLS port.
        also: &[
            "capacity.monitoring-flavor",
            "capacity.project-quotas",
            "capacity.gpu-flavors",
            "capacity.vo-images",
            "requirements.openstack-release",
            "requirements.clock-skew",
            "discovery.catalog-services",
            "discovery.catalog-identity-gocdb",
        ],
    },
    Case {
        fault: Fault::SmallFlavors,
        check: "capacity.monitoring-flavor",
        status: Status::Failed,
        message: "largest disk: 4 GB",
        also: &[],
    },
    Case {
        fault: Fault::SmallQuota,
        check: "capacity.project-quotas",
        status: Status::Failed,
        message: "ops: instances quota 1, expected at least 2",
        also: &[],
    },
    Case {
        fault: Fault::OldRelease,
        check: "requirements.openstack-release",
        status: Status::Failed,
        message: "maximum microversion is 2.12, so the site runs Liberty",
        also: &[],
    },
    Case {
        fault: Fault::ClockSkew,
        check: "requirements.clock-skew",
        status: Status::Failed,
        message: "more than the 60 s allowed",
        also: &[],
    },
    Case {
        fault: Fault::GpuFlavorWithoutProperties,
        check: "capacity.gpu-flavors",
        status: Status::Failed,
        message: "flavor g1.t4.large (pci_passthrough:alias t4:1), seen by vo.access.egi.eu, ops, has no Accelerator:Type",
        also: &[],
    },
    Case {
        fault: Fault::NoImages,
        check: "capacity.vo-images",
        status: Status::Failed,
        message: "no active image is available to ops",
        also: &[],
    },
    Case {
        fault: Fault::InvalidJson,
        check: "requirements.keystone-v3",
        status: Status::Failed,
        message: "invalid JSON",
        also: &[],
    },
    Case {
        fault: Fault::OversizedBody,
        check: "requirements.keystone-v3",
        status: Status::Error,
        message: "exceeds 8388608 bytes",
        also: &[],
    },
    Case {
        fault: Fault::StaleAccounting,
        check: "accounting.records-fresh",
        status: Status::Failed,
        message: "days",
        also: &[],
    },
    Case {
        fault: Fault::GocdbUntrimmed,
        check: "discovery.gocdb-field-hygiene",
        status: Status::Failed,
        message: "GOCDB-FIELD-HYGIENE at SERVICE_ENDPOINT[11111G0]/HOSTDN",
        also: &[],
    },
    Case {
        fault: Fault::GlueNesting,
        check: "discovery.glue-shape",
        status: Status::Failed,
        message: "INFO-GLUE21-SHAPE at /Share/0",
        also: &[],
    },
    Case {
        fault: Fault::GlueExpired,
        check: "discovery.glue-freshness",
        status: Status::Failed,
        message: "INFO-GLUE21-FRESHNESS",
        also: &[],
    },
    Case {
        fault: Fault::SecondRegion,
        check: "discovery.catalog-region",
        status: Status::Failed,
        message: "name 2 regions (identity in RegionOne, compute in RegionOne, compute in RegionTwo",
        also: &[],
    },
    Case {
        fault: Fault::ForeignAccountingCertificate,
        check: "requirements.accounting-certificate",
        status: Status::Failed,
        message: "its subject `CN=ssm.other-site.example.org,O=Example,C=XX` is not the Host DN",
        also: &[],
    },
];

fn run_case(case: &Case) -> Result<(), Failed> {
    let runtime = tokio::runtime::Runtime::new()?;
    let out = tempfile::tempdir()?;
    let scenario = common::Scenario {
        faults: vec![case.fault],
        ..Default::default()
    };
    let summary = runtime.block_on(common::run_scenario(scenario, out.path()));
    let report = &summary.report;
    let target = common::entry(report, case.check);
    if target.status != case.status {
        return Err(format!(
            "{} is {:?} ({}), expected {:?}",
            case.check, target.status, target.message, case.status
        )
        .into());
    }
    if !target.message.contains(case.message) {
        return Err(format!(
            "{} message {:?} lacks {:?}",
            case.check, target.message, case.message
        )
        .into());
    }
    // Everything that neither is the target nor depends on it, directly or not, must pass.
    let mut affected = dependents(report, case.check);
    for other in case.also {
        affected.extend(dependents(report, other));
    }
    for check in &report.checks {
        if affected.contains(check.id.as_str()) || check.level == "advisory" {
            continue;
        }
        if check.status != Status::Passed {
            return Err(format!(
                "{} is {:?} ({}) although the fault targets {}",
                check.id, check.status, check.message, case.check
            )
            .into());
        }
    }
    Ok(())
}

/// `id` and every check that depends on it.
fn dependents<'a>(
    report: &'a fedcloud_conformance::report::ReportJson,
    id: &'a str,
) -> HashSet<&'a str> {
    let mut set: HashSet<&str> = HashSet::from([id]);
    loop {
        let before = set.len();
        for check in &report.checks {
            if check.depends_on.iter().any(|d| set.contains(d.as_str())) {
                set.insert(check.id.as_str());
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// Runs every suite on the reference site with the second-region fault and `region` as
/// `keystone.region`.
fn run_second_region(region: &'static str) -> Result<RunSummary, Failed> {
    let runtime = tokio::runtime::Runtime::new()?;
    let out = tempfile::tempdir()?;
    let scenario = common::Scenario {
        faults: vec![Fault::SecondRegion],
        keystone_region: Some(region),
        ..Default::default()
    };
    Ok(runtime.block_on(common::run_scenario(scenario, out.path())))
}

/// With `keystone.region` naming one of the two regions, the catalog passes and the checks
/// that call the catalog still pass.
fn second_region_named() -> Result<(), Failed> {
    let summary = run_second_region("RegionOne")?;
    let region = common::entry(&summary.report, "discovery.catalog-region");
    if region.status != Status::Passed
        || !region
            .message
            .contains("in region RegionOne, the one keystone.region names")
    {
        return Err(format!("{:?}: {}", region.status, region.message).into());
    }
    for check in &summary.report.checks {
        if check.level == "required" && check.status != Status::Passed {
            return Err(format!("{} is {:?}: {}", check.id, check.status, check.message).into());
        }
    }
    Ok(())
}

/// Checks that a `keystone.region` the catalog lacks is named by the region check and by the
/// checks that look a service up, instead of each reporting the service as missing.
fn unknown_region_named() -> Result<(), Failed> {
    let summary = run_second_region("RegionThree")?;
    let expected = [
        (
            "discovery.catalog-region",
            "keystone.region is RegionThree, but the catalog has no public compute, image, \
             network endpoint in it",
        ),
        (
            "requirements.openstack-release",
            "no public compute endpoint in region RegionThree, the one keystone.region names \
             (the catalog has one in RegionOne, RegionTwo)",
        ),
    ];
    for (id, phrase) in expected {
        let entry = common::entry(&summary.report, id);
        if entry.status != Status::Failed || !entry.message.contains(phrase) {
            return Err(format!("{id} is {:?}: {}", entry.status, entry.message).into());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = CASES
        .iter()
        .map(|case| {
            let name = format!("{:?}", case.fault).to_lowercase();
            Trial::test(name, move || run_case(case))
        })
        .collect();
    trials.push(Trial::test(
        "secondregion_named_in_profile",
        second_region_named,
    ));
    trials.push(Trial::test(
        "secondregion_unknown_region",
        unknown_region_named,
    ));
    libtest_mimic::run(&args, trials).exit();
}
