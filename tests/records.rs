//! Typed records through the library: aliases, time values, addresses,
//! statuses, PowerShell damage, API errors, and diagnostics that point at values.

use scanhist::record::time::TICKS_PER_SECOND;
use scanhist::{decode_records, repair, DiagnosticCode, Records, RepairOptions, ScanStatus, Severity, TargetAddress};

fn records(input: &str) -> Records<'static> {
    let repaired = repair(input.as_bytes(), &RepairOptions::default()).unwrap();
    decode_records(&repaired).into_owned()
}

fn codes(records: &Records) -> Vec<DiagnosticCode> {
    records.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn documented_and_metadata_spellings_match_case_insensitively() {
    let sample = r#"{"value": [
        {"SessionIds": "a1", "ScanDefinitionIds": "d1", "ORGID": "o1", "ScannerId": "s1", "ScanStatus": "Success",
         "GeneralErrorMessage": "none", "NumberOfTargets": 1, "NumberOfSuccessfullyScannedTargets": 1,
         "ListScannedTargets": [{"IP": "10.0.0.1", "HOSTNAME": "h", "ScannedDeviceDescription": "d",
                                 "ErrorMessage": "e", "ScanStatus": "Failure", "ScanDuration": "00:00:01"}]},
        {"sessionId": "a2", "scanDefinitionId": "d2", "scannedTargets": []}
    ]}"#;
    let records = records(sample);
    assert!(records.diagnostics.is_empty(), "{:?}", records.diagnostics);
    let sessions: Vec<_> = records.sessions().collect();
    let first = sessions[0];
    assert_eq!(first.session_id.as_deref(), Some("a1"));
    assert_eq!(first.scan_definition_id.as_deref(), Some("d1"));
    assert_eq!(first.org_id.as_deref(), Some("o1"));
    assert_eq!(first.scanner_id.as_deref(), Some("s1"));
    assert_eq!(first.general_error_message.as_deref(), Some("none"));
    assert_eq!((first.number_of_targets, first.number_of_successfully_scanned_targets), (Some(1), Some(1)));
    let target = &first.targets.as_ref().unwrap()[0];
    assert_eq!(target.ip, Some(TargetAddress::Ip("10.0.0.1".parse().unwrap())));
    assert_eq!(target.hostname.as_deref(), Some("h"));
    assert_eq!(target.device_description.as_deref(), Some("d"));
    assert_eq!(target.error_message.as_deref(), Some("e"));
    assert_eq!(target.status, Some(ScanStatus::Failure));
    assert_eq!(target.duration.unwrap().ticks(), TICKS_PER_SECOND);
    assert_eq!(sessions[1].session_id.as_deref(), Some("a2"));
    assert_eq!(sessions[1].targets.as_ref().map(Vec::len), Some(0));
}

#[test]
fn unknown_keys_are_kept_in_order() {
    let records = records(
        r#"{"value": [{"sessionId": "a", "zeta": [1], "alpha": {"x": null},
        "scannedTargets": [{"ip": "::1", "vendor": "acme"}]}]}"#,
    );
    let session = records.sessions().next().unwrap();
    let keys: Vec<&str> = session.extra.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["zeta", "alpha"]);
    assert_eq!(session.extra[1].1.get(), r#"{"x": null}"#);
    let target_extra = &session.targets.as_ref().unwrap()[0].extra;
    assert_eq!((target_extra[0].0.as_str(), target_extra[0].1.get()), ("vendor", r#""acme""#));
}

#[test]
fn unknown_values_are_kept_whole_at_any_depth() {
    let deep = format!("{}{}", "[".repeat(400), "]".repeat(400));
    let records = records(&format!(r#"{{"value": [{{"sessionId": "a", "nested": {deep}}}]}}"#));
    assert!(records.diagnostics.is_empty());
    assert_eq!(records.sessions().next().unwrap().extra[0].1.get(), deep);
}

#[test]
fn the_documented_sample_types_to_one_session_with_three_targets() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/documented-sample.json")).unwrap();
    let repaired = repair(&bytes, &RepairOptions::default()).unwrap();
    let records = decode_records(&repaired);
    let sessions: Vec<_> = records.sessions().collect();
    assert_eq!(sessions.len(), 1);
    let session = sessions[0];
    assert_eq!(session.last_scanned.unwrap().to_string(), "2022-12-19T15:14:24.5561791Z");
    let seconds: Vec<i64> =
        session.targets.as_ref().unwrap().iter().map(|t| t.duration.unwrap().ticks() / TICKS_PER_SECOND).collect();
    assert_eq!(seconds, [510, 480, 530]);
    assert_eq!(records.envelopes[0].context.as_deref().map(|c| c.ends_with("GetScanHistoryBySessionId")), Some(true));
}

#[test]
fn the_documented_sample_is_typed_in_one_pass_from_the_input() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/documented-sample.json")).unwrap();
    let mut storage = String::new();
    let (repaired, records) = scanhist::read(&bytes, &RepairOptions::default(), &mut storage).unwrap();
    let kinds: Vec<&str> = repaired.repairs().iter().map(|r| r.kind.name()).collect();
    assert_eq!(kinds, ["object-run", "trailing-comma", "trailing-comma", "trailing-comma", "trailing-comma"]);
    // Every hostname borrows from the input, not from a repaired copy.
    let session = records.sessions().next().unwrap();
    let hostnames: Vec<&str> = session.targets.iter().flatten().filter_map(|t| t.hostname.as_deref()).collect();
    assert_eq!(hostnames, ["DESKTOP-Test", "DESKTOP-Test2", "DESKTOP-Test3"]);
    assert!(hostnames.iter().all(|h| bytes.as_ptr_range().contains(&h.as_ptr())));
    // read_each too, when it types the input whole before handing sessions on.
    let (mut each_storage, mut from_input) = (String::new(), Vec::new());
    let (each, _) = scanhist::read_each(&bytes, &RepairOptions::default(), &mut each_storage, |session| {
        let targets = session.targets.unwrap_or_default();
        from_input
            .extend(targets.iter().map(|t| bytes.as_ptr_range().contains(&t.hostname.as_deref().unwrap().as_ptr())));
    })
    .unwrap();
    assert_eq!(each.repairs(), repaired.repairs());
    assert_eq!(from_input, [true, true, true]);
}

#[test]
fn time_values_are_noted_or_reported_at_their_value() {
    let input = "{\"value\": [{\"sessionId\": \"a\",\n  \"LastScanned\": \"2024-05-01T10:00:00.5\",\n  \"scannedTargets\": [{\"ip\": \"10.0.0.1\", \"scanDuration\": \"00:60:00\"}]}]}";
    let repaired = repair(input.as_bytes(), &RepairOptions::default()).unwrap();
    let records = decode_records(&repaired);
    assert_eq!(codes(&records), [DiagnosticCode::MissingZone, DiagnosticCode::InvalidValue]);
    let index = repaired.line_index();
    let zone = &records.diagnostics[0];
    assert_eq!(
        (index.line_col(zone.span.start).to_string(), zone.pointer.as_str()),
        ("2:18".to_owned(), "/value/0/LastScanned")
    );
    let bad = &records.diagnostics[1];
    assert_eq!(bad.severity, Severity::Error);
    assert_eq!(bad.message, "minutes must be below 60 in \"00:60:00\", not 60");
    assert_eq!(bad.pointer, "/value/0/scannedTargets/0/scanDuration");
    assert_eq!(index.line_col(bad.span.start).to_string(), "3:57");
    assert_eq!(&input[bad.span.start..bad.span.end], "\"00:60:00\"");
    // The record still comes out, its duration empty, its timestamp read as UTC.
    let session = records.sessions().next().unwrap();
    assert_eq!(session.last_scanned.unwrap().to_string(), "2024-05-01T10:00:00.5Z");
    assert_eq!(session.targets.as_ref().unwrap()[0].duration, None);
}

#[test]
fn diagnostics_point_into_the_original_input_after_repairs() {
    // The BOM and the single quotes shift every offset of the repaired text.
    let input = "\u{feff}{'value': [{'sessionId': 'a', 'LastScanned': 'never'}]}";
    let repaired = repair(input.as_bytes(), &RepairOptions::default()).unwrap();
    let records = decode_records(&repaired);
    let d = &records.diagnostics[0];
    assert_eq!(&input[d.span.start..d.span.end], "'never'");
    assert_eq!(repaired.line_index().line_col(d.span.start).to_string(), "1:46");
}

#[test]
fn utf16_spans_are_bytes_of_the_utf16_input() {
    let text = "{\"value\": [{\"LastScanned\": \"x\"}]}";
    let mut input = vec![0xFF, 0xFE];
    input.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let repaired = repair(&input, &RepairOptions::default()).unwrap();
    let d = &decode_records(&repaired).diagnostics[0];
    let quoted_x_at = 2 + 2 * text.find("\"x\"").unwrap();
    assert_eq!((d.span.start, d.span.end), (quoted_x_at, quoted_x_at + 6));
}

#[test]
fn addresses_statuses_and_counts() {
    let records = records(
        r#"{"value": [{"sessionId": "a", "scanStatus": "Partial Success", "numberOfTargets": "3",
        "scannedTargets": [{"ip": "fe80::1"}, {"ip": "[2001:db8::1]"}, {"ip": "printer.local"}, {"ip": ""},
                           {"scanStatus": "Unreachable"}]}]}"#,
    );
    let session = records.sessions().next().unwrap();
    assert_eq!(session.status, Some(ScanStatus::PartialSuccess));
    assert_eq!(session.number_of_targets, Some(3));
    let targets = session.targets.as_ref().unwrap();
    assert_eq!(targets[0].ip, Some(TargetAddress::Ip("fe80::1".parse().unwrap())));
    assert_eq!(targets[1].ip, Some(TargetAddress::Ip("2001:db8::1".parse().unwrap())));
    assert_eq!(targets[2].ip, Some(TargetAddress::Unparsed("printer.local".to_owned())));
    assert_eq!(targets[3].ip, None);
    assert_eq!(targets[4].status, Some(ScanStatus::Other("Unreachable".to_owned())));
    assert_eq!(codes(&records), [DiagnosticCode::NumberAsString, DiagnosticCode::IpKeptAsText]);
}

#[test]
fn powershell_flattened_targets_are_read_back_with_a_warning() {
    let records = records(
        r#"{"value": [{"sessionId": "a", "LastScanned": "\/Date(1671462864556)\/", "scannedTargets": [
            "@{ip=10.0.0.1; hostname=sw-1; scanStatus=Success; scanDuration=00:03:00}"]}]}"#,
    );
    let session = records.sessions().next().unwrap();
    assert_eq!(session.last_scanned.unwrap().to_string(), "2022-12-19T15:14:24.556Z");
    let target = &session.targets.as_ref().unwrap()[0];
    assert_eq!(target.hostname.as_deref(), Some("sw-1"));
    assert_eq!(target.duration.unwrap().ticks(), 180 * TICKS_PER_SECOND);
    let warning = &records.diagnostics[0];
    assert_eq!(warning.code, DiagnosticCode::PowershellDepth);
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.hint.as_deref().unwrap().contains("-Depth"), "{warning:?}");
}

#[test]
fn an_api_error_body_is_reported_and_yields_no_records() {
    let records =
        records(r#"{"error": {"code": "Forbidden", "message": "Missing Machine.Read.All", "target": "6d2c"}}"#);
    assert_eq!(records.sessions().count(), 0);
    let error = &records.diagnostics[0];
    assert_eq!(error.code, DiagnosticCode::ApiError);
    assert_eq!(error.severity, Severity::Error);
    assert!(error.message.ends_with("Forbidden: Missing Machine.Read.All"), "{}", error.message);
}

#[test]
fn several_documents_give_all_their_records_in_order() {
    let records = records(
        "{\"value\": [{\"sessionId\": \"p1\"}], \"@odata.nextLink\": \"next\"}{\"value\": [{\"sessionId\": \"p2\"}]}\n\
         {\"sessionId\": \"r3\"}\n[{\"sessionId\": \"r4\"}, {\"sessionId\": \"r5\"}]\n",
    );
    let ids: Vec<_> = records.sessions().map(|s| s.session_id.clone().unwrap()).collect();
    assert_eq!(ids, ["p1", "p2", "r3", "r4", "r5"]);
    assert_eq!(records.envelopes[0].next_link.as_deref(), Some("next"));
    assert_eq!(records.envelopes.len(), 4);
}

#[test]
fn bad_records_and_targets_are_reported_and_the_rest_still_come_out() {
    let records = records(r#"{"value": [7, {"sessionId": "ok", "scannedTargets": [null, {"ip": "10.0.0.1"}]}, "x"]}"#);
    let ids: Vec<_> = records.sessions().map(|s| s.session_id.clone()).collect();
    assert_eq!(ids, [Some("ok".into())]);
    assert_eq!(records.sessions().next().unwrap().targets.as_ref().unwrap().len(), 1);
    let found: Vec<(DiagnosticCode, &str)> = records.diagnostics.iter().map(|d| (d.code, d.pointer.as_str())).collect();
    assert_eq!(
        found,
        [
            (DiagnosticCode::InvalidRecord, "/value/0"),
            (DiagnosticCode::InvalidTarget, "/value/1/scannedTargets/0"),
            (DiagnosticCode::InvalidRecord, "/value/2"),
        ]
    );
}

#[test]
fn scalars_and_wrong_shapes_are_not_scan_history() {
    let records = records("42\n{\"value\": {\"sessionId\": \"a\"}}\n");
    assert_eq!(codes(&records), [DiagnosticCode::NotScanHistory, DiagnosticCode::NotScanHistory]);
    assert_eq!(records.sessions().count(), 0);
}

#[test]
fn pages_saved_as_one_array_are_each_an_envelope() {
    let records = records(
        r#"[{"value": [{"sessionId": "p1"}], "@odata.nextLink": "next"},
            {"error": {"code": "TooManyRequests", "message": "slow down"}},
            {"value": [{"sessionId": "p3", "LastScanned": "later"}]}]"#,
    );
    let ids: Vec<_> = records.sessions().map(|s| s.session_id.clone().unwrap()).collect();
    assert_eq!(ids, ["p1", "p3"]);
    assert_eq!(records.envelopes.len(), 2);
    assert_eq!(records.envelopes[0].next_link.as_deref(), Some("next"));
    let found: Vec<(DiagnosticCode, &str)> = records.diagnostics.iter().map(|d| (d.code, d.pointer.as_str())).collect();
    assert_eq!(
        found,
        [(DiagnosticCode::ApiError, "/1/error"), (DiagnosticCode::InvalidValue, "/2/value/0/LastScanned")]
    );
}

#[test]
fn a_root_array_of_records_is_one_envelope() {
    let records = records(r#"[{"sessionId": "r1"}, {"sessionId": "r2"}]"#);
    assert_eq!(records.envelopes.len(), 1);
    assert_eq!(records.envelopes[0].sessions.len(), 2);
}

#[test]
fn a_record_is_known_from_a_response_only_at_its_end() {
    // "value" comes last, so the members before it were typed as a record's
    // until then; none of that may leak into the result.
    let response = records(r#"{"@odata.context": "c", "scanStatus": 7, "value": [{"sessionId": "a"}]}"#);
    assert_eq!(response.envelopes.len(), 1);
    assert_eq!(response.envelopes[0].context.as_deref(), Some("c"));
    let ids: Vec<_> = response.sessions().map(|s| s.session_id.clone().unwrap()).collect();
    assert_eq!(ids, ["a"]);
    assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);

    // Without "value" the same members are a record, and its findings stand.
    let record = records(r#"{"@odata.context": "c", "scanStatus": 7, "sessionId": "r"}"#);
    let session = record.sessions().next().unwrap();
    assert_eq!(session.session_id.as_deref(), Some("r"));
    assert_eq!(session.extra[0].0, "@odata.context");
    assert_eq!(codes(&record), [DiagnosticCode::InvalidValue]);
    assert_eq!(record.diagnostics[0].pointer, "/scanStatus");
}

#[test]
fn duplicate_keys_type_the_last_field_and_every_value_array() {
    let input = r#"{"value": [{"sessionId": "a", "sessionId": "b"}], "value": [{"sessionId": "c"}]}"#;
    let repaired = repair(input.as_bytes(), &RepairOptions::default()).unwrap();
    assert_eq!(repaired.notes().len(), 2, "{:?}", repaired.notes());
    let records = decode_records(&repaired);
    let ids: Vec<_> = records.sessions().map(|s| s.session_id.clone().unwrap()).collect();
    assert_eq!(ids, ["b", "c"]);
}

#[test]
fn read_finds_repeated_keys_however_they_are_spelled_and_wherever_they_are() {
    // (members, repeated): keys scanhist types, spelled as its tables spell
    // them or not, escaped, and keys it does not know.
    let cases = [
        (r#""ip": "10.0.0.1", "ip": "10.0.0.2""#, true),
        (r#""IP": "10.0.0.1", "IP": "10.0.0.2""#, true),
        (r#""ip": "10.0.0.1", "IP": "10.0.0.2""#, false),
        (r#""ip": "10.0.0.1", "\u0069p": "10.0.0.2""#, true),
        (r#""sessionId": "a", "sessionId": "b""#, true),
        (r#""sessionId": "a", "SessionIds": "b", "sessionIds": "c""#, false),
        (r#""port": 1, "port": 2"#, true),
        (r#""port": 1, "Port": 2, "value2": 3"#, false),
    ];
    for (members, repeated) in cases {
        let documents = [
            format!(r#"{{"value": [{{"sessionId": "s", "scannedTargets": [{{{members}}}]}}]}}"#),
            format!(r#"{{"value": [{{"scanStatus": "Success", {members}}}]}}"#),
            format!(r#"[{{{members}}}]"#),
        ];
        for text in documents {
            let mut storage = String::new();
            let (one_pass, records) = scanhist::read(text.as_bytes(), &RepairOptions::default(), &mut storage).unwrap();
            let two_steps = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
            assert_eq!(one_pass.notes(), two_steps.notes(), "{text}");
            assert_eq!(one_pass.notes().iter().any(|n| n.kind == scanhist::NoteKind::DuplicateKey), repeated, "{text}");
            let expected = decode_records(&two_steps);
            assert_eq!(format!("{:?}", records.envelopes), format!("{:?}", expected.envelopes), "{text}");
            // Typed while a second thread checks the input, as large inputs are.
            let (mut each_storage, mut sessions) = (String::new(), 0);
            let options = RepairOptions::default();
            let (each, _) = scanhist::read_each_with(text.as_bytes(), &options, 0, &mut each_storage, &mut |_| {
                sessions += 1;
            })
            .unwrap();
            assert_eq!(each.notes(), two_steps.notes(), "{text}");
            assert_eq!(sessions, expected.sessions().count(), "{text}");
        }
    }
}

#[test]
fn a_run_of_bare_records_between_pages_is_an_envelope_of_its_own() {
    let input = r#"[{"sessionId": "r1"}, {"sessionId": "r2"}, {"value": [{"sessionId": "p"}]}, {"sessionId": "r3"}]"#;
    let records = records(input);
    let runs: Vec<Vec<&str>> = records
        .envelopes
        .iter()
        .map(|e| e.sessions.iter().map(|s| s.session_id.as_deref().unwrap()).collect())
        .collect();
    assert_eq!(runs, [vec!["r1", "r2"], vec!["p"], vec!["r3"]]);
    // A run's span covers its records.
    let first = &records.envelopes[0].span;
    assert_eq!(&input[first.start..first.end], r#"{"sessionId": "r1"}, {"sessionId": "r2"}"#);
}

#[test]
fn a_plural_field_takes_the_first_string_of_nested_arrays() {
    let nested = records(r#"{"value": [{"orgId": [["o1", "o2"], "o3"], "sessionId": []}]}"#);
    let session = nested.sessions().next().unwrap();
    assert_eq!(session.org_id.as_deref(), Some("o1"));
    assert_eq!(session.session_id, None);
    // One finding per array that held more than one value, each at the field.
    assert_eq!(codes(&nested), [DiagnosticCode::SeveralValues, DiagnosticCode::SeveralValues]);
    assert!(nested.diagnostics.iter().all(|d| d.pointer == "/value/0/orgId"));

    // Nested to the depth limit: a loop, not a recursion per level.
    let deep = format!(r#"{{"value": [{{"orgId": {}"o"{}}}]}}"#, "[".repeat(500), "]".repeat(500));
    assert_eq!(records(&deep).sessions().next().unwrap().org_id.as_deref(), Some("o"));
}
