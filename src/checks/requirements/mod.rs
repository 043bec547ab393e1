//! Requirements suite: the Keystone v3 API, the OpenStack release, the services in the
//! catalog, https on every public endpoint, GOCDB certification, the site's clocks and the
//! certificate SSM signs accounting messages with ([`accounting_cert`]).

mod accounting_cert;
mod clock;
mod release;
mod site;

use std::net::IpAddr;

use super::aai::CATALOG;
use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::http::Request;
use crate::openstack;

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "accounting-certificate",
        params: &[],
        run: |ctx| Box::pin(accounting_cert::accounting_certificate(ctx)),
    },
    CheckKind {
        name: "keystone-version",
        params: &[],
        run: |ctx| Box::pin(keystone_version(ctx)),
    },
    CheckKind {
        name: "catalog-public-https",
        params: &[],
        run: |ctx| Box::pin(catalog_public_https(ctx)),
    },
    CheckKind {
        name: "openstack-release",
        params: &[],
        run: |ctx| Box::pin(release::openstack_release(ctx)),
    },
    CheckKind {
        name: "catalog-service-types",
        params: &["services"],
        run: |ctx| Box::pin(site::catalog_service_types(ctx)),
    },
    CheckKind {
        name: "gocdb-site-status",
        params: &[],
        run: |ctx| Box::pin(site::gocdb_site_status(ctx)),
    },
    CheckKind {
        name: "endpoint-clock",
        params: &["max_skew_seconds"],
        run: |ctx| Box::pin(clock::endpoint_clock(ctx)),
    },
];

async fn keystone_version(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let url = openstack::v3_url(&ctx.profile().keystone.url, "").map_err(Problem)?;
    let url = url.trim_end_matches('/').to_owned();
    let response = ctx
        .send(Request::get(&url).header("accept", "application/json"))
        .await?;
    if !response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "GET {url} answered HTTP {}; Keystone must serve its v3 version document there",
            response.status
        )));
    }
    let document = match response.json() {
        Ok(document) => document,
        Err(reason) => return Ok(Outcome::fail(reason)),
    };
    let version = &document["version"];
    let id = version["id"].as_str().unwrap_or_default();
    let status = version["status"].as_str().unwrap_or_default();
    if !id.starts_with("v3") {
        return Ok(Outcome::fail(format!(
            "{url} reports version `{id}`, not Identity API v3"
        )));
    }
    if status != "stable" && status != "CURRENT" {
        return Ok(Outcome::fail(format!(
            "{url} reports Identity API {id} with status `{status}`; FedCloud needs a stable v3"
        )));
    }
    // Links that point to http send clients off TLS after the first request.
    let http_links: Vec<&str> = version["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| link["href"].as_str())
        .filter(|href| href.starts_with("http://"))
        .collect();
    if !http_links.is_empty() {
        return Ok(Outcome::fail(format!(
            "the version document at {url} links to {}; set Keystone's public_endpoint (or the proxy's X-Forwarded-Proto) so links use https",
            http_links.join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "{url} serves Identity API {id} ({status})"
    )))
}

async fn catalog_public_https(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let catalog = ctx.env.shared.value(CATALOG).ok_or_else(|| {
        Problem("no service catalog (the scoped-token check did not store one)".to_owned())
    })?;
    ctx.evidence.add_json("catalog.json", &catalog);
    let auth_url =
        url::Url::parse(&ctx.profile().keystone.url).map_err(|err| Problem(err.to_string()))?;
    let mut problems = Vec::new();
    let endpoints = openstack::catalog_endpoints(&catalog);
    let public: Vec<_> = endpoints
        .iter()
        .filter(|e| e.interface == "public")
        .collect();
    for endpoint in &public {
        let parsed = match url::Url::parse(&endpoint.url) {
            Ok(parsed) => parsed,
            Err(err) => {
                problems.push(format!(
                    "{} public URL `{}` is invalid ({err})",
                    endpoint.service_type, endpoint.url
                ));
                continue;
            }
        };
        if parsed.scheme() != "https" {
            problems.push(format!(
                "{} public endpoint {} is not https",
                endpoint.service_type, endpoint.url
            ));
        }
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        if host.parse::<IpAddr>().is_ok() {
            problems.push(format!(
                "{} public endpoint {} uses an IP address; use a DNS name the server certificate covers",
                endpoint.service_type, endpoint.url
            ));
        }
        if endpoint.service_type == "identity"
            && (parsed.scheme() != auth_url.scheme()
                || parsed.host_str() != auth_url.host_str()
                || parsed.port_or_known_default() != auth_url.port_or_known_default())
        {
            problems.push(format!(
                "the identity public endpoint {} differs in scheme, host or port from the Keystone URL {} that clients authenticate at",
                endpoint.url, ctx.profile().keystone.url
            ));
        }
    }
    if public.is_empty() {
        return Ok(Outcome::fail("the catalog has no public endpoints"));
    }
    if !problems.is_empty() {
        return Ok(Outcome::fail(format!(
            "{} (hint: fix the public URLs with `openstack endpoint set --url`)",
            problems.join("; ")
        )));
    }
    Ok(Outcome::pass(format!(
        "all {} public endpoints use https with a host name",
        public.len()
    )))
}
