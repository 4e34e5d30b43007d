//! The edits a repair makes to the decoded text, and the offset maps they imply.
//!
//! The parser records edits as it goes, mostly in text order. Applying them is
//! one pass that copies untouched text between edits, so the repaired text is a
//! minimal edit of the input and costs time linear in its size.

use std::borrow::Cow;
use std::cell::Cell;
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
#[derive(Clone, Copy, Debug)]
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
    pub fn new(text: &str, part: Range<usize>, mut edits: Vec<Edit>, documents: Vec<Document>) -> Applied {
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
        let boundaries: Vec<[(usize, usize); 2]> = documents
            .into_iter()
            .map(|d| [(d.start, edits_before(d.start, d.first_edit)), (d.end, edits_before(d.end, d.end_edit))])
            .collect();
        permute(&mut edits, order);

        let inserted: usize = edits.iter().map(|e| e.insert.len()).sum();
        let mut output = String::with_capacity(part.len() + inserted);
        let mut cursor = part.start;
        // std collects the anchors into the edits' allocation, an anchor being
        // no larger than an edit (in-place iteration: an optimisation std makes
        // but does not promise; BENCHMARKS.md measures the memory it saves).
        let anchors: Vec<Anchor> = edits
            .into_iter()
            .map(|edit| {
                if edit.start > cursor {
                    output.push_str(&text[cursor..edit.start]);
                    cursor = edit.start;
                }
                let out_start = output.len();
                output.push_str(&edit.insert);
                let text_start = cursor;
                cursor = cursor.max(edit.end);
                Anchor { text_start, text_end: cursor, out_start, out_end: output.len() }
            })
            .collect();
        output.push_str(&text[cursor..part.end]);

        // After the first `k` edits, output and text differ as the k-th anchor says.
        let to_output = |(offset, edits_before): (usize, usize)| match edits_before.checked_sub(1) {
            // An offset inside deleted text maps to where the deletion ends in the output.
            Some(last) => offset.saturating_sub(anchors[last].text_end) + anchors[last].out_end,
            None => offset - part.start,
        };
        let documents = boundaries.into_iter().map(|[start, end]| to_output(start)..to_output(end)).collect();
        Applied { output, map: OutputMap { base: part.start, anchors, hint: Cell::new(0) }, documents }
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

    #[test]
    fn applies_out_of_order_edits_by_position_then_record_order() {
        let text = "a{b}c";
        // Recorded: delete 'b', insert ']' after '}', then '[' before '{'.
        let edits = vec![edit(2, 3, ""), edit(4, 4, "]"), edit(1, 1, "[")];
        let applied = Applied::new(text, 0..text.len(), edits, Vec::new());
        assert_eq!(applied.output, "a[{}]c");
    }

    #[test]
    fn insertions_at_one_place_keep_record_order() {
        let applied = Applied::new("x", 0..1, vec![edit(1, 1, ":"), edit(1, 1, "["), edit(1, 1, "]")], Vec::new());
        assert_eq!(applied.output, "x:[]");
    }

    #[test]
    fn maps_output_offsets_back_to_text() {
        let text = "{'a':1,}";
        let edits = vec![edit(1, 2, "\""), edit(3, 4, "\""), edit(6, 7, "")];
        let applied = Applied::new(text, 0..text.len(), edits, Vec::new());
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
        let documents = vec![
            Document { start: 0, end: 2, first_edit: 0, end_edit: 0 },
            Document { start: 3, end: 5, first_edit: 1, end_edit: 2 },
        ];
        let applied = Applied::new("[] .5", 0..5, vec![edit(2, 3, "\n"), edit(3, 3, "0")], documents);
        assert_eq!(applied.output, "[]\n0.5");
        assert_eq!(applied.documents, [0..2, 3..6]);
    }

    #[test]
    fn a_document_after_an_insertion_recorded_inside_it_starts_before_it() {
        // `[` recorded while the document was open, at its first byte: inside it.
        let documents = vec![Document { start: 0, end: 2, first_edit: 0, end_edit: 2 }];
        let applied = Applied::new("{},", 0..3, vec![edit(2, 3, ""), edit(0, 0, "[")], documents);
        assert_eq!(applied.output, "[{}");
        assert_eq!(applied.documents, [Range { start: 0, end: 3 }]);
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
