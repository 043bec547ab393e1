//! Checks of the site's GOCDB registration: the site, its nova and accounting services, and
//! whether the nova host's Host DN and address match its certificate and DNS.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, ServerName};

use super::{CheckCtx, Outcome, Problem, gocdb_section, outcome, pi_document, site_services};
use crate::gocdb::rules::{self, ACCOUNTING, NOVA};
use crate::gocdb::{self, ServiceEndpoint};
use crate::openstack;

pub async fn site(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let file = gocdb_section(&ctx)?.site_file.clone();
    let (xml, source) = pi_document(&ctx, "get_site", file.as_deref(), None).await?;
    let name = &ctx.profile().site.name;
    let site = gocdb::site(&xml, name).map_err(|err| Problem(format!("{source}: {err}")))?;
    let Some(site) = site else {
        return Ok(Outcome::fail(format!(
            "GOCDB has no site {name} ({source}); check site.name against the site's short \
             name in GOCDB"
        )));
    };
    let findings = rules::check_site(&site);
    let passed = format!(
        "GOCDB reports site {name} as {} on the {} infrastructure",
        site.certification_status, site.production_infrastructure
    );
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn keystone_url(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let service_type = ctx.param_str("service_type", NOVA);
    let (registered, source) = site_services(&ctx, Some(&service_type)).await?;
    let site = &ctx.profile().site.name;
    if registered.is_empty() {
        return Ok(Outcome::fail(format!(
            "GOCDB has no {service_type} service for site {site} ({source}); register the Keystone endpoint in GOCDB"
        )));
    }
    let keystone = &ctx.profile().keystone.url;
    let matching = registered
        .iter()
        .find(|e| e.urls().any(|url| openstack::same_keystone(url, keystone)));
    match matching {
        Some(endpoint) => Ok(Outcome::pass(format!(
            "GOCDB registers {service_type} {} with URL {}, the Keystone URL of the profile",
            endpoint.primary_key,
            rules::registered_url(endpoint).unwrap_or_default()
        ))),
        None => {
            let urls: Vec<&str> = registered.iter().flat_map(|e| e.urls()).collect();
            Ok(Outcome::fail(format!(
                "GOCDB registers {service_type} for {site} with URL {}, but Keystone is at {keystone}; update the GOCDB service URL",
                urls.join(", ")
            )))
        }
    }
}

pub async fn nova_service(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (services, source) = site_services(&ctx, Some(NOVA)).await?;
    let findings = rules::check_nova(&services);
    let passed = format!(
        "GOCDB's {NOVA} registration ({source}) has a Keystone v3 https URL, a Host DN, the \
         production and monitored flags and the EGI scope"
    );
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn accounting_service(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (services, _) = site_services(&ctx, Some(ACCOUNTING)).await?;
    let findings = rules::check_accounting(&services);
    let passed = format!(
        "GOCDB registers {ACCOUNTING} on {} in production with a Host DN",
        services
            .iter()
            .map(|s| s.hostname.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn field_hygiene(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (services, source) = site_services(&ctx, None).await?;
    let findings = rules::hygiene(&services);
    let passed = format!(
        "none of the {} GOCDB services of the site ({source}) has a value with stray whitespace",
        services.len()
    );
    Ok(outcome(&ctx, &findings, true, passed))
}

/// HOSTDN equals the subject of the certificate the nova host serves, and HOST_IP is one of
/// its DNS addresses, both compared after trimming.
pub async fn host_identity(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (services, source) = site_services(&ctx, Some(NOVA)).await?;
    let Some(service) = services.iter().find(|s| !s.hostname.is_empty()) else {
        return Ok(Outcome::fail(format!(
            "GOCDB has no {NOVA} service with a HOSTNAME ({source}); register the Keystone host"
        )));
    };
    let addresses = resolve(&ctx, &service.hostname).await?;
    let port = tls_port(&ctx, service);
    let timeout = Duration::from_secs(ctx.param_i64("connect_timeout", 10).max(1) as u64);
    let der = peer_certificate(&service.hostname, port, timeout).await?;
    let subject = gocdb::dn::certificate_subject(&der).map_err(Problem)?;
    ctx.evidence.add_json(
        "host-identity.json",
        &serde_json::json!({
            "hostname": service.hostname,
            "port": port,
            "certificate_subject": subject,
            "dns_addresses": addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>(),
            "gocdb_hostdn": service.host_dn,
            "gocdb_host_ip": service.host_ip,
        }),
    );
    let mut findings = rules::check_host_dn_subject(service, &subject);
    findings.extend(rules::check_host_addresses(service, &addresses));
    let passed = format!(
        "HOSTDN {} is the certificate subject {subject} of {}:{port}, and HOST_IP {} is an \
         address of {}",
        service.host_dn, service.hostname, service.host_ip, service.hostname
    );
    Ok(outcome(&ctx, &findings, false, passed))
}

async fn resolve(ctx: &CheckCtx, host: &str) -> Result<Vec<IpAddr>, Problem> {
    if let Ok(address) = host.parse::<IpAddr>() {
        return Ok(vec![address]);
    }
    let resolver = super::super::network::resolver_for(ctx)?;
    let lookup = resolver
        .lookup_ip(host)
        .await
        .map_err(|err| Problem(format!("cannot resolve {host}: {err}")))?;
    Ok(lookup.iter().collect())
}

/// Picks the port of the Keystone URL when it is on this host, else the registration's port.
fn tls_port(ctx: &CheckCtx, service: &ServiceEndpoint) -> u16 {
    let port_on_host = |url: &str| {
        url::Url::parse(url).ok().and_then(|url| {
            let same_host = url
                .host_str()
                .is_some_and(|host| host.eq_ignore_ascii_case(&service.hostname));
            same_host.then(|| url.port_or_known_default()).flatten()
        })
    };
    port_on_host(&ctx.profile().keystone.url)
        .or_else(|| service.urls().find_map(port_on_host))
        .unwrap_or(443)
}

/// Reads the leaf certificate `host:port` presents. The chain is not verified here, because
/// only the subject is compared and the network suite judges the chain.
async fn peer_certificate(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<CertificateDer<'static>, Problem> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| Problem(format!("cannot configure TLS: {err}")))?
        .dangerous()
        .with_custom_certificate_verifier(super::super::network::recording_verifier(provider))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| Problem(format!("invalid host name {host}: {err}")))?;
    let handshake = async {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, stream)
            .await
    };
    let stream = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| Problem(format!("TLS handshake with {host}:{port} timed out")))?
        .map_err(|err| Problem(format!("TLS handshake with {host}:{port} failed: {err}")))?;
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.clone().into_owned())
        .ok_or_else(|| Problem(format!("{host}:{port} sent no certificate")))
}
