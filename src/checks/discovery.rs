//! Discovery suite: the site's registration in GOCDB and its Keystone catalog agree.

use super::aai::CATALOG;
use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::gocdb;
use crate::http::Request;
use crate::openstack;

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "gocdb-keystone-url",
        params: &["service_type"],
        run: |ctx| Box::pin(gocdb_keystone_url(ctx)),
    },
    CheckKind {
        name: "catalog-services",
        params: &["services"],
        run: |ctx| Box::pin(catalog_services(ctx)),
    },
];

/// The `get_service_endpoint` answer, from the PI or from the profile's file.
async fn service_endpoint_xml(
    ctx: &CheckCtx,
    service_type: &str,
) -> Result<(String, String), Problem> {
    let Some(gocdb) = &ctx.profile().gocdb else {
        return Err(Problem(
            "the site profile has no [gocdb] section (hint: set gocdb.pi_url)".to_owned(),
        ));
    };
    if let Some(path) = &gocdb.service_endpoint_file {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Problem(format!("cannot read {}: {err}", path.display())))?;
        ctx.evidence.add_text("get_service_endpoint.xml", &text);
        return Ok((text, path.display().to_string()));
    }
    let base = gocdb.pi_url.as_deref().unwrap_or_default();
    let url = gocdb::pi_url(
        base,
        "get_service_endpoint",
        &ctx.profile().site.name,
        Some(service_type),
    );
    let response = ctx.send(Request::get(&url)).await?;
    if !response.status.is_success() {
        return Err(Problem(format!(
            "GOCDB PI {url} answered HTTP {}",
            response.status
        )));
    }
    Ok((response.text(), url))
}

async fn gocdb_keystone_url(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let service_type = ctx.param_str("service_type", "org.openstack.nova");
    let (xml, source) = service_endpoint_xml(&ctx, &service_type).await?;
    let endpoints =
        gocdb::service_endpoints(&xml).map_err(|err| Problem(format!("{source}: {err}")))?;
    let site = &ctx.profile().site.name;
    let registered: Vec<&gocdb::ServiceEndpoint> = endpoints
        .iter()
        .filter(|e| e.service_type == service_type && &e.site == site)
        .collect();
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
            endpoint.primary_key, endpoint.url
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

async fn catalog_services(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let wanted = ctx.param_strings("services", &["identity", "compute", "image"]);
    let catalog = ctx.env.shared.value(CATALOG).ok_or_else(|| {
        Problem("no service catalog (the scoped-token check did not store one)".to_owned())
    })?;
    ctx.evidence.add_json("catalog.json", &catalog);
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|kind| openstack::public_url(&catalog, kind).is_none())
        .collect();
    if !missing.is_empty() {
        return Ok(Outcome::fail(format!(
            "the catalog has no public endpoint for {}; register them with `openstack endpoint create --interface public`",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "the catalog has public endpoints for {}",
        wanted.join(", ")
    )))
}
