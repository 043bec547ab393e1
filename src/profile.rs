//! The site profile: which site to test, where its services are, and where secrets come from.
//!
//! Profiles are TOML. Unknown keys are rejected with file, line and column, because a misspelt
//! key silently ignored would change a certification verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::location::ConfigError;
use crate::secret::SecretSource;

/// The VO that EGI's monitoring (ARGO) uses; every FedCloud site must support it.
pub const OPS_VO: &str = "ops";

/// A parsed site profile, with relative paths resolved against the profile's directory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteProfile {
    pub site: SiteSection,
    #[serde(default)]
    pub gocdb: Option<GocdbSection>,
    pub keystone: KeystoneSection,
    #[serde(default)]
    pub oidc: Option<OidcSection>,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub accounting: Option<AccountingSection>,
    #[serde(default)]
    pub capacity: CapacitySection,
    #[serde(default)]
    pub requirements: RequirementsSection,
    #[serde(default)]
    pub discovery: DiscoverySection,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    /// Site name exactly as registered in GOCDB.
    pub name: String,
    /// VOs the site supports, `ops` included.
    pub vos: Vec<String>,
    /// Keystone project name per VO, where it differs from the VO name.
    #[serde(default)]
    pub projects: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GocdbSection {
    /// GOCDB PI base URL, queried with `?method=get_site&sitename=…`.
    #[serde(default)]
    pub pi_url: Option<String>,
    /// Saved `get_site` output, used instead of `pi_url`.
    #[serde(default)]
    pub site_file: Option<PathBuf>,
    /// Saved `get_service_endpoint` output, used instead of `pi_url`.
    #[serde(default)]
    pub service_endpoint_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoneSection {
    /// Keystone public URL, with or without `/v3` and a trailing slash.
    pub url: String,
    #[serde(default = "default_identity_provider")]
    pub identity_provider: String,
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Catalog region that EGI clients use, as in the site's fedcloud-catchall-operations
    /// entry. Needed when the catalog has several regions; checks then use only its endpoints.
    #[serde(default)]
    pub region: Option<String>,
}

fn default_identity_provider() -> String {
    "egi.eu".to_owned()
}

fn default_protocol() -> String {
    "openid".to_owned()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSection {
    /// Issuer identifier, compared exactly with the discovery document's `issuer`.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<SecretSource>,
    #[serde(default)]
    pub refresh_token: Option<SecretSource>,
    #[serde(default)]
    pub access_token: Option<SecretSource>,
    /// A valid token of a user without the VO entitlement, for the negative flow.
    #[serde(default)]
    pub no_entitlement_token: Option<SecretSource>,
    /// A genuine token of the issuer that has expired, for the negative flow.
    #[serde(default)]
    pub expired_token: Option<SecretSource>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "eduperson_entitlement"]
        .map(str::to_owned)
        .to_vec()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Directory of trusted CA certificates in PEM (the IGTF bundle).
    #[serde(default)]
    pub trust_anchors: Option<PathBuf>,
    /// Also trust the Mozilla root store, for sites whose endpoints use a public CA.
    #[serde(default)]
    pub public_roots: bool,
    /// Days before expiry at which a certificate is reported as a warning.
    #[serde(default = "default_expiry_warning_days")]
    pub expiry_warning_days: u32,
    /// Concatenated PEM CRL file that the site's TLS server loads to check client certificates
    /// (nginx `ssl_crl`, HAProxy `crl-file`), rebuilt after every fetch-crl run.
    #[serde(default)]
    pub crl_bundle: Option<PathBuf>,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            trust_anchors: None,
            public_roots: false,
            expiry_warning_days: default_expiry_warning_days(),
            crl_bundle: None,
        }
    }
}

fn default_expiry_warning_days() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// TCP ports that must accept connections.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Extra DNS resolvers (`IP:port`) whose answers must agree with the system resolver.
    #[serde(default)]
    pub resolvers: Vec<String>,
    /// Whether to ask the system resolver; off for test zones only the listed resolvers serve.
    #[serde(default = "default_true")]
    pub system_resolver: bool,
    /// Further public endpoint URLs of the site (Nova, Glance, … on other hosts or ports),
    /// checked like the Keystone URL.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            ports: Vec::new(),
            resolvers: Vec::new(),
            system_resolver: true,
            endpoints: Vec::new(),
        }
    }
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountingSection {
    /// cASO's SSM output directory (a dirq spool).
    pub spool: PathBuf,
    /// Accounting service URL as registered in GOCDB (`CloudComputeService` in records).
    #[serde(default)]
    pub service: Option<String>,
    /// The certificate SSM signs messages with (`[certificates] certificate` in sender.cfg);
    /// `/etc/grid-security/hostcert.pem` when unset.
    #[serde(default)]
    pub host_certificate: Option<PathBuf>,
}

/// Capacity thresholds; the defaults follow EGI's monitoring VM and integration host needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySection {
    #[serde(default = "default_min_host_cpus")]
    pub min_host_cpus: usize,
    #[serde(default = "default_min_host_memory_mib")]
    pub min_host_memory_mib: u64,
    /// Free space the accounting spool's file system must keep, in MiB.
    #[serde(default = "default_min_spool_free_mib")]
    pub min_spool_free_mib: u64,
    /// Highest 5-minute load average per CPU core the integration host may show.
    #[serde(default = "default_max_load_per_cpu")]
    pub max_load_per_cpu: f64,
    /// Smallest Nova and Neutron quotas every VO project (ops included) must have; -1 in a
    /// quota means unlimited and always meets them.
    #[serde(default)]
    pub quota: QuotaMinimums,
    /// Highest share of a quota, in percent, that a project may already use.
    #[serde(default = "default_max_quota_usage_percent")]
    pub max_quota_usage_percent: u32,
}

impl Default for CapacitySection {
    fn default() -> Self {
        CapacitySection {
            min_host_cpus: default_min_host_cpus(),
            min_host_memory_mib: default_min_host_memory_mib(),
            min_spool_free_mib: default_min_spool_free_mib(),
            max_load_per_cpu: default_max_load_per_cpu(),
            quota: QuotaMinimums::default(),
            max_quota_usage_percent: default_max_quota_usage_percent(),
        }
    }
}

/// Quota minimums per project. The defaults leave room for EGI's monitoring VM (one instance,
/// one vCPU, a few GiB of RAM, one floating IP) next to a user's VM; they are not EGI figures,
/// because EGI leaves quotas to each VO's agreement with the site.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaMinimums {
    #[serde(default = "default_min_cores")]
    pub cores: i64,
    #[serde(default = "default_min_ram_mib")]
    pub ram_mib: i64,
    #[serde(default = "default_min_instances")]
    pub instances: i64,
    #[serde(default = "default_min_floating_ips")]
    pub floating_ips: i64,
}

impl Default for QuotaMinimums {
    fn default() -> Self {
        QuotaMinimums {
            cores: default_min_cores(),
            ram_mib: default_min_ram_mib(),
            instances: default_min_instances(),
            floating_ips: default_min_floating_ips(),
        }
    }
}

fn default_min_host_cpus() -> usize {
    2
}

fn default_min_host_memory_mib() -> u64 {
    2048
}

fn default_min_spool_free_mib() -> u64 {
    1024
}

fn default_max_load_per_cpu() -> f64 {
    2.0
}

fn default_max_quota_usage_percent() -> u32 {
    90
}

fn default_min_cores() -> i64 {
    2
}

fn default_min_ram_mib() -> i64 {
    4096
}

fn default_min_instances() -> i64 {
    2
}

fn default_min_floating_ips() -> i64 {
    1
}

/// What the requirements suite accepts of the site's software.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementsSection {
    /// Oldest OpenStack release accepted, by code name ("Mitaka") or dated name ("2025.1").
    #[serde(default = "default_oldest_release", deserialize_with = "release_name")]
    pub oldest_release: String,
}

impl Default for RequirementsSection {
    fn default() -> Self {
        RequirementsSection {
            oldest_release: default_oldest_release(),
        }
    }
}

/// EGI's OpenStack integration guide says the integration is tested from Mitaka on.
fn default_oldest_release() -> String {
    "Mitaka".to_owned()
}

fn release_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    match crate::openstack_release::Release::from_name(&name) {
        Some(release) => Ok(release.name().to_owned()),
        None => Err(serde::de::Error::custom(format!(
            "unknown OpenStack release `{name}`; expected one of {}",
            crate::openstack_release::release_names()
        ))),
    }
}

/// Locations of the information the site publishes for discovery.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySection {
    /// GLUE2.1 JSON document (cloud-info-provider output): an http(s) URL or a file path.
    #[serde(default)]
    pub glue: Option<String>,
}

impl SiteProfile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path)
            .map_err(|err| ConfigError::file(path, format!("cannot read site profile: {err}")))?;
        Self::parse(path, &source)
    }

    /// Parses profile text; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, source: &str) -> Result<Self, ConfigError> {
        let mut profile: SiteProfile =
            toml::from_str(source).map_err(|err| ConfigError::from_toml(path, source, &err))?;
        profile.check(path, source)?;
        let base = path.parent().unwrap_or(Path::new("."));
        profile.resolve_paths(base);
        Ok(profile)
    }

    fn check(&self, path: &Path, source: &str) -> Result<(), ConfigError> {
        let locate = |section: &str, key: &str, message: String| {
            let span = crate::location::find_key(source, section, key);
            ConfigError::at(path, source, span, message)
        };
        if !self.site.vos.iter().any(|vo| vo == OPS_VO) {
            return Err(locate(
                "site",
                "vos",
                format!("site.vos must include the `{OPS_VO}` VO"),
            )
            .with_hint("EGI's monitoring runs as the ops VO; add \"ops\" to site.vos"));
        }
        let keystone_ok = url::Url::parse(&self.keystone.url)
            .is_ok_and(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some());
        if !keystone_ok {
            return Err(locate(
                "keystone",
                "url",
                format!(
                    "keystone.url `{}` is not a valid http(s) URL",
                    self.keystone.url
                ),
            )
            .with_hint("write it as https://host:port/v3"));
        }
        if let Some(oidc) = &self.oidc {
            for (name, source_opt) in oidc.secret_sources() {
                if let Some(secret) = source_opt {
                    secret
                        .validate()
                        .map_err(|err| locate("oidc", name, format!("oidc.{name}: {err}")))?;
                }
            }
        }
        if let Some(gocdb) = &self.gocdb
            && gocdb.pi_url.is_none()
            && gocdb.site_file.is_none()
            && gocdb.service_endpoint_file.is_none()
        {
            return Err(locate(
                "gocdb",
                "",
                "gocdb needs pi_url or local PI files".to_owned(),
            )
            .with_hint("set gocdb.pi_url, or site_file and service_endpoint_file"));
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(dir) = self.tls.trust_anchors.as_mut() {
            resolve(dir);
        }
        if let Some(bundle) = self.tls.crl_bundle.as_mut() {
            resolve(bundle);
        }
        if let Some(accounting) = self.accounting.as_mut() {
            resolve(&mut accounting.spool);
        }
        if let Some(gocdb) = self.gocdb.as_mut() {
            gocdb.site_file.iter_mut().for_each(resolve);
            gocdb.service_endpoint_file.iter_mut().for_each(resolve);
        }
        if let Some(glue) = self.discovery.glue.as_mut()
            && !glue.contains("://")
        {
            *glue = base.join(&*glue).display().to_string();
        }
    }

    /// Returns the Keystone project that serves `vo`.
    pub fn project_for<'a>(&'a self, vo: &'a str) -> &'a str {
        self.site.projects.get(vo).map_or(vo, String::as_str)
    }
}

impl OidcSection {
    /// Lists every secret source of the section with its key, for validation and resolution.
    pub fn secret_sources(&self) -> [(&'static str, Option<&SecretSource>); 5] {
        [
            ("client_secret", self.client_secret.as_ref()),
            ("refresh_token", self.refresh_token.as_ref()),
            ("access_token", self.access_token.as_ref()),
            ("no_entitlement_token", self.no_entitlement_token.as_ref()),
            ("expired_token", self.expired_token.as_ref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
name = "EXAMPLE-CLOUD-SITE"
vos = ["ops"]

[keystone]
url = "https://keystone.example.org:5000/v3"
"#;

    #[test]
    fn minimal_profile_gets_defaults() {
        let profile = SiteProfile::parse(Path::new("p.toml"), MINIMAL).unwrap();
        assert_eq!(profile.keystone.identity_provider, "egi.eu");
        assert_eq!(profile.keystone.protocol, "openid");
        assert_eq!(profile.tls.expiry_warning_days, 30);
        assert!(profile.network.system_resolver);
        assert_eq!(profile.requirements.oldest_release, "Mitaka");
        assert_eq!(profile.capacity.quota.instances, 2);
        assert_eq!(profile.capacity.max_quota_usage_percent, 90);
    }

    #[test]
    fn oldest_release_is_normalised_and_checked() {
        let source = format!("{MINIMAL}\n[requirements]\noldest_release = \"2025.1\"\n");
        let profile = SiteProfile::parse(Path::new("p.toml"), &source).unwrap();
        assert_eq!(profile.requirements.oldest_release, "2025.1 Epoxy");

        let source = format!("{MINIMAL}\n[requirements]\noldest_release = \"Grizzly\"\n");
        let err = SiteProfile::parse(Path::new("p.toml"), &source).unwrap_err();
        assert!(
            err.message.contains("unknown OpenStack release `Grizzly`"),
            "{err}"
        );
        assert_eq!(err.line, 10, "{err}");
    }

    #[test]
    fn unknown_key_is_located() {
        let source = format!("{MINIMAL}\n[network]\nportz = [1]\n");
        let err = SiteProfile::parse(Path::new("p.toml"), &source).unwrap_err();
        assert_eq!(err.line, 10, "{err}");
        assert!(err.message.contains("unknown field `portz`"), "{err}");
    }

    #[test]
    fn profile_without_ops_is_rejected() {
        let source = MINIMAL.replace(r#"["ops"]"#, r#"["vo.example.org"]"#);
        let err = SiteProfile::parse(Path::new("p.toml"), &source).unwrap_err();
        assert!(err.message.contains("must include the `ops` VO"), "{err}");
        assert_eq!(err.line, 4);
    }

    #[test]
    fn secret_with_two_sources_is_rejected() {
        let source = format!(
            "{MINIMAL}\n[oidc]\nissuer = \"https://i\"\nclient_id = \"c\"\nrefresh_token = {{ env = \"A\", command = [\"b\"] }}\n"
        );
        let err = SiteProfile::parse(Path::new("p.toml"), &source).unwrap_err();
        assert!(err.message.contains("exactly one of"), "{err}");
    }

    #[test]
    fn relative_paths_resolve_against_profile() {
        let source = format!("{MINIMAL}\n[accounting]\nspool = \"spool\"\n");
        let profile = SiteProfile::parse(Path::new("/etc/site/p.toml"), &source).unwrap();
        assert_eq!(
            profile.accounting.unwrap().spool,
            Path::new("/etc/site/spool")
        );
    }
}
