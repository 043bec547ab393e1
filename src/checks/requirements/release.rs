//! The OpenStack release a site runs, read from the compute API's maximum microversion and the
//! Identity API version, against the oldest release the profile accepts.

use serde_json::Value;

use super::super::aai::CATALOG;
use super::super::{CheckCtx, Outcome, Problem};
use crate::http::Request;
use crate::openstack;
use crate::openstack_release::{ComputeRelease, Microversion, Release, identity_release};

pub async fn openstack_release(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let oldest_name = &ctx.profile().requirements.oldest_release;
    let oldest = Release::from_name(oldest_name).ok_or_else(|| {
        Problem(format!(
            "requirements.oldest_release `{oldest_name}` is not a known release"
        ))
    })?;
    let catalog = ctx.env.shared.value(CATALOG).unwrap_or_default();
    let region = ctx.profile().keystone.region.as_deref();
    let Some(compute) = openstack::public_url(&catalog, "compute", region) else {
        return Ok(Outcome::fail(format!(
            "the catalog has no public compute endpoint{} to read the release from",
            openstack::region_note(&catalog, "compute", region)
        )));
    };
    let url = compute_version_url(&compute);
    let response = ctx
        .send(Request::get(&url).header("accept", "application/json"))
        .await?;
    if !response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "GET {url} answered HTTP {}; Nova must serve its v2.1 version document there",
            response.status
        )));
    }
    let document = response.json().map_err(Problem)?;
    let max_text = max_microversion(&document).unwrap_or_default();
    let release = match Microversion::parse(&max_text) {
        Some(max) => ComputeRelease::from_max(max),
        // Nova has reported a maximum since Kilo; an empty one means an older release.
        None if max_text.is_empty() => ComputeRelease::OlderThanKnown,
        None => {
            return Ok(Outcome::fail(format!(
                "{url} reports maximum microversion `{max_text}`, which is not of the form 2.N"
            )));
        }
    };
    let identity = identity_note(&ctx).await;
    let oldest_max = oldest.max_microversion();
    if !release.at_least(oldest) {
        return Ok(Outcome::fail(format!(
            "the compute API's maximum microversion is {}, so the site runs {release}{identity}; the profile accepts {oldest} (maximum microversion {oldest_max}) or newer. Upgrade OpenStack, or lower requirements.oldest_release if EGI agreed to an older one",
            display_max(&max_text)
        )));
    }
    Ok(Outcome::pass(format!(
        "the compute API's maximum microversion is {max_text}, so the site runs {release}{identity}; {oldest} or newer is accepted"
    )))
}

/// The version document's URL: the catalog's compute URL cut after `/v2.1` (some catalogs
/// append the project id), with a trailing slash as Nova's own links have it.
fn compute_version_url(compute: &str) -> String {
    let trimmed = compute.trim_end_matches('/');
    match trimmed.find("/v2.1") {
        Some(at) => format!("{}/", &trimmed[..at + "/v2.1".len()]),
        None => format!("{trimmed}/"),
    }
}

/// The `version` field of a Nova version document, given as one version (`GET /v2.1/`) or as
/// the list of every version (`GET /`).
fn max_microversion(document: &Value) -> Option<String> {
    if let Some(version) = document["version"]["version"].as_str() {
        return Some(version.to_owned());
    }
    document["versions"]
        .as_array()?
        .iter()
        .find(|v| v["id"] == "v2.1")
        .and_then(|v| v["version"].as_str().map(str::to_owned))
}

fn display_max(max_text: &str) -> &str {
    if max_text.is_empty() {
        "absent (no microversions)"
    } else {
        max_text
    }
}

/// A clause naming the Identity API version and the oldest release that serves it, or nothing
/// when Keystone does not say.
async fn identity_note(ctx: &CheckCtx) -> String {
    let Ok(url) = openstack::v3_url(&ctx.profile().keystone.url, "") else {
        return String::new();
    };
    let url = url.trim_end_matches('/').to_owned();
    let request = Request::get(&url).header("accept", "application/json");
    let Ok(response) = ctx.send(request).await else {
        return String::new();
    };
    let id = response
        .json()
        .ok()
        .and_then(|doc| doc["version"]["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    match identity_release(&id) {
        Some(release) => format!(" (Identity API {id}: {release} or newer)"),
        None if id.is_empty() => String::new(),
        None => format!(" (Identity API {id})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_url_drops_project_id() {
        assert_eq!(
            compute_version_url("https://nova.example.org:8774/v2.1/6f70656e"),
            "https://nova.example.org:8774/v2.1/"
        );
        assert_eq!(
            compute_version_url("https://cloud.example.org/compute/v2.1"),
            "https://cloud.example.org/compute/v2.1/"
        );
        assert_eq!(
            compute_version_url("https://nova.example.org:8774/"),
            "https://nova.example.org:8774/"
        );
    }

    #[test]
    fn max_microversion_from_both_documents() {
        let one = serde_json::json!({"version": {"id": "v2.1", "version": "2.96"}});
        assert_eq!(max_microversion(&one).as_deref(), Some("2.96"));
        let all = serde_json::json!({"versions": [
            {"id": "v2.0", "version": ""},
            {"id": "v2.1", "version": "2.60"}
        ]});
        assert_eq!(max_microversion(&all).as_deref(), Some("2.60"));
        assert_eq!(max_microversion(&serde_json::json!({})), None);
    }
}
