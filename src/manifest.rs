//! Suite manifests: the TOML files in `suites/` that declare every check.
//!
//! A check is data: a permanent id, its level, the EGI rule it enforces, and the `kind` of
//! implementation (a function in `checks/`) with its parameters. Loading rejects unknown keys,
//! unknown kinds and parameters, duplicate ids, dangling dependencies and cycles, each with
//! file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;
use sha2::{Digest, Sha256};

use crate::checks;
use crate::location::ConfigError;

/// The bundled suite manifests, built into the binary so it runs from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("aai.toml", include_str!("../suites/aai.toml")),
    ("accounting.toml", include_str!("../suites/accounting.toml")),
    ("capacity.toml", include_str!("../suites/capacity.toml")),
    ("discovery.toml", include_str!("../suites/discovery.toml")),
    ("network.toml", include_str!("../suites/network.toml")),
    (
        "requirements.toml",
        include_str!("../suites/requirements.toml"),
    ),
];

/// Whether a failed check fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Required,
    Advisory,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Required => "required",
            Level::Advisory => "advisory",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    suite: SuiteHeader,
    #[serde(default, rename = "check")]
    checks: Vec<RawCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteHeader {
    name: Spanned<String>,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: Spanned<String>,
    title: String,
    level: Level,
    #[serde(default)]
    tags: Vec<String>,
    rule: String,
    kind: Spanned<String>,
    #[serde(default)]
    params: Option<Spanned<toml::Table>>,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    /// Overrides the run's per-check timeout, in seconds.
    #[serde(default)]
    timeout: Option<f64>,
}

/// One check as declared in a manifest.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSpec {
    pub id: String,
    pub suite: String,
    pub title: String,
    pub level: Level,
    pub tags: Vec<String>,
    /// The EGI requirement the check enforces, as one sentence.
    pub rule: String,
    pub kind: String,
    #[serde(skip)]
    pub params: toml::Table,
    pub depends_on: Vec<String>,
    #[serde(skip)]
    pub timeout: Option<f64>,
    /// Manifest file and line, so a reader can go from a report to the declaration.
    pub source: String,
    /// Byte span of the id in its manifest and the manifest's index, for located errors.
    #[serde(skip)]
    pub id_span: std::ops::Range<usize>,
    #[serde(skip)]
    pub source_index: usize,
}

/// One suite: its name, title and checks in manifest order.
#[derive(Debug, Clone, Serialize)]
pub struct Suite {
    pub name: String,
    pub title: String,
    pub path: PathBuf,
}

/// Every discovered suite and check, in a stable order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub suites: Vec<Suite>,
    pub checks: Vec<CheckSpec>,
    /// SHA-256 over the manifests (file names and contents, sorted by name).
    pub manifest_sha256: String,
}

impl Catalog {
    /// Loads every `*.toml` in each directory, sorted by file name within a directory.
    pub fn load(dirs: &[PathBuf]) -> Result<Catalog, ConfigError> {
        let mut files = Vec::new();
        for dir in dirs {
            let entries = std::fs::read_dir(dir).map_err(|err| {
                ConfigError::file(dir, format!("cannot read suite directory: {err}"))
                    .with_hint("pass an existing directory with --suites")
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        }
        let mut sources = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|err| ConfigError::file(&path, format!("cannot read manifest: {err}")))?;
            sources.push((path, text));
        }
        Catalog::from_sources(sources)
    }

    /// Builds a catalog from manifest texts, for `load` and for tests.
    pub fn from_sources(sources: Vec<(PathBuf, String)>) -> Result<Catalog, ConfigError> {
        let mut hasher = Sha256::new();
        let mut suites = Vec::new();
        let mut checks: Vec<CheckSpec> = Vec::new();
        // Where each id was declared, to locate duplicates and dangling dependencies.
        let mut declared: HashMap<String, usize> = HashMap::new();
        let mut dependency_spans = Vec::new();

        for (index, (path, text)) in sources.iter().enumerate() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);

            let file: ManifestFile =
                toml::from_str(text).map_err(|err| ConfigError::from_toml(path, text, &err))?;
            let suite_name = file.suite.name.get_ref().clone();
            if suites.iter().any(|s: &Suite| s.name == suite_name) {
                return Err(ConfigError::at(
                    path,
                    text,
                    Some(file.suite.name.span()),
                    format!("suite `{suite_name}` is declared twice"),
                ));
            }
            suites.push(Suite {
                name: suite_name.clone(),
                title: file.suite.title,
                path: path.clone(),
            });
            for raw in file.checks {
                let spec =
                    validate_check(path, text, &suite_name, raw, &mut dependency_spans, index)?;
                if let Some(&previous) = declared.get(&spec.id) {
                    let source = &checks[previous].source;
                    return Err(ConfigError::at(
                        path,
                        text,
                        Some(spec.id_span.clone()),
                        format!(
                            "duplicate check id `{}` (first declared at {source})",
                            spec.id
                        ),
                    )
                    .with_hint("check ids are permanent and unique; rename the new check"));
                }
                declared.insert(spec.id.clone(), checks.len());
                checks.push(spec);
            }
        }

        for (check_id, dependency, span, source_index) in &dependency_spans {
            if !declared.contains_key(dependency) {
                let (path, text) = &sources[*source_index];
                return Err(ConfigError::at(
                    path,
                    text,
                    Some(span.clone()),
                    format!("check `{check_id}` depends on unknown check `{dependency}`"),
                )
                .with_hint(
                    "use the id of a check from any suite; `fedcloud-conformance list` shows them",
                ));
            }
        }
        if let Some(cycle) = find_cycle(&checks) {
            let first = &checks[declared[&cycle[0]]];
            let (path, text) = &sources[first.source_index];
            return Err(ConfigError::at(
                path,
                text,
                Some(first.id_span.clone()),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            )
            .with_hint("remove one of the depends_on entries in the cycle"));
        }

        Ok(Catalog {
            suites,
            checks,
            manifest_sha256: hex::encode(hasher.finalize()),
        })
    }

    /// The check with this id.
    pub fn get(&self, id: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|check| check.id == id)
    }
}

/// A `depends_on` entry: declaring check id, dependency id, span, index of the source file.
type DependencySpan = (String, String, std::ops::Range<usize>, usize);

fn validate_check(
    path: &Path,
    text: &str,
    suite: &str,
    raw: RawCheck,
    dependency_spans: &mut Vec<DependencySpan>,
    source_index: usize,
) -> Result<CheckSpec, ConfigError> {
    let id = raw.id.get_ref().clone();
    let id_span = raw.id.span();
    let (line, _) = crate::location::line_column(text, id_span.start);
    if !id.starts_with(&format!("{suite}.")) || !valid_id(&id) {
        return Err(ConfigError::at(
            path,
            text,
            Some(id_span.clone()),
            format!("invalid check id `{id}`"),
        )
        .with_hint(format!(
            "ids are `{suite}.name-in-kebab-case`: lowercase letters, digits and dashes after the suite name"
        )));
    }
    let kind_name = raw.kind.get_ref();
    let Some(kind) = checks::lookup(kind_name) else {
        return Err(ConfigError::at(
            path,
            text,
            Some(raw.kind.span()),
            format!("unknown check kind `{kind_name}`"),
        )
        .with_hint(format!("known kinds: {}", checks::kind_names().join(", "))));
    };
    let params_span = raw.params.as_ref().map(Spanned::span);
    let params = raw.params.map(Spanned::into_inner).unwrap_or_default();
    for key in params.keys() {
        if !kind.params.contains(&key.as_str()) {
            let expected = if kind.params.is_empty() {
                "none".to_owned()
            } else {
                kind.params.join(", ")
            };
            return Err(ConfigError::at(
                path,
                text,
                params_span.clone(),
                format!("unknown parameter `{key}` for check kind `{kind_name}`"),
            )
            .with_hint(format!("parameters of `{kind_name}`: {expected}")));
        }
    }
    if let Some(timeout) = raw.timeout
        && !(timeout > 0.0 && timeout.is_finite())
    {
        return Err(ConfigError::at(
            path,
            text,
            Some(id_span.clone()),
            format!(
                "check `{id}` has timeout {timeout}, which is not a positive number of seconds"
            ),
        ));
    }
    let mut depends_on = Vec::new();
    for dependency in raw.depends_on {
        dependency_spans.push((
            id.clone(),
            dependency.get_ref().clone(),
            dependency.span(),
            source_index,
        ));
        depends_on.push(dependency.into_inner());
    }
    Ok(CheckSpec {
        id,
        suite: suite.to_owned(),
        title: raw.title,
        level: raw.level,
        tags: raw.tags,
        rule: raw.rule,
        kind: kind_name.clone(),
        params,
        depends_on,
        timeout: raw.timeout,
        source: format!("{}:{line}", path.display()),
        id_span,
        source_index,
    })
}

fn valid_id(id: &str) -> bool {
    id.split('.').count() == 2
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// Returns one dependency cycle as a list of ids (first id repeated at the end), if any.
fn find_cycle(checks: &[CheckSpec]) -> Option<Vec<String>> {
    let index: BTreeMap<&str, usize> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; checks.len()];
    let mut path = Vec::new();

    fn visit(
        node: usize,
        checks: &[CheckSpec],
        index: &BTreeMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        state[node] = 1;
        path.push(node);
        for dependency in &checks[node].depends_on {
            let Some(&next) = index.get(dependency.as_str()) else {
                continue;
            };
            if state[next] == 1 {
                let start = path.iter().position(|&n| n == next).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..]
                    .iter()
                    .map(|&n| checks[n].id.clone())
                    .collect();
                cycle.push(checks[next].id.clone());
                return Some(cycle);
            }
            if state[next] == 0
                && let Some(cycle) = visit(next, checks, index, state, path)
            {
                return Some(cycle);
            }
        }
        path.pop();
        state[node] = 2;
        None
    }

    for start in 0..checks.len() {
        if state[start] == 0
            && let Some(cycle) = visit(start, checks, &index, &mut state, &mut path)
        {
            return Some(cycle);
        }
    }
    None
}
