//! Runs every file of JSONTestSuite (`../shared/testdata/JSONTestSuite`)
//! through `repair`.
//!
//! - `y_` files are valid JSON: the same value as serde_json, zero repairs.
//! - `n_` files are invalid: an error or at least one repair, never silent acceptance.
//! - no file panics, and whatever `repair` returns is strict JSON that
//!   repairs again to itself with zero repairs.

use std::fs;
use std::path::PathBuf;

use scanhist::{repair, RepairOptions};

fn suite() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/JSONTestSuite/test_parsing");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() > 300, "the suite has {} files; expected over 300", files.len());
    files
}

/// Every document in `text`. The suite nests up to 500 deep, past serde_json's
/// default limit of 128 but within the repair limit of 512.
fn values(text: &str) -> Vec<serde_json::Value> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    deserializer
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("repaired text is not strict JSON ({e}): {text:?}"))
}

#[test]
fn valid_files_give_serde_json_value_with_zero_repairs() {
    let mut checked = 0;
    for (name, bytes) in suite().iter().filter(|(name, _)| name.starts_with("y_")) {
        let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let repaired = repair(bytes, &RepairOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(repaired.repairs().is_empty(), "{name}: {:?}", repaired.repairs());
        assert_eq!(repaired.text().as_bytes(), &bytes[..], "{name}: text changed");
        assert_eq!(repaired.document_ranges().len(), 1, "{name}");
        assert_eq!(values(repaired.text()), vec![expected], "{name}");
        checked += 1;
    }
    assert_eq!(checked, 95);
}

#[test]
fn invalid_files_are_repaired_or_rejected_never_silently_accepted() {
    let mut checked = 0;
    for (name, bytes) in suite().iter().filter(|(name, _)| name.starts_with("n_")) {
        match repair(bytes, &RepairOptions::default()) {
            Ok(repaired) => assert!(!repaired.repairs().is_empty(), "{name}: accepted without a repair"),
            Err(error) => assert!(!error.to_string().is_empty(), "{name}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 188);
}

#[test]
fn every_file_repairs_to_strict_json_that_is_a_fixed_point() {
    for (name, bytes) in suite() {
        let Ok(repaired) = repair(&bytes, &RepairOptions::default()) else {
            continue;
        };
        let documents = values(repaired.text());
        assert_eq!(documents.len(), repaired.document_ranges().len(), "{name}");
        for (range, document) in repaired.document_ranges().iter().zip(&documents) {
            let alone = values(&repaired.text()[range.clone()]);
            assert_eq!(alone.as_slice(), std::slice::from_ref(document), "{name}: document {range:?}");
        }
        let again = repair(repaired.text().as_bytes(), &RepairOptions::default()).unwrap();
        assert!(again.repairs().is_empty(), "{name}: second repair made {:?}", again.repairs());
        assert_eq!(again.text(), repaired.text(), "{name}");
        for repair in repaired.repairs() {
            assert!(repair.span.end <= bytes.len(), "{name}: {repair:?} outside the input");
        }
    }
}
