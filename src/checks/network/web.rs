//! HTTP-level checks: endpoints are https, and the Keystone version document links only to
//! https, because clients follow those links after authenticating.

use std::net::SocketAddr;

use serde_json::Value;

use super::dns::endpoint_addresses;
use super::{Endpoint, connect_timeout, join_limited, profile_endpoints};
use crate::checks::{CheckCtx, Outcome, Problem};

/// Largest version document read; Keystone's is about 1 KiB.
const MAX_BODY: usize = 256 * 1024;

/// Lists the endpoints that are not https, or passes.
pub(crate) fn plain_http(endpoints: &[Endpoint]) -> Vec<String> {
    endpoints
        .iter()
        .filter(|e| e.scheme != "https")
        .map(|e| {
            format!(
                "{} `{}` uses {}, not https; serve it over TLS with a host certificate and register the https URL",
                e.source, e.url, e.scheme
            )
        })
        .collect()
}

pub(super) async fn https_endpoints(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let endpoints = profile_endpoints(&ctx)?;
    let problems = plain_http(&endpoints);
    if problems.is_empty() {
        let list: Vec<&str> = endpoints.iter().map(|e| e.url.as_str()).collect();
        return Ok(Outcome::pass(format!("https: {}", list.join(", "))));
    }
    Ok(Outcome::fail(join_limited(&problems, 5)))
}

/// Collects every `href` value of a JSON document.
fn hrefs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::String(text) if key == "href" => found.push(text.clone()),
                    other => hrefs(other, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| hrefs(item, found)),
        _ => {}
    }
}

/// Builds an HTTP client that trusts the profile's anchors and connects to `host` at the
/// addresses the profile's resolvers returned, so that a zone only they serve also works.
fn client_for(
    ctx: &CheckCtx,
    host: &str,
    addrs: &[SocketAddr],
) -> Result<reqwest::Client, Problem> {
    let tls = &ctx.profile().tls;
    let timeout = connect_timeout(ctx);
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(tls.public_roots)
        .timeout(timeout * 2)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(host, addrs)
        .user_agent(concat!("fedcloud-conformance/", env!("CARGO_PKG_VERSION")));
    if let Some(dir) = &tls.trust_anchors {
        for cert in crate::http::load_trust_anchors(dir).map_err(|err| Problem(err.to_string()))? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|err| Problem(format!("cannot build the HTTP client: {err}")))
}

pub(super) async fn version_document_links(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let keystone = profile_endpoints(&ctx)?.remove(0);
    let url = crate::openstack::v3_url(&keystone.url, "").map_err(Problem)?;
    let ips = endpoint_addresses(&ctx, &keystone).await.map_err(Problem)?;
    let addrs: Vec<SocketAddr> = ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, keystone.port))
        .collect();
    let client = client_for(&ctx, &keystone.host, &addrs)?;

    let response = match client
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
    {
        Ok(response) => response,
        // A broken chain, name or expiry is reported once, by the network.tls-* checks that
        // run beside this one.
        Err(err) if err.is_connect() => {
            return Ok(Outcome::skip(format!(
                "not evaluated: GET {url} failed ({}); network.tls-* report the TLS fault",
                error_chain(&err)
            )));
        }
        Err(err) => return Err(Problem(format!("GET {url} failed: {}", error_chain(&err)))),
    };
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|err| Problem(format!("GET {url}: cannot read the body: {err}")))?;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY)]).into_owned();
    ctx.evidence.add_text(
        "version-document.txt",
        &format!("GET {url}\n{status}\n\n{text}"),
    );
    // Whether the document is a valid Keystone v3 document is requirements.keystone-v3's to
    // judge. This check only judges links, so a run reports that fault once.
    let document = match serde_json::from_str::<Value>(&text) {
        Ok(document) if status.is_success() => document,
        Ok(_) => {
            return Ok(Outcome::pass(format!(
                "no links to check: GET {url} returned {status} (requirements.keystone-v3 judges the version document)"
            )));
        }
        Err(err) => {
            return Ok(Outcome::pass(format!(
                "no links to check: the body of GET {url} is not JSON ({err}); requirements.keystone-v3 judges the version document"
            )));
        }
    };
    let mut links = Vec::new();
    hrefs(&document, &mut links);
    if links.is_empty() {
        return Ok(Outcome::pass(format!(
            "no links to check: the version document at {url} has none"
        )));
    }
    let plain: Vec<String> = links
        .iter()
        .filter(|href| !href.to_ascii_lowercase().starts_with("https://"))
        .cloned()
        .collect();
    if plain.is_empty() {
        return Ok(Outcome::pass(format!(
            "the version document at {url} links only to https: {}",
            links.join(", ")
        )));
    }
    Ok(Outcome::fail(format!(
        "the version document at {url} links to {}, so clients leave TLS after the first request; set Keystone's public_endpoint (or the proxy's X-Forwarded-Proto) to the https URL",
        plain.join(", ")
    )))
}

/// Formats the error and its causes on one line, because reqwest keeps the TLS reason in a
/// source.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
