//! The reference site: an in-process FedCloud site on loopback, served over TLS, that responds
//! as a well-run site does (Keystone, an OpenID issuer, Nova, Glance, GOCDB PI, GLUE2.1 and a cASO
//! spool). It is the `demo` target and a fault injector for tests; tests of real behaviour use
//! real components instead (see `testbed/`).

mod faults;
mod identity;
mod pki;
mod services;
mod spool;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU32;

use axum::Router;
use axum::routing::{get, post};

pub use faults::Fault;
use identity::Signer;

/// Name of the site in its profile and GOCDB responses.
pub const SITE_NAME: &str = "REFERENCE-CLOUD-SITE";

/// VOs the reference site supports; each has a Keystone project of the same name.
pub const VOS: [&str; 2] = ["vo.access.egi.eu", "ops"];

/// How to start the reference site.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Address to listen on; port 0 picks a free one.
    pub listen: Option<SocketAddr>,
    pub faults: Vec<Fault>,
    /// Directory for the profile, CA, secrets and spool; a fresh temporary one when unset.
    pub state_dir: Option<PathBuf>,
    /// The refresh token the issuer accepts; random when unset.
    pub refresh_token: Option<String>,
    /// The OIDC client secret the issuer accepts; random when unset.
    pub client_secret: Option<String>,
    /// A real Keystone whose tokens the Nova, Glance and Neutron handlers accept, so the site
    /// can serve those APIs behind a testbed's Keystone.
    pub keystone: Option<KeystoneValidation>,
    /// Latency added to every response, to model a remote site in benchmarks. The `slow`
    /// fault adds its own 3 s on top.
    pub delay: Option<std::time::Duration>,
}

/// A real Keystone that validates the tokens presented to the reference site's services.
#[derive(Debug, Clone)]
pub struct KeystoneValidation {
    /// Keystone's URL, with or without `/v3`.
    pub url: String,
    /// Directory of PEM CA certificates that Keystone's certificate chains to.
    pub trust_anchors: PathBuf,
}

/// A client for [`KeystoneValidation`], built once at start-up.
pub(crate) struct KeystoneClient {
    pub url: String,
    pub client: reqwest::Client,
}

/// A running reference site. Dropping it stops the server and removes a temporary state dir.
pub struct ReferenceSite {
    pub base_url: String,
    pub profile_path: PathBuf,
    pub state_dir: PathBuf,
    handles: Vec<axum_server::Handle>,
    remove_state: bool,
}

impl Drop for ReferenceSite {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.shutdown();
        }
        if self.remove_state {
            let _ = std::fs::remove_dir_all(&self.state_dir);
        }
    }
}

/// Shared state of the handlers.
pub(crate) struct AppState {
    pub base: String,
    pub issuer: String,
    pub faults: HashSet<Fault>,
    pub signer: Signer,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// Keystone tokens issued: token id to what it grants.
    pub tokens: Mutex<HashMap<String, identity::IssuedToken>>,
    /// Requests seen by the flaky fault.
    pub flaky_count: AtomicU32,
    /// Start-up time in Unix seconds; token lifetimes count from it.
    pub started: i64,
    /// The real Keystone that validates foreign tokens, when the site fronts one.
    pub keystone: Option<KeystoneClient>,
    /// Latency added to every response.
    pub delay: std::time::Duration,
}

impl AppState {
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

/// Error while starting the reference site.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write the reference site's state to {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the reference site's TLS certificates: {0}")]
    Pki(String),
}

/// Starts the site and writes its profile; returns once it accepts connections.
pub async fn start(options: SiteOptions) -> Result<ReferenceSite, StartError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let addr = options
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| StartError::Listen { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Listen { addr, source })?;
    // The host name must be one the certificate covers and DNS resolves: `localhost`.
    let base = format!("https://localhost:{}", local.port());

    let remove_state = options.state_dir.is_none();
    let state_dir = options.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fedcloud-reference-{}", uuid::Uuid::new_v4()))
    });
    let faults: HashSet<Fault> = options.faults.iter().copied().collect();
    // The GOCDB answer registers accounting.cloud.example.org as the accounting Host DN.
    let accounting_host = if faults.contains(&Fault::ForeignAccountingCertificate) {
        "ssm.other-site.example.org"
    } else {
        "accounting.cloud.example.org"
    };
    let pki = pki::generate(accounting_host).map_err(|err| StartError::Pki(err.to_string()))?;
    let refresh_token = options.refresh_token.clone().unwrap_or_else(random_secret);
    let client_secret = options.client_secret.clone().unwrap_or_else(random_secret);
    let issuer = format!("{base}/oidc");
    let signer = Signer::generate();
    let no_entitlement_token =
        identity::negative_token(&signer, &issuer, identity::NegativeToken::NoEntitlement);
    let expired_token =
        identity::negative_token(&signer, &issuer, identity::NegativeToken::Expired);
    let secrets = Secrets {
        refresh_token: &refresh_token,
        client_secret: &client_secret,
        no_entitlement_token: &no_entitlement_token,
        expired_token: &expired_token,
    };
    write_state(&state_dir, &base, &pki, &secrets, &faults)?;

    let state = Arc::new(AppState {
        issuer,
        base: base.clone(),
        signer,
        client_id: "reference-client".to_owned(),
        client_secret,
        refresh_token,
        tokens: Mutex::default(),
        flaky_count: AtomicU32::new(0),
        started: chrono::Utc::now().timestamp(),
        keystone: keystone_client(options.keystone.as_ref())?,
        delay: options.delay.unwrap_or_default(),
        faults,
    });
    let app = router(state);
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        pki.server_cert_pem.into_bytes(),
        pki.server_key_pem.into_bytes(),
    )
    .await
    .map_err(|err| StartError::Pki(err.to_string()))?;
    // `localhost` resolves to ::1 as well, so the site listens there too when the host has
    // IPv6 loopback, as a dual-stack production site would.
    let mut listeners = vec![listener];
    if local.is_ipv4()
        && let Ok(v6) = std::net::TcpListener::bind(("::1", local.port()))
        && v6.set_nonblocking(true).is_ok()
    {
        listeners.push(v6);
    }
    let mut handles = Vec::new();
    for listener in listeners {
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, tls.clone()).handle(handle.clone());
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(err) = server.serve(app.into_make_service()).await {
                tracing::error!(error = %err, "reference site stopped");
            }
        });
        handle.listening().await;
        handles.push(handle);
    }
    tracing::info!(url = %base, "reference site listening");
    Ok(ReferenceSite {
        base_url: base,
        profile_path: state_dir.join("site.toml"),
        state_dir,
        handles,
        remove_state,
    })
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(identity::versions))
        .route("/v3", get(identity::version_v3))
        .route("/v3/", get(identity::version_v3))
        .route(
            "/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth",
            post(identity::federated_auth).get(identity::federated_auth),
        )
        .route("/v3/auth/projects", get(identity::auth_projects))
        .route("/v3/auth/tokens", post(identity::scoped_token))
        .route("/v3/auth/catalog", get(identity::auth_catalog))
        .route(
            "/oidc/.well-known/openid-configuration",
            get(identity::oidc_discovery),
        )
        .route("/oidc/jwks", get(identity::oidc_jwks))
        .route("/oidc/token", post(identity::oidc_token))
        .route("/oidc/token/introspect", post(identity::oidc_introspect))
        .route("/compute/v2.1", get(services::nova_version))
        .route("/compute/v2.1/", get(services::nova_version))
        .route("/compute/v2.1/limits", get(services::nova_limits))
        .route("/compute/v2.1/flavors/detail", get(services::nova_flavors))
        .route("/image/v2/images", get(services::glance_images))
        .route("/network/v2.0/networks", get(services::neutron_networks))
        .route("/gocdbpi/public/", get(services::gocdb))
        .route("/cloud-info/glue21.json", get(services::glue))
        .merge(services::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::apply,
        ))
        .with_state(state)
}

fn keystone_client(
    validation: Option<&KeystoneValidation>,
) -> Result<Option<KeystoneClient>, StartError> {
    let Some(validation) = validation else {
        return Ok(None);
    };
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .timeout(std::time::Duration::from_secs(10));
    let anchors = crate::http::load_trust_anchors(&validation.trust_anchors)
        .map_err(|err| StartError::Pki(err.to_string()))?;
    for cert in anchors {
        builder = builder.add_root_certificate(cert);
    }
    let client = builder
        .build()
        .map_err(|err| StartError::Pki(err.to_string()))?;
    Ok(Some(KeystoneClient {
        url: validation.url.clone(),
        client,
    }))
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The credentials the reference site hands to the harness through owner-only files.
struct Secrets<'a> {
    refresh_token: &'a str,
    client_secret: &'a str,
    /// A genuine token of a user without any VO entitlement.
    no_entitlement_token: &'a str,
    /// A genuine token that expired ten minutes before start-up.
    expired_token: &'a str,
}

fn write_state(
    dir: &Path,
    base: &str,
    pki: &pki::Pki,
    secrets: &Secrets<'_>,
    faults: &HashSet<Fault>,
) -> Result<(), StartError> {
    let state_error = |source: std::io::Error| StartError::State {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir.join("ca")).map_err(state_error)?;
    std::fs::write(dir.join("ca/reference-ca.pem"), &pki.ca_pem).map_err(state_error)?;
    std::fs::create_dir_all(dir.join("accounting")).map_err(state_error)?;
    std::fs::write(
        dir.join("accounting/hostcert.pem"),
        &pki.accounting_cert_pem,
    )
    .map_err(state_error)?;
    write_private(&dir.join("refresh_token"), secrets.refresh_token).map_err(state_error)?;
    write_private(&dir.join("client_secret"), secrets.client_secret).map_err(state_error)?;
    write_private(
        &dir.join("no_entitlement_token"),
        secrets.no_entitlement_token,
    )
    .map_err(state_error)?;
    write_private(&dir.join("expired_token"), secrets.expired_token).map_err(state_error)?;
    let age_days = if faults.contains(&Fault::StaleAccounting) {
        40
    } else {
        0
    };
    spool::write(&dir.join("spool"), base, age_days).map_err(state_error)?;
    std::fs::write(dir.join("site.toml"), profile_text(dir, base)).map_err(state_error)
}

/// Writes a secret readable by the owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Writes the site profile of the reference site. Secrets are read with `cat` from owner-only
/// files, the way a profile would call `oidc-token`.
pub fn profile_text(dir: &Path, base: &str) -> String {
    let dir = dir.display();
    let port = base.rsplit(':').next().unwrap_or("443");
    format!(
        r#"# Site profile of the fedcloud-conformance reference site (generated).
[site]
name = "{SITE_NAME}"
vos = ["vo.access.egi.eu", "ops"]

[gocdb]
pi_url = "{base}/gocdbpi/public/"

[keystone]
url = "{base}/v3"
identity_provider = "egi.eu"
protocol = "openid"

[oidc]
issuer = "{base}/oidc"
client_id = "reference-client"
client_secret = {{ command = ["cat", "{dir}/client_secret"] }}
refresh_token = {{ command = ["cat", "{dir}/refresh_token"] }}
no_entitlement_token = {{ command = ["cat", "{dir}/no_entitlement_token"] }}
expired_token = {{ command = ["cat", "{dir}/expired_token"] }}

[tls]
trust_anchors = "{dir}/ca"

[network]
ports = [{port}]

[accounting]
spool = "{dir}/spool"
service = "{base}/v3"
host_certificate = "{dir}/accounting/hostcert.pem"

[discovery]
glue = "{base}/cloud-info/glue21.json"
"#
    )
}
