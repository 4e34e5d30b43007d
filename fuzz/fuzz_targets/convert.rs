//! Typing, CSV and NDJSON on arbitrary bytes: never panic; the one-pass
//! `read` and `read_each` (typed whole, or checked on a second thread; the
//! parts of a session it hands on joined) find the sessions `repair` then
//! `decode_records` find (and `read` the same repaired text, repairs and
//! notes); and the CSV read back with the csv crate has as many rows as the
//! NDJSON has lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhist::emit::{EmitOptions, Format, Level, RowWriter};
use scanhist::{decode_records, read, read_each_with, repair, RepairOptions, ScanSession};

fuzz_target!(|input: &[u8]| {
    let Ok(repaired) = repair(input, &RepairOptions::default()) else {
        return;
    };
    let records = decode_records(&repaired);
    let expected: Vec<String> = records.sessions().map(|s| format!("{s:?}")).collect();
    let mut storage = String::new();
    let (one_pass_repaired, one_pass) =
        read(input, &RepairOptions::default(), &mut storage).expect("read fails only where repair does");
    assert_eq!(one_pass_repaired.text(), repaired.text());
    assert_eq!(one_pass_repaired.repairs(), repaired.repairs());
    assert_eq!(one_pass_repaired.notes(), repaired.notes());
    assert_eq!(one_pass.sessions().map(|s| format!("{s:?}")).collect::<Vec<_>>(), expected);
    assert_eq!(format!("{:?}", one_pass.diagnostics), format!("{:?}", records.diagnostics));
    for typed_whole in [usize::MAX, 0] {
        let (mut handed_on, mut storage) = (Vec::new(), String::new());
        // A session with a long target list comes in parts, joined here.
        let mut joined: Option<ScanSession> = None;
        read_each_with(input, &RepairOptions::default(), typed_whole, &mut storage, &mut |part| {
            let session = match joined.take() {
                Some(mut session) => {
                    session.join(part).expect("the session's next part");
                    session
                }
                None => part,
            };
            match session.more_targets {
                true => joined = Some(session),
                false => handed_on.push(format!("{session:?}")),
            }
        })
        .expect("read_each fails only where repair does");
        assert!(joined.is_none(), "a session's last part never came");
        assert_eq!(handed_on, expected);
    }
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
