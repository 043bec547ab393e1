//! The context of a running check: the profile, secrets, HTTP, values from earlier checks, and
//! the evidence it records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::http::{HttpClient, HttpError, Request, Response};
use crate::manifest::CheckSpec;
use crate::profile::SiteProfile;
use crate::secret::{Redactor, Secret, SecretError, SecretSource};

/// A reason a check could not be evaluated. It becomes an `error` outcome, which is neither a
/// pass nor a failure of the site.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Problem(pub String);

impl From<HttpError> for Problem {
    fn from(err: HttpError) -> Self {
        Problem(err.to_string())
    }
}

impl From<SecretError> for Problem {
    fn from(err: SecretError) -> Self {
        Problem(err.to_string())
    }
}

/// State shared by every check of one run.
pub struct RunEnv {
    pub profile: SiteProfile,
    pub redactor: Redactor,
    pub http: HttpClient,
    pub shared: Shared,
    /// Secret values handed over in-process (by `demo`), looked up by environment name first.
    pub secret_overrides: Vec<(String, Secret)>,
    /// When the run started; checks judge ages and expiry against it.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl RunEnv {
    /// Reads a secret from its source and registers it for redaction.
    pub async fn secret(&self, source: &SecretSource) -> Result<Secret, SecretError> {
        let secret = source.resolve(&self.secret_overrides).await?;
        self.redactor.register(&secret);
        Ok(secret)
    }
}

/// Values that checks hand to later checks (tokens, the catalog). They stay in memory only.
#[derive(Default)]
pub struct Shared {
    secrets: Mutex<HashMap<String, Secret>>,
    values: Mutex<HashMap<String, serde_json::Value>>,
}

impl Shared {
    pub fn put_secret(&self, key: impl Into<String>, secret: Secret) {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.into(), secret);
    }

    pub fn secret(&self, key: &str) -> Option<Secret> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    pub fn put_value(&self, key: impl Into<String>, value: serde_json::Value) {
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.into(), value);
    }

    pub fn value(&self, key: &str) -> Option<serde_json::Value> {
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

/// One file a check saw, written under `evidence/<check id>/`.
#[derive(Debug, Clone)]
pub struct EvidenceFile {
    pub name: String,
    pub content: Vec<u8>,
}

/// The evidence a check collects; every text is scrubbed of secrets when it is added.
#[derive(Clone, Default)]
pub struct Evidence {
    files: Arc<Mutex<Vec<EvidenceFile>>>,
    redactor: Redactor,
}

impl Evidence {
    pub fn new(redactor: Redactor) -> Self {
        Evidence {
            files: Arc::default(),
            redactor,
        }
    }

    /// Adds a text file, numbered in the order the check saw things.
    pub fn add_text(&self, name: &str, text: &str) {
        let scrubbed = self.redactor.scrub(text);
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let numbered = format!("{:02}-{}", files.len() + 1, sanitize_file_name(name));
        files.push(EvidenceFile {
            name: numbered,
            content: scrubbed.into_bytes(),
        });
    }

    /// Adds a JSON document, pretty-printed.
    pub fn add_json(&self, name: &str, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|err| err.to_string());
        self.add_text(name, &text);
    }

    /// Takes the files out, leaving the collection empty.
    pub fn take(&self) -> Vec<EvidenceFile> {
        std::mem::take(&mut *self.files.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn sanitize_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Everything a check function receives.
#[derive(Clone)]
pub struct CheckCtx {
    pub env: Arc<RunEnv>,
    pub spec: Arc<CheckSpec>,
    pub evidence: Evidence,
    /// Attempts made by retried network operations, for the report.
    pub retries: Arc<AtomicU32>,
}

impl CheckCtx {
    pub fn profile(&self) -> &SiteProfile {
        &self.env.profile
    }

    /// Sends a request with bounded retries of transient errors, recording every exchange.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let outcome = self.env.http.send(&request, &self.evidence).await;
        if let Ok(response) = &outcome {
            self.retries.fetch_add(response.retries, Ordering::Relaxed);
        }
        outcome
    }

    /// Keeps a secret obtained during the run (a token) for later checks and redaction.
    pub fn keep_secret(&self, key: &str, secret: Secret) {
        self.env.redactor.register(&secret);
        self.env.shared.put_secret(key, secret);
    }

    /// Returns a string parameter from the manifest, or `default`.
    pub fn param_str(&self, key: &str, default: &str) -> String {
        self.spec
            .params
            .get(key)
            .and_then(|value| value.as_str())
            .unwrap_or(default)
            .to_owned()
    }

    /// Returns an integer parameter from the manifest, or `default`.
    pub fn param_i64(&self, key: &str, default: i64) -> i64 {
        self.spec
            .params
            .get(key)
            .and_then(|value| value.as_integer())
            .unwrap_or(default)
    }

    /// Returns a list-of-strings parameter from the manifest, or `default`.
    pub fn param_strings(&self, key: &str, default: &[&str]) -> Vec<String> {
        match self.spec.params.get(key).and_then(|value| value.as_array()) {
            Some(items) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            None => default.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}
