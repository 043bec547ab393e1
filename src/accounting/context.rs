//! Site context beyond the messages: Nova's server list, cASO's VO mapping (`voms.json`, the
//! `vo_property` option of `caso.conf`) and the Keystone projects with their properties.
//!
//! Each source is optional. With a Nova server list, records are checked against the VM's real
//! state. With the mapping sources, a record without FQAN can be traced to the project and
//! the configuration mistake behind it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::report::Finding;
use super::rules;

/// Keystone project properties that have named a project's VO: cASO's code default (`VO`),
/// cASO's documented default (`accounting:VO`), the key EGI agreed for cloud-info (`egi.VO`) and
/// the catch-all sites' key (`egi.eu:VO`).
pub const VO_PROPERTY_KEYS: [&str; 4] = ["VO", "accounting:VO", "egi.VO", "egi.eu:VO"];

/// cASO's `vo_property` when `caso.conf` does not set it (the code default since cASO 4).
pub const DEFAULT_VO_PROPERTY: &str = "VO";

/// Error reading a context file.
#[derive(Debug, thiserror::Error)]
#[error("failed to read {kind} from {}", path.display())]
pub struct ContextError {
    /// The file that failed.
    pub path: PathBuf,
    /// What the file should hold.
    pub kind: &'static str,
    /// The cause.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// A Nova server, reduced to the fields that decide its accounting state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaServer {
    /// Server UUID, the VMUUID of its records.
    pub id: String,
    /// API status such as `ACTIVE`, `ERROR` or `DELETED`.
    pub status: String,
    /// `OS-EXT-STS:vm_state`, when the listing has it.
    pub vm_state: Option<String>,
    /// `OS-SRV-USG:launched_at`.
    pub launched_at: Option<String>,
    /// `OS-SRV-USG:terminated_at`.
    pub terminated_at: Option<String>,
}

impl NovaServer {
    /// True when the VM is gone for good, or errored before it ever ran: its accounting
    /// record must then be closed.
    pub fn is_finished(&self) -> bool {
        let deleted = |state: &str| {
            let state = state.to_ascii_lowercase();
            state == "deleted" || state == "soft_deleted" || state == "soft-delete"
        };
        deleted(&self.status)
            || self.vm_state.as_deref().is_some_and(deleted)
            || self.terminated_at.is_some()
            || (self.status.eq_ignore_ascii_case("error") && self.launched_at.is_none())
    }
}

/// A Keystone project with its properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeystoneProject {
    /// Project id, the LocalGroupId of its records.
    pub id: String,
    /// Project name.
    pub name: String,
    /// Properties (extra attributes) of the project.
    pub properties: BTreeMap<String, String>,
}

/// One entry of cASO's `voms.json`, and what is wrong with its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VomsEntry {
    /// VO name, the entry's key.
    pub vo: String,
    /// Projects cASO maps to the VO (`projects`, a list).
    pub projects: Vec<String>,
    /// Projects the entry names under a key cASO does not read (`project`, `tenant`, ...).
    pub misnamed: Vec<(String, String)>,
}

/// Context for lifecycle and VO mapping rules; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct SiteContext {
    /// Nova servers by id.
    pub nova_servers: HashMap<String, NovaServer>,
    /// Entries of cASO's `voms.json`, when given.
    pub voms_mapping: Option<Vec<VomsEntry>>,
    /// cASO's `vo_property`, when `caso.conf` was given.
    pub vo_property: Option<String>,
    /// Keystone projects.
    pub projects: Vec<KeystoneProject>,
}

/// Why a project should have a VO, and why cASO did not find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectVo {
    pub(crate) project: String,
    pub(crate) vo: String,
    pub(crate) causes: Vec<String>,
}

fn read_json(path: &Path, kind: &'static str) -> Result<Value, ContextError> {
    let wrap = |source: Box<dyn std::error::Error + Send + Sync>| ContextError {
        path: path.to_owned(),
        kind,
        source,
    };
    let bytes = std::fs::read(path).map_err(|error| wrap(Box::new(error)))?;
    serde_json::from_slice(&bytes).map_err(|error| wrap(Box::new(error)))
}

/// Returns the objects of a listing: `{"<plural>": [...]}`, `{"<singular>": {...}}`, a JSON
/// array, or one object.
fn listing<'v>(value: &'v Value, plural: &str, singular: &str) -> Vec<&'v Value> {
    if let Some(items) = value.get(plural).and_then(Value::as_array) {
        return items.iter().collect();
    }
    if let Some(item) = value.get(singular).filter(|item| item.is_object()) {
        return vec![item];
    }
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => Vec::new(),
    }
}

fn text_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl SiteContext {
    /// Adds Nova servers from a `GET /servers/detail` response, a JSON array of servers
    /// (`openstack server list --long -f json`) or one server object.
    pub fn add_nova_servers_json(&mut self, value: &Value) {
        for server in listing(value, "servers", "server") {
            let Some(id) = text_field(server, "id").or_else(|| text_field(server, "ID")) else {
                continue;
            };
            let status = text_field(server, "status")
                .or_else(|| text_field(server, "Status"))
                .unwrap_or_default();
            self.nova_servers.insert(
                id.clone(),
                NovaServer {
                    id,
                    status,
                    vm_state: text_field(server, "OS-EXT-STS:vm_state"),
                    launched_at: text_field(server, "OS-SRV-USG:launched_at"),
                    terminated_at: text_field(server, "OS-SRV-USG:terminated_at"),
                },
            );
        }
    }

    /// Reads a Nova server list file (see [`Self::add_nova_servers_json`]).
    pub fn load_nova_servers(&mut self, path: &Path) -> Result<(), ContextError> {
        let value = read_json(path, "a Nova server list (JSON)")?;
        self.add_nova_servers_json(&value);
        Ok(())
    }

    /// Adds Keystone projects from a `GET /v3/projects` response, a JSON array or one project.
    /// Properties are read from a `properties` object and from top-level string attributes
    /// that are not standard project fields, which is where Keystone returns them.
    pub fn add_keystone_projects_json(&mut self, value: &Value) {
        const STANDARD: [&str; 10] = [
            "id",
            "name",
            "domain_id",
            "description",
            "enabled",
            "parent_id",
            "is_domain",
            "tags",
            "options",
            "links",
        ];
        for project in listing(value, "projects", "project") {
            let Some(object) = project.as_object() else {
                continue;
            };
            let mut properties = BTreeMap::new();
            if let Some(nested) = object.get("properties").and_then(Value::as_object) {
                for (key, value) in nested {
                    if let Some(text) = value.as_str() {
                        properties.insert(key.clone(), text.to_owned());
                    }
                }
            }
            for (key, value) in object {
                if let (false, Some(text)) = (STANDARD.contains(&key.as_str()), value.as_str()) {
                    properties.insert(key.clone(), text.to_owned());
                }
            }
            self.projects.push(KeystoneProject {
                id: text_field(project, "id").unwrap_or_default(),
                name: text_field(project, "name").unwrap_or_default(),
                properties,
            });
        }
    }

    /// Reads a Keystone project list file (see [`Self::add_keystone_projects_json`]).
    pub fn load_keystone_projects(&mut self, path: &Path) -> Result<(), ContextError> {
        let value = read_json(path, "a Keystone project list (JSON)")?;
        self.add_keystone_projects_json(&value);
        Ok(())
    }

    /// Sets the VO mapping from the content of cASO's `voms.json`.
    pub fn set_voms_mapping_json(&mut self, value: &Value) {
        let mut entries = Vec::new();
        for (vo, entry) in value.as_object().into_iter().flatten() {
            let mut parsed = VomsEntry {
                vo: vo.clone(),
                ..VomsEntry::default()
            };
            for (key, value) in entry.as_object().into_iter().flatten() {
                let names: Vec<String> = match value {
                    Value::String(name) => vec![name.clone()],
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                };
                if key == "projects" && value.is_array() {
                    parsed.projects.extend(names);
                } else {
                    parsed
                        .misnamed
                        .extend(names.into_iter().map(|name| (key.clone(), name)));
                }
            }
            entries.push(parsed);
        }
        self.voms_mapping = Some(entries);
    }

    /// Reads cASO's `voms.json`.
    pub fn load_voms_mapping(&mut self, path: &Path) -> Result<(), ContextError> {
        let value = read_json(path, "cASO's VO mapping (voms.json)")?;
        self.set_voms_mapping_json(&value);
        Ok(())
    }

    /// Takes `vo_property` from the text of `caso.conf` (INI), or cASO's default when unset.
    pub fn set_caso_config_text(&mut self, text: &str) {
        let mut section = String::from("DEFAULT");
        let mut vo_property = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_owned();
            } else if let Some((key, value)) = line.split_once('=')
                && section == "DEFAULT"
                && key.trim() == "vo_property"
            {
                vo_property = Some(value.trim().to_owned());
            }
        }
        self.vo_property = Some(vo_property.unwrap_or_else(|| DEFAULT_VO_PROPERTY.to_owned()));
    }

    /// Reads `caso.conf`.
    pub fn load_caso_config(&mut self, path: &Path) -> Result<(), ContextError> {
        let text = std::fs::read_to_string(path).map_err(|error| ContextError {
            path: path.to_owned(),
            kind: "cASO's configuration (caso.conf)",
            source: Box::new(error),
        })?;
        self.set_caso_config_text(&text);
        Ok(())
    }

    /// Returns true when no context was given.
    pub fn is_empty(&self) -> bool {
        self.nova_servers.is_empty()
            && self.voms_mapping.is_none()
            && self.vo_property.is_none()
            && self.projects.is_empty()
    }

    fn effective_vo_property(&self) -> &str {
        self.vo_property.as_deref().unwrap_or(DEFAULT_VO_PROPERTY)
    }

    /// Finds what should map a project (by id or name) to a VO, and why cASO did not.
    pub(crate) fn project_vo(&self, project: &str) -> Option<ProjectVo> {
        let keystone = self
            .projects
            .iter()
            .find(|p| p.id == project || p.name == project);
        let names: Vec<&str> = match keystone {
            Some(p) => vec![p.id.as_str(), p.name.as_str()],
            None => vec![project],
        };
        let label = keystone.map_or(project.to_owned(), |p| format!("{} ({})", p.name, p.id));
        let mut vo = None;
        let mut causes = Vec::new();

        for entry in self.voms_mapping.iter().flatten() {
            if entry.projects.iter().any(|p| names.contains(&p.as_str())) {
                vo.get_or_insert(entry.vo.clone());
            }
            for (key, name) in &entry.misnamed {
                if names.contains(&name.as_str()) {
                    vo.get_or_insert(entry.vo.clone());
                    causes.push(format!(
                        "voms.json maps it to {} under '{key}', but cASO only reads 'projects' (a list)",
                        entry.vo
                    ));
                }
            }
        }
        if let Some(p) = keystone {
            let wanted = self.effective_vo_property();
            for key in VO_PROPERTY_KEYS.iter().filter(|key| **key != wanted) {
                if let Some(value) = p.properties.get(*key) {
                    vo.get_or_insert(value.clone());
                    if !p.properties.contains_key(wanted) {
                        causes.push(format!(
                            "the project carries property {key}={value}, but cASO reads property \
                             '{wanted}' (vo_property), which it lacks"
                        ));
                    }
                }
            }
            if let Some(value) = p.properties.get(wanted) {
                vo.get_or_insert(value.clone());
            }
        }
        vo.map(|vo| ProjectVo {
            project: label,
            vo,
            causes,
        })
    }

    /// Returns findings about the context itself: mapping entries cASO cannot read and projects
    /// whose VO property cASO does not look at.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        for entry in self.voms_mapping.iter().flatten() {
            for (key, name) in &entry.misnamed {
                findings.push(
                    Finding::error(
                        rules::VO_MAPPING,
                        format!(
                            "voms.json entry '{}' names project '{name}' under '{key}'; cASO \
                             reads only \"projects\": [\"{name}\"], so the project has no VO and \
                             its records go out with FQAN None",
                            entry.vo
                        ),
                    )
                    .on_field(key),
                );
            }
        }
        let wanted = self.effective_vo_property();
        for project in &self.projects {
            if project.properties.contains_key(wanted) {
                continue;
            }
            let mapped = self.voms_mapping.iter().flatten().any(|e| {
                e.projects
                    .iter()
                    .any(|p| *p == project.id || *p == project.name)
            });
            let other = VO_PROPERTY_KEYS
                .iter()
                .find_map(|key| project.properties.get(*key).map(|value| (key, value)));
            if let (false, Some((key, value))) = (mapped, other) {
                findings.push(
                    Finding::error(
                        rules::VO_MAPPING,
                        format!(
                            "project {} ({}) has no VO mapping: it carries property \
                             {key}={value}, but cASO reads property '{wanted}'; set vo_property = \
                             {key} in caso.conf or add the property {wanted} to the project",
                            project.name, project.id
                        ),
                    )
                    .on_field(wanted),
                );
            }
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nova_deleted_and_never_launched_are_finished() {
        let mut context = SiteContext::default();
        context.add_nova_servers_json(&json!({"servers": [
            {"id": "a", "status": "DELETED"},
            {"id": "b", "status": "ERROR", "OS-SRV-USG:launched_at": null},
            {"id": "c", "status": "ACTIVE", "OS-SRV-USG:launched_at": "2024-01-01T00:00:00"},
        ]}));
        assert!(context.nova_servers["a"].is_finished());
        assert!(context.nova_servers["b"].is_finished());
        assert!(!context.nova_servers["c"].is_finished());
    }

    #[test]
    fn misnamed_voms_key_is_reported() {
        let mut context = SiteContext::default();
        context.set_voms_mapping_json(
            &json!({"vo.example.org": {"project": "p1"}, "ok": {"projects": ["p2"]}}),
        );
        let findings = context.findings();
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("'project'"));
        let vo = context.project_vo("p1").expect("p1 is meant for a VO");
        assert_eq!(vo.vo, "vo.example.org");
        assert_eq!(vo.causes.len(), 1);
    }

    #[test]
    fn property_key_mismatch_is_reported() {
        let mut context = SiteContext::default();
        context.set_caso_config_text("[DEFAULT]\nvo_property = VO\n");
        context.add_keystone_projects_json(
            &json!({"id": "x1", "name": "proj", "properties": {"egi.VO": "vo.example.org"}}),
        );
        let findings = context.findings();
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("egi.VO=vo.example.org"));
        assert_eq!(
            context.project_vo("x1").map(|p| p.vo),
            Some("vo.example.org".to_owned())
        );
    }

    #[test]
    fn top_level_keystone_attributes_are_properties() {
        let mut context = SiteContext::default();
        context.set_caso_config_text("");
        context.add_keystone_projects_json(
            &json!([{"id": "x", "name": "n", "VO": "vo1", "enabled": true}]),
        );
        assert_eq!(context.vo_property.as_deref(), Some("VO"));
        assert!(context.findings().is_empty());
        assert_eq!(context.project_vo("n").map(|p| p.causes.len()), Some(0));
    }
}
