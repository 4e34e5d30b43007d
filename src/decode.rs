//! Stage 1: bytes to text.
//!
//! Saved responses arrive as UTF-8 (with or without a byte-order mark) or, from
//! Windows PowerShell 5.1's `>` and `Out-File`, as UTF-16 with a BOM. Decoding
//! never fails: invalid sequences become U+FFFD and are reported as repairs.
//!
//! The decoded text keeps a [`SourceMap`] back to the original bytes, so every
//! later stage can report spans in the file the user has.

use std::borrow::Cow;

use serde::Serialize;

use crate::repair::{Repair, RepairKind};
use crate::span::Span;

/// How the input bytes encode text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 behind the byte-order mark `EF BB BF`.
    Utf8Bom,
    /// UTF-16 little-endian, behind `FF FE` or detected from its zero bytes.
    Utf16Le {
        /// Whether the input starts with a byte-order mark.
        bom: bool,
    },
    /// UTF-16 big-endian, behind `FE FF` or detected from its zero bytes.
    Utf16Be {
        /// Whether the input starts with a byte-order mark.
        bom: bool,
    },
}

impl Encoding {
    /// The length of the byte-order mark the input starts with.
    pub fn bom_len(self) -> usize {
        match self {
            Encoding::Utf8 | Encoding::Utf16Le { bom: false } | Encoding::Utf16Be { bom: false } => 0,
            Encoding::Utf8Bom => 3,
            Encoding::Utf16Le { bom: true } | Encoding::Utf16Be { bom: true } => 2,
        }
    }

    /// `None` for UTF-8; for UTF-16, whether it is big-endian.
    pub(crate) fn unit_order(self) -> Option<bool> {
        match self {
            Encoding::Utf8 | Encoding::Utf8Bom => None,
            Encoding::Utf16Le { .. } => Some(false),
            Encoding::Utf16Be { .. } => Some(true),
        }
    }

    /// A short name, as reports show it: `utf-8`, `utf-16le-bom`, ...
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le { bom: false } => "utf-16le",
            Encoding::Utf16Le { bom: true } => "utf-16le-bom",
            Encoding::Utf16Be { bom: false } => "utf-16be",
            Encoding::Utf16Be { bom: true } => "utf-16be-bom",
        }
    }
}

impl Serialize for Encoding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Text decoded from input bytes, with the repairs decoding made.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text; borrowed when the input was already clean UTF-8.
    pub text: Cow<'a, str>,
    /// How the input was encoded.
    pub encoding: Encoding,
    /// Maps offsets in `text` back to offsets in the input bytes.
    pub source_map: SourceMap,
    /// BOM removal, transcoding and replaced invalid sequences, in input order.
    pub repairs: Vec<Repair>,
}

/// Maps byte offsets in decoded text back to byte offsets in the input.
#[derive(Clone, Debug)]
pub enum SourceMap {
    /// Text offset plus a constant: clean UTF-8, maybe behind a BOM.
    Shifted(usize),
    /// UTF-8 with replaced invalid sequences. Each entry is the text and input
    /// offsets just after one replacement; between entries the map has slope 1.
    Replacements(Vec<(usize, usize)>),
    /// UTF-16. Checkpoints pair text and input offsets at character boundaries,
    /// at least every 256 bytes of text; a lookup decodes
    /// forward from the nearest one.
    Utf16 {
        /// Whether the units are big-endian.
        big_endian: bool,
        /// `(text offset, input offset)` pairs, ascending, starting at the BOM's end.
        checkpoints: Vec<(usize, usize)>,
    },
}

/// Text bytes between two UTF-16 checkpoints, at most. Typing maps the span
/// of every session and target, so a lookup must be short: 256 bytes keeps
/// it to a few dozen units, for 16 bytes of map per 256 of text.
const UTF16_CHECKPOINT: usize = 256;

impl SourceMap {
    /// The input offset of text offset `offset`. An offset inside a replacement
    /// character maps to the start of the bytes it replaced.
    pub fn to_input(&self, input: &[u8], offset: usize) -> usize {
        match self {
            SourceMap::Shifted(shift) => offset + shift,
            SourceMap::Replacements(points) => {
                let i = points.partition_point(|&(text, _)| text <= offset);
                if i == 0 {
                    return offset;
                }
                let (text, original) = points[i - 1];
                original + (offset - text)
            }
            SourceMap::Utf16 { big_endian, checkpoints } => {
                let i = checkpoints.partition_point(|&(text, _)| text <= offset);
                let (mut text, mut original) = checkpoints[i.saturating_sub(1)];
                while text < offset {
                    let Some((decoded, len)) = utf16_char(&input[original..], *big_endian) else {
                        break;
                    };
                    text += decoded.unwrap_or(char::REPLACEMENT_CHARACTER).len_utf8();
                    original += len;
                }
                original.min(input.len())
            }
        }
    }

    /// The input span of text span `span`.
    pub fn span_to_input(&self, input: &[u8], span: Span) -> Span {
        let start = self.to_input(input, span.start);
        let end = if span.is_empty() { start } else { self.to_input(input, span.end) };
        Span::new(start, end.max(start))
    }
}

fn unit_of(pair: &[u8], big_endian: bool) -> u16 {
    if big_endian {
        u16::from_be_bytes([pair[0], pair[1]])
    } else {
        u16::from_le_bytes([pair[0], pair[1]])
    }
}

/// The character the UTF-16 code units at the start of `bytes` make, and
/// how many bytes they take; `None` for a lone surrogate (two bytes). `None`
/// at all when no whole unit is left. Decoding a unit at a time like this,
/// rather than through `char::decode_utf16`, gives ASCII (most of a saved
/// response) a test of its own, and does not rely on an iterator being inlined.
#[inline]
fn utf16_char(bytes: &[u8], big_endian: bool) -> Option<(Option<char>, usize)> {
    let first = unit_of(bytes.get(..2)?, big_endian);
    if first < 0x80 {
        return Some((Some(char::from(first as u8)), 2));
    }
    if (0xD800..0xDC00).contains(&first) {
        let low = bytes.get(2..4).map(|pair| unit_of(pair, big_endian)).filter(|low| (0xDC00..0xE000).contains(low));
        return Some(match low {
            Some(low) => (char::from_u32(0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(low) - 0xDC00)), 4),
            None => (None, 2),
        });
    }
    // A lone low surrogate is no character either.
    Some((char::from_u32(u32::from(first)), 2))
}

/// Decodes `input` to text, detecting its encoding.
///
/// A UTF-8 BOM is dropped; UTF-16 is detected by its BOM, or without one by the
/// zero bytes that ASCII leaves in its first two units. Every change is
/// reported as a repair whose span is in `input`.
pub fn decode(input: &[u8]) -> Decoded<'_> {
    let encoding = detect(input);
    match encoding.unit_order() {
        None => decode_utf8(input, encoding),
        Some(big_endian) => decode_utf16(input, encoding, big_endian),
    }
}

fn detect(input: &[u8]) -> Encoding {
    match input {
        [0xEF, 0xBB, 0xBF, ..] => Encoding::Utf8Bom,
        [0xFF, 0xFE, ..] => Encoding::Utf16Le { bom: true },
        [0xFE, 0xFF, ..] => Encoding::Utf16Be { bom: true },
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Encoding::Utf16Le { bom: false },
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Encoding::Utf16Be { bom: false },
        _ => Encoding::Utf8,
    }
}

fn decode_utf8(input: &[u8], encoding: Encoding) -> Decoded<'_> {
    let bom = encoding.bom_len();
    let mut repairs = Vec::new();
    if bom > 0 {
        repairs.push(Repair::new(RepairKind::ByteOrderMark, Span::new(0, bom), "removed the UTF-8 byte-order mark"));
    }
    let body = &input[bom..];
    // SIMD validation: on large valid input this check is a pass of its own.
    if let Ok(text) = simdutf8::basic::from_utf8(body) {
        return Decoded { text: Cow::Borrowed(text), encoding, source_map: SourceMap::Shifted(bom), repairs };
    }

    let mut text = String::with_capacity(body.len() + 16);
    let mut points = vec![(0, bom)];
    let mut original = bom;
    let mut pending: Option<(Span, usize)> = None;
    for chunk in body.utf8_chunks() {
        text.push_str(chunk.valid());
        original += chunk.valid().len();
        let invalid = chunk.invalid().len();
        if invalid == 0 {
            continue;
        }
        if !chunk.valid().is_empty() {
            flush_invalid(&mut pending, &mut repairs);
        }
        text.push(char::REPLACEMENT_CHARACTER);
        original += invalid;
        points.push((text.len(), original));
        let run = pending.get_or_insert((Span::point(original - invalid), 0));
        run.0.end = original;
        run.1 += 1;
    }
    flush_invalid(&mut pending, &mut repairs);
    Decoded { text: Cow::Owned(text), encoding, source_map: SourceMap::Replacements(points), repairs }
}

/// Reports a run of adjacent invalid sequences as one repair.
fn flush_invalid(pending: &mut Option<(Span, usize)>, repairs: &mut Vec<Repair>) {
    if let Some((span, count)) = pending.take() {
        let description = if count == 1 {
            format!("replaced {} invalid UTF-8 byte(s) with U+FFFD", span.len())
        } else {
            format!("replaced {} invalid UTF-8 bytes with {count} U+FFFD characters", span.len())
        };
        repairs.push(Repair::new(RepairKind::InvalidUtf8, span, description));
    }
}

fn decode_utf16(input: &[u8], encoding: Encoding, big_endian: bool) -> Decoded<'_> {
    let bom = encoding.bom_len();
    let name = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
    let mut repairs = vec![Repair::new(
        RepairKind::Utf16,
        Span::new(0, bom),
        if bom > 0 {
            format!("decoded {name} text behind its byte-order mark")
        } else {
            format!("decoded {name} text that has no byte-order mark")
        },
    )];

    let body = &input[bom..];
    let mut text = String::with_capacity(body.len() / 2 + 16);
    let mut checkpoints = vec![(0, bom)];
    let mut next_checkpoint = UTF16_CHECKPOINT;
    let mut original = bom;
    // Four units read as one big-endian word are ASCII when none of these
    // bits is set: each high byte zero, each low byte below 0x80.
    let not_ascii = if big_endian { 0xFF80_FF80_FF80_FF80_u64 } else { 0x80FF_80FF_80FF_80FF };
    // Where the first low byte is among a unit's two.
    let low_first = usize::from(big_endian);
    loop {
        if text.len() >= next_checkpoint {
            checkpoints.push((text.len(), original));
            next_checkpoint = text.len() + UTF16_CHECKPOINT;
        }
        // Four ASCII units at a time, most of a saved response.
        if let Some(four) = input.get(original..original + 8) {
            let word = u64::from_be_bytes(four.try_into().expect("eight bytes"));
            if word & not_ascii == 0 {
                // Indexed, not `step_by`: that adapter was not always optimised
                // away, and then cost a third of a `repair` of the export.
                for unit in 0..4 {
                    text.push(char::from(four[low_first + 2 * unit]));
                }
                original += 8;
                continue;
            }
        }
        let Some((decoded, len)) = utf16_char(&input[original..], big_endian) else {
            break;
        };
        match decoded {
            Some(c) => text.push(c),
            None => {
                text.push(char::REPLACEMENT_CHARACTER);
                repairs.push(Repair::new(
                    RepairKind::InvalidUtf16,
                    Span::new(original, original + 2),
                    "replaced a lone UTF-16 surrogate with U+FFFD",
                ));
            }
        }
        original += len;
    }
    if body.len() % 2 == 1 {
        repairs.push(Repair::new(
            RepairKind::InvalidUtf16,
            Span::new(input.len() - 1, input.len()),
            "dropped the odd byte at the end of UTF-16 input",
        ));
    }
    Decoded { text: Cow::Owned(text), encoding, source_map: SourceMap::Utf16 { big_endian, checkpoints }, repairs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        out
    }

    #[test]
    fn clean_utf8_is_borrowed_without_repairs() {
        let decoded = decode(b"{\"a\":1}");
        assert!(matches!(decoded.text, Cow::Borrowed("{\"a\":1}")));
        assert_eq!(decoded.encoding, Encoding::Utf8);
        assert!(decoded.repairs.is_empty());
    }

    #[test]
    fn utf8_bom_is_removed_and_offsets_shift() {
        let input = b"\xEF\xBB\xBF[1]";
        let decoded = decode(input);
        assert_eq!(decoded.text, "[1]");
        assert_eq!(decoded.repairs[0].kind, RepairKind::ByteOrderMark);
        assert_eq!(decoded.source_map.to_input(input, 1), 4);
    }

    #[test]
    fn invalid_utf8_runs_become_replacement_characters() {
        let input = b"[\"a\xFF\xFEb\", \"\xC3\"]";
        let decoded = decode(input);
        assert_eq!(decoded.text, "[\"a\u{FFFD}\u{FFFD}b\", \"\u{FFFD}\"]");
        let kinds: Vec<_> = decoded.repairs.iter().map(|r| (r.kind, r.span)).collect();
        assert_eq!(
            kinds,
            vec![(RepairKind::InvalidUtf8, Span::new(3, 5)), (RepairKind::InvalidUtf8, Span::new(10, 11))]
        );
        // 'b' sits after two 3-byte replacement characters in the text.
        let b_in_text = decoded.text.find('b').unwrap();
        assert_eq!(decoded.source_map.to_input(input, b_in_text), 5);
    }

    #[test]
    fn utf16_with_and_without_bom_in_both_orders() {
        for big_endian in [false, true] {
            for bom in [false, true] {
                let input = utf16("{\"é\":\"😀\"}", big_endian, bom);
                let decoded = decode(&input);
                assert_eq!(decoded.text, "{\"é\":\"😀\"}", "big_endian={big_endian} bom={bom}");
                assert_eq!(decoded.encoding.unit_order(), Some(big_endian));
                assert_eq!(decoded.repairs[0].kind, RepairKind::Utf16);
                let colon = decoded.text.find(':').unwrap();
                let bom_len = if bom { 2 } else { 0 };
                assert_eq!(decoded.source_map.to_input(&input, colon), bom_len + 8);
            }
        }
    }

    #[test]
    fn utf16_map_is_exact_past_many_checkpoints() {
        let text: String = (0..3000).map(|i| if i % 7 == 0 { "é" } else { "ab" }).collect();
        let input = utf16(&text, false, true);
        let decoded = decode(&input);
        let mut expected = 2;
        for (offset, c) in decoded.text.char_indices() {
            assert_eq!(decoded.source_map.to_input(&input, offset), expected);
            expected += 2 * c.len_utf16();
        }
    }

    #[test]
    fn lone_utf16_surrogate_and_odd_byte_are_reported() {
        let mut input = vec![0xFF, 0xFE, b'"', 0, 0x00, 0xD8, b'"', 0];
        input.push(b'x');
        let decoded = decode(&input);
        assert_eq!(decoded.text, "\"\u{FFFD}\"");
        let kinds: Vec<_> = decoded.repairs.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![RepairKind::Utf16, RepairKind::InvalidUtf16, RepairKind::InvalidUtf16]);
    }

    proptest::proptest! {
        #[test]
        fn utf16_decodes_as_std_does_and_maps_every_character_back(
            units in proptest::collection::vec(proptest::prop_oneof![0u16..0x80, 0xD7F0u16..0xE010, proptest::num::u16::ANY], 0..600),
            big_endian: bool,
        ) {
            let mut input = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in &units {
                input.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            let decoded = decode(&input);
            let expected = String::from_utf16_lossy(&units);
            proptest::prop_assert_eq!(&decoded.text, &expected);
            let lone = char::decode_utf16(units.iter().copied()).filter(Result::is_err).count();
            proptest::prop_assert_eq!(decoded.repairs.len(), 1 + lone);
            // Each character maps to where its units start.
            let mut original = 2;
            for (offset, c) in char::decode_utf16(units.iter().copied()).scan(0, |text, c| {
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                let offset = *text;
                *text += c.len_utf8();
                Some((offset, c))
            }) {
                proptest::prop_assert_eq!(decoded.source_map.to_input(&input, offset), original);
                original += if c == char::REPLACEMENT_CHARACTER { 2 } else { 2 * c.len_utf16() };
            }
        }
    }

    #[test]
    fn a_nul_after_ascii_is_not_mistaken_for_utf16() {
        let decoded = decode(b"[\0]");
        assert_eq!(decoded.encoding, Encoding::Utf8);
    }
}
