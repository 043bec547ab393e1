//! Capacity suite: the integration host's resources and a flavor that fits EGI's monitoring VM.

use super::aai::{CATALOG, scoped_token_key};
use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::http::Request;
use crate::openstack;
use crate::profile::OPS_VO;

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "host-resources",
        params: &[],
        run: |ctx| Box::pin(host_resources(ctx)),
    },
    CheckKind {
        name: "monitoring-flavor",
        params: &["min_disk_gb", "min_ram_mb", "min_vcpus"],
        run: |ctx| Box::pin(monitoring_flavor(ctx)),
    },
];

async fn host_resources(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let limits = ctx.profile().capacity.clone();
    let (cpus, memory_mib) = tokio::task::spawn_blocking(|| {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cpus, system.total_memory() / (1024 * 1024))
    })
    .await
    .map_err(|err| Problem(format!("cannot read host facts: {err}")))?;
    ctx.evidence.add_json(
        "host.json",
        &serde_json::json!({"cpus": cpus, "memory_mib": memory_mib,
                             "min_host_cpus": limits.min_host_cpus, "min_host_memory_mib": limits.min_host_memory_mib}),
    );
    let mut short = Vec::new();
    if cpus < limits.min_host_cpus {
        short.push(format!(
            "{cpus} CPU cores, expected at least {}",
            limits.min_host_cpus
        ));
    }
    if memory_mib < limits.min_host_memory_mib {
        short.push(format!(
            "{memory_mib} MiB memory, expected at least {}",
            limits.min_host_memory_mib
        ));
    }
    if !short.is_empty() {
        return Ok(Outcome::fail(format!(
            "this host has {} (set capacity.min_host_* in the profile if the integration host differs)",
            short.join(" and ")
        )));
    }
    Ok(Outcome::pass(format!(
        "{cpus} CPU cores and {memory_mib} MiB memory"
    )))
}

async fn monitoring_flavor(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let min_disk = ctx.param_i64("min_disk_gb", 8);
    let min_ram = ctx.param_i64("min_ram_mb", 512);
    let min_vcpus = ctx.param_i64("min_vcpus", 1);
    let token = ctx
        .env
        .shared
        .secret(&scoped_token_key(OPS_VO))
        .ok_or_else(|| Problem("no token scoped to the ops project".to_owned()))?;
    let catalog = ctx.env.shared.value(CATALOG).unwrap_or_default();
    let Some(compute) = openstack::public_url(&catalog, "compute") else {
        return Ok(Outcome::fail(
            "the catalog has no public compute endpoint, so no VM can be started",
        ));
    };
    let url = format!("{}/flavors/detail", compute.trim_end_matches('/'));
    let response = ctx
        .send(Request::get(&url).secret_header("x-auth-token", token))
        .await?;
    if !response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "GET {url} answered HTTP {}",
            response.status
        )));
    }
    let body = response.json().map_err(Problem)?;
    let flavors = body["flavors"].as_array().cloned().unwrap_or_default();
    let fitting: Vec<String> = flavors
        .iter()
        .filter(|f| {
            let disk = f["disk"].as_i64().unwrap_or(0)
                + f["OS-FLV-EXT-DATA:ephemeral"].as_i64().unwrap_or(0);
            disk >= min_disk
                && f["ram"].as_i64().unwrap_or(0) >= min_ram
                && f["vcpus"].as_i64().unwrap_or(0) >= min_vcpus
        })
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    if fitting.is_empty() {
        let largest = flavors
            .iter()
            .map(|f| f["disk"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0);
        return Ok(Outcome::fail(format!(
            "none of the {} flavors visible to ops has {min_disk} GB disk, {min_ram} MB RAM and {min_vcpus} vCPU (largest disk: {largest} GB); EGI's VM probe cannot start its test VM",
            flavors.len()
        )));
    }
    Ok(Outcome::pass(format!(
        "{} of {} flavors fit the monitoring VM ({min_disk} GB disk, {min_ram} MB RAM): {}",
        fitting.len(),
        flavors.len(),
        fitting.join(", ")
    )))
}
