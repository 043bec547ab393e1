//! TLS checks on every https port: protocol version, chain to the profile's trust anchors,
//! host name, and validity period. Each fault is judged by exactly one check, so an expired
//! certificate is not also reported as a broken chain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client_auth::CaNameRecorder;
use super::ports::addresses_by_host;
use super::{Endpoint, connect_timeout, join_limited, required_ports};
use crate::checks::{CheckCtx, Outcome, Problem};
use crate::x509::{self, CertSummary};

/// Accepts any certificate during the handshake but still checks the handshake signatures.
/// The certificate is judged afterwards, fault by fault, so that the report names the
/// fault instead of one opaque handshake error.
#[derive(Debug)]
struct RecordOnly(Arc<CryptoProvider>);

/// A verifier that accepts any certificate chain but checks the handshake signatures, for
/// checks that read the peer's certificates and judge them themselves.
pub(crate) fn recording_verifier(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(RecordOnly(provider))
}

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds a client that records the server's certificates and, through `recorder`, the CA
/// names of a certificate request, without sending a client certificate.
fn client_config(recorder: Arc<CaNameRecorder>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("cannot set up the TLS client: {err}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RecordOnly(provider)))
        .with_client_cert_resolver(recorder);
    Ok(Arc::new(config))
}

/// Facts from one TLS handshake.
#[derive(Debug, Clone)]
pub(crate) struct Handshake {
    pub endpoint: Endpoint,
    pub addr: SocketAddr,
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: String,
    pub cipher_suite: String,
    /// The certificates the server sent, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// CA names of the server's certificate request, or `None` when it sent no request.
    pub client_ca_names: Option<Vec<String>>,
}

fn server_name(endpoint: &Endpoint) -> Result<ServerName<'static>, String> {
    match endpoint.ip_literal {
        Some(ip) => Ok(ServerName::IpAddress(ip.into())),
        None => ServerName::try_from(endpoint.host.clone())
            .map_err(|err| format!("`{}` is not a valid server name: {err}", endpoint.host)),
    }
}

async fn handshake(
    endpoint: &Endpoint,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Handshake, String> {
    let name = server_name(endpoint)?;
    let recorder = Arc::new(CaNameRecorder::default());
    let config = client_config(recorder.clone())?;
    let secs = timeout.as_secs();
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| format!("no TCP answer within {secs} s"))?
        .map_err(|err| format!("TCP connection failed: {err}"))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| format!("no TLS handshake within {secs} s"))?
        .map_err(|err| format!("TLS handshake failed: {err}"))?;
    let (_, connection) = stream.get_ref();
    Ok(Handshake {
        endpoint: endpoint.clone(),
        addr,
        version: match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
            other => format!("{other:?}"),
        },
        cipher_suite: connection
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".to_owned(), |s| format!("{:?}", s.suite())),
        chain: connection
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|der| der.clone().into_owned())
            .collect(),
        client_ca_names: recorder.names(),
    })
}

/// Pairs each https endpoint with the address it is probed on: the first IPv4 address of its
/// host when it has one, as the port checks do.
pub(crate) async fn tls_targets(
    ctx: &CheckCtx,
    endpoints: &[Endpoint],
) -> Result<Vec<(Endpoint, SocketAddr)>, Problem> {
    let https: Vec<Endpoint> = endpoints
        .iter()
        .filter(|e| e.scheme == "https")
        .cloned()
        .collect();
    let resolved = addresses_by_host(ctx, &https).await;
    let mut targets = Vec::new();
    for endpoint in https {
        let addresses = resolved[&endpoint.host]
            .as_ref()
            .map_err(|reason| Problem(reason.clone()))?;
        let ip = addresses
            .iter()
            .find(|ip| ip.is_ipv4())
            .or_else(|| addresses.first())
            .copied()
            .ok_or_else(|| Problem(format!("{} has no address", endpoint.host)))?;
        targets.push((endpoint.clone(), SocketAddr::new(ip, endpoint.port)));
    }
    Ok(targets)
}

/// Handshakes with every https endpoint at once. A failed handshake is a [`Problem`], because
/// the checks that call this run after `tls-version` has shown that handshakes succeed.
pub(crate) async fn handshakes(
    ctx: &CheckCtx,
    endpoints: &[Endpoint],
) -> Result<Vec<Handshake>, Problem> {
    let timeout = connect_timeout(ctx);
    let targets = tls_targets(ctx, endpoints).await?;
    let attempts = targets
        .iter()
        .map(|(endpoint, addr)| handshake(endpoint, *addr, timeout));
    let results = futures::future::join_all(attempts).await;
    targets
        .iter()
        .zip(results)
        .map(|((endpoint, addr), result)| {
            result.map_err(|reason| Problem(format!("{} ({addr}): {reason}", endpoint.authority())))
        })
        .collect()
}

/// Key under which `tls-version` hands its handshakes to the later TLS checks, so that a run
/// connects once per endpoint instead of once per check.
const HANDSHAKES: &str = "network.tls-handshakes";

fn store_handshakes(ctx: &CheckCtx, found: &[Handshake]) {
    let entries: Vec<serde_json::Value> = found
        .iter()
        .map(|h| {
            json!({
                "authority": h.endpoint.authority(),
                "address": h.addr.to_string(),
                "version": h.version,
                "cipher_suite": h.cipher_suite,
                "chain_pem": x509::to_pem(&h.chain),
                "client_ca_names": h.client_ca_names,
            })
        })
        .collect();
    ctx.env
        .shared
        .put_value(HANDSHAKES, serde_json::Value::Array(entries));
}

/// Returns the handshakes `tls-version` stored, when they cover every endpoint.
fn stored_handshakes(ctx: &CheckCtx, endpoints: &[Endpoint]) -> Option<Vec<Handshake>> {
    let stored = ctx.env.shared.value(HANDSHAKES)?;
    let entries = stored.as_array()?;
    endpoints
        .iter()
        .filter(|e| e.scheme == "https")
        .map(|endpoint| {
            let entry = entries
                .iter()
                .find(|entry| entry["authority"] == endpoint.authority())?;
            let chain = x509::parse_pem(entry["chain_pem"].as_str()?)
                .ok()?
                .into_iter()
                .map(|block| CertificateDer::from(block.der))
                .collect();
            Some(Handshake {
                endpoint: endpoint.clone(),
                addr: entry["address"].as_str()?.parse().ok()?,
                version: entry["version"].as_str()?.to_owned(),
                cipher_suite: entry["cipher_suite"].as_str()?.to_owned(),
                chain,
                client_ca_names: serde_json::from_value(entry["client_ca_names"].clone()).ok()?,
            })
        })
        .collect()
}

pub(super) async fn profile_handshakes(ctx: &CheckCtx) -> Result<Vec<Handshake>, Problem> {
    let endpoints = required_ports(ctx)?;
    let found = match stored_handshakes(ctx, &endpoints) {
        Some(found) => found,
        None => handshakes(ctx, &endpoints).await?,
    };
    if found.is_empty() {
        return Err(Problem(
            "no https endpoint to check: keystone.url is not https (see network.keystone-https)"
                .to_owned(),
        ));
    }
    Ok(found)
}

/// A ClientHello that offers at most TLS 1.1, with the CBC suites such servers use, so that a
/// server still speaking TLS 1.0 or 1.1 replies with the version it picks. rustls cannot
/// send this, because it implements TLS 1.2 and 1.3 only.
fn legacy_client_hello(endpoint: &Endpoint) -> Vec<u8> {
    const SUITES: [u16; 7] = [0xc00a, 0xc009, 0xc014, 0xc013, 0x0035, 0x002f, 0x000a];
    let mut extensions = Vec::new();
    if endpoint.ip_literal.is_none() {
        let name = endpoint.host.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(0);
        extensions.extend([0x00, 0x00]);
        extensions.extend((name_len + 5).to_be_bytes());
        extensions.extend((name_len + 3).to_be_bytes());
        extensions.push(0x00);
        extensions.extend(name_len.to_be_bytes());
        extensions.extend(&name[..usize::from(name_len)]);
    }
    // supported_groups (P-256, P-384) and ec_point_formats (uncompressed), needed for ECDHE.
    extensions.extend([0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    extensions.extend([0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);

    let mut body = vec![0x03, 0x02];
    body.extend(rand::random::<[u8; 32]>());
    body.push(0x00);
    body.extend(u16::try_from(SUITES.len() * 2).unwrap_or(0).to_be_bytes());
    for suite in SUITES {
        body.extend(suite.to_be_bytes());
    }
    body.extend([0x01, 0x00]);
    body.extend(u16::try_from(extensions.len()).unwrap_or(0).to_be_bytes());
    body.extend(extensions);

    let body_len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    let mut handshake = vec![0x01, body_len[1], body_len[2], body_len[3]];
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend(handshake);
    record
}

/// The pre-1.2 version a server accepts, or `None` when it refuses the legacy hello.
async fn legacy_version(
    endpoint: &Endpoint,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Option<u16>, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(&legacy_client_hello(endpoint)).await?;
        let mut header = [0u8; 5];
        if stream.read_exact(&mut header).await.is_err() {
            // Closing the connection is one way to refuse.
            return Ok(None);
        }
        let mut first = [0u8; 6];
        if header[0] != 0x16 || stream.read_exact(&mut first).await.is_err() || first[0] != 0x02 {
            return Ok(None);
        }
        Ok::<_, std::io::Error>(Some(u16::from_be_bytes([first[4], first[5]])))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            format!(
                "no answer to a TLS 1.1 ClientHello within {} s",
                timeout.as_secs()
            )
        })?
        .map_err(|err| format!("TLS 1.1 probe failed: {err}"))
}

fn legacy_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".to_owned(),
        0x0301 => "TLS 1.0".to_owned(),
        0x0302 => "TLS 1.1".to_owned(),
        other => format!("version 0x{other:04x}"),
    }
}

pub(super) async fn version(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let timeout = connect_timeout(&ctx);
    let endpoints = required_ports(&ctx)?;
    let targets = tls_targets(&ctx, &endpoints).await?;
    if targets.is_empty() {
        return Err(Problem("no https endpoint to check".to_owned()));
    }
    let probes = targets.iter().map(|(endpoint, addr)| async move {
        tokio::join!(
            handshake(endpoint, *addr, timeout),
            legacy_version(endpoint, *addr, timeout)
        )
    });
    let results = futures::future::join_all(probes).await;

    let mut problems = Vec::new();
    let mut passed = Vec::new();
    let mut records = Vec::new();
    let completed: Vec<Handshake> = results
        .iter()
        .filter_map(|(modern, _)| modern.as_ref().ok().cloned())
        .collect();
    store_handshakes(&ctx, &completed);
    for ((endpoint, addr), (modern, legacy)) in targets.iter().zip(results) {
        let where_ = format!("{} ({addr})", endpoint.authority());
        let legacy = legacy.unwrap_or(None);
        records.push(json!({
            "endpoint": endpoint.authority(),
            "address": addr.to_string(),
            "version": modern.as_ref().map(|h| h.version.clone()).ok(),
            "cipher_suite": modern.as_ref().map(|h| h.cipher_suite.clone()).ok(),
            "handshake_error": modern.as_ref().err(),
            "accepts_legacy": legacy.map(legacy_name),
        }));
        match (&modern, legacy) {
            (Ok(found), None) => passed.push(format!(
                "{where_} {} {}",
                found.version, found.cipher_suite
            )),
            (Ok(found), Some(old)) => problems.push(format!(
                "{where_} negotiates {} but also accepts {}; allow only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3)",
                found.version,
                legacy_name(old)
            )),
            (Err(_), Some(old)) => problems.push(format!(
                "{where_} refused TLS 1.2 and 1.3 but accepted {}, which is older than TLS 1.2; enable only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3)",
                legacy_name(old)
            )),
            (Err(reason), None) => problems.push(format!("{where_}: {reason}")),
        }
    }
    ctx.evidence
        .add_json("tls-handshakes.json", &serde_json::Value::Array(records));
    if problems.is_empty() {
        Ok(Outcome::pass(format!(
            "{}; TLS 1.1 and older refused",
            passed.join(", ")
        )))
    } else {
        Ok(Outcome::fail(join_limited(&problems, 5)))
    }
}

/// Reads the CA certificates of the profile's trust-anchor directory. The caller adds the
/// Mozilla roots when `tls.public_roots` is set.
fn anchor_certificates(ctx: &CheckCtx) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let tls = &ctx.profile().tls;
    let Some(dir) = &tls.trust_anchors else {
        return Ok(Vec::new());
    };
    let store = x509::read_trust_store(dir)
        .map_err(|problem| Problem(format!("cannot read the trust anchors: {problem}")))?;
    Ok(store
        .certificates
        .into_iter()
        .map(|cert| cert.der)
        .collect())
}

/// Verifies each served chain against the trust anchors; one line per failure.
pub(crate) fn chain_problems(ctx: &CheckCtx, found: &[Handshake]) -> Result<Vec<String>, Problem> {
    let certificates = anchor_certificates(ctx)?;
    let (mut anchors, _) = x509::trust_anchors(&certificates);
    if ctx.profile().tls.public_roots {
        anchors.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if anchors.is_empty() {
        return Err(Problem(
            "no trust anchors: set tls.trust_anchors to the IGTF CA directory (or tls.public_roots = true)".to_owned(),
        ));
    }
    let now = unix_time(ctx);
    let mut problems = Vec::new();
    for handshake in found {
        ctx.evidence.add_text(
            &format!(
                "chain-{}-{}.pem",
                handshake.endpoint.host, handshake.endpoint.port
            ),
            &x509::to_pem(&handshake.chain),
        );
        if let Err(err) = x509::verify_chain(&handshake.chain, &anchors, now) {
            problems.push(format!(
                "{} ({}): {err}",
                handshake.endpoint.authority(),
                handshake.addr.ip()
            ));
        }
    }
    Ok(problems)
}

fn unix_time(ctx: &CheckCtx) -> UnixTime {
    let seconds = u64::try_from(ctx.env.now.timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(Duration::from_secs(seconds))
}

pub(super) async fn chain(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let found = profile_handshakes(&ctx).await?;
    let problems = chain_problems(&ctx, &found)?;
    if problems.is_empty() {
        let list: Vec<String> = found
            .iter()
            .map(|h| {
                format!(
                    "{} ({} certificates)",
                    h.endpoint.authority(),
                    h.chain.len()
                )
            })
            .collect();
        return Ok(Outcome::pass(format!(
            "chains build to the trust anchors: {}",
            list.join(", ")
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 4)))
}

fn summaries(handshake: &Handshake) -> Result<Vec<CertSummary>, Problem> {
    x509::summarize_chain(&handshake.chain)
        .map_err(|err| Problem(format!("{}: {err}", handshake.endpoint.authority())))
}

/// Checks that the leaf covers the host name the URL uses.
pub(crate) fn hostname_problems(found: &[Handshake]) -> Result<Vec<String>, Problem> {
    let mut problems = Vec::new();
    for handshake in found {
        let leaf_der = handshake.chain.first().ok_or_else(|| {
            Problem(format!(
                "{}: the server sent no certificate",
                handshake.endpoint.authority()
            ))
        })?;
        let leaf = webpki::EndEntityCert::try_from(leaf_der).map_err(|err| {
            Problem(format!(
                "{}: unreadable certificate: {err:?}",
                handshake.endpoint.authority()
            ))
        })?;
        let name = server_name(&handshake.endpoint).map_err(Problem)?;
        if leaf.verify_is_valid_for_subject_name(&name).is_err() {
            let summary = &summaries(handshake)?[0];
            problems.push(format!(
                "{}: the certificate `{}` is for {}, not {}; issue a certificate whose subjectAltName includes {}",
                handshake.endpoint.authority(),
                summary.subject,
                if summary.names.is_empty() { "no subjectAltName".to_owned() } else { summary.names.join(", ") },
                handshake.endpoint.host,
                handshake.endpoint.host
            ));
        }
    }
    Ok(problems)
}

pub(super) async fn hostname(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let found = profile_handshakes(&ctx).await?;
    let problems = hostname_problems(&found)?;
    if problems.is_empty() {
        let list: Vec<String> = found.iter().map(|h| h.endpoint.authority()).collect();
        return Ok(Outcome::pass(format!(
            "the certificates name their hosts: {}",
            list.join(", ")
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 4)))
}

fn day_count(count: i64) -> String {
    if count == 1 {
        "1 day".to_owned()
    } else {
        format!("{count} days")
    }
}

/// Finds served certificates outside their validity period at `now`.
pub(crate) fn validity_problems(found: &[Handshake], now: i64) -> Result<Vec<String>, Problem> {
    let mut problems = Vec::new();
    for handshake in found {
        for cert in summaries(handshake)? {
            if cert.not_after < now {
                problems.push(format!(
                    "{}: the certificate `{}` expired on {} ({} ago); install a renewed certificate",
                    handshake.endpoint.authority(),
                    cert.subject,
                    x509::utc_date(cert.not_after),
                    day_count((now - cert.not_after) / 86_400)
                ));
            } else if cert.not_before > now {
                problems.push(format!(
                    "{}: the certificate `{}` is not valid before {}; check the server's clock and the certificate",
                    handshake.endpoint.authority(),
                    cert.subject,
                    x509::utc_date(cert.not_before)
                ));
            }
        }
    }
    Ok(problems)
}

pub(super) async fn not_expired(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let found = profile_handshakes(&ctx).await?;
    let problems = validity_problems(&found, ctx.env.now.timestamp())?;
    if problems.is_empty() {
        return Ok(Outcome::pass(format!(
            "every served certificate is within its validity period ({})",
            expiry_summary(&found)?
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 4)))
}

/// Lists the earliest expiry on each endpoint, for pass messages.
fn expiry_summary(found: &[Handshake]) -> Result<String, Problem> {
    let mut parts = Vec::new();
    for handshake in found {
        let earliest = summaries(handshake)?
            .iter()
            .map(|c| c.not_after)
            .min()
            .unwrap_or_default();
        parts.push(format!(
            "{} until {}",
            handshake.endpoint.authority(),
            x509::utc_date(earliest)
        ));
    }
    Ok(parts.join(", "))
}

pub(super) async fn expiry_warning(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let found = profile_handshakes(&ctx).await?;
    let days = i64::from(ctx.profile().tls.expiry_warning_days);
    let now = ctx.env.now.timestamp();
    let mut problems = Vec::new();
    for handshake in &found {
        for cert in summaries(handshake)? {
            let left = (cert.not_after - now) / 86_400;
            if cert.not_after >= now && left < days {
                problems.push(format!(
                    "{}: the certificate `{}` expires on {}, in {} (warning threshold tls.expiry_warning_days = {days}); renew it",
                    handshake.endpoint.authority(),
                    cert.subject,
                    x509::utc_date(cert.not_after),
                    day_count(left)
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(Outcome::pass(format!(
            "no certificate expires within {days} days ({})",
            expiry_summary(&found)?
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 4)))
}
