//! Nova, Glance, Neutron, GOCDB PI and GLUE2.1 answers of the reference site.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, Fault, SITE_NAME};

/// Names in the GOCDB and GLUE fixtures that are replaced with the reference site's own.
const FIXTURE_SITE: &str = "EXAMPLE-FEDCLOUD-SITE";
const FIXTURE_KEYSTONE: &str = "https://keystone.cloud.example.org:5000/v3";
const FIXTURE_HOST: &str = "keystone.cloud.example.org";

const GOCDB_SITE: &str = include_str!("../../fixtures/gocdb/pi-get_site.xml");
const GOCDB_ENDPOINT: &str = include_str!("../../fixtures/gocdb/pi-get_service_endpoint.xml");
const GLUE: &str = include_str!("../../fixtures/cloud-info-provider-1.2.0/glue21.json");

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|id| {
            state
                .tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(id)
                .cloned()
        })
        .is_some_and(|token| token.scope.is_some())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": 401, "message": "The request you have made requires authentication."}})),
    )
        .into_response()
}

pub async fn nova_version(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"version": {
        "id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2.1/", state.base)}]
    }}))
}

pub async fn nova_limits(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    Json(json!({"limits": {"rate": [], "absolute": {
        "maxTotalCores": 40, "totalCoresUsed": 4,
        "maxTotalRAMSize": 102400, "totalRAMUsed": 8192,
        "maxTotalInstances": 20, "totalInstancesUsed": 2,
        "maxTotalFloatingIps": 5, "totalFloatingIpsUsed": 1,
        "maxServerMeta": 128, "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10,
        "maxSecurityGroups": 10, "maxSecurityGroupRules": 20, "totalSecurityGroupsUsed": 1,
        "totalServerGroupsUsed": 0
    }}}))
    .into_response()
}

pub async fn nova_flavors(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let flavor = |id: &str, name: &str, vcpus: u32, ram: u32, disk: u32, public: bool| {
        json!({"id": id, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk, "OS-FLV-EXT-DATA:ephemeral": 0,
               "swap": "", "rxtx_factor": 1.0, "os-flavor-access:is_public": public, "OS-FLV-DISABLED:disabled": false,
               "extra_specs": {}})
    };
    let flavors = if state.has(Fault::SmallFlavors) {
        vec![
            flavor("1", "m1.tiny", 1, 512, 1, true),
            flavor("2", "m1.nano", 1, 256, 4, true),
        ]
    } else {
        vec![
            flavor("1", "m1.tiny", 1, 512, 1, true),
            flavor("2", "m1.small", 1, 2048, 20, true),
            flavor("3", "m1.medium", 2, 4096, 40, true),
            flavor("4", "m1.large", 4, 8192, 80, true),
        ]
    };
    Json(json!({"flavors": flavors})).into_response()
}

pub async fn glance_images(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    Json(json!({"images": [
        {"id": "6c8c8b38-0000-4000-8000-000000000001", "name": "EGI Ubuntu 22.04", "status": "active",
         "visibility": "public", "disk_format": "qcow2", "min_disk": 0, "min_ram": 0,
         "ad:appid": "1234", "os_distro": "ubuntu", "os_version": "22.04"}
    ], "schema": "/v2/schemas/images", "first": "/v2/images"}))
    .into_response()
}

pub async fn neutron_networks(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    Json(json!({"networks": [{"id": "net-public", "name": "public", "router:external": true, "status": "ACTIVE"}]}))
        .into_response()
}

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
    let body = match query.get("method").map(String::as_str) {
        Some("get_site") => GOCDB_SITE.replace(FIXTURE_SITE, SITE_NAME),
        Some("get_service_endpoint") | Some("get_service") => GOCDB_ENDPOINT
            .replace(FIXTURE_SITE, SITE_NAME)
            .replace(FIXTURE_KEYSTONE, &keystone)
            .replace(FIXTURE_HOST, &host),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "<results><error>unknown or missing method</error></results>",
            )
                .into_response();
        }
    };
    let wanted_site = query.get("sitename").map(String::as_str);
    let body = if wanted_site.is_some_and(|site| site != SITE_NAME) {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<results/>\n".to_owned()
    } else {
        body
    };
    ([("content-type", "application/xml")], body).into_response()
}

/// GLUE2.1 JSON as cloud-info-provider 1.2.0 publishes it, for this site and time.
pub async fn glue(State(state): State<Arc<AppState>>) -> Response {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string();
    let mut body = GLUE
        .replace(FIXTURE_SITE, SITE_NAME)
        .replace(FIXTURE_KEYSTONE, &format!("{}/v3", state.base));
    if let Some(start) = body.find("\"CreationTime\": \"") {
        let stamp_start = start + "\"CreationTime\": \"".len();
        if let Some(length) = body[stamp_start..].find('"') {
            let old = body[stamp_start..stamp_start + length].to_owned();
            body = body.replace(&old, &now);
        }
    }
    ([("content-type", "application/json")], body).into_response()
}
