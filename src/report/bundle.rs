//! Integrity of a bundle: `SHA256SUMS` over every file, an optional ed25519 signature of it,
//! and `verify`, which recomputes all of it, checks the copied waiver file and its signature,
//! and checks that JUnit and JSON agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::report::ReportJson;

pub const SUMS_FILE: &str = "SHA256SUMS";
pub const SIGNATURE_FILE: &str = "SHA256SUMS.sig";
pub const PUBLIC_KEY_FILE: &str = "SHA256SUMS.pub";

/// Files that `SHA256SUMS` does not cover, because they are derived from it.
const UNSUMMED: [&str; 3] = [SUMS_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE];

/// Writes `SHA256SUMS` (`<hex>  <path>` per file, sorted, in `sha256sum` format).
pub fn write_sums(root: &Path) -> std::io::Result<()> {
    let mut text = String::new();
    for (relative, digest) in hash_tree(root)? {
        text.push_str(&format!("{digest}  {relative}\n"));
    }
    std::fs::write(root.join(SUMS_FILE), text)
}

/// Signs `SHA256SUMS` with an ed25519 PKCS#8 PEM key (as `openssl genpkey -algorithm ed25519`
/// writes it), storing the signature and the public key beside it.
pub fn sign_bundle(root: &Path, key_file: &Path) -> Result<(), String> {
    let pem = std::fs::read_to_string(key_file)
        .map_err(|err| format!("cannot read signing key {}: {err}", key_file.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
        format!(
            "{} is not an ed25519 private key in PKCS#8 PEM ({err}); create one with `openssl genpkey -algorithm ed25519 -out {}`",
            key_file.display(),
            key_file.display()
        )
    })?;
    let sums = std::fs::read(root.join(SUMS_FILE))
        .map_err(|err| format!("cannot read {SUMS_FILE}: {err}"))?;
    let signature = key.sign(&sums);
    let encoded = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
    std::fs::write(root.join(SIGNATURE_FILE), format!("{encoded}\n"))
        .map_err(|err| format!("cannot write {SIGNATURE_FILE}: {err}"))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|err| format!("cannot encode the public key: {err}"))?;
    std::fs::write(root.join(PUBLIC_KEY_FILE), public)
        .map_err(|err| format!("cannot write {PUBLIC_KEY_FILE}: {err}"))
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// The bundle-relative file concerned.
    pub file: String,
    pub problem: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

/// Checks a bundle; an empty list means it is intact. `trusted_key` pins the signer's public
/// key; without it, a signature is checked against the key stored in the bundle, which proves
/// integrity but not who signed.
pub fn verify_bundle(root: &Path, trusted_key: Option<&Path>) -> Vec<VerifyError> {
    let mut errors = Vec::new();
    let problem = |file: &str, text: String| VerifyError {
        file: file.to_owned(),
        problem: text,
    };
    let sums_bytes = match std::fs::read(root.join(SUMS_FILE)) {
        Ok(bytes) => bytes,
        Err(err) => return vec![problem(SUMS_FILE, format!("cannot read: {err}"))],
    };
    let listed = match parse_sums(&String::from_utf8_lossy(&sums_bytes)) {
        Ok(listed) => listed,
        Err(err) => return vec![problem(SUMS_FILE, err)],
    };
    let actual = match hash_tree(root) {
        Ok(actual) => actual,
        Err(err) => return vec![problem(".", format!("cannot read the bundle: {err}"))],
    };
    for (file, digest) in &listed {
        match actual.get(file) {
            None => errors.push(problem(file, "listed in SHA256SUMS but missing".to_owned())),
            Some(found) if found != digest => {
                errors.push(problem(
                    file,
                    format!("SHA-256 is {found}, SHA256SUMS says {digest}"),
                ));
            }
            Some(_) => {}
        }
    }
    for file in actual.keys().filter(|file| !listed.contains_key(*file)) {
        errors.push(problem(
            file,
            "present but not listed in SHA256SUMS".to_owned(),
        ));
    }
    errors.extend(verify_signature(root, &sums_bytes, trusted_key));
    errors.extend(verify_waivers(root, trusted_key));
    errors.extend(compare_reports(root));
    errors
}

/// Reads the key that signatures in the bundle are checked against: the pinned key when given,
/// otherwise the one stored in the bundle.
fn bundle_key(root: &Path, trusted_key: Option<&Path>) -> Result<VerifyingKey, VerifyError> {
    let key_path: PathBuf =
        trusted_key.map_or_else(|| root.join(PUBLIC_KEY_FILE), Path::to_path_buf);
    std::fs::read_to_string(&key_path)
        .map_err(|err| err.to_string())
        .and_then(|pem| VerifyingKey::from_public_key_pem(&pem).map_err(|err| err.to_string()))
        .map_err(|err| VerifyError {
            file: key_path.display().to_string(),
            problem: format!("not a usable ed25519 public key: {err}"),
        })
}

/// Reason a detached signature is not valid.
enum BadSignature {
    /// Missing, or not a base64 ed25519 signature.
    Unreadable,
    /// A signature, but not by this key over these bytes.
    Mismatch,
}

/// Checks a detached base64 ed25519 signature file over `signed`.
fn check_detached(
    key: &VerifyingKey,
    signed: &[u8],
    signature_path: &Path,
) -> Result<(), BadSignature> {
    let signature = std::fs::read_to_string(signature_path)
        .ok()
        .and_then(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
        })
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(BadSignature::Unreadable)?;
    key.verify(signed, &signature)
        .map_err(|_| BadSignature::Mismatch)
}

fn verify_signature(root: &Path, sums: &[u8], trusted_key: Option<&Path>) -> Vec<VerifyError> {
    let signature_path = root.join(SIGNATURE_FILE);
    let fail = |text: String| {
        vec![VerifyError {
            file: SIGNATURE_FILE.to_owned(),
            problem: text,
        }]
    };
    if !signature_path.exists() {
        return match trusted_key {
            Some(_) => fail("missing, but --key asks for a signed bundle".to_owned()),
            None => Vec::new(),
        };
    }
    let key = match bundle_key(root, trusted_key) {
        Ok(key) => key,
        Err(error) => return vec![error],
    };
    match check_detached(&key, sums, &signature_path) {
        Ok(()) => Vec::new(),
        Err(BadSignature::Unreadable) => fail("not a base64 ed25519 signature".to_owned()),
        Err(BadSignature::Mismatch) => fail(format!(
            "does not match SHA256SUMS for the key in {}",
            trusted_key.map_or_else(
                || root.join(PUBLIC_KEY_FILE).display().to_string(),
                |key| key.display().to_string()
            )
        )),
    }
}

/// Checks the waiver file copied into the bundle against what `report.json` records of it:
/// the same SHA-256 and, when the run recorded a signer, a signature by that key.
fn verify_waivers(root: &Path, trusted_key: Option<&Path>) -> Vec<VerifyError> {
    let Ok(report) = std::fs::read(root.join("report.json"))
        .map_err(|err| err.to_string())
        .and_then(|bytes| {
            serde_json::from_slice::<ReportJson>(&bytes).map_err(|err| err.to_string())
        })
    else {
        // compare_reports already reports an unreadable report.json.
        return Vec::new();
    };
    let Some(summary) = report.waivers else {
        return Vec::new();
    };
    let fail = |file: &str, text: String| {
        vec![VerifyError {
            file: file.to_owned(),
            problem: text,
        }]
    };
    let relative = Path::new(&summary.file);
    if relative.is_absolute()
        || relative
            .components()
            .any(|part| !matches!(part, std::path::Component::Normal(_)))
    {
        return fail(
            "report.json",
            format!(
                "waivers.file `{}` is not a path inside the bundle",
                summary.file
            ),
        );
    }
    let bytes = match std::fs::read(root.join(relative)) {
        Ok(bytes) => bytes,
        Err(err) => return fail(&summary.file, format!("cannot read the waiver copy: {err}")),
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    if digest != summary.sha256 {
        return fail(
            &summary.file,
            format!(
                "SHA-256 is {digest}, but report.json records {} for the waiver file the run used",
                summary.sha256
            ),
        );
    }
    let Some(signer) = summary.signed_by else {
        return Vec::new();
    };
    let signature_file = format!("{}.sig", summary.file);
    if trusted_key.is_none() && !root.join(PUBLIC_KEY_FILE).exists() {
        return fail(
            &signature_file,
            format!(
                "the run recorded a waiver signer ({signer}) but the bundle has no {PUBLIC_KEY_FILE}; \
                 pass the operator's public key with --key"
            ),
        );
    }
    let key = match bundle_key(root, trusted_key) {
        Ok(key) => key,
        Err(error) => return vec![error],
    };
    let fingerprint = hex::encode(Sha256::digest(key.as_bytes()));
    if fingerprint != signer {
        return fail(
            &signature_file,
            format!(
                "report.json records waivers signed by key {signer}, but the bundle is checked \
                 against key {fingerprint}"
            ),
        );
    }
    match check_detached(&key, &bytes, &root.join(&signature_file)) {
        Ok(()) => Vec::new(),
        Err(BadSignature::Unreadable) => fail(
            &signature_file,
            "missing or not a base64 ed25519 signature, but the run recorded a signed waiver \
             file"
                .to_owned(),
        ),
        Err(BadSignature::Mismatch) => fail(
            &signature_file,
            format!("does not match {} for key {signer}", summary.file),
        ),
    }
}

/// Checks that `junit.xml` and `report.json` list the same checks with the same outcomes.
fn compare_reports(root: &Path) -> Vec<VerifyError> {
    let mut errors = Vec::new();
    let report: ReportJson = match std::fs::read(root.join("report.json"))
        .map_err(|err| err.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|err| err.to_string()))
    {
        Ok(report) => report,
        Err(err) => {
            errors.push(VerifyError {
                file: "report.json".into(),
                problem: format!("cannot be read: {err}"),
            });
            return errors;
        }
    };
    let junit = match std::fs::read_to_string(root.join("junit.xml"))
        .map_err(|err| err.to_string())
        .and_then(|xml| {
            quick_junit::Report::deserialize_from_str(&xml).map_err(|err| err.to_string())
        }) {
        Ok(junit) => junit,
        Err(err) => {
            errors.push(VerifyError {
                file: "junit.xml".into(),
                problem: format!("cannot be read: {err}"),
            });
            return errors;
        }
    };
    let from_json: BTreeSet<(String, String)> = report
        .checks
        .iter()
        .map(|check| (check.id.clone(), check.outcome().to_owned()))
        .collect();
    let from_junit: BTreeSet<(String, String)> = junit
        .test_suites
        .iter()
        .flat_map(|suite| suite.test_cases.iter())
        .map(|case| {
            (
                case.name.as_str().to_owned(),
                junit_outcome(case).to_owned(),
            )
        })
        .collect();
    for (id, status) in from_json.difference(&from_junit) {
        errors.push(VerifyError {
            file: "junit.xml".into(),
            problem: format!("check {id} is {status} in report.json but not in junit.xml"),
        });
    }
    for (id, status) in from_junit.difference(&from_json) {
        errors.push(VerifyError {
            file: "report.json".into(),
            problem: format!("check {id} is {status} in junit.xml but not in report.json"),
        });
    }
    errors
}

/// Maps a test case to the outcome words of `report.json`. A skipped case of type `waived` is
/// a waived failure.
fn junit_outcome(case: &quick_junit::TestCase) -> &'static str {
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    match &case.status {
        TestCaseStatus::Skipped { ty: Some(ty), .. } if ty.as_str() == "waived" => "waived",
        TestCaseStatus::Success { .. } => "passed",
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            ..
        } => "failed",
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            ..
        } => "error",
        TestCaseStatus::Skipped { .. } => "skipped",
    }
}

fn parse_sums(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut listed = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let Some((digest, file)) = line.split_once("  ") else {
            return Err(format!("line {} is not `<sha256>  <path>`", number + 1));
        };
        if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "line {} has an invalid SHA-256 `{digest}`",
                number + 1
            ));
        }
        listed.insert(file.to_owned(), digest.to_ascii_lowercase());
    }
    Ok(listed)
}

/// SHA-256 of every regular file under `root` except the sums and signature files.
fn hash_tree(root: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if UNSUMMED.contains(&relative.as_str()) {
                continue;
            }
            let bytes = std::fs::read(&path)?;
            out.insert(relative, hex::encode(Sha256::digest(&bytes)));
        }
    }
    Ok(out)
}
