//! The network checks applied to the public endpoints of the Keystone catalog, which
//! `aai.scoped-tokens` stores. Clients follow these URLs after authenticating, so a catalog
//! entry on an internal address breaks them even when the Keystone URL works. Whether the
//! URLs are https is `requirements.public-endpoints-https`'s to judge, so it is not repeated
//! here. With `keystone.region` set, only that region's endpoints are probed.

use super::tls::{chain_problems, handshakes, hostname_problems, validity_problems};
use super::{Endpoint, join_limited, push_unique};
use crate::checks::aai::CATALOG;
use crate::checks::{CheckCtx, Outcome, Problem};

/// Reads the catalog's `public` endpoints, and the URLs that could not be parsed.
fn public_endpoints(ctx: &CheckCtx) -> Result<(Vec<Endpoint>, Vec<String>), Problem> {
    let catalog = ctx.env.shared.value(CATALOG).ok_or_else(|| {
        Problem("no service catalog: aai.scoped-tokens stored none for this run".to_owned())
    })?;
    // With keystone.region set, EGI clients call only that region (and Keystone by its URL).
    let region = ctx.profile().keystone.region.as_deref();
    let mut endpoints = Vec::new();
    let mut invalid = Vec::new();
    for entry in crate::openstack::catalog_endpoints(&catalog) {
        let other_region =
            region.is_some_and(|region| entry.region != region && entry.service_type != "identity");
        if entry.interface != "public" || other_region {
            continue;
        }
        let source = format!("catalog {} public endpoint", entry.service_type);
        match Endpoint::parse(&source, &entry.url) {
            Ok(endpoint) => endpoints.push(endpoint),
            Err(reason) => invalid.push(format!("{source}: {reason}")),
        }
    }
    if endpoints.is_empty() && invalid.is_empty() {
        return Err(Problem(
            "the service catalog has no public endpoint".to_owned(),
        ));
    }
    Ok((endpoints, invalid))
}

fn unique_authorities(endpoints: &[Endpoint]) -> Vec<Endpoint> {
    let mut unique = Vec::new();
    for endpoint in endpoints {
        push_unique(&mut unique, endpoint.clone());
    }
    unique
}

pub(super) async fn dns(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (endpoints, invalid) = public_endpoints(&ctx)?;
    let outcome = super::dns::check_hosts(&ctx, &endpoints, "catalog-dns.json").await?;
    if invalid.is_empty() {
        return Ok(outcome);
    }
    let mut problems = invalid;
    if outcome.status == crate::checks::Status::Failed {
        problems.push(outcome.message);
    }
    Ok(Outcome::fail(join_limited(&problems, 5)))
}

pub(super) async fn tcp_connect(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (endpoints, _) = public_endpoints(&ctx)?;
    let targets = unique_authorities(&endpoints);
    super::ports::check_reachable(&ctx, &targets, "catalog-tcp.txt").await
}

pub(super) async fn tls(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (endpoints, _) = public_endpoints(&ctx)?;
    let targets = unique_authorities(&endpoints);
    let found = handshakes(&ctx, &targets).await?;
    if found.is_empty() {
        return Ok(Outcome::fail(
            "no public endpoint of the catalog uses https (see requirements.public-endpoints-https)",
        ));
    }
    let mut problems = chain_problems(&ctx, &found)?;
    problems.extend(hostname_problems(&found)?);
    problems.extend(validity_problems(&found, ctx.env.now.timestamp())?);
    if problems.is_empty() {
        let list: Vec<String> = found
            .iter()
            .map(|h| format!("{} {}", h.endpoint.authority(), h.version))
            .collect();
        return Ok(Outcome::pass(format!(
            "valid certificates with complete chains on {}",
            list.join(", ")
        )));
    }
    Ok(Outcome::fail(join_limited(&problems, 5)))
}
