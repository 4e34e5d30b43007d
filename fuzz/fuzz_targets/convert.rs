//! Typing, CSV and NDJSON on arbitrary bytes: never panic, and the CSV read
//! back with the csv crate has as many rows as the NDJSON has lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhist::emit::{EmitOptions, Format, Level, RowWriter};
use scanhist::{decode_records, repair, RepairOptions};

fuzz_target!(|input: &[u8]| {
    let Ok(repaired) = repair(input, &RepairOptions::default()) else {
        return;
    };
    let records = decode_records(&repaired);
    for level in [Level::Target, Level::Session] {
        let mut csv = RowWriter::new(Vec::new(), EmitOptions { level, ..EmitOptions::default() }).unwrap();
        let ndjson_options = EmitOptions { level, format: Format::Ndjson, ..EmitOptions::default() };
        let mut ndjson = RowWriter::new(Vec::new(), ndjson_options).unwrap();
        for session in records.sessions() {
            let a = csv.write_session("fuzz", session).unwrap();
            let b = ndjson.write_session("fuzz", session).unwrap();
            assert_eq!(a, b);
        }
        let csv = csv.finish().unwrap();
        let ndjson = ndjson.finish().unwrap();
        let csv_rows = csv::Reader::from_reader(csv.as_slice()).records().map(|r| r.expect("valid CSV")).count();
        let ndjson = String::from_utf8(ndjson).expect("NDJSON is UTF-8");
        for line in ndjson.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("each NDJSON line is JSON");
        }
        assert_eq!(csv_rows, ndjson.lines().count());
    }
});
