//! One `run` from start to bundle: load suites and profile, select checks, run them, write
//! every report. Reports are written even when the run is interrupted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::checks::{RunEnv, Shared};
use crate::filter::{self, Filter};
use crate::http::{ClientConfig, HttpClient};
use crate::location::ConfigError;
use crate::manifest::Catalog;
use crate::profile::SiteProfile;
use crate::report::{self, CheckEntry, HostFacts, Mode, ReportJson, terminal};
use crate::runner::{self, RunOptions};
use crate::secret::{Redactor, Secret};
use crate::waiver::WaiverSet;

/// Everything `run` needs.
pub struct RunRequest {
    pub catalog: Catalog,
    pub profile_path: PathBuf,
    pub out: Option<PathBuf>,
    pub filters: Vec<Filter>,
    pub skips: Vec<Filter>,
    pub jobs: usize,
    pub check_timeout: Duration,
    pub deadline: Option<Duration>,
    pub mode: Mode,
    pub strict: bool,
    pub sign: Option<PathBuf>,
    /// Secrets handed over in-process, by environment variable name.
    pub secret_overrides: Vec<(String, Secret)>,
    /// Plain lines instead of a progress bar.
    pub plain: bool,
    /// Print progress on stderr and the end-of-run summary on stdout.
    pub print_summary: bool,
    pub cancel: CancellationToken,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct RunSummary {
    pub bundle: PathBuf,
    pub verdict: &'static str,
    pub exit_code: i32,
    pub report: ReportJson,
}

/// A reason the run could not start, or its reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write reports to {path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

/// Options of a run beyond [`RunRequest`], kept apart so that callers building a
/// `RunRequest` keep compiling as options are added.
#[derive(Debug, Clone, Default)]
pub struct RunExtras {
    /// Waiver file (`--waivers`); see [`crate::waiver`].
    pub waivers: Option<PathBuf>,
    /// Print nothing per check, for callers that print their own lines.
    pub quiet: bool,
    /// Run without writing a bundle (`check` without `--out`); the summary's `bundle` is then
    /// empty.
    pub no_bundle: bool,
}

/// Runs the selected checks against the site and writes the bundle.
pub async fn run(request: RunRequest) -> Result<RunSummary, SetupError> {
    run_with(request, RunExtras::default()).await
}

/// Runs the selected checks with the extra options and writes the bundle unless asked not to.
pub async fn run_with(request: RunRequest, extras: RunExtras) -> Result<RunSummary, SetupError> {
    let catalog = &request.catalog;
    let profile = SiteProfile::load(&request.profile_path)?;
    if request.mode == Mode::Certify && !(request.filters.is_empty() && request.skips.is_empty()) {
        return Err(SetupError::Usage(
            "--mode certify runs every check, so --filter and --skip are not allowed (hint: use --mode self-test)"
                .to_owned(),
        ));
    }
    let chosen: HashSet<String> = catalog
        .checks
        .iter()
        .filter(|check| filter::selects(&request.filters, &request.skips, check))
        .map(|check| check.id.clone())
        .collect();
    if chosen.is_empty() {
        return Err(SetupError::Usage(
            "the filters select no check (hint: `fedcloud-conformance list --filter EXPR` shows what they match)"
                .to_owned(),
        ));
    }
    let selected = runner::with_dependencies(&catalog.checks, &chosen);
    let waivers = load_waivers(&request, extras.waivers.as_deref())?;

    let http = HttpClient::new(ClientConfig {
        trust_anchors: profile.tls.trust_anchors.clone(),
        public_roots: profile.tls.public_roots,
        request_timeout: request.check_timeout,
        ..ClientConfig::default()
    })
    .map_err(|err| {
        SetupError::Config(
            ConfigError::file(&request.profile_path, err.to_string())
                .with_hint("tls.trust_anchors must name a directory of PEM CA certificates"),
        )
    })?;
    let redactor = Redactor::default();
    for (_, secret) in &request.secret_overrides {
        redactor.register(secret);
    }
    let started_at = chrono::Utc::now();
    let run_id = uuid::Uuid::new_v4();
    let env = Arc::new(RunEnv {
        profile: profile.clone(),
        redactor: redactor.clone(),
        http,
        shared: Shared::default(),
        secret_overrides: request.secret_overrides.clone(),
        now: started_at,
    });
    let bundle = if extras.no_bundle {
        PathBuf::new()
    } else {
        let bundle = request.out.clone().unwrap_or_else(|| {
            default_bundle_dir(&profile.site.name, started_at, &run_id.to_string())
        });
        prepare_bundle_dir(&bundle)?;
        bundle
    };

    tracing::info!(site = %profile.site.name, checks = selected.len(), run_id = %run_id, "run starting");
    let progress = if extras.quiet || !request.print_summary {
        terminal::Progress::quiet()
    } else {
        terminal::Progress::new(selected.len(), request.plain)
    };
    let progress = progress.with_waived(active_waivers(waivers.as_ref(), started_at));
    let options = RunOptions {
        jobs: request.jobs,
        check_timeout: request.check_timeout,
        deadline: request.deadline,
        cancel: request.cancel.clone(),
    };
    let mut outcome =
        runner::run_checks(env, selected, &options, |event| progress.event(event)).await;
    progress.finish();
    if let Some(waivers) = &waivers {
        waivers.apply(&mut outcome.records, started_at);
    }

    let counts = report::Counts::of(&outcome.records);
    let strict = request.strict && request.mode == Mode::Ci;
    let (verdict, exit_code) = report::verdict(&counts, outcome.incomplete.is_some(), strict);
    let site_json = serde_json::to_value(&profile).unwrap_or_default();
    let report_json = ReportJson {
        format_version: report::REPORT_FORMAT_VERSION,
        tool: Default::default(),
        run_id: run_id.to_string(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        mode: request.mode.as_str().to_owned(),
        incomplete: outcome.incomplete.clone(),
        manifest_sha256: catalog.manifest_sha256.clone(),
        site: site_json,
        host: HostFacts::collect(),
        summary: report::json::Summary {
            verdict: verdict.to_owned(),
            exit_code,
            counts,
        },
        checks: outcome
            .records
            .iter()
            .map(CheckEntry::from_record)
            .collect(),
        waivers: waivers
            .as_ref()
            .map(|waivers| waivers.summary(&outcome.records, started_at)),
    };
    if !extras.no_bundle {
        write_bundle(
            &bundle,
            &report_json,
            &outcome.records,
            &redactor,
            request.sign.as_deref(),
            waivers.as_ref(),
        )?;
    }
    if request.print_summary {
        let mut stdout = std::io::stdout().lock();
        let _ = terminal::print_summary(
            &mut stdout,
            &outcome.records,
            verdict,
            &bundle,
            outcome.incomplete.as_deref(),
        );
    }
    Ok(RunSummary {
        bundle,
        verdict,
        exit_code,
        report: report_json,
    })
}

/// Loads the waiver file and applies the signature rule. `--mode certify` accepts only a file
/// signed with the operator's `--sign` key. Other modes check a signature when both the
/// signature and the key are there.
fn load_waivers(
    request: &RunRequest,
    path: Option<&Path>,
) -> Result<Option<WaiverSet>, SetupError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let mut waivers = WaiverSet::load(path, &request.catalog)?;
    let certify = request.mode == Mode::Certify;
    match request.sign.as_deref() {
        None if certify => {
            return Err(SetupError::Usage(format!(
                "--mode certify accepts only waivers signed by the certifying operator, but no --sign key was given to check the signature of {} (hint: pass the operator's key with --sign)",
                path.display()
            )));
        }
        Some(key) if certify || waivers.signature.is_some() => {
            waivers
                .verify_signature(key)
                .map_err(|reason| SetupError::Usage(format!("waivers rejected: {reason}")))?;
        }
        _ => {}
    }
    Ok(Some(waivers))
}

fn active_waivers(
    waivers: Option<&WaiverSet>,
    now: chrono::DateTime<chrono::Utc>,
) -> HashSet<String> {
    waivers
        .map(|set| {
            set.waivers
                .iter()
                .filter(|waiver| waiver.expires > now)
                .map(|waiver| waiver.check.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn default_bundle_dir(site: &str, started: chrono::DateTime<chrono::Utc>, run_id: &str) -> PathBuf {
    let safe_site: String = site
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let short_id = &run_id[..8.min(run_id.len())];
    PathBuf::from("reports")
        .join(safe_site)
        .join(format!("{}-{short_id}", started.format("%Y%m%dT%H%M%SZ")))
}

fn prepare_bundle_dir(bundle: &Path) -> Result<(), SetupError> {
    let output_error = |reason: String| SetupError::Output {
        path: bundle.to_owned(),
        reason,
    };
    if bundle.join("report.json").exists() {
        return Err(output_error(
            "it already holds a report (hint: choose an empty directory with --out)".to_owned(),
        ));
    }
    std::fs::create_dir_all(bundle).map_err(|err| output_error(err.to_string()))
}

fn write_bundle(
    bundle: &Path,
    report_json: &ReportJson,
    records: &[runner::CheckRecord],
    redactor: &Redactor,
    sign: Option<&Path>,
    waivers: Option<&WaiverSet>,
) -> Result<(), SetupError> {
    let output_error = |reason: String| SetupError::Output {
        path: bundle.to_owned(),
        reason,
    };
    for record in records {
        let dir = report::evidence_dir(&record.spec.id);
        for file in &record.evidence {
            report::write_file(bundle, &format!("{dir}/{}", file.name), &file.content)
                .map_err(|err| output_error(err.to_string()))?;
        }
    }
    // A last scrub of the serialized reports: messages were scrubbed when recorded, but a
    // secret registered later in the run could still appear in an earlier message.
    let json =
        serde_json::to_string_pretty(report_json).map_err(|err| output_error(err.to_string()))?;
    report::write_file(bundle, "report.json", redactor.scrub(&json).as_bytes())
        .map_err(|err| output_error(err.to_string()))?;
    let junit = report::junit_report(report_json)
        .to_string()
        .map_err(|err| output_error(err.to_string()))?;
    report::write_file(bundle, "junit.xml", redactor.scrub(&junit).as_bytes())
        .map_err(|err| output_error(err.to_string()))?;

    let html = report::html::render(report_json);
    report::write_file(bundle, "report.html", redactor.scrub(&html).as_bytes())
        .map_err(|err| output_error(err.to_string()))?;
    if let Some(waivers) = waivers {
        // Exact copies, so the signature can be checked again from the bundle alone.
        let copy = waivers.bundle_path();
        report::write_file(bundle, &copy, &waivers.bytes)
            .map_err(|err| output_error(err.to_string()))?;
        if let Some(signature) = &waivers.signature {
            report::write_file(bundle, &format!("{copy}.sig"), signature)
                .map_err(|err| output_error(err.to_string()))?;
        }
    }
    report::write_sums(bundle).map_err(|err| output_error(err.to_string()))?;
    if let Some(key) = sign {
        report::sign_bundle(bundle, key).map_err(output_error)?;
    }
    Ok(())
}
