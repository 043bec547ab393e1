//! Checks of the GLUE2.1 document the site publishes with cloud-info-provider.

use serde_json::Value;

use super::{CheckCtx, Outcome, Problem, outcome, site_services};
use crate::glue;
use crate::gocdb::rules::{self, NOVA};
use crate::http::Request;

/// Key under which `glue-shape` hands the parsed document to the other GLUE checks.
const GLUE_DOCUMENT: &str = "glue.document";

/// Reads the document the profile names, from a URL or a file.
async fn fetch(ctx: &CheckCtx) -> Result<(String, String), Problem> {
    let Some(location) = ctx.profile().discovery.glue.clone() else {
        return Err(Problem(
            "the site profile names no GLUE2.1 document (hint: set discovery.glue to the URL \
             or file of cloud-info-provider's output)"
                .to_owned(),
        ));
    };
    if location.starts_with("http://") || location.starts_with("https://") {
        let response = ctx.send(Request::get(&location)).await?;
        if !response.status.is_success() {
            return Err(Problem(format!(
                "GET {location} answered HTTP {}",
                response.status
            )));
        }
        return Ok((response.text(), location));
    }
    let text = std::fs::read_to_string(&location)
        .map_err(|err| Problem(format!("cannot read {location}: {err}")))?;
    ctx.evidence.add_text("glue21.json", &text);
    Ok((text, location))
}

fn document(ctx: &CheckCtx) -> Result<Value, Problem> {
    ctx.env
        .shared
        .value(GLUE_DOCUMENT)
        .ok_or_else(|| Problem("no GLUE2.1 document (glue-shape did not store one)".to_owned()))
}

pub async fn shape(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (text, source) = fetch(&ctx).await?;
    let document = match glue::parse(&text) {
        Ok(document) => document,
        Err(finding) => return Ok(outcome(&ctx, &[finding], false, String::new())),
    };
    let findings = glue::check_shape(&document);
    let result = outcome(
        &ctx,
        &findings,
        false,
        format!("{source} is GLUE2.1 JSON of the shape cloud-info-provider publishes"),
    );
    ctx.env.shared.put_value(GLUE_DOCUMENT, document);
    Ok(result)
}

pub async fn endpoint(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let document = document(&ctx)?;
    // GOCDB's URL is the reference, because consumers join GLUE and GOCDB on it.
    let keystone = if ctx.profile().gocdb.is_some() {
        let (services, source) = site_services(&ctx, Some(NOVA)).await?;
        services
            .iter()
            .find_map(rules::registered_url)
            .map(str::to_owned)
            .ok_or_else(|| Problem(format!("GOCDB has no {NOVA} URL for the site ({source})")))?
    } else {
        ctx.profile().keystone.url.clone()
    };
    let findings = glue::check_endpoint(&document, Some(&keystone));
    let passed = format!("the GLUE2.1 {NOVA} endpoint publishes {keystone}");
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn shares(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let document = document(&ctx)?;
    let vos = &ctx.profile().site.vos;
    let findings = glue::check_shares(&document, vos);
    let passed = format!("the document has a share for {}", vos.join(", "));
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn resources(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let document = document(&ctx)?;
    let findings = glue::check_resources(&document);
    let count = |class: &str| document[class].as_array().map_or(0, Vec::len);
    let passed = format!(
        "the document publishes {} image and {} instance type entries",
        count("CloudComputingImage"),
        count("CloudComputingInstanceType")
    );
    Ok(outcome(&ctx, &findings, false, passed))
}

pub async fn freshness(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let document = document(&ctx)?;
    let findings = glue::check_freshness(&document, ctx.env.now);
    let passed = format!(
        "every CreationTime has a UTC offset and every object is still valid at {}",
        ctx.env
            .now
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(outcome(&ctx, &findings, false, passed))
}
