//! Wall time of a federation run (`run --sites`) as the number of sites grows.
//!
//! Starts 50 in-process reference sites, each adding a fixed latency to every response to model
//! a remote site, then runs every check against the first 1, 10, 25 and 50 of them in one
//! process, all sites at once, 4 checks at once per site. Prints one row per size with the
//! wall time and the time per site. Run with `cargo bench --bench federation`; pass a latency
//! in milliseconds as the first argument to change the default of 50.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fedcloud_conformance::federation::{self, FederationRequest};
use fedcloud_conformance::manifest::Catalog;
use fedcloud_conformance::reference_site::{self, ReferenceSite, SiteOptions};
use fedcloud_conformance::report::Mode;
use fedcloud_conformance::session::RunRequest;
use tokio_util::sync::CancellationToken;

const SITES: usize = 50;
const SIZES: [usize; 4] = [1, 10, 25, 50];
const CHECK_JOBS: usize = 4;

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is the latency.
    let latency_ms: u64 = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    runtime.block_on(bench(Duration::from_millis(latency_ms)));
}

async fn bench(latency: Duration) {
    let work = tempfile::tempdir().expect("temporary directory");
    let mut sites: Vec<ReferenceSite> = Vec::new();
    for _ in 0..SITES {
        let site = reference_site::start(SiteOptions {
            delay: Some(latency),
            ..SiteOptions::default()
        })
        .await
        .expect("reference site starts");
        sites.push(site);
    }
    let catalog = Catalog::load(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites")])
        .expect("bundled suites load");
    println!(
        "federation run, {} checks per site, {CHECK_JOBS} at once per site, {} ms added per answer",
        catalog.checks.len(),
        latency.as_millis()
    );
    println!(
        "{:>6} {:>12} {:>14} {:>8}",
        "sites", "wall time s", "per site ms", "passed"
    );
    for size in SIZES {
        let dir = work.path().join(format!("sites-{size}"));
        write_profiles(&dir, &sites[..size]);
        let request = FederationRequest {
            template: template(catalog.clone()),
            sites_dir: dir,
            shard: None,
            site_jobs: size,
            out: Some(work.path().join(format!("out-{size}"))),
            progress: false,
        };
        let start = Instant::now();
        let (_, summary) = federation::run_sites(request)
            .await
            .expect("federation run completes");
        let wall = start.elapsed();
        let passed: usize = summary.sites.iter().map(|site| site.counts.passed).sum();
        println!(
            "{size:>6} {:>12.2} {:>14.0} {passed:>8}",
            wall.as_secs_f64(),
            wall.as_secs_f64() * 1000.0 / size as f64
        );
    }
}

/// Copies each site's profile into `dir` under a distinct site name, as a federation directory
/// contains one profile per site.
fn write_profiles(dir: &Path, sites: &[ReferenceSite]) {
    std::fs::create_dir_all(dir).expect("profile directory");
    for (index, site) in sites.iter().enumerate() {
        let text = std::fs::read_to_string(&site.profile_path).expect("profile readable");
        let renamed = text.replace(
            &format!("name = \"{}\"", reference_site::SITE_NAME),
            &format!("name = \"BENCH-SITE-{index:02}\""),
        );
        std::fs::write(dir.join(format!("site-{index:02}.toml")), renamed)
            .expect("profile written");
    }
}

fn template(catalog: Catalog) -> RunRequest {
    RunRequest {
        catalog,
        profile_path: PathBuf::new(),
        out: None,
        filters: Vec::new(),
        skips: Vec::new(),
        jobs: CHECK_JOBS,
        check_timeout: Duration::from_secs(60),
        deadline: None,
        mode: Mode::Ci,
        strict: false,
        sign: None,
        secret_overrides: Vec::new(),
        plain: true,
        print_summary: false,
        cancel: CancellationToken::new(),
    }
}
