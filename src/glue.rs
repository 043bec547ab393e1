//! GLUE2.1 cloud information as cloud-info-provider 1.x publishes it (format `glue21json`): its
//! shape, its endpoint, a share per VO, images and instance types, and its freshness, as
//! findings.
//!
//! The document is one JSON object keyed by GLUE class name (`CloudComputingService`, `Share`,
//! …), each value a flat array of objects. Every object has an `ID`, a `CreationTime` with a
//! UTC offset and a `Validity` in seconds, and may have `Associations`: an object mapping a
//! class name to an array of IDs. No published schema covers this JSON form (glue-validator
//! 2.1.0 reads only LDIF), so the rules here are written from cloud-info-provider 1.2.0's
//! output.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::openstack;
use crate::validate::Finding;

/// The top-level classes cloud-info-provider 1.2.0 writes.
pub const CLASSES: &[&str] = &[
    "CloudComputingService",
    "CloudComputingManager",
    "CloudComputingEndpoint",
    "Share",
    "CloudComputingImage",
    "CloudComputingInstanceType",
    "CloudComputingVirtualAccelerator",
    "MappingPolicy",
    "AccessPolicy",
];

/// The interface name of the endpoint that publishes the Keystone URL.
pub const NOVA_INTERFACE: &str = "org.openstack.nova";

/// Values the document is compared with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The Keystone URL the endpoint must publish (GOCDB's, or the profile's).
    pub keystone: Option<&'a str>,
    /// VOs that each need a share; empty means at least one share.
    pub vos: &'a [String],
    /// The time freshness is judged at.
    pub now: DateTime<Utc>,
}

/// Parses a document; the error is an `INFO-GLUE21-PARSE` finding.
pub fn parse(text: &str) -> Result<Value, Finding> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        Finding::error(
            "INFO-GLUE21-PARSE",
            format!("line {} column {}", err.line(), err.column()),
            format!("invalid JSON: {err}"),
        )
    })?;
    if !value.is_object() {
        return Err(Finding::error(
            "INFO-GLUE21-PARSE",
            "/",
            "the document is not a JSON object keyed by GLUE class; publish cloud-info-provider's \
             glue21json output unchanged",
        ));
    }
    Ok(value)
}

/// Runs every rule. Content rules need a sound shape, so a shape error suspends them.
pub fn check_text(text: &str, context: &Context<'_>) -> Vec<Finding> {
    let document = match parse(text) {
        Ok(document) => document,
        Err(finding) => return vec![finding],
    };
    let mut findings = check_shape(&document);
    let shape_ok = findings
        .iter()
        .all(|f| f.severity != crate::validate::Severity::Error);
    findings.extend(check_freshness(&document, context.now));
    if shape_ok {
        findings.extend(check_endpoint(&document, context.keystone));
        findings.extend(check_shares(&document, context.vos));
        findings.extend(check_resources(&document));
    } else {
        findings.push(Finding::info(
            "INFO-GLUE21-SHAPE",
            "/",
            "the endpoint, share and resource rules were not evaluated, because consumers \
             cannot read a document of this shape; fix the shape first",
        ));
    }
    findings
}

/// Lists the well-formed objects of a class, with their index in the class array.
fn objects<'a>(
    document: &'a Value,
    class: &'a str,
) -> impl Iterator<Item = (usize, &'a Map<String, Value>)> + 'a {
    document[class]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, item)| item.as_object().map(|object| (index, object)))
}

fn id_of(object: &Map<String, Value>) -> Option<&str> {
    object.get("ID").and_then(Value::as_str)
}

/// Lists the IDs an object associates with `class`, when its associations are well formed.
fn associated<'a>(object: &'a Map<String, Value>, class: &str) -> Vec<&'a str> {
    object
        .get("Associations")
        .and_then(|associations| associations.get(class))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// `INFO-GLUE21-SHAPE`: every top-level class is a flat array of objects with an `ID`, every
/// `Associations` is an object of arrays of ID strings, and every association to a GLUE class
/// names an object of that class in the document.
pub fn check_shape(document: &Value) -> Vec<Finding> {
    let Some(classes) = document.as_object() else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    let mut ids: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (class, items) in classes {
        if !CLASSES.contains(&class.as_str()) {
            findings.push(Finding::warning(
                "INFO-GLUE21-SHAPE",
                format!("/{class}"),
                format!("`{class}` is not a GLUE2.1 class that cloud-info-provider publishes"),
            ));
        }
        let Some(items) = items.as_array() else {
            findings.push(Finding::error(
                "INFO-GLUE21-SHAPE",
                format!("/{class}"),
                format!("{class} is {}, not an array of objects", kind_of(items)),
            ));
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            let location = format!("/{class}/{index}");
            let Some(object) = item.as_object() else {
                findings.push(Finding::error(
                    "INFO-GLUE21-SHAPE",
                    location,
                    format!(
                        "{class} holds {} where an object belongs; each class must be a flat \
                         array of objects (cloud-info-provider before January 2025 nested \
                         shares in a second array: upgrade it)",
                        kind_of(item)
                    ),
                ));
                continue;
            };
            match object.get("ID").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => {
                    ids.entry(class.as_str()).or_default().insert(id);
                }
                _ => findings.push(Finding::error(
                    "INFO-GLUE21-SHAPE",
                    format!("{location}/ID"),
                    format!("the {class} object has no ID string"),
                )),
            }
            if let Some(associations) = object.get("Associations") {
                findings.extend(association_shape(associations, &location));
            }
        }
    }
    findings.extend(dangling_associations(document, &ids));
    findings
}

fn association_shape(associations: &Value, location: &str) -> Vec<Finding> {
    let location = format!("{location}/Associations");
    let Some(map) = associations.as_object() else {
        return vec![Finding::error(
            "INFO-GLUE21-SHAPE",
            location,
            format!(
                "Associations is {}, not an object mapping a class name to an array of IDs \
                 (cloud-info-provider before January 2025 wrote a list holding one object: \
                 upgrade it)",
                kind_of(associations)
            ),
        )];
    };
    let mut findings = Vec::new();
    for (class, targets) in map {
        let all_strings = targets
            .as_array()
            .is_some_and(|targets| targets.iter().all(Value::is_string));
        if !all_strings {
            findings.push(Finding::error(
                "INFO-GLUE21-SHAPE",
                format!("{location}/{class}"),
                format!(
                    "Associations.{class} is {}, not an array of ID strings",
                    kind_of(targets)
                ),
            ));
        }
    }
    findings
}

fn dangling_associations(document: &Value, ids: &HashMap<&str, HashSet<&str>>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for class in CLASSES {
        for (index, object) in objects(document, class) {
            let Some(map) = object.get("Associations").and_then(Value::as_object) else {
                continue;
            };
            // AdminDomain and PolicyUserDomain name things outside the document.
            for target_class in map.keys().filter(|k| CLASSES.contains(&k.as_str())) {
                for target in associated(object, target_class) {
                    let known = ids
                        .get(target_class.as_str())
                        .is_some_and(|known| known.contains(target));
                    if !known {
                        findings.push(Finding::error(
                            "INFO-GLUE21-SHAPE",
                            format!("/{class}/{index}/Associations/{target_class}"),
                            format!(
                                "the association names {target_class} `{target}`, which is not \
                                 in the document"
                            ),
                        ));
                    }
                }
            }
        }
    }
    findings
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `INFO-GLUE21-FRESHNESS`: every `CreationTime` carries a UTC offset and every
/// `CreationTime + Validity` is after `now`.
pub fn check_freshness(document: &Value, now: DateTime<Utc>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut expired: Vec<(String, DateTime<Utc>)> = Vec::new();
    for class in CLASSES {
        for (index, object) in objects(document, class) {
            let location = format!("/{class}/{index}");
            match object_expiry(object, &location) {
                Ok(Some(expiry)) if expiry <= now => expired.push((location, expiry)),
                Ok(_) => {}
                Err(finding) => findings.push(finding),
            }
        }
    }
    if let Some((location, expiry)) = expired.iter().min_by_key(|(_, expiry)| *expiry) {
        let others = expired.len() - 1;
        findings.push(Finding::error(
            "INFO-GLUE21-FRESHNESS",
            format!("{location}/CreationTime"),
            format!(
                "the information expired at {} ({} before {}){}; run cloud-info-provider \
                 regularly (EGI runs it every few minutes) and publish each new output",
                expiry.to_rfc3339_opts(SecondsFormat::Secs, true),
                human_duration(now - *expiry),
                now.to_rfc3339_opts(SecondsFormat::Secs, true),
                if others > 0 {
                    format!(", and {others} other objects have expired too")
                } else {
                    String::new()
                }
            ),
        ));
    }
    findings
}

/// When an object stops being valid; `Ok(None)` when it carries no `Validity`.
fn object_expiry(
    object: &Map<String, Value>,
    location: &str,
) -> Result<Option<DateTime<Utc>>, Finding> {
    let Some(created) = object.get("CreationTime") else {
        return Err(Finding::warning(
            "INFO-GLUE21-FRESHNESS",
            location.to_owned(),
            "the object has no CreationTime, so consumers cannot tell its age",
        ));
    };
    let created_location = format!("{location}/CreationTime");
    let text = created.as_str().unwrap_or_default();
    let created = match DateTime::parse_from_rfc3339(text) {
        Ok(created) => created.with_timezone(&Utc),
        Err(_) if NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            return Err(Finding::error(
                "INFO-GLUE21-FRESHNESS",
                created_location,
                format!(
                    "CreationTime `{text}` has no UTC offset, so consumers cannot tell when it \
                     was made; upgrade cloud-info-provider, whose newer releases write +00:00"
                ),
            ));
        }
        Err(_) => {
            return Err(Finding::error(
                "INFO-GLUE21-FRESHNESS",
                created_location,
                format!("CreationTime {created} is not an ISO 8601 time with a UTC offset"),
            ));
        }
    };
    let Some(validity) = object.get("Validity") else {
        return Err(Finding::warning(
            "INFO-GLUE21-FRESHNESS",
            location.to_owned(),
            "the object has no Validity, so consumers cannot tell when it expires",
        ));
    };
    let Some(seconds) = validity.as_i64().filter(|s| *s >= 0) else {
        return Err(Finding::error(
            "INFO-GLUE21-FRESHNESS",
            format!("{location}/Validity"),
            format!("Validity {validity} is not a whole number of seconds"),
        ));
    };
    Ok(Some(created + chrono::Duration::seconds(seconds)))
}

fn human_duration(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes();
    if minutes < 120 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{} h", duration.num_hours())
    } else {
        format!("{} days", duration.num_days())
    }
}

/// `INFO-GLUE21-ENDPOINT`: an `org.openstack.nova` endpoint, publishing `keystone` when given,
/// in a healthy state.
pub fn check_endpoint(document: &Value, keystone: Option<&str>) -> Vec<Finding> {
    let nova: Vec<(usize, &Map<String, Value>)> = objects(document, "CloudComputingEndpoint")
        .filter(|(_, e)| e.get("InterfaceName").and_then(Value::as_str) == Some(NOVA_INTERFACE))
        .collect();
    if nova.is_empty() {
        return vec![Finding::error(
            "INFO-GLUE21-ENDPOINT",
            "/CloudComputingEndpoint",
            format!(
                "no CloudComputingEndpoint has InterfaceName {NOVA_INTERFACE}; check the \
                 endpoint in cloud-info-provider's site configuration"
            ),
        )];
    }
    let mut findings = Vec::new();
    if let Some(keystone) = keystone {
        let urls: Vec<&str> = nova
            .iter()
            .filter_map(|(_, e)| e.get("URL").and_then(Value::as_str))
            .collect();
        if !urls
            .iter()
            .any(|url| openstack::same_keystone(url, keystone))
        {
            findings.push(Finding::error(
                "INFO-GLUE21-ENDPOINT",
                format!("/CloudComputingEndpoint/{}/URL", nova[0].0),
                format!(
                    "the endpoint URL is {}, not the Keystone URL {keystone} registered in \
                     GOCDB; set `endpoint` in cloud-info-provider's site configuration to the \
                     GOCDB URL",
                    if urls.is_empty() {
                        "missing".to_owned()
                    } else {
                        urls.join(", ")
                    }
                ),
            ));
        }
    }
    for (index, endpoint) in &nova {
        let state = endpoint.get("HealthState").and_then(Value::as_str);
        if let Some(state) = state.filter(|s| *s != "ok") {
            let info = endpoint
                .get("HealthStateInfo")
                .and_then(Value::as_str)
                .unwrap_or("no HealthStateInfo");
            findings.push(Finding::warning(
                "INFO-GLUE21-ENDPOINT",
                format!("/CloudComputingEndpoint/{index}/HealthState"),
                format!("the endpoint reports HealthState {state}: {info}"),
            ));
        }
    }
    findings
}

/// Collects the VOs the document gives a share, read from the MappingPolicy rules (`VO:<vo>`) of each
/// share and, failing that, from the share's `Name` (`<vo> - <project> share`).
pub fn share_vos(document: &Value) -> BTreeSet<String> {
    let shares: HashMap<&str, &Map<String, Value>> = objects(document, "Share")
        .filter_map(|(_, share)| id_of(share).map(|id| (id, share)))
        .collect();
    let mut vos = BTreeSet::new();
    for (_, policy) in objects(document, "MappingPolicy") {
        let targets = associated(policy, "Share");
        if !targets.iter().any(|id| shares.contains_key(id)) {
            continue;
        }
        let rules = policy.get("Rule").and_then(Value::as_array);
        for rule in rules.into_iter().flatten().filter_map(Value::as_str) {
            if let Some(vo) = rule.strip_prefix("VO:") {
                vos.insert(vo.to_owned());
            }
        }
    }
    for share in shares.values() {
        let name = share
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some((vo, _)) = name.split_once(" - ") {
            vos.insert(vo.to_owned());
        }
    }
    vos
}

/// `INFO-GLUE21-SHARES`: a share for each VO (at least one share when no VO is given).
pub fn check_shares(document: &Value, vos: &[String]) -> Vec<Finding> {
    let published = share_vos(document);
    if vos.is_empty() {
        if objects(document, "Share").next().is_none() {
            return vec![Finding::error(
                "INFO-GLUE21-SHARES",
                "/Share",
                "the document has no Share; list each supported VO under `vos` in \
                 cloud-info-provider's site configuration",
            )];
        }
        return Vec::new();
    }
    let missing: Vec<&str> = vos
        .iter()
        .filter(|vo| !published.contains(vo.as_str()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![Finding::error(
        "INFO-GLUE21-SHARES",
        "/Share",
        format!(
            "no share for VO {} (shares published for: {}); list the VO under `vos` in \
             cloud-info-provider's site configuration and check that its project credentials \
             work, because a VO whose authentication fails is left out",
            missing.join(", "),
            if published.is_empty() {
                "none".to_owned()
            } else {
                published.into_iter().collect::<Vec<_>>().join(", ")
            }
        ),
    )]
}

/// `INFO-GLUE21-IMAGES` and `INFO-GLUE21-INSTANCE-TYPES`: the document publishes images and
/// instance types, and each share has some of both.
pub fn check_resources(document: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    let kinds = [
        (
            "CloudComputingImage",
            "INFO-GLUE21-IMAGES",
            "images",
            "publish the VO's images in Glance (or enable publishing all images)",
        ),
        (
            "CloudComputingInstanceType",
            "INFO-GLUE21-INSTANCE-TYPES",
            "instance types",
            "make public flavors available to the VO's project",
        ),
    ];
    for (class, rule, noun, fix) in kinds {
        if objects(document, class).next().is_none() {
            findings.push(Finding::error(
                rule,
                format!("/{class}"),
                format!("the document publishes no {noun}; {fix}"),
            ));
            continue;
        }
        let served: HashSet<&str> = objects(document, class)
            .flat_map(|(_, object)| associated(object, "Share"))
            .collect();
        for (index, share) in objects(document, "Share") {
            let id = id_of(share).unwrap_or_default();
            if !served.contains(id) {
                findings.push(Finding::warning(
                    rule,
                    format!("/Share/{index}"),
                    format!("share `{id}` has no {noun}; {fix}"),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Severity, Verdict};

    const CIP: &str = include_str!("../fixtures/cloud-info-provider-1.2.0/glue21.json");
    const KEYSTONE: &str = "https://keystone.cloud.example.org:5000/v3";

    fn context(vos: &[String]) -> Context<'_> {
        Context {
            keystone: Some(KEYSTONE),
            vos,
            now: "2026-12-04T16:00:00Z".parse().unwrap(),
        }
    }

    fn error_rules(findings: &[Finding]) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn cloud_info_provider_output_passes() {
        let vos = ["vo.example.org".to_owned(), "ops".to_owned()];
        let findings = check_text(CIP, &context(&vos));
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn share_vos_read_from_policies() {
        let document = parse(CIP).unwrap();
        let vos: Vec<String> = share_vos(&document).into_iter().collect();
        assert_eq!(vos, vec!["ops".to_owned(), "vo.example.org".to_owned()]);
    }

    #[test]
    fn missing_vo_share_fails() {
        let vos = ["vo.other.example.org".to_owned()];
        let findings = check_text(CIP, &context(&vos));
        assert_eq!(error_rules(&findings), vec!["INFO-GLUE21-SHARES"]);
        assert!(findings[0].message.contains("vo.other.example.org"));
    }

    #[test]
    fn expired_document_fails_once() {
        let mut context = context(&[]);
        context.now = "2026-12-05T04:00:00Z".parse().unwrap();
        let findings = check_text(CIP, &context);
        assert_eq!(error_rules(&findings), vec!["INFO-GLUE21-FRESHNESS"]);
        assert!(
            findings[0].message.contains("other objects"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn creation_time_without_offset_fails() {
        let text = CIP.replace("+00:00", "");
        let findings = check_freshness(&parse(&text).unwrap(), context(&[]).now);
        assert!(!findings.is_empty());
        assert!(findings.iter().all(|f| f.rule == "INFO-GLUE21-FRESHNESS"));
        assert!(findings[0].message.contains("no UTC offset"));
    }

    #[test]
    fn dangling_association_is_a_shape_error() {
        let text = CIP.replace("\"f-gpu_gpu\"]", "\"f-gpu_gpu_missing\"]");
        let findings = check_shape(&parse(&text).unwrap());
        assert!(error_rules(&findings).contains(&"INFO-GLUE21-SHAPE"));
        assert!(findings[0].message.contains("f-gpu_gpu_missing"));
    }

    #[test]
    fn other_keystone_url_fails() {
        let mut context = context(&[]);
        context.keystone = Some("https://keystone.other.example.org/v3");
        let findings = check_text(CIP, &context);
        assert_eq!(error_rules(&findings), vec!["INFO-GLUE21-ENDPOINT"]);
        assert_eq!(Verdict::of(&findings), Verdict::Fail);
    }
}
