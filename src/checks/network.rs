//! Network suite: name resolution and reachability of the site's endpoints.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveErrorKind, TokioResolver};

use super::{CheckCtx, CheckKind, Outcome, Problem};

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "dns-resolves",
        params: &[],
        run: |ctx| Box::pin(dns_resolves(ctx)),
    },
    CheckKind {
        name: "tcp-connect",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tcp_connect(ctx)),
    },
];

/// The Keystone host and port from the profile.
fn keystone_host_port(ctx: &CheckCtx) -> Result<(String, u16), Problem> {
    let url =
        url::Url::parse(&ctx.profile().keystone.url).map_err(|err| Problem(err.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| {
            Problem(format!(
                "keystone.url {} has no host",
                ctx.profile().keystone.url
            ))
        })?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    Ok((host, port))
}

/// A resolver for the profile: the system one, or only the listed resolvers.
pub fn resolver_for(ctx: &CheckCtx) -> Result<TokioResolver, Problem> {
    let network = &ctx.profile().network;
    if network.system_resolver {
        return TokioResolver::builder_tokio()
            .map(|builder| builder.build())
            .map_err(|err| {
                Problem(format!(
                    "cannot read the system resolver configuration: {err}"
                ))
            });
    }
    let mut config = ResolverConfig::new();
    for text in &network.resolvers {
        let addr: SocketAddr = text
            .parse()
            .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
            .map_err(|_| {
                Problem(format!(
                    "network.resolvers entry `{text}` is not IP or IP:port"
                ))
            })?;
        config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
        config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
    }
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(3);
    options.attempts = 2;
    Ok(
        TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            .with_options(options)
            .build(),
    )
}

async fn dns_resolves(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (host, _) = keystone_host_port(&ctx)?;
    if host.parse::<IpAddr>().is_ok() {
        return Ok(Outcome::fail(format!(
            "keystone.url uses the IP address {host}; register a DNS name, because certificates and GOCDB entries are issued for names"
        )));
    }
    let resolver = resolver_for(&ctx)?;
    match resolver.lookup_ip(host.as_str()).await {
        Ok(lookup) => {
            let addresses: Vec<String> = lookup.iter().map(|ip| ip.to_string()).collect();
            let ttl = lookup
                .valid_until()
                .saturating_duration_since(std::time::Instant::now())
                .as_secs();
            ctx.evidence.add_json(
                "dns.json",
                &serde_json::json!({"name": host, "addresses": addresses, "ttl_seconds_left": ttl}),
            );
            Ok(Outcome::pass(format!(
                "{host} resolves to {}",
                addresses.join(", ")
            )))
        }
        Err(err) => {
            let what = match err.kind() {
                ResolveErrorKind::Proto(proto) if proto.is_no_records_found() => {
                    if proto.is_nx_domain() {
                        "does not exist (NXDOMAIN)"
                    } else {
                        "has no A or AAAA record"
                    }
                }
                _ => "could not be resolved",
            };
            ctx.evidence
                .add_text("dns-error.txt", &format!("{host}: {err}"));
            Ok(Outcome::fail(format!(
                "{host} {what}: {err}; publish A/AAAA records for the Keystone host"
            )))
        }
    }
}

async fn tcp_connect(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (host, keystone_port) = keystone_host_port(&ctx)?;
    let timeout =
        Duration::from_secs(u64::try_from(ctx.param_i64("connect_timeout", 5)).unwrap_or(5));
    let mut ports = ctx.profile().network.ports.clone();
    if !ports.contains(&keystone_port) {
        ports.insert(0, keystone_port);
    }
    let addresses: Vec<SocketAddr> =
        match tokio::net::lookup_host((host.as_str(), keystone_port)).await {
            Ok(found) => found.collect(),
            Err(err) => return Err(Problem(format!("cannot resolve {host}: {err}"))),
        };
    let Some(address) = addresses.first().map(SocketAddr::ip) else {
        return Err(Problem(format!("{host} has no address")));
    };
    let probes = ports.iter().map(|&port| async move {
        let target = SocketAddr::new(address, port);
        let result = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(target)).await;
        (port, result)
    });
    // Probes run concurrently, so a run over many ports takes as long as the slowest one.
    let results = futures::future::join_all(probes).await;
    let mut closed = Vec::new();
    let mut lines = Vec::new();
    for (port, result) in results {
        let state = match result {
            Ok(Ok(_)) => "open".to_owned(),
            Ok(Err(err)) => format!("closed ({err})"),
            Err(_) => format!("no answer within {} s", timeout.as_secs()),
        };
        if state != "open" {
            closed.push(format!("{host}:{port} {state}"));
        }
        lines.push(format!("{address}:{port} {state}"));
    }
    ctx.evidence.add_text("tcp.txt", &lines.join("\n"));
    if !closed.is_empty() {
        return Ok(Outcome::fail(format!(
            "{}; open these ports to the outside in the firewall",
            closed.join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "{host} ({address}) accepts connections on ports {ports:?}"
    )))
}
