//! AAI suite: EGI Check-in tokens exchanged at Keystone OS-FEDERATION, the VO and `ops`
//! projects, scoped tokens, and refusal of every token that must not work.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::http::{FormValue, Request};
use crate::openstack;
use crate::secret::Secret;

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "oidc-discovery",
        params: &[],
        run: |ctx| Box::pin(oidc_discovery(ctx)),
    },
    CheckKind {
        name: "oidc-access-token",
        params: &[],
        run: |ctx| Box::pin(oidc_access_token(ctx)),
    },
    CheckKind {
        name: "keystone-federated-auth",
        params: &[],
        run: |ctx| Box::pin(federated_auth(ctx)),
    },
    CheckKind {
        name: "keystone-projects",
        params: &["vos"],
        run: |ctx| Box::pin(projects(ctx)),
    },
    CheckKind {
        name: "keystone-scoped-tokens",
        params: &[],
        run: |ctx| Box::pin(scoped_tokens(ctx)),
    },
    CheckKind {
        name: "refresh-token-lifetime",
        params: &["min_days"],
        run: |ctx| Box::pin(refresh_token_lifetime(ctx)),
    },
    CheckKind {
        name: "keystone-rejects-token",
        params: &["case"],
        run: |ctx| Box::pin(rejects_token(ctx)),
    },
];

/// Keys of values this suite hands to later checks.
pub const ACCESS_TOKEN: &str = "oidc.access_token";
pub const UNSCOPED_TOKEN: &str = "keystone.unscoped_token";
pub const PROJECTS: &str = "keystone.projects";
pub const CATALOG: &str = "keystone.catalog";
const INTROSPECTION_ENDPOINT: &str = "oidc.introspection_endpoint";

/// Shared key of the scoped token for a VO.
pub fn scoped_token_key(vo: &str) -> String {
    format!("keystone.scoped_token.{vo}")
}

fn oidc(ctx: &CheckCtx) -> Result<&crate::profile::OidcSection, Problem> {
    ctx.profile().oidc.as_ref().ok_or_else(|| {
        Problem(
            "the site profile has no [oidc] section (hint: add issuer and client_id)".to_owned(),
        )
    })
}

async fn oidc_discovery(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let oidc = oidc(&ctx)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        oidc.issuer.trim_end_matches('/')
    );
    let response = ctx.send(Request::get(&url)).await?;
    if !response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "{url} answered HTTP {}; the issuer must publish its OpenID discovery document",
            response.status
        )));
    }
    let document = response.json().map_err(Problem)?;
    let issuer = document["issuer"].as_str().unwrap_or_default();
    if issuer != oidc.issuer {
        return Ok(Outcome::fail(format!(
            "the discovery document names issuer `{issuer}`, but the profile expects `{}`; tokens would carry `iss` = `{issuer}`, so Keystone's egi.eu remote_ids and the profile must list exactly that value",
            oidc.issuer
        )));
    }
    let Some(token_endpoint) = document["token_endpoint"].as_str() else {
        return Ok(Outcome::fail(format!(
            "the discovery document at {url} has no token_endpoint"
        )));
    };
    let Some(jwks_uri) = document["jwks_uri"].as_str() else {
        return Ok(Outcome::fail(format!(
            "the discovery document at {url} has no jwks_uri"
        )));
    };
    let jwks = ctx.send(Request::get(jwks_uri)).await?;
    let keys = jwks
        .json()
        .ok()
        .and_then(|v| v["keys"].as_array().map(Vec::len))
        .unwrap_or(0);
    if !jwks.status.is_success() || keys == 0 {
        return Ok(Outcome::fail(format!(
            "the JWKS at {jwks_uri} answered HTTP {} with {keys} key(s); token signatures cannot be verified without keys",
            jwks.status
        )));
    }
    ctx.env
        .shared
        .put_value("oidc.token_endpoint", json!(token_endpoint));
    if let Some(introspection) = document["introspection_endpoint"].as_str() {
        ctx.env
            .shared
            .put_value(INTROSPECTION_ENDPOINT, json!(introspection));
    }
    Ok(Outcome::pass(format!(
        "issuer {issuer} publishes discovery, {keys} signing key(s) and token endpoint {token_endpoint}"
    )))
}

async fn oidc_access_token(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let oidc = oidc(&ctx)?;
    if let Some(source) = &oidc.access_token {
        let token = ctx.env.secret(source).await?;
        let lifetime = jwt_claims(&token)
            .and_then(|claims| claims["exp"].as_i64())
            .map(|exp| exp - ctx.env.now.timestamp());
        ctx.keep_secret(ACCESS_TOKEN, token);
        return Ok(Outcome::pass(match lifetime {
            Some(seconds) => format!(
                "access token from {} is valid for {seconds} s more",
                source.describe()
            ),
            None => format!("access token read from {}", source.describe()),
        }));
    }
    let Some(refresh_source) = &oidc.refresh_token else {
        return Err(Problem(
            "the profile gives neither oidc.refresh_token nor oidc.access_token (hint: add refresh_token = { env = \"NAME\" })"
                .to_owned(),
        ));
    };
    let refresh = ctx.env.secret(refresh_source).await?;
    let token_endpoint = ctx
        .env
        .shared
        .value("oidc.token_endpoint")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{}/token", oidc.issuer.trim_end_matches('/')));
    let mut form = vec![
        (
            "grant_type".to_owned(),
            FormValue::Plain("refresh_token".to_owned()),
        ),
        ("refresh_token".to_owned(), FormValue::Secret(refresh)),
        (
            "client_id".to_owned(),
            FormValue::Plain(oidc.client_id.clone()),
        ),
        ("scope".to_owned(), FormValue::Plain(oidc.scopes.join(" "))),
    ];
    if let Some(source) = &oidc.client_secret {
        form.push((
            "client_secret".to_owned(),
            FormValue::Secret(ctx.env.secret(source).await?),
        ));
    }
    // A refresh grant must not be repeated blindly: some issuers rotate refresh tokens.
    let mut request = Request::post(&token_endpoint).form(form);
    request.retry = false;
    let response = ctx.send(request).await?;
    let body = response.json().unwrap_or(Value::Null);
    if !response.status.is_success() {
        let error = body["error"].as_str().unwrap_or("no error code");
        return Ok(Outcome::fail(format!(
            "the refresh_token grant at {token_endpoint} answered HTTP {} ({error}); check that the refresh token and client are valid for this issuer",
            response.status
        )));
    }
    let Some(access) = body["access_token"].as_str() else {
        return Ok(Outcome::fail(format!(
            "{token_endpoint} answered {} without an access_token",
            response.status
        )));
    };
    let lifetime = body["expires_in"].as_i64().unwrap_or(0);
    ctx.keep_secret(ACCESS_TOKEN, Secret::new(access));
    Ok(Outcome::pass(format!(
        "refresh_token grant at {token_endpoint} returned an access token valid for {lifetime} s"
    )))
}

async fn federated_auth(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let token = ctx.env.shared.secret(ACCESS_TOKEN).ok_or_else(|| {
        Problem("no access token from the issuer (its check did not store one)".to_owned())
    })?;
    let keystone = &ctx.profile().keystone;
    let url = openstack::federation_auth_url(
        &keystone.url,
        &keystone.identity_provider,
        &keystone.protocol,
    )
    .map_err(Problem)?;
    let mut request = Request::post(&url).bearer(&token);
    request.retry = false;
    let response = ctx.send(request).await?;
    match response.status {
        StatusCode::CREATED => {}
        StatusCode::NOT_FOUND => {
            return Ok(Outcome::fail(format!(
                "POST {url} answered 404: federation protocol `{}` is not configured for identity provider `{}` in Keystone",
                keystone.protocol, keystone.identity_provider
            )));
        }
        status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            // Keystone compares the token's issuer with the identity provider's remote_ids. A
            // list without the current issuer (as after Check-in's move to Keycloak) is the
            // usual cause, so the issuer is shown beside the error.
            let issuer = jwt_claims(&token)
                .and_then(|claims| claims["iss"].as_str().map(str::to_owned))
                .unwrap_or_else(|| oidc(&ctx).map(|o| o.issuer.clone()).unwrap_or_default());
            return Ok(Outcome::fail(format!(
                "POST {url} with a valid Check-in token answered HTTP {status} instead of 201: {}. The token's issuer is `{issuer}`: identity provider `{}` must list it exactly in remote_ids (and in any HTTP_OIDC_ISS rule of its mapping), and the mapping must accept the user's entitlements",
                keystone_error(&response.text()),
                keystone.identity_provider
            )));
        }
        status => {
            return Ok(Outcome::fail(format!(
                "POST {url} with a valid Check-in token answered HTTP {status} instead of 201: {}",
                keystone_error(&response.text())
            )));
        }
    }
    let Some(subject) = response.header("x-subject-token") else {
        return Ok(Outcome::fail(format!(
            "POST {url} answered 201 without an X-Subject-Token header"
        )));
    };
    ctx.keep_secret(UNSCOPED_TOKEN, Secret::new(subject));
    let user = response
        .json()
        .ok()
        .and_then(|b| b["token"]["user"]["name"].as_str().map(str::to_owned));
    Ok(Outcome::pass(format!(
        "Keystone issued an unscoped token at {url} for user {}",
        user.unwrap_or_else(|| "(unnamed)".to_owned())
    )))
}

/// Extracts the message of a Keystone error body, or returns the start of the body.
fn keystone_error(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(160).collect())
}

async fn projects(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let token = ctx.env.shared.secret(UNSCOPED_TOKEN).ok_or_else(|| {
        Problem("no unscoped Keystone token (its check did not store one)".to_owned())
    })?;
    let url = openstack::v3_url(&ctx.profile().keystone.url, "auth/projects").map_err(Problem)?;
    let response = ctx
        .send(Request::get(&url).secret_header("x-auth-token", token))
        .await?;
    if !response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "GET {url} answered HTTP {}",
            response.status
        )));
    }
    let body = response.json().map_err(Problem)?;
    let names: Vec<String> = body["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    ctx.env.shared.put_value(PROJECTS, body["projects"].clone());
    let vos = ctx.param_strings("vos", &[]);
    let vos = if vos.is_empty() {
        ctx.profile().site.vos.clone()
    } else {
        vos
    };
    let missing: Vec<String> = vos
        .iter()
        .filter(|vo| {
            !names
                .iter()
                .any(|name| name == ctx.profile().project_for(vo))
        })
        .map(|vo| format!("{vo} (project {})", ctx.profile().project_for(vo)))
        .collect();
    if !missing.is_empty() {
        return Ok(Outcome::fail(format!(
            "the federated user has no project for {}; Keystone lists only [{}]. Map the VO's eduperson_entitlement to a group with a role on that project",
            missing.join(", "),
            names.join(", ")
        )));
    }
    Ok(Outcome::pass(format!(
        "projects for every VO: {}",
        names.join(", ")
    )))
}

async fn scoped_tokens(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let token = ctx.env.shared.secret(UNSCOPED_TOKEN).ok_or_else(|| {
        Problem("no unscoped Keystone token (its check did not store one)".to_owned())
    })?;
    let projects = ctx.env.shared.value(PROJECTS).unwrap_or(Value::Null);
    let url = openstack::v3_url(&ctx.profile().keystone.url, "auth/tokens").map_err(Problem)?;
    let mut scoped = Vec::new();
    for vo in ctx.profile().site.vos.clone() {
        let project_name = ctx.profile().project_for(&vo).to_owned();
        let Some(project_id) = projects
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str() == Some(project_name.as_str()))
            .and_then(|p| p["id"].as_str().map(str::to_owned))
        else {
            return Ok(Outcome::fail(format!(
                "no project named {project_name} for VO {vo}"
            )));
        };
        let body = json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": token.expose()}},
            "scope": {"project": {"id": project_id}}
        }});
        // The body carries the token; it is registered with the redactor, so evidence hides it.
        let response = ctx.send(Request::post(&url).json(body)).await?;
        if response.status != StatusCode::CREATED {
            return Ok(Outcome::fail(format!(
                "scoping to project {project_name} for VO {vo} answered HTTP {}: {}",
                response.status,
                keystone_error(&response.text())
            )));
        }
        let Some(subject) = response.header("x-subject-token") else {
            return Ok(Outcome::fail(format!(
                "scoping to {project_name} gave no X-Subject-Token"
            )));
        };
        ctx.keep_secret(&scoped_token_key(&vo), Secret::new(subject));
        let catalog = response
            .json()
            .map(|b| b["token"]["catalog"].clone())
            .unwrap_or(Value::Null);
        if vo == crate::profile::OPS_VO || ctx.env.shared.value(CATALOG).is_none() {
            ctx.env.shared.put_value(CATALOG, catalog);
        }
        scoped.push(project_name);
    }
    Ok(Outcome::pass(format!(
        "project-scoped tokens for {}",
        scoped.join(", ")
    )))
}

/// Makes a JWT that looks like a Check-in token but is signed by a key the site never saw. A
/// site that accepts it, or one naming another issuer, trusts anyone.
fn forged_token(issuer: &str, now: i64) -> Secret {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = ed25519_pkcs8(&key);
    let claims = json!({
        "iss": issuer,
        "sub": "forged-user@egi.eu",
        "iat": now,
        "exp": now + 3600,
        "eduperson_entitlement": ["urn:mace:egi.eu:group:ops:role=member#aai.egi.eu"],
    });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(&der),
    )
    .unwrap_or_default();
    Secret::new(token)
}

fn ed25519_pkcs8(key: &ed25519_dalek::SigningKey) -> Vec<u8> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    key.to_pkcs8_der()
        .map(|doc| doc.as_bytes().to_vec())
        .unwrap_or_default()
}

/// Claims of a JWT, without verifying it, for reporting lifetimes.
fn jwt_claims(token: &Secret) -> Option<Value> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn rejects_token(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let case = ctx.param_str("case", "");
    let oidc = oidc(&ctx)?;
    let now = ctx.env.now.timestamp();
    let token: Option<Secret> = match case.as_str() {
        "none" => None,
        "garbage" => Some(Secret::new("not-a-token-0123456789abcdef")),
        "forged" => Some(forged_token(&oidc.issuer, now)),
        "other-issuer" => Some(forged_token("https://issuer.invalid/realms/other", now)),
        "no-entitlement" | "expired" => {
            let source = if case == "expired" {
                &oidc.expired_token
            } else {
                &oidc.no_entitlement_token
            };
            match source {
                Some(source) => Some(ctx.env.secret(source).await?),
                None => {
                    return Ok(Outcome::skip(format!(
                        "the profile gives no oidc.{}_token to try",
                        case.replace('-', "_")
                    )));
                }
            }
        }
        other => {
            return Err(Problem(format!(
                "unknown negative case `{other}` in the manifest"
            )));
        }
    };
    if let Some(token) = &token {
        ctx.env.redactor.register(token);
    }
    let keystone = &ctx.profile().keystone;
    let url = openstack::federation_auth_url(
        &keystone.url,
        &keystone.identity_provider,
        &keystone.protocol,
    )
    .map_err(Problem)?;
    let mut request = Request::post(&url);
    if let Some(token) = &token {
        request = request.bearer(token);
    }
    request.retry = false;
    let response = ctx.send(request).await?;
    let described = describe_case(&case);
    if response.status.is_success() {
        return Ok(Outcome::fail(format!(
            "Keystone answered HTTP {} to {described}; it must refuse it (401), or anyone can get a token at this site",
            response.status
        )));
    }
    if response.status.is_server_error() {
        return Err(Problem(format!(
            "Keystone answered HTTP {} to {described}, so refusal cannot be confirmed",
            response.status
        )));
    }
    Ok(Outcome::pass(format!(
        "Keystone refused {described} with HTTP {}",
        response.status
    )))
}

fn describe_case(case: &str) -> &'static str {
    match case {
        "none" => "a request without a token",
        "garbage" => "a garbage token",
        "forged" => "a JWT signed by another key",
        "other-issuer" => "a token from another issuer",
        "expired" => "an expired token",
        "no-entitlement" => "a valid token without the VO entitlement",
        _ => "an invalid token",
    }
}

/// Reads when the profile's refresh token expires: from its `exp` claim when it is a JWT (as
/// Check-in's are), otherwise by introspection at the issuer with the client's credentials.
async fn refresh_token_expiry(ctx: &CheckCtx, refresh: &Secret) -> Result<i64, Problem> {
    if let Some(exp) = jwt_claims(refresh).and_then(|claims| claims["exp"].as_i64()) {
        return Ok(exp);
    }
    let oidc = oidc(ctx)?;
    let endpoint = ctx
        .env
        .shared
        .value(INTROSPECTION_ENDPOINT)
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| {
            Problem("the refresh token is opaque and the issuer publishes no introspection_endpoint, so its expiry is unknown".to_owned())
        })?;
    let mut form = vec![
        ("token".to_owned(), FormValue::Secret(refresh.clone())),
        (
            "token_type_hint".to_owned(),
            FormValue::Plain("refresh_token".to_owned()),
        ),
        (
            "client_id".to_owned(),
            FormValue::Plain(oidc.client_id.clone()),
        ),
    ];
    if let Some(source) = &oidc.client_secret {
        form.push((
            "client_secret".to_owned(),
            FormValue::Secret(ctx.env.secret(source).await?),
        ));
    }
    let response = ctx.send(Request::post(&endpoint).form(form)).await?;
    let body = response.json().map_err(Problem)?;
    if !response.status.is_success() || body["active"] != Value::Bool(true) {
        return Err(Problem(format!(
            "introspection at {endpoint} answered HTTP {} with active={}; the refresh token may be revoked",
            response.status, body["active"]
        )));
    }
    body["exp"].as_i64().ok_or_else(|| {
        Problem(format!(
            "introspection at {endpoint} gives no exp for the refresh token"
        ))
    })
}

async fn refresh_token_lifetime(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let min_days = ctx.param_i64("min_days", 15);
    let Some(source) = oidc(&ctx)?.refresh_token.clone() else {
        return Ok(Outcome::skip(
            "the profile uses an access token, not a refresh token",
        ));
    };
    let refresh = ctx.env.secret(&source).await?;
    let expiry = refresh_token_expiry(&ctx, &refresh).await?;
    let days = (expiry - ctx.env.now.timestamp()) as f64 / 86_400.0;
    let date = chrono::DateTime::from_timestamp(expiry, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| expiry.to_string());
    if days < min_days as f64 {
        return Ok(Outcome::fail(format!(
            "the refresh token from {} expires on {date}, in {days:.1} days, under the {min_days} days EGI's monitoring requires; create a new refresh token before it lapses",
            source.describe()
        )));
    }
    Ok(Outcome::pass(format!(
        "the refresh token expires on {date}, in {days:.1} days (at least {min_days} required)"
    )))
}
