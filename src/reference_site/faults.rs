//! Named faults of the reference site, each making one thing wrong so a test can prove that the
//! right check fails for the right reason.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// A fault to switch on with `reference-site --fault NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Fault {
    /// Every response is delayed by 3 seconds.
    Slow,
    /// The Keystone version document is 12 MiB.
    OversizedBody,
    /// The Keystone version document is truncated JSON.
    InvalidJson,
    /// Keystone returns 500 to federated authentication.
    Keystone500,
    /// Keystone accepts a token signed by any key.
    AcceptForgedToken,
    /// The issuer's discovery document names another issuer.
    WrongIssuer,
    /// The `ops` project is missing from the user's projects.
    NoOpsProject,
    /// The newest accounting record is 40 days old.
    StaleAccounting,
    /// GOCDB registers a different Keystone URL.
    GocdbWrongUrl,
    /// The catalog's public endpoints are plain http.
    HttpEndpoints,
    /// The first two requests for the Keystone version document get 503.
    Flaky,
    /// No flavor is large enough for the monitoring VM: every root disk is at most 4 GB.
    SmallFlavors,
    /// Nova's instance quota is 1 in every project, below the profile's minimum of 2.
    SmallQuota,
    /// Nova reports Liberty's maximum microversion (2.12), older than the accepted Mitaka.
    OldRelease,
    /// Every answer's Date header is 90 seconds ahead of the host clock.
    ClockSkew,
    /// The GPU flavor has a PCI passthrough alias but none of EGI's `Accelerator:*` properties.
    GpuFlavorWithoutProperties,
    /// Glance lists no image to the ops project.
    NoImages,
    /// GOCDB's HOSTDN and HOST_IP end in a blank, as rows stored before GOCDB trimmed input do.
    GocdbUntrimmed,
    /// The GLUE2.1 document nests shares in a second array and writes the service's
    /// Associations as a list.
    GlueNesting,
    /// The GLUE2.1 document was made two days ago and has expired.
    GlueExpired,
    /// SSM's certificate names `ssm.other-site.example.org`, not the accounting Host DN that
    /// GOCDB registers.
    ForeignAccountingCertificate,
    /// The catalog also has public compute, image and network endpoints in a second region,
    /// `RegionTwo`, listed after `RegionOne`'s.
    SecondRegion,
}

/// Delay of the `slow` fault.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);

/// How far ahead the `clock-skew` fault sets the Date header, in seconds.
pub const CLOCK_SKEW_SECONDS: i64 = 90;

/// Size of the `oversized-body` response, above the harness's 8 MiB body cap.
const OVERSIZED_BYTES: usize = 12 * 1024 * 1024;

/// Middleware applying the faults that concern every request or the version document.
pub async fn apply(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    if state.has(Fault::Slow) {
        tokio::time::sleep(SLOW_DELAY).await;
    }
    let path = request.uri().path().trim_end_matches('/').to_owned();
    if path == "/v3" {
        if state.has(Fault::Flaky) && state.flaky_count.fetch_add(1, Ordering::SeqCst) < 2 {
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
        }
        if state.has(Fault::OversizedBody) {
            let body = format!("{{\"padding\": \"{}\"}}", "x".repeat(OVERSIZED_BYTES));
            return Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_default();
        }
        if state.has(Fault::InvalidJson) {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Body::from("{\"version\": {\"id\": \"v3.14\", \"status\": "))
                .unwrap_or_default();
        }
    }
    let mut response = next.run(request).await;
    if state.has(Fault::ClockSkew) {
        let ahead = chrono::Utc::now() + chrono::Duration::seconds(CLOCK_SKEW_SECONDS);
        let date = ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        if let Ok(value) = axum::http::HeaderValue::from_str(&date) {
            response
                .headers_mut()
                .insert(axum::http::header::DATE, value);
        }
    }
    response
}
