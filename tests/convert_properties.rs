//! Properties of typing and conversion, checked with proptest: CSV and NDJSON
//! agree row for row; rows are targets plus sessions without targets; time
//! values survive format → parse; repair and typing agree on what is readable.

mod common;

use common::{damaged_text, scan_history};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use scanhist::emit::{EmitOptions, Format, Level, RowWriter, TARGET_COLUMNS};
use scanhist::{decode_records, repair, DurationFormat, RepairOptions, ScanDuration, Timestamp};

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
}
