//! Federation runs (`run --sites`, `--shard`), `merge`, and `init` against reference sites.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use fedcloud_conformance::profile::SiteProfile;
use fedcloud_conformance::reference_site::{self, Fault, ReferenceSite, SiteOptions};
use fedcloud_conformance::report::merge::FederationSummary;

mod common;

async fn binary(args: &[&str], paths: &[&Path]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .current_dir(common::repo())
        .args(args)
        .args(paths)
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes the site's profile into `dir` as `file`, with the site renamed to `name`.
fn write_profile(site: &ReferenceSite, dir: &Path, file: &str, name: &str) {
    let profile = std::fs::read_to_string(&site.profile_path).unwrap();
    let renamed = profile.replace(
        &format!("name = \"{}\"", reference_site::SITE_NAME),
        &format!("name = \"{name}\""),
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), renamed).unwrap();
}

fn read_summary(dir: &Path) -> FederationSummary {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn junit_suites(dir: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    junit
        .test_suites
        .iter()
        .map(|suite| suite.name.as_str().to_owned())
        .collect()
}

async fn start(faults: &[Fault]) -> ReferenceSite {
    reference_site::start(SiteOptions {
        faults: faults.to_vec(),
        ..SiteOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sites_run_writes_bundles_summary_and_junit() {
    let healthy = start(&[]).await;
    let broken = start(&[Fault::Keystone500]).await;
    let work = tempfile::tempdir().unwrap();
    let sites = work.path().join("sites");
    write_profile(&healthy, &sites, "alpha.toml", "SITE-ALPHA");
    write_profile(&broken, &sites, "beta.toml", "SITE-BETA");
    std::fs::write(sites.join("gamma.toml"), "[site]\nname = \"SITE-GAMMA\"\n").unwrap();
    let out = work.path().join("out");

    let output = binary(
        &[
            "run",
            "--mode",
            "ci",
            "--filter",
            "suite:aai",
            "--site-jobs",
            "2",
        ],
        &[Path::new("--sites"), &sites, Path::new("--out"), &out],
    )
    .await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("3 sites: 1 passed, 1 failed, 0 incomplete, 1 not run"),
        "{stdout}"
    );

    let summary = read_summary(&out);
    assert_eq!(summary.exit_code, 1);
    let verdicts: Vec<(&str, &str)> = summary
        .sites
        .iter()
        .map(|site| (site.site.as_str(), site.verdict.as_str()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("SITE-ALPHA", "PASSED"),
            ("SITE-BETA", "FAILED"),
            ("gamma", "NOT RUN")
        ]
    );
    let gamma_error = summary.sites[2].error.clone().unwrap();
    assert!(gamma_error.contains("missing field `vos`"), "{gamma_error}");
    assert_eq!(summary.sites[1].counts.required_failed, 1);

    for site in ["SITE-ALPHA", "SITE-BETA"] {
        let bundle = out.join(site);
        assert!(
            bundle.join("report.html").is_file(),
            "{site} has no report.html"
        );
        let problems = fedcloud_conformance::report::verify_bundle(&bundle, None);
        assert!(problems.is_empty(), "{site}: {problems:?}");
    }
    let suites = junit_suites(&out);
    assert_eq!(suites, ["SITE-ALPHA/aai", "SITE-BETA/aai"]);
    drop((healthy, broken));
}

/// The shards of a split together run every site once, whatever N is.
#[tokio::test(flavor = "multi_thread")]
async fn shards_cover_every_site_once() {
    let site = start(&[]).await;
    let work = tempfile::tempdir().unwrap();
    let sites = work.path().join("sites");
    let names: BTreeSet<String> = (0..6).map(|i| format!("SHARD-SITE-{i}")).collect();
    for name in &names {
        write_profile(&site, &sites, &format!("{name}.toml"), name);
    }
    let mut seen: Vec<String> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = work.path().join(shard.replace('/', "-of-"));
        let output = binary(
            &[
                "run",
                "--filter",
                "requirements.keystone-v3",
                "--shard",
                shard,
            ],
            &[Path::new("--sites"), &sites, Path::new("--out"), &out],
        )
        .await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        seen.extend(read_summary(&out).sites.into_iter().map(|site| site.site));
    }
    seen.sort();
    assert_eq!(seen, names.into_iter().collect::<Vec<_>>());

    let bad = binary(&["run", "--shard", "4/3"], &[Path::new("--sites"), &sites]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("invalid shard `4/3`"),
        "{}",
        text(&bad.stderr)
    );
    drop(site);
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_combines_and_rejects_bad_input() {
    let healthy = start(&[]).await;
    let broken = start(&[Fault::Keystone500]).await;
    let work = tempfile::tempdir().unwrap();
    let alpha = work.path().join("alpha");
    let beta = work.path().join("beta");
    for (site, bundle, name) in [
        (&healthy, &alpha, "SITE-ALPHA"),
        (&broken, &beta, "SITE-BETA"),
    ] {
        write_profile(site, work.path(), &format!("{name}.toml"), name);
        let profile = work.path().join(format!("{name}.toml"));
        let output = binary(
            &["run", "--filter", "suite:requirements"],
            &[Path::new("--site"), &profile, Path::new("--out"), bundle],
        )
        .await;
        assert!(output.status.code().is_some(), "{}", text(&output.stderr));
    }

    let merged = work.path().join("merged");
    let output = binary(&["merge"], &[&alpha, &beta, Path::new("--out"), &merged]).await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("2 sites: 1 passed, 1 failed"), "{stdout}");
    let suites = junit_suites(&merged);
    assert!(
        suites.contains(&"SITE-ALPHA/requirements".to_owned()),
        "{suites:?}"
    );
    assert!(suites.contains(&"SITE-BETA/aai".to_owned()), "{suites:?}");
    let summary = read_summary(&merged);
    assert_eq!(summary.totals.sites, 2);
    assert_eq!(summary.sites[0].bundle.as_deref(), Some(alpha.as_path()));

    let again = binary(&["merge"], &[&alpha, Path::new("--out"), &merged]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already holds a summary"),
        "{}",
        text(&again.stderr)
    );

    let twice = work.path().join("twice");
    let output = binary(&["merge"], &[&alpha, &alpha, Path::new("--out"), &twice]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("site SITE-ALPHA appears in both"),
        "{}",
        text(&output.stderr)
    );

    std::fs::write(beta.join("report.html"), "<p>edited</p>").unwrap();
    let tampered = work.path().join("tampered");
    let output = binary(&["merge"], &[&alpha, &beta, Path::new("--out"), &tampered]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("does not verify") && stderr.contains("report.html"),
        "{stderr}"
    );
    drop((healthy, broken));
}

fn init_args(site: &ReferenceSite, name: &str) -> Vec<String> {
    vec![
        "init".into(),
        "--gocdb-site".into(),
        name.into(),
        "--keystone".into(),
        format!("{}/v3", site.base_url),
        "--gocdb-url".into(),
        format!("{}/gocdbpi/public/", site.base_url),
        "--trust-anchors".into(),
        site.state_dir.join("ca").display().to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn init_drafts_loadable_profile_once() {
    let site = start(&[]).await;
    let work = tempfile::tempdir().unwrap();
    let draft: PathBuf = work.path().join("draft.toml");
    let args = init_args(&site, reference_site::SITE_NAME);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let output = binary(&args, &[Path::new("--out"), &draft]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let profile = SiteProfile::load(&draft).unwrap();
    assert_eq!(profile.site.name, reference_site::SITE_NAME);
    assert_eq!(profile.site.vos, ["ops"]);
    assert_eq!(profile.keystone.url, format!("{}/v3", site.base_url));
    let pi_url = profile.gocdb.as_ref().and_then(|g| g.pi_url.clone());
    assert_eq!(pi_url, Some(format!("{}/gocdbpi/public/", site.base_url)));
    assert_eq!(profile.tls.trust_anchors, Some(site.state_dir.join("ca")));
    let port: u16 = site.base_url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(profile.network.ports, [port]);
    let draft_text = std::fs::read_to_string(&draft).unwrap();
    assert!(
        draft_text.contains("certification status Certified"),
        "{draft_text}"
    );
    assert!(draft_text.contains(": v3.14 (stable)"), "{draft_text}");

    // The draft runs as it is.
    let run = binary(
        &[
            "run",
            "--filter",
            "requirements.keystone-v3",
            "--filter",
            "discovery.gocdb-keystone-url",
            "--filter",
            "network.keystone-*",
            "--filter",
            "network.tls-*",
        ],
        &[
            Path::new("--site"),
            &draft,
            Path::new("--out"),
            &work.path().join("run"),
        ],
    )
    .await;
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));

    let again = binary(&args, &[Path::new("--out"), &draft]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("refusing to overwrite"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&draft).unwrap(), draft_text);

    let unknown_args = init_args(&site, "NO-SUCH-SITE");
    let unknown_args: Vec<&str> = unknown_args.iter().map(String::as_str).collect();
    let other = work.path().join("other.toml");
    let unknown = binary(&unknown_args, &[Path::new("--out"), &other]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("has no site named NO-SUCH-SITE"),
        "{}",
        text(&unknown.stderr)
    );
    assert!(!other.exists());
    drop(site);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_warns_about_other_registered_url() {
    let site = start(&[Fault::GocdbWrongUrl]).await;
    let work = tempfile::tempdir().unwrap();
    let draft = work.path().join("draft.toml");
    let args = init_args(&site, reference_site::SITE_NAME);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = binary(&args, &[Path::new("--out"), &draft]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("warning: GOCDB registers https://keystone.old-name.example.org:5000/v3"),
        "{stderr}"
    );
    let draft_text = std::fs::read_to_string(&draft).unwrap();
    assert!(
        draft_text.contains("# WARNING: GOCDB registers https://keystone.old-name"),
        "{draft_text}"
    );
    drop(site);
}
