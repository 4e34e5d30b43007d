//! Properties of `repair`, checked with proptest:
//! valid JSON passes through untouched; any input repairs to strict JSON that
//! is a fixed point; deleted and added commas repair back to the original.

mod common;

use common::{damaged_text, json_value};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use scanhist::{repair, RepairOptions};
use serde_json::Value;

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
