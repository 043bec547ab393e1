//! Rules for a FedCloud site's GOCDB registration, reported as findings: the site's certification
//! status, its `org.openstack.nova` service (the Keystone v3 URL, Host DN, production and
//! monitored flags, scope) and its `eu.egi.cloud.accounting` service.
//!
//! Documents are not checked against GOCDB's published XSD: that schema names the address
//! element `IP` and lacks `URL`, `ENDPOINTS`, `SCOPES` and `EXTENSIONS`, which the PI does emit.

use std::net::IpAddr;

use super::{ServiceEndpoint, Site, dn};
use crate::openstack;
use crate::validate::Finding;

/// The service type whose URL is the site's Keystone v3 endpoint.
pub const NOVA: &str = "org.openstack.nova";
/// The service type of the host that sends accounting records with SSM.
pub const ACCOUNTING: &str = "eu.egi.cloud.accounting";

/// Values the registration is compared with, when the caller knows them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Only services and sites of this GOCDB site name are checked.
    pub site: Option<&'a str>,
    /// The Keystone URL the nova service must register.
    pub keystone: Option<&'a str>,
    /// Subject of the certificate the nova host serves, in RFC 2253 form.
    pub host_subject: Option<&'a str>,
    /// Addresses DNS returns for the nova service's HOSTNAME.
    pub host_addresses: Option<&'a [IpAddr]>,
}

/// Checks a `get_site` or `get_service_endpoint` response, whichever the document is.
pub fn check_document(xml: &str, context: &Context<'_>) -> Vec<Finding> {
    let root = match super::parse_xml(xml) {
        Ok(root) => root,
        Err(err) => return vec![Finding::error("GOCDB-PARSE", "", err)],
    };
    if root.name != "results" {
        return vec![Finding::error(
            "GOCDB-PARSE",
            format!("<{}>", root.name),
            format!(
                "the root element is <{}>, not <results>; save the PI response as it is served",
                root.name
            ),
        )];
    }
    let has_sites = root.child("SITE").is_some();
    let has_services = root.child("SERVICE_ENDPOINT").is_some();
    let mut findings = Vec::new();
    if has_sites {
        findings.extend(check_sites_document(xml, context));
    }
    if has_services {
        findings.extend(check_services_document(xml, context));
    }
    if !has_sites && !has_services {
        findings.push(Finding::error(
            "GOCDB-PARSE",
            "<results>",
            "the response has no SITE and no SERVICE_ENDPOINT element; save the output of \
             `?method=get_site&sitename=SITE` or `?method=get_service_endpoint&sitename=SITE`",
        ));
    }
    findings
}

fn check_sites_document(xml: &str, context: &Context<'_>) -> Vec<Finding> {
    let sites = match super::sites(xml) {
        Ok(sites) => sites,
        Err(err) => return vec![Finding::error("GOCDB-PARSE", "", err)],
    };
    let selected: Vec<&Site> = sites
        .iter()
        .filter(|site| context.site.is_none_or(|name| site.name == name))
        .collect();
    if selected.is_empty() {
        let name = context.site.unwrap_or_default();
        return vec![Finding::error(
            "GOCDB-SITE-STATUS",
            "<results>",
            format!("the response has no SITE with SHORT_NAME {name}; check the site name"),
        )];
    }
    let mut findings = Vec::new();
    for site in selected {
        findings.extend(check_site(site));
        findings.extend(site_hygiene(site));
    }
    findings
}

fn check_services_document(xml: &str, context: &Context<'_>) -> Vec<Finding> {
    let services = match super::service_endpoints(xml) {
        Ok(services) => services,
        Err(err) => return vec![Finding::error("GOCDB-PARSE", "", err)],
    };
    let services: Vec<ServiceEndpoint> = services
        .into_iter()
        .filter(|service| context.site.is_none_or(|name| service.site == name))
        .collect();
    let mut findings = check_nova(&services);
    if services.iter().any(|s| s.service_type == ACCOUNTING) {
        findings.extend(check_accounting(&services));
    } else {
        // A saved response is often filtered by service_type, so absence here proves nothing.
        findings.push(Finding::info(
            "GOCDB-ACCOUNTING",
            "<results>",
            format!(
                "the response has no {ACCOUNTING} service; validate a response fetched without a \
                 service_type filter to check it"
            ),
        ));
    }
    findings.extend(hygiene(&services));
    if let Some(keystone) = context.keystone {
        findings.extend(check_keystone_url(&services, keystone));
    }
    for service in services.iter().filter(|s| s.service_type == NOVA) {
        if let Some(subject) = context.host_subject {
            findings.extend(check_host_dn_subject(service, subject));
        }
        if let Some(addresses) = context.host_addresses {
            findings.extend(check_host_addresses(service, addresses));
        }
    }
    findings
}

fn at(service: &ServiceEndpoint, field: &str) -> String {
    format!("SERVICE_ENDPOINT[{}]/{field}", service.primary_key)
}

/// Checks the site's certification status and production infrastructure.
pub fn check_site(site: &Site) -> Vec<Finding> {
    let location = |field: &str| format!("SITE[{}]/{field}", site.name);
    let mut findings = Vec::new();
    let status = site.certification_status.as_str();
    match status {
        "Certified" => findings.push(Finding::info(
            "GOCDB-SITE-STATUS",
            location("CERTIFICATION_STATUS"),
            format!("site {} is Certified", site.name),
        )),
        "Candidate" | "Uncertified" => findings.push(Finding::info(
            "GOCDB-SITE-STATUS",
            location("CERTIFICATION_STATUS"),
            format!(
                "site {} is {status}: it is on the way to Certified (Candidate, then Uncertified, \
                 then Certified) and EGI's certification runs these checks",
                site.name
            ),
        )),
        "Suspended" | "Closed" => findings.push(Finding::error(
            "GOCDB-SITE-STATUS",
            location("CERTIFICATION_STATUS"),
            format!(
                "site {} is {status}; EGI's services ignore it until the operations centre \
                 returns it to Certified",
                site.name
            ),
        )),
        "" => findings.push(Finding::error(
            "GOCDB-SITE-STATUS",
            location("CERTIFICATION_STATUS"),
            "CERTIFICATION_STATUS is missing; a get_site answer reports one of Candidate, \
             Uncertified, Certified, Suspended or Closed",
        )),
        other => findings.push(Finding::error(
            "GOCDB-SITE-STATUS",
            location("CERTIFICATION_STATUS"),
            format!(
                "CERTIFICATION_STATUS `{other}` is none of Candidate, Uncertified, Certified, \
                 Suspended or Closed"
            ),
        )),
    }
    match site.production_infrastructure.as_str() {
        "Production" => {}
        "" => findings.push(Finding::error(
            "GOCDB-SITE-STATUS",
            location("PRODUCTION_INFRASTRUCTURE"),
            "PRODUCTION_INFRASTRUCTURE is missing; set the site's infrastructure to Production",
        )),
        other => findings.push(Finding::warning(
            "GOCDB-SITE-STATUS",
            location("PRODUCTION_INFRASTRUCTURE"),
            format!(
                "PRODUCTION_INFRASTRUCTURE is `{other}`; accounting over AMS is only accepted \
                 from sites flagged Production"
            ),
        )),
    }
    findings
}

/// Checks the `org.openstack.nova` services: URL, Host DN, flags and scope.
pub fn check_nova(services: &[ServiceEndpoint]) -> Vec<Finding> {
    let nova: Vec<&ServiceEndpoint> = services.iter().filter(|s| s.service_type == NOVA).collect();
    if nova.is_empty() {
        return vec![Finding::error(
            "GOCDB-NOVA-REGISTERED",
            "<results>",
            format!(
                "no {NOVA} service is registered; add one in GOCDB whose URL is the Keystone v3 \
                 URL https://host:port/v3"
            ),
        )];
    }
    let mut findings = Vec::new();
    for service in nova {
        findings.extend(check_nova_url(service));
        if service.host_dn.is_empty() {
            findings.push(Finding::error(
                "GOCDB-HOSTDN",
                at(service, "HOSTDN"),
                "HOSTDN is empty; set it to the subject of the Keystone host certificate so \
                 cloud-info-provider can publish for the site",
            ));
        } else if let Err(err) = dn::slash_components(&service.host_dn) {
            findings.push(Finding::error("GOCDB-HOSTDN", at(service, "HOSTDN"), err));
        }
        findings.extend(check_flags(service));
        findings.extend(check_scope(service));
    }
    findings
}

/// Returns the Keystone URL of a registration: the service URL, or else the first ENDPOINT URL.
pub fn registered_url(service: &ServiceEndpoint) -> Option<&str> {
    service.urls().next()
}

fn check_nova_url(service: &ServiceEndpoint) -> Vec<Finding> {
    let Some(url) = registered_url(service) else {
        return vec![Finding::error(
            "GOCDB-NOVA-URL",
            at(service, "URL"),
            "neither the service URL nor any ENDPOINTS/ENDPOINT/URL is set; set the service URL \
             to the Keystone v3 URL https://host:port/v3",
        )];
    };
    let field = if service.url.is_empty() {
        "ENDPOINTS/ENDPOINT/URL"
    } else {
        "URL"
    };
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(err) => {
            return vec![Finding::error(
                "GOCDB-NOVA-URL",
                at(service, field),
                format!("`{url}` is not a valid URL ({err})"),
            )];
        }
    };
    let mut findings = Vec::new();
    if parsed.scheme() != "https" {
        findings.push(Finding::error(
            "GOCDB-NOVA-URL",
            at(service, field),
            format!("`{url}` is not https; EGI's monitoring probes refuse non-https Keystone URLs"),
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    if path.ends_with("/v2.0") {
        findings.push(Finding::error(
            "GOCDB-NOVA-URL",
            at(service, field),
            format!("`{url}` is a Keystone v2.0 URL; register the v3 URL https://host:port/v3"),
        ));
    } else if !path.ends_with("/v3") {
        findings.push(Finding::warning(
            "GOCDB-NOVA-URL",
            at(service, field),
            format!(
                "`{url}` does not end in /v3; EGI's registration instructions ask for the \
                 Keystone v3 URL https://host:port/v3"
            ),
        ));
    }
    findings
}

fn check_flags(service: &ServiceEndpoint) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !service.in_production {
        findings.push(Finding::error(
            "GOCDB-NOVA-FLAGS",
            at(service, "IN_PRODUCTION"),
            "the service is not flagged production; fedcloudclient and the EGI dashboards only \
             list production endpoints, so set Production to Y",
        ));
    }
    if !service.monitored {
        findings.push(Finding::error(
            "GOCDB-NOVA-FLAGS",
            at(service, "NODE_MONITORED"),
            "the service is not flagged monitored; ARGO only tests monitored services, so set \
             Monitored to Y",
        ));
    }
    findings
}

fn check_scope(service: &ServiceEndpoint) -> Vec<Finding> {
    if service.scopes.is_empty() {
        return vec![Finding::error(
            "GOCDB-SCOPE",
            at(service, "SCOPES"),
            "the service has no scope tag; give it the EGI scope",
        )];
    }
    if !service.scopes.iter().any(|scope| scope == "EGI") {
        return vec![Finding::warning(
            "GOCDB-SCOPE",
            at(service, "SCOPES"),
            format!(
                "the service's scopes are {}, without EGI; EGI-wide tools query the EGI scope",
                service.scopes.join(", ")
            ),
        )];
    }
    Vec::new()
}

/// Checks that the `eu.egi.cloud.accounting` service is registered, in production, and has a
/// Host DN that SSM accepts.
pub fn check_accounting(services: &[ServiceEndpoint]) -> Vec<Finding> {
    let accounting: Vec<&ServiceEndpoint> = services
        .iter()
        .filter(|s| s.service_type == ACCOUNTING)
        .collect();
    if accounting.is_empty() {
        return vec![Finding::error(
            "GOCDB-ACCOUNTING",
            "<results>",
            format!(
                "no {ACCOUNTING} service is registered; register the host that runs cASO and SSM"
            ),
        )];
    }
    let mut findings = Vec::new();
    for service in accounting {
        if service.host_dn.is_empty() {
            findings.push(Finding::error(
                "GOCDB-HOSTDN",
                at(service, "HOSTDN"),
                "HOSTDN is empty; the accounting repository only accepts SSM messages signed by \
                 a certificate whose subject equals the Host DN",
            ));
        } else {
            match dn::slash_components(&service.host_dn) {
                Ok(components) if components.len() < 2 => findings.push(Finding::error(
                    "GOCDB-HOSTDN",
                    at(service, "HOSTDN"),
                    format!(
                        "HOSTDN `{}` has one component; APEL ignores Host DNs with fewer than \
                         two, so write the full certificate subject",
                        service.host_dn
                    ),
                )),
                Ok(_) => {}
                Err(err) => {
                    findings.push(Finding::error("GOCDB-HOSTDN", at(service, "HOSTDN"), err))
                }
            }
        }
        if !service.in_production {
            findings.push(Finding::error(
                "GOCDB-ACCOUNTING",
                at(service, "IN_PRODUCTION"),
                "the accounting service is not flagged production; AMS only accepts records \
                 from production services, so set Production to Y",
            ));
        }
    }
    findings
}

/// Warns about every field whose raw value had leading or trailing whitespace.
pub fn hygiene(services: &[ServiceEndpoint]) -> Vec<Finding> {
    services
        .iter()
        .flat_map(|service| {
            service.untrimmed.iter().map(move |field| {
                Finding::warning(
                    "GOCDB-FIELD-HYGIENE",
                    at(service, field),
                    format!(
                        "{field} has leading or trailing whitespace; it is compared trimmed \
                         here, but consumers that compare raw values fail (SSM's Host DN check \
                         is one), so edit and save the field in GOCDB to trim it"
                    ),
                )
            })
        })
        .collect()
}

fn site_hygiene(site: &Site) -> Vec<Finding> {
    site.untrimmed
        .iter()
        .map(|field| {
            Finding::warning(
                "GOCDB-FIELD-HYGIENE",
                format!("SITE[{}]/{field}", site.name),
                format!(
                    "{field} has leading or trailing whitespace; edit and save the field in \
                     GOCDB to trim it"
                ),
            )
        })
        .collect()
}

/// Checks that the nova service registers `keystone`, in its URL or one of its ENDPOINTS.
pub fn check_keystone_url(services: &[ServiceEndpoint], keystone: &str) -> Vec<Finding> {
    let nova: Vec<&ServiceEndpoint> = services.iter().filter(|s| s.service_type == NOVA).collect();
    if nova.is_empty() {
        // `check_nova` already reports the missing service.
        return Vec::new();
    }
    let matches = nova.iter().any(|service| {
        service
            .urls()
            .any(|url| openstack::same_keystone(url, keystone))
    });
    if matches {
        return Vec::new();
    }
    let registered: Vec<&str> = nova.iter().flat_map(|s| s.urls()).collect();
    vec![Finding::error(
        "GOCDB-KEYSTONE-URL",
        at(nova[0], "URL"),
        format!(
            "the {NOVA} registration has URL {}, not the Keystone URL {keystone}; set the \
             service URL in GOCDB to {keystone}",
            if registered.is_empty() {
                "(none)".to_owned()
            } else {
                registered.join(", ")
            }
        ),
    )]
}

/// Checks that HOSTDN, trimmed and converted to RFC 2253, equals the host certificate's subject.
pub fn check_host_dn_subject(service: &ServiceEndpoint, subject: &str) -> Vec<Finding> {
    if service.host_dn.is_empty() {
        return Vec::new();
    }
    let converted = match dn::slash_to_rfc2253(&service.host_dn) {
        Ok(converted) => converted,
        // `check_nova` reports the malformed DN.
        Err(_) => return Vec::new(),
    };
    if converted == subject {
        return Vec::new();
    }
    vec![Finding::error(
        "GOCDB-HOSTDN-CERT",
        at(service, "HOSTDN"),
        format!(
            "HOSTDN `{}` ({converted} in RFC 2253 form) is not the subject of the certificate \
             {} serves ({subject}); copy the subject from `openssl x509 -noout -subject \
             -nameopt compat` into the Host DN",
            service.host_dn, service.hostname
        ),
    )]
}

/// Checks that HOST_IP and HOST_IPV6, when set, are among the addresses DNS returns for
/// HOSTNAME.
pub fn check_host_addresses(service: &ServiceEndpoint, addresses: &[IpAddr]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (field, value) in [
        ("HOST_IP", &service.host_ip),
        ("HOST_IPV6", &service.host_ipv6),
    ] {
        if value.is_empty() {
            continue;
        }
        let resolved: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
        match value.parse::<IpAddr>() {
            Ok(address) if addresses.contains(&address) => {}
            Ok(_) => findings.push(Finding::error(
                "GOCDB-HOST-IP",
                at(service, field),
                format!(
                    "{field} {value} is not an address of {} (DNS returns {}); update {field} \
                     in GOCDB",
                    service.hostname,
                    if resolved.is_empty() {
                        "nothing".to_owned()
                    } else {
                        resolved.join(", ")
                    }
                ),
            )),
            Err(_) => findings.push(Finding::error(
                "GOCDB-HOST-IP",
                at(service, field),
                format!("{field} `{value}` is not an IP address"),
            )),
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Severity, Verdict};

    const ENDPOINT_XML: &str = include_str!("../../fixtures/gocdb/pi-get_service_endpoint.xml");
    const SITE_XML: &str = include_str!("../../fixtures/gocdb/pi-get_site.xml");

    fn rules(findings: &[Finding], severity: Severity) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn fixture_endpoints_pass() {
        let findings = check_document(ENDPOINT_XML, &Context::default());
        assert_eq!(Verdict::of(&findings), Verdict::Pass, "{findings:?}");
    }

    #[test]
    fn fixture_site_is_certified() {
        let findings = check_document(SITE_XML, &Context::default());
        assert_eq!(rules(&findings, Severity::Info), vec!["GOCDB-SITE-STATUS"]);
        assert_eq!(Verdict::of(&findings), Verdict::Pass);
    }

    #[test]
    fn keystone_url_compared_normalised() {
        let context = Context {
            keystone: Some("https://KEYSTONE.cloud.example.org:5000/v3/"),
            ..Context::default()
        };
        assert!(check_document(ENDPOINT_XML, &context).is_empty());
        let context = Context {
            keystone: Some("https://other.example.org:5000/v3"),
            ..Context::default()
        };
        let findings = check_document(ENDPOINT_XML, &context);
        assert_eq!(
            rules(&findings, Severity::Error),
            vec!["GOCDB-KEYSTONE-URL"]
        );
    }

    #[test]
    fn host_ip_compared_with_dns() {
        let context = Context {
            host_addresses: Some(&[
                "192.0.2.10".parse().unwrap(),
                "2001:db8::10".parse().unwrap(),
            ]),
            ..Context::default()
        };
        assert!(check_document(ENDPOINT_XML, &context).is_empty());
        let context = Context {
            host_addresses: Some(&["192.0.2.99".parse().unwrap()]),
            ..Context::default()
        };
        let findings = check_document(ENDPOINT_XML, &context);
        assert_eq!(
            rules(&findings, Severity::Error),
            vec!["GOCDB-HOST-IP", "GOCDB-HOST-IP"]
        );
    }

    #[test]
    fn suspended_site_fails() {
        let xml = SITE_XML.replace(">Certified<", ">Suspended<");
        let findings = check_document(&xml, &Context::default());
        assert_eq!(rules(&findings, Severity::Error), vec!["GOCDB-SITE-STATUS"]);
    }
}
