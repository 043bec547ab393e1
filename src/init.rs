//! `init`: drafts a site profile from what the site publishes, for its admin to review.
//!
//! Sources: GOCDB's `get_site` (the site exists, its certification status) and
//! `get_service_endpoint` (the Keystone URL registered as `org.openstack.nova`), and Keystone's
//! v3 version document. Each fact found goes into a comment of the draft, and each value the
//! sources cannot give (the VOs beyond `ops`, the OIDC client) is marked for review.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::gocdb;
use crate::http::{ClientConfig, HttpClient, Request};
use crate::openstack;
use crate::profile::SiteProfile;

/// GOCDB's public programmatic interface, used when `--gocdb-url` is not given.
pub const DEFAULT_GOCDB_URL: &str = "https://goc.egi.eu/gocdbpi/public/";

/// The GOCDB service type under which FedCloud sites register their Keystone URL.
const KEYSTONE_SERVICE_TYPE: &str = "org.openstack.nova";

/// The inputs of `init`.
#[derive(Debug, Clone)]
pub struct InitRequest {
    pub site: String,
    pub keystone: String,
    pub gocdb_url: String,
    pub out: PathBuf,
    /// Directory of trusted CA certificates (PEM) for GOCDB and Keystone; the public roots
    /// are trusted when unset.
    pub trust_anchors: Option<PathBuf>,
    pub timeout: Duration,
}

/// The reason no profile was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The request itself is wrong (the output exists, a URL is invalid).
    #[error("{0}")]
    Usage(String),
    /// GOCDB or Keystone could not be read, or did not know the site.
    #[error("{0}")]
    Source(String),
}

/// Facts read from the sources, each shown in the draft.
#[derive(Debug, Clone, Default)]
struct Findings {
    certification_status: String,
    production_infrastructure: String,
    registered_keystone: Vec<String>,
    keystone_version: String,
    /// Disagreements the admin must settle, also printed on stderr.
    warnings: Vec<String>,
}

/// Reads the sources, writes the draft to `request.out` (never replacing a file) and returns
/// the warnings for the admin.
pub async fn init(request: &InitRequest) -> Result<Vec<String>, InitError> {
    if request.out.exists() {
        return Err(InitError::Usage(format!(
            "{} exists; refusing to overwrite it (hint: choose another file with --out)",
            request.out.display()
        )));
    }
    let keystone = openstack::v3_url(&request.keystone, "")
        .map(|url| url.trim_end_matches('/').to_owned())
        .map_err(|reason| InitError::Usage(format!("invalid --keystone URL: {reason}")))?;
    let http = HttpClient::new(ClientConfig {
        trust_anchors: request.trust_anchors.clone(),
        public_roots: request.trust_anchors.is_none(),
        request_timeout: request.timeout,
        ..ClientConfig::default()
    })
    .map_err(|err| InitError::Usage(err.to_string()))?;
    let mut findings = read_gocdb(&http, request, &keystone).await?;
    findings.keystone_version = read_keystone(&http, &keystone).await?;
    if !findings.keystone_version.starts_with("v3") {
        findings.warnings.push(format!(
            "{keystone} reports version {}, not Identity API v3",
            findings.keystone_version
        ));
    }
    let text = draft(request, &keystone, &findings);
    write_new(&request.out, &text)?;
    SiteProfile::load(&request.out).map_err(|err| {
        InitError::Source(format!(
            "the draft {} does not load, which is a bug in fedcloud-conformance: {err}",
            request.out.display()
        ))
    })?;
    Ok(findings.warnings)
}

async fn fetch(http: &HttpClient, url: &str) -> Result<String, InitError> {
    let evidence = crate::checks::Evidence::default();
    let response = http
        .send(&Request::get(url), &evidence)
        .await
        .map_err(|err| InitError::Source(format!("GET {url} failed: {err}")))?;
    if !response.status.is_success() {
        return Err(InitError::Source(format!(
            "GET {url} returned HTTP {}",
            response.status
        )));
    }
    Ok(response.text())
}

async fn read_gocdb(
    http: &HttpClient,
    request: &InitRequest,
    keystone: &str,
) -> Result<Findings, InitError> {
    let site_url = gocdb::pi_url(&request.gocdb_url, "get_site", &request.site, None);
    let site_xml = fetch(http, &site_url).await?;
    let site = gocdb::site(&site_xml, &request.site)
        .map_err(|err| InitError::Source(format!("{site_url} returned invalid XML: {err}")))?
        .ok_or_else(|| {
            InitError::Source(format!(
                "GOCDB at {} has no site named {} (hint: use the site's short name exactly as GOCDB shows it)",
                request.gocdb_url, request.site
            ))
        })?;
    let endpoints_url = gocdb::pi_url(
        &request.gocdb_url,
        "get_service_endpoint",
        &request.site,
        Some(KEYSTONE_SERVICE_TYPE),
    );
    let endpoints_xml = fetch(http, &endpoints_url).await?;
    let endpoints = gocdb::service_endpoints(&endpoints_xml)
        .map_err(|err| InitError::Source(format!("{endpoints_url} returned invalid XML: {err}")))?;
    let registered: Vec<String> = endpoints
        .iter()
        .filter(|e| e.site == request.site && e.service_type == KEYSTONE_SERVICE_TYPE)
        .map(|e| e.url.trim_end_matches('/').to_owned())
        .collect();
    let mut warnings = Vec::new();
    if registered.is_empty() {
        warnings.push(format!(
            "GOCDB registers no {KEYSTONE_SERVICE_TYPE} service for {}; register the Keystone URL before certification",
            request.site
        ));
    } else if !registered.iter().any(|url| url == keystone) {
        warnings.push(format!(
            "GOCDB registers {} for {}, not {keystone}",
            registered.join(", "),
            request.site
        ));
    }
    Ok(Findings {
        certification_status: site.certification_status,
        production_infrastructure: site.production_infrastructure,
        registered_keystone: registered,
        keystone_version: String::new(),
        warnings,
    })
}

async fn read_keystone(http: &HttpClient, keystone: &str) -> Result<String, InitError> {
    let body = fetch(http, keystone).await?;
    let document: serde_json::Value = serde_json::from_str(&body).map_err(|err| {
        InitError::Source(format!(
            "{keystone} did not return a version document: {err}"
        ))
    })?;
    let version = &document["version"];
    Ok(format!(
        "{} ({})",
        version["id"].as_str().unwrap_or("unknown"),
        version["status"].as_str().unwrap_or("unknown status")
    ))
}

/// Quotes `text` as a TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Single-line text for a TOML comment.
fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn draft(request: &InitRequest, keystone: &str, findings: &Findings) -> String {
    let port = url::Url::parse(keystone)
        .ok()
        .and_then(|url| url.port_or_known_default())
        .unwrap_or(443);
    let registered = if findings.registered_keystone.is_empty() {
        "none".to_owned()
    } else {
        findings.registered_keystone.join(", ")
    };
    let mut text = format!(
        "# Draft site profile for {site}, written by `fedcloud-conformance init` on {date}.\n\
         # Review every value before the first run; nothing here has been tested yet.\n\
         # GOCDB ({gocdb}): certification status {status}, infrastructure {infra}.\n\
         # GOCDB {KEYSTONE_SERVICE_TYPE} URL(s): {registered}.\n\
         # Keystone version document at {keystone}: {version}.\n",
        site = comment(&request.site),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        gocdb = comment(&request.gocdb_url),
        status = comment(&findings.certification_status),
        infra = comment(&findings.production_infrastructure),
        registered = comment(&registered),
        version = comment(&findings.keystone_version),
    );
    for warning in &findings.warnings {
        text.push_str(&format!("# WARNING: {}\n", comment(warning)));
    }
    text.push_str(&format!(
        "\n[site]\nname = {name}\n# REVIEW: add every VO the site supports; GOCDB does not publish them.\n\
         vos = [\"ops\"]\n\n[gocdb]\npi_url = {gocdb}\n\n[keystone]\nurl = {keystone}\n\
         identity_provider = \"egi.eu\"\nprotocol = \"openid\"\n\n\
         # REVIEW: the OIDC client of the site's Check-in registration; secrets come from the\n\
         # environment or a command, never from this file.\n\
         # [oidc]\n# issuer = \"https://aai.egi.eu/auth/realms/egi\"\n# client_id = \"...\"\n\
         # refresh_token = {{ command = [\"oidc-token\", \"egi\"] }}\n\n[tls]\n",
        name = quote(&request.site),
        gocdb = quote(&request.gocdb_url),
        keystone = quote(keystone),
    ));
    match &request.trust_anchors {
        Some(dir) => {
            let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            text.push_str(&format!(
                "trust_anchors = {}\n",
                quote(&absolute.display().to_string())
            ));
        }
        None => text.push_str(
            "# REVIEW: EGI sites use IGTF CAs; point this at the IGTF bundle instead.\n\
             # trust_anchors = \"/etc/grid-security/certificates\"\npublic_roots = true\n",
        ),
    }
    text.push_str(&format!("\n[network]\nports = [{port}]\n"));
    text
}

/// Creates `path` only if it does not exist, so a concurrent writer is never overwritten.
fn write_new(path: &Path, text: &str) -> Result<(), InitError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| {
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                InitError::Usage(format!(
                    "{} exists; refusing to overwrite it",
                    path.display()
                ))
            } else {
                InitError::Usage(format!("cannot create {}: {err}", path.display()))
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|err| InitError::Usage(format!("cannot write {}: {err}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_round_trips_through_toml() {
        for text in ["plain", "a\"b\\c", "it's \"both\"", "line\nbreak"] {
            let parsed: toml::Table = toml::from_str(&format!("key = {}", quote(text))).unwrap();
            assert_eq!(parsed["key"].as_str(), Some(text), "{}", quote(text));
        }
    }
}
