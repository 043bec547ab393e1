//! X.509 helpers for the network suite: a strict PEM reader that reports line numbers, IGTF
//! style CA directories and CRL bundles, RFC 4514 names, and a diagnosis of why a served
//! certificate chain does not build to a trust anchor.
//!
//! The reader is strict on purpose. OpenSSL 3 rejects a bundle in which one `-----END` marker
//! and the next `-----BEGIN` marker share a line, so a laxer reader here would pass a CRL
//! bundle that the site's TLS server cannot load.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};
use x509_parser::revocation_list::CertificateRevocationList;

/// PEM label of a certificate.
pub const CERTIFICATE: &str = "CERTIFICATE";
/// PEM label of a certificate revocation list.
pub const X509_CRL: &str = "X509 CRL";

/// One `-----BEGIN …-----` … `-----END …-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
    /// 1-based line of the BEGIN marker.
    pub line: usize,
}

/// A PEM text that cannot be read, with the line to look at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error(
        "line {line} reads `{text}`: a PEM marker shares its line with other text, so OpenSSL cannot read the block (hint: put each -----BEGIN and -----END marker on a line of its own)"
    )]
    GluedMarker { line: usize, text: String },
    #[error("line {line}: -----BEGIN {label}----- has no matching -----END {label}----- line")]
    Unterminated { line: usize, label: String },
    #[error("line {line}: -----END {label}----- without a -----BEGIN {label}----- line before it")]
    UnexpectedEnd { line: usize, label: String },
    #[error("line {line}: the {label} block is not valid base64: {reason}")]
    Base64 {
        line: usize,
        label: String,
        reason: String,
    },
    #[error("line {line}: the {label} block is truncated or is not DER: {reason}")]
    Der {
        line: usize,
        label: String,
        reason: String,
    },
}

/// Splits a line into a marker kind and label when the whole line is one marker. RFC 7468
/// labels never contain two hyphens in a row, so a line holding two markers is not one.
fn marker(line: &str) -> Option<(&'static str, &str)> {
    let inner = line.strip_prefix("-----")?.strip_suffix("-----")?;
    let (kind, label) = if let Some(label) = inner.strip_prefix("BEGIN ") {
        ("BEGIN", label)
    } else {
        ("END", inner.strip_prefix("END ")?)
    };
    (!label.contains("--")).then_some((kind, label))
}

/// Reads every PEM block of `text`. Text between blocks is ignored, as OpenSSL does.
pub fn parse_pem(text: &str) -> Result<Vec<PemBlock>, PemError> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        let has_marker = trimmed.contains("-----BEGIN ") || trimmed.contains("-----END ");
        match marker(trimmed) {
            None if has_marker => {
                return Err(PemError::GluedMarker {
                    line,
                    text: trimmed.to_owned(),
                });
            }
            None => {
                if let Some((_, _, body)) = open.as_mut() {
                    body.push_str(trimmed);
                }
            }
            Some(("BEGIN", label)) => {
                if let Some((begin, label, _)) = open.take() {
                    return Err(PemError::Unterminated { line: begin, label });
                }
                open = Some((line, label.to_owned(), String::new()));
            }
            Some((_, label)) => {
                let Some((begin, begin_label, body)) = open.take() else {
                    return Err(PemError::UnexpectedEnd {
                        line,
                        label: label.to_owned(),
                    });
                };
                if begin_label != label {
                    return Err(PemError::Unterminated {
                        line: begin,
                        label: begin_label,
                    });
                }
                let der = base64::engine::general_purpose::STANDARD
                    .decode(body.as_bytes())
                    .map_err(|err| PemError::Base64 {
                        line: begin,
                        label: begin_label.clone(),
                        reason: err.to_string(),
                    })?;
                blocks.push(PemBlock {
                    label: begin_label,
                    der,
                    line: begin,
                });
            }
        }
    }
    match open {
        Some((line, label, _)) => Err(PemError::Unterminated { line, label }),
        None => Ok(blocks),
    }
}

/// A file that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct FileProblem {
    pub path: PathBuf,
    pub reason: String,
}

impl FileProblem {
    fn new(path: &Path, reason: impl Into<String>) -> Self {
        FileProblem {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A CA certificate read from a trust-anchor directory.
#[derive(Debug, Clone)]
pub struct CaCertificate {
    pub path: PathBuf,
    pub der: CertificateDer<'static>,
    /// Subject in RFC 4514 form.
    pub subject: String,
    pub not_after: i64,
}

/// A CRL read from a file.
#[derive(Debug, Clone)]
pub struct Crl {
    pub path: PathBuf,
    pub line: usize,
    /// Issuer in RFC 4514 form.
    pub issuer: String,
    /// `thisUpdate`, Unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, Unix seconds. RFC 5280 lets a CRL omit it.
    pub next_update: Option<i64>,
    pub revoked: usize,
    pub der: Vec<u8>,
}

/// The contents of an IGTF-style trust-anchor directory.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// Distinct certificates: the hash links of `openssl rehash` repeat a `.pem` file.
    pub certificates: Vec<CaCertificate>,
    /// CRLs found as `<hash>.r0` files, as fetch-crl writes them.
    pub crls: Vec<Crl>,
    /// Files that look like certificates or CRLs but cannot be read.
    pub problems: Vec<FileProblem>,
}

/// Classifies a file of a trust-anchor directory by its name: certificate, CRL or neither.
fn file_role(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    let is_hash_link = ext.len() == 1 && ext.as_bytes()[0].is_ascii_digit();
    let is_crl = ext.len() == 2 && ext.starts_with('r') && ext.as_bytes()[1].is_ascii_digit();
    if ext == "pem" || ext == "crt" || is_hash_link {
        Some(CERTIFICATE)
    } else if is_crl || ext == "crl" {
        Some(X509_CRL)
    } else {
        None
    }
}

/// Reads a trust-anchor directory. Only a missing or unreadable directory is an error, and bad
/// files are collected in [`TrustStore::problems`] so that one report can name all of them.
pub fn read_trust_store(dir: &Path) -> Result<TrustStore, FileProblem> {
    let entries = std::fs::read_dir(dir).map_err(|err| FileProblem::new(dir, err.to_string()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    let mut store = TrustStore::default();
    for path in paths {
        match file_role(&path) {
            Some(CERTIFICATE) => match read_certificates(&path) {
                Ok(found) => {
                    for cert in found {
                        if !store.certificates.iter().any(|known| known.der == cert.der) {
                            store.certificates.push(cert);
                        }
                    }
                }
                Err(problem) => store.problems.push(problem),
            },
            Some(_) => match read_crls(&path) {
                Ok(found) => store.crls.extend(found),
                Err(problem) => store.problems.push(problem),
            },
            None => {}
        }
    }
    Ok(store)
}

fn read_text(path: &Path) -> Result<String, FileProblem> {
    let bytes = std::fs::read(path).map_err(|err| FileProblem::new(path, err.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|_| FileProblem::new(path, "not PEM text: the file is binary (DER?)"))
}

/// Reads every certificate of a PEM file; an empty file or a bad block is an error.
pub fn read_certificates(path: &Path) -> Result<Vec<CaCertificate>, FileProblem> {
    let text = read_text(path)?;
    let blocks = parse_pem(&text).map_err(|err| FileProblem::new(path, err.to_string()))?;
    let mut found = Vec::new();
    for block in blocks.into_iter().filter(|b| b.label == CERTIFICATE) {
        let (subject, not_after) = {
            let cert = parse_certificate(&block.der).map_err(|reason| {
                FileProblem::new(
                    path,
                    PemError::Der {
                        line: block.line,
                        label: block.label.clone(),
                        reason,
                    }
                    .to_string(),
                )
            })?;
            (
                rfc4514(cert.subject()),
                cert.validity().not_after.timestamp(),
            )
        };
        found.push(CaCertificate {
            path: path.to_owned(),
            der: CertificateDer::from(block.der),
            subject,
            not_after,
        });
    }
    if found.is_empty() {
        return Err(FileProblem::new(
            path,
            "no -----BEGIN CERTIFICATE----- block",
        ));
    }
    Ok(found)
}

/// Reads every CRL of a PEM file (one CRL, or a concatenated bundle).
pub fn read_crls(path: &Path) -> Result<Vec<Crl>, FileProblem> {
    let text = read_text(path)?;
    let blocks = parse_pem(&text).map_err(|err| FileProblem::new(path, err.to_string()))?;
    let mut found = Vec::new();
    for block in blocks.into_iter().filter(|b| b.label == X509_CRL) {
        let der_error = |reason: String| {
            FileProblem::new(
                path,
                PemError::Der {
                    line: block.line,
                    label: block.label.clone(),
                    reason,
                }
                .to_string(),
            )
        };
        let (rest, crl) = CertificateRevocationList::from_der(&block.der)
            .map_err(|err| der_error(err.to_string()))?;
        if !rest.is_empty() {
            return Err(der_error(format!("{} bytes after the CRL", rest.len())));
        }
        found.push(Crl {
            path: path.to_owned(),
            line: block.line,
            issuer: rfc4514(crl.issuer()),
            this_update: crl.last_update().timestamp(),
            next_update: crl.next_update().map(|t| t.timestamp()),
            revoked: crl.iter_revoked_certificates().count(),
            der: block.der.clone(),
        });
    }
    if found.is_empty() {
        return Err(FileProblem::new(path, "no -----BEGIN X509 CRL----- block"));
    }
    Ok(found)
}

/// Tells whether `ca` signed `crl`: `Ok(false)` for a signature by another key, `Err` when
/// either cannot be parsed or the signature algorithm is not supported.
pub fn crl_signed_by(crl: &Crl, ca: &CaCertificate) -> Result<bool, String> {
    let (_, parsed) =
        CertificateRevocationList::from_der(&crl.der).map_err(|err| err.to_string())?;
    let issuer = parse_certificate(&ca.der)?;
    match parsed.verify_signature(issuer.public_key()) {
        Ok(()) => Ok(true),
        Err(x509_parser::error::X509Error::SignatureVerificationError) => Ok(false),
        Err(err) => Err(err.to_string()),
    }
}

/// Tells whether `ca` signed the certificate `der`, with the same results as [`crl_signed_by`].
pub fn certificate_signed_by(der: &[u8], ca: &CaCertificate) -> Result<bool, String> {
    let certificate = parse_certificate(der)?;
    let issuer = parse_certificate(&ca.der)?;
    match certificate.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(true),
        Err(x509_parser::error::X509Error::SignatureVerificationError) => Ok(false),
        Err(err) => Err(err.to_string()),
    }
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM UTC`, or as the number when out of range.
pub fn utc_date(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Parses one DER certificate, rejecting trailing bytes.
pub fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|err| err.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the certificate", rest.len()));
    }
    Ok(cert)
}

/// Formats a distinguished name as RFC 4514 does: last RDN first, `,` between RDNs, `+` inside one.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let key = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                        .map(str::to_owned)
                        .unwrap_or_else(|_| attr.attr_type().to_id_string());
                    let value = match attr.as_str() {
                        Ok(text) => escape_rfc4514(text),
                        Err(_) => format!("#{}", hex::encode(attr.attr_value().data)),
                    };
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lists the DNS names and IP addresses of a certificate's subjectAltName.
pub fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Reason a served chain does not build to a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the server sent no certificate")]
    Empty,
    #[error("certificate {position} of the served chain cannot be parsed: {reason}")]
    Unparsable { position: usize, reason: String },
    #[error(
        "the certificate `{subject}` is self-signed and is not a trust anchor (hint: use a certificate from a CA in the trust anchors, for EGI an IGTF-accredited CA)"
    )]
    SelfSigned { subject: String },
    #[error(
        "the chain is incomplete: the server sent `{last_subject}` but not its issuer `{missing_issuer}`, which is not a trust anchor either (hint: send the intermediate CA certificate after the host certificate, e.g. in the file nginx's ssl_certificate names)"
    )]
    MissingIssuer {
        last_subject: String,
        missing_issuer: String,
    },
    #[error("the chain does not validate: {reason}")]
    Invalid { reason: String },
}

/// Facts about one served certificate, for messages and evidence.
#[derive(Debug, Clone)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub names: Vec<String>,
}

/// Trust anchors from CA certificates; a certificate webpki cannot use as an anchor is
/// returned with the reason, so the caller can name it.
pub fn trust_anchors<'a>(
    certificates: &'a [CertificateDer<'a>],
) -> (Vec<TrustAnchor<'a>>, Vec<(usize, String)>) {
    let mut anchors = Vec::new();
    let mut rejected = Vec::new();
    for (index, der) in certificates.iter().enumerate() {
        match webpki::anchor_from_trusted_cert(der) {
            Ok(anchor) => anchors.push(anchor),
            Err(err) => rejected.push((index, format!("{err:?}"))),
        }
    }
    (anchors, rejected)
}

/// Summarises each served certificate, in the order sent.
pub fn summarize_chain(chain: &[CertificateDer<'_>]) -> Result<Vec<CertSummary>, ChainError> {
    chain
        .iter()
        .enumerate()
        .map(|(index, der)| {
            let cert = parse_certificate(der).map_err(|reason| ChainError::Unparsable {
                position: index + 1,
                reason,
            })?;
            Ok(CertSummary {
                subject: rfc4514(cert.subject()),
                issuer: rfc4514(cert.issuer()),
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
                names: subject_alt_names(&cert),
            })
        })
        .collect()
}

/// Checks that `chain` (leaf first, as served) builds to one of `anchors` for server
/// authentication, without fetching anything.
///
/// Validity periods are not judged here, so that an expired certificate is reported once, by
/// the expiry check: when `now` lies outside a certificate's validity, the chain is verified
/// at a moment inside every served certificate's validity period instead.
pub fn verify_chain(
    chain: &[CertificateDer<'_>],
    trust_anchors: &[TrustAnchor<'_>],
    now: UnixTime,
) -> Result<(), ChainError> {
    let Some(leaf_der) = chain.first() else {
        return Err(ChainError::Empty);
    };
    let summaries = summarize_chain(chain)?;
    let leaf = webpki::EndEntityCert::try_from(leaf_der).map_err(|err| ChainError::Unparsable {
        position: 1,
        reason: format!("{err:?}"),
    })?;
    let algorithms = rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all;
    let verify = |time: UnixTime| {
        leaf.verify_for_usage(
            algorithms,
            trust_anchors,
            &chain[1..],
            time,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    let mut result = verify(now);
    if let Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) = result {
        let start = summaries.iter().map(|s| s.not_before).max().unwrap_or(0);
        let end = summaries.iter().map(|s| s.not_after).min().unwrap_or(0);
        if start <= end {
            let inside = u64::try_from(start + (end - start) / 2).unwrap_or(0);
            result = verify(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                inside,
            )));
        }
    }
    match result {
        Ok(()) => Ok(()),
        Err(webpki::Error::UnknownIssuer) => Err(diagnose_unknown_issuer(&summaries)),
        Err(err) => Err(ChainError::Invalid {
            reason: format!("{err:?}"),
        }),
    }
}

/// Finds where the served chain stops: the first certificate, from the leaf, whose issuer the
/// server did not send.
fn diagnose_unknown_issuer(summaries: &[CertSummary]) -> ChainError {
    let mut current = &summaries[0];
    // Bounded by the chain length, so a loop of certificates issuing each other ends.
    for _ in 0..summaries.len() {
        if current.issuer == current.subject {
            return ChainError::SelfSigned {
                subject: current.subject.clone(),
            };
        }
        match summaries.iter().find(|s| s.subject == current.issuer) {
            Some(next) => current = next,
            None => break,
        }
    }
    ChainError::MissingIssuer {
        last_subject: current.subject.clone(),
        missing_issuer: current.issuer.clone(),
    }
}

/// Encodes DER certificates as PEM text.
pub fn to_pem(chain: &[CertificateDer<'_>]) -> String {
    let mut out = String::new();
    for der in chain {
        let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glued_markers_name_the_line() {
        let text = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL----------BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
        let err = parse_pem(text).unwrap_err();
        assert!(
            matches!(err, PemError::GluedMarker { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn glued_line_is_not_a_marker() {
        assert_eq!(
            marker("-----END X509 CRL----------BEGIN X509 CRL-----"),
            None
        );
        assert_eq!(
            marker("-----BEGIN X509 CRL-----"),
            Some(("BEGIN", "X509 CRL"))
        );
    }

    #[test]
    fn missing_end_marker_is_unterminated() {
        let err = parse_pem("-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap_err();
        assert_eq!(
            err,
            PemError::Unterminated {
                line: 1,
                label: CERTIFICATE.to_owned()
            }
        );
    }

    #[test]
    fn text_between_blocks_is_ignored() {
        let text = "subject=CN=x\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let blocks = parse_pem(text).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].line, 2);
        assert_eq!(blocks[0].der, vec![0, 0, 0]);
    }

    #[test]
    fn rfc4514_escapes_specials() {
        assert_eq!(escape_rfc4514("a,b"), "a\\,b");
        assert_eq!(escape_rfc4514(" lead"), "\\ lead");
        assert_eq!(escape_rfc4514("trail "), "trail\\ ");
    }

    #[test]
    fn file_roles_follow_igtf_names() {
        assert_eq!(file_role(Path::new("a/1a2b3c4d.0")), Some(CERTIFICATE));
        assert_eq!(file_role(Path::new("a/ca.pem")), Some(CERTIFICATE));
        assert_eq!(file_role(Path::new("a/1a2b3c4d.r0")), Some(X509_CRL));
        assert_eq!(file_role(Path::new("a/ca.signing_policy")), None);
        assert_eq!(file_role(Path::new("a/ca.namespaces")), None);
    }
}
