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
