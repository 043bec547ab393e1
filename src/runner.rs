//! The runner: schedules checks by dependency with a concurrency limit, applies timeouts and
//! the overall deadline, and turns cancellation into recorded outcomes instead of lost ones.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::checks::{self, CheckCtx, Evidence, EvidenceFile, Outcome, RunEnv, Status};
use crate::manifest::CheckSpec;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Checks running at once.
    pub jobs: usize,
    /// Time one check may take unless its manifest sets `timeout`.
    pub check_timeout: Duration,
    /// Time the whole run may take; checks still pending then are not started.
    pub deadline: Option<Duration>,
    /// Cancelled on Ctrl-C: no new checks start and running ones stop.
    pub cancel: CancellationToken,
}

/// The recorded result of one check.
#[derive(Debug, Clone)]
pub struct CheckRecord {
    pub spec: Arc<CheckSpec>,
    pub status: Status,
    pub message: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration: Duration,
    /// Transient network errors retried during the check.
    pub retries: u32,
    pub evidence: Vec<EvidenceFile>,
    /// The waiver for this check, attached after the run when a waiver file is given.
    pub waiver: Option<crate::waiver::Waiver>,
}

/// Event the runner emits while it works.
#[derive(Debug)]
pub enum RunEvent<'a> {
    Started { spec: &'a CheckSpec },
    Finished { record: &'a CheckRecord },
}

/// The result of a whole run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// One record per selected check, in catalog order.
    pub records: Vec<CheckRecord>,
    /// Set when the run was interrupted or hit its deadline.
    pub incomplete: Option<String>,
}

/// Runs `selected` (which must include the dependencies of each check) and calls `on_event`
/// as checks start and finish.
pub async fn run_checks(
    env: Arc<RunEnv>,
    selected: Vec<CheckSpec>,
    options: &RunOptions,
    mut on_event: impl FnMut(RunEvent<'_>),
) -> RunOutcome {
    let order: Vec<String> = selected.iter().map(|spec| spec.id.clone()).collect();
    let mut pending: Vec<Arc<CheckSpec>> = selected.into_iter().map(Arc::new).collect();
    let mut finished: HashMap<String, CheckRecord> = HashMap::new();
    let mut running: JoinSet<CheckRecord> = JoinSet::new();
    let mut running_ids: HashMap<tokio::task::Id, Arc<CheckSpec>> = HashMap::new();
    let deadline = options.deadline.map(|d| tokio::time::Instant::now() + d);
    let mut incomplete: Option<String> = None;
    let jobs = options.jobs.max(1);

    loop {
        if incomplete.is_none() {
            // Resolve every pending check whose dependencies have all finished.
            let mut index = 0;
            while index < pending.len() {
                let spec = &pending[index];
                match dependency_state(spec, &finished) {
                    DependencyState::Waiting => index += 1,
                    DependencyState::Blocked(reason) => {
                        let spec = pending.remove(index);
                        let record = skipped(spec, reason);
                        on_event(RunEvent::Finished { record: &record });
                        finished.insert(record.spec.id.clone(), record);
                        index = 0;
                    }
                    DependencyState::Ready if running.len() < jobs => {
                        let spec = pending.remove(index);
                        on_event(RunEvent::Started { spec: &spec });
                        let handle = running.spawn(run_one(
                            env.clone(),
                            spec.clone(),
                            options.check_timeout,
                        ));
                        running_ids.insert(handle.id(), spec);
                    }
                    DependencyState::Ready => index += 1,
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let next = tokio::select! {
            joined = running.join_next_with_id() => joined,
            () = options.cancel.cancelled(), if incomplete.is_none() => {
                incomplete = Some("interrupted: the run was cancelled before every check finished".to_owned());
                running.abort_all();
                continue;
            }
            () = sleep_until(deadline), if incomplete.is_none() => {
                incomplete = Some("deadline reached before every check finished".to_owned());
                running.abort_all();
                continue;
            }
        };
        let Some(joined) = next else { break };
        let record = match joined {
            Ok((id, record)) => {
                running_ids.remove(&id);
                record
            }
            Err(err) => {
                let spec = running_ids
                    .remove(&err.id())
                    .expect("every task is registered");
                let message = if err.is_cancelled() {
                    incomplete.clone().unwrap_or_else(|| "cancelled".to_owned())
                } else {
                    format!("the check panicked, which is a bug in fedcloud-conformance: {err}")
                };
                ended_early(spec, Status::Error, message)
            }
        };
        on_event(RunEvent::Finished { record: &record });
        finished.insert(record.spec.id.clone(), record);
    }

    for spec in pending.drain(..) {
        let reason = incomplete
            .clone()
            .unwrap_or_else(|| "not started".to_owned());
        let record = skipped(spec, format!("not run: {reason}"));
        on_event(RunEvent::Finished { record: &record });
        finished.insert(record.spec.id.clone(), record);
    }
    let records = order.iter().filter_map(|id| finished.remove(id)).collect();
    RunOutcome {
        records,
        incomplete,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

enum DependencyState {
    Ready,
    Waiting,
    Blocked(String),
}

fn dependency_state(spec: &CheckSpec, finished: &HashMap<String, CheckRecord>) -> DependencyState {
    for dependency in &spec.depends_on {
        match finished.get(dependency) {
            None => return DependencyState::Waiting,
            Some(record) if record.status != Status::Passed => {
                return DependencyState::Blocked(format!(
                    "dependency {dependency} {}",
                    match record.status {
                        Status::Failed => "failed",
                        Status::Error => "could not be evaluated",
                        _ => "was skipped",
                    }
                ));
            }
            Some(_) => {}
        }
    }
    DependencyState::Ready
}

fn skipped(spec: Arc<CheckSpec>, reason: String) -> CheckRecord {
    ended_early(spec, Status::Skipped, reason)
}

fn ended_early(spec: Arc<CheckSpec>, status: Status, message: String) -> CheckRecord {
    CheckRecord {
        spec,
        status,
        message,
        started_at: chrono::Utc::now(),
        duration: Duration::ZERO,
        retries: 0,
        evidence: Vec::new(),
        waiver: None,
    }
}

async fn run_one(env: Arc<RunEnv>, spec: Arc<CheckSpec>, default_timeout: Duration) -> CheckRecord {
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let evidence = Evidence::new(env.redactor.clone());
    let retries = Arc::new(AtomicU32::new(0));
    let timeout = spec
        .timeout
        .map(Duration::from_secs_f64)
        .unwrap_or(default_timeout);
    let ctx = CheckCtx {
        env: env.clone(),
        spec: spec.clone(),
        evidence: evidence.clone(),
        retries: retries.clone(),
    };
    let outcome = match checks::lookup(&spec.kind) {
        None => Outcome::error(format!("no implementation for kind `{}`", spec.kind)),
        Some(kind) => match tokio::time::timeout(timeout, (kind.run)(ctx)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(problem)) => Outcome::error(problem.0),
            Err(_) => Outcome::error(format!(
                "timed out after {:.1} s (hint: raise --timeout if the site is slow, or check why it does not respond)",
                timeout.as_secs_f64()
            )),
        },
    };
    tracing::debug!(check = %spec.id, status = outcome.status.as_str(), "check finished");
    CheckRecord {
        message: env.redactor.scrub(&outcome.message),
        status: outcome.status,
        spec,
        started_at,
        duration: start.elapsed(),
        retries: retries.load(Ordering::Relaxed),
        evidence: evidence.take(),
        waiver: None,
    }
}

/// Adds every check that a selected check depends on, transitively, keeping catalog order.
pub fn with_dependencies(all: &[CheckSpec], selected: &HashSet<String>) -> Vec<CheckSpec> {
    let mut needed = selected.clone();
    let mut stack: Vec<String> = selected.iter().cloned().collect();
    while let Some(id) = stack.pop() {
        if let Some(spec) = all.iter().find(|spec| spec.id == id) {
            for dependency in &spec.depends_on {
                if needed.insert(dependency.clone()) {
                    stack.push(dependency.clone());
                }
            }
        }
    }
    all.iter()
        .filter(|spec| needed.contains(&spec.id))
        .cloned()
        .collect()
}
