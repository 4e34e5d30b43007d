//! Properties of typing and conversion, checked with proptest: CSV and NDJSON
//! agree row for row; rows are targets plus sessions without targets; time
//! values survive format → parse; repair and typing agree on what is readable;
//! the one-pass `read` finds exactly what `repair` then `decode_records` find.

mod common;

use common::{damaged_text, scan_history, scan_history_with_extras, with_sample_damage};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use scanhist::emit::{EmitOptions, Format, Level, RowWriter, TARGET_COLUMNS};
use scanhist::{decode_records, read, read_each_with, repair, DurationFormat, RepairOptions, ScanDuration, Timestamp};

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
/// second thread meanwhile.
fn read_each_agrees_with_read(input: &[u8]) -> Result<(), TestCaseError> {
    let options = RepairOptions::default();
    let mut storage = String::new();
    let kept = read(input, &options, &mut storage);
    for typed_whole in [usize::MAX, 0] {
        let (mut handed_on, mut each_storage) = (Vec::new(), String::new());
        let each = read_each_with(input, &options, typed_whole, &mut each_storage, &mut |session| {
            handed_on.push(format!("{session:?}"));
        });
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
    Ok(())
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
/// input: typed whole, it is typed again and handed on as it goes; checked
/// on a second thread, typing waits for the check. Either way `read_each`
/// hands on what `read` keeps, with the documented sample's damage too.
#[test]
fn more_tiny_records_than_are_held_are_all_handed_on() {
    let records = vec!["{}"; 80_000].join(",");
    for input in [format!(r#"{{"value": [{records}]}}"#), format!(r#"{{"value": [{{"sessionId": "a",}},{records}]}}"#)]
    {
        read_each_agrees_with_read(input.as_bytes()).unwrap();
    }
}
