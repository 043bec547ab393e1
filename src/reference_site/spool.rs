//! The reference site's accounting spool: cASO 5.2.2-style APEL cloud messages in dirq layout.

use std::path::Path;

use super::SITE_NAME;

/// Writes one cloud message of three records into `<dir>/<8 hex>/<14 hex>`, as cASO's SSM
/// messenger does. Records end `age_days` days before now.
pub fn write(dir: &Path, keystone_base: &str, age_days: i64) -> std::io::Result<()> {
    let now = chrono::Utc::now().timestamp() - age_days * 86_400;
    let service = format!("{keystone_base}/v3");
    let records = [
        record(
            &service,
            "completed",
            (now - 7_200, now - 600),
            now,
            "vo.access.egi.eu",
            1,
        ),
        record(
            &service,
            "started",
            (now - 3_600, 0),
            now,
            "vo.access.egi.eu",
            2,
        ),
        record(
            &service,
            "completed",
            (now - 86_000, now - 300),
            now,
            "ops",
            3,
        ),
    ];
    let message = format!("APEL-cloud-message: v0.4\n{}\n", records.join("\n%%\n"));
    // dirq names: directory = high bits of the time in hex, file = time in microseconds.
    let micros = (chrono::Utc::now().timestamp_micros().max(0) as u64) & 0x00ff_ffff_ffff_ffff;
    let sub = dir.join(format!("{:08x}", micros >> 24));
    std::fs::create_dir_all(&sub)?;
    std::fs::write(sub.join(format!("{micros:014x}")), message)
}

/// One record with cASO's keys, sorted alphabetically as cASO writes them. A running VM
/// (`end` 0) has run until `measured`.
fn record(
    service: &str,
    status: &str,
    (start, end): (i64, i64),
    measured: i64,
    vo: &str,
    n: u32,
) -> String {
    let wall = if end > 0 {
        end - start
    } else {
        measured - start
    };
    let fields = [
        ("Benchmark", "0.0".to_owned()),
        ("BenchmarkType", "HEPSPEC06".to_owned()),
        ("CloudComputeService", service.to_owned()),
        ("CloudType", "caso/5.2.2 (OpenStack)".to_owned()),
        ("CpuCount", "2".to_owned()),
        ("CpuDuration", (wall * 2).to_string()),
        ("Disk", "20".to_owned()),
        ("EndTime", end.to_string()),
        ("FQAN", vo.to_owned()),
        ("GlobalUserName", format!("user{n}@egi.eu")),
        ("ImageId", "6c8c8b38-0000-4000-8000-000000000001".to_owned()),
        (
            "LocalGroupId",
            format!("{:032x}", 0xabcdef_u128 + u128::from(n)),
        ),
        (
            "LocalUserId",
            format!("{:032x}", 0x123456_u128 + u128::from(n)),
        ),
        ("MachineName", format!("reference-vm-{n}")),
        ("Memory", "4096".to_owned()),
        ("PublicIPCount", "1".to_owned()),
        ("SiteName", SITE_NAME.to_owned()),
        ("StartTime", start.to_string()),
        ("Status", status.to_owned()),
        ("SuspendDuration", "0".to_owned()),
        ("VMUUID", format!("00000000-0000-4000-8000-{n:012}")),
        ("WallDuration", wall.to_string()),
    ];
    fields
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}
