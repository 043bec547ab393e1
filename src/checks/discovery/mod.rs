//! Discovery suite: the site's registration in GOCDB, its Keystone catalog and the GLUE2.1
//! information it publishes agree, and each follows EGI's rules.
//!
//! The rules themselves live in [`crate::gocdb::rules`] and [`crate::glue`], shared with the
//! offline `validate` commands; the checks here fetch the documents and turn findings into
//! outcomes.

mod catalog;
mod glue_info;
mod registration;

use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::gocdb::{self, ServiceEndpoint};
use crate::http::Request;
use crate::validate::{self, Finding, Severity};

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "gocdb-site",
        params: &[],
        run: |ctx| Box::pin(registration::site(ctx)),
    },
    CheckKind {
        name: "gocdb-keystone-url",
        params: &["service_type"],
        run: |ctx| Box::pin(registration::keystone_url(ctx)),
    },
    CheckKind {
        name: "gocdb-nova-service",
        params: &[],
        run: |ctx| Box::pin(registration::nova_service(ctx)),
    },
    CheckKind {
        name: "gocdb-host-identity",
        params: &["connect_timeout"],
        run: |ctx| Box::pin(registration::host_identity(ctx)),
    },
    CheckKind {
        name: "gocdb-accounting-service",
        params: &[],
        run: |ctx| Box::pin(registration::accounting_service(ctx)),
    },
    CheckKind {
        name: "gocdb-field-hygiene",
        params: &[],
        run: |ctx| Box::pin(registration::field_hygiene(ctx)),
    },
    CheckKind {
        name: "catalog-services",
        params: &["services"],
        run: |ctx| Box::pin(catalog::services(ctx)),
    },
    CheckKind {
        name: "catalog-region",
        params: &["services"],
        run: |ctx| Box::pin(catalog::region(ctx)),
    },
    CheckKind {
        name: "catalog-identity-gocdb",
        params: &[],
        run: |ctx| Box::pin(catalog::identity_gocdb(ctx)),
    },
    CheckKind {
        name: "glue-shape",
        params: &[],
        run: |ctx| Box::pin(glue_info::shape(ctx)),
    },
    CheckKind {
        name: "glue-endpoint",
        params: &[],
        run: |ctx| Box::pin(glue_info::endpoint(ctx)),
    },
    CheckKind {
        name: "glue-shares",
        params: &[],
        run: |ctx| Box::pin(glue_info::shares(ctx)),
    },
    CheckKind {
        name: "glue-resources",
        params: &[],
        run: |ctx| Box::pin(glue_info::resources(ctx)),
    },
    CheckKind {
        name: "glue-freshness",
        params: &[],
        run: |ctx| Box::pin(glue_info::freshness(ctx)),
    },
];

fn gocdb_section(ctx: &CheckCtx) -> Result<&crate::profile::GocdbSection, Problem> {
    ctx.profile().gocdb.as_ref().ok_or_else(|| {
        Problem("the site profile has no [gocdb] section (hint: set gocdb.pi_url)".to_owned())
    })
}

/// Fetches a PI method's response, or reads the profile's saved file for it.
async fn pi_document(
    ctx: &CheckCtx,
    method: &str,
    file: Option<&std::path::Path>,
    service_type: Option<&str>,
) -> Result<(String, String), Problem> {
    let section = gocdb_section(ctx)?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Problem(format!("cannot read {}: {err}", path.display())))?;
        ctx.evidence.add_text(&format!("{method}.xml"), &text);
        return Ok((text, path.display().to_string()));
    }
    let Some(base) = section.pi_url.as_deref() else {
        return Err(Problem(format!(
            "the [gocdb] section has neither pi_url nor a saved {method} file (hint: set \
             gocdb.pi_url)"
        )));
    };
    let url = gocdb::pi_url(base, method, &ctx.profile().site.name, service_type);
    let response = ctx.send(Request::get(&url)).await?;
    if !response.status.is_success() {
        return Err(Problem(format!(
            "GOCDB PI {url} answered HTTP {}",
            response.status
        )));
    }
    Ok((response.text(), url))
}

/// Reads the site's services from `get_service_endpoint`, of one type or of every type.
pub(crate) async fn site_services(
    ctx: &CheckCtx,
    service_type: Option<&str>,
) -> Result<(Vec<ServiceEndpoint>, String), Problem> {
    let file = gocdb_section(ctx)?.service_endpoint_file.clone();
    let (xml, source) =
        pi_document(ctx, "get_service_endpoint", file.as_deref(), service_type).await?;
    let services =
        gocdb::service_endpoints(&xml).map_err(|err| Problem(format!("{source}: {err}")))?;
    let site = &ctx.profile().site.name;
    let services = services
        .into_iter()
        .filter(|s| &s.site == site && service_type.is_none_or(|t| s.service_type == t))
        .collect();
    Ok((services, source))
}

/// Turns a check's findings into its outcome. It fails on an error, or on a warning when
/// `warnings_fail` is set, and otherwise passes with `passed` and any warnings appended.
fn outcome(ctx: &CheckCtx, findings: &[Finding], warnings_fail: bool, passed: String) -> Outcome {
    if !findings.is_empty() {
        ctx.evidence.add_json(
            "findings.json",
            &serde_json::to_value(findings).unwrap_or_default(),
        );
    }
    let errors = validate::summary(findings, Severity::Error);
    if !errors.is_empty() {
        return Outcome::fail(errors);
    }
    let warnings = validate::summary(findings, Severity::Warning);
    if warnings.is_empty() {
        Outcome::pass(passed)
    } else if warnings_fail {
        Outcome::fail(warnings)
    } else {
        Outcome::pass(format!("{passed}; {warnings}"))
    }
}
