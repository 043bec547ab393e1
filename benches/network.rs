//! Wall time of the network suite over 50 https endpoints that each wait 200 ms before they
//! respond to a connection, against one such probe alone and the serial sum.
//!
//! The testbed's way to add latency, a netem qdisc in a network namespace, needs a kernel with
//! `CONFIG_NET_SCH_NETEM`. This benchmark needs none: 50 in-process TLS listeners on
//! 127.0.0.1 accept at once, sleep `NETWORK_BENCH_DELAY_MS` (200 by default) and only then run
//! the TLS handshake and answer `GET /v3/`. The delay is therefore once per connection, not
//! per packet as with netem, and DNS is not delayed (`localhost` resolves without a query).
//! Run with `cargo bench --bench network`; `NETWORK_BENCH_ENDPOINTS` sets the count.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedcloud_conformance::checks::Status;
use fedcloud_conformance::report::ReportJson;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A CA and a `localhost` server certificate it signed, as PEM and DER.
struct Pki {
    ca_pem: String,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn make_pki() -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "Network Bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&key, &issuer)?;
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        cert: leaf_cert.der().clone(),
        key: PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|_| rcgen::Error::KeyGenerationUnavailable)?,
    })
}

/// Serves one connection: wait, handshake, then respond to any request with a version document.
async fn serve(stream: tokio::net::TcpStream, acceptor: TlsAcceptor, delay: Duration, port: u16) {
    tokio::time::sleep(delay).await;
    let Ok(mut tls) = acceptor.accept(stream).await else {
        return;
    };
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = format!(
        r#"{{"version": {{"id": "v3.14", "status": "stable", "links": [{{"rel": "self", "href": "https://localhost:{port}/v3/"}}]}}}}"#
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

async fn start_listeners(count: u64, pki: &Pki, delay: Duration) -> std::io::Result<Vec<u16>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
        .map_err(std::io::Error::other)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let mut ports = Vec::new();
    for _ in 0..count {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        ports.push(port);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, acceptor.clone(), delay, port));
            }
        });
    }
    Ok(ports)
}

fn write_profile(dir: &Path, pki: &Pki, ports: &[u16]) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir.join("ca"))?;
    std::fs::write(dir.join("ca/bench-ca.pem"), &pki.ca_pem)?;
    let endpoints: Vec<String> = ports[1..]
        .iter()
        .map(|port| format!("\"https://localhost:{port}/v3\""))
        .collect();
    let profile = format!(
        "[site]\nname = \"NETWORK-BENCH\"\nvos = [\"ops\"]\n\n[keystone]\nurl = \"https://localhost:{}/v3\"\n\n[tls]\ntrust_anchors = \"{}\"\n\n[network]\nendpoints = [{}]\n",
        ports[0],
        dir.join("ca").display(),
        endpoints.join(", ")
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, profile)?;
    Ok(path)
}

/// Times one https GET to one listener, as a single probe.
async fn single_probe(pki: &Pki, port: u16) -> Result<Duration, Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes())?)
        .build()?;
    let start = Instant::now();
    client
        .get(format!("https://localhost:{port}/v3/"))
        .send()
        .await?
        .bytes()
        .await?;
    Ok(start.elapsed())
}

/// Runs the network suite with the real binary, as a site admin would, and returns its wall
/// time and report.
async fn run_suite(
    profile: &Path,
    out: &Path,
) -> Result<(Duration, ReportJson), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
        .arg("run")
        .arg("--site")
        .arg(profile)
        .args([
            "--filter",
            "suite:network",
            "--skip",
            "tag:catalog",
            "--mode",
            "ci",
            "--out",
        ])
        .arg(out)
        .output()
        .await?;
    let elapsed = start.elapsed();
    let text = std::fs::read_to_string(out.join("report.json")).map_err(|err| {
        format!(
            "no report ({err}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok((elapsed, serde_json::from_str(&text)?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = env_number("NETWORK_BENCH_ENDPOINTS", 50).max(1);
    let delay = Duration::from_millis(env_number("NETWORK_BENCH_DELAY_MS", 200));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pki = make_pki()?;
    let ports = start_listeners(count, &pki, delay).await?;
    let dir = tempfile::tempdir()?;
    let profile = write_profile(dir.path(), &pki, &ports)?;

    let probe = single_probe(&pki, ports[0]).await?;
    let mut runs = Vec::new();
    for round in 0..3 {
        let (elapsed, report) =
            run_suite(&profile, &dir.path().join(format!("out-{round}"))).await?;
        let tls_version = report
            .checks
            .iter()
            .find(|c| c.id == "network.tls-version")
            .ok_or("network.tls-version did not run")?;
        if tls_version.status != Status::Passed {
            return Err(format!("network.tls-version: {}", tls_version.message).into());
        }
        runs.push((elapsed, tls_version.duration_ms));
        if round == 0 {
            for check in &report.checks {
                eprintln!(
                    "  {:<32} {:>5} ms  {:?}",
                    check.id, check.duration_ms, check.status
                );
            }
        }
    }
    runs.sort();
    // Each endpoint gets a TLS 1.2/1.3 and a TLS 1.1 connection in tls-version, and Keystone
    // one more for the version document. Later TLS checks reuse tls-version's handshakes.
    let delayed = 2 * count + 1;
    let serial = delay * u32::try_from(delayed)?;
    let (median, tls_ms) = runs[runs.len() / 2];
    eprintln!(
        "endpoints: {count}, delay per connection: {} ms",
        delay.as_millis()
    );
    eprintln!(
        "single probe (one https GET): {:.0} ms",
        probe.as_secs_f64() * 1e3
    );
    eprintln!(
        "network suite, median of {}: {:.0} ms (runs: {})",
        runs.len(),
        median.as_secs_f64() * 1e3,
        runs.iter()
            .map(|(d, _)| format!("{:.0} ms", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "network.tls-version alone ({} handshakes): {tls_ms} ms",
        2 * count
    );
    eprintln!(
        "serial sum of the {delayed} delayed connections: {:.0} ms; suite / single probe = {:.1}",
        serial.as_secs_f64() * 1e3,
        median.as_secs_f64() / probe.as_secs_f64()
    );
    Ok(())
}
