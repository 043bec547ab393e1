//! Unit tests of `validate_message`, one or more per rule.

use super::*;

/// A cASO 5.2.2 record of a completed VM; tests change one line at a time.
const BASE: &str = "APEL-cloud-message: v0.4\n\
CloudComputeService: https://keystone.example.org:5000/v3\n\
CloudType: caso/5.2.2 (OpenStack)\n\
CpuCount: 8\n\
CpuDuration: 367440\n\
Disk: 80\n\
EndTime: 1709300730\n\
FQAN: vo.example.org\n\
GlobalUserName: a1b2@egi.eu\n\
LocalGroupId: 3f1e6bb0\n\
LocalUserId: 9b2d0e7c\n\
MachineName: batch-worker-17\n\
Memory: 16384\n\
PublicIPCount: 0\n\
SiteName: EXAMPLE-SITE\n\
StartTime: 1709254800\n\
Status: completed\n\
VMUUID: 00000000-0000-4000-8000-000000000002\n\
WallDuration: 45930\n";

const NOW: i64 = 1_709_337_600;

fn check(text: &str) -> MessageReport {
    validate_message("m", text.as_bytes(), &ValidateOptions::at(NOW))
}

fn with_line(old: &str, new: &str) -> String {
    assert!(BASE.contains(old), "BASE has no line {old}");
    BASE.replacen(old, new, 1)
}

fn rules_of(report: &MessageReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|finding| (finding.rule.as_str(), finding.severity))
        .collect()
}

fn has(report: &MessageReport, rule: &str, severity: Severity) -> bool {
    rules_of(report).contains(&(rule, severity))
}

#[test]
fn baseline_passes_clean() {
    let report = check(BASE);
    assert_eq!(report.kind, MessageType::Cloud);
    assert_eq!(report.version.as_deref(), Some("v0.4"));
    assert_eq!(report.records, 1);
    assert_eq!(report.apel, ApelVerdict::Accepted);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.passed);
    assert_eq!(report.newest_record_time, Some(1_709_300_730));
}

#[test]
fn float_duration_rejects_with_record_and_line() {
    let text = format!(
        "{BASE}%%\n{}",
        BASE.replacen("WallDuration: 45930", "WallDuration: 0.0", 1)
            .split_once('\n')
            .unwrap()
            .1
    );
    let report = check(&text);
    assert_eq!(report.apel, ApelVerdict::Rejected);
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: Invalid int value 0.0 in field WallDuration")
    );
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == rules::CLOUD_TYPES)
        .expect("a type finding");
    assert_eq!(finding.record, Some(2));
    assert_eq!(finding.line, Some(38));
    assert_eq!(finding.field.as_deref(), Some("WallDuration"));
    assert!(report.explanation.as_deref().unwrap().contains("record 2"));
}

#[test]
fn status_outside_caso_vocabulary_warns() {
    let report = check(&with_line("Status: completed", "Status: running"));
    assert_eq!(report.apel, ApelVerdict::Accepted);
    assert!(has(&report, rules::CLOUD_STATUS, Severity::Warning));
    assert!(report.passed);
}

#[test]
fn other_header_version_warns() {
    let report = check(&with_line("v0.4", "v0.2"));
    assert_eq!(report.apel, ApelVerdict::Accepted);
    assert!(has(&report, rules::CLOUD_HEADER, Severity::Warning));
}

#[test]
fn duplicate_key_names_kept_value() {
    let report = check(&format!("{BASE}Status: started\n"));
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == rules::CLOUD_DUPLICATE_KEY)
        .expect("duplicate finding");
    assert_eq!(finding.severity, Severity::Warning);
    assert!(finding.message.contains("keeps the last value 'started'"));
    assert_eq!(finding.line, Some(20));
}

#[test]
fn non_ascii_is_an_error_but_accepted() {
    let report = check(&with_line(
        "MachineName: batch-worker-17",
        "MachineName: µ-vm",
    ));
    assert_eq!(report.apel, ApelVerdict::Accepted);
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == rules::ENCODING)
        .expect("encoding finding");
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.line, Some(12));
    assert_eq!(finding.record, Some(1));
    assert_eq!(finding.field.as_deref(), Some("MachineName"));
    assert!(!report.passed);
}

#[test]
fn long_strings_exceed_columns() {
    let long = "x".repeat(256);
    let report = check(&with_line(
        "MachineName: batch-worker-17",
        &format!("MachineName: {long}"),
    ));
    assert!(has(&report, rules::CLOUD_LENGTH, Severity::Error));
    let report = check(&format!("{BASE}BenchmarkType: {}\n", "b".repeat(51)));
    assert!(has(&report, rules::CLOUD_LENGTH, Severity::Error));
    let report = check(&format!("{BASE}BenchmarkType: {}\n", "b".repeat(50)));
    assert!(!has(&report, rules::CLOUD_LENGTH, Severity::Error));
}

#[test]
fn integer_and_decimal_ranges() {
    let report = check(&with_line("PublicIPCount: 0", "PublicIPCount: 2147483648"));
    assert!(has(&report, rules::CLOUD_RANGE, Severity::Error));
    let report = check(&with_line("PublicIPCount: 0", "PublicIPCount: 2147483647"));
    assert!(!has(&report, rules::CLOUD_RANGE, Severity::Error));
    let report = check(&with_line("CpuCount: 8", "CpuCount: 10000000"));
    assert!(has(&report, rules::CLOUD_RANGE, Severity::Error));
    let report = check(&with_line("Memory: 16384", "Memory: -5"));
    assert!(has(&report, rules::CLOUD_RANGE, Severity::Warning));
    assert_eq!(report.apel, ApelVerdict::Accepted);
}

#[test]
fn completed_without_end_or_ending_early() {
    let report = check(&with_line("EndTime: 1709300730", "EndTime: 0"));
    assert!(has(&report, rules::CLOUD_LIFECYCLE, Severity::Error));
    let report = check(&with_line("EndTime: 1709300730", "EndTime: 1709254000"));
    assert!(has(&report, rules::CLOUD_LIFECYCLE, Severity::Error));
    assert_eq!(report.apel, ApelVerdict::Accepted);
}

#[test]
fn zero_wall_and_wall_mismatch() {
    let report = check(&with_line("WallDuration: 45930", "WallDuration: 0"));
    assert!(has(&report, rules::CLOUD_ZERO, Severity::Warning));
    assert!(has(&report, rules::CLOUD_WALL, Severity::Warning));
    let report = check(&with_line("WallDuration: 45930", "WallDuration: 45900"));
    assert!(!has(&report, rules::CLOUD_WALL, Severity::Warning));
}

#[test]
fn cpu_above_wall_times_count() {
    let report = check(&with_line("CpuDuration: 367440", "CpuDuration: 367442"));
    assert!(has(&report, rules::CLOUD_CPU, Severity::Warning));
    let report = check(&with_line("CpuDuration: 367440", "CpuDuration: 367441"));
    assert!(!has(&report, rules::CLOUD_CPU, Severity::Warning));
}

#[test]
fn missing_fqan_warns_without_context() {
    let report = check(&with_line("FQAN: vo.example.org", "FQAN: None"));
    assert!(has(&report, rules::CLOUD_FQAN, Severity::Warning));
    assert!(report.passed);
}

#[test]
fn missing_fqan_is_error_for_a_vo_project() {
    let mut opts = ValidateOptions::at(NOW);
    opts.context
        .set_voms_mapping_json(&serde_json::json!({"vo.example.org": {"projects": ["3f1e6bb0"]}}));
    let text = with_line("FQAN: vo.example.org", "FQAN: None");
    let report = validate_message("m", text.as_bytes(), &opts);
    assert!(has(&report, rules::VO_MAPPING, Severity::Error));
    assert!(!report.passed);
}

#[test]
fn site_and_service_must_match_profile() {
    let mut opts = ValidateOptions::at(NOW);
    opts.site_name = Some("OTHER-SITE".to_owned());
    opts.service = Some("https://keystone.example.org:5000/v3".to_owned());
    let report = validate_message("m", BASE.as_bytes(), &opts);
    assert!(has(&report, rules::SITE_NAME, Severity::Error));
    assert!(!has(&report, rules::SERVICE, Severity::Error));
    let report = check(&BASE.replacen(
        "CloudComputeService: https://keystone.example.org:5000/v3\n",
        "",
        1,
    ));
    assert!(has(&report, rules::SERVICE, Severity::Warning));
}

#[test]
fn same_vm_twice_in_a_message() {
    let body = BASE.split_once('\n').unwrap().1;
    let report = check(&format!("{BASE}%%\n{body}"));
    assert_eq!(report.records, 2);
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == rules::CLOUD_DUPLICATE_VM)
        .expect("duplicate VM");
    assert_eq!(finding.record, Some(2));
}

#[test]
fn message_size_limits() {
    let body = BASE.split_once('\n').unwrap().1;
    let mut text = String::from("APEL-cloud-message: v0.4\n");
    for index in 0..101 {
        text.push_str(&body.replace("000000000002", &format!("{index:012}")));
        text.push_str("%%\n");
    }
    let report = check(&text);
    assert_eq!(report.records, 101);
    assert!(has(&report, rules::MESSAGE_SIZE, Severity::Warning));
    let big = format!("{BASE}MachineName: {}\n", "m".repeat(MESSAGING_LIMIT_BYTES));
    assert!(has(&check(&big), rules::MESSAGE_SIZE, Severity::Error));
}

#[test]
fn empty_and_whitespace_messages_are_rejected() {
    for text in ["", " \n\t\n"] {
        let report = check(text);
        assert_eq!(report.apel, ApelVerdict::Rejected);
        assert!(has(&report, rules::EMPTY, Severity::Error));
    }
}

#[test]
fn unknown_type_is_named() {
    let report = check("hello: world\n");
    assert_eq!(report.kind, MessageType::Unknown);
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: Message type hello: world not recognised.")
    );
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == rules::TYPE_UNKNOWN)
        .expect("unknown type");
    assert!(finding.message.contains("hello: world"));
}

#[test]
fn star_checks() {
    let ns = star::STAR_NAMESPACE;
    let record = |site: &str, end: &str| {
        format!(
            "<sr:StorageUsageRecord><sr:RecordIdentity sr:createTime=\"2024-03-02T00:00:00Z\" \
             sr:recordId=\"r1\"/><sr:StorageSystem>svc</sr:StorageSystem><sr:Site>{site}</sr:Site>\
             <sr:SubjectIdentity><sr:Group>vo</sr:Group></sr:SubjectIdentity>\
             <sr:StartTime>2024-03-01T00:00:00Z</sr:StartTime><sr:EndTime>{end}</sr:EndTime>\
             <sr:ResourceCapacityUsed>10</sr:ResourceCapacityUsed></sr:StorageUsageRecord>"
        )
    };
    let doc = |body: String| {
        format!("<sr:StorageUsageRecords xmlns:sr=\"{ns}\">{body}</sr:StorageUsageRecords>")
    };
    let report = check(&doc(record("S", "2024-03-02T00:00:00Z")));
    assert_eq!(report.kind, MessageType::Storage);
    assert_eq!(report.apel, ApelVerdict::Accepted);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.newest_record_time, Some(NOW));

    let report = check(&doc(record("S", "2024-02-01T00:00:00Z")));
    assert!(has(&report, rules::STAR_FIELDS, Severity::Error));
    let report = check(&doc(record("S", "soon")));
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: Unable to parse date string 'soon'")
    );
    let report = check(&doc(String::new()));
    assert!(has(&report, rules::STAR_NONEMPTY, Severity::Error));
    let report = check(&format!("{}<x/>", doc(record("S", "2024-03-02T00:00:00Z"))));
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: junk after document element")
    );
    let report = check("<a><b></a>");
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: mismatched tag")
    );
    let report = check("<a>");
    assert_eq!(
        report.apel_reason.as_deref(),
        Some("Parsing unsuccessful: no element found")
    );
}

#[test]
fn ip_schema_checks() {
    let message = |record: &str| {
        format!(
            "{{\"Type\": \"APEL Public IP message\", \"Version\": \"0.2\", \"UsageRecords\": [{record}]}}"
        )
    };
    let good = "{\"MeasurementTime\": 1709337600, \"SiteName\": \"S\", \"CloudType\": \"c\", \"LocalUser\": \"u\", \
                \"LocalGroup\": \"g\", \"GlobalUserName\": \"x@egi.eu\", \"FQAN\": \"vo\", \"IPVersion\": 4, \"IPCount\": 1}";
    let report = check(&message(good));
    assert_eq!(report.kind, MessageType::Ip);
    assert_eq!(report.apel, ApelVerdict::Rejected);
    assert!(
        report
            .apel_reason
            .as_deref()
            .unwrap()
            .starts_with("Parsing unsuccessful: Message type {\"Type\"")
    );
    assert!(report.passed, "{:?}", report.findings);
    let bad = good
        .replace("\"IPVersion\": 4", "\"IPVersion\": 5")
        .replace("\"LocalUser\": \"u\", ", "");
    let report = check(&message(&bad));
    let errors: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(
        errors,
        [Some("LocalUser".to_owned()), Some("IPVersion".to_owned())]
    );
    assert!(!report.passed);
}

#[test]
fn accelerator_schema_checks() {
    let text = "{\"Type\": \"APEL-accelerator-message\", \"Version\": \"0.1\", \"UsageRecords\": [{\"MeasurementMonth\": 13, \
                \"MeasurementYear\": 2024, \"AssociatedRecordType\": \"cloud\", \"AssociatedRecord\": \"u\", \"FQAN\": \"vo\", \
                \"SiteName\": \"S\", \"Count\": 1, \"AvailableDuration\": 10, \"Type\": \"GPU\", \"benchmark_value\": 3.0}]}";
    let report = check(text);
    assert_eq!(report.kind, MessageType::Accelerator);
    assert!(has(&report, rules::ACCELERATOR_SCHEMA, Severity::Error));
    assert!(has(&report, rules::ACCELERATOR_SCHEMA, Severity::Warning));
}

#[test]
fn hostile_inputs_never_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00garbage".to_vec(),
        b"APEL-cloud-message: v0.4\r\nVMUUID: a\r\nSiteName: \x00S\r\n".to_vec(),
        b"APEL-cloud-message: v0.4\nVMUUID: \xc3\x28\nSiteName: S\n".to_vec(),
        b"<sr:a xmlns:sr='x'>\xff</sr:a>".to_vec(),
        b"{\"Type\": \"APEL Public IP message\", \"UsageRecords\": [1, null, {}]}".to_vec(),
        b"{\"Type\": \"APEL-accelerator-message\"}".to_vec(),
        b"IP message v0.4\n['{\"a\": ".to_vec(),
        b"%%%%%%\n::::\n".to_vec(),
        b"APEL-cloud-message:".to_vec(),
        b"<".to_vec(),
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>".to_vec(),
    ];
    let mut long_line = b"APEL-cloud-message: v0.4\nVMUUID: a\nSiteName: S\nMachineName: ".to_vec();
    long_line.resize(long_line.len() + 100 * 1024 * 1024, b'x');
    inputs.push(long_line);
    let mut long_xml = b"<".to_vec();
    long_xml.resize(100 * 1024 * 1024, b'a');
    inputs.push(long_xml);
    for input in &inputs {
        let report = validate_message("m", input, &ValidateOptions::at(NOW));
        let json = serde_json::to_string(&report).expect("reports serialise");
        assert!(
            json.len() < 1_000_000,
            "report stays small for a {} byte input",
            input.len()
        );
    }
}
