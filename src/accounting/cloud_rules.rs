//! Checks on parsed cloud records that APEL's loader lets through: what it would store wrongly
//! or what the accounting portal cannot attribute.

use super::Draft;
use super::cloud::{CloudRecord, Field, Kind, Value};
use super::python::{self, PyInt};
use super::report::Finding;
use super::rules;

/// Status values cASO's record model allows.
pub(crate) const CASO_STATUSES: [&str; 7] = [
    "started",
    "completed",
    "error",
    "paused",
    "suspended",
    "stopped",
    "unknown",
];

/// Largest value of a DECIMAL(10,3) column such as CpuCount and Benchmark.
const DECIMAL_10_3_MAX: f64 = 9_999_999.999;

/// Lets WallDuration differ from EndTime - StartTime by this many seconds, or 1 % if larger,
/// because cASO rounds and clamps durations (zero becomes one second).
const WALL_TOLERANCE_SECONDS: i128 = 60;

/// Times up to this far past the check time pass, so small clock differences between the
/// cASO host and the checker raise nothing.
const FUTURE_TOLERANCE_SECONDS: i64 = 86_400;

/// State kept across the records of one message.
#[derive(Default)]
pub(crate) struct MessageState<'a> {
    /// VMUUID, record number and line of every record. They are sorted once at the end of the
    /// message, which costs less than hashing every VMUUID.
    vms: Vec<(&'a str, usize, usize)>,
}

impl MessageState<'_> {
    /// Reports VMUUIDs that occur in more than one record of the message.
    pub(crate) fn finish(mut self, draft: &mut Draft<'_>) {
        self.vms.sort_unstable();
        for pair in self.vms.windows(2) {
            let ((uuid, first, _), (same, record, line)) = (pair[0], pair[1]);
            if uuid == same {
                draft.push(
                    Finding::error(
                        rules::CLOUD_DUPLICATE_VM,
                        format!(
                            "VMUUID {} is also in record {first}; the repository keeps one \
                             record per VM and month, so one of them is lost",
                            python::shorten(uuid, 60)
                        ),
                    )
                    .at_record(record)
                    .at_line(line)
                    .on_field(Field::VmUuid.name()),
                );
            }
        }
    }
}

fn located(finding: Finding, record: &CloudRecord<'_>, field: Field) -> Finding {
    finding
        .at_record(record.number)
        .at_optional_line(record.line_of(field).or(Some(record.line)))
        .on_field(field.name())
}

/// Turns the loader's own verdict on the record into findings and the message rejection.
pub(crate) fn report_loader_errors(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    for error in &record.errors {
        let line = error.line.unwrap_or(record.line);
        let explanation = format!(
            "record {} (line {line}): {}; APEL rejects the whole message",
            record.number, error.explanation
        );
        let mut finding = Finding::error(error.rule, explanation.clone())
            .at_record(record.number)
            .at_line(line);
        finding.field = error.field.clone();
        draft.push(finding);
        draft.reject(
            format!("Parsing unsuccessful: {}", error.apel_text),
            explanation,
        );
    }
    for duplicate in &record.duplicates {
        draft.push(
            Finding::warning(
                rules::CLOUD_DUPLICATE_KEY,
                format!(
                    "{} appears twice (lines {} and {}); APEL keeps the last value '{}' and \
                     drops '{}'",
                    duplicate.key,
                    duplicate.dropped_line,
                    duplicate.kept_line,
                    python::shorten(duplicate.kept, 60),
                    python::shorten(duplicate.dropped, 60)
                ),
            )
            .at_record(record.number)
            .at_line(duplicate.kept_line)
            .on_field(duplicate.key),
        );
    }
    for (key, line) in &record.ignored {
        draft.push(
            Finding::info(
                rules::CLOUD_FIELDS,
                format!("APEL ignores {key}; it computes it itself"),
            )
            .at_record(record.number)
            .at_line(*line)
            .on_field(key),
        );
    }
    for field in [Field::Vo, Field::VoGroup, Field::VoRole] {
        if record.slot(field).is_some() {
            draft.push(located(
                Finding::info(
                    rules::CLOUD_FIELDS,
                    format!(
                        "APEL replaces {} with the value it derives from FQAN",
                        field.name()
                    ),
                ),
                record,
                field,
            ));
        }
    }
}

/// Runs every check APEL lets through on one record.
pub(crate) fn check_record<'a>(
    record: &CloudRecord<'a>,
    draft: &mut Draft<'_>,
    state: &mut MessageState<'a>,
) {
    check_status(record, draft);
    check_lengths(record, draft);
    check_ranges(record, draft);
    check_lifecycle(record, draft);
    check_durations(record, draft);
    check_attribution(record, draft);
    check_nova_state(record, draft);
    if let Some(uuid) = record.text(Field::VmUuid) {
        let line = record.line_of(Field::VmUuid).unwrap_or(record.line);
        state.vms.push((uuid, record.number, line));
    }
    if let Some(time) = measurement_time(record) {
        draft.note_time(time);
    }
}

/// Returns the time the repository files the record under: EndTime for a completed VM,
/// otherwise RecordCreateTime, otherwise StartTime + SuspendDuration + WallDuration.
pub(crate) fn measurement_time(record: &CloudRecord<'_>) -> Option<i64> {
    if record.text(Field::Status) == Some("completed") {
        return record.time(Field::EndTime).filter(|end| *end != 0);
    }
    if let Some(created) = record.time(Field::RecordCreateTime) {
        return Some(created);
    }
    let int = |field| record.int(field).and_then(PyInt::as_i64).unwrap_or(0);
    let start = record.time(Field::StartTime)?;
    Some(
        start
            .saturating_add(int(Field::SuspendDuration))
            .saturating_add(int(Field::WallDuration)),
    )
}

fn check_status(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    match record.text(Field::Status) {
        Some(status) if !CASO_STATUSES.contains(&status) => draft.push(located(
            Finding::warning(
                rules::CLOUD_STATUS,
                format!(
                    "Status '{}' is not one of cASO's values ({}); APEL stores it as is, and the \
                     portal only understands started, completed and suspended",
                    python::shorten(status, 40),
                    CASO_STATUSES.join(", ")
                ),
            ),
            record,
            Field::Status,
        )),
        None => draft.push(located(
            Finding::warning(
                rules::CLOUD_STATUS,
                "no Status: the repository cannot tell running from finished VMs",
            ),
            record,
            Field::Status,
        )),
        _ => {}
    }
}

fn check_lengths(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    for (field, slot) in record.fields() {
        if field.kind() != Kind::Text || slot.value == Value::Null {
            continue;
        }
        let limit = if field == Field::BenchmarkType {
            50
        } else {
            255
        };
        // Byte length bounds character count, so most values skip the count.
        if slot.raw.len() > limit && slot.raw.chars().count() > limit {
            draft.push(located(
                Finding::error(
                    rules::CLOUD_LENGTH,
                    format!(
                        "{} is {} characters long; the database column holds {limit}, so the \
                         value is cut or the insert fails",
                        field.name(),
                        slot.raw.chars().count()
                    ),
                ),
                record,
                field,
            ));
        }
    }
}

fn check_ranges(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    for (field, slot) in record.fields() {
        let problem = match slot.value {
            Value::Int(value) => int_range_problem(field, value),
            Value::Float(value)
                if !value.is_finite() || !(0.0..=DECIMAL_10_3_MAX).contains(&value) =>
            {
                Some((
                    true,
                    format!(
                        "{} is {value}; the DECIMAL(10,3) UNSIGNED column holds 0 to {DECIMAL_10_3_MAX}",
                        field.name()
                    ),
                ))
            }
            Value::Time(time) if time < 0 => Some((
                false,
                format!("{} is {time}, a time before 1970", field.name()),
            )),
            _ => None,
        };
        if let Some((is_error, message)) = problem {
            let finding = if is_error {
                Finding::error(rules::CLOUD_RANGE, message)
            } else {
                Finding::warning(rules::CLOUD_RANGE, message)
            };
            draft.push(located(finding, record, field));
        }
    }
}

/// Returns (is error, message) for an integer outside its column or negative.
fn int_range_problem(field: Field, value: PyInt) -> Option<(bool, String)> {
    // Fits every integer column: nothing to report.
    if matches!(value, PyInt::Value(v) if (0..=i128::from(i32::MAX)).contains(&v)) {
        return None;
    }
    let (column, min, max) = if field == Field::PublicIpCount {
        ("INT", i128::from(i32::MIN), i128::from(i32::MAX))
    } else {
        ("BIGINT", i128::from(i64::MIN), i128::from(i64::MAX))
    };
    let name = field.name();
    match value {
        PyInt::Huge { .. } => Some((
            true,
            format!("{name} has more digits than any {column} column holds"),
        )),
        PyInt::Value(v) if v < min || v > max => Some((
            true,
            format!(
                "{name} is {v}, beyond the {column} column ({min} to {max}); the database rejects or clips it"
            ),
        )),
        PyInt::Value(v) if v < 0 => Some((false, format!("{name} is negative ({v})"))),
        PyInt::Value(_) => None,
    }
}

fn check_lifecycle(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    let completed = record.text(Field::Status) == Some("completed");
    let start = record.time(Field::StartTime);
    let end = record.time(Field::EndTime).filter(|end| *end != 0);
    if completed
        && end.is_none()
        && record
            .slot(Field::EndTime)
            .is_none_or(|s| s.value != Value::Invalid)
    {
        draft.push(located(
            Finding::error(
                rules::CLOUD_LIFECYCLE,
                "a completed VM has EndTime 0 or none; the repository files it in January 1970 \
                 instead of the month it ended",
            ),
            record,
            Field::EndTime,
        ));
    }
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        draft.push(located(
            Finding::error(
                rules::CLOUD_LIFECYCLE,
                format!("EndTime {end} is before StartTime {start}"),
            ),
            record,
            Field::EndTime,
        ));
    }
    let horizon = draft.opts.now.saturating_add(FUTURE_TOLERANCE_SECONDS);
    for field in [Field::StartTime, Field::EndTime, Field::RecordCreateTime] {
        if let Some(time) = record.time(field).filter(|time| *time > horizon) {
            draft.push(located(
                Finding::warning(
                    rules::CLOUD_LIFECYCLE,
                    format!(
                        "{} is {time}, more than a day after the check time; check the clock of \
                         the host that runs cASO",
                        field.name()
                    ),
                ),
                record,
                field,
            ));
        }
    }
    if start.is_none()
        && record
            .slot(Field::StartTime)
            .is_none_or(|s| s.value == Value::Null)
    {
        draft.push(located(
            Finding::warning(
                rules::CLOUD_LIFECYCLE,
                "no StartTime: the repository cannot place a running VM in a month",
            ),
            record,
            Field::StartTime,
        ));
    }
}

fn check_durations(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    let completed = record.text(Field::Status) == Some("completed");
    let int = |field| match record.int(field) {
        Some(PyInt::Value(value)) => Some(value),
        _ => None,
    };
    let wall = int(Field::WallDuration);
    // A zero written as a decimal ("0.0") is already a type error, but the zero is a fault of
    // its own that stays after the type is fixed.
    let zero_text = record
        .slot(Field::WallDuration)
        .filter(|slot| slot.value == Value::Invalid)
        .and_then(|slot| python::parse_float(slot.raw))
        == Some(0.0);
    if completed && (wall == Some(0) || zero_text) {
        draft.push(located(
            Finding::warning(
                rules::CLOUD_ZERO,
                "WallDuration is 0 for a completed VM; cASO reports at least 1 second",
            ),
            record,
            Field::WallDuration,
        ));
    }
    let start = record.time(Field::StartTime);
    let end = record.time(Field::EndTime).filter(|end| *end != 0);
    if let (Some(wall), Some(start), Some(end)) = (wall, start, end)
        && end >= start
    {
        let elapsed = i128::from(end) - i128::from(start);
        let suspended = int(Field::SuspendDuration).unwrap_or(0).max(0);
        let tolerance = WALL_TOLERANCE_SECONDS.max(elapsed / 100) + suspended;
        if (wall - elapsed).abs() > tolerance {
            draft.push(located(
                Finding::warning(
                    rules::CLOUD_WALL,
                    format!("WallDuration is {wall} s but EndTime - StartTime is {elapsed} s"),
                ),
                record,
                Field::WallDuration,
            ));
        }
    }
    let cpu = int(Field::CpuDuration);
    let count = record.float(Field::CpuCount);
    if let (Some(cpu), Some(wall), Some(count)) = (cpu, wall, count)
        && count.is_finite()
        && count >= 0.0
        && (cpu as f64) > (wall as f64) * count + 1.0
    {
        draft.push(located(
            Finding::warning(
                rules::CLOUD_CPU,
                format!("CpuDuration {cpu} s exceeds WallDuration x CpuCount ({wall} s x {count})"),
            ),
            record,
            Field::CpuDuration,
        ));
    }
}

fn check_attribution(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    if record.text(Field::Fqan).is_none() {
        let project = record.text(Field::LocalGroupId);
        match project.and_then(|p| draft.opts.context.project_vo(p)) {
            Some(mapping) => {
                let causes = if mapping.causes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", mapping.causes.join("; "))
                };
                draft.push(located(
                    Finding::error(
                        rules::VO_MAPPING,
                        format!(
                            "no FQAN, but project {} serves VO {}; its usage is lost for the VO{causes}",
                            mapping.project, mapping.vo
                        ),
                    ),
                    record,
                    Field::Fqan,
                ));
            }
            None => draft.push(located(
                Finding::warning(
                    rules::CLOUD_FQAN,
                    "no FQAN: the usage is not attributed to any VO; check cASO's VO mapping \
                     (the project property it reads, or voms.json)",
                ),
                record,
                Field::Fqan,
            )),
        }
    }
    let opts = draft.opts;
    check_name(
        record,
        Field::SiteName,
        opts.site_name.as_deref(),
        rules::SITE_NAME,
        draft,
    );
    match record.text(Field::CloudComputeService) {
        None => draft.push(located(
            Finding::warning(
                rules::SERVICE,
                "no CloudComputeService: APEL stores 'None' and the portal cannot tell the \
                 site's cloud services apart",
            ),
            record,
            Field::CloudComputeService,
        )),
        Some(_) => check_name(
            record,
            Field::CloudComputeService,
            opts.service.as_deref(),
            rules::SERVICE,
            draft,
        ),
    }
}

fn check_name(
    record: &CloudRecord<'_>,
    field: Field,
    expected: Option<&str>,
    rule: &str,
    draft: &mut Draft<'_>,
) {
    if let (Some(actual), Some(expected)) = (record.text(field), expected)
        && actual != expected
    {
        draft.push(located(
            Finding::error(
                rule,
                format!(
                    "{} is '{}' but the site profile says '{expected}'; the portal files this \
                     usage elsewhere",
                    field.name(),
                    python::shorten(actual, 60)
                ),
            ),
            record,
            field,
        ));
    }
}

fn check_nova_state(record: &CloudRecord<'_>, draft: &mut Draft<'_>) {
    let Some(server) = record
        .text(Field::VmUuid)
        .and_then(|uuid| draft.opts.context.nova_servers.get(uuid))
    else {
        return;
    };
    if !server.is_finished() {
        return;
    }
    let completed = record.text(Field::Status) == Some("completed");
    let closed = record
        .time(Field::EndTime)
        .filter(|end| *end != 0)
        .is_some();
    if completed && closed {
        return;
    }
    let never_launched = if server.launched_at.is_none() {
        ", never launched"
    } else {
        ""
    };
    draft.push(located(
        Finding::error(
            rules::CLOUD_LIFECYCLE,
            format!(
                "Nova lists this VM as {}{never_launched}, but the record says Status {} with {}; \
                 the repository counts it as running for ever. A finished VM must be published \
                 as completed with an EndTime (cASO closes deleted servers since 2020)",
                server.status,
                record.text(Field::Status).unwrap_or("none"),
                if closed { "an EndTime" } else { "no EndTime" }
            ),
        ),
        record,
        Field::Status,
    ));
}
