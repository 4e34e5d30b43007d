//! Every repair, note and typing diagnostic has a line:col inside the input,
//! at a character boundary of the input's encoding.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use scanhist::{decode_records, repair, Encoding, RepairOptions, Span};

/// Offsets where a character of the decoded text starts, plus the end.
fn boundaries(input: &[u8], encoding: Encoding) -> HashSet<usize> {
    let bom = encoding.bom_len();
    let mut set: HashSet<usize> = [0, bom, input.len()].into_iter().collect();
    match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => {
            let mut at = bom;
            for chunk in input[bom..].utf8_chunks() {
                for (i, _) in chunk.valid().char_indices() {
                    set.insert(at + i);
                }
                at += chunk.valid().len();
                set.insert(at);
                at += chunk.invalid().len();
                set.insert(at);
            }
        }
        Encoding::Utf16Le { .. } | Encoding::Utf16Be { .. } => {
            let big = matches!(encoding, Encoding::Utf16Be { .. });
            let mut at = bom;
            let units = input[bom..].chunks_exact(2).map(|u| {
                if big {
                    u16::from_be_bytes([u[0], u[1]])
                } else {
                    u16::from_le_bytes([u[0], u[1]])
                }
            });
            for decoded in char::decode_utf16(units) {
                set.insert(at);
                at += decoded.map_or(2, |c| 2 * c.len_utf16());
            }
            set.insert(at);
        }
    }
    set
}

fuzz_target!(|input: &[u8]| {
    let Ok(repaired) = repair(input, &RepairOptions::default()) else {
        return;
    };
    let records = decode_records(&repaired);
    let index = repaired.line_index();
    let allowed = boundaries(input, repaired.encoding());
    // Looked up once: between every two lookups of spans, a lookup of the end
    // would count a long line's characters again each time (75,000 repairs and
    // notes on a 250 kB line took 7 s).
    let last = index.line_col(input.len());
    let spans = repaired
        .repairs()
        .iter()
        .map(|r| r.span)
        .chain(repaired.notes().iter().map(|n| n.span))
        .chain(records.diagnostics.iter().map(|d| d.span));
    for Span { start, end } in spans {
        assert!(start <= end && end <= input.len(), "span {start}..{end} of {}", input.len());
        assert!(allowed.contains(&start), "span start {start} is inside a character");
        let position = index.line_col(start);
        assert!(position.line >= 1 && position.column >= 1);
        assert!(position <= last, "{position} past the end {last}");
    }
});
