//! Command line: argument definitions (clap derive) and dispatch to the engine.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::filter::Filter;
use crate::manifest::Catalog;
use crate::reference_site::{self, Fault, SiteOptions};
use crate::report::{Mode, exit};
use crate::session::{self, RunExtras, RunRequest, SetupError};

const EXIT_CODES: &str = "Exit codes: 0 every required check passed; 1 a required check failed \
(or `verify` found a mismatch); 2 usage or configuration error; 3 no required check failed but \
at least one could not be evaluated.";

/// Conformance tests for EGI Federated Cloud provider sites.
#[derive(Debug, Parser)]
#[command(name = "fedcloud-conformance", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every discovered check with its id, suite, level, tags and title.
    List(ListArgs),
    /// Run the checks against a site and write JUnit, report.json and the evidence bundle.
    Run(RunArgs),
    /// Start the bundled reference site on 127.0.0.1 and run every check against it.
    Demo(DemoArgs),
    /// Check a report bundle: hashes, signature, and agreement of junit.xml and report.json.
    Verify(VerifyArgs),
    /// Compare two bundles of a site: changed outcomes, new and removed checks, messages,
    /// durations. Exits 1 when a required check got worse.
    Diff(DiffArgs),
    /// Run one check (and what it depends on) as a Nagios/ARGO probe: one status line, exit
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Check(CheckArgs),
    /// Combine bundles of several sites into one JUnit file and one summary.
    Merge(MergeArgs),
    /// Draft a site profile from GOCDB and the Keystone version document, for review.
    Init(InitArgs),
    /// Serve the reference site until interrupted and print a site profile for it.
    ReferenceSite(ReferenceSiteArgs),
    /// Check files offline: accounting messages, a GOCDB PI response or a GLUE2.1 document.
    #[command(subcommand)]
    Validate(ValidateCommand),
}

#[derive(Debug, Subcommand)]
pub enum ValidateCommand {
    /// Check APEL accounting messages and spools as the APEL loader would.
    Accounting(crate::accounting::cli::ValidateAccountingArgs),
    /// Check a saved GOCDB PI response against EGI's registration rules.
    Gocdb(crate::validate::cli::ValidateGocdbArgs),
    /// Check a GLUE2.1 JSON document as cloud-info-provider publishes it.
    Glue(crate::validate::cli::ValidateGlueArgs),
}

#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Directory of extra suite manifests (*.toml); repeatable. The bundled suites are always
    /// loaded: from ./suites when present, otherwise the copies built into the binary.
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub suites: SuiteArgs,
    /// Show only checks matching EXPR: a glob on the id, or FIELD:GLOB with FIELD one of id,
    /// suite, tag, level, kind (e.g. `suite:aai`, `tag:tls`). Repeatable; matches are merged.
    #[arg(long, value_name = "EXPR")]
    pub filter: Vec<Filter>,
    /// Output format; json is a stable array of objects for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Site profile (TOML).
    #[arg(
        long,
        value_name = "SITE.toml",
        required_unless_present = "sites",
        conflicts_with = "sites"
    )]
    pub site: Option<PathBuf>,
    /// Run every site profile (*.toml) in DIR concurrently: one bundle per site under --out,
    /// plus junit.xml (testsuites named SITE/suite), summary.json and summary.txt. A site's
    /// waivers are read from DIR/waivers/<profile file name>.
    #[arg(long, value_name = "DIR", help_heading = "Federation runs")]
    pub sites: Option<PathBuf>,
    /// With --sites: run only shard K of N (1 <= K <= N), the sites whose FNV-1a hash of the
    /// site name modulo N is K-1. Stable, so N CI jobs cover each site once.
    #[arg(
        long,
        value_name = "K/N",
        requires = "sites",
        help_heading = "Federation runs"
    )]
    pub shard: Option<crate::federation::Shard>,
    /// With --sites: sites run at once; each runs --jobs checks at once.
    #[arg(long, value_name = "N", default_value_t = crate::federation::DEFAULT_SITE_JOBS, help_heading = "Federation runs")]
    pub site_jobs: usize,
    #[command(flatten)]
    pub options: RunOptionsArgs,
}

#[derive(Debug, Args)]
pub struct RunOptionsArgs {
    #[command(flatten)]
    pub suites: SuiteArgs,
    /// Bundle directory [default: reports/<site>/<UTC time>-<run id>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only checks matching EXPR (and what they depend on); see `list --help`. Repeatable.
    #[arg(long, value_name = "EXPR")]
    pub filter: Vec<Filter>,
    /// Leave out checks matching EXPR. Repeatable.
    #[arg(long, value_name = "EXPR")]
    pub skip: Vec<Filter>,
    /// Checks running at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// Time one check may take, in seconds (a manifest `timeout` overrides it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Time the whole run may take, in seconds; unfinished checks are reported as not run.
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<f64>,
    /// certify: an operator certifying a site (every check, no filters); self-test: a site
    /// admin before asking; ci: nightly regression with plain output.
    #[arg(long, value_enum, default_value = "self-test")]
    pub mode: Mode,
    /// With --mode ci: advisory failures also fail the run (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Sign SHA256SUMS with this ed25519 private key (PKCS#8 PEM, as made by
    /// `openssl genpkey -algorithm ed25519`).
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// Waiver file (TOML): failures of the listed checks are reported as waived until the
    /// waiver's UTC expiry. With --mode certify the file must be signed by the --sign key
    /// (FILE.sig, base64 ed25519).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub options: RunOptionsArgs,
    /// Fault to switch on in the reference site, to see a failing run. Repeatable.
    #[arg(long, value_enum, value_name = "NAME")]
    pub fault: Vec<Fault>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Bundle directory written by `run` or `demo`.
    #[arg(value_name = "BUNDLE_DIR")]
    pub bundle: PathBuf,
    /// Trusted ed25519 public key (PEM); requires a signature made by its private key.
    #[arg(long, value_name = "PUBKEY")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier bundle directory.
    #[arg(value_name = "OLD_BUNDLE")]
    pub old: PathBuf,
    /// The later bundle directory.
    #[arg(value_name = "NEW_BUNDLE")]
    pub new: PathBuf,
    /// Output format; json is the structure of the diff for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// List checks whose duration changed by at least this much, with a unit: ms, s or m.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::report::diff::parse_duration)]
    pub duration_threshold: Duration,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The check to run, e.g. requirements.keystone-v3.
    #[arg(value_name = "CHECK_ID")]
    pub check: String,
    /// Site profile (TOML).
    #[arg(long, value_name = "SITE.toml")]
    pub site: PathBuf,
    #[command(flatten)]
    pub suites: SuiteArgs,
    /// Time one check may take, in seconds (a manifest `timeout` overrides it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Also write a bundle to DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Waiver file; a waived failure is reported as WARNING.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Bundle directories, one per site; each must pass `verify`.
    #[arg(value_name = "BUNDLE", required = true)]
    pub bundles: Vec<PathBuf>,
    /// Directory for junit.xml, summary.json and summary.txt.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The site's short name in GOCDB.
    #[arg(long, value_name = "NAME")]
    pub gocdb_site: String,
    /// The site's Keystone URL.
    #[arg(long, value_name = "URL")]
    pub keystone: String,
    /// GOCDB programmatic interface base URL.
    #[arg(long, value_name = "URL", default_value = crate::init::DEFAULT_GOCDB_URL)]
    pub gocdb_url: String,
    /// Output file of the draft [default: NAME.toml]. An existing file is never replaced.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Directory of trusted CA certificates (PEM) for GOCDB and Keystone, also written into
    /// the draft [default: the public root store].
    #[arg(long, value_name = "DIR")]
    pub trust_anchors: Option<PathBuf>,
    /// Time one request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct ReferenceSiteArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Fault to switch on. Repeatable.
    #[arg(long, value_enum, value_name = "NAME")]
    pub fault: Vec<Fault>,
    /// Directory for the profile, CA and secrets [default: a new temporary directory].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also accept tokens that this Keystone validates, so the site's Nova, Glance and Neutron
    /// answers can stand behind a real Keystone.
    #[arg(long, value_name = "URL", requires = "keystone_trust_anchors")]
    pub keystone_tokens: Option<String>,
    /// Directory of PEM CA certificates for the --keystone-tokens Keystone's TLS.
    #[arg(long, value_name = "DIR")]
    pub keystone_trust_anchors: Option<PathBuf>,
}

/// Parses arguments, runs the command and returns the exit code.
pub fn main_impl() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if !err.use_stderr() {
                exit::PASSED
            } else if std::env::args().nth(1).as_deref() == Some("check") {
                // Nagios plugins report their own usage errors as UNKNOWN.
                crate::probe::State::Unknown.code()
            } else {
                exit::USAGE
            };
        }
    };
    init_tracing();
    // Offline validation needs no async runtime.
    if let Command::Validate(command) = &cli.command {
        return match command {
            ValidateCommand::Accounting(args) => crate::accounting::cli::run(args),
            ValidateCommand::Gocdb(args) => crate::validate::cli::run_gocdb(args),
            ValidateCommand::Glue(args) => crate::validate::cli::run_glue(args),
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return exit::USAGE;
        }
    };
    runtime.block_on(dispatch(cli.command))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FEDCLOUD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn dispatch(command: Command) -> i32 {
    match command {
        Command::List(args) => list(&args),
        Command::Run(args) => match (args.site, args.sites) {
            (Some(site), _) => run(site, args.options, None).await,
            (None, Some(dir)) => run_sites(dir, args.shard, args.site_jobs, args.options).await,
            (None, None) => unreachable!("clap requires --site or --sites"),
        },
        Command::Demo(args) => demo(args).await,
        Command::Verify(args) => verify(&args),
        Command::Diff(args) => diff(&args),
        Command::Check(args) => check(args).await,
        Command::Merge(args) => merge(&args),
        Command::Init(args) => init(args).await,
        Command::ReferenceSite(args) => serve_reference_site(args).await,
        // `main_impl` runs validation before starting the runtime.
        Command::Validate(_) => exit::USAGE,
    }
}

/// The bundled suites: ./suites when it exists, otherwise the copies built into the binary.
fn load_catalog(extra: &[PathBuf]) -> Result<Catalog, crate::location::ConfigError> {
    let local = Path::new("suites");
    if local.is_dir() {
        let mut dirs = vec![local.to_path_buf()];
        dirs.extend(extra.iter().cloned());
        return Catalog::load(&dirs);
    }
    let mut sources: Vec<(PathBuf, String)> = crate::manifest::BUILTIN
        .iter()
        .map(|(name, text)| {
            (
                PathBuf::from(format!("<built-in>/suites/{name}")),
                (*text).to_owned(),
            )
        })
        .collect();
    for dir in extra {
        let catalog_dir = Catalog::load(std::slice::from_ref(dir))?;
        for suite in catalog_dir.suites {
            let text = std::fs::read_to_string(&suite.path).unwrap_or_default();
            sources.push((suite.path, text));
        }
    }
    Catalog::from_sources(sources)
}

fn list(args: &ListArgs) -> i32 {
    let catalog = match load_catalog(&args.suites.suites) {
        Ok(catalog) => catalog,
        Err(err) => {
            eprintln!("error: {err}");
            return exit::USAGE;
        }
    };
    let checks: Vec<_> = catalog
        .checks
        .iter()
        .filter(|check| crate::filter::selects(&args.filter, &[], check))
        .collect();
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        ListFormat::Json => serde_json::to_writer_pretty(&mut out, &checks)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        ListFormat::Text => checks.iter().try_for_each(|check| {
            writeln!(
                out,
                "{:<40} {:<12} {:<9} {:<28} {}",
                check.id,
                check.suite,
                check.level.as_str(),
                check.tags.join(","),
                check.title
            )
        }),
    };
    match written {
        Ok(()) => exit::PASSED,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => exit::PASSED,
        Err(err) => {
            eprintln!("error: cannot write the list: {err}");
            exit::USAGE
        }
    }
}

/// Cancels `token` on Ctrl-C, so the run stops and still writes its reports.
fn cancel_on_interrupt(token: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping checks and writing the reports");
            token.cancel();
        }
    });
}

/// Builds the run request of `run` and `demo` from the options, or prints why not and
/// returns the exit code.
fn run_request(site: PathBuf, options: RunOptionsArgs) -> Result<(RunRequest, RunExtras), i32> {
    let catalog = match load_catalog(&options.suites.suites) {
        Ok(catalog) => catalog,
        Err(err) => {
            eprintln!("error: {err}");
            return Err(exit::USAGE);
        }
    };
    if !(options.timeout > 0.0 && options.timeout.is_finite()) {
        eprintln!(
            "error: --timeout must be a positive number of seconds, not {}",
            options.timeout
        );
        return Err(exit::USAGE);
    }
    let cancel = CancellationToken::new();
    cancel_on_interrupt(cancel.clone());
    let request = RunRequest {
        catalog,
        profile_path: site,
        out: options.out,
        filters: options.filter,
        skips: options.skip,
        jobs: options.jobs,
        check_timeout: Duration::from_secs_f64(options.timeout),
        deadline: options
            .deadline
            .filter(|d| *d > 0.0)
            .map(Duration::from_secs_f64),
        mode: options.mode,
        strict: options.strict,
        sign: options.sign,
        secret_overrides: Vec::new(),
        plain: options.mode == Mode::Ci,
        print_summary: true,
        cancel,
    };
    let extras = RunExtras {
        waivers: options.waivers,
        ..RunExtras::default()
    };
    Ok((request, extras))
}

async fn run(site: PathBuf, options: RunOptionsArgs, banner: Option<String>) -> i32 {
    let (request, extras) = match run_request(site, options) {
        Ok(built) => built,
        Err(code) => return code,
    };
    if let Some(banner) = banner {
        eprintln!("{banner}");
    }
    match session::run_with(request, extras).await {
        Ok(summary) => summary.exit_code,
        Err(err @ (SetupError::Config(_) | SetupError::Usage(_) | SetupError::Output { .. })) => {
            eprintln!("error: {err}");
            exit::USAGE
        }
    }
}

async fn run_sites(
    dir: PathBuf,
    shard: Option<crate::federation::Shard>,
    site_jobs: usize,
    mut options: RunOptionsArgs,
) -> i32 {
    if options.waivers.is_some() {
        eprintln!(
            "error: --waivers applies to one site; with --sites, put each site's waivers in {}/waivers/<profile file name>",
            dir.display()
        );
        return exit::USAGE;
    }
    let out = options.out.take();
    let (template, _) = match run_request(PathBuf::new(), options) {
        Ok(built) => built,
        Err(code) => return code,
    };
    let request = crate::federation::FederationRequest {
        template,
        sites_dir: dir,
        shard,
        site_jobs,
        out,
        progress: true,
    };
    match crate::federation::run_sites(request).await {
        Ok((out, summary)) => {
            print!("{}", crate::report::merge::summary_text(&summary));
            println!("reports: {}", out.display());
            summary.exit_code
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::USAGE
        }
    }
}

fn diff(args: &DiffArgs) -> i32 {
    // A diff of edited reports would mislead, but a nightly job should still see the changes.
    for bundle in [&args.old, &args.new] {
        let problems = crate::report::verify_bundle(bundle, None);
        if let Some(first) = problems
            .first()
            .filter(|_| bundle.join("report.json").is_file())
        {
            eprintln!(
                "warning: {} does not verify ({} problem(s), first: {first})",
                bundle.display(),
                problems.len()
            );
        }
    }
    let diff =
        match crate::report::diff::diff_bundles(&args.old, &args.new, args.duration_threshold) {
            Ok(diff) => diff,
            Err(err) => {
                eprintln!("error: {err}");
                return exit::USAGE;
            }
        };
    let text = match args.format {
        DiffFormat::Text => crate::report::diff::render_text(&diff),
        DiffFormat::Json => match serde_json::to_string_pretty(&diff) {
            Ok(json) => json + "\n",
            Err(err) => {
                eprintln!("error: cannot encode the diff: {err}");
                return exit::USAGE;
            }
        },
    };
    print!("{text}");
    diff.exit_code()
}

async fn check(args: CheckArgs) -> i32 {
    let unknown = crate::probe::State::Unknown;
    let catalog = match load_catalog(&args.suites.suites) {
        Ok(catalog) => catalog,
        Err(err) => {
            println!("UNKNOWN - cannot load the suites: {err}");
            return unknown.code();
        }
    };
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        println!(
            "UNKNOWN - --timeout must be a positive number of seconds, not {}",
            args.timeout
        );
        return unknown.code();
    }
    let cancel = CancellationToken::new();
    cancel_on_interrupt(cancel.clone());
    let result = crate::probe::probe(crate::probe::ProbeRequest {
        catalog,
        profile_path: args.site,
        check_id: args.check,
        jobs: 4,
        check_timeout: Duration::from_secs_f64(args.timeout),
        out: args.out,
        waivers: args.waivers,
        cancel,
    })
    .await;
    println!("{}", result.line);
    result.state.code()
}

fn merge(args: &MergeArgs) -> i32 {
    match crate::report::merge::merge_bundles(&args.bundles, &args.out) {
        Ok(summary) => {
            print!("{}", crate::report::merge::summary_text(&summary));
            println!("merged: {}", args.out.display());
            summary.exit_code
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::USAGE
        }
    }
}

async fn init(args: InitArgs) -> i32 {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        eprintln!(
            "error: --timeout must be a positive number of seconds, not {}",
            args.timeout
        );
        return exit::USAGE;
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", args.gocdb_site)));
    let request = crate::init::InitRequest {
        site: args.gocdb_site,
        keystone: args.keystone,
        gocdb_url: args.gocdb_url,
        out: out.clone(),
        trust_anchors: args.trust_anchors,
        timeout: Duration::from_secs_f64(args.timeout),
    };
    match crate::init::init(&request).await {
        Ok(warnings) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "wrote {}; review it, then run `fedcloud-conformance run --site {}`",
                out.display(),
                out.display()
            );
            exit::PASSED
        }
        Err(err @ crate::init::InitError::Usage(_)) => {
            eprintln!("error: {err}");
            exit::USAGE
        }
        Err(err @ crate::init::InitError::Source(_)) => {
            eprintln!("error: {err}");
            exit::FAILED
        }
    }
}

async fn demo(args: DemoArgs) -> i32 {
    let site = match reference_site::start(SiteOptions {
        faults: args.fault.clone(),
        ..SiteOptions::default()
    })
    .await
    {
        Ok(site) => site,
        Err(err) => {
            eprintln!("error: cannot start the reference site: {err}");
            return exit::USAGE;
        }
    };
    let banner = format!(
        "reference site {} on {} (profile {})",
        reference_site::SITE_NAME,
        site.base_url,
        site.profile_path.display()
    );
    let code = run(site.profile_path.clone(), args.options, Some(banner)).await;
    drop(site);
    code
}

fn verify(args: &VerifyArgs) -> i32 {
    if !args.bundle.is_dir() {
        eprintln!("error: {} is not a bundle directory", args.bundle.display());
        return exit::USAGE;
    }
    let errors = crate::report::verify_bundle(&args.bundle, args.key.as_deref());
    if errors.is_empty() {
        println!("OK: {} is intact", args.bundle.display());
        return exit::PASSED;
    }
    for error in &errors {
        println!("MISMATCH {error}");
    }
    println!(
        "FAILED: {} problem(s) in {}",
        errors.len(),
        args.bundle.display()
    );
    exit::FAILED
}

async fn serve_reference_site(args: ReferenceSiteArgs) -> i32 {
    let site = match reference_site::start(SiteOptions {
        listen: Some(args.listen),
        faults: args.fault,
        state_dir: args.state_dir,
        keystone: args
            .keystone_tokens
            .zip(args.keystone_trust_anchors)
            .map(|(url, trust_anchors)| reference_site::KeystoneValidation { url, trust_anchors }),
        ..SiteOptions::default()
    })
    .await
    {
        Ok(site) => site,
        Err(err) => {
            eprintln!("error: {err}");
            return exit::USAGE;
        }
    };
    match std::fs::read_to_string(&site.profile_path) {
        Ok(profile) => println!("{profile}"),
        Err(err) => eprintln!(
            "warning: cannot read {}: {err}",
            site.profile_path.display()
        ),
    }
    eprintln!(
        "reference site on {}; profile at {}; press Ctrl-C to stop",
        site.base_url,
        site.profile_path.display()
    );
    let _ = tokio::signal::ctrl_c().await;
    exit::PASSED
}
