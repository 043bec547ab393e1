//! Accounting suite: cASO's outgoing spool holds messages that APEL accepts, without the errors
//! APEL lets through, and recent usage.

use std::path::PathBuf;

use super::{CheckCtx, CheckKind, Outcome, Problem};
use crate::accounting::{
    self, ApelVerdict, MessageReport, Severity, SpoolSummary, ValidateOptions,
};

pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "accounting-spool-valid",
        params: &[],
        run: |ctx| Box::pin(spool_valid(ctx)),
    },
    CheckKind {
        name: "accounting-freshness",
        params: &["max_age_days"],
        run: |ctx| Box::pin(freshness(ctx)),
    },
];

/// Messages named in a failure message; the evidence file lists them all.
const MESSAGES_NAMED: usize = 3;

fn spool_dir(ctx: &CheckCtx) -> Result<PathBuf, Problem> {
    let accounting = ctx.profile().accounting.as_ref().ok_or_else(|| {
        Problem("the site profile has no [accounting] section (hint: set accounting.spool to cASO's SSM output directory)".to_owned())
    })?;
    if !accounting.spool.is_dir() {
        return Err(Problem(format!(
            "accounting spool {} is not a readable directory (hint: set accounting.spool to cASO's [ssm] output_path)",
            accounting.spool.display()
        )));
    }
    Ok(accounting.spool.clone())
}

/// Walks the spool on a blocking thread, because the validator reads files synchronously.
async fn walk_spool(ctx: &CheckCtx) -> Result<(Vec<MessageReport>, SpoolSummary), Problem> {
    let dir = spool_dir(ctx)?;
    let profile = ctx.profile();
    let mut options = ValidateOptions::at(ctx.env.now.timestamp());
    options.site_name = Some(profile.site.name.clone());
    options.service = profile.accounting.as_ref().and_then(|a| a.service.clone());
    tokio::task::spawn_blocking(move || {
        let mut reports = Vec::new();
        let summary = accounting::validate_paths(&[dir], &options, |report| reports.push(report));
        (reports, summary)
    })
    .await
    .map_err(|err| Problem(format!("the spool walk stopped: {err}")))
}

async fn spool_valid(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let (reports, summary) = walk_spool(&ctx).await?;
    ctx.evidence.add_json(
        "messages.json",
        &serde_json::to_value(&reports).unwrap_or_default(),
    );
    ctx.evidence.add_json(
        "summary.json",
        &serde_json::to_value(&summary).unwrap_or_default(),
    );
    if summary.messages == 0 {
        return Ok(Outcome::fail(format!(
            "the spool {} holds no messages; cASO has not published anything since SSM last sent",
            spool_dir(&ctx)?.display()
        )));
    }
    let mut problems = Vec::new();
    for report in &reports {
        // `passed` already accounts for JSON messages, which APEL's loader rejects by design
        // because EGI routes them to another consumer.
        if report.passed {
            continue;
        }
        if report.apel == ApelVerdict::Rejected {
            problems.push(format!(
                "{}: APEL rejects it ({})",
                report.path,
                report
                    .explanation
                    .as_deref()
                    .or(report.apel_reason.as_deref())
                    .unwrap_or("no reason")
            ));
        } else if let Some(finding) = report
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
        {
            let record = finding
                .record
                .map(|r| format!(" record {r}"))
                .unwrap_or_default();
            problems.push(format!(
                "{}{record}: {} {}",
                report.path, finding.rule, finding.message
            ));
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MESSAGES_NAMED);
        let mut message = format!(
            "{} of {} messages would lose or corrupt accounting: {}",
            problems.len(),
            summary.messages,
            problems[..problems.len().min(MESSAGES_NAMED)].join("; ")
        );
        if more > 0 {
            message.push_str(&format!("; and {more} more (see the evidence)"));
        }
        return Ok(Outcome::fail(message));
    }
    Ok(Outcome::pass(format!(
        "{} messages with {} records, all accepted by APEL, {} warnings",
        summary.messages, summary.records, summary.warnings
    )))
}

async fn freshness(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let max_days = ctx.param_i64("max_age_days", 30);
    let (_, summary) = walk_spool(&ctx).await?;
    let Some(newest) = summary.newest_record_time else {
        return Ok(Outcome::fail(
            "no record in the spool carries a time; cASO publishes nothing EGI can count",
        ));
    };
    let age_seconds = ctx.env.now.timestamp() - newest;
    let age_days = age_seconds as f64 / 86_400.0;
    let newest_text = chrono::DateTime::from_timestamp(newest, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| newest.to_string());
    ctx.evidence.add_json(
        "freshness.json",
        &serde_json::json!({"newest_record": newest_text, "age_days": age_days, "max_age_days": max_days}),
    );
    if age_seconds > max_days * 86_400 {
        return Ok(Outcome::fail(format!(
            "the newest accounting record ({newest_text}) is {age_days:.1} days old, over the {max_days} days EGI's monitoring allows; check that cASO runs (its cron job or timer) and that SSM sends"
        )));
    }
    Ok(Outcome::pass(format!(
        "the newest accounting record ({newest_text}) is {age_days:.1} days old (limit {max_days} days)"
    )))
}
