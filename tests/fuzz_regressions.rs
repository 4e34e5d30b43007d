//! Inputs the fuzzers reported, each kept as a named test with its cause.
//!
//! The first campaign (2026-11-27) reported three timeouts of libFuzzer's
//! 5 s wall-clock limit. Re-run on a quiet machine, each input took under a
//! second even in the instrumented build of the code that reported it: the
//! fuzzers, niced, had been starved of CPU while builds and benchmarks ran.
//! They stay as regression inputs because they are hard ones: mixed UTF-16
//! and UTF-8 bytes, cut escapes, and one long line with many repairs (the
//! shape that made column lookups quadratic before the line index continued
//! from its last lookup).
//!
//! The `diagnostics` smoke of session 2 found a real crash: a plural-named
//! field (`orgId`) holding an array whose first element is an array. Typing
//! takes the first string of such a field, and after the strict cursor came
//! in it re-read the outer array for each level instead of the element, so
//! it recursed until the stack overflowed. It now follows each element.
//!
//! The `diagnostics` smoke of session 6 timed out (7 s instrumented) on 250 kB
//! of nested `[{"":` that gives 49,816 repairs and 24,861 notes, most on one
//! line. The cause was the target, not scanhist: it looked up the input's end
//! between every two spans, so each lookup counted the long line's characters
//! again. It now looks the end up once (0.6 s); `scanhist repair` and
//! `convert` take about 24 ms on the input, their logs looking positions up
//! in order.
//!
//! The `split` target's first minute (session 13) found a crash in the
//! second parsing thread that `scanhist repair` starts on a response of a
//! MiB or more (a651ab8): a closer deep in a record that closes everything
//! up to the response object in one token (`}` in `[1}`) ended the document
//! on that thread, which had not seen it begin, and the thread panicked.
//! It now starts inside the document, so the parse ends it, stops at its
//! bound and gives up, and the first thread parses those records itself.

use std::fs;

use scanhist::emit::{EmitOptions, Format, RowWriter};
use scanhist::{decode_records, repair, RepairOptions};

fn fixture(name: &str) -> Vec<u8> {
    fs::read(format!("{}/tests/fixtures/fuzz/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// What the `repair`, `convert` and `diagnostics` targets check.
fn check_fuzz_properties(input: &[u8]) {
    let repaired = repair(input, &RepairOptions::default()).expect("these inputs repair");
    let documents = serde_json::Deserializer::from_str(repaired.text()).into_iter::<serde::de::IgnoredAny>().count();
    assert_eq!(documents, repaired.document_ranges().len());
    let again = repair(repaired.text().as_bytes(), &RepairOptions::default()).unwrap();
    assert!(again.repairs().is_empty());

    let records = decode_records(&repaired);
    let mut csv = RowWriter::new(Vec::new(), EmitOptions::default()).unwrap();
    let mut ndjson =
        RowWriter::new(Vec::new(), EmitOptions { format: Format::Ndjson, ..EmitOptions::default() }).unwrap();
    for session in records.sessions() {
        csv.write_session("fuzz", session).unwrap();
        ndjson.write_session("fuzz", session).unwrap();
    }
    assert_eq!(csv.rows(), ndjson.rows());

    let index = repaired.line_index();
    let last = index.line_col(input.len());
    let spans = repaired.repairs().iter().map(|r| r.span).chain(records.diagnostics.iter().map(|d| d.span));
    for span in spans {
        assert!(span.start <= span.end && span.end <= input.len());
        assert!(index.line_col(span.start) <= last);
    }
}

#[test]
fn repair_target_utf16_fragments_and_cut_escapes() {
    check_fuzz_properties(&fixture("repair-utf16-escapes-timeout.bin"));
}

#[test]
fn convert_target_utf16_fragments_in_utf8_text() {
    check_fuzz_properties(&fixture("convert-utf16-timeout.bin"));
}

#[test]
fn diagnostics_target_one_long_line_of_repairs() {
    check_fuzz_properties(&fixture("diagnostics-long-line-timeout.bin"));
}

#[test]
fn diagnostics_target_an_array_first_in_a_plural_field() {
    check_fuzz_properties(&fixture("diagnostics-nested-plural-arrays.bin"));
}

#[test]
fn diagnostics_target_75000_findings_on_one_long_line() {
    check_fuzz_properties(&fixture("diagnostics-long-line-75000-findings-timeout.bin"));
}

#[test]
fn split_target_a_closer_that_leaves_the_records_array() {
    // Over a MiB, so that the records from about the middle on are parsed
    // on a second thread, whose records end in a bare array closed by '}'.
    let records: Vec<String> = (0..60_000).map(|i| format!("{{\"sessionId\": \"s{i}\"}}")).collect();
    let input = format!("{{\"value\": [{}, [1}} {{\"b\": 1}}\n", records.join(","));
    assert!(input.len() > 1 << 20);
    let whole = repair(input.as_bytes(), &RepairOptions::default()).unwrap();
    assert_eq!(whole.document_ranges().len(), 2);
    let output =
        assert_cmd::Command::cargo_bin("scanhist").unwrap().arg("repair").write_stdin(input.as_str()).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout == whole.text().as_bytes(), "stdout differs from the library's repair");
    let log = String::from_utf8(output.stderr).unwrap();
    assert_eq!(log.lines().count(), whole.repairs().len() + whole.notes().len());
    assert!(log.contains(": missing-closer: inserted ']' to close an array before '}'"), "{log}");
}
