//! Checks of the Keystone catalog that EGI's clients and probes read: the public endpoints
//! they need, one region name, and the identity URL GOCDB registers.

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::aai::CATALOG;
use super::{CheckCtx, Outcome, Problem, site_services};
use crate::gocdb::rules::NOVA;
use crate::openstack;

/// The catalog services EGI's probes and clients call: Keystone, Nova, Glance and Neutron.
const SERVICES: &[&str] = &["identity", "compute", "image", "network"];

fn catalog(ctx: &CheckCtx) -> Result<Value, Problem> {
    let catalog = ctx.env.shared.value(CATALOG).ok_or_else(|| {
        Problem("no service catalog (the scoped-token check did not store one)".to_owned())
    })?;
    ctx.evidence.add_json("catalog.json", &catalog);
    Ok(catalog)
}

pub async fn services(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let wanted = ctx.param_strings("services", SERVICES);
    let catalog = catalog(&ctx)?;
    let mut missing = Vec::new();
    let mut plain = Vec::new();
    let region = ctx.profile().keystone.region.as_deref();
    for kind in &wanted {
        match openstack::public_url(&catalog, kind, region) {
            None => missing.push(format!(
                "{kind}{}",
                openstack::region_note(&catalog, kind, region)
            )),
            Some(url) if !url.starts_with("https://") => plain.push(format!("{kind} {url}")),
            Some(_) => {}
        }
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "the catalog has no public endpoint for {}; register them with `openstack endpoint \
             create --interface public`",
            missing.join(", ")
        ));
    }
    if !plain.is_empty() {
        problems.push(format!(
            "public endpoints without https: {}; set https URLs with `openstack endpoint set \
             --url`",
            plain.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Ok(Outcome::fail(problems.join("; ")));
    }
    Ok(Outcome::pass(format!(
        "the catalog has https public endpoints for {}",
        wanted.join(", ")
    )))
}

pub async fn region(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let wanted = ctx.param_strings("services", SERVICES);
    let catalog = catalog(&ctx)?;
    let endpoints: Vec<openstack::Endpoint> = openstack::catalog_endpoints(&catalog)
        .into_iter()
        .filter(|e| e.interface == "public" && wanted.contains(&e.service_type))
        .collect();
    let unnamed: Vec<&str> = endpoints
        .iter()
        .filter(|e| e.region.is_empty())
        .map(|e| e.service_type.as_str())
        .collect();
    if !unnamed.is_empty() {
        return Ok(Outcome::fail(format!(
            "the public endpoints of {} name no region; set one with `openstack endpoint set \
             --region`",
            unnamed.join(", ")
        )));
    }
    let regions: BTreeSet<&str> = endpoints.iter().map(|e| e.region.as_str()).collect();
    let listing = || {
        endpoints
            .iter()
            .map(|e| format!("{} in {}", e.service_type, e.region))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let region = match ctx.profile().keystone.region.as_deref() {
        // A site may serve several regions; EGI's clients then use the one its
        // fedcloud-catchall-operations entry names, which the profile repeats.
        Some(chosen) => {
            let absent: Vec<&str> = wanted
                .iter()
                .map(String::as_str)
                .filter(|kind| {
                    // Clients reach Keystone by the auth URL, whatever its catalog region.
                    !endpoints.iter().any(|e| {
                        e.service_type == *kind && (e.region == chosen || *kind == "identity")
                    })
                })
                .collect();
            if !absent.is_empty() {
                return Ok(Outcome::fail(format!(
                    "keystone.region is {chosen}, but the catalog has no public {} endpoint in \
                     it ({}); fix the region name in the profile or register the endpoints there",
                    absent.join(", "),
                    listing()
                )));
            }
            chosen
        }
        None if regions.len() > 1 => {
            return Ok(Outcome::fail(format!(
                "the public endpoints name {} regions ({}), and the profile does not say which \
                 one EGI clients use; set keystone.region to the region of the site's \
                 fedcloud-catchall-operations entry, or use one region name for every service",
                regions.len(),
                listing()
            )));
        }
        None => match regions.iter().next() {
            Some(only) => only,
            None => {
                return Ok(Outcome::fail(
                    "the catalog has no public endpoint of the listed services",
                ));
            }
        },
    };
    if let Some(mismatch) = gocdb_region_mismatch(&ctx, region).await? {
        return Ok(Outcome::fail(mismatch));
    }

    let others = regions.iter().filter(|other| **other != region).count();
    Ok(Outcome::pass(if others == 0 {
        format!(
            "every public endpoint of {} is in region {region}",
            wanted.join(", ")
        )
    } else {
        format!(
            "{} have public endpoints in region {region}, the one keystone.region names \
             ({others} other {} ignored)",
            wanted.join(", "),
            if others == 1 { "region" } else { "regions" }
        )
    }))
}

/// Compares the catalog's region with the Region extension of GOCDB's nova endpoints, when the
/// profile has GOCDB and an endpoint sets one.
async fn gocdb_region_mismatch(ctx: &CheckCtx, region: &str) -> Result<Option<String>, Problem> {
    if ctx.profile().gocdb.is_none() {
        return Ok(None);
    }
    let (services, source) = site_services(ctx, Some(NOVA)).await?;
    let gocdb_regions: BTreeSet<&str> = services
        .iter()
        .flat_map(|s| s.regions.iter().map(String::as_str))
        .collect();
    if gocdb_regions.is_empty() || gocdb_regions.contains(region) {
        return Ok(None);
    }
    Ok(Some(format!(
        "the catalog's region is {region}, but GOCDB's {NOVA} endpoints name region {} \
         ({source}); make the GOCDB Region extension and the catalog agree",
        gocdb_regions.into_iter().collect::<Vec<_>>().join(", ")
    )))
}

pub async fn identity_gocdb(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let catalog = catalog(&ctx)?;
    let Some(identity) = openstack::public_url(
        &catalog,
        "identity",
        ctx.profile().keystone.region.as_deref(),
    ) else {
        return Ok(Outcome::fail(
            "the catalog has no public identity endpoint; register Keystone's public URL",
        ));
    };
    let (services, source) = site_services(&ctx, Some(NOVA)).await?;
    let urls: Vec<&str> = services.iter().flat_map(|s| s.urls()).collect();
    if urls.is_empty() {
        return Ok(Outcome::fail(format!(
            "GOCDB has no {NOVA} URL for the site ({source}); register the Keystone URL"
        )));
    }
    if urls
        .iter()
        .any(|url| openstack::same_keystone(url, &identity))
    {
        return Ok(Outcome::pass(format!(
            "the catalog's public identity URL {identity} is the URL GOCDB registers"
        )));
    }
    Ok(Outcome::fail(format!(
        "the catalog's public identity URL is {identity}, but GOCDB registers {} ({source}); make \
         Keystone's public endpoint and the GOCDB service URL the same",
        urls.join(", ")
    )))
}
