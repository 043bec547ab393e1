//! Federation runs (`run --sites DIR`): every site profile in a directory, run concurrently in
//! one process, one bundle per site, plus a merged JUnit file and a summary.
//!
//! `--shard K/N` keeps the sites whose name hashes to K: FNV-1a (64-bit) of the site name's
//! UTF-8 bytes, modulo N, equals K - 1. The hash depends on neither the platform, the tool
//! version nor the other sites in the directory. So a CI matrix of N jobs covers every site
//! exactly once, and a site stays in its shard as sites are added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures::StreamExt as _;

use crate::profile::SiteProfile;
use crate::report::ReportJson;
use crate::report::merge::{self, FederationSummary, SiteResult};
use crate::session::{self, RunExtras, RunRequest, SetupError};

/// Default number of sites run at once.
pub const DEFAULT_SITE_JOBS: usize = 8;

/// A `--shard K/N` selection, K counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid =
            || format!("invalid shard `{text}` (hint: write K/N with 1 <= K <= N, e.g. 2/4)");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: u64 = index.trim().parse().map_err(|_| invalid())?;
        let count: u64 = count.trim().parse().map_err(|_| invalid())?;
        if count == 0 || index == 0 || index > count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Returns whether the site named `site` belongs to this shard.
    pub fn contains(&self, site: &str) -> bool {
        fnv1a_64(site.as_bytes()) % self.count == self.index - 1
    }
}

/// FNV-1a, 64-bit variant (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A federation run.
pub struct FederationRequest {
    /// Settings every site's run shares; `profile_path` and `out` are set per site.
    pub template: RunRequest,
    pub sites_dir: PathBuf,
    pub shard: Option<Shard>,
    /// Sites run at once; each site runs `template.jobs` checks at once.
    pub site_jobs: usize,
    /// Output directory of the per-site bundles and the summary [default:
    /// reports/federation/<UTC time>].
    pub out: Option<PathBuf>,
    /// Print one line per finished site on stderr.
    pub progress: bool,
}

/// One profile found in the directory.
struct SiteEntry {
    profile: PathBuf,
    /// The site name, or the file stem when the profile does not load.
    name: String,
    load_error: Option<String>,
    /// `DIR/waivers/<file stem>.toml`, when present.
    waivers: Option<PathBuf>,
}

/// Runs every selected site and writes the bundles, `junit.xml`, `summary.json` and
/// `summary.txt`. A site whose profile is invalid is reported as not run; the others still run.
pub async fn run_sites(
    request: FederationRequest,
) -> Result<(PathBuf, FederationSummary), SetupError> {
    let entries = discover(&request.sites_dir)?;
    let total = entries.len();
    let selected: Vec<SiteEntry> = entries
        .into_iter()
        .filter(|entry| {
            request
                .shard
                .is_none_or(|shard| shard.contains(&entry.name))
        })
        .collect();
    reject_duplicate_names(&selected)?;
    let out = request.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports/federation")
            .join(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
    });
    if merge::has_outputs(&out) {
        return Err(SetupError::Output {
            path: out,
            reason: "it already holds a summary (hint: choose an empty directory with --out)"
                .to_owned(),
        });
    }
    tracing::info!(sites = selected.len(), of = total, out = %out.display(), "federation run starting");

    let template = &request.template;
    let out_ref = &out;
    let results: Vec<(SiteResult, Option<ReportJson>)> =
        futures::stream::iter(selected.into_iter().map(|entry| async move {
            let result = run_site(template, entry, out_ref).await;
            if request.progress {
                eprintln!(
                    "site {}: {}{}",
                    result.0.site,
                    result.0.verdict,
                    result
                        .0
                        .error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            result
        }))
        .buffer_unordered(request.site_jobs.max(1))
        .collect()
        .await;

    let mut results = results;
    results.sort_by(|a, b| a.0.site.cmp(&b.0.site));
    let reports: Vec<&ReportJson> = results.iter().filter_map(|(_, r)| r.as_ref()).collect();
    let summary = FederationSummary::new(results.iter().map(|(row, _)| row.clone()).collect());
    merge::write_outputs(&out, &summary, &reports).map_err(|reason| SetupError::Output {
        path: out.clone(),
        reason,
    })?;
    Ok((out, summary))
}

async fn run_site(
    template: &RunRequest,
    entry: SiteEntry,
    out: &Path,
) -> (SiteResult, Option<ReportJson>) {
    if let Some(error) = entry.load_error {
        return (SiteResult::not_run(entry.name, &entry.profile, error), None);
    }
    let bundle = out.join(safe_name(&entry.name));
    let request = RunRequest {
        catalog: template.catalog.clone(),
        profile_path: entry.profile.clone(),
        out: Some(bundle.clone()),
        filters: template.filters.clone(),
        skips: template.skips.clone(),
        jobs: template.jobs,
        check_timeout: template.check_timeout,
        deadline: template.deadline,
        mode: template.mode,
        strict: template.strict,
        sign: template.sign.clone(),
        secret_overrides: template.secret_overrides.clone(),
        plain: true,
        print_summary: false,
        cancel: template.cancel.clone(),
    };
    let extras = RunExtras {
        waivers: entry.waivers.clone(),
        quiet: true,
        no_bundle: false,
    };
    match session::run_with(request, extras).await {
        Ok(summary) => {
            let mut row = SiteResult::from_report(&bundle, &summary.report);
            row.profile = Some(entry.profile);
            (row, Some(summary.report))
        }
        Err(err) => (
            SiteResult::not_run(entry.name, &entry.profile, err.to_string()),
            None,
        ),
    }
}

/// Lists every `*.toml` directly in `dir`, sorted, with its site name.
fn discover(dir: &Path) -> Result<Vec<SiteEntry>, SetupError> {
    let read_error = |err: std::io::Error| {
        SetupError::Usage(format!(
            "cannot read the sites directory {}: {err}",
            dir.display()
        ))
    };
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    profiles.sort();
    if profiles.is_empty() {
        return Err(SetupError::Usage(format!(
            "no site profile (*.toml) found in {}",
            dir.display()
        )));
    }
    Ok(profiles
        .into_iter()
        .map(|profile| {
            let stem = profile
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let waivers = dir.join("waivers").join(format!("{stem}.toml"));
            let waivers = waivers.is_file().then_some(waivers);
            match SiteProfile::load(&profile) {
                Ok(loaded) => SiteEntry {
                    profile,
                    name: loaded.site.name,
                    load_error: None,
                    waivers,
                },
                Err(err) => SiteEntry {
                    profile,
                    name: stem,
                    load_error: Some(err.to_string()),
                    waivers,
                },
            }
        })
        .collect())
}

fn reject_duplicate_names(entries: &[SiteEntry]) -> Result<(), SetupError> {
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for entry in entries {
        if let Some(first) = seen.insert(&entry.name, &entry.profile) {
            return Err(SetupError::Usage(format!(
                "site {} is named by both {} and {}; keep one profile per site",
                entry.name,
                first.display(),
                entry.profile.display()
            )));
        }
    }
    Ok(())
}

/// Turns a site name into a directory name: letters, digits, `-` and `_` kept, the rest `_`.
fn safe_name(site: &str) -> String {
    site.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_rejects() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn fnv1a_matches_published_vectors() {
        // Test vectors of the FNV reference: the empty string and "a".
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn shards_partition_sites() {
        let sites: Vec<String> = (0..200).map(|i| format!("SITE-{i:03}")).collect();
        let shards: Vec<Shard> = (1..=4).map(|k| Shard { index: k, count: 4 }).collect();
        for site in &sites {
            let owners = shards.iter().filter(|shard| shard.contains(site)).count();
            assert_eq!(owners, 1, "{site} is in {owners} shards");
        }
        let first = sites.iter().filter(|site| shards[0].contains(site)).count();
        assert!(
            (25..=75).contains(&first),
            "shard 1/4 holds {first} of 200 sites"
        );
    }
}
