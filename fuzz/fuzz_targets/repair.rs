//! `repair` on arbitrary bytes: never panics; on success the output is strict
//! JSON, repairing it again changes nothing, and every span lies in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhist::{repair, RepairOptions};

fuzz_target!(|input: &[u8]| {
    let Ok(repaired) = repair(input, &RepairOptions::default()) else {
        return;
    };
    let mut deserializer = serde_json::Deserializer::from_str(repaired.text());
    deserializer.disable_recursion_limit();
    let documents = deserializer
        .into_iter::<serde::de::IgnoredAny>()
        .map(|document| document.expect("repaired text is strict JSON"))
        .count();
    assert_eq!(documents, repaired.document_ranges().len());
    for repair in repaired.repairs() {
        assert!(repair.span.start <= repair.span.end && repair.span.end <= input.len(), "{repair:?}");
    }
    for note in repaired.notes() {
        assert!(note.span.end <= input.len(), "{note:?}");
    }
    let again = repair(repaired.text().as_bytes(), &RepairOptions::default()).expect("repaired text repairs");
    assert!(again.repairs().is_empty(), "second repair made {:?}", again.repairs());
    assert_eq!(again.text(), repaired.text());
});
