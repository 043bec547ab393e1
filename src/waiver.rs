//! Waivers: time-limited, approved exceptions for checks a site is known to fail.
//!
//! A waiver file is TOML with one `[[waiver]]` table per check:
//!
//! ```toml
//! [[waiver]]
//! check = "aai.ops-project"
//! justification = "ops project is created during the site's maintenance window"
//! approved_by = "EGI operations (ticket GGUS-123456)"
//! expires = 2026-12-31T23:59:59Z
//! ```
//!
//! A waiver applies only to a `failed` check: the failure is reported as waived and no longer
//! fails the run. A check in `error` was not evaluated, so there is nothing to accept. A waiver
//! whose expiry is before the run started is ignored and reported as expired.
//!
//! In `--mode certify` the file must carry a detached ed25519 signature (`FILE.sig`, base64)
//! made with the operator's key that signs the bundle (`--sign`), so only waivers the
//! certifying operator approved can change a certification verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;
use sha2::{Digest, Sha256};

use crate::checks::Status;
use crate::location::ConfigError;
use crate::manifest::Catalog;
use crate::runner::CheckRecord;

/// Name of the detached signature beside a waiver file: the file name plus this suffix.
pub const SIGNATURE_SUFFIX: &str = ".sig";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default, rename = "waiver")]
    waivers: Vec<RawWaiver>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    check: Spanned<String>,
    justification: Spanned<String>,
    approved_by: Spanned<String>,
    expires: Spanned<toml::value::Datetime>,
}

/// One waiver as it applies to a check of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub check: String,
    pub justification: String,
    pub approved_by: String,
    pub expires: DateTime<Utc>,
    /// Set when the expiry was before the run started; an expired waiver changes no outcome.
    #[serde(default)]
    pub expired: bool,
}

impl Waiver {
    /// Returns whether this waiver turns an outcome of its check into a waived failure.
    pub fn waives(&self, status: Status) -> bool {
        status == Status::Failed && !self.expired
    }

    /// Describes the waiver in one line, for terminals and status lines.
    pub fn describe(&self) -> String {
        let state = if self.expired { "expired" } else { "until" };
        format!(
            "approved by {} {state} {}: {}",
            self.approved_by,
            self.expires.format("%Y-%m-%dT%H:%M:%SZ"),
            self.justification
        )
    }
}

/// A loaded waiver file.
#[derive(Debug, Clone)]
pub struct WaiverSet {
    pub path: PathBuf,
    /// The file as read, so the bundle can keep an exact copy.
    pub bytes: Vec<u8>,
    /// The detached signature as read, when the file had one.
    pub signature: Option<Vec<u8>>,
    /// SHA-256 (hex) of the verified signer's public key.
    pub signed_by: Option<String>,
    pub waivers: Vec<Waiver>,
}

/// The record in `report.json` of a run's waiver file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverSummary {
    /// Bundle-relative copy of the file.
    pub file: String,
    pub sha256: String,
    pub signed_by: Option<String>,
    /// Check ids whose failure was waived.
    pub applied: Vec<String>,
    /// Waivers ignored because they had expired.
    pub expired: Vec<Waiver>,
    /// Active waivers whose check did not fail (passed, error, skipped or not selected).
    pub unused: Vec<Waiver>,
}

impl WaiverSet {
    /// Reads and validates a waiver file against the catalog's check ids.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<WaiverSet, ConfigError> {
        let bytes = std::fs::read(path)
            .map_err(|err| ConfigError::file(path, format!("cannot read waiver file: {err}")))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| ConfigError::file(path, "the waiver file is not UTF-8"))?;
        let waivers = parse(path, &text, catalog)?;
        let signature_path = signature_path(path);
        let signature = match std::fs::read(&signature_path) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(ConfigError::file(
                    &signature_path,
                    format!("cannot read waiver signature: {err}"),
                ));
            }
        };
        Ok(WaiverSet {
            path: path.to_owned(),
            bytes,
            signature,
            signed_by: None,
            waivers,
        })
    }

    /// Verifies the detached signature with the public half of the operator's signing key
    /// (PKCS#8 PEM, the `--sign` key) and records the signer.
    pub fn verify_signature(&mut self, signing_key_file: &Path) -> Result<(), String> {
        let pem = std::fs::read_to_string(signing_key_file).map_err(|err| {
            format!(
                "cannot read signing key {}: {err}",
                signing_key_file.display()
            )
        })?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
            format!(
                "{} is not an ed25519 private key in PKCS#8 PEM: {err}",
                signing_key_file.display()
            )
        })?;
        self.verify_with(&key.verifying_key())
    }

    /// Verifies the detached signature against `key`.
    pub fn verify_with(&mut self, key: &VerifyingKey) -> Result<(), String> {
        let signature_path = signature_path(&self.path);
        let Some(encoded) = &self.signature else {
            return Err(format!(
                "{} is missing (hint: sign the waiver file with `openssl pkeyutl -sign -rawin -inkey KEY.pem -in {} | base64 -w0 > {}`)",
                signature_path.display(),
                self.path.display(),
                signature_path.display()
            ));
        };
        let signature = base64::engine::general_purpose::STANDARD
            .decode(String::from_utf8_lossy(encoded).trim())
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or_else(|| {
                format!(
                    "{} is not a base64 ed25519 signature",
                    signature_path.display()
                )
            })?;
        key.verify(&self.bytes, &signature).map_err(|_| {
            format!(
                "{} does not match {} for the operator's key",
                signature_path.display(),
                self.path.display()
            )
        })?;
        self.signed_by = Some(hex::encode(Sha256::digest(key.as_bytes())));
        Ok(())
    }

    /// Attaches each waiver to the record of its check, marking those expired at `now`.
    pub fn apply(&self, records: &mut [CheckRecord], now: DateTime<Utc>) {
        for record in records.iter_mut() {
            record.waiver = self
                .waivers
                .iter()
                .find(|waiver| waiver.check == record.spec.id)
                .map(|waiver| Waiver {
                    expired: waiver.expires <= now,
                    ..waiver.clone()
                });
        }
    }

    /// Builds the summary for `report.json` from records that `apply` has seen.
    pub fn summary(&self, records: &[CheckRecord], now: DateTime<Utc>) -> WaiverSummary {
        let by_check: BTreeMap<&str, &CheckRecord> = records
            .iter()
            .map(|record| (record.spec.id.as_str(), record))
            .collect();
        let mut summary = WaiverSummary {
            file: self.bundle_path(),
            sha256: hex::encode(Sha256::digest(&self.bytes)),
            signed_by: self.signed_by.clone(),
            applied: Vec::new(),
            expired: Vec::new(),
            unused: Vec::new(),
        };
        for waiver in &self.waivers {
            let expired = waiver.expires <= now;
            let noted = Waiver {
                expired,
                ..waiver.clone()
            };
            let record = by_check.get(waiver.check.as_str());
            if expired {
                summary.expired.push(noted);
            } else if record.is_some_and(|record| noted.waives(record.status)) {
                summary.applied.push(waiver.check.clone());
            } else {
                summary.unused.push(noted);
            }
        }
        summary
    }

    /// Returns the bundle-relative path of the file's copy; `verify` checks the copy and its
    /// signature again.
    pub fn bundle_path(&self) -> String {
        "waivers/waivers.toml".to_owned()
    }
}

fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Vec<Waiver>, ConfigError> {
    let file: WaiverFile =
        toml::from_str(text).map_err(|err| ConfigError::from_toml(path, text, &err))?;
    let mut waivers: Vec<Waiver> = Vec::new();
    for raw in file.waivers {
        let located = |span: std::ops::Range<usize>, message: String| {
            ConfigError::at(path, text, Some(span), message)
        };
        let check = raw.check.get_ref().clone();
        if catalog.get(&check).is_none() {
            return Err(
                located(raw.check.span(), format!("unknown check `{check}`"))
                    .with_hint("use an id that `fedcloud-conformance list` prints"),
            );
        }
        if waivers.iter().any(|waiver| waiver.check == check) {
            return Err(located(
                raw.check.span(),
                format!("check `{check}` has a second waiver"),
            )
            .with_hint("keep one waiver per check"));
        }
        for (field, value) in [
            ("justification", &raw.justification),
            ("approved_by", &raw.approved_by),
        ] {
            if value.get_ref().trim().is_empty() {
                return Err(located(
                    value.span(),
                    format!("the waiver of `{check}` has an empty {field}"),
                ));
            }
        }
        let expires = utc_expiry(raw.expires.get_ref()).map_err(|message| {
            located(raw.expires.span(), message)
                .with_hint("write the expiry as a UTC date and time, e.g. 2026-12-31T23:59:59Z")
        })?;
        waivers.push(Waiver {
            check,
            justification: raw.justification.into_inner().trim().to_owned(),
            approved_by: raw.approved_by.into_inner().trim().to_owned(),
            expires,
            expired: false,
        });
    }
    Ok(waivers)
}

/// Accepts only a full date-time with the `Z` offset, so an expiry never depends on the
/// time zone of the machine that reads it.
fn utc_expiry(value: &toml::value::Datetime) -> Result<DateTime<Utc>, String> {
    let is_utc = matches!(value.offset, Some(toml::value::Offset::Z))
        || matches!(
            value.offset,
            Some(toml::value::Offset::Custom { minutes: 0 })
        );
    if value.date.is_none() || value.time.is_none() || !is_utc {
        return Err(format!("expiry `{value}` is not a UTC date and time"));
    }
    DateTime::parse_from_rfc3339(&value.to_string())
        .map(|parsed| parsed.with_timezone(&Utc))
        .map_err(|err| format!("expiry `{value}` is invalid: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let manifest = r#"
[suite]
name = "requirements"
title = "Requirements"

[[check]]
id = "requirements.keystone-v3"
title = "Keystone v3"
level = "required"
rule = "Keystone serves the Identity API v3."
kind = "keystone-version"
"#;
        Catalog::from_sources(vec![(PathBuf::from("requirements.toml"), manifest.into())]).unwrap()
    }

    fn waiver_text(check: &str, expires: &str) -> String {
        format!(
            "[[waiver]]\ncheck = \"{check}\"\njustification = \"upgrade planned\"\napproved_by = \"EGI operations\"\nexpires = {expires}\n"
        )
    }

    #[test]
    fn parses_utc_waiver() {
        let text = waiver_text("requirements.keystone-v3", "2030-01-02T03:04:05Z");
        let waivers = parse(Path::new("w.toml"), &text, &catalog()).unwrap();
        assert_eq!(waivers.len(), 1);
        assert_eq!(waivers[0].approved_by, "EGI operations");
        assert_eq!(waivers[0].expires.to_rfc3339(), "2030-01-02T03:04:05+00:00");
    }

    #[test]
    fn rejects_bad_waivers_with_location() {
        let cases = [
            (
                waiver_text("requirements.nope", "2030-01-02T03:04:05Z"),
                "unknown check `requirements.nope`",
            ),
            (
                waiver_text("requirements.keystone-v3", "2030-01-02T03:04:05+02:00"),
                "is not a UTC date and time",
            ),
            (
                waiver_text("requirements.keystone-v3", "2030-01-02"),
                "is not a UTC date and time",
            ),
            (
                waiver_text("requirements.keystone-v3", "2030-01-02T03:04:05Z")
                    .replace("upgrade planned", " "),
                "empty justification",
            ),
            (
                format!(
                    "{}{}",
                    waiver_text("requirements.keystone-v3", "2030-01-02T03:04:05Z"),
                    waiver_text("requirements.keystone-v3", "2031-01-02T03:04:05Z")
                ),
                "has a second waiver",
            ),
            (
                waiver_text("requirements.keystone-v3", "2030-01-02T03:04:05Z")
                    .replace("approved_by", "approver"),
                "unknown field `approver`",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(Path::new("w.toml"), &text, &catalog()).unwrap_err();
            assert!(err.message.contains(expected), "{err} for\n{text}");
            assert!(err.line >= 1, "{err}");
        }
    }
}
