//! The integration host (where cASO and SSM run): free disk on the accounting spool's file
//! system and the load average, measured with sysinfo on the machine that runs the suite.

use std::path::{Path, PathBuf};

use super::super::{CheckCtx, Outcome, Problem};

pub async fn spool_free_disk(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let Some(accounting) = &ctx.profile().accounting else {
        return Ok(Outcome::skip(
            "the profile has no [accounting] spool, so there is no spool file system to measure",
        ));
    };
    let spool = accounting.spool.clone();
    let min_free_mib = ctx.profile().capacity.min_spool_free_mib;
    let measured = tokio::task::spawn_blocking(move || spool_file_system(&spool))
        .await
        .map_err(|err| Problem(format!("cannot read disk facts: {err}")))??;
    ctx.evidence.add_json(
        "spool-disk.json",
        &serde_json::json!({"spool": accounting.spool, "mount_point": measured.mount_point,
                             "available_mib": measured.available_mib, "min_spool_free_mib": min_free_mib}),
    );
    let place = format!(
        "the file system of the accounting spool {} (mounted at {})",
        accounting.spool.display(),
        measured.mount_point.display()
    );
    if measured.available_mib < min_free_mib {
        return Ok(Outcome::fail(format!(
            "{place} has {} MiB free, expected at least {min_free_mib} MiB; cASO stops writing records when it is full (set capacity.min_spool_free_mib if the spool is elsewhere)",
            measured.available_mib
        )));
    }
    Ok(Outcome::pass(format!(
        "{place} has {} MiB free (at least {min_free_mib} MiB expected)",
        measured.available_mib
    )))
}

struct SpoolDisk {
    mount_point: PathBuf,
    available_mib: u64,
}

/// The mounted file system holding `spool`: the disk whose mount point is the longest prefix of
/// the spool's canonical path.
fn spool_file_system(spool: &Path) -> Result<SpoolDisk, Problem> {
    let path = spool
        .canonicalize()
        .map_err(|err| Problem(format!("cannot resolve {}: {err}", spool.display())))?;
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|disk| path.starts_with(disk.mount_point()))
        .max_by_key(|disk| disk.mount_point().as_os_str().len())
        .map(|disk| SpoolDisk {
            mount_point: disk.mount_point().to_owned(),
            available_mib: disk.available_space() / (1024 * 1024),
        })
        .ok_or_else(|| {
            Problem(format!(
                "no mounted file system listed in /proc/mounts holds {}",
                path.display()
            ))
        })
}

pub async fn host_load(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let max_per_cpu = ctx.profile().capacity.max_load_per_cpu;
    let load = sysinfo::System::load_average();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_cpu = load.five / cpus as f64;
    ctx.evidence.add_json(
        "load.json",
        &serde_json::json!({"one": load.one, "five": load.five, "fifteen": load.fifteen,
                             "cpus": cpus, "max_load_per_cpu": max_per_cpu}),
    );
    let measured = format!(
        "the 5-minute load average is {:.2} on {cpus} CPU cores ({per_cpu:.2} per core)",
        load.five
    );
    if per_cpu > max_per_cpu {
        return Ok(Outcome::fail(format!(
            "{measured}, more than the {max_per_cpu:.2} per core allowed; cASO and cloud-info-provider runs may miss their schedule (set capacity.max_load_per_cpu to change the limit)"
        )));
    }
    Ok(Outcome::pass(format!(
        "{measured}, at most {max_per_cpu:.2} per core allowed"
    )))
}
