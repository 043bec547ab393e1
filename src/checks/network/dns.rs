//! DNS checks: forward records with their TTLs, forward-confirmed reverse DNS, and agreement
//! between the system resolver and the resolvers the profile lists.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::NameServerPool;
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::Query;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::xfer::{DnsHandle, DnsRequestOptions, FirstAnswer};
use hickory_resolver::proto::{ProtoError, ProtoErrorKind};
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};
use serde_json::json;

use super::{Endpoint, join_limited, profile_endpoints};
use crate::checks::{CheckCtx, Outcome, Problem};

/// Time a resolver waits for one response, and how many times it sends the query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
const QUERY_ATTEMPTS: usize = 2;

/// A resolver and its name in reports.
pub(crate) struct Source {
    pub label: String,
    pub resolver: TokioResolver,
    /// The servers the profile lists, or `None` for the system resolver.
    pub servers: Option<Vec<SocketAddr>>,
}

fn options() -> ResolverOpts {
    let mut options = ResolverOpts::default();
    options.timeout = QUERY_TIMEOUT;
    options.attempts = QUERY_ATTEMPTS;
    options
}

fn parse_resolver(text: &str) -> Result<SocketAddr, Problem> {
    text.parse()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| {
            Problem(format!(
                "network.resolvers entry `{text}` is not IP or IP:port"
            ))
        })
}

fn server_configs(addrs: &[SocketAddr]) -> Vec<NameServerConfig> {
    addrs
        .iter()
        .flat_map(|&addr| {
            [
                NameServerConfig::new(addr, Protocol::Udp),
                NameServerConfig::new(addr, Protocol::Tcp),
            ]
        })
        .collect()
}

fn resolver_with(addrs: &[SocketAddr]) -> TokioResolver {
    let mut config = ResolverConfig::new();
    for server in server_configs(addrs) {
        config.add_name_server(server);
    }
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(options())
        .build()
}

fn system_resolver() -> Result<TokioResolver, Problem> {
    TokioResolver::builder_tokio()
        .map(|builder| builder.build())
        .map_err(|err| {
            Problem(format!(
                "cannot read the system resolver configuration: {err}"
            ))
        })
}

/// A resolver for the profile: the system one, or only the listed resolvers.
pub(crate) fn resolver_for(ctx: &CheckCtx) -> Result<TokioResolver, Problem> {
    pool(ctx).map(|source| source.resolver)
}

fn pool(ctx: &CheckCtx) -> Result<Source, Problem> {
    let network = &ctx.profile().network;
    if network.system_resolver {
        return Ok(Source {
            label: "the system resolver".to_owned(),
            resolver: system_resolver()?,
            servers: None,
        });
    }
    let addrs = network
        .resolvers
        .iter()
        .map(|text| parse_resolver(text))
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() {
        return Err(Problem(
            "network.system_resolver is false and network.resolvers is empty, so no resolver is left (hint: list at least one resolver)".to_owned(),
        ));
    }
    Ok(Source {
        label: format!("resolver {}", network.resolvers.join(", ")),
        resolver: resolver_with(&addrs),
        servers: Some(addrs),
    })
}

/// Builds one resolver per source: the system one (when enabled), then each listed resolver.
fn each_source(ctx: &CheckCtx) -> Result<Vec<Source>, Problem> {
    let network = &ctx.profile().network;
    let mut sources = Vec::new();
    if network.system_resolver {
        sources.push(Source {
            label: "the system resolver".to_owned(),
            resolver: system_resolver()?,
            servers: None,
        });
    }
    for text in &network.resolvers {
        let addr = parse_resolver(text)?;
        sources.push(Source {
            label: format!("resolver {text}"),
            resolver: resolver_with(&[addr]),
            servers: Some(vec![addr]),
        });
    }
    Ok(sources)
}

/// Reason a lookup returned no address, in DNS terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupFailure {
    NxDomain,
    NoRecords,
    ServFail,
    Refused,
    Timeout,
    Other(String),
}

impl LookupFailure {
    fn of(err: &ResolveError) -> LookupFailure {
        match err.kind() {
            ResolveErrorKind::Proto(proto) => LookupFailure::of_proto(proto),
            _ => LookupFailure::Other(err.to_string()),
        }
    }

    fn of_code(code: ResponseCode) -> LookupFailure {
        match code {
            ResponseCode::NXDomain => LookupFailure::NxDomain,
            ResponseCode::NoError => LookupFailure::NoRecords,
            ResponseCode::ServFail => LookupFailure::ServFail,
            ResponseCode::Refused => LookupFailure::Refused,
            other => LookupFailure::Other(format!("response code {other}")),
        }
    }

    fn of_proto(proto: &ProtoError) -> LookupFailure {
        match proto.kind() {
            ProtoErrorKind::NoRecordsFound { response_code, .. } => {
                LookupFailure::of_code(*response_code)
            }
            ProtoErrorKind::Timeout => LookupFailure::Timeout,
            _ => LookupFailure::Other(proto.to_string()),
        }
    }

    /// Describes the failure and, where the fix is clear, what to do.
    pub fn describe(&self, resolver: &str) -> String {
        match self {
            LookupFailure::NxDomain => format!(
                "does not exist (NXDOMAIN from {resolver}); publish the name in the site's DNS zone"
            ),
            LookupFailure::NoRecords => format!(
                "exists but has no A or AAAA record (NOERROR with no answer from {resolver}); add an address record"
            ),
            LookupFailure::ServFail => format!(
                "cannot be resolved: {resolver} answered SERVFAIL, so it got no usable answer from the zone's name servers; check the delegation and that every authoritative server answers"
            ),
            LookupFailure::Refused => {
                format!("cannot be resolved: {resolver} answered REFUSED")
            }
            LookupFailure::Timeout => format!(
                "cannot be resolved: {resolver} did not answer within {} s ({QUERY_ATTEMPTS} attempts)",
                QUERY_TIMEOUT.as_secs()
            ),
            LookupFailure::Other(reason) => {
                format!("cannot be resolved by {resolver}: {reason}")
            }
        }
    }
}

/// The address records of one name, with TTLs as the resolver returned them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub v4: Vec<(IpAddr, u32)>,
    pub v6: Vec<(IpAddr, u32)>,
}

impl Answer {
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.v4.iter().chain(&self.v6).map(|(ip, _)| *ip)
    }

    fn to_json(&self) -> serde_json::Value {
        let records = |list: &[(IpAddr, u32)]| {
            list.iter()
                .map(|(ip, ttl)| json!({"address": ip.to_string(), "ttl": ttl}))
                .collect::<Vec<_>>()
        };
        json!({"A": records(&self.v4), "AAAA": records(&self.v6)})
    }
}

async fn lookup_type(
    resolver: &TokioResolver,
    host: &str,
    record_type: RecordType,
) -> Result<Vec<(IpAddr, u32)>, LookupFailure> {
    let lookup = resolver
        .lookup(host, record_type)
        .await
        .map_err(|err| LookupFailure::of(&err))?;
    Ok(lookup
        .record_iter()
        .filter_map(|record| match record.data() {
            RData::A(a) => Some((IpAddr::V4(a.0), record.ttl())),
            RData::AAAA(aaaa) => Some((IpAddr::V6(aaaa.0), record.ttl())),
            _ => None,
        })
        .collect())
}

/// Looks up A and AAAA at once. A name with either kind of record resolves; otherwise the
/// more telling failure wins, so NXDOMAIN or SERVFAIL is not hidden behind an empty AAAA.
pub(crate) async fn resolve(resolver: &TokioResolver, host: &str) -> Result<Answer, LookupFailure> {
    let (v4, v6) = tokio::join!(
        lookup_type(resolver, host, RecordType::A),
        lookup_type(resolver, host, RecordType::AAAA)
    );
    let answer = Answer {
        v4: v4.clone().unwrap_or_default(),
        v6: v6.clone().unwrap_or_default(),
    };
    if answer.addresses().next().is_some() {
        return Ok(answer);
    }
    let failures = [v4.err(), v6.err()];
    let rank = |failure: &LookupFailure| match failure {
        LookupFailure::NxDomain => 0,
        LookupFailure::ServFail => 1,
        LookupFailure::Refused => 2,
        LookupFailure::Timeout => 3,
        LookupFailure::Other(_) => 4,
        LookupFailure::NoRecords => 5,
    };
    Err(failures
        .into_iter()
        .flatten()
        .min_by_key(rank)
        .unwrap_or(LookupFailure::NoRecords))
}

/// Resolves an endpoint's host with the profile's resolvers, IPv4 addresses first.
pub(crate) async fn endpoint_addresses(
    ctx: &CheckCtx,
    endpoint: &Endpoint,
) -> Result<Vec<IpAddr>, String> {
    if let Some(ip) = endpoint.ip_literal {
        return Ok(vec![ip]);
    }
    let source = pool(ctx).map_err(|problem| problem.0)?;
    resolve(&source.resolver, &endpoint.host)
        .await
        .map(|answer| answer.addresses().collect())
        .map_err(|failure| format!("{} {}", endpoint.host, failure.describe(&source.label)))
}

/// Resolves each distinct host name, fails on IP literals, and records every answer.
pub(crate) async fn check_hosts(
    ctx: &CheckCtx,
    endpoints: &[Endpoint],
    evidence_name: &str,
) -> Result<Outcome, Problem> {
    let source = pool(ctx)?;
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for endpoint in endpoints {
        if endpoint.ip_literal.is_some() {
            problems.push(format!(
                "{} `{}` names the IP address {} instead of a host name; register a DNS name, because certificates, GOCDB and the catalog refer to names",
                endpoint.source, endpoint.url, endpoint.host
            ));
        } else {
            names.insert(endpoint.host.clone());
        }
    }
    let lookups = names.iter().map(|host| {
        let resolver = &source.resolver;
        async move { (host, resolve(resolver, host).await) }
    });
    let results = futures::future::join_all(lookups).await;

    let mut records = Vec::new();
    let mut resolved = Vec::new();
    for (host, result) in results {
        match result {
            Ok(answer) => {
                records.push(
                    json!({"name": host, "resolver": source.label, "answer": answer.to_json()}),
                );
                let list: Vec<String> = answer.addresses().map(|ip| ip.to_string()).collect();
                resolved.push(format!("{host} -> {}", list.join(", ")));
            }
            Err(failure) => {
                records.push(json!({"name": host, "resolver": source.label, "failure": format!("{failure:?}")}));
                let urls: Vec<&str> = endpoints
                    .iter()
                    .filter(|e| &e.host == host)
                    .map(|e| e.url.as_str())
                    .collect();
                problems.push(format!(
                    "{host} (in {}) {}",
                    urls.join(", "),
                    failure.describe(&source.label)
                ));
            }
        }
    }
    ctx.evidence
        .add_json(evidence_name, &serde_json::Value::Array(records));
    if problems.is_empty() {
        Ok(Outcome::pass(resolved.join("; ")))
    } else {
        Ok(Outcome::fail(join_limited(&problems, 5)))
    }
}

pub(super) async fn resolves(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let endpoints = profile_endpoints(&ctx)?;
    check_hosts(&ctx, &endpoints, "dns.json").await
}

/// Looks up the PTR names of `ip`. Listed resolvers are queried directly, because hickory's
/// resolver returns PTR records for 127.0.0.0/8 and ::1 itself with `localhost` (RFC 6761), which
/// would hide the records of a test zone on loopback addresses.
async fn ptr_names(source: &Source, ip: IpAddr) -> Result<Vec<String>, LookupFailure> {
    let Some(servers) = &source.servers else {
        return source
            .resolver
            .reverse_lookup(ip)
            .await
            .map(|lookup| lookup.iter().map(|name| name.to_string()).collect())
            .map_err(|err| LookupFailure::of(&err));
    };
    let pool = NameServerPool::from_config(
        server_configs(servers).into(),
        options(),
        TokioConnectionProvider::default(),
    );
    let query = Query::query(hickory_resolver::Name::from(ip), RecordType::PTR);
    let response = pool
        .lookup(query, DnsRequestOptions::default())
        .first_answer()
        .await
        .map_err(|err| LookupFailure::of_proto(&err))?;
    let names: Vec<String> = response
        .answers()
        .iter()
        .filter_map(|record| match record.data() {
            RData::PTR(name) => Some(name.to_string()),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Err(LookupFailure::of_code(response.response_code()));
    }
    Ok(names)
}

/// Forward-confirms one address, returning the confirmed path or the problem.
async fn confirm_address(source: &Source, host: &str, ip: IpAddr) -> Result<String, String> {
    let resolver = &source.resolver;
    let ptr_names: Vec<String> = match ptr_names(source, ip).await {
        Ok(names) => names
            .iter()
            .map(|name| name.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        Err(failure) => {
            let arpa = hickory_resolver::Name::from(ip).to_string();
            return Err(match failure {
                LookupFailure::NxDomain | LookupFailure::NoRecords => format!(
                    "{ip} (address of {host}) has no PTR record ({arpa} returned {}); ask the owner of the address range to add a PTR record naming {host}",
                    if failure == LookupFailure::NxDomain {
                        "NXDOMAIN"
                    } else {
                        "no answer"
                    }
                ),
                other => format!(
                    "PTR lookup of {ip} (address of {host}) {}",
                    other.describe("the resolver")
                ),
            });
        }
    };
    let mut seen = Vec::new();
    // Only the address family of `ip` can confirm it, so only that record type is queried.
    let record_type = if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    for name in &ptr_names {
        match lookup_type(resolver, name, record_type).await {
            Ok(records) if records.iter().any(|(a, _)| *a == ip) => {
                return Ok(format!("{ip} -> {name} -> {ip}"));
            }
            Ok(records) if records.is_empty() => {
                seen.push(format!("{name}, which has no {record_type} record"));
            }
            Ok(records) => {
                let list: Vec<String> = records.iter().map(|(a, _)| a.to_string()).collect();
                seen.push(format!("{name}, which resolves to {}", list.join(", ")));
            }
            Err(failure) => seen.push(format!(
                "{name}, which {}",
                failure.describe("the resolver")
            )),
        }
    }
    Err(format!(
        "{ip} (address of {host}) has PTR {}, not back to {ip}; make the PTR name one whose A/AAAA record is {ip}, ideally {host}",
        seen.join(" and ")
    ))
}

pub(super) async fn reverse(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let source = pool(&ctx)?;
    let endpoints = profile_endpoints(&ctx)?;
    let hosts: BTreeSet<String> = endpoints
        .iter()
        .filter(|e| e.ip_literal.is_none())
        .map(|e| e.host.clone())
        .collect();
    let mut pairs = Vec::new();
    for host in &hosts {
        let answer = resolve(&source.resolver, host)
            .await
            .map_err(|failure| Problem(format!("{host} {}", failure.describe(&source.label))))?;
        pairs.extend(answer.addresses().map(|ip| (host.clone(), ip)));
    }
    let probes = pairs
        .iter()
        .map(|(host, ip)| confirm_address(&source, host, *ip));
    let results = futures::future::join_all(probes).await;
    let lines: Vec<String> = results
        .iter()
        .map(|r| r.clone().unwrap_or_else(|e| e))
        .collect();
    ctx.evidence.add_text("reverse-dns.txt", &lines.join("\n"));
    let problems: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() {
        Ok(Outcome::pass(lines.join("; ")))
    } else {
        Ok(Outcome::fail(join_limited(&problems, 5)))
    }
}

pub(super) async fn resolvers_agree(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let sources = each_source(&ctx)?;
    let endpoints = profile_endpoints(&ctx)?;
    let hosts: BTreeSet<String> = endpoints
        .iter()
        .filter(|e| e.ip_literal.is_none())
        .map(|e| e.host.clone())
        .collect();
    if sources.len() < 2 {
        let only = sources.first().map_or("no resolver", |s| s.label.as_str());
        return Ok(Outcome::pass(format!(
            "nothing to compare: {only} is the only resolver configured (list more in network.resolvers to compare their answers)"
        )));
    }
    let mut problems = Vec::new();
    let mut records = Vec::new();
    for host in &hosts {
        let lookups = sources.iter().map(|source| resolve(&source.resolver, host));
        let answers = futures::future::join_all(lookups).await;
        let mut views = Vec::new();
        for (source, answer) in sources.iter().zip(&answers) {
            let view = match answer {
                Ok(answer) => {
                    let set: BTreeSet<String> = answer.addresses().map(|a| a.to_string()).collect();
                    set.into_iter().collect::<Vec<_>>().join(", ")
                }
                Err(failure) => format!("{failure:?}"),
            };
            records.push(json!({"name": host, "resolver": source.label, "answer": view}));
            views.push((source.label.as_str(), view));
        }
        // A resolver that did not answer cannot be compared; report that instead of a
        // disagreement.
        let silent: Vec<String> = sources
            .iter()
            .zip(&answers)
            .filter_map(|(source, answer)| match answer {
                Err(failure @ (LookupFailure::Timeout | LookupFailure::Other(_))) => {
                    Some(format!("{host} {}", failure.describe(&source.label)))
                }
                _ => None,
            })
            .collect();
        if !silent.is_empty() {
            problems.extend(silent);
            continue;
        }
        let distinct: BTreeSet<&String> = views.iter().map(|(_, view)| view).collect();
        if distinct.len() > 1 {
            let listed: Vec<String> = views
                .iter()
                .map(|(label, view)| format!("{label}: {view}"))
                .collect();
            problems.push(format!(
                "resolvers disagree on {host} ({}); serve the same records to every resolver, from outside and inside the site",
                listed.join("; ")
            ));
        }
    }
    ctx.evidence
        .add_json("resolver-answers.json", &serde_json::Value::Array(records));
    let labels: Vec<&str> = sources.iter().map(|s| s.label.as_str()).collect();
    if problems.is_empty() {
        Ok(Outcome::pass(format!(
            "{} agree on {}",
            labels.join(", "),
            hosts.into_iter().collect::<Vec<_>>().join(", ")
        )))
    } else {
        Ok(Outcome::fail(join_limited(&problems, 5)))
    }
}
