//! Capacity suite: the integration host's resources, and what the site gives each VO through
//! Nova, Neutron and Glance: quotas, a flavor for EGI's monitoring VM, GPU flavors and images.

mod flavors;
mod host;
mod images;
mod quotas;

use serde_json::Value;

use super::aai::{CATALOG, scoped_token_key};
use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::http::Request;
use crate::openstack;
use crate::profile::OPS_VO;
use crate::secret::Secret;

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
    CheckKind {
        name: "spool-free-disk",
        params: &[],
        run: |ctx| Box::pin(host::spool_free_disk(ctx)),
    },
    CheckKind {
        name: "host-load",
        params: &[],
        run: |ctx| Box::pin(host::host_load(ctx)),
    },
    CheckKind {
        name: "project-quotas",
        params: &[],
        run: |ctx| Box::pin(quotas::project_quotas(ctx)),
    },
    CheckKind {
        name: "gpu-flavors",
        params: &[],
        run: |ctx| Box::pin(flavors::gpu_flavors(ctx)),
    },
    CheckKind {
        name: "vo-images",
        params: &[],
        run: |ctx| Box::pin(images::vo_images(ctx)),
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

/// The scoped token of `vo` and the public URL of `service_type` from the catalog, without a
/// trailing slash.
fn service_url(ctx: &CheckCtx, vo: &str, service_type: &str) -> Result<(Secret, String), Problem> {
    let token = ctx
        .env
        .shared
        .secret(&scoped_token_key(vo))
        .ok_or_else(|| Problem(format!("no token scoped to the project of VO {vo}")))?;
    let catalog = ctx.env.shared.value(CATALOG).unwrap_or_default();
    let region = ctx.profile().keystone.region.as_deref();
    let url = openstack::public_url(&catalog, service_type, region).ok_or_else(|| {
        Problem(format!(
            "the catalog has no public {service_type} endpoint{}",
            openstack::region_note(&catalog, service_type, region)
        ))
    })?;
    Ok((token, url.trim_end_matches('/').to_owned()))
}

/// Sends an authenticated GET and parses the JSON answer; any other status is a problem.
async fn get_json(ctx: &CheckCtx, url: &str, token: &Secret) -> Result<Value, Problem> {
    let request = Request::get(url).secret_header("x-auth-token", token.clone());
    send_json(ctx, request).await
}

/// Like [`get_json`], asking Nova for compute microversion `microversion`.
async fn get_json_versioned(
    ctx: &CheckCtx,
    url: &str,
    token: &Secret,
    microversion: &str,
) -> Result<Value, Problem> {
    let request = Request::get(url)
        .secret_header("x-auth-token", token.clone())
        .header("openstack-api-version", &format!("compute {microversion}"))
        .header("x-openstack-nova-api-version", microversion);
    send_json(ctx, request).await
}

async fn send_json(ctx: &CheckCtx, request: Request) -> Result<Value, Problem> {
    let response = ctx.send(request).await?;
    if !response.status.is_success() {
        return Err(Problem(format!(
            "GET {} answered HTTP {}",
            response.url, response.status
        )));
    }
    response.json().map_err(Problem)
}

async fn monitoring_flavor(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let min_disk = ctx.param_i64("min_disk_gb", 8);
    let min_ram = ctx.param_i64("min_ram_mb", 512);
    let min_vcpus = ctx.param_i64("min_vcpus", 1);
    let catalog = ctx.env.shared.value(CATALOG).unwrap_or_default();
    let region = ctx.profile().keystone.region.as_deref();
    if openstack::public_url(&catalog, "compute", region).is_none() {
        return Ok(Outcome::fail(format!(
            "the catalog has no public compute endpoint{}, so no VM can be started",
            openstack::region_note(&catalog, "compute", region)
        )));
    }
    // The listing holds public flavors and the private ones shared with the ops project, which
    // is what EGI's probe chooses from.
    let flavors = flavors::flavors_of(&ctx, OPS_VO).await?;
    let size = |f: &Value, key: &str| f[key].as_i64().unwrap_or(0);
    // The probe filters with Nova's min_disk, which compares the root disk only.
    let mut fitting: Vec<&Value> = flavors
        .iter()
        .filter(|f| f["OS-FLV-DISABLED:disabled"] != true)
        .filter(|f| {
            size(f, "disk") >= min_disk
                && size(f, "ram") >= min_ram
                && size(f, "vcpus") >= min_vcpus
        })
        .collect();
    if fitting.is_empty() {
        let largest = flavors.iter().map(|f| size(f, "disk")).max().unwrap_or(0);
        return Ok(Outcome::fail(format!(
            "none of the {} flavors visible to ops has {min_disk} GB disk, {min_ram} MB RAM and {min_vcpus} vCPU (largest disk: {largest} GB); EGI's VM probe cannot start its test VM",
            flavors.len()
        )));
    }
    // EGI's probe takes the fewest vCPUs, then the least RAM.
    fitting.sort_by_key(|f| (size(f, "vcpus"), size(f, "ram")));
    let names: Vec<String> = fitting
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap_or_default();
            if f["os-flavor-access:is_public"] == false {
                format!("{name} (private to ops)")
            } else {
                name.to_owned()
            }
        })
        .collect();
    Ok(Outcome::pass(format!(
        "{} of {} flavors fit the monitoring VM ({min_disk} GB disk, {min_ram} MB RAM), and EGI's probe would pick {}: {}",
        fitting.len(),
        flavors.len(),
        names[0],
        names.join(", ")
    )))
}
