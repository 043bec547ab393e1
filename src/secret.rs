//! Secrets (tokens, passwords, client secrets) and the redaction that keeps them out of every
//! output.
//!
//! A [`Secret`] never prints its value: `Debug`, `Display` and `Serialize` all write
//! [`REDACTED`]. Every secret the run learns is also registered with a [`Redactor`], which
//! scrubs free text (HTTP bodies, error messages, command output) before it reaches a report.

use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

/// Text written in place of a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not scrubbed from free text, because replacing every
/// occurrence of a two-letter string would destroy the evidence without protecting anything.
const MIN_SCRUB_LEN: usize = 6;

/// A secret value that redacts itself in every formatting and serialization path.
#[derive(Clone)]
pub struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    /// Wraps a value. Surrounding whitespace, such as a command's trailing newline, is dropped.
    pub fn new(value: impl Into<String>) -> Self {
        let value: String = value.into();
        Secret(Arc::new(Zeroizing::new(value.trim().to_owned())))
    }

    /// The value itself, for the one place that must send it (an HTTP header or form).
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Source of a secret: an environment variable or the standard output of a command (such as
/// `oidc-token ACCOUNT` of oidc-agent). Exactly one of the two is set.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Name of the environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Program and arguments whose standard output is the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// Failure to obtain a secret. The messages name the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (hint: export it before the run)")]
    EnvMissing(String),
    #[error("secret command `{command}` failed: {reason}")]
    Command { command: String, reason: String },
    #[error("secret source must set exactly one of `env` or `command`")]
    Ambiguous,
}

impl SecretSource {
    /// Describes the source for reports, e.g. `env FEDCLOUD_TOKEN`.
    pub fn describe(&self) -> String {
        match (&self.env, &self.command) {
            (Some(name), None) => format!("env {name}"),
            (None, Some(argv)) => format!("command {}", argv.join(" ")),
            _ => "invalid source".to_owned(),
        }
    }

    /// Checks the shape without reading anything.
    pub fn validate(&self) -> Result<(), SecretError> {
        match (&self.env, &self.command) {
            (Some(_), None) => Ok(()),
            (None, Some(argv)) if !argv.is_empty() => Ok(()),
            _ => Err(SecretError::Ambiguous),
        }
    }

    /// Reads the secret, looking first in `overrides` (used by `demo` to hand the reference
    /// site's tokens over without touching the process environment).
    pub async fn resolve(&self, overrides: &[(String, Secret)]) -> Result<Secret, SecretError> {
        self.validate()?;
        if let Some(name) = &self.env {
            if let Some((_, value)) = overrides.iter().find(|(key, _)| key == name) {
                return Ok(value.clone());
            }
            return match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
                _ => Err(SecretError::EnvMissing(name.clone())),
            };
        }
        let argv = self.command.as_deref().unwrap_or_default();
        let command = argv.join(" ");
        let output = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|err| SecretError::Command {
                command: command.clone(),
                reason: err.to_string(),
            })?;
        if !output.status.success() {
            // The command's stderr may echo the secret, so only its exit status is reported.
            return Err(SecretError::Command {
                command,
                reason: format!("exited with {}", output.status),
            });
        }
        let value = String::from_utf8_lossy(&output.stdout).into_owned();
        if value.trim().is_empty() {
            return Err(SecretError::Command {
                command,
                reason: "printed nothing".to_owned(),
            });
        }
        Ok(Secret::new(value))
    }
}

/// The set of secret values known to a run, used to scrub free text before it is written.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<Secret>>>,
}

impl Redactor {
    /// Registers a secret so that later [`Redactor::scrub`] calls remove it.
    pub fn register(&self, secret: &Secret) {
        if secret.expose().len() < MIN_SCRUB_LEN {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if !values.iter().any(|known| known.expose() == secret.expose()) {
            values.push(secret.clone());
        }
    }

    /// Replaces every registered secret, and anything shaped like a JWT, with [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        for secret in values.iter() {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), REDACTED);
            }
        }
        scrub_jwts(&out)
    }
}

/// Replaces JWT-shaped words (`eyJ` header, three base64url parts). Tokens the run never
/// registered, such as one a broken site echoes back, are caught this way.
fn scrub_jwts(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_owned();
    }
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(candidate.len());
        let word = &candidate[..end];
        if word.split('.').filter(|part| !part.is_empty()).count() >= 2 && word.contains('.') {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-5f0e1d2c-secret-value";

    #[test]
    fn secret_debug_display_serialize_redact() {
        let secret = Secret::new(CANARY);
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{secret}"), REDACTED);
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, format!("\"{REDACTED}\""));
        assert_eq!(secret.expose(), CANARY);
    }

    #[test]
    fn redactor_scrubs_registered_values() {
        let redactor = Redactor::default();
        redactor.register(&Secret::new(CANARY));
        let text = format!("body: {{\"token\": \"{CANARY}\"}} and again {CANARY}");
        let scrubbed = redactor.scrub(&text);
        assert!(!scrubbed.contains(CANARY));
        assert_eq!(scrubbed.matches(REDACTED).count(), 2);
    }

    #[test]
    fn redactor_scrubs_unregistered_jwt() {
        let text = "Authorization failed for eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln end";
        let scrubbed = Redactor::default().scrub(text);
        assert_eq!(scrubbed, format!("Authorization failed for {REDACTED} end"));
    }

    #[test]
    fn redactor_keeps_plain_eyj_words() {
        let scrubbed = Redactor::default().scrub("eyJohn said hello");
        assert_eq!(scrubbed, "eyJohn said hello");
    }

    #[tokio::test]
    async fn source_reads_command_output() {
        let source = SecretSource {
            env: None,
            command: Some(vec!["echo".into(), CANARY.into()]),
        };
        let secret = source.resolve(&[]).await.unwrap();
        assert_eq!(secret.expose(), CANARY);
    }

    #[tokio::test]
    async fn source_missing_env_names_variable() {
        let source = SecretSource {
            env: Some("FEDCLOUD_TEST_SURELY_UNSET_VARIABLE".into()),
            command: None,
        };
        let err = source.resolve(&[]).await.unwrap_err().to_string();
        assert!(err.contains("FEDCLOUD_TEST_SURELY_UNSET_VARIABLE"), "{err}");
    }

    #[test]
    fn source_with_both_fields_is_invalid() {
        let source = SecretSource {
            env: Some("A".into()),
            command: Some(vec!["b".into()]),
        };
        assert!(matches!(source.validate(), Err(SecretError::Ambiguous)));
    }
}
