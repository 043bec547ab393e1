//! The services a FedCloud site must offer in its catalog, and its GOCDB certification status.

use super::super::aai::CATALOG;
use super::super::{CheckCtx, Outcome, Problem};
use crate::gocdb;
use crate::http::Request;
use crate::openstack;

/// Checks that the catalog has a public endpoint of each service type in the `services`
/// parameter. An entry may list alternatives with `|`, because block storage is registered as
/// `block-storage`, `volumev3` or `volumev2` depending on the release and installer.
pub async fn catalog_service_types(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let wanted = ctx.param_strings("services", &["identity", "compute", "image", "network"]);
    let catalog = ctx.env.shared.value(CATALOG).ok_or_else(|| {
        Problem("no service catalog (the scoped-token check did not store one)".to_owned())
    })?;
    ctx.evidence.add_json("catalog.json", &catalog);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let region = ctx.profile().keystone.region.as_deref();
    for entry in &wanted {
        let present = entry
            .split('|')
            .find(|kind| openstack::public_url(&catalog, kind, region).is_some());
        match present {
            Some(kind) => found.push(kind.to_owned()),
            None => {
                let notes: String = entry
                    .split('|')
                    .map(|kind| openstack::region_note(&catalog, kind, region))
                    .collect();
                missing.push(format!("{}{notes}", entry.replace('|', " or ")));
            }
        }
    }
    if !missing.is_empty() {
        return Ok(Outcome::fail(format!(
            "the catalog has no public endpoint of type {} (it has {}); register the service with `openstack endpoint create --interface public`",
            missing.join(", "),
            if found.is_empty() {
                "none of the others".to_owned()
            } else {
                found.join(", ")
            }
        )));
    }
    Ok(Outcome::pass(format!(
        "the catalog has public endpoints of type {}",
        found.join(", ")
    )))
}

/// GOCDB certification statuses, in the order a site passes through them, with their meaning.
const STATUSES: &[(&str, &str)] = &[
    ("Candidate", "registered, certification not yet started"),
    ("Uncertified", "under certification by its NGI"),
    ("Certified", "certified"),
];

/// Statuses in which a site must not be offered to users.
const BLOCKED_STATUSES: &[&str] = &["Suspended", "Closed"];

/// Reports the site's certification status and production flag from GOCDB `get_site`.
pub async fn gocdb_site_status(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (xml, source) = get_site_xml(&ctx).await?;
    let name = &ctx.profile().site.name;
    let site = gocdb::site(&xml, name).map_err(|err| Problem(format!("{source}: {err}")))?;
    let Some(site) = site else {
        return Ok(Outcome::fail(format!(
            "GOCDB has no site named {name} ({source}); register the site, or fix site.name in the profile"
        )));
    };
    let status = site.certification_status.as_str();
    let production = match site.production_infrastructure.as_str() {
        "" => "no production flag".to_owned(),
        flag => format!("infrastructure {flag}"),
    };
    if BLOCKED_STATUSES.contains(&status) {
        return Ok(Outcome::fail(format!(
            "GOCDB lists {name} as {status} ({production}); a {status} site cannot be certified until its NGI returns it to Uncertified"
        )));
    }
    match STATUSES.iter().find(|(known, _)| *known == status) {
        Some((_, meaning)) => Ok(Outcome::pass(format!(
            "GOCDB lists {name} as {status}: {meaning} ({production})"
        ))),
        None => Ok(Outcome::fail(format!(
            "GOCDB lists {name} with certification status `{status}`, expected one of Candidate, Uncertified or Certified ({production})"
        ))),
    }
}

/// The `get_site` answer, from the profile's file or the PI.
async fn get_site_xml(ctx: &CheckCtx) -> Result<(String, String), Problem> {
    let Some(gocdb) = &ctx.profile().gocdb else {
        return Err(Problem(
            "the site profile has no [gocdb] section (hint: set gocdb.pi_url or gocdb.site_file)"
                .to_owned(),
        ));
    };
    if let Some(path) = &gocdb.site_file {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Problem(format!("cannot read {}: {err}", path.display())))?;
        ctx.evidence.add_text("get_site.xml", &text);
        return Ok((text, path.display().to_string()));
    }
    let Some(base) = gocdb.pi_url.as_deref() else {
        return Err(Problem(
            "the [gocdb] section has neither site_file nor pi_url".to_owned(),
        ));
    };
    let url = gocdb::pi_url(base, "get_site", &ctx.profile().site.name, None);
    let response = ctx.send(Request::get(&url)).await?;
    if !response.status.is_success() {
        // get_site is a protected PI method: it needs an IGTF certificate or a token.
        return Err(Problem(format!(
            "GOCDB PI {url} answered HTTP {} (hint: get_site needs a certificate; save its output and set gocdb.site_file)",
            response.status
        )));
    }
    Ok((response.text(), url))
}
