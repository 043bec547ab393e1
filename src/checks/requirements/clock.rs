//! The site's clocks, read from the `Date` header of each public endpoint. Keystone rejects
//! tokens outside their validity window and accounting records carry the site's timestamps, so
//! a skewed clock breaks both.

use chrono::{DateTime, Duration, Utc};

use super::super::aai::CATALOG;
use super::super::{CheckCtx, Outcome, Problem};
use crate::http::Request;
use crate::openstack;

/// One endpoint's clock, measured.
#[derive(Debug, Clone, serde::Serialize)]
struct Reading {
    url: String,
    date: Option<String>,
    /// Seconds the endpoint's clock is ahead of the host's (negative: behind).
    skew_seconds: Option<i64>,
}

pub async fn endpoint_clock(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let max_skew = ctx.param_i64("max_skew_seconds", 60);
    let mut readings = Vec::new();
    for url in endpoint_urls(&ctx) {
        let before = Utc::now();
        // HEAD, because only the headers matter and a large body would only add delay.
        let response = ctx.send(Request::new(reqwest::Method::HEAD, &url)).await?;
        let after = Utc::now();
        let date = response.header("date").map(str::to_owned);
        let skew_seconds = date
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc2822(text).ok())
            .map(|date| skew(date.with_timezone(&Utc), before, after).num_seconds());
        readings.push(Reading {
            url,
            date,
            skew_seconds,
        });
    }
    ctx.evidence.add_json(
        "clock-readings.json",
        &serde_json::to_value(&readings).unwrap_or_default(),
    );

    let measured: Vec<(&Reading, i64)> = readings
        .iter()
        .filter_map(|r| r.skew_seconds.map(|s| (r, s)))
        .collect();
    let Some((worst, worst_skew)) = measured.iter().max_by_key(|(_, s)| s.abs()) else {
        return Err(Problem(format!(
            "none of the {} endpoints sent a valid Date header, so their clocks cannot be read",
            readings.len()
        )));
    };
    let undated: Vec<&str> = readings
        .iter()
        .filter(|r| r.skew_seconds.is_none())
        .map(|r| r.url.as_str())
        .collect();
    let undated_note = if undated.is_empty() {
        String::new()
    } else {
        format!("; no valid Date header from {}", undated.join(", "))
    };
    if worst_skew.abs() > max_skew {
        return Ok(Outcome::fail(format!(
            "the clock of {} is {} the host's clock by {} s, more than the {max_skew} s allowed{undated_note}; run an NTP client (chrony) on the site's hosts",
            worst.url,
            direction(*worst_skew),
            worst_skew.abs()
        )));
    }
    Ok(Outcome::pass(format!(
        "{} endpoint(s) within {max_skew} s of the host's clock; the largest skew is {} s ({}){undated_note}",
        measured.len(),
        worst_skew,
        worst.url
    )))
}

fn direction(skew: i64) -> &'static str {
    if skew > 0 { "ahead of" } else { "behind" }
}

/// The Keystone URL and every distinct public catalog URL.
fn endpoint_urls(ctx: &CheckCtx) -> Vec<String> {
    let mut urls = vec![ctx.profile().keystone.url.clone()];
    let catalog = ctx.env.shared.value(CATALOG).unwrap_or_default();
    for endpoint in openstack::catalog_endpoints(&catalog) {
        if endpoint.interface == "public" && !urls.contains(&endpoint.url) {
            urls.push(endpoint.url);
        }
    }
    urls
}

/// How far `date` lies outside the host's interval `[before, after]`. A Date header has
/// whole seconds, so the server's clock read anywhere in `[date, date + 1 s)`, and only time
/// outside that second counts as skew.
fn skew(date: DateTime<Utc>, before: DateTime<Utc>, after: DateTime<Utc>) -> Duration {
    let date_end = date + Duration::seconds(1);
    if date > after {
        date - after
    } else if date_end < before {
        date_end - before
    } else {
        Duration::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
            + Duration::milliseconds(millis)
    }

    #[test]
    fn date_within_request_is_no_skew() {
        assert_eq!(skew(at(0, 0), at(0, 200), at(0, 900)), Duration::zero());
        // The header truncates 10.9 s to 10 s; that is not skew.
        assert_eq!(skew(at(10, 0), at(10, 900), at(11, 100)), Duration::zero());
    }

    #[test]
    fn date_ahead_counts_from_response() {
        assert_eq!(skew(at(90, 0), at(0, 0), at(0, 500)).num_seconds(), 89);
        assert_eq!(skew(at(7, 0), at(0, 0), at(1, 0)).num_seconds(), 6);
    }

    #[test]
    fn date_behind_counts_from_request() {
        assert_eq!(skew(at(-70, 0), at(0, 0), at(0, 300)).num_seconds(), -69);
    }

    #[test]
    fn http_date_parses_as_rfc2822() {
        let date = DateTime::parse_from_rfc2822("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date.timestamp(), 784_111_777);
    }
}
