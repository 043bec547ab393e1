//! Check implementations and the registry that maps a manifest's `kind` to one of them.
//!
//! Each suite's kinds live in the module of the same name (`aai.rs` for the `aai` suite). A
//! check function receives a [`CheckCtx`] and returns an [`Outcome`]; `Err` means the check
//! could not be evaluated (an error, not a failure of the site).

mod aai;
mod accounting;
mod capacity;
mod context;
mod discovery;
mod network;
mod requirements;

use std::future::Future;
use std::pin::Pin;

pub use context::{CheckCtx, Evidence, EvidenceFile, Problem, RunEnv, Shared};

use serde::{Deserialize, Serialize};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Error,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

/// What a check concluded, in the site admin's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// One line: what was measured and, on failure, what to fix.
    pub message: String,
}

impl Outcome {
    pub fn pass(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Passed,
            message: message.into(),
        }
    }

    pub fn fail(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Failed,
            message: message.into(),
        }
    }

    pub fn skip(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Skipped,
            message: message.into(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Error,
            message: message.into(),
        }
    }
}

/// The future a check function returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<Outcome, Problem>> + Send>>;

/// A check implementation that manifests refer to by `kind`.
pub struct CheckKind {
    pub name: &'static str,
    /// Parameter names the manifest may set under `[check.params]`.
    pub params: &'static [&'static str],
    pub run: fn(CheckCtx) -> CheckFuture,
}

/// Every kind, grouped by suite module.
fn registry() -> impl Iterator<Item = &'static CheckKind> {
    [
        requirements::KINDS,
        capacity::KINDS,
        network::KINDS,
        discovery::KINDS,
        aai::KINDS,
        accounting::KINDS,
    ]
    .into_iter()
    .flatten()
}

/// The implementation registered under `name`.
pub fn lookup(name: &str) -> Option<&'static CheckKind> {
    registry().find(|kind| kind.name == name)
}

/// Names of every registered kind, sorted, for error hints.
pub fn kind_names() -> Vec<&'static str> {
    let mut names: Vec<_> = registry().map(|kind| kind.name).collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique() {
        let names = kind_names();
        let mut deduped = names.clone();
        deduped.dedup();
        assert_eq!(names, deduped);
    }
}
