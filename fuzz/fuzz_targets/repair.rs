//! `repair` on arbitrary bytes: never panics; on success the output is strict
//! JSON, repairing it again changes nothing, and every span lies in the input.
//! Repaired in parts, it gives the same text and repairs in pieces.
#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use scanhist::repair::repair_in_parts;
use scanhist::{repair, RepairOptions};

fuzz_target!(|input: &[u8]| {
    let whole = repair(input, &RepairOptions::default());
    // Parts of at least a length the input picks, so that they vary with it.
    let part_bytes = input.first().map_or(0, |&b| usize::from(b % 64));
    let (mut text, mut repairs) = (String::new(), Vec::new());
    let in_parts = repair_in_parts(input, &RepairOptions::default(), part_bytes, |part| {
        text.push_str(part.text());
        repairs.extend_from_slice(part.repairs());
        ControlFlow::Continue(())
    });
    let Ok(repaired) = whole else {
        assert_eq!(in_parts, Err(whole.unwrap_err()));
        return;
    };
    assert_eq!(in_parts, Ok(()));
    assert_eq!(text, repaired.text());
    assert_eq!(repairs, repaired.repairs());
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
