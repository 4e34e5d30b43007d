//! Properties of typing and conversion, checked with proptest: CSV and NDJSON
//! agree row for row; rows are targets plus sessions without targets; time
//! values survive format → parse; repair and typing agree on what is readable;
//! the one-pass `read` finds exactly what `repair` then `decode_records` find.

mod common;

use common::{damaged_text, scan_history, scan_history_with_extras, with_sample_damage};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use scanhist::emit::{EmitOptions, Format, Level, RowWriter, TARGET_COLUMNS};
use scanhist::{
    decode_records, read, read_each_with, repair, DurationFormat, RepairOptions, ScanDuration, ScanSession, Timestamp,
    TARGETS_PER_PART,
};

/// `read` and `repair` + `decode_records` on `input` give the same text,
/// repairs, notes, records and diagnostics (compared through `Debug`, which
/// shows every field, spans included).
fn read_agrees_with_two_steps(input: &[u8]) -> Result<(), TestCaseError> {
    let options = RepairOptions::default();
    let mut storage = String::new();
    match (read(input, &options, &mut storage), repair(input, &options)) {
        (Err(one_pass), Err(two_steps)) => prop_assert_eq!(one_pass, two_steps),
        (Ok((one_pass, records)), Ok(two_steps)) => {
            prop_assert_eq!(one_pass.text(), two_steps.text());
            prop_assert_eq!(one_pass.repairs(), two_steps.repairs());
            prop_assert_eq!(one_pass.notes(), two_steps.notes());
            prop_assert_eq!(one_pass.document_ranges(), two_steps.document_ranges());
            let expected = decode_records(&two_steps);
            prop_assert_eq!(format!("{:?}", records.envelopes), format!("{:?}", expected.envelopes));
            prop_assert_eq!(format!("{:?}", records.diagnostics), format!("{:?}", expected.diagnostics));
        }
        (one_pass, two_steps) => prop_assert!(false, "read {:?}, repair {:?}", one_pass.err(), two_steps.err()),
    }
    Ok(())
}

/// `read_each` hands on exactly the sessions `read` keeps, in order, with
/// the same diagnostics, whether the input is typed whole or checked on a
/// second thread meanwhile; a session it hands on in parts is compared
/// joined, and each of its parts must carry the session's fields. Returns
/// the most targets a part held.
fn read_each_agrees_with_read(input: &[u8]) -> Result<usize, TestCaseError> {
    let options = RepairOptions::default();
    let mut storage = String::new();
    let kept = read(input, &options, &mut storage);
    let mut most = 0;
    for typed_whole in [usize::MAX, 0] {
        let (mut handed_on, mut each_storage) = (Vec::new(), String::new());
        let mut joined: Option<ScanSession> = None;
        let mut fields_differ = Vec::new();
        let each = read_each_with(input, &options, typed_whole, &mut each_storage, &mut |part| {
            most = most.max(part.targets.as_ref().map_or(0, Vec::len));
            let session = match joined.take() {
                Some(mut session) => {
                    let fields = |s: &ScanSession| {
                        format!(
                            "{:?}",
                            ScanSession {
                                targets: None,
                                first_target: 0,
                                more_targets: false,
                                span: Default::default(),
                                ..s.clone()
                            }
                        )
                    };
                    if fields(&session) != fields(&part) {
                        fields_differ.push(fields(&part));
                    }
                    session.join(part).expect("the next part of the session");
                    session
                }
                None => part,
            };
            match session.more_targets {
                true => joined = Some(session),
                false => handed_on.push(format!("{session:?}")),
            }
        });
        prop_assert!(joined.is_none(), "a session's last part never came");
        prop_assert!(fields_differ.is_empty(), "parts without the session's fields: {:?}", fields_differ);
        match (&kept, each) {
            (Err(kept), Err(each)) => prop_assert_eq!(kept, &each),
            (Ok((repaired, records)), Ok((each_repaired, diagnostics))) => {
                prop_assert_eq!(repaired.text(), each_repaired.text());
                let sessions: Vec<String> = records.sessions().map(|s| format!("{s:?}")).collect();
                prop_assert_eq!(&sessions, &handed_on);
                prop_assert_eq!(format!("{:?}", records.diagnostics), format!("{diagnostics:?}"));
            }
            (kept, each) => prop_assert!(false, "read {:?}, read_each {:?}", kept.is_ok(), each.is_ok()),
        }
    }
    Ok(most)
}

fn rows(input: &[u8], format: Format, level: Level) -> (Vec<u8>, u64) {
    let repaired = repair(input, &RepairOptions::default()).unwrap();
    let records = decode_records(&repaired);
    let mut writer = RowWriter::new(Vec::new(), EmitOptions { format, level, ..EmitOptions::default() }).unwrap();
    for session in records.sessions() {
        writer.write_session("p.json", session).unwrap();
    }
    let count = writer.rows();
    (writer.finish().unwrap(), count)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Failing cases are kept, committed, in proptest-regressions/.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/convert_properties.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn csv_and_ndjson_agree_row_for_row(response in scan_history()) {
        let text = serde_json::to_string(&response).unwrap();
        let options = EmitOptions { neutralize_formulas: false, ..EmitOptions::default() };
        let repaired = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
        let records = decode_records(&repaired);
        let mut csv = RowWriter::new(Vec::new(), options).unwrap();
        let mut ndjson = RowWriter::new(Vec::new(), EmitOptions { format: Format::Ndjson, ..options }).unwrap();
        for session in records.sessions() {
            csv.write_session("p.json", session).unwrap();
            ndjson.write_session("p.json", session).unwrap();
        }
        let csv = csv.finish().unwrap();
        let ndjson = String::from_utf8(ndjson.finish().unwrap()).unwrap();
        let csv_rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_slice()).records().map(Result::unwrap).collect();
        let json_rows: Vec<serde_json::Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(csv_rows.len(), json_rows.len());
        for (csv_row, json_row) in csv_rows.iter().zip(&json_rows) {
            for (i, column) in TARGET_COLUMNS.iter().enumerate() {
                let shown = match &json_row[column] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                prop_assert_eq!(&csv_row[i], shown.as_str(), "column {}", column);
            }
        }
    }

    #[test]
    fn rows_are_targets_plus_sessions_without_targets(response in scan_history()) {
        let sessions = response["value"].as_array().unwrap();
        let targets: usize = sessions.iter().map(|s| s["scannedTargets"].as_array().map_or(0, Vec::len)).sum();
        let without: usize = sessions.iter().filter(|s| s["scannedTargets"].as_array().is_none_or(Vec::is_empty)).count();
        let text = serde_json::to_string_pretty(&response).unwrap();
        let (_, target_rows) = rows(text.as_bytes(), Format::Csv, Level::Target);
        prop_assert_eq!(target_rows, (targets + without) as u64);
        let (_, session_rows) = rows(text.as_bytes(), Format::Ndjson, Level::Session);
        prop_assert_eq!(session_rows, sessions.len() as u64);
    }

    #[test]
    fn durations_survive_format_then_parse(ticks in any::<i64>()) {
        let duration = ScanDuration::from_ticks(ticks);
        for format in [DurationFormat::TimeSpan, DurationFormat::Iso8601] {
            let text = duration.display(format).to_string();
            let (parsed, notes) = ScanDuration::parse(&text).unwrap();
            prop_assert_eq!(parsed, duration);
            prop_assert!(notes.is_empty());
        }
    }

    #[test]
    fn timestamps_survive_format_then_parse(seconds in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000, digits in 0usize..=9) {
        let whole = chrono::DateTime::from_timestamp(seconds, 0).unwrap().format("%Y-%m-%dT%H:%M:%S").to_string();
        let text = if digits == 0 { format!("{whole}Z") } else { format!("{whole}.{}Z", &format!("{nanos:09}")[..digits]) };
        let (timestamp, notes) = Timestamp::parse(&text).unwrap();
        prop_assert!(notes.is_empty());
        prop_assert_eq!(timestamp.to_string(), text);
    }

    #[test]
    fn repair_and_typing_agree_on_what_cannot_be_read(text in damaged_text()) {
        match repair(text.as_bytes(), &RepairOptions::default()) {
            Err(_) => {}
            Ok(repaired) => {
                let records = decode_records(&repaired);
                for d in &records.diagnostics {
                    prop_assert!(!d.message.contains("cannot be read"), "{:?} on {:?}", d, repaired.text());
                }
            }
        }
    }

    #[test]
    fn read_agrees_with_repair_then_decode_on_damage(text in damaged_text()) {
        read_agrees_with_two_steps(text.as_bytes())?;
        read_each_agrees_with_read(text.as_bytes())?;
    }

    #[test]
    fn read_agrees_with_repair_then_decode_on_responses(
        response in scan_history(),
        pretty in any::<bool>(),
        // Damage of one kind at one place: a byte cut, or a byte dropped.
        cut in any::<prop::sample::Index>(),
        damage in 0u8..3,
    ) {
        let text = if pretty { serde_json::to_string_pretty(&response) } else { serde_json::to_string(&response) };
        let mut bytes = text.unwrap().into_bytes();
        let at = cut.index(bytes.len());
        match damage {
            0 => {}
            1 => bytes.truncate(at),
            _ => drop(bytes.remove(at)),
        }
        read_agrees_with_two_steps(&bytes)?;
        read_each_agrees_with_read(&bytes)?;
    }

    #[test]
    fn read_agrees_with_repair_then_decode_on_the_documented_samples_damage(
        response in scan_history_with_extras(),
        damage in any::<u64>(),
    ) {
        // Runs under any key: under "value" or a key scanhist does not know, they are repaired first.
        let text = with_sample_damage(&response, damage, |_| true);
        read_agrees_with_two_steps(text.as_bytes())?;
        read_each_agrees_with_read(text.as_bytes())?;
    }

    #[test]
    fn the_documented_samples_damage_is_read_in_one_pass(response in scan_history(), damage in any::<u64>()) {
        // Trailing commas anywhere and runs of targets: the records borrow
        // from the input, not from a repaired copy.
        let text = with_sample_damage(&response, damage, |key| key == "scannedTargets");
        let mut storage = String::new();
        let (repaired, records) = read(text.as_bytes(), &RepairOptions::default(), &mut storage).unwrap();
        prop_assert_eq!(records.sessions().count(), response["value"].as_array().unwrap().len());
        for session in records.sessions() {
            let Some(std::borrow::Cow::Borrowed(id)) = &session.session_id else {
                return Err(TestCaseError::fail("a session id that is not borrowed"));
            };
            prop_assert!(text.as_bytes().as_ptr_range().contains(&id.as_ptr()), "typed from a repaired copy: {}", text);
        }
        let expected = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
        prop_assert_eq!(repaired.repairs(), expected.repairs());
        prop_assert_eq!(repaired.text(), expected.text());
    }
}

#[test]
fn read_agrees_with_repair_then_decode_on_the_samples_and_fixtures() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["samples", "tests/fixtures/repair", "tests/fixtures/convert", "tests/fixtures/fuzz"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            read_agrees_with_two_steps(&bytes).unwrap();
            read_each_agrees_with_read(&bytes).unwrap();
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} files");
}

/// More records than `read_each` holds (16 MiB of sessions) in a small
/// input: typed whole, it is checked then and handed on as it is typed, or,
/// with the documented sample's damage, typed again as damaged input is;
/// checked on a second thread, typing waits for the check. Either way
/// `read_each` hands on what `read` keeps.
#[test]
fn more_tiny_records_than_are_held_are_all_handed_on() {
    let records = vec!["{}"; 80_000].join(",");
    for input in [format!(r#"{{"value": [{records}]}}"#), format!(r#"{{"value": [{{"sessionId": "a",}},{records}]}}"#)]
    {
        read_each_agrees_with_read(input.as_bytes()).unwrap();
    }
}

/// One response, or one NDJSON line (`root`), of a session whose target
/// list is longer than a part: as an array or the documented sample's run,
/// with a trailing comma or not, other members after it or not, an address
/// that is not one at `bad_ip`, and findings before and after the list.
fn long_list(targets: usize, run: bool, trailing_comma: bool, after: bool, root: bool, bad_ip: usize) -> String {
    let target = |i: usize| {
        let ip = if i == bad_ip { "not an address".to_owned() } else { format!("10.0.{}.{}", i / 256, i % 256) };
        format!(r#"{{"ip": "{ip}", "hostname": "h\"{i}\u00e9", "scanDuration": "00:00:0{}"}}"#, i % 10)
    };
    let mut list = (0..targets).map(target).collect::<Vec<_>>().join(",\n");
    if trailing_comma {
        list.push(',');
    }
    let list = if run { list } else { format!("[{list}]") };
    // A count written as a string before the list, a time with no zone after it: each a finding.
    let before = r#""sessionId": "s", "numberOfTargets": "3""#;
    let after = if after { r#", "LastScanned": "2022-12-19T15:14:24", "scanStatus": "Success""# } else { "" };
    let record = format!(r#"{{{before}, "scannedTargets": {list}{after}}}"#);
    if root {
        format!("{record}\n{record}\n")
    } else {
        format!(r#"{{"value": [{record}, {{"sessionId": "next"}}]}}"#)
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/convert_properties.txt"))),
        ..ProptestConfig::default()
    })]

    /// A long target list comes in parts of at most `TARGETS_PER_PART`
    /// targets, which join to the session `read` keeps, findings in the same
    /// order, and write the same rows, wherever the list stands among the
    /// session's members.
    #[test]
    fn long_target_lists_come_in_parts(
        targets in prop::sample::select(vec![1, TARGETS_PER_PART, TARGETS_PER_PART + 1, 2 * TARGETS_PER_PART, 3000]),
        run in any::<bool>(),
        trailing_comma in any::<bool>(),
        after in any::<bool>(),
        root in any::<bool>(),
        bad_ip in 0usize..3000,
    ) {
        let text = long_list(targets, run, trailing_comma, after, root, bad_ip);
        let most = read_each_agrees_with_read(text.as_bytes())?;
        prop_assert_eq!(most, targets.min(TARGETS_PER_PART));
        for level in [Level::Target, Level::Session] {
            for format in [Format::Csv, Format::Ndjson] {
                let options = EmitOptions { format, level, ..EmitOptions::default() };
                let mut storage = String::new();
                let (_, records) = read(text.as_bytes(), &RepairOptions::default(), &mut storage).unwrap();
                let mut kept = RowWriter::new(Vec::new(), options).unwrap();
                for session in records.sessions() {
                    kept.write_session("p.json", session).unwrap();
                }
                let mut each = RowWriter::new(Vec::new(), options).unwrap();
                let mut written = Ok(());
                scanhist::read_each(text.as_bytes(), &RepairOptions::default(), &mut String::new(), |part| {
                    written = written.as_ref().map_err(|_| ()).and(each.write_session("p.json", &part).map(drop).map_err(|_| ()));
                }).unwrap();
                prop_assert!(written.is_ok());
                // Two sessions: the long one twice (root), or it and one without targets.
                let rows = match (level, root) {
                    (Level::Session, _) => 2,
                    (Level::Target, true) => 2 * targets,
                    (Level::Target, false) => targets + 1,
                };
                prop_assert_eq!(each.rows(), kept.rows());
                prop_assert_eq!(kept.rows(), rows as u64);
                prop_assert_eq!(String::from_utf8(each.finish().unwrap()).unwrap(), String::from_utf8(kept.finish().unwrap()).unwrap());
            }
        }
    }
}

/// A record may have its list under both of its names; the last is its
/// list, as when typed whole, whichever of them is long or followed by
/// other members.
#[test]
fn the_last_of_two_target_lists_is_the_sessions() {
    let list = |n: usize| format!("[{}]", vec![r#"{"hostname": "h"}"#; n].join(","));
    let (long, short) = (list(TARGETS_PER_PART + 5), list(2));
    for (first, second, after) in [(&long, &short, ""), (&short, &long, ""), (&long, &long, r#", "sessionId": "s""#)] {
        let input = format!(r#"{{"value": [{{"ListScannedTargets": {first}, "scannedTargets": {second}{after}}}]}}"#);
        read_each_agrees_with_read(input.as_bytes()).unwrap();
    }
}

/// A root object is a record unless it has `value` or `error`, which may
/// come after a long target list: the list is then no session's, and no
/// part of it is handed on.
#[test]
fn a_long_list_before_value_or_error_is_no_sessions() {
    let list = format!("[{}]", vec![r#"{"hostname": "h"}"#; 2 * TARGETS_PER_PART].join(","));
    for after in [r#""value": [{"sessionId": "v"}]"#, r#""error": {"code": "Forbidden", "message": "no"}"#] {
        let input = format!(r#"{{"sessionId": "s", "scannedTargets": {list}, {after}}}"#);
        let most = read_each_agrees_with_read(input.as_bytes()).unwrap();
        assert!(most <= 1, "{most} targets handed on");
    }
}
