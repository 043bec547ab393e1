//! OpenStack conventions the checks share: building Keystone URLs from however a site registers
//! its endpoint, and reading a service catalog.

use serde_json::Value;
use url::Url;

/// Returns the Keystone root (scheme, host, port and any path prefix such as `/identity`) of a
/// URL given with or without `/v3` or `/v2.0` and trailing slashes.
pub fn keystone_root(url: &str) -> Result<Url, String> {
    let mut parsed =
        Url::parse(url.trim()).map_err(|err| format!("invalid Keystone URL `{url}`: {err}"))?;
    let mut segments: Vec<String> = parsed
        .path_segments()
        .map(|segments| {
            segments
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if segments
        .last()
        .is_some_and(|last| last == "v3" || last == "v2.0")
    {
        segments.pop();
    }
    parsed.set_path(&segments.join("/"));
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed)
}

/// Builds a URL under the Keystone v3 API, e.g. `v3_url(url, "auth/projects")`.
pub fn v3_url(keystone: &str, path: &str) -> Result<String, String> {
    let root = keystone_root(keystone)?;
    let base = root.as_str().trim_end_matches('/');
    Ok(format!("{base}/v3/{}", path.trim_start_matches('/')))
}

/// Builds the OS-FEDERATION authentication URL for an identity provider and protocol.
pub fn federation_auth_url(
    keystone: &str,
    identity_provider: &str,
    protocol: &str,
) -> Result<String, String> {
    v3_url(
        keystone,
        &format!("OS-FEDERATION/identity_providers/{identity_provider}/protocols/{protocol}/auth"),
    )
}

/// Two Keystone URLs name the same service: equal roots after normalisation.
pub fn same_keystone(a: &str, b: &str) -> bool {
    match (keystone_root(a), keystone_root(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str().map(str::to_ascii_lowercase)
                    == b.host_str().map(str::to_ascii_lowercase)
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path().trim_end_matches('/') == b.path().trim_end_matches('/')
        }
        _ => false,
    }
}

/// One endpoint of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    pub service_type: String,
    pub interface: String,
    pub region: String,
    pub url: String,
}

/// Lists every endpoint of a Keystone v3 catalog (the `catalog` array of a token).
pub fn catalog_endpoints(catalog: &Value) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for service in catalog.as_array().into_iter().flatten() {
        let service_type = service["type"].as_str().unwrap_or_default().to_owned();
        for endpoint in service["endpoints"].as_array().into_iter().flatten() {
            out.push(Endpoint {
                service_type: service_type.clone(),
                interface: endpoint["interface"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                region: endpoint["region_id"]
                    .as_str()
                    .or_else(|| endpoint["region"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                url: endpoint["url"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    out
}

/// Returns the public URL of a service type, if the catalog has one, in `region` when given.
/// Identity is found in any region: clients reach Keystone through their auth URL, so one
/// Keystone often serves every region while being registered in one.
pub fn public_url(catalog: &Value, service_type: &str, region: Option<&str>) -> Option<String> {
    let region = region.filter(|_| service_type != "identity");
    catalog_endpoints(catalog)
        .into_iter()
        .find(|e| {
            e.service_type == service_type
                && e.interface == "public"
                && region.is_none_or(|region| e.region == region)
        })
        .map(|e| e.url)
}

/// Explains why [`public_url`] found nothing when `region` filtered out endpoints of the
/// service: names the region and those that have one. Empty when the region is not the cause.
pub fn region_note(catalog: &Value, service_type: &str, region: Option<&str>) -> String {
    let Some(region) = region.filter(|_| service_type != "identity") else {
        return String::new();
    };
    let mut elsewhere: Vec<String> = catalog_endpoints(catalog)
        .into_iter()
        .filter(|e| e.service_type == service_type && e.interface == "public")
        .map(|e| e.region)
        .collect();
    elsewhere.sort();
    elsewhere.dedup();
    if elsewhere.is_empty() {
        return String::new();
    }
    format!(
        " in region {region}, the one keystone.region names (the catalog has one in {})",
        elsewhere.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Registered URL forms seen in GOCDB, each with the auth URL it must give.
    const FORMS: &[(&str, &str)] = &[
        (
            "https://keystone.example.org:5000/v3",
            "https://keystone.example.org:5000/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://keystone.example.org:5000/v3/",
            "https://keystone.example.org:5000/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://keystone.example.org:5000",
            "https://keystone.example.org:5000/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://keystone.example.org:5000/",
            "https://keystone.example.org:5000/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://cloud.example.org/identity/v3",
            "https://cloud.example.org/identity/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://cloud.example.org/identity//",
            "https://cloud.example.org/identity/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
        (
            "https://keystone.example.org:5000/v2.0",
            "https://keystone.example.org:5000/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/openid/auth",
        ),
    ];

    #[test]
    fn federation_url_for_every_registered_form() {
        for (registered, expected) in FORMS {
            let built = federation_auth_url(registered, "egi.eu", "openid").unwrap();
            assert_eq!(&built, expected, "for {registered}");
        }
    }

    #[test]
    fn same_keystone_ignores_version_and_slash() {
        assert!(same_keystone(
            "https://k.example.org:5000/v3/",
            "https://K.example.org:5000"
        ));
        assert!(same_keystone(
            "https://k.example.org/v3",
            "https://k.example.org:443/v3"
        ));
        assert!(!same_keystone(
            "https://k.example.org:5000/v3",
            "http://k.example.org:5000/v3"
        ));
        assert!(!same_keystone(
            "https://k.example.org:5000/v3",
            "https://k.example.org:5001/v3"
        ));
    }

    #[test]
    fn catalog_endpoints_read_region_id() {
        let catalog = serde_json::json!([{"type": "compute", "endpoints": [
            {"interface": "public", "region_id": "R1", "url": "https://nova.example.org:8774/v2.1"}]}]);
        let endpoints = catalog_endpoints(&catalog);
        assert_eq!(endpoints.len(), 1);
        assert_eq!(endpoints[0].region, "R1");
        assert_eq!(
            public_url(&catalog, "compute", None).as_deref(),
            Some("https://nova.example.org:8774/v2.1")
        );
        assert_eq!(
            public_url(&catalog, "compute", Some("R1")).as_deref(),
            Some("https://nova.example.org:8774/v2.1")
        );
        assert_eq!(public_url(&catalog, "compute", Some("R2")), None);
        assert_eq!(
            region_note(&catalog, "compute", Some("R2")),
            " in region R2, the one keystone.region names (the catalog has one in R1)"
        );
        assert_eq!(region_note(&catalog, "image", Some("R2")), "");
        assert_eq!(region_note(&catalog, "compute", None), "");
    }
}
