//! Filter expressions for `--filter` and `--skip`.
//!
//! An expression is `FIELD:GLOB` or a bare `GLOB`, which matches the check id. Fields are `id`,
//! `suite`, `tag`, `level` and `kind`; globs use `*`, `?` and `[..]`. Several `--filter` options
//! select the union; `--skip` removes what any of its expressions matches.

use globset::{Glob, GlobMatcher};

use crate::manifest::CheckSpec;

/// One parsed filter expression.
#[derive(Debug, Clone)]
pub struct Filter {
    field: Field,
    matcher: GlobMatcher,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Suite,
    Tag,
    Level,
    Kind,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (field, pattern) = match text.split_once(':') {
            Some(("id", rest)) => (Field::Id, rest),
            Some(("suite", rest)) => (Field::Suite, rest),
            Some(("tag", rest)) => (Field::Tag, rest),
            Some(("level", rest)) => (Field::Level, rest),
            Some(("kind", rest)) => (Field::Kind, rest),
            Some((other, _)) => {
                return Err(format!(
                    "unknown filter field `{other}` in `{text}`; use id, suite, tag, level or kind, e.g. `suite:aai`"
                ));
            }
            None => (Field::Id, text),
        };
        if pattern.is_empty() {
            return Err(format!("empty pattern in filter `{text}`"));
        }
        let matcher = Glob::new(pattern)
            .map_err(|err| format!("invalid pattern in filter `{text}`: {err}"))?
            .compile_matcher();
        Ok(Filter {
            field,
            matcher,
            text: text.to_owned(),
        })
    }
}

impl Filter {
    /// Whether the expression matches `check`.
    pub fn matches(&self, check: &CheckSpec) -> bool {
        match self.field {
            Field::Id => self.matcher.is_match(&check.id),
            Field::Suite => self.matcher.is_match(&check.suite),
            Field::Tag => check.tags.iter().any(|tag| self.matcher.is_match(tag)),
            Field::Level => self.matcher.is_match(check.level.as_str()),
            Field::Kind => self.matcher.is_match(&check.kind),
        }
    }

    /// The expression as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Whether `check` is selected: it matches one of `include` (or `include` is empty) and none
/// of `exclude`.
pub fn selects(include: &[Filter], exclude: &[Filter], check: &CheckSpec) -> bool {
    let included = include.is_empty() || include.iter().any(|filter| filter.matches(check));
    included && !exclude.iter().any(|filter| filter.matches(check))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Level;

    fn check(id: &str, suite: &str, tags: &[&str]) -> CheckSpec {
        CheckSpec {
            id: id.into(),
            suite: suite.into(),
            title: String::new(),
            level: Level::Required,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            rule: String::new(),
            kind: "keystone-version".into(),
            params: toml::Table::new(),
            depends_on: Vec::new(),
            timeout: None,
            source: String::new(),
            id_span: 0..0,
            source_index: 0,
        }
    }

    #[test]
    fn bare_glob_matches_id() {
        let filter: Filter = "aai.*".parse().unwrap();
        assert!(filter.matches(&check("aai.issuer-discovery", "aai", &[])));
        assert!(!filter.matches(&check("network.dns", "network", &[])));
    }

    #[test]
    fn field_filters_match_their_field() {
        let tag: Filter = "tag:tls".parse().unwrap();
        assert!(tag.matches(&check("network.tls", "network", &["tls", "x509"])));
        let suite: Filter = "suite:network".parse().unwrap();
        assert!(suite.matches(&check("network.tls", "network", &[])));
        let level: Filter = "level:advisory".parse().unwrap();
        assert!(!level.matches(&check("network.tls", "network", &[])));
    }

    #[test]
    fn skip_wins_over_filter() {
        let include = vec!["suite:aai".parse().unwrap()];
        let exclude = vec!["aai.negative-*".parse().unwrap()];
        assert!(selects(
            &include,
            &exclude,
            &check("aai.scoped-token", "aai", &[])
        ));
        assert!(!selects(
            &include,
            &exclude,
            &check("aai.negative-garbage", "aai", &[])
        ));
    }

    #[test]
    fn unknown_field_is_rejected_with_example() {
        let err = "suit:aai".parse::<Filter>().unwrap_err();
        assert!(err.contains("unknown filter field `suit`"), "{err}");
    }
}
