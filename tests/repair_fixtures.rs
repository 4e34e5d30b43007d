//! One fixture per repair kind: `tests/fixtures/repair/*` holds the inputs;
//! each snapshot holds the input, the repaired text, and the repair log with
//! line:column.
//!
//! Every fixture must also repair to strict JSON that repairs again with zero
//! repairs; the snapshot pins what the repairs were.

use std::fmt::Write;
use std::fs;

use scanhist::{repair, RepairOptions};

fn show_input(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("(not UTF-8, shown escaped)\n{}", bytes.escape_ascii()),
    }
}

fn report(bytes: &[u8]) -> String {
    let mut out = format!("--- input\n{}\n", show_input(bytes));
    match repair(bytes, &RepairOptions::default()) {
        Err(error) => writeln!(out, "--- error\n{error}").unwrap(),
        Ok(repaired) => {
            writeln!(out, "--- repaired ({} documents)\n{}", repaired.document_ranges().len(), repaired.text())
                .unwrap();
            writeln!(out, "--- log").unwrap();
            let index = repaired.line_index();
            for r in repaired.repairs() {
                writeln!(out, "{}: {}: {}", index.line_col(r.span.start), r.kind, r.description).unwrap();
            }
            for n in repaired.notes() {
                writeln!(out, "{}: {}: {}", index.line_col(n.span.start), n.kind.name(), n.description).unwrap();
            }
            check_strict_fixed_point(repaired.text());
        }
    }
    out
}

fn check_strict_fixed_point(text: &str) {
    for document in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
        document.unwrap_or_else(|e| panic!("not strict JSON ({e}): {text}"));
    }
    let again = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
    assert!(again.repairs().is_empty(), "second repair made {:?}", again.repairs());
    assert_eq!(again.text(), text);
}

#[test]
fn repair_fixtures() {
    insta::glob!("fixtures/repair/*", |path| {
        let bytes = fs::read(path).unwrap();
        insta::assert_snapshot!(report(&bytes));
    });
}

#[test]
fn documented_sample_gives_one_session_with_three_targets() {
    let bytes = fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/documented-sample.json")).unwrap();
    let repaired = repair(&bytes, &RepairOptions::default()).unwrap();
    let value: serde_json::Value = serde_json::from_str(repaired.text()).unwrap();
    let sessions = value["value"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let targets = sessions[0]["ListScannedTargets"].as_array().unwrap();
    let ips: Vec<_> = targets.iter().map(|t| t["Ip"].as_str().unwrap()).collect();
    assert_eq!(ips, ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    assert_eq!(targets[2]["ScanDuration"], "00:08:50");
    // The session's own fields come through, after the run too.
    assert_eq!(sessions[0]["LastScanned"], "2022-12-19T15:14:24.5561791Z");
    assert_eq!(sessions[0].as_object().unwrap().len(), 8);
}
