//! A lenient reading for the tolerant parser: strict JSON but for the
//! documented sample's own damage, trailing commas and a run of bare objects
//! where an object value was (`"scannedTargets": {…},{…},}`).
//!
//! The tolerant parser reads a container this way before parsing it token by
//! token: the reading hands each piece of damage it lets pass to the parser,
//! which records it exactly as its token parse would have; where the reading
//! passes, the parser skips the container, and where it fails, drops what it
//! recorded. Anything else the token parse would repair fails the reading.
//!
//! Typing reads value by value instead: a cursor made [`Cursor::lenient`]
//! lets trailing commas pass wherever it reads, and runs where typing asks
//! for them ([`Cursor::run_follows`]), and keeps what it let pass, in the
//! order a whole reading hands it on, for the parser to record.

use std::ops::Range;

use super::{Cursor, Frame as StrictFrame, Kind, Result};

/// What a lenient reading let pass, in the order the token parse records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lenience<'a> {
    /// A comma right before a closing bracket, at this offset.
    TrailingComma(usize),
    /// A second object follows an object value: the value, starting at this
    /// offset, becomes an array (a `[` goes here).
    RunStart(usize),
    /// The run that began at `start` ends at `end`, after its last object
    /// (a `]` goes there); `key` is the member's key as written.
    RunEnd { start: usize, end: usize, objects: usize, key: &'a str },
}

/// What a lenient reading keeps of one open container, beside the strict frame.
pub(super) struct Frame<'a> {
    /// Whether it is an object; a run is not.
    object: bool,
    /// Where the container starts; for a run, where its first object does.
    open: usize,
    /// In an object: the key of the member being read, as written, and its
    /// value's span once that is known to be an object (where a run may begin).
    key: &'a str,
    object_value: Option<(usize, usize)>,
    /// In a run: how many objects it has so far, where the last ends, and its key.
    run: Option<Run<'a>>,
}

/// A run of bare objects, read as the array it stands for.
#[derive(Clone, Copy)]
struct Run<'a> {
    objects: usize,
    end: usize,
    key: &'a str,
}

impl<'a> Cursor<'a> {
    /// Lets trailing commas pass as [`Cursor::skip_lenient`] does, and runs
    /// of objects where [`Cursor::run_follows`] is asked, keeping each piece;
    /// [`Cursor::take_passed`] hands them over.
    pub fn lenient(mut self) -> Self {
        self.passed = Some(Vec::new());
        self
    }

    /// How many pieces of damage a lenient cursor has let pass so far.
    pub fn passed_count(&self) -> usize {
        self.passed.as_ref().map_or(0, Vec::len)
    }

    /// What a lenient cursor let pass, in the order [`Cursor::skip_lenient`]
    /// would hand it on; nothing for a strict one.
    pub fn take_passed(&mut self) -> Vec<Lenience<'a>> {
        self.passed.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Right after an object value of a member of the open object: whether
    /// another object follows it, after a comma, where a key belongs (a run,
    /// which a lenient cursor lets pass). If so, moves to that object; if not,
    /// stays. A strict cursor never finds one.
    pub fn run_follows(&mut self) -> bool {
        if self.passed.is_none() {
            return false;
        }
        let at = self.pos;
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b',') {
            self.pos += 1;
            self.skip_whitespace();
            if self.bytes.get(self.pos) == Some(&b'{') {
                return true;
            }
        }
        self.pos = at;
        false
    }

    /// The first object after the object value starting at `start` was found
    /// by [`Cursor::run_follows`]: the run opens, a container of its own, at
    /// the cursor.
    pub fn open_run(&mut self, start: usize) {
        if let Some(passed) = &mut self.passed {
            passed.push(Lenience::RunStart(start));
        }
        // No depth check, as in a whole reading: the object at the cursor is
        // deeper, and opening it checks the limit at this same offset.
        let key_base = self.keys.as_ref().map_or(0, Vec::len);
        self.frames.push(StrictFrame::new(false, key_base));
        self.first = false;
    }

    /// Closes the run that [`Cursor::open_run`] opened, of `objects`
    /// objects from `start` to `end` (where the cursor is, after the last),
    /// in the value of the member `key`, as written.
    pub fn close_run(&mut self, start: usize, objects: usize, key: &'a str) {
        let end = self.pos;
        self.frames.pop();
        self.first = false;
        if let Some(passed) = &mut self.passed {
            passed.push(Lenience::RunEnd { start, end, objects, key });
        }
    }

    /// Skips the value at the cursor, with no container open, as
    /// [`Cursor::skip_value`] does, but lets the documented sample's damage
    /// pass, handing each piece of it to `sink` in text order (as it goes, so
    /// that a reading of a whole file holds none of it).
    ///
    /// # Errors
    ///
    /// Fails wherever the value is neither strict JSON nor made so by
    /// removing trailing commas and bracketing runs of objects; what `sink`
    /// was handed before then is void.
    pub fn skip_lenient(&mut self, sink: &mut impl FnMut(Lenience<'a>)) -> Result<Range<usize>> {
        debug_assert!(self.frames.is_empty(), "a lenient reading starts outside any container");
        self.skip_whitespace();
        let start = self.pos;
        loop {
            let kind = self.peek()?;
            let at = self.pos;
            match kind {
                Kind::Object | Kind::Array => {
                    self.open(kind == Kind::Object)?;
                    self.lenient.push(Frame {
                        object: kind == Kind::Object,
                        open: at,
                        key: "",
                        object_value: None,
                        run: None,
                    });
                }
                Kind::String => self.skip_string()?,
                _ => drop(self.scalar()?),
            }
            // Close what ends here, and stop at the next value to read.
            loop {
                if self.frames.is_empty() {
                    return Ok(start..self.pos);
                }
                if self.lenient_item(sink)? {
                    break;
                }
            }
        }
    }

    /// Moves past what follows a value (or an opener) in the open container:
    /// to the next value, after its key in an object; or past the closer.
    /// Returns whether a value follows.
    #[inline(always)]
    fn lenient_item(&mut self, sink: &mut impl FnMut(Lenience<'a>)) -> Result<bool> {
        let frame = self.lenient.last().expect("a container is open");
        let (object, in_run) = (frame.object, frame.run.is_some());
        self.skip_whitespace();
        let at = self.pos;
        match self.bytes.get(at) {
            // The object that holds the run closes: the run ends first.
            Some(b'}') if in_run => {
                self.end_run(sink);
                Ok(false)
            }
            Some(b'}') if object => self.close_lenient(),
            Some(b']') if !object && !in_run => self.close_lenient(),
            Some(b',') if !self.first => {
                self.pos += 1;
                self.skip_whitespace();
                if in_run {
                    if self.bytes.get(self.pos) == Some(&b'{') {
                        return Ok(true);
                    }
                    // The comma separates the run from the next member of the object it is in.
                    self.end_run(sink);
                    return self.after_comma(at, true, sink);
                }
                self.after_comma(at, object, sink)
            }
            _ if self.first => self.member(object),
            _ => self.error(at, if object { "expected ',' or '}'" } else { "expected ',' or ']'" }),
        }
    }

    /// At the first byte after the comma at `comma` in the open object or array.
    #[inline(always)]
    fn after_comma(&mut self, comma: usize, object: bool, sink: &mut impl FnMut(Lenience<'a>)) -> Result<bool> {
        match self.bytes.get(self.pos) {
            Some(b'}') if object => {
                sink(Lenience::TrailingComma(comma));
                self.close_lenient()
            }
            Some(b']') if !object => {
                sink(Lenience::TrailingComma(comma));
                self.close_lenient()
            }
            Some(b'{') if object => match self.lenient.last().and_then(|frame| frame.object_value) {
                Some((start, end)) => self.start_run(start, end, sink),
                None => self.error(self.pos, "expected a key"),
            },
            _ => self.member(object),
        }
    }

    /// A member or element of the open container begins at the cursor: in an
    /// object, reads its key.
    #[inline(always)]
    fn member(&mut self, object: bool) -> Result<bool> {
        self.first = false;
        if object {
            let key = self.key::<true>()?.expect("a key was read");
            let frame = self.lenient.last_mut().expect("an object is open");
            frame.key = key.raw;
            frame.object_value = None;
        }
        Ok(true)
    }

    /// A second object where the object value `start..end` of the open
    /// object's member was: they begin a run, a container of its own.
    fn start_run(&mut self, start: usize, end: usize, sink: &mut impl FnMut(Lenience<'a>)) -> Result<bool> {
        // No depth check: the object at the cursor is deeper than the run, and
        // opening it checks the limit at this same offset.
        let parent = self.lenient.last_mut().expect("an object is open");
        let key = parent.key;
        parent.object_value = None;
        sink(Lenience::RunStart(start));
        let key_base = self.keys.as_ref().map_or(0, Vec::len);
        self.frames.push(StrictFrame::new(false, key_base));
        self.lenient.push(Frame {
            object: false,
            open: start,
            key: "",
            object_value: None,
            run: Some(Run { objects: 1, end, key }),
        });
        self.first = false;
        Ok(true)
    }

    /// Ends the run on top after its last object; the cursor stays where it is.
    fn end_run(&mut self, sink: &mut impl FnMut(Lenience<'a>)) {
        let frame = self.lenient.pop().expect("a run is open");
        let run = frame.run.expect("the top container is a run");
        self.frames.pop();
        sink(Lenience::RunEnd { start: frame.open, end: run.end, objects: run.objects, key: run.key });
        self.first = false;
    }

    /// Closes the open container at its closer, telling its parent what it was.
    fn close_lenient(&mut self) -> Result<bool> {
        let frame = self.lenient.pop().expect("a container is open");
        self.close();
        if let Some(parent) = self.lenient.last_mut() {
            match &mut parent.run {
                Some(run) => {
                    run.objects += 1;
                    run.end = self.pos;
                }
                None if frame.object => parent.object_value = Some((frame.open, self.pos)),
                None => {}
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::Lenience::{RunEnd, RunStart, TrailingComma};
    use super::*;
    use crate::json::Str;

    /// The span of a lenient reading of `text` and what it let pass, or where it failed.
    fn skip(text: &str) -> std::result::Result<(Range<usize>, Vec<Lenience<'_>>), usize> {
        let mut cursor = Cursor::new(text, 0..text.len()).unique_keys();
        let mut lenience = Vec::new();
        let span = cursor.skip_lenient(&mut |piece| lenience.push(piece)).map_err(|error| error.offset)?;
        Ok((span, lenience))
    }

    #[test]
    fn strict_json_passes_with_nothing_let_pass() {
        let text = r#" {"a": [1, {"b": {}}], "c": {"d": null}, "e": "}"} "#;
        assert_eq!(skip(text), Ok((1..text.len() - 1, vec![])));
    }

    #[test]
    fn trailing_commas_pass_only_after_an_item_and_before_its_containers_closer() {
        assert_eq!(skip("[1,]"), Ok((0..4, vec![TrailingComma(2)])));
        assert_eq!(skip("{\"a\": [1 , \n],\t}"), Ok((0..16, vec![TrailingComma(9), TrailingComma(13)])));
        assert_eq!(skip("[[],[],]"), Ok((0..8, vec![TrailingComma(6)])));
        assert_eq!(skip("[,]"), Err(1));
        assert_eq!(skip("{,}"), Err(1));
        assert_eq!(skip("[1,,]"), Err(3));
        assert_eq!(skip("{\"a\":1,,}"), Err(7));
        assert_eq!(skip("[1,}"), Err(3));
    }

    #[test]
    fn objects_after_an_object_value_are_a_run() {
        let text = r#"{"t": {"a": 1,}, {}, {"b": 2} , "n": 1}"#;
        let run = RunEnd { start: 6, end: 29, objects: 3, key: "t" };
        assert_eq!(skip(text), Ok((0..text.len(), vec![TrailingComma(13), RunStart(6), run])));
        // Ended by the object's closer, and then a trailing comma.
        assert_eq!(
            skip(r#"{"t": {}, {} }"#),
            Ok((0..14, vec![RunStart(6), RunEnd { start: 6, end: 12, objects: 2, key: "t" }]))
        );
        let text = r#"{"t": {},{},}"#;
        let run = RunEnd { start: 6, end: 11, objects: 2, key: "t" };
        assert_eq!(skip(text), Ok((0..text.len(), vec![RunStart(6), run, TrailingComma(11)])));
        // Runs in runs, keys as written.
        let text = r#"{"t\u0041": {"u": {}, {}}, {}}"#;
        let inner = RunEnd { start: 18, end: 24, objects: 2, key: "u" };
        let outer = RunEnd { start: 12, end: 29, objects: 2, key: "t\\u0041" };
        assert_eq!(skip(text), Ok((0..text.len(), vec![RunStart(18), inner, RunStart(12), outer])));
    }

    #[test]
    fn only_an_object_value_followed_by_a_comma_starts_a_run() {
        // The last member's value was not an object.
        assert_eq!(skip(r#"{"a": {}, "b": 1, {}}"#), Err(18));
        assert_eq!(skip(r#"{"a": [], {}}"#), Err(10));
        // No comma; a run closed by ']'; a run in an array; a run's object then a non-object.
        assert_eq!(skip(r#"{"a": {} {}}"#), Err(9));
        assert_eq!(skip(r#"{"a": {}, {}]"#), Err(12));
        assert_eq!(skip(r#"[{}, {}, 1, {}]"#).map(|(_, lenience)| lenience), Ok(vec![]));
        assert_eq!(skip(r#"{"a": {}, {}, 1}"#), Err(14));
        // A run's objects are checked as any object is.
        assert_eq!(skip(r#"{"a": {}, {"k": 1, "k": 2}}"#), Err(19));
    }

    /// A lenient cursor's skip of `text` (item by item, as typing reads)
    /// and what it let pass, or where it failed.
    fn skip_item_by_item(text: &str) -> std::result::Result<(Range<usize>, Vec<Lenience<'_>>), usize> {
        let mut cursor = Cursor::new(text, 0..text.len()).unique_keys().lenient();
        let span = cursor.skip_value().map_err(|error| error.offset)?;
        Ok((span, cursor.take_passed()))
    }

    #[test]
    fn a_lenient_cursor_lets_trailing_commas_pass_item_by_item_as_a_whole_reading_does() {
        for text in [
            "[1,]",
            "{\"a\": [1 , \n],\t}",
            "[[],[],]",
            r#"{"a": {"b": [{},],},"c": 1 ,}"#,
            "[,]",
            "{,}",
            "[1,,]",
            "{\"a\":1,,}",
            "[1,}",
            "{\"a\": 1,]",
            r#"{"a": 1, "a": 2,}"#,
        ] {
            assert_eq!(skip_item_by_item(text), skip(text), "{text}");
        }
        // A strict cursor lets none pass.
        let mut strict = Cursor::new("[1,]", 0..4);
        assert_eq!(strict.skip_value().map_err(|error| error.offset), Err(3));
        assert!(strict.take_passed().is_empty());
    }

    #[test]
    fn runs_pass_where_typing_asks_for_them_as_in_a_whole_reading() {
        let text = r#"{"t": {"a": 1,}, {}, {"b": 2} , "n": 1}"#;
        let mut cursor = Cursor::new(text, 0..text.len()).unique_keys().lenient();
        cursor.begin_object().unwrap();
        let key = cursor.next_key().unwrap().unwrap();
        let start = cursor.position() + 1;
        cursor.skip_value().unwrap();
        let mut objects = 1;
        while cursor.run_follows() {
            if objects == 1 {
                cursor.open_run(start);
            }
            cursor.skip_value().unwrap();
            objects += 1;
        }
        cursor.close_run(start, objects, key.written());
        assert_eq!(cursor.next_key().unwrap().map(Str::written), Some("n"));
        cursor.skip_value().unwrap();
        assert_eq!(cursor.next_key().unwrap().map(Str::written), None);
        assert_eq!(Ok((0..text.len(), cursor.take_passed())), skip(text));
        // Nothing follows, or no object after the comma: no run, and the cursor stays.
        for (text, at) in [(r#"{"t": {} }"#, 8), (r#"{"t": {}, "u": 1}"#, 8)] {
            let mut cursor = Cursor::new(text, 0..text.len()).lenient();
            cursor.begin_object().unwrap();
            cursor.next_key().unwrap();
            cursor.skip_value().unwrap();
            assert!(!cursor.run_follows());
            assert_eq!(cursor.position(), at);
        }
        // A strict cursor finds none.
        let text = r#"{"t": {}, {}}"#;
        let mut cursor = Cursor::new(text, 0..text.len());
        cursor.begin_object().unwrap();
        cursor.next_key().unwrap();
        cursor.skip_value().unwrap();
        assert!(!cursor.run_follows());
    }

    #[test]
    fn a_run_counts_as_a_level_of_nesting() {
        // The token parse nests the run's later objects one deeper than its first.
        let text = r#"{"a": {}, {}}"#;
        let mut cursor = Cursor::new(text, 0..text.len()).max_depth(2);
        assert_eq!(
            cursor.skip_lenient(&mut |_| {}).map_err(|error| (error.offset, error.message)),
            Err((10, "nesting deeper than the limit"))
        );
        cursor.restart(0, 3);
        assert!(cursor.skip_lenient(&mut |_| {}).is_ok());
    }
}
