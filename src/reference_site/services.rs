//! Nova, Glance, Neutron, GOCDB PI and GLUE2.1 answers of the reference site.
//!
//! The OpenStack answers come from `fixtures/openstack/`, whose README names the shapes they
//! follow; faults swap or edit them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{AppState, Fault, SITE_NAME};

/// Names in the GOCDB and GLUE fixtures that are replaced with the reference site's own.
const FIXTURE_SITE: &str = "EXAMPLE-FEDCLOUD-SITE";
const FIXTURE_KEYSTONE: &str = "https://keystone.cloud.example.org:5000/v3";
const FIXTURE_HOST: &str = "keystone.cloud.example.org";

const GOCDB_SITE: &str = include_str!("../../fixtures/gocdb/pi-get_site.xml");
const GOCDB_ENDPOINT: &str = include_str!("../../fixtures/gocdb/pi-get_service_endpoint.xml");
const GLUE: &str = include_str!("../../fixtures/cloud-info-provider-1.2.0/glue21.json");

/// The compute endpoint in the OpenStack fixtures, replaced with the reference site's.
const FIXTURE_NOVA: &str = "https://nova.cloud.example.org:8774";
const NOVA_VERSION: &str =
    include_str!("../../fixtures/openstack/compute-versions/2024.1-caracal.json");
/// Liberty's version document, served by the `old-release` fault.
const NOVA_VERSION_OLD: &str =
    include_str!("../../fixtures/openstack/compute-versions/liberty.json");
const NOVA_LIMITS: &str = include_str!("../../fixtures/openstack/nova-limits.json");
const NOVA_FLAVORS: &str = include_str!("../../fixtures/openstack/nova-flavors-detail.json");
const NEUTRON_QUOTA: &str = include_str!("../../fixtures/openstack/neutron-quota-details.json");
const GLANCE_IMAGES: &str = include_str!("../../fixtures/openstack/glance-images.json");

/// The private flavor of the flavor fixture and the one project that may use it.
const PRIVATE_FLAVOR: (&str, &str) = ("vo.access.xlarge", "vo.access.egi.eu");

/// The GPU flavor of the flavor fixture.
const GPU_FLAVOR: &str = "g1.t4.large";

/// Routes added for the requirements and capacity suites.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/network/v2.0/quotas/{project_id}/details.json",
        get(neutron_quota_details),
    )
}

/// Parses a fixture built into the binary; they are checked by the unit tests below.
fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_default()
}

async fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    scope(state, headers).await.is_some()
}

/// Finds the project (VO name) a request's token is scoped to. The token is one this site
/// issued or, when the site fronts a real Keystone, one that Keystone validates.
async fn scope(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok())?;
    let own = state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .cloned();
    match own {
        Some(issued) => issued.scope,
        None => keystone_scope(state, token).await,
    }
}

/// Asks the real Keystone about a token, as keystonemiddleware does for Nova: a token may
/// validate itself with `GET /v3/auth/tokens`.
async fn keystone_scope(state: &AppState, token: &str) -> Option<String> {
    let keystone = state.keystone.as_ref()?;
    let url = format!(
        "{}/v3/auth/tokens",
        keystone.url.trim_end_matches('/').trim_end_matches("/v3")
    );
    let response = keystone
        .client
        .get(&url)
        .header("x-auth-token", token)
        .header("x-subject-token", token)
        .send()
        .await;
    let body: Value = match response {
        Ok(response) if response.status().is_success() => response.json().await.ok()?,
        Ok(response) => {
            tracing::info!(status = %response.status(), "Keystone rejected a token");
            return None;
        }
        Err(err) => {
            tracing::warn!(error = %err, url = %url, "cannot validate a token at Keystone");
            return None;
        }
    };
    body["token"]["project"]["name"].as_str().map(str::to_owned)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": 401, "message": "The request you have made requires authentication."}})),
    )
        .into_response()
}

pub async fn nova_version(State(state): State<Arc<AppState>>) -> Response {
    let document = if state.has(Fault::OldRelease) {
        NOVA_VERSION_OLD
    } else {
        NOVA_VERSION
    };
    let body = document.replace(FIXTURE_NOVA, &format!("{}/compute", state.base));
    ([("content-type", "application/json")], body).into_response()
}

pub async fn nova_limits(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers).await {
        return unauthorized();
    }
    let mut limits = fixture(NOVA_LIMITS);
    if state.has(Fault::SmallQuota) {
        limits["limits"]["absolute"]["maxTotalInstances"] = json!(1);
    }
    Json(limits).into_response()
}

/// `GET /flavors/detail` as Nova answers a project member: public flavors and the private ones
/// the project has access to.
pub async fn nova_flavors(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(project) = scope(&state, &headers).await else {
        return unauthorized();
    };
    let mut flavors: Vec<Value> = fixture(NOVA_FLAVORS)["flavors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    flavors.retain(|f| f["name"] != PRIVATE_FLAVOR.0 || project == PRIVATE_FLAVOR.1);
    if state.has(Fault::SmallFlavors) {
        for flavor in &mut flavors {
            let disk = flavor["disk"].as_i64().unwrap_or(0);
            flavor["disk"] = json!(disk.min(4));
        }
    }
    if state.has(Fault::GpuFlavorWithoutProperties) {
        for flavor in flavors.iter_mut().filter(|f| f["name"] == GPU_FLAVOR) {
            if let Some(specs) = flavor["extra_specs"].as_object_mut() {
                specs.retain(|key, _| !key.starts_with("Accelerator:"));
            }
        }
    }
    let base = format!("{}/compute", state.base);
    let body = Value::Array(flavors)
        .to_string()
        .replace(FIXTURE_NOVA, &base);
    let flavors: Value = serde_json::from_str(&body).unwrap_or_default();
    Json(json!({"flavors": flavors})).into_response()
}

/// `GET /v2.0/quotas/{project_id}/details.json` of Neutron, for the caller's own project.
pub async fn neutron_quota_details(
    State(state): State<Arc<AppState>>,
    Path(_project_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&state, &headers).await {
        return unauthorized();
    }
    Json(fixture(NEUTRON_QUOTA)).into_response()
}

/// `GET /v2/images`: public images for everyone and the shared one for `vo.access.egi.eu`,
/// the project EGI's image synchronisation shares it with.
pub async fn glance_images(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(project) = scope(&state, &headers).await else {
        return unauthorized();
    };
    let mut listing = fixture(GLANCE_IMAGES);
    if let Some(images) = listing["images"].as_array_mut() {
        images.retain(|image| image["visibility"] == "public" || project == "vo.access.egi.eu");
        if state.has(Fault::NoImages) && project == crate::profile::OPS_VO {
            images.clear();
        }
    }
    Json(listing).into_response()
}

pub async fn neutron_networks(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers).await {
        return unauthorized();
    }
    Json(json!({"networks": [{"id": "net-public", "name": "public", "router:external": true, "status": "ACTIVE"}]}))
        .into_response()
}

/// Values of the GOCDB fixture that are replaced with the reference site's own: the host's
/// address and the Host DN, which must match `localhost` and the subject of the site's
/// certificate (`CN=localhost`).
const FIXTURE_HOST_IP: &str = "<HOST_IP>192.0.2.10</HOST_IP>";
const FIXTURE_HOST_IPV6: &str = "<HOST_IPV6>2001:db8::10</HOST_IPV6>";
const FIXTURE_HOST_DN: &str = "<HOSTDN>/C=XX/O=Example/CN=keystone.cloud.example.org</HOSTDN>";

/// The VO of the GLUE fixture's first share, published here as the reference site's first VO.
const FIXTURE_VO: &str = "vo.example.org";

/// `GET /gocdbpi/public/?method=get_site|get_service_endpoint&sitename=…`.
pub async fn gocdb(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let host = state
        .base
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap_or("localhost")
        .to_owned();
    let keystone = if state.has(Fault::GocdbWrongUrl) {
        "https://keystone.old-name.example.org:5000/v3".to_owned()
    } else {
        format!("{}/v3", state.base)
    };
    let blank = if state.has(Fault::GocdbUntrimmed) {
        " "
    } else {
        ""
    };
    let body = match query.get("method").map(String::as_str) {
        Some("get_site") => GOCDB_SITE.replace(FIXTURE_SITE, SITE_NAME),
        Some("get_service_endpoint") | Some("get_service") => GOCDB_ENDPOINT
            .replace(FIXTURE_SITE, SITE_NAME)
            .replace(FIXTURE_KEYSTONE, &keystone)
            .replace(
                FIXTURE_HOST_IP,
                &format!("<HOST_IP>127.0.0.1{blank}</HOST_IP>"),
            )
            .replace(&format!("    {FIXTURE_HOST_IPV6}\n"), "")
            .replace(
                FIXTURE_HOST_DN,
                &format!("<HOSTDN>/CN=localhost{blank}</HOSTDN>"),
            )
            .replace(FIXTURE_HOST, &host),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "<results><error>unknown or missing method</error></results>",
            )
                .into_response();
        }
    };
    let requested_site = query.get("sitename").map(String::as_str);
    let body = if requested_site.is_some_and(|site| site != SITE_NAME) {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<results/>\n".to_owned()
    } else {
        body
    };
    ([("content-type", "application/xml")], body).into_response()
}

/// GLUE2.1 JSON as cloud-info-provider 1.2.0 publishes it, for this site and time.
pub async fn glue(State(state): State<Arc<AppState>>) -> Response {
    let created = if state.has(Fault::GlueExpired) {
        chrono::Utc::now() - chrono::Duration::days(2)
    } else {
        chrono::Utc::now()
    };
    let stamp = created.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    let mut body = GLUE
        .replace(FIXTURE_SITE, SITE_NAME)
        .replace(FIXTURE_KEYSTONE, &format!("{}/v3", state.base))
        .replace(FIXTURE_VO, super::VOS[0]);
    if let Some(start) = body.find("\"CreationTime\": \"") {
        let stamp_start = start + "\"CreationTime\": \"".len();
        if let Some(length) = body[stamp_start..].find('"') {
            let old = body[stamp_start..stamp_start + length].to_owned();
            body = body.replace(&old, &stamp);
        }
    }
    if state.has(Fault::GlueNesting) {
        body = nest_glue(&body);
    }
    ([("content-type", "application/json")], body).into_response()
}

/// Rewrites the document with the nesting errors cloud-info-provider fixed in January 2025: the
/// service's Associations as a list holding the object, and the shares inside a second array.
fn nest_glue(body: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    let service = &mut document["CloudComputingService"][0]["Associations"];
    *service = json!([service.take()]);
    let shares = document["Share"].take();
    document["Share"] = json!([shares]);
    document.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openstack_fixtures_parse() {
        for (name, text) in [
            ("nova version", NOVA_VERSION),
            ("old nova version", NOVA_VERSION_OLD),
            ("limits", NOVA_LIMITS),
            ("flavors", NOVA_FLAVORS),
            ("neutron quota", NEUTRON_QUOTA),
            ("images", GLANCE_IMAGES),
        ] {
            let value: Result<Value, _> = serde_json::from_str(text);
            assert!(value.is_ok(), "{name}: {value:?}");
        }
    }

    #[test]
    fn flavor_fixture_has_private_and_gpu_flavors() {
        let flavors = fixture(NOVA_FLAVORS);
        let names: Vec<&str> = flavors["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(names.contains(&PRIVATE_FLAVOR.0), "{names:?}");
        assert!(names.contains(&GPU_FLAVOR), "{names:?}");
    }
}
