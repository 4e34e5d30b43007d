//! Byte spans in the original input, and their line:column positions.
//!
//! Every stage stores plain byte offsets. Lines and columns are computed only
//! when a message is rendered, through a [`LineIndex`] built on first use.
//! Lines and columns count from 1; columns count characters, not bytes.

use std::cell::{Cell, OnceCell};
use std::fmt;

use serde::Serialize;

use crate::decode::{Encoding, SourceMap};

/// A half-open byte range `start..end` in the original input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte; equal to `start` for a point.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Span { start, end }
    }

    /// An empty span at `offset`, for insertions and end-of-input events.
    pub fn point(offset: usize) -> Self {
        Span::new(offset, offset)
    }

    /// The number of bytes covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A position as a person reads it: line and column, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LineCol {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps byte offsets of an input to lines and columns.
///
/// The line table is built on the first lookup, so inputs whose positions are
/// never shown pay nothing. Columns count characters, which takes a scan of
/// the line; the last lookup is remembered and counted from when it is
/// nearer, so lookups in increasing order (as logs are written) scan each
/// line once in all, even a 100 MB line, and a step back costs its length.
#[derive(Debug)]
pub struct LineIndex<'a> {
    input: &'a [u8],
    encoding: Encoding,
    /// Whether the input is known to be valid UTF-8, so that counting its
    /// characters needs no check.
    valid_utf8: bool,
    line_starts: OnceCell<Vec<usize>>,
    /// The last lookup: its line's start offset, its offset, and its column.
    last: Cell<(usize, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    /// An index over `input`, read in `encoding`.
    pub fn new(input: &'a [u8], encoding: Encoding) -> Self {
        LineIndex {
            input,
            encoding,
            valid_utf8: false,
            line_starts: OnceCell::new(),
            last: Cell::new((usize::MAX, 0, 0)),
        }
    }

    /// An index over `input`, which decoding mapped to its text by `map`:
    /// clean UTF-8 is not checked again when columns are counted.
    pub(crate) fn of_decoded(input: &'a [u8], encoding: Encoding, map: &SourceMap) -> Self {
        LineIndex { valid_utf8: matches!(map, SourceMap::Shifted(_)), ..LineIndex::new(input, encoding) }
    }

    /// The line and column of byte `offset`. Offsets past the end are clamped.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.input.len());
        let starts = self.line_starts.get_or_init(|| self.compute_line_starts());
        let line = starts.partition_point(|&start| start <= offset);
        // The byte-order mark is not a column: offsets in it are column 1.
        let line_start = starts[line - 1].max(self.encoding.bom_len()).min(offset);
        // Count from the last lookup when it is on this line and nearer than
        // the line's start, backwards too: logs look up mostly forwards, but
        // a part's typing findings follow its repairs, a step back each.
        let (last_line_start, last_offset, last_column) = self.last.get();
        let column = if last_line_start == line_start && last_offset.abs_diff(offset) < offset - line_start {
            if last_offset <= offset {
                last_column + self.count_chars(&self.input[last_offset..offset])
            } else {
                last_column - self.count_chars(&self.input[offset..last_offset])
            }
        } else {
            self.count_chars(&self.input[line_start..offset]) + 1
        };
        self.last.set((line_start, offset, column));
        LineCol { line, column }
    }

    fn compute_line_starts(&self) -> Vec<usize> {
        let mut starts = vec![0];
        match self.encoding.unit_order() {
            None => starts.extend(memchr::memchr_iter(b'\n', self.input).map(|i| i + 1)),
            Some(big_endian) => {
                let bom = self.encoding.bom_len();
                for (i, unit) in self.input[bom..].chunks_exact(2).enumerate() {
                    let unit = if big_endian {
                        u16::from_be_bytes([unit[0], unit[1]])
                    } else {
                        u16::from_le_bytes([unit[0], unit[1]])
                    };
                    if unit == u16::from(b'\n') {
                        starts.push(bom + 2 * i + 2);
                    }
                }
            }
        }
        starts
    }

    fn count_chars(&self, bytes: &[u8]) -> usize {
        match self.encoding.unit_order() {
            None if self.valid_utf8 => bytecount::num_chars(bytes),
            // Each invalid sequence is one U+FFFD in the decoded text.
            None => match simdutf8::basic::from_utf8(bytes) {
                Ok(text) => text.chars().count(),
                Err(_) => bytes
                    .utf8_chunks()
                    .map(|chunk| chunk.valid().chars().count() + usize::from(!chunk.invalid().is_empty()))
                    .sum(),
            },
            Some(big_endian) => bytes
                .chunks_exact(2)
                .filter(|unit| {
                    let high = if big_endian { unit[0] } else { unit[1] };
                    // A low surrogate continues the character its high surrogate began.
                    !(0xDC..=0xDF).contains(&high)
                })
                .count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "ab\nçd\n\nx";
        let index = LineIndex::new(text.as_bytes(), Encoding::Utf8);
        assert_eq!(index.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(2), LineCol { line: 1, column: 3 });
        assert_eq!(index.line_col(3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes but one column.
        assert_eq!(index.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(index.line_col(7), LineCol { line: 3, column: 1 });
        assert_eq!(index.line_col(8), LineCol { line: 4, column: 1 });
        assert_eq!(index.line_col(99), LineCol { line: 4, column: 2 });
    }

    #[test]
    fn lookups_in_any_order_agree() {
        let text = "aé😀b\ncd\n";
        let index = LineIndex::new(text.as_bytes(), Encoding::Utf8);
        let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let forward: Vec<LineCol> = offsets.iter().map(|&o| index.line_col(o)).collect();
        let backward: Vec<LineCol> = offsets.iter().rev().map(|&o| index.line_col(o)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(forward[3], LineCol { line: 1, column: 4 });
        assert_eq!(index.line_col(offsets[3]), LineCol { line: 1, column: 4 });
    }

    proptest::proptest! {
        #[test]
        fn lookups_from_the_last_one_agree_with_counting_from_the_line_start(
            text in "([a\n]|é|😀){0,40}",
            picks in proptest::collection::vec(0usize..64, 1..20),
        ) {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let index = LineIndex::new(text.as_bytes(), Encoding::Utf8);
            for pick in picks {
                let offset = boundaries[pick % boundaries.len()];
                let fresh = LineIndex::new(text.as_bytes(), Encoding::Utf8).line_col(offset);
                proptest::prop_assert_eq!(index.line_col(offset), fresh, "offset {} of {:?}", offset, text);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn clean_utf8_counts_as_checked_utf8_does(
            text in "\u{FEFF}?([a\n]|é|😀){0,40}",
            picks in proptest::collection::vec(0usize..64, 1..20),
        ) {
            let input = text.as_bytes();
            let decoded = crate::decode::decode(input);
            let clean = LineIndex::of_decoded(input, decoded.encoding, &decoded.source_map);
            let checked = LineIndex::new(input, decoded.encoding);
            let boundaries: Vec<usize> = (0..=input.len()).filter(|&i| text.is_char_boundary(i)).collect();
            for pick in picks {
                let offset = boundaries[pick % boundaries.len()];
                proptest::prop_assert_eq!(clean.line_col(offset), checked.line_col(offset), "offset {} of {:?}", offset, text);
            }
        }
    }

    #[test]
    fn input_that_decoding_repaired_is_counted_checked() {
        // A lone continuation byte is one column, though it starts no character.
        let input = b"a\x80b";
        let decoded = crate::decode::decode(input);
        let index = LineIndex::of_decoded(input, decoded.encoding, &decoded.source_map);
        assert_eq!(index.line_col(2), LineCol { line: 1, column: 3 });
    }

    #[test]
    fn utf8_bom_is_not_a_column() {
        let input = b"\xEF\xBB\xBF{}";
        let index = LineIndex::new(input, Encoding::Utf8Bom);
        assert_eq!(index.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(3), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(4), LineCol { line: 1, column: 2 });
    }

    #[test]
    fn each_invalid_utf8_sequence_is_one_column() {
        // 0xFF and 0xFE are two invalid sequences; 0xE2 0x82 is one cut-short sequence.
        let input = b"a\xFF\xFEb\xE2\x82c";
        let index = LineIndex::new(input, Encoding::Utf8);
        assert_eq!(index.line_col(3), LineCol { line: 1, column: 4 });
        assert_eq!(index.line_col(6), LineCol { line: 1, column: 6 });
    }

    #[test]
    fn utf16_lines_and_surrogate_pairs() {
        let text = "a\n😀b";
        let mut input = vec![0xFF, 0xFE];
        input.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let index = LineIndex::new(&input, Encoding::Utf16Le { bom: true });
        assert_eq!(index.line_col(2), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(6), LineCol { line: 2, column: 1 });
        // The emoji is a surrogate pair: four bytes, one column.
        assert_eq!(index.line_col(10), LineCol { line: 2, column: 2 });
    }
}
