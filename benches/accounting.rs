//! Throughput and memory of the accounting validator on a generated cASO spool.
//!
//! Writes a dirq spool of at least 256 MiB of cASO 5.2.2-style cloud messages (100 records
//! each, keys sorted as cASO writes them) to a temporary directory, then times
//! `validate_paths` over it and reports MB/s, records/s and peak RSS (VmHWM), next to
//! `cat FILES | wc -l` over the same files as a practical ceiling. Run with
//! `cargo bench --bench accounting`; set `ACCOUNTING_BENCH_MIB` to change the spool size and
//! `ACCOUNTING_BENCH_DIR` to keep the spool in that directory and reuse it on the next run.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use fedcloud_conformance::accounting::{ValidateOptions, validate_paths};

const RECORDS_PER_MESSAGE: usize = 100;
const MESSAGES_PER_BUCKET: usize = 500;
/// Timed runs of each measure; the best one is reported, as the machine may be shared.
const RUNS: usize = 5;
const START: i64 = 1_709_251_200;
const STATUSES: [&str; 4] = ["started", "completed", "suspended", "stopped"];

/// Small deterministic generator, so every run measures the same spool.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn write_record(out: &mut String, rng: &mut Lcg, index: u64) {
    let cpus = 1 << (rng.next() % 4);
    let status = STATUSES[(rng.next() % 4) as usize];
    let start = START - (rng.next() % 2_000_000) as i64;
    let (end, wall) = if status == "completed" {
        let wall = (rng.next() % 86_400) as i64 + 1;
        (start + wall, wall)
    } else {
        (0, START + 86_400 - start)
    };
    let _ = write!(
        out,
        "Benchmark: 12.5\nBenchmarkType: HEPscore23\n\
         CloudComputeService: https://keystone.cloud.example.org:5000/v3\n\
         CloudType: caso/5.2.2 (OpenStack)\nCpuCount: {cpus}\nCpuDuration: {}\nDisk: {}\n\
         EndTime: {end}\nFQAN: vo{}.example.org\nGlobalUserName: {:020x}@egi.eu\n\
         ImageId: https://appdb.egi.eu/store/vo/image/6c8c8b38-0000-4000-8000-{:012x}:1234/\n\
         LocalGroupId: {:032x}\nLocalUserId: {:032x}\nMachineName: vm-{index:08}\n\
         Memory: {}\nPublicIPCount: {}\nSiteName: EXAMPLE-FEDCLOUD-SITE\nStartTime: {start}\n\
         Status: {status}\nVMUUID: 10000000-0000-4000-8000-{index:012x}\nWallDuration: {wall}\n",
        wall * cpus,
        20 * cpus,
        rng.next() % 20,
        rng.next(),
        rng.next() % 50,
        rng.next(),
        rng.next(),
        2048 * cpus,
        rng.next() % 3,
    );
}

/// Writes the spool one message at a time; returns (files in dirq order, bytes, records).
fn generate(dir: &Path, target_bytes: u64) -> (Vec<PathBuf>, u64, u64) {
    let mut rng = Lcg(42);
    let mut files = Vec::new();
    let (mut bytes, mut records) = (0_u64, 0_u64);
    let mut message = String::new();
    while bytes < target_bytes {
        let number = files.len();
        let bucket = dir.join(format!(
            "{:08x}",
            0x6b12_d4f8 + number / MESSAGES_PER_BUCKET
        ));
        if number % MESSAGES_PER_BUCKET == 0 {
            fs::create_dir_all(&bucket).expect("create bucket");
        }
        message.clear();
        message.push_str("APEL-cloud-message: v0.4\n");
        for index in 0..RECORDS_PER_MESSAGE {
            if index > 0 {
                message.push_str("%%\n");
            }
            write_record(&mut message, &mut rng, records);
            records += 1;
        }
        let path = bucket.join(format!("{:014x}", 0x006b_12d4_fc3f_5250 + number as u64));
        fs::File::create(&path)
            .and_then(|mut file| file.write_all(message.as_bytes()))
            .expect("write message");
        bytes += message.len() as u64;
        files.push(path);
    }
    (files, bytes, records)
}

/// Reads VmHWM (peak resident set) from /proc/self/status, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Returns CPU time (user + system) of this process so far, in seconds, from /proc/self/stat
/// (clock ticks, assumed 100 per second as on Linux x86-64).
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resets VmHWM to the current RSS, so the peak covers only what follows (Linux 4.0 and later).
fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

fn time_validator(dir: &Path) -> (f64, f64, u64, bool) {
    let options = ValidateOptions::at(START + 86_400);
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let mut all_passed = true;
    let summary = validate_paths(&[dir.to_owned()], &options, |report| {
        all_passed &= report.passed
    });
    (
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_start,
        summary.records as u64,
        all_passed && summary.passed(),
    )
}

fn time_cat_wc(files: &[PathBuf]) -> f64 {
    let list: String = files.iter().map(|p| format!("{}\0", p.display())).collect();
    let start = Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", "xargs -0 cat | wc -l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run sh");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(list.as_bytes())
        .expect("write file list");
    child.wait().expect("wait for cat | wc");
    start.elapsed().as_secs_f64()
}

/// Lists a spool written by [`generate`] in dirq order; returns (files, bytes, records).
fn list_spool(dir: &Path) -> (Vec<PathBuf>, u64, u64) {
    let sorted = |dir: &Path| {
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .expect("read spool")
            .map(|entry| entry.expect("spool entry").path())
            .collect();
        paths.sort();
        paths
    };
    let files: Vec<PathBuf> = sorted(dir).iter().flat_map(|b| sorted(b)).collect();
    let bytes = files
        .iter()
        .map(|file| fs::metadata(file).expect("spool file").len())
        .sum();
    let records = (files.len() * RECORDS_PER_MESSAGE) as u64;
    (files, bytes, records)
}

fn main() {
    let mib: u64 = std::env::var("ACCOUNTING_BENCH_MIB")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(256);
    let temporary = tempfile::tempdir().expect("temp dir");
    let chosen = std::env::var_os("ACCOUNTING_BENCH_DIR").map(PathBuf::from);
    let dir = chosen.as_deref().unwrap_or(temporary.path());
    let reuse = fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    let (files, bytes, records) = if reuse {
        list_spool(dir)
    } else {
        fs::create_dir_all(dir).expect("create spool directory");
        generate(dir, mib << 20)
    };
    let megabytes = bytes as f64 / 1e6;
    println!(
        "spool: {} messages, {records} records, {megabytes:.1} MB in {}{}",
        files.len(),
        dir.display(),
        if reuse { " (reused)" } else { "" }
    );

    reset_peak_rss();
    let rss_before = peak_rss_kib().unwrap_or(0);
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for run in 1..=RUNS {
        let (seconds, cpu, seen, passed) = time_validator(dir);
        assert_eq!(seen, records, "the validator saw every record");
        assert!(passed, "generated cASO messages pass");
        println!(
            "validator run {run}: {seconds:.3} s wall, {cpu:.2} s CPU, {:.0} MB/s",
            megabytes / seconds
        );
        best = best.min(seconds);
        best_cpu = best_cpu.min(cpu);
    }
    let peak = peak_rss_kib().unwrap_or(0);

    let mut ceiling = f64::MAX;
    for _ in 0..RUNS {
        ceiling = ceiling.min(time_cat_wc(&files));
    }
    println!(
        "validate_paths (best of {RUNS}): {:.0} MB/s, {:.0} records/s; peak RSS {:.1} MiB (VmHWM; {:.1} MiB before the runs)",
        megabytes / best,
        records as f64 / best,
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!(
        "per CPU second (best of {RUNS}): {:.0} MB/s, {:.0} records/s",
        megabytes / best_cpu,
        records as f64 / best_cpu
    );
    println!(
        "cat | wc -l (best of {RUNS}): {:.0} MB/s; validator at {:.0} % of it",
        megabytes / ceiling,
        100.0 * ceiling / best
    );
    // The targets of the validator: 500 MB/s on one core and 64 MiB of memory at most.
    let speed = megabytes / best_cpu;
    let peak_mib = peak as f64 / 1024.0;
    println!(
        "targets: at least 500 MB/s per CPU second: {}; at most 64 MiB peak RSS: {}",
        if speed >= 500.0 {
            "met"
        } else {
            "missed (rerun on a quiet machine before concluding)"
        },
        if peak_mib <= 64.0 { "met" } else { "missed" }
    );
}
