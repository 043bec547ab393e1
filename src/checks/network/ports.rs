//! Port checks: the API ports accept TCP connections, the cloud's control-plane services do
//! not, and the endpoints are reachable over IPv6.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;

use super::dns::{endpoint_addresses, resolve};
use super::{Endpoint, connect_timeout, join_limited, profile_endpoints, required_ports};
use crate::checks::{CheckCtx, Outcome, Problem};

/// Connection attempts in flight at once; enough for every control-plane port of two
/// addresses, well under a default limit of 1024 open files.
const MAX_PROBES: usize = 256;

/// Services an OpenStack cloud runs internally, which must not accept connections from outside:
/// the port range and the service name for messages.
const CONTROL_PLANE: &[(u16, u16, &str)] = &[
    (3306, 3306, "MySQL"),
    (5432, 5432, "PostgreSQL"),
    (5672, 5672, "RabbitMQ"),
    (11211, 11211, "memcached"),
    (2379, 2379, "etcd"),
    (6379, 6379, "Redis"),
    (27017, 27017, "MongoDB"),
    (16509, 16509, "libvirt"),
    (5900, 5999, "VNC"),
];

/// Result of one TCP connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortState {
    Open,
    /// Refused or unreachable, with the operating system's reason.
    Closed(String),
    /// No response within the timeout, as behind a firewall that drops packets.
    NoAnswer,
}

impl PortState {
    pub fn describe(&self, timeout: Duration) -> String {
        match self {
            PortState::Open => "open".to_owned(),
            PortState::Closed(reason) => format!("closed ({reason})"),
            PortState::NoAnswer => format!("no answer within {} s", timeout.as_secs()),
        }
    }
}

async fn probe(addr: SocketAddr, timeout: Duration) -> PortState {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => PortState::Open,
        Ok(Err(err)) => PortState::Closed(err.to_string()),
        Err(_) => PortState::NoAnswer,
    }
}

/// Probes every address at once (up to [`MAX_PROBES`] in flight), keeping the input order.
pub(crate) async fn probe_all(addrs: &[SocketAddr], timeout: Duration) -> Vec<PortState> {
    let owned: Vec<SocketAddr> = addrs.to_vec();
    futures::stream::iter(owned.into_iter().map(move |addr| probe(addr, timeout)))
        .buffered(MAX_PROBES)
        .collect()
        .await
}

/// Resolves each distinct host once, concurrently.
pub(crate) async fn addresses_by_host(
    ctx: &CheckCtx,
    endpoints: &[Endpoint],
) -> BTreeMap<String, Result<Vec<IpAddr>, String>> {
    let mut unique: Vec<&Endpoint> = Vec::new();
    for endpoint in endpoints {
        if !unique.iter().any(|known| known.host == endpoint.host) {
            unique.push(endpoint);
        }
    }
    let lookups = unique.iter().map(|endpoint| async move {
        (
            endpoint.host.clone(),
            endpoint_addresses(ctx, endpoint).await,
        )
    });
    futures::future::join_all(lookups)
        .await
        .into_iter()
        .collect()
}

/// Picks the addresses a reachability probe uses: IPv4 when the host has any, since IPv6 has
/// its own advisory check, else IPv6.
fn preferred(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let v4: Vec<IpAddr> = addresses.iter().copied().filter(IpAddr::is_ipv4).collect();
    if v4.is_empty() {
        addresses.to_vec()
    } else {
        v4
    }
}

/// Checks that every endpoint's port accepts TCP on each preferred address of its host.
pub(crate) async fn check_reachable(
    ctx: &CheckCtx,
    targets: &[Endpoint],
    evidence_name: &str,
) -> Result<Outcome, Problem> {
    let timeout = connect_timeout(ctx);
    let resolved = addresses_by_host(ctx, targets).await;
    let mut probes: Vec<(&Endpoint, SocketAddr)> = Vec::new();
    for target in targets {
        match &resolved[&target.host] {
            Ok(addresses) => probes.extend(
                preferred(addresses)
                    .into_iter()
                    .map(|ip| (target, SocketAddr::new(ip, target.port))),
            ),
            Err(reason) => return Err(Problem(reason.clone())),
        }
    }
    let addrs: Vec<SocketAddr> = probes.iter().map(|(_, addr)| *addr).collect();
    let states = probe_all(&addrs, timeout).await;

    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for ((target, addr), state) in probes.iter().zip(&states) {
        lines.push(format!(
            "{} {addr} {}",
            target.authority(),
            state.describe(timeout)
        ));
        if *state != PortState::Open {
            problems.push(format!(
                "{} ({addr}, from {}) {}",
                target.authority(),
                target.source,
                state.describe(timeout)
            ));
        }
    }
    ctx.evidence.add_text(evidence_name, &lines.join("\n"));
    if problems.is_empty() {
        let list: Vec<String> = targets.iter().map(Endpoint::authority).collect();
        return Ok(Outcome::pass(format!(
            "{} accept TCP connections",
            list.join(", ")
        )));
    }
    Ok(Outcome::fail(format!(
        "{}; open these ports to the outside in the firewall and check that the service listens on a public address",
        join_limited(&problems, 5)
    )))
}

pub(super) async fn tcp_connect(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let targets = required_ports(&ctx)?;
    check_reachable(&ctx, &targets, "tcp.txt").await
}

pub(super) async fn control_plane_closed(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let timeout = connect_timeout(&ctx);
    let endpoints = profile_endpoints(&ctx)?;
    let resolved = addresses_by_host(&ctx, &endpoints).await;
    let mut probes: Vec<(&str, SocketAddr, &str)> = Vec::new();
    for (host, addresses) in &resolved {
        let addresses = addresses
            .as_ref()
            .map_err(|reason| Problem(reason.clone()))?;
        for &ip in addresses {
            for &(first, last, service) in CONTROL_PLANE {
                for port in first..=last {
                    probes.push((host.as_str(), SocketAddr::new(ip, port), service));
                }
            }
        }
    }
    let addrs: Vec<SocketAddr> = probes.iter().map(|(_, addr, _)| *addr).collect();
    let states = probe_all(&addrs, timeout).await;

    let mut open = Vec::new();
    let mut lines = Vec::new();
    for ((host, addr, service), state) in probes.iter().zip(&states) {
        if *state == PortState::Open {
            open.push(format!(
                "{host}:{} ({service}) on {}",
                addr.port(),
                addr.ip()
            ));
            lines.push(format!("{host} {addr} {service} OPEN"));
        }
    }
    lines.push(format!(
        "{} probes of {} hosts; ports not listed did not accept a connection",
        probes.len(),
        resolved.len()
    ));
    ctx.evidence
        .add_text("control-plane.txt", &lines.join("\n"));
    if open.is_empty() {
        return Ok(Outcome::pass(format!(
            "no control-plane port answers on {} ({} probes: MySQL, PostgreSQL, RabbitMQ, memcached, etcd, Redis, MongoDB, libvirt, VNC)",
            resolved.keys().cloned().collect::<Vec<_>>().join(", "),
            probes.len()
        )));
    }
    Ok(Outcome::fail(format!(
        "control-plane ports accept connections from outside: {}; bind these services to the internal network or block them in the firewall",
        join_limited(&open, 8)
    )))
}

pub(super) async fn ipv6_reachable(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let timeout = connect_timeout(&ctx);
    let targets = required_ports(&ctx)?;
    let resolver = super::dns::resolver_for(&ctx)?;
    let mut problems = Vec::new();
    let mut probes: Vec<(&Endpoint, SocketAddr)> = Vec::new();
    let mut checked_hosts: Vec<&str> = Vec::new();
    for target in &targets {
        let v6: Vec<IpAddr> = match target.ip_literal {
            Some(ip) => vec![ip].into_iter().filter(IpAddr::is_ipv6).collect(),
            None => resolve(&resolver, &target.host)
                .await
                .map(|answer| answer.v6.iter().map(|(ip, _)| *ip).collect())
                .unwrap_or_default(),
        };
        if v6.is_empty() {
            if !checked_hosts.contains(&target.host.as_str()) {
                problems.push(format!(
                    "{} has no AAAA record, so it cannot be reached over IPv6; publish one if the site has IPv6",
                    target.host
                ));
            }
        } else {
            probes.extend(
                v6.into_iter()
                    .map(|ip| (target, SocketAddr::new(ip, target.port))),
            );
        }
        checked_hosts.push(target.host.as_str());
    }

    let addrs: Vec<SocketAddr> = probes.iter().map(|(_, addr)| *addr).collect();
    let states = probe_all(&addrs, timeout).await;
    let mut lines = Vec::new();
    for ((target, addr), state) in probes.iter().zip(&states) {
        lines.push(format!(
            "{} {addr} {}",
            target.host,
            state.describe(timeout)
        ));
        if *state != PortState::Open {
            problems.push(format!(
                "{}:{} over IPv6 ({addr}) {}; allow the port in the IPv6 firewall and listen on the IPv6 address",
                target.host,
                target.port,
                state.describe(timeout)
            ));
        }
    }
    ctx.evidence.add_text("ipv6.txt", &lines.join("\n"));
    if problems.is_empty() {
        let list: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
        return Ok(Outcome::pass(format!(
            "reachable over IPv6: {}",
            list.join(", ")
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 5)))
}
