//! The edits a repair makes to the decoded text, and the offset maps they imply.
//!
//! The parser records edits as it goes, mostly in text order. Applying them is
//! one pass that copies untouched text between edits, so the repaired text is a
//! minimal edit of the input and costs time linear in its size. That pass may
//! also be put off ([`Pending`]) and write the text out piece by piece instead
//! of making it.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, IoSlice, Write};
use std::ops::Range;

use super::parser::Document;

/// One change: replace `start..end` of the decoded text with `insert`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Edit {
    pub start: usize,
    pub end: usize,
    pub insert: Cow<'static, str>,
}

/// Where one applied edit sits in the input text and in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Anchor {
    text_start: usize,
    text_end: usize,
    out_start: usize,
    out_end: usize,
}

/// Maps offsets in repaired text back to offsets in the decoded input text.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutputMap {
    /// The text offset that output offset 0 came from: where the part starts.
    base: usize,
    anchors: Vec<Anchor>,
    /// The anchor count before the last offset looked up. Typing asks for
    /// offsets in text order, so the next answer is usually at or just after it.
    hint: Cell<usize>,
}

/// How many anchors past the hint a lookup walks before it searches.
const WALK: usize = 8;

impl OutputMap {
    /// The map of a part starting at text offset `base` that nothing changed.
    pub fn starting_at(base: usize) -> OutputMap {
        OutputMap { base, ..OutputMap::default() }
    }

    /// The number of anchors that start at or before `offset`.
    fn anchors_before(&self, offset: usize) -> usize {
        let hint = self.hint.get().min(self.anchors.len());
        let starts_before = |i: usize| self.anchors[i].out_start <= offset;
        let found = if hint == 0 || starts_before(hint - 1) {
            let walked = self.anchors[hint..].iter().take(WALK).take_while(|a| a.out_start <= offset).count();
            if walked < WALK {
                hint + walked
            } else {
                hint + WALK + self.anchors[hint + WALK..].partition_point(|a| a.out_start <= offset)
            }
        } else {
            self.anchors[..hint].partition_point(|a| a.out_start <= offset)
        };
        self.hint.set(found);
        found
    }

    /// The text offset that output offset `offset` came from. Inserted text
    /// maps to the place it was inserted at.
    pub fn to_text(&self, offset: usize) -> usize {
        self.through(self.anchors_before(offset), offset)
    }

    /// [`OutputMap::to_text`] for the end of a span: where text was deleted
    /// at `offset`, the text offset before it, not after (a span of a value
    /// ends before the trailing comma removed after it).
    pub fn end_to_text(&self, offset: usize) -> usize {
        match offset.checked_sub(1) {
            Some(last) => self.through(self.anchors_before(last), offset),
            None => self.to_text(offset),
        }
    }

    /// The text offset of output offset `offset`, past the first `i` anchors.
    fn through(&self, i: usize, offset: usize) -> usize {
        if i == 0 {
            return self.base + offset;
        }
        let anchor = self.anchors[i - 1];
        if offset < anchor.out_end {
            anchor.text_start
        } else {
            anchor.text_end + (offset - anchor.out_end)
        }
    }
}

/// The result of applying edits to a part of the text: the output, what is
/// needed to map positions between it and the text, and where the documents
/// are in it.
pub(crate) struct Applied {
    pub output: String,
    pub map: OutputMap,
    /// Each document's range in the output.
    pub documents: Vec<Range<usize>>,
}

impl Applied {
    /// Applies `edits` (in record order, all inside `part`) to `text[part]`,
    /// and finds where each of `documents` lies in the output.
    ///
    /// The edits become the offset map's anchors in their own allocation, so
    /// at most one of the two is held beside the output: with a repair on
    /// every record they are the largest things held after the text.
    pub fn new(text: &str, part: Range<usize>, edits: Vec<Edit>, documents: Vec<Document>) -> Applied {
        let (edits, boundaries) = in_position_order(part.clone(), edits, documents);
        let mut output = String::with_capacity(output_len(&part, &edits));
        let mut walk = Walk::from(part.start);
        // std collects the anchors into the edits' allocation, an anchor being
        // no larger than an edit (in-place iteration: an optimisation std makes
        // but does not promise; BENCHMARKS.md measures the memory it saves).
        let anchors: Vec<Anchor> =
            edits.into_iter().map(|edit| walk.step(text, &edit, |piece| output.push_str(piece))).collect();
        walk.finish(text, part.end, |piece| output.push_str(piece));
        let documents = output_ranges(&anchors, part.start, boundaries);
        Applied { output, map: OutputMap { base: part.start, anchors, hint: Cell::new(0) }, documents }
    }
}

/// Edits not yet applied to a part of the text, in position order: the
/// output they make, written out or built only when it is asked for. Until
/// then nothing the size of the part is held.
#[derive(Debug)]
pub(crate) struct Pending {
    part: Range<usize>,
    edits: Vec<Edit>,
}

impl Pending {
    /// `edits` (in record order, all inside `part`) to apply later, the offset
    /// map of the output they will make, and where `documents` lie in it.
    pub fn new(
        part: Range<usize>,
        edits: Vec<Edit>,
        documents: Vec<Document>,
    ) -> (Pending, OutputMap, Vec<Range<usize>>) {
        let (edits, boundaries) = in_position_order(part.clone(), edits, documents);
        let mut walk = Walk::from(part.start);
        let anchors: Vec<Anchor> = edits.iter().map(|edit| walk.step_over(edit)).collect();
        let documents = output_ranges(&anchors, part.start, boundaries);
        let map = OutputMap { base: part.start, anchors, hint: Cell::new(0) };
        (Pending { part, edits }, map, documents)
    }

    /// Hands `put` the output, piece by piece, in order: the untouched text
    /// between edits and what each inserts.
    pub fn pieces<'s>(&'s self, text: &'s str, mut put: impl FnMut(&'s str)) {
        let mut walk = Walk::from(self.part.start);
        for edit in &self.edits {
            walk.step(text, edit, &mut put);
        }
        walk.finish(text, self.part.end, put);
    }

    /// Writes the output to `out`, many pieces to a call ([`Gathered`]).
    pub fn write(&self, text: &str, out: &mut impl Write) -> io::Result<()> {
        let mut gathered = Gathered::new(out);
        self.pieces(text, |piece| gathered.put(piece));
        gathered.finish()
    }

    /// The output, built whole.
    pub fn output(&self, text: &str) -> String {
        let mut output = String::with_capacity(output_len(&self.part, &self.edits));
        self.pieces(text, |piece| output.push_str(piece));
        output
    }
}

/// Pieces of text on their way to a writer, handed on in vectored writes
/// (`writev`) of up to [`GATHERED_PIECES`] each: long pieces where they lie,
/// short ones copied together first. A repair's output is its input's text
/// between edits (hundreds of bytes each in damaged input) and what the edits
/// insert (a byte or two); copying every piece into a write buffer first made
/// writing 5 MiB of it take a third longer (BENCHMARKS.md).
struct Gathered<'p, W: Write> {
    out: W,
    pieces: Vec<Gathering<'p>>,
    short: Vec<u8>,
    written: io::Result<()>,
}

/// A piece in [`Gathered`]: a long one as it is, or where short ones were
/// copied to.
enum Gathering<'p> {
    Long(&'p [u8]),
    Short(Range<usize>),
}

/// How many pieces a vectored write hands on at most (`IOV_MAX` on Linux).
const GATHERED_PIECES: usize = 1024;

/// Pieces shorter than this are copied together.
const SHORT_PIECE: usize = 64;

/// How many bytes of short pieces are held at most before they are written.
const SHORT_BYTES: usize = 16 << 10;

impl<'p, W: Write> Gathered<'p, W> {
    fn new(out: W) -> Self {
        Gathered {
            out,
            pieces: Vec::with_capacity(GATHERED_PIECES),
            short: Vec::with_capacity(SHORT_BYTES + SHORT_PIECE),
            written: Ok(()),
        }
    }

    fn put(&mut self, piece: &'p str) {
        if piece.is_empty() || self.written.is_err() {
            return;
        }
        if piece.len() >= SHORT_PIECE {
            self.pieces.push(Gathering::Long(piece.as_bytes()));
        } else {
            // Short pieces in a row are copied to one place, one slice.
            let start = self.short.len();
            self.short.extend_from_slice(piece.as_bytes());
            match self.pieces.last_mut() {
                Some(Gathering::Short(copied)) => copied.end = self.short.len(),
                _ => self.pieces.push(Gathering::Short(start..self.short.len())),
            }
        }
        if self.pieces.len() == GATHERED_PIECES || self.short.len() >= SHORT_BYTES {
            self.written = self.write_gathered();
        }
    }

    fn write_gathered(&mut self) -> io::Result<()> {
        let short = &self.short;
        let mut slices: Vec<IoSlice<'_>> = (self.pieces.iter())
            .map(|piece| match piece {
                Gathering::Long(bytes) => IoSlice::new(bytes),
                Gathering::Short(copied) => IoSlice::new(&short[copied.clone()]),
            })
            .collect();
        let mut unwritten = &mut slices[..];
        while !unwritten.is_empty() {
            match self.out.write_vectored(unwritten) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => IoSlice::advance_slices(&mut unwritten, written),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.pieces.clear();
        self.short.clear();
        Ok(())
    }

    /// Writes what is left; the first error, if one stopped the writing.
    fn finish(mut self) -> io::Result<()> {
        if self.written.is_ok() && !self.pieces.is_empty() {
            self.written = self.write_gathered();
        }
        self.written
    }
}

/// At most how long the output of `edits` applied to `part` is.
fn output_len(part: &Range<usize>, edits: &[Edit]) -> usize {
    part.len() + edits.iter().map(|e| e.insert.len()).sum::<usize>()
}

/// `edits` in position order (ties in record order), and each document's
/// boundaries with the number of those edits that come before each.
fn in_position_order(
    part: Range<usize>,
    mut edits: Vec<Edit>,
    documents: Vec<Document>,
) -> (Vec<Edit>, Vec<[(usize, usize); 2]>) {
    debug_assert!(edits.iter().all(|e| part.start <= e.start && e.end <= part.end), "an edit outside its part");
    let order = position_order(edits.len(), |i| edits[i].start);
    // A document boundary lies after the edits before its offset, and after
    // those at its offset recorded before it: count them in position order
    // while the record order is known.
    let edits_before = |offset: usize, recorded_before: usize| {
        order.partition_point(|&i| {
            let start = edits[i].start;
            start < offset || (start == offset && i < recorded_before)
        })
    };
    let boundaries = documents
        .into_iter()
        .map(|d| [(d.start, edits_before(d.start, d.first_edit)), (d.end, edits_before(d.end, d.end_edit))])
        .collect();
    permute(&mut edits, order);
    (edits, boundaries)
}

/// Where each pair of boundaries (a text offset and the number of edits
/// applied before it) lies in the output the anchors describe.
fn output_ranges(anchors: &[Anchor], part_start: usize, boundaries: Vec<[(usize, usize); 2]>) -> Vec<Range<usize>> {
    // After the first `k` edits, output and text differ as the k-th anchor says.
    let to_output = |(offset, edits_before): (usize, usize)| match edits_before.checked_sub(1) {
        // An offset inside deleted text maps to where the deletion ends in the output.
        Some(last) => offset.saturating_sub(anchors[last].text_end) + anchors[last].out_end,
        None => offset - part_start,
    };
    boundaries.into_iter().map(|[start, end]| to_output(start)..to_output(end)).collect()
}

/// A pass over edits in position order, from the start of a part: where in
/// the text it is and how long the output made so far is.
struct Walk {
    cursor: usize,
    out_len: usize,
}

impl From<usize> for Walk {
    fn from(part_start: usize) -> Walk {
        Walk { cursor: part_start, out_len: 0 }
    }
}

impl Walk {
    /// Applies `edit`, handing `put` the untouched text before it and then
    /// what it inserts; returns its anchor.
    #[inline]
    fn step<'s>(&mut self, text: &'s str, edit: &'s Edit, mut put: impl FnMut(&'s str)) -> Anchor {
        if edit.start > self.cursor {
            put(&text[self.cursor..edit.start]);
        }
        put(&edit.insert);
        self.step_over(edit)
    }

    /// [`Walk::step`] without the output: only the anchor.
    #[inline]
    fn step_over(&mut self, edit: &Edit) -> Anchor {
        if edit.start > self.cursor {
            self.out_len += edit.start - self.cursor;
            self.cursor = edit.start;
        }
        let (text_start, out_start) = (self.cursor, self.out_len);
        self.out_len += edit.insert.len();
        self.cursor = self.cursor.max(edit.end);
        Anchor { text_start, text_end: self.cursor, out_start, out_end: self.out_len }
    }

    /// Hands `put` the untouched text after the last edit, up to `end`.
    fn finish<'s>(self, text: &'s str, end: usize, mut put: impl FnMut(&'s str)) {
        put(&text[self.cursor..end]);
    }
}

/// Moves `items` into `order` in place: slot i takes the item at `order[i]`.
pub(crate) fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    // Follow each cycle of the permutation.
    for start in 0..order.len() {
        let mut i = start;
        while order[i] != start {
            let from = order[i];
            items.swap(i, from);
            order[i] = i;
            i = from;
        }
        order[i] = i;
    }
}

/// The indices of `starts` ordered by start, ties in index order: a stable
/// sort that moves only indices.
///
/// Starts come mostly in order: the parser records edits and repairs as it
/// goes, and some at an earlier place (the `[` of an object run, once the run
/// is seen). Those behind the rest are sorted on their own and merged in, so
/// the cost is linear but for them.
pub(crate) fn position_order(len: usize, start: impl Fn(usize) -> usize) -> Vec<usize> {
    // The indices behind the furthest start before them, in index order.
    let mut behind = Vec::new();
    let mut furthest = 0;
    for i in 0..len {
        match start(i) {
            s if s < furthest => behind.push(i),
            s => furthest = s,
        }
    }
    let mut late: Vec<(usize, usize)> = behind.iter().map(|&i| (start(i), i)).collect();
    late.sort_unstable();
    // Merge them into the rest, which are in order. Only `order` grows with
    // `len`: a second large vector, freed, would stay in the allocator's heap
    // and count towards peak memory once the output is allocated.
    let mut order = Vec::with_capacity(len);
    let mut behind = behind.into_iter().peekable();
    let mut late = late.into_iter().peekable();
    for i in 0..len {
        if behind.next_if_eq(&i).is_some() {
            continue;
        }
        let key = (start(i), i);
        while let Some((_, j)) = late.next_if(|&earlier| earlier < key) {
            order.push(j);
        }
        order.push(i);
    }
    order.extend(late.map(|(_, j)| j));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, insert: &'static str) -> Edit {
        Edit { start, end, insert: Cow::Borrowed(insert) }
    }

    /// `edits` applied whole, after checking that applying them later, from
    /// [`Pending`], makes the same output, documents and map.
    fn applied_both_ways(
        text: &str,
        part: Range<usize>,
        edits: Vec<Edit>,
        documents: impl Fn() -> Vec<Document>,
    ) -> Applied {
        let (pending, map, pending_documents) = Pending::new(part.clone(), edits.clone(), documents());
        let applied = Applied::new(text, part, edits, documents());
        let mut pieces = String::new();
        pending.pieces(text, |piece| pieces.push_str(piece));
        assert_eq!(pieces, applied.output);
        assert_eq!(pending.output(text), applied.output);
        let mut written = Vec::new();
        pending.write(text, &mut written).unwrap();
        assert_eq!(written, applied.output.as_bytes());
        assert_eq!(pending_documents, applied.documents);
        assert_eq!((map.base, &map.anchors), (applied.map.base, &applied.map.anchors));
        applied
    }

    #[test]
    fn applies_out_of_order_edits_by_position_then_record_order() {
        let text = "a{b}c";
        // Recorded: delete 'b', insert ']' after '}', then '[' before '{'.
        let edits = vec![edit(2, 3, ""), edit(4, 4, "]"), edit(1, 1, "[")];
        let applied = applied_both_ways(text, 0..text.len(), edits, Vec::new);
        assert_eq!(applied.output, "a[{}]c");
    }

    #[test]
    fn insertions_at_one_place_keep_record_order() {
        let applied = applied_both_ways("x", 0..1, vec![edit(1, 1, ":"), edit(1, 1, "["), edit(1, 1, "]")], Vec::new);
        assert_eq!(applied.output, "x:[]");
    }

    #[test]
    fn maps_output_offsets_back_to_text() {
        let text = "{'a':1,}";
        let edits = vec![edit(1, 2, "\""), edit(3, 4, "\""), edit(6, 7, "")];
        let applied = applied_both_ways(text, 0..text.len(), edits, Vec::new);
        assert_eq!(applied.output, "{\"a\":1}");
        let map = &applied.map;
        assert_eq!(map.to_text(0), 0);
        assert_eq!(map.to_text(2), 2);
        assert_eq!(map.to_text(5), 5);
        // The '}' moved one byte left when the comma went.
        assert_eq!(map.to_text(6), 7);
    }

    #[test]
    fn document_boundaries_separate_edits_by_record_order() {
        // A separator (edit 0) belongs before a document starting at 3; the
        // document's own insertion (edit 1) belongs inside it.
        let documents = || {
            vec![
                Document { start: 0, end: 2, first_edit: 0, end_edit: 0 },
                Document { start: 3, end: 5, first_edit: 1, end_edit: 2 },
            ]
        };
        let applied = applied_both_ways("[] .5", 0..5, vec![edit(2, 3, "\n"), edit(3, 3, "0")], documents);
        assert_eq!(applied.output, "[]\n0.5");
        assert_eq!(applied.documents, [0..2, 3..6]);
    }

    #[test]
    fn a_document_after_an_insertion_recorded_inside_it_starts_before_it() {
        // `[` recorded while the document was open, at its first byte: inside it.
        let documents = || vec![Document { start: 0, end: 2, first_edit: 0, end_edit: 2 }];
        let applied = applied_both_ways("{},", 0..3, vec![edit(2, 3, ""), edit(0, 0, "[")], documents);
        assert_eq!(applied.output, "[{}");
        assert_eq!(applied.documents, [Range { start: 0, end: 3 }]);
    }

    proptest::proptest! {
        #[test]
        fn edits_applied_later_make_what_edits_applied_now_make(
            steps in proptest::collection::vec((0usize..5, 0usize..3, 0usize..4, proptest::option::weighted(0.2, 0usize..12)), 0..40),
        ) {
            // Edits mostly in text order, some recorded later at an earlier
            // place; deletions may overlap the next edit.
            let text = "{\"ab\": [1, 'x',], \"é\": {}},\n".repeat(3);
            let mut at = 1;
            let inserts = ["", ",", "]", "\"q\""];
            let edits: Vec<Edit> = steps
                .iter()
                .filter_map(|&(step, deleted, insert, back)| {
                    at += step;
                    let start = at.saturating_sub(back.unwrap_or(0)).max(1);
                    let end = (start + deleted).min(text.len());
                    let on_chars = text.is_char_boundary(start) && text.is_char_boundary(end);
                    on_chars.then(|| edit(start, end, inserts[insert]))
                })
                .filter(|e| e.end < text.len())
                .collect();
            applied_both_ways(&text, 1..text.len(), edits, Vec::new);
        }
    }

    /// A writer that takes at most `most` bytes a call, vectored or not, or
    /// fails every call.
    struct Trickle {
        written: Vec<u8>,
        most: usize,
        fail: bool,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            if self.fail {
                return Err(io::Error::other("the disk is full"));
            }
            let mut left = self.most;
            for buf in bufs {
                let taken = buf.len().min(left);
                self.written.extend_from_slice(&buf[..taken]);
                left -= taken;
            }
            Ok(self.most - left)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn many_pieces_short_and_long_are_written_whole_through_short_writes() {
        // Edits 2 to 100 bytes apart, half of them inserting: more pieces
        // than one vectored write hands on, and more short ones than are held.
        let text: String = (0..400_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let mut at = 0;
        let edits: Vec<Edit> = [2, 3, 100, 70]
            .into_iter()
            .cycle()
            .map_while(|gap| {
                at += gap;
                (at + 1 < text.len()).then(|| edit(at, at + 1, if at % 2 == 0 { "" } else { "xy" }))
            })
            .collect();
        let (pending, ..) = Pending::new(0..text.len(), edits, Vec::new());
        let expected = pending.output(&text);
        for most in [1, 7, 1 << 20] {
            let mut out = Trickle { written: Vec::new(), most, fail: false, calls: 0 };
            pending.write(&text, &mut out).unwrap();
            assert!(out.written == expected.as_bytes(), "written {most} bytes a call");
        }
        // A failing writer: its error, after one call.
        let mut failing = Trickle { written: Vec::new(), most: 1 << 20, fail: true, calls: 0 };
        let error = pending.write(&text, &mut failing).unwrap_err();
        assert_eq!((error.to_string().as_str(), failing.calls), ("the disk is full", 1));
    }

    proptest::proptest! {
        #[test]
        fn position_order_is_a_stable_sort_of_mostly_ordered_starts(
            steps in proptest::collection::vec((0usize..4, proptest::option::weighted(0.2, 0usize..30)), 0..200),
        ) {
            // Ascending starts, some recorded later at an earlier place.
            let mut at = 0;
            let starts: Vec<usize> = steps
                .iter()
                .map(|&(step, back)| { at += step; at.saturating_sub(back.unwrap_or(0)) })
                .collect();
            let mut expected: Vec<usize> = (0..starts.len()).collect();
            expected.sort_by_key(|&i| starts[i]);
            proptest::prop_assert_eq!(position_order(starts.len(), |i| starts[i]), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn hinted_lookups_match_a_search_in_any_order(
            starts in proptest::collection::vec(0usize..40, 0..60),
            offsets in proptest::collection::vec(0usize..2000, 1..80),
        ) {
            // One insertion every so often, in text order.
            let mut at = 0;
            let edits: Vec<Edit> = starts.iter().map(|gap| { at += gap; edit(at, at, "ab") }).collect();
            let text = "x".repeat(at + 1);
            let map = Applied::new(&text, 0..text.len(), edits, Vec::new()).map;
            let fresh = |offset| OutputMap { base: 0, anchors: map.anchors.clone(), hint: Cell::new(0) }.to_text(offset);
            for offset in offsets {
                proptest::prop_assert_eq!(map.to_text(offset), fresh(offset), "offset {}", offset);
            }
        }
    }
}
