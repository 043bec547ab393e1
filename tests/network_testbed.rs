//! The network suite against the real DNS and TLS servers of `testbed/network`: each broken
//! variant fails exactly the check that judges its fault, with a message naming the host, port
//! or certificate, and the healthy variant passes.
//!
//! The testbed must be running (`testbed/network/up`, as root). Without it one test fails with
//! that hint, because a skipped network test would look like a passing one in CI.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fedcloud_conformance::checks::{self, CheckCtx, Evidence, Outcome, RunEnv, Shared, Status};
use fedcloud_conformance::http::{ClientConfig, HttpClient};
use fedcloud_conformance::manifest::{BUILTIN, Catalog, CheckSpec};
use fedcloud_conformance::profile::SiteProfile;
use fedcloud_conformance::report::ReportJson;
use fedcloud_conformance::secret::Redactor;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// The check that must fail for each broken variant.
const EXPECTED_CHECK: &[(&str, &str)] = &[
    ("tls-chain-incomplete", "network.tls-chain"),
    ("tls-expired", "network.tls-not-expired"),
    ("tls-wrong-host", "network.tls-hostname"),
    ("tls-self-signed", "network.tls-chain"),
    ("tls-expiring-soon", "network.tls-expiry-warning"),
    ("tls-old-protocol", "network.tls-version"),
    ("version-links-http", "network.version-links"),
    ("http-plain", "network.keystone-https"),
    ("control-plane-open", "network.control-plane-closed"),
    ("dns-no-ptr", "network.reverse-dns"),
    ("dns-ptr-mismatch", "network.reverse-dns"),
    ("dns-nxdomain", "network.keystone-dns"),
    ("dns-servfail", "network.keystone-dns"),
    ("tls-client-ca-none", "network.tls-client-ca-names"),
];

const IPV6_CHECK: &str = "network.ipv6";

fn variants_path() -> PathBuf {
    std::env::var_os("FEDCLOUD_NETWORK_TESTBED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testbed/network/.state/variants.json")
        })
}

/// Reads `variants.json` and checks that the DNS server accepts connections, or returns how
/// to start the testbed.
fn load_testbed() -> Result<Value, String> {
    let path = variants_path();
    let hint = "start it with `sudo testbed/network/up` (CI runs it before cargo test)";
    let text = std::fs::read_to_string(&path).map_err(|err| {
        format!(
            "the network testbed is not up: cannot read {}: {err}; {hint}",
            path.display()
        )
    })?;
    let testbed: Value = serde_json::from_str(&text).map_err(|err| {
        format!(
            "{} is not valid JSON: {err}; rerun testbed/network/up",
            path.display()
        )
    })?;
    let server = testbed["dns"]["server"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let addr: std::net::SocketAddr = server
        .parse()
        .map_err(|_| format!("{} has no dns.server address", path.display()))?;
    // A zone transfer needs TCP, so BIND listens there too; a refused connection means the
    // testbed was stopped after variants.json was written.
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
        .map_err(|err| format!("the network testbed is not up: its DNS server {server} does not answer ({err}); {hint}"))?;
    Ok(testbed)
}

/// Runs the network suite on a profile with the real binary and returns the report and exit
/// code. Catalog checks are left out: they need a token from the AAI suite.
fn run_suite(profile: &Path, out: &Path) -> Result<(ReportJson, i32), Failed> {
    let output = Command::new(env!("CARGO_BIN_EXE_fedcloud-conformance"))
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
        ])
        .arg("--out")
        .arg(out)
        .output()?;
    let code = output.status.code().unwrap_or(-1);
    let report_path = out.join("report.json");
    let text = std::fs::read_to_string(&report_path).map_err(|err| {
        format!(
            "no report at {} ({err}); exit {code}; stderr: {}",
            report_path.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok((serde_json::from_str(&text)?, code))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Phrases the failing check's message must contain: the host and port or certificate at
/// fault, and the fault in the usual words.
fn expected_phrases(variant: &Value) -> Vec<String> {
    let host = text(&variant["host"]);
    let address = text(&variant["address"]);
    let port = variant["port"].as_u64().unwrap_or_default();
    let at_port = format!("{host}:{port}");
    match text(&variant["name"]).as_str() {
        "tls-chain-incomplete" => vec![
            at_port,
            text(&variant["missing_issuer"]),
            "incomplete".into(),
        ],
        "tls-expired" => vec![at_port, format!("CN={host}"), "expired on".into()],
        "tls-wrong-host" => vec![
            at_port,
            "elsewhere.site.fedcloud.test".into(),
            format!("not {host}"),
        ],
        "tls-self-signed" => vec![at_port, format!("CN={host}"), "self-signed".into()],
        "tls-expiring-soon" => vec![
            at_port,
            format!("CN={host}"),
            "tls.expiry_warning_days = 30".into(),
        ],
        "tls-old-protocol" => vec![at_port, "refused TLS 1.2 and 1.3".into(), "TLS 1.1".into()],
        "version-links-http" => vec![format!("links to http://{host}:{port}/v3/")],
        "http-plain" => vec![text(&variant["keystone_url"]), "not https".into()],
        "control-plane-open" => variant["open_control_plane_ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{host}:{} ", p.as_u64().unwrap_or_default()))
            .chain([format!("on {address}")])
            .collect(),
        "dns-no-ptr" => vec![
            address,
            format!("address of {host}"),
            "no PTR record".into(),
            "NXDOMAIN".into(),
        ],
        "dns-ptr-mismatch" => vec![
            address,
            "elsewhere.site.fedcloud.test".into(),
            "127.0.20.200".into(),
        ],
        "dns-nxdomain" => vec![host, "NXDOMAIN".into()],
        "dns-servfail" => vec![host, "SERVFAIL".into()],
        "tls-client-ca-none" => vec![
            format!("{at_port} ({address}:{port})"),
            "requests a client certificate but names no CA".into(),
        ],
        _ => Vec::new(),
    }
}

/// Parses the N of "expires on …, in N days" in a message.
fn days_left(message: &str) -> Option<i64> {
    let (_, rest) = message.split_once(", in ")?;
    rest.split(' ').next()?.parse().ok()
}

fn check_variant(variant: &Value, testbed: &Value) -> Result<(), Failed> {
    let name = text(&variant["name"]);
    let out = tempfile::tempdir()?;
    let (report, code) = run_suite(Path::new(&text(&variant["profile"])), out.path())?;
    let by_id: BTreeMap<&str, _> = report.checks.iter().map(|c| (c.id.as_str(), c)).collect();
    if name == "healthy" {
        return check_healthy(&report, code, out.path());
    }

    let Some(&(_, target)) = EXPECTED_CHECK.iter().find(|(variant, _)| *variant == name) else {
        return Err(
            format!("variant `{name}` has no expected check in EXPECTED_CHECK; add one").into(),
        );
    };
    let failing = by_id.get(target).ok_or(format!("{target} did not run"))?;
    assert_eq!(
        failing.status,
        Status::Failed,
        "{target}: {}",
        failing.message
    );
    let advisory = text(&variant["expect"]["outcome"]) == "warn";
    assert_eq!(
        failing.level,
        if advisory { "advisory" } else { "required" },
        "{target}"
    );
    for phrase in expected_phrases(variant) {
        assert!(
            failing.message.contains(&phrase),
            "{target} message lacks {phrase:?}: {}",
            failing.message
        );
    }
    assert_eq!(
        code,
        if advisory { 0 } else { 1 },
        "exit code of the {name} run"
    );
    if name == "tls-expiring-soon" {
        let left = testbed["pki"]["expiring_soon_days_left"]
            .as_i64()
            .unwrap_or_default();
        let days =
            days_left(&failing.message).ok_or(format!("no day count in {}", failing.message))?;
        // Whole days round down, and the testbed may have been up for a while.
        assert!(
            (0..left).contains(&days),
            "{days} days left, testbed made {left}: {}",
            failing.message
        );
    }

    for check in &report.checks {
        if check.id == target {
            continue;
        }
        if check.id == IPV6_CHECK && check.status == Status::Failed {
            // Only the healthy host has an AAAA record.
            assert!(variant["address_v6"].is_null(), "{name}: {}", check.message);
            assert!(
                check
                    .message
                    .contains(&format!("{} has no AAAA record", text(&variant["host"]))),
                "{}",
                check.message
            );
            continue;
        }
        match check.status {
            Status::Passed => {}
            Status::Skipped => assert!(
                check.message.starts_with("dependency network.")
                    || (check.id == "network.version-links"
                        && check.message.contains("network.tls-* report the TLS fault")),
                "{} skipped for another reason: {}",
                check.id,
                check.message
            ),
            _ => panic!(
                "{name}: {} is {:?} besides {target}: {}",
                check.id, check.status, check.message
            ),
        }
    }
    Ok(())
}

fn check_healthy(report: &ReportJson, code: i32, bundle: &Path) -> Result<(), Failed> {
    for check in &report.checks {
        assert_eq!(
            check.status,
            Status::Passed,
            "{}: {}",
            check.id,
            check.message
        );
    }
    assert_eq!(code, 0);
    assert!(
        report.checks.iter().any(|c| c.id == IPV6_CHECK),
        "the IPv6 check ran"
    );

    let evidence = bundle.join("evidence");
    let dns = std::fs::read_to_string(evidence.join("network.keystone-dns/01-dns.json"))?;
    let dns: Value = serde_json::from_str(&dns)?;
    assert_eq!(dns[0]["answer"]["A"][0]["address"], "127.0.20.1", "{dns}");
    // The zone's TTL; a cache in between would show less.
    assert_eq!(dns[0]["answer"]["A"][0]["ttl"], 300, "{dns}");
    assert_eq!(dns[0]["answer"]["AAAA"][0]["address"], "::1", "{dns}");

    let chain = std::fs::read_to_string(
        evidence.join("network.tls-chain/01-chain-keystone.site.fedcloud.test-5000.pem"),
    )?;
    assert_eq!(
        chain.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "leaf and intermediate"
    );

    let handshakes =
        std::fs::read_to_string(evidence.join("network.tls-version/01-tls-handshakes.json"))?;
    let handshakes: Value = serde_json::from_str(&handshakes)?;
    assert_eq!(handshakes[0]["version"], "TLS 1.3", "{handshakes}");
    assert!(
        text(&handshakes[0]["cipher_suite"]).starts_with("TLS13_"),
        "{handshakes}"
    );
    assert!(handshakes[0]["accepts_legacy"].is_null(), "{handshakes}");

    // nginx names the CA of ssl_client_certificate, the test root, in its certificate request.
    let ca_names = std::fs::read_to_string(
        evidence.join("network.tls-client-ca-names/01-tls-client-ca-names.json"),
    )?;
    let ca_names: Value = serde_json::from_str(&ca_names)?;
    assert_eq!(
        ca_names[0]["requests_client_certificate"], true,
        "{ca_names}"
    );
    let names = ca_names[0]["ca_names"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(names.len(), 1, "{ca_names}");
    assert!(
        text(&names[0]).contains("CN=Testbed Root CA"),
        "the root CA's subject: {ca_names}"
    );
    Ok(())
}

/// Parses a profile for the healthy host with extra lines for `[network]` and `[tls]`.
fn healthy_profile(testbed: &Value, network: &str, tls: &str) -> SiteProfile {
    let anchors = text(&testbed["pki"]["trust_anchors"]);
    let source = format!(
        "[site]\nname = \"TESTBED-NET-CASE\"\nvos = [\"ops\"]\n\n[keystone]\nurl = \"https://keystone.site.fedcloud.test:5000/v3\"\n\n[tls]\ntrust_anchors = \"{anchors}\"\n{tls}\n\n[network]\nsystem_resolver = false\n{network}\n"
    );
    SiteProfile::parse(Path::new("/testbed-case.toml"), &source).expect("valid test profile")
}

/// Runs one check of the manifest directly, with `catalog` stored as the AAI suite stores it.
fn run_check(profile: SiteProfile, id: &str, catalog: Option<Value>) -> Result<Outcome, Failed> {
    let redactor = Redactor::default();
    let http = HttpClient::new(ClientConfig::default())?;
    let env = Arc::new(RunEnv {
        profile,
        redactor: redactor.clone(),
        http,
        shared: Shared::default(),
        secret_overrides: Vec::new(),
        now: chrono::Utc::now(),
    });
    if let Some(catalog) = catalog {
        env.shared.put_value("keystone.catalog", catalog);
    }
    let spec = builtin_spec(id)?;
    let ctx = CheckCtx {
        env,
        spec: Arc::new(spec),
        evidence: Evidence::new(redactor),
        retries: Arc::default(),
    };
    let check = checks::lookup(&ctx.spec.kind).ok_or(format!("no kind for {id}"))?;
    let runtime = tokio::runtime::Runtime::new()?;
    Ok(runtime
        .block_on((check.run)(ctx))
        .map_err(|problem| problem.0)?)
}

fn resolver_that_never_answers() -> Result<(UdpSocket, String), Failed> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?.to_string();
    Ok((socket, addr))
}

fn resolver_timeout_named(testbed: &Value) -> Result<(), Failed> {
    // The socket is bound but never read, so queries to it time out instead of being refused.
    let (_socket, silent) = resolver_that_never_answers()?;
    let bind = text(&testbed["dns"]["server"]);
    let profile = healthy_profile(
        testbed,
        &format!("resolvers = [\"{bind}\", \"{silent}\"]"),
        "",
    );
    let outcome = run_check(profile, "network.resolvers-agree", None)?;
    assert_eq!(outcome.status, Status::Failed, "{}", outcome.message);
    assert!(
        outcome
            .message
            .contains(&format!("resolver {silent} did not answer within 3 s")),
        "{}",
        outcome.message
    );
    assert!(
        !outcome.message.contains(&format!("resolver {bind} did")),
        "{}",
        outcome.message
    );
    Ok(())
}

fn resolvers_agree_compared(testbed: &Value) -> Result<(), Failed> {
    let bind = text(&testbed["dns"]["server"]);
    let profile = healthy_profile(
        testbed,
        &format!("resolvers = [\"{bind}\", \"{bind}\"]"),
        "",
    );
    let outcome = run_check(profile, "network.resolvers-agree", None)?;
    assert_eq!(outcome.status, Status::Passed, "{}", outcome.message);
    assert!(
        outcome.message.contains(&format!(
            "resolver {bind}, resolver {bind} agree on keystone.site.fedcloud.test"
        )),
        "{}",
        outcome.message
    );
    Ok(())
}

fn truncated_ca_file_named(testbed: &Value) -> Result<(), Failed> {
    let bind = text(&testbed["dns"]["server"]);
    let mut profile = healthy_profile(testbed, &format!("resolvers = [\"{bind}\"]"), "");
    profile.tls.trust_anchors = Some(PathBuf::from(text(&testbed["pki"]["trust_anchors_broken"])));
    let outcome = run_check(profile, "network.trust-store", None)?;
    assert_eq!(outcome.status, Status::Failed, "{}", outcome.message);
    let file = text(&testbed["pki"]["truncated_ca_file"]);
    assert!(outcome.message.contains(&format!("unreadable CA or CRL file {file}: line 1: the CERTIFICATE block is truncated or is not DER")), "{}", outcome.message);
    Ok(())
}

fn glued_crl_bundle_fails(testbed: &Value) -> Result<(), Failed> {
    let bundle = text(&testbed["pki"]["crl_bundle_glued"]);
    let bind = text(&testbed["dns"]["server"]);
    let profile = healthy_profile(
        testbed,
        &format!("resolvers = [\"{bind}\"]"),
        &format!("crl_bundle = \"{bundle}\""),
    );
    let outcome = run_check(profile, "network.trust-store", None)?;
    assert_eq!(outcome.status, Status::Failed, "{}", outcome.message);
    assert!(
        outcome
            .message
            .contains(&format!("unreadable CRL bundle {bundle}: line ")),
        "{}",
        outcome.message
    );
    assert!(
        outcome
            .message
            .contains("-----END X509 CRL----------BEGIN X509 CRL-----"),
        "{}",
        outcome.message
    );
    Ok(())
}

fn separated_crl_bundle_passes(testbed: &Value) -> Result<(), Failed> {
    let bundle = text(&testbed["pki"]["crl_bundle"]);
    let bind = text(&testbed["dns"]["server"]);
    let profile = healthy_profile(
        testbed,
        &format!("resolvers = [\"{bind}\"]"),
        &format!("crl_bundle = \"{bundle}\""),
    );
    let outcome = run_check(profile, "network.trust-store", None)?;
    assert_eq!(outcome.status, Status::Passed, "{}", outcome.message);
    assert!(
        outcome.message.contains("holds 2 current CRLs"),
        "{}",
        outcome.message
    );
    Ok(())
}

/// Field case 12 on the catalog DNS check: the IP literal is named, and the other host gets
/// the testbed resolver's SERVFAIL, since it is outside every zone the testbed serves.
fn case12_catalog_ip_literal(testbed: &Value) -> Result<(), Failed> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/tls/case12-catalog-public-http-ip-literal.json"),
    )?)?;
    let bind = text(&testbed["dns"]["server"]);
    let profile = healthy_profile(testbed, &format!("resolvers = [\"{bind}\"]"), "");
    let outcome = run_check(
        profile,
        "network.catalog-dns",
        Some(case["token"]["catalog"].clone()),
    )?;
    assert_eq!(outcome.status, Status::Failed, "{}", outcome.message);
    assert!(outcome.message.contains("catalog identity public endpoint `http://192.0.2.10:5000/v3/` names the IP address 192.0.2.10"), "{}", outcome.message);
    assert!(
        outcome.message.contains("cloud.example.org"),
        "{}",
        outcome.message
    );
    assert!(outcome.message.contains("SERVFAIL"), "{}", outcome.message);
    // Internal and admin entries are not public, so they are not checked.
    assert!(!outcome.message.contains("35357"), "{}", outcome.message);
    Ok(())
}

/// Returns the manifest's declaration of `id`, from the suites built into the binary.
fn builtin_spec(id: &str) -> Result<CheckSpec, Failed> {
    let sources = BUILTIN
        .iter()
        .map(|(name, text)| (PathBuf::from(name), (*text).to_owned()))
        .collect();
    let catalog = Catalog::from_sources(sources).map_err(|err| err.to_string())?;
    Ok(catalog.get(id).ok_or(format!("no check {id}"))?.clone())
}

/// A test that needs the running testbed, given `variants.json`.
type TestbedTest = fn(&Value) -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let testbed = match load_testbed() {
        Ok(testbed) => Arc::new(testbed),
        Err(reason) => {
            let trial = Trial::test("network_testbed_is_up", move || Err(reason.into()));
            libtest_mimic::run(&args, vec![trial]).exit();
        }
    };
    let mut trials: Vec<Trial> = testbed["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|variant| {
            let variant = variant.clone();
            let testbed = testbed.clone();
            let name = format!("variant_{}", text(&variant["name"]).replace('-', "_"));
            Trial::test(name, move || check_variant(&variant, &testbed))
        })
        .collect();
    let extra: [(&str, TestbedTest); 6] = [
        ("resolver_timeout_named", resolver_timeout_named),
        ("resolvers_agree_compared", resolvers_agree_compared),
        ("truncated_ca_file_named", truncated_ca_file_named),
        ("glued_crl_bundle_fails", glued_crl_bundle_fails),
        ("separated_crl_bundle_passes", separated_crl_bundle_passes),
        ("case12_catalog_ip_literal", case12_catalog_ip_literal),
    ];
    for (name, test) in extra {
        let testbed = testbed.clone();
        trials.push(Trial::test(name, move || test(&testbed)));
    }
    libtest_mimic::run(&args, trials).exit();
}
