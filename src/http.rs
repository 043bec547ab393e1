//! The HTTP client checks use: TLS trust from the site profile, a cap on response bodies,
//! bounded retries of transient errors, and a redacted record of every exchange as evidence.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::checks::Evidence;
use crate::secret::{REDACTED, Secret};

/// Headers whose values are credentials and are never recorded.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-auth-token",
    "x-subject-token",
    "cookie",
    "set-cookie",
];

/// JSON and form keys whose values are credentials.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "token",
    "subject_token",
];

/// Evidence keeps at most this many bytes of a body; the rest is summarised.
const EVIDENCE_BODY_CAP: usize = 64 * 1024;

/// Retry policy for transient errors (connection refused or reset, timeouts, 502/503/504).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub attempts: u32,
    /// Delay before the first retry; it doubles after each.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

/// Why a request produced no usable response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{method} {url} failed after {attempts} attempt(s): {reason}")]
    Transport {
        method: Method,
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error(
        "{method} {url}: response body exceeds {limit} bytes (hint: the endpoint answers with far more data than a FedCloud API should)"
    )]
    BodyTooLarge {
        method: Method,
        url: String,
        limit: usize,
    },
    #[error("cannot read trust anchors from {path}: {reason}")]
    TrustAnchors { path: String, reason: String },
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`; values may be secrets.
    Form(Vec<(String, FormValue)>),
}

/// A form value that is either plain or a secret.
#[derive(Debug, Clone)]
pub enum FormValue {
    Plain(String),
    Secret(Secret),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Headers carrying credentials; recorded as `[REDACTED]`.
    pub secret_headers: Vec<(HeaderName, Secret)>,
    pub body: Option<Body>,
    /// Whether to retry transient errors; off for requests that must not repeat.
    pub retry: bool,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            secret_headers: Vec::new(),
            body: None,
            retry: true,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Request::new(Method::GET, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Request::new(Method::POST, url)
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), value));
        }
        self
    }

    pub fn secret_header(mut self, name: &'static str, value: Secret) -> Self {
        self.secret_headers
            .push((HeaderName::from_static(name), value));
        self
    }

    pub fn bearer(self, token: &Secret) -> Self {
        let value = Secret::new(format!("Bearer {}", token.expose()));
        self.secret_header("authorization", value)
    }

    pub fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Some(Body::Json(value));
        self
    }

    pub fn form(mut self, pairs: Vec<(String, FormValue)>) -> Self {
        self.body = Some(Body::Form(pairs));
        self
    }
}

/// A response with its body read (up to the cap).
#[derive(Debug, Clone)]
pub struct Response {
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Transient failures retried before this response.
    pub retries: u32,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON; the error names the URL and quotes the start of the body.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|err| {
            let start: String = self.text().chars().take(80).collect();
            format!(
                "{} returned invalid JSON ({err}); the body starts with {start:?}",
                self.url
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Settings for building a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub trust_anchors: Option<std::path::PathBuf>,
    pub public_roots: bool,
    /// Timeout of one attempt.
    pub request_timeout: Duration,
    pub max_body: usize,
    pub retry: RetryPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            trust_anchors: None,
            public_roots: false,
            request_timeout: Duration::from_secs(20),
            max_body: 8 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}

/// The shared client of a run.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: ClientConfig,
}

impl HttpClient {
    /// Builds a client that trusts exactly the profile's anchors (plus public roots if asked).
    pub fn new(config: ClientConfig) -> Result<Self, HttpError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(config.public_roots)
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fedcloud-conformance/", env!("CARGO_PKG_VERSION")));
        if let Some(dir) = &config.trust_anchors {
            for cert in load_trust_anchors(dir)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let inner = builder.build().map_err(|err| HttpError::TrustAnchors {
            path: config
                .trust_anchors
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            reason: err.to_string(),
        })?;
        Ok(HttpClient { inner, config })
    }

    /// Sends `request`, retrying transient errors, and records each attempt in `evidence`.
    pub async fn send(
        &self,
        request: &Request,
        evidence: &Evidence,
    ) -> Result<Response, HttpError> {
        let url = reqwest::Url::parse(&request.url).map_err(|err| HttpError::InvalidUrl {
            url: request.url.clone(),
            reason: err.to_string(),
        })?;
        let attempts = if request.retry {
            self.config.retry.attempts.max(1)
        } else {
            1
        };
        let mut backoff = self.config.retry.initial_backoff;
        let mut last_reason = String::new();
        for attempt in 1..=attempts {
            match self.attempt(request, url.clone()).await {
                Ok(mut response) => {
                    let transient = matches!(response.status.as_u16(), 502..=504);
                    record_exchange(evidence, request, Some(&response), None);
                    if transient && attempt < attempts {
                        tracing::debug!(url = %request.url, status = %response.status, attempt, "retrying");
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                        continue;
                    }
                    response.retries = attempt - 1;
                    return Ok(response);
                }
                Err(AttemptError::TooLarge) => {
                    record_exchange(evidence, request, None, Some("response body too large"));
                    return Err(HttpError::BodyTooLarge {
                        method: request.method.clone(),
                        url: request.url.clone(),
                        limit: self.config.max_body,
                    });
                }
                Err(AttemptError::Transport(reason)) => {
                    record_exchange(evidence, request, None, Some(&reason));
                    last_reason = reason;
                    if attempt < attempts {
                        tracing::debug!(url = %request.url, reason = %last_reason, attempt, "retrying");
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                }
            }
        }
        Err(HttpError::Transport {
            method: request.method.clone(),
            url: request.url.clone(),
            attempts,
            reason: last_reason,
        })
    }

    async fn attempt(
        &self,
        request: &Request,
        url: reqwest::Url,
    ) -> Result<Response, AttemptError> {
        let mut builder = self.inner.request(request.method.clone(), url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        for (name, secret) in &request.secret_headers {
            let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
                AttemptError::Transport(format!(
                    "header {name} holds characters HTTP does not allow"
                ))
            })?;
            value.set_sensitive(true);
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            Some(Body::Json(value)) => builder.json(value),
            Some(Body::Form(pairs)) => {
                let plain: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(key, value)| match value {
                        FormValue::Plain(text) => (key.as_str(), text.as_str()),
                        FormValue::Secret(secret) => (key.as_str(), secret.expose()),
                    })
                    .collect();
                builder.form(&plain)
            }
            None => builder,
        };
        let mut response = builder
            .send()
            .await
            .map_err(|err| AttemptError::Transport(describe_reqwest(&err)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let final_url = response.url().to_string();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.config.max_body {
                        return Err(AttemptError::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err(AttemptError::Transport(describe_reqwest(&err))),
            }
        }
        Ok(Response {
            url: final_url,
            status,
            headers,
            body,
            retries: 0,
        })
    }
}

enum AttemptError {
    Transport(String),
    TooLarge,
}

/// Describes a reqwest error with its causes, which carry the TLS or socket reason.
fn describe_reqwest(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Reads every PEM certificate in a directory (IGTF bundles hold `.pem` files and hash links).
pub fn load_trust_anchors(dir: &Path) -> Result<Vec<reqwest::Certificate>, HttpError> {
    let fail = |reason: String| HttpError::TrustAnchors {
        path: dir.display().to_string(),
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|err| fail(err.to_string()))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    let mut certs = Vec::new();
    for path in paths {
        let is_pem = path
            .extension()
            .is_some_and(|ext| ext == "pem" || ext == "crt" || ext == "0");
        if !is_pem || !path.is_file() {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|err| fail(format!("{}: {err}", path.display())))?;
        let found = reqwest::Certificate::from_pem_bundle(&bytes)
            .map_err(|err| fail(format!("{}: {err}", path.display())))?;
        certs.extend(found);
    }
    if certs.is_empty() {
        return Err(fail("no PEM certificates (*.pem, *.crt) found".to_owned()));
    }
    Ok(certs)
}

/// Writes one exchange as a text file: request line, headers, body, then the response.
fn record_exchange(
    evidence: &Evidence,
    request: &Request,
    response: Option<&Response>,
    error: Option<&str>,
) {
    let mut text = format!("{} {}\n", request.method, request.url);
    for (name, value) in &request.headers {
        let _ = writeln!(text, "{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    for (name, _) in &request.secret_headers {
        let _ = writeln!(text, "{name}: {REDACTED}");
    }
    match &request.body {
        Some(Body::Json(value)) => {
            let _ = write!(text, "\n{}\n", redact_json(value.clone()));
        }
        Some(Body::Form(pairs)) => {
            let shown: Vec<String> = pairs
                .iter()
                .map(|(key, value)| match value {
                    FormValue::Plain(v) if !SECRET_KEYS.contains(&key.as_str()) => {
                        format!("{key}={v}")
                    }
                    _ => format!("{key}={REDACTED}"),
                })
                .collect();
            let _ = write!(text, "\n{}\n", shown.join("&"));
        }
        None => {}
    }
    text.push_str("\n---\n");
    if let Some(response) = response {
        let _ = writeln!(text, "HTTP {}", response.status);
        for (name, value) in &response.headers {
            let shown = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED
            } else {
                value.to_str().unwrap_or("<binary>")
            };
            let _ = writeln!(text, "{name}: {shown}");
        }
        text.push('\n');
        text.push_str(&redact_body(&response.body));
    }
    if let Some(error) = error {
        let _ = writeln!(text, "no response: {error}");
    }
    let host = reqwest::Url::parse(&request.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    evidence.add_text(&format!("http-{}-{host}.txt", request.method), &text);
}

/// Redacts credential fields of a JSON body, or truncates a non-JSON one.
fn redact_body(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = redact_json(value).to_string();
        return truncate(&text);
    }
    truncate(&String::from_utf8_lossy(body))
}

fn truncate(text: &str) -> String {
    if text.len() <= EVIDENCE_BODY_CAP {
        return text.to_owned();
    }
    let mut end = EVIDENCE_BODY_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[… {} more bytes not kept]",
        &text[..end],
        text.len() - end
    )
}

/// Replaces the values of credential keys anywhere in a JSON document.
pub fn redact_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    if SECRET_KEYS.contains(&key.as_str()) && value.is_string() {
                        (key, Value::String(REDACTED.to_owned()))
                    } else {
                        (key, redact_json(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_json_hides_nested_tokens() {
        let value =
            serde_json::json!({"a": {"refresh_token": "r-123456"}, "password": "p", "keep": "x"});
        let redacted = redact_json(value).to_string();
        assert!(!redacted.contains("r-123456"));
        assert!(redacted.contains("\"keep\":\"x\""));
        assert!(redacted.contains("\"password\":\"[REDACTED]\""));
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        let text = "é".repeat(EVIDENCE_BODY_CAP);
        let cut = truncate(&text);
        assert!(cut.contains("more bytes not kept"));
    }
}
