//! Properties of `repair`, checked with proptest:
//! valid JSON passes through untouched; any input repairs to strict JSON that
//! is a fixed point; deleted and added commas repair back to the original.

mod common;

use common::{damaged_text, json_value};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use scanhist::repair::repair_in_parts;
use scanhist::{repair, RepairOptions, Repaired};
use serde_json::Value;
use std::ops::ControlFlow;

fn values(text: &str) -> Vec<Value> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    deserializer
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not strict JSON ({e}): {text:?}"))
}

/// Checks what must hold of any successful repair.
fn check_repaired(input: &[u8]) {
    let Ok(repaired) = repair(input, &RepairOptions::default()) else {
        return;
    };
    let documents = values(repaired.text());
    assert_eq!(documents.len(), repaired.document_ranges().len());
    for repair in repaired.repairs() {
        assert!(repair.span.start <= repair.span.end && repair.span.end <= input.len(), "{repair:?}");
    }
    let again = repair(repaired.text().as_bytes(), &RepairOptions::default()).expect("repaired text repairs");
    assert!(again.repairs().is_empty(), "second repair of {:?}: {:?}", repaired.text(), again.repairs());
    assert_eq!(again.text(), repaired.text());
}

/// Checks that the parts `repair_in_parts` hands on are the whole repair in pieces.
fn check_parts(input: &[u8], part_bytes: usize) {
    let options = RepairOptions::default();
    let mut parts: Vec<Repaired> = Vec::new();
    let in_parts = repair_in_parts(input, &options, part_bytes, |part| {
        parts.push(part);
        ControlFlow::Continue(())
    });
    let whole = match repair(input, &options) {
        Ok(whole) => whole,
        Err(error) => {
            assert_eq!(in_parts, Err(error));
            assert!(parts.is_empty(), "{} parts before an error with no document", parts.len());
            return;
        }
    };
    assert_eq!(in_parts, Ok(()));
    let texts: Vec<&str> = parts.iter().map(Repaired::text).collect();
    assert_eq!(texts.concat(), whole.text(), "parts {texts:?}");
    let repairs: Vec<_> = parts.iter().flat_map(|p| p.repairs().iter().cloned()).collect();
    assert_eq!(repairs, whole.repairs());
    let notes: Vec<_> = parts.iter().flat_map(|p| p.notes().iter().cloned()).collect();
    assert_eq!(notes, whole.notes());
    let mut base = 0;
    let mut documents = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        // Only what follows the last document may make a part of its own.
        let last = i + 1 == parts.len();
        assert!(last || !part.document_ranges().is_empty(), "a part without a document: {texts:?}");
        documents.extend(part.document_ranges().iter().map(|d| d.start + base..d.end + base));
        // A part's end maps to the end of its last document; the whole text's
        // same offset may map past a deletion that follows, in the next part.
        for offset in 0..part.text().len() {
            assert_eq!(part.input_offset(offset), whole.input_offset(base + offset), "offset {offset} of {texts:?}");
        }
        base += part.text().len();
    }
    assert_eq!(documents, whole.document_ranges());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failing cases are kept, committed, in proptest-regressions/.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/repair_properties.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_json_passes_through_untouched(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
        let repaired = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
        prop_assert!(repaired.repairs().is_empty(), "{:?}", repaired.repairs());
        prop_assert_eq!(repaired.text(), text.as_str());
        let expected: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(values(repaired.text()), vec![expected]);
    }

    #[test]
    fn damaged_text_repairs_to_a_strict_fixed_point(text in damaged_text()) {
        check_repaired(text.as_bytes());
    }

    #[test]
    fn parts_are_the_whole_repair_in_pieces(
        texts in prop::collection::vec(damaged_text(), 1..6),
        part_bytes in 0usize..40,
    ) {
        check_parts(texts.join("\n").as_bytes(), part_bytes);
    }

    #[test]
    fn parts_of_arbitrary_bytes_are_the_whole_repair(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        part_bytes in 0usize..40,
    ) {
        check_parts(&bytes, part_bytes);
    }

    #[test]
    fn arbitrary_bytes_repair_to_a_strict_fixed_point(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_repaired(&bytes);
    }

    #[test]
    fn deleted_commas_repair_to_the_original(value in json_value(), seed in any::<u64>()) {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        // In pretty output a comma followed by a newline is structural: strings
        // cannot hold a raw newline.
        let mut keep = seed;
        let damaged = pretty.split(",\n").enumerate().fold(String::new(), |mut out, (i, part)| {
            if i > 0 {
                out.push_str(if keep & 1 == 0 { "\n" } else { ",\n" });
                keep = keep.rotate_right(1);
            }
            out.push_str(part);
            out
        });
        let repaired = repair(damaged.as_bytes(), &RepairOptions::default()).unwrap();
        let expected: Value = serde_json::from_str(&pretty).unwrap();
        prop_assert_eq!(values(repaired.text()), vec![expected]);
    }

    #[test]
    fn added_trailing_commas_repair_to_the_original(value in json_value()) {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let lines: Vec<&str> = pretty.lines().collect();
        let mut damaged = String::new();
        for (i, line) in lines.iter().enumerate() {
            damaged.push_str(line);
            let next_closes = lines.get(i + 1).is_some_and(|n| n.trim_start().starts_with(['}', ']']));
            if next_closes && !line.ends_with(['{', '[']) {
                damaged.push(',');
            }
            damaged.push('\n');
        }
        let repaired = repair(damaged.as_bytes(), &RepairOptions::default()).unwrap();
        let expected: Value = serde_json::from_str(&pretty).unwrap();
        prop_assert_eq!(values(repaired.text()), vec![expected]);
        let added = damaged.len() - pretty.len() - 1;
        prop_assert_eq!(repaired.repairs().len(), added);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    let error = repair(deep.as_bytes(), &RepairOptions::default()).unwrap_err();
    assert_eq!(error.to_string(), "nesting deeper than 512 levels at line 1 column 513");
    let shallow = repair(b"[[[1]]]", &RepairOptions { max_depth: 2 }).unwrap_err();
    assert!(matches!(shallow.kind, scanhist::RepairErrorKind::TooDeep { limit: 2 }));
}

#[test]
fn a_repair_in_parts_stops_when_asked() {
    let input = "[1,]\n".repeat(10);
    let mut parts = 0;
    let done = repair_in_parts(input.as_bytes(), &RepairOptions::default(), 0, |part| {
        parts += 1;
        assert_eq!(part.text(), "[1]\n");
        if parts == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!((done, parts), (Ok(()), 3));
}

#[test]
fn parts_before_nesting_too_deep_are_handed_on_before_the_error() {
    let input = format!("{}{}", "[1,]\n".repeat(3), "[".repeat(600));
    let mut texts = Vec::new();
    let error = repair_in_parts(input.as_bytes(), &RepairOptions::default(), 0, |part| {
        texts.push(part.text().to_owned());
        ControlFlow::Continue(())
    })
    .unwrap_err();
    assert_eq!(texts, ["[1]\n", "[1]\n", "[1]\n"]);
    assert_eq!(error, repair(input.as_bytes(), &RepairOptions::default()).unwrap_err());
    assert_eq!(error.to_string(), "nesting deeper than 512 levels at line 4 column 513");
}
