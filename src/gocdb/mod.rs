//! GOCDB programmatic interface (PI) answers: fetching them and reading `get_site` and
//! `get_service_endpoint` XML.
//!
//! Values are trimmed when read, because GOCDB stored form input untrimmed for years and old
//! entries still carry stray blanks; [`ServiceEndpoint::untrimmed`] lists the fields that did.
//! [`rules`] turns a registration into findings for a site admin, and [`dn`] converts GOCDB's
//! slash-form Host DN to the RFC 2253 form a certificate subject is compared in.

pub mod dn;
pub mod rules;

use quick_xml::Reader;
use quick_xml::events::Event;

/// A minimal XML element tree, enough for PI answers.
#[derive(Debug, Default, Clone)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The raw text of a child element.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Parses an XML document into its root element; the error names the byte position.
pub fn parse_xml(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => stack.push(Element {
                name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                ..Element::default()
            }),
            Ok(Event::Empty(start)) => {
                let element = Element {
                    name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                    ..Element::default()
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(element);
                }
            }
            Ok(Event::Text(text)) => {
                let decoded = text.xml_content().map_err(|err| {
                    format!("invalid text at byte {}: {err}", reader.buffer_position())
                })?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Ok(Event::GeneralRef(reference)) => {
                let name = String::from_utf8_lossy(reference.as_ref()).into_owned();
                let resolved = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(resolved);
                }
            }
            Ok(Event::CData(data)) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Ok(Event::End(_)) => {
                let element = stack.pop().unwrap_or_default();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Err("unbalanced end tag".to_owned()),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(err) => {
                return Err(format!(
                    "invalid XML at byte {}: {err}",
                    reader.buffer_position()
                ));
            }
        }
    }
    if stack.len() != 1 {
        return Err("the document ends inside an element".to_owned());
    }
    let document = stack.pop().unwrap_or_default();
    document
        .children
        .into_iter()
        .next()
        .ok_or_else(|| "the document is empty".to_owned())
}

/// One `SERVICE_ENDPOINT` of a `get_service_endpoint` answer, values trimmed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceEndpoint {
    pub primary_key: String,
    pub hostname: String,
    pub service_type: String,
    pub site: String,
    pub url: String,
    pub endpoint_urls: Vec<String>,
    pub host_dn: String,
    pub host_ip: String,
    pub host_ipv6: String,
    pub in_production: bool,
    pub monitored: bool,
    /// `SCOPES/SCOPE` tags such as `EGI` and `FedCloud`.
    pub scopes: Vec<String>,
    /// Values of the `Region` extension of the service's ENDPOINTS, in document order.
    pub regions: Vec<String>,
    /// Fields whose raw value had surrounding whitespace.
    pub untrimmed: Vec<String>,
}

impl ServiceEndpoint {
    /// Every URL the registration gives: the service URL and its ENDPOINTS' URLs.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url.as_str())
            .chain(self.endpoint_urls.iter().map(String::as_str))
            .filter(|url| !url.is_empty())
    }
}

/// Reads every `SERVICE_ENDPOINT` of a `get_service_endpoint` (or `get_service`) answer.
pub fn service_endpoints(xml: &str) -> Result<Vec<ServiceEndpoint>, String> {
    let root = parse_xml(xml)?;
    if root.name != "results" {
        return Err(format!(
            "the root element is <{}>, not <results>",
            root.name
        ));
    }
    let mut out = Vec::new();
    for element in root.children_named("SERVICE_ENDPOINT") {
        let mut untrimmed = Vec::new();
        let mut field = |name: &str| {
            let raw = element.child_text(name).unwrap_or_default();
            if is_untrimmed(raw) {
                untrimmed.push(name.to_owned());
            }
            raw.trim().to_owned()
        };
        let mut endpoint = ServiceEndpoint {
            primary_key: field("PRIMARY_KEY"),
            hostname: field("HOSTNAME"),
            service_type: field("SERVICE_TYPE"),
            site: field("SITENAME"),
            url: field("URL"),
            host_dn: field("HOSTDN"),
            host_ip: field("HOST_IP"),
            host_ipv6: field("HOST_IPV6"),
            in_production: field("IN_PRODUCTION") == "Y",
            monitored: field("NODE_MONITORED") == "Y",
            endpoint_urls: endpoint_elements(element)
                .filter_map(|endpoint| endpoint.child_text("URL"))
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty())
                .collect(),
            scopes: element
                .child("SCOPES")
                .into_iter()
                .flat_map(|scopes| scopes.children_named("SCOPE"))
                .map(|scope| scope.text.trim().to_owned())
                .filter(|scope| !scope.is_empty())
                .collect(),
            regions: endpoint_elements(element)
                .filter_map(|endpoint| endpoint.child("EXTENSIONS"))
                .flat_map(|extensions| extensions.children_named("EXTENSION"))
                .filter(|extension| {
                    extension
                        .child_text("KEY")
                        .is_some_and(|key| key.trim().eq_ignore_ascii_case("region"))
                })
                .filter_map(|extension| extension.child_text("VALUE"))
                .map(|value| value.trim().to_owned())
                .collect(),
            untrimmed: Vec::new(),
        };
        // Endpoint URLs are compared after trimming too, so their blanks count as well.
        untrimmed.extend(
            endpoint_elements(element)
                .filter_map(|endpoint| endpoint.child_text("URL"))
                .filter(|url| is_untrimmed(url))
                .map(|_| "ENDPOINTS/ENDPOINT/URL".to_owned()),
        );
        untrimmed.dedup();
        endpoint.untrimmed = untrimmed;
        out.push(endpoint);
    }
    Ok(out)
}

/// Tells whether a value has surrounding whitespace. A blank-only value counts as empty.
fn is_untrimmed(raw: &str) -> bool {
    let trimmed = raw.trim();
    trimmed.len() != raw.len() && !trimmed.is_empty()
}

fn endpoint_elements(service: &Element) -> impl Iterator<Item = &Element> {
    service
        .child("ENDPOINTS")
        .into_iter()
        .flat_map(|endpoints| endpoints.children_named("ENDPOINT"))
}

/// The `get_site` fields the suites use, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Site {
    pub name: String,
    pub certification_status: String,
    pub production_infrastructure: String,
    /// Fields whose raw value had surrounding whitespace.
    pub untrimmed: Vec<String>,
}

/// Reads every `SITE` of a `get_site` response.
pub fn sites(xml: &str) -> Result<Vec<Site>, String> {
    let root = parse_xml(xml)?;
    if root.name != "results" {
        return Err(format!(
            "the root element is <{}>, not <results>",
            root.name
        ));
    }
    let mut out = Vec::new();
    for element in root.children_named("SITE") {
        let mut untrimmed = Vec::new();
        for child in &element.children {
            if child.children.is_empty() && is_untrimmed(&child.text) {
                untrimmed.push(child.name.clone());
            }
        }
        let field = |name: &str| {
            element
                .child_text(name)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        out.push(Site {
            name: field("SHORT_NAME"),
            certification_status: field("CERTIFICATION_STATUS"),
            production_infrastructure: field("PRODUCTION_INFRASTRUCTURE"),
            untrimmed,
        });
    }
    Ok(out)
}

/// Reads the `SITE` of a `get_site` answer named `name`.
pub fn site(xml: &str, name: &str) -> Result<Option<Site>, String> {
    Ok(sites(xml)?.into_iter().find(|site| site.name == name))
}

/// The PI URL for a method and site, from the base URL in the profile.
pub fn pi_url(base: &str, method: &str, site: &str, service_type: Option<&str>) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{separator}method={method}&sitename={site}");
    if let Some(service_type) = service_type {
        url.push_str(&format!("&service_type={service_type}"));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT_XML: &str = include_str!("../../fixtures/gocdb/pi-get_service_endpoint.xml");
    const SITE_XML: &str = include_str!("../../fixtures/gocdb/pi-get_site.xml");

    #[test]
    fn reads_service_endpoint_fixture() {
        let endpoints = service_endpoints(ENDPOINT_XML).unwrap();
        let nova = endpoints
            .iter()
            .find(|e| e.service_type == "org.openstack.nova")
            .unwrap();
        assert_eq!(nova.url, "https://keystone.cloud.example.org:5000/v3");
        assert_eq!(nova.site, "EXAMPLE-FEDCLOUD-SITE");
        assert!(nova.in_production);
        assert_eq!(nova.endpoint_urls.len(), 1);
        assert_eq!(nova.scopes, vec!["EGI".to_owned(), "FedCloud".to_owned()]);
        assert_eq!(nova.regions, vec!["RegionOne".to_owned()]);
        assert!(nova.untrimmed.is_empty());
    }

    #[test]
    fn reads_site_fixture() {
        let site = site(SITE_XML, "EXAMPLE-FEDCLOUD-SITE").unwrap().unwrap();
        assert_eq!(site.certification_status, "Certified");
        assert_eq!(site.production_infrastructure, "Production");
        assert!(site.untrimmed.is_empty());
    }

    #[test]
    fn untrimmed_endpoint_url_is_reported() {
        let xml = "<results><SERVICE_ENDPOINT><URL></URL><ENDPOINTS><ENDPOINT><URL> https://k.example.org/v3</URL></ENDPOINT></ENDPOINTS></SERVICE_ENDPOINT></results>";
        let endpoint = &service_endpoints(xml).unwrap()[0];
        assert_eq!(
            endpoint.endpoint_urls,
            vec!["https://k.example.org/v3".to_owned()]
        );
        assert_eq!(
            endpoint.untrimmed,
            vec!["ENDPOINTS/ENDPOINT/URL".to_owned()]
        );
    }

    #[test]
    fn trims_and_reports_stray_whitespace() {
        let xml = "<results><SERVICE_ENDPOINT><HOSTDN>/DC=org/CN=k.example.org </HOSTDN><HOST_IP>192.0.2.10 </HOST_IP><URL>https://k.example.org:5000/v3</URL></SERVICE_ENDPOINT></results>";
        let endpoint = &service_endpoints(xml).unwrap()[0];
        assert_eq!(endpoint.host_ip, "192.0.2.10");
        assert_eq!(
            endpoint.untrimmed,
            vec!["HOSTDN".to_owned(), "HOST_IP".to_owned()]
        );
    }

    #[test]
    fn unescapes_entities() {
        let root = parse_xml("<results><A>a&amp;b</A></results>").unwrap();
        assert_eq!(root.child_text("A"), Some("a&b"));
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse_xml("<results><A></results>").is_err());
    }
}
