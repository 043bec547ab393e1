//! Network suite: the site's endpoints as a certifier outside the site reaches them. Names resolve
//! forward and back ([`dns`]), the API ports answer and the control plane does not ([`ports`]),
//! and every API port serves a valid certificate over TLS 1.2 or newer ([`tls`], [`web`]) and
//! names the CAs it accepts for client certificates ([`client_auth`]).
//! Catalog variants of these checks ([`catalog`]) run on the public endpoints of the Keystone
//! catalog that `aai.scoped-tokens` stores; [`trust`] checks the CA and CRL files themselves.
//!
//! Every probe of one check runs concurrently, so a check over many endpoints takes about as
//! long as its slowest probe.

mod catalog;
mod client_auth;
mod dns;
mod ports;
mod tls;
mod trust;
mod web;

use std::net::IpAddr;
use std::time::Duration;

use super::{CheckCtx, CheckKind, Problem};

/// The resolver the profile asks for, shared with the discovery suite's HOST_IP comparison.
pub(crate) use dns::resolver_for;
pub(crate) use tls::recording_verifier;

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "dns-resolves",
        params: &[],
        run: |ctx| Box::pin(dns::resolves(ctx)),
    },
    CheckKind {
        name: "dns-reverse",
        params: &[],
        run: |ctx| Box::pin(dns::reverse(ctx)),
    },
    CheckKind {
        name: "dns-resolvers-agree",
        params: &[],
        run: |ctx| Box::pin(dns::resolvers_agree(ctx)),
    },
    CheckKind {
        name: "tcp-connect",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(ports::tcp_connect(ctx)),
    },
    CheckKind {
        name: "control-plane-closed",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(ports::control_plane_closed(ctx)),
    },
    CheckKind {
        name: "ipv6-reachable",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(ports::ipv6_reachable(ctx)),
    },
    CheckKind {
        name: "https-endpoint",
        params: &[],
        run: |ctx| Box::pin(web::https_endpoints(ctx)),
    },
    CheckKind {
        name: "version-document-links",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(web::version_document_links(ctx)),
    },
    CheckKind {
        name: "tls-version",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tls::version(ctx)),
    },
    CheckKind {
        name: "tls-chain",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tls::chain(ctx)),
    },
    CheckKind {
        name: "tls-hostname",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tls::hostname(ctx)),
    },
    CheckKind {
        name: "tls-not-expired",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tls::not_expired(ctx)),
    },
    CheckKind {
        name: "tls-expiry-warning",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(tls::expiry_warning(ctx)),
    },
    CheckKind {
        name: "tls-client-ca-names",
        params: &[],
        run: |ctx| Box::pin(client_auth::client_ca_names(ctx)),
    },
    CheckKind {
        name: "trust-store",
        params: &[],
        run: |ctx| Box::pin(trust::trust_store(ctx)),
    },
    CheckKind {
        name: "catalog-dns",
        params: &[],
        run: |ctx| Box::pin(catalog::dns(ctx)),
    },
    CheckKind {
        name: "catalog-tcp-connect",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(catalog::tcp_connect(ctx)),
    },
    CheckKind {
        name: "catalog-tls",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(catalog::tls(ctx)),
    },
];

/// One URL the site serves, split into the parts the checks probe.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Origin of the URL, for messages: `keystone.url`, or a catalog service type.
    pub source: String,
    pub url: String,
    pub scheme: String,
    /// Host name, or the address text of an IP literal (without brackets).
    pub host: String,
    /// Set when the URL names an address instead of a host name.
    pub ip_literal: Option<IpAddr>,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(source: &str, url: &str) -> Result<Endpoint, String> {
        let parsed = url::Url::parse(url).map_err(|err| format!("invalid URL `{url}`: {err}"))?;
        let (host, ip_literal) = match parsed.host() {
            Some(url::Host::Domain(name)) => (name.to_ascii_lowercase(), None),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            None => return Err(format!("URL `{url}` has no host")),
        };
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| format!("URL `{url}` has no port and no default port"))?;
        Ok(Endpoint {
            source: source.to_owned(),
            url: url.to_owned(),
            scheme: parsed.scheme().to_owned(),
            host,
            ip_literal,
            port,
        })
    }

    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        match self.ip_literal {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Collects the endpoints the profile names: Keystone, then `network.endpoints`.
pub(crate) fn profile_endpoints(ctx: &CheckCtx) -> Result<Vec<Endpoint>, Problem> {
    let profile = ctx.profile();
    let mut endpoints =
        vec![Endpoint::parse("keystone.url", &profile.keystone.url).map_err(Problem)?];
    for url in &profile.network.endpoints {
        endpoints.push(Endpoint::parse("network.endpoints", url).map_err(Problem)?);
    }
    Ok(endpoints)
}

/// Collects the ports that must accept TCP: each endpoint's port, and `network.ports` on the
/// Keystone host, without duplicates.
pub(crate) fn required_ports(ctx: &CheckCtx) -> Result<Vec<Endpoint>, Problem> {
    let endpoints = profile_endpoints(ctx)?;
    let mut targets: Vec<Endpoint> = Vec::new();
    for endpoint in &endpoints {
        push_unique(&mut targets, endpoint.clone());
    }
    for &port in &ctx.profile().network.ports {
        let mut extra = endpoints[0].clone();
        extra.source = "network.ports".to_owned();
        extra.port = port;
        push_unique(&mut targets, extra);
    }
    Ok(targets)
}

pub(crate) fn push_unique(targets: &mut Vec<Endpoint>, endpoint: Endpoint) {
    if !targets
        .iter()
        .any(|known| known.host == endpoint.host && known.port == endpoint.port)
    {
        targets.push(endpoint);
    }
}

/// Reads the TCP connect and TLS handshake timeout from the `connect_timeout` parameter (seconds).
pub(crate) fn connect_timeout(ctx: &CheckCtx) -> Duration {
    let seconds = ctx.param_i64("connect_timeout", 5).clamp(1, 120);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(5))
}

/// Joins findings into one message, naming at most `limit` and counting the rest.
pub(crate) fn join_limited(items: &[String], limit: usize) -> String {
    let mut text = items
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > limit {
        text.push_str(&format!(
            "; and {} more (see evidence)",
            items.len() - limit
        ));
    }
    text
}
