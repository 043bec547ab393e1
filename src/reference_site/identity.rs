//! Keystone (version document, OS-FEDERATION, projects, scoped tokens, catalog) and the OpenID
//! issuer (discovery, JWKS, refresh_token grant) of the reference site.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::{AppState, Fault, VOS};

/// Lifetime of issued access and Keystone tokens, in seconds.
const TOKEN_LIFETIME: i64 = 3600;

/// Grants of an issued Keystone token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub user: String,
    /// Projects (VO names) the user may scope to.
    pub projects: Vec<String>,
    /// Set for a project-scoped token.
    pub scope: Option<String>,
}

/// The issuer's signing key (EdDSA), with its public half for JWKS and verification.
pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_x: String,
}

impl Signer {
    pub fn generate() -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key
            .to_pkcs8_der()
            .expect("a fresh ed25519 key encodes as PKCS#8");
        let public = key.verifying_key().to_bytes();
        let public_x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
        Signer {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            public_x,
        }
    }

    /// Signs `claims` as a JWT with key id `ref-1`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("ref-1".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}

/// Genuine tokens of the issuer that Keystone must still refuse.
#[derive(Debug, Clone, Copy)]
pub enum NegativeToken {
    /// A user who is in no supported VO.
    NoEntitlement,
    /// A member of every VO whose token expired ten minutes ago.
    Expired,
}

/// Signs a token for the negative flow with the issuer's real key.
pub fn negative_token(signer: &Signer, issuer: &str, kind: NegativeToken) -> String {
    let issued = now();
    let claims = match kind {
        NegativeToken::NoEntitlement => json!({
            "iss": issuer, "sub": "no-vo-user@egi.eu", "iat": issued, "exp": issued + TOKEN_LIFETIME,
            "eduperson_entitlement": ["urn:mace:egi.eu:group:vo.other.example.org:role=member#aai.egi.eu"],
        }),
        NegativeToken::Expired => json!({
            "iss": issuer, "sub": "3f5c6a1e-reference-user@egi.eu", "iat": issued - 4200, "exp": issued - 600,
            "eduperson_entitlement": VOS.iter().map(|vo| entitlement(vo)).collect::<Vec<_>>(),
        }),
    };
    signer.sign(&claims)
}

/// Returns the entitlement Check-in gives a member of `vo`.
pub fn entitlement(vo: &str) -> String {
    format!("urn:mace:egi.eu:group:{vo}:role=member#aai.egi.eu")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn new_token_id() -> String {
    format!("gAAAAAB{}", uuid::Uuid::new_v4().simple())
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "title": status.canonical_reason()}});
    (status, Json(body)).into_response()
}

pub async fn versions(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"versions": {"values": [version_body(&state)]}}))
}

pub async fn version_v3(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"version": version_body(&state)}))
}

fn version_body(state: &AppState) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/v3/", state.base)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
    })
}

/// `POST /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`: validates the
/// Bearer access token as mod_auth_openidc would, then maps entitlements to projects.
pub async fn federated_auth(
    State(state): State<Arc<AppState>>,
    Path((idp, protocol)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if idp != "egi.eu" || protocol != "openid" {
        return error(
            StatusCode::NOT_FOUND,
            "Could not find Identity Provider or protocol.",
        );
    }
    if state.has(Fault::Keystone500) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error prevented the server from fulfilling your request.",
        );
    }
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "No bearer token found in the request",
        );
    };
    let claims = match validate_access_token(&state, token) {
        Ok(claims) => claims,
        Err(reason) => return error(StatusCode::UNAUTHORIZED, &reason),
    };
    let entitlements: Vec<String> = claims["eduperson_entitlement"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut projects: Vec<String> = VOS
        .iter()
        .filter(|vo| entitlements.contains(&entitlement(vo)))
        .map(|vo| (*vo).to_owned())
        .collect();
    if state.has(Fault::NoOpsProject) {
        projects.retain(|project| project != "ops");
    }
    if projects.is_empty() {
        return error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    }
    let user = claims["sub"].as_str().unwrap_or("unknown").to_owned();
    let id = new_token_id();
    state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            IssuedToken {
                user: user.clone(),
                projects,
                scope: None,
            },
        );
    let body = json!({"token": {
        "methods": ["mapped"],
        "user": {"id": user, "name": user, "domain": {"id": "Federated", "name": "Federated"},
                 "OS-FEDERATION": {"identity_provider": {"id": "egi.eu"}, "protocol": {"id": "openid"}}},
        "issued_at": chrono::Utc::now().to_rfc3339(),
        "expires_at": (chrono::Utc::now() + chrono::Duration::seconds(TOKEN_LIFETIME)).to_rfc3339(),
    }});
    (StatusCode::CREATED, [("x-subject-token", id)], Json(body)).into_response()
}

fn validate_access_token(state: &AppState, token: &str) -> Result<Value, String> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_aud = false;
    validation.set_issuer(&[&state.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    if state.has(Fault::AcceptForgedToken) {
        // The fault models a site that trusts any JWT that looks right.
        validation.insecure_disable_signature_validation();
    }
    jsonwebtoken::decode::<Value>(token, &state.signer.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|err| format!("JWT token could not be validated: {err}"))
}

fn token_from(state: &AppState, headers: &HeaderMap) -> Option<IssuedToken> {
    let id = headers.get("x-auth-token")?.to_str().ok()?;
    state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
}

fn project_json(name: &str) -> Value {
    json!({"id": format!("{:x}", stable_id(name)), "name": name, "domain_id": "default", "enabled": true})
}

/// Derives a stable project id from the name, so ids match across calls.
fn stable_id(name: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16]))
}

pub async fn auth_projects(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = token_from(&state, &headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    };
    let projects: Vec<Value> = token.projects.iter().map(|p| project_json(p)).collect();
    Json(json!({"projects": projects, "links": {"self": format!("{}/v3/auth/projects", state.base)}})).into_response()
}

/// `POST /v3/auth/tokens` with the `token` method and a project scope.
pub async fn scoped_token(State(state): State<Arc<AppState>>, Json(body): Json<Value>) -> Response {
    let Some(token_id) = body
        .pointer("/auth/identity/token/id")
        .and_then(Value::as_str)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "Expecting to find token in identity.",
        );
    };
    let Some(token) = state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token_id)
        .cloned()
    else {
        return error(StatusCode::NOT_FOUND, "Could not find token.");
    };
    let requested_id = body
        .pointer("/auth/scope/project/id")
        .and_then(Value::as_str);
    let requested_name = body
        .pointer("/auth/scope/project/name")
        .and_then(Value::as_str);
    let Some(project) = token.projects.iter().find(|name| {
        Some(name.as_str()) == requested_name
            || requested_id == Some(format!("{:x}", stable_id(name)).as_str())
    }) else {
        return error(StatusCode::UNAUTHORIZED, "User has no access to project");
    };
    let id = new_token_id();
    state
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            IssuedToken {
                scope: Some(project.clone()),
                ..token.clone()
            },
        );
    let body = json!({"token": {
        "methods": ["token"],
        "project": project_json(project),
        "user": {"id": token.user, "name": token.user},
        "roles": [{"name": "member"}],
        "catalog": catalog(&state),
        "expires_at": (chrono::Utc::now() + chrono::Duration::seconds(TOKEN_LIFETIME)).to_rfc3339(),
    }});
    (StatusCode::CREATED, [("x-subject-token", id)], Json(body)).into_response()
}

pub async fn auth_catalog(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match token_from(&state, &headers) {
        Some(token) if token.scope.is_some() => {
            Json(json!({"catalog": catalog(&state)})).into_response()
        }
        _ => error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        ),
    }
}

/// Builds the service catalog: identity, compute, image, network, object-store and
/// block-storage, each with three interfaces.
pub fn catalog(state: &AppState) -> Value {
    let public_base = if state.has(Fault::HttpEndpoints) {
        state.base.replacen("https://", "http://", 1)
    } else {
        state.base.clone()
    };
    let entry = |kind: &str, name: &str, path: &str| {
        json!({
            "type": kind,
            "name": name,
            "id": format!("{:x}", stable_id(name)),
            "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": format!("{public_base}{path}")},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": format!("http://10.0.0.10:5000{path}")},
                {"interface": "admin", "region": "RegionOne", "region_id": "RegionOne", "url": format!("http://10.0.0.10:5000{path}")}
            ]
        })
    };
    let mut services = json!([
        entry("identity", "keystone", "/v3"),
        entry("compute", "nova", "/compute/v2.1"),
        entry("image", "glance", "/image"),
        entry("network", "neutron", "/network"),
        entry("object-store", "swift", "/object-store/v1"),
        entry("block-storage", "cinder", "/volume/v3"),
    ]);
    if state.has(Fault::SecondRegion) {
        for service in services.as_array_mut().into_iter().flatten() {
            let kind = service["type"].as_str().unwrap_or_default().to_owned();
            let Some(url) = ["compute", "image", "network"]
                .contains(&kind.as_str())
                .then(|| service["endpoints"][0]["url"].clone())
            else {
                continue;
            };
            if let Some(endpoints) = service["endpoints"].as_array_mut() {
                endpoints.push(json!({"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": url}));
            }
        }
    }
    services
}

pub async fn oidc_discovery(State(state): State<Arc<AppState>>) -> Json<Value> {
    let issuer = if state.has(Fault::WrongIssuer) {
        format!("{}/other-realm", state.base)
    } else {
        state.issuer.clone()
    };
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", state.issuer),
        "token_endpoint": format!("{}/token", state.issuer),
        "introspection_endpoint": format!("{}/token/introspect", state.issuer),
        "grant_types_supported": ["refresh_token", "client_credentials", "authorization_code"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "profile", "email", "eduperson_entitlement"],
    }))
}

pub async fn oidc_jwks(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": state.signer.public_x, "kid": "ref-1", "alg": "EdDSA", "use": "sig"}]}),
    )
}

/// `POST /oidc/token` with `grant_type=refresh_token`.
pub async fn oidc_token(
    State(state): State<Arc<AppState>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let oauth_error = |code: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": code, "error_description": description})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return oauth_error(
            "unsupported_grant_type",
            "only refresh_token is supported here",
        );
    }
    if form.get("client_id") != Some(&state.client_id)
        || form.get("client_secret") != Some(&state.client_secret)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("refresh_token") != Some(&state.refresh_token) {
        return oauth_error("invalid_grant", "refresh token is invalid or expired");
    }
    let issued = now();
    let claims = json!({
        "iss": state.issuer,
        "sub": "3f5c6a1e-reference-user@egi.eu",
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME,
        "scope": "openid profile email eduperson_entitlement",
        "eduperson_entitlement": VOS.iter().map(|vo| entitlement(vo)).collect::<Vec<_>>(),
    });
    Json(json!({
        "access_token": state.signer.sign(&claims),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": "openid profile email eduperson_entitlement",
    }))
    .into_response()
}

/// Lifetime of the reference site's refresh token, as Check-in's are a year, in seconds.
const REFRESH_TOKEN_LIFETIME: i64 = 365 * 86_400;

/// `POST /oidc/token/introspect`: reports the refresh token as active with its expiry.
pub async fn oidc_introspect(
    State(state): State<Arc<AppState>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if form.get("client_id") != Some(&state.client_id)
        || form.get("client_secret") != Some(&state.client_secret)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("token") != Some(&state.refresh_token) {
        return Json(json!({"active": false})).into_response();
    }
    Json(json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": state.client_id,
        "exp": state.started + REFRESH_TOKEN_LIFETIME,
    }))
    .into_response()
}
