//! The tolerant parser: one forward pass over the decoded text that records
//! the edits turning it into strict JSON.
//!
//! Containers live on an explicit stack, so depth costs heap, not call stack,
//! and the limit is checked before each push. A container inside another is
//! first read whole by the strict cursor, leniently: where it is strict JSON
//! but for the documented sample's own damage (trailing commas, runs of bare
//! objects), the parser records that damage as the cursor hands it on and
//! nothing else, and that reading is the faster one. Each byte is looked
//! at a bounded number of times (by at most one failed strict reading); the
//! other look-ahead is a peek past whitespace and comments after a comma
//! inside an object run. What it records can be handed on in
//! parts, between documents, so that a large input's edits and repairs need
//! not be held all at once.
//!
//! A large response may be parsed on two threads: a second parser starts at
//! a record near the middle with the stack it guesses is there ([`Split`]),
//! and the first takes on what it recorded if, when it gets there, the guess
//! was right. Nothing before a record changes what is recorded in it but
//! that stack (how the strict readings fared before changes only which are
//! tried), so what the two record is what one would have.

use std::borrow::Cow;
use std::collections::HashSet;
use std::mem;
use std::ops::{ControlFlow, Range};
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use super::edits::Edit;
use super::{Note, NoteKind, Repair, RepairErrorKind, RepairKind, Threads};
use crate::json::{key_bit, Cursor, Lenience};
use crate::span::Span;

/// What the parser found in one part of the text, in decoded-text coordinates.
pub(super) struct Parsed {
    /// The part of the text: whole documents and the text between them.
    pub range: Range<usize>,
    /// Edits in the order they were recorded.
    pub edits: Vec<Edit>,
    pub repairs: Vec<Repair>,
    pub notes: Vec<Note>,
    pub documents: Vec<Document>,
}

/// One top-level value: its text range and the edits recorded while it was open.
pub(super) struct Document {
    pub start: usize,
    pub end: usize,
    /// The number of edits in its part recorded before the document began.
    pub first_edit: usize,
    /// The number of edits in its part recorded when the document was complete.
    pub end_edit: usize,
}

/// A failure, in decoded-text coordinates.
pub(super) struct Failure {
    pub kind: RepairErrorKind,
    pub span: Span,
}

/// Objects with more keys than this switch from a linear scan to a hash set.
const LINEAR_KEY_SCAN: usize = 32;

/// Parses the whole text as one part.
pub(super) fn parse(text: &str, max_depth: usize) -> Result<Parsed, Failure> {
    let mut whole = None;
    parse_parts(text, max_depth, usize::MAX, Threads::One, &mut |part| {
        whole = Some(part);
        ControlFlow::Continue(())
    })?;
    Ok(whole.expect("a parse that succeeds yields a part"))
}

/// Parses the text in parts of at least `part_bytes` (but the last), each
/// ending after a document, and hands each on as soon as it is complete, so
/// what is recorded is held for one part at a time. A part ends only where
/// nothing after it can change what was recorded in it: the parts, one after
/// another, are what one part of the whole text would be. Stops early when
/// `on_part` says so.
///
/// Fails as a whole parse would, perhaps after handing on the parts before
/// the failure.
pub(super) fn parse_parts(
    text: &str,
    max_depth: usize,
    part_bytes: usize,
    threads: Threads,
    on_part: &mut dyn FnMut(Parsed) -> ControlFlow<()>,
) -> Result<(), Failure> {
    let two = threads == Threads::Two
        && text.len() >= SPLIT_FROM
        && thread::available_parallelism().is_ok_and(|cores| cores.get() >= 2);
    let split = if two { Split::guess(text.as_bytes()) } else { None };
    run_parts(Parser::new(text, max_depth), part_bytes, split, on_part)
}

/// Text shorter than this is parsed on one thread: a second one would save
/// less than it costs to start.
const SPLIT_FROM: usize = 1 << 20;

/// How deep a [`Split`] is: the response object, then its array of records.
const SPLIT_DEPTH: usize = 2;

/// How many places a [`Split::guess`] looks at before it gives up.
const SPLIT_TRIES: usize = 64;

/// Where a second thread may start parsing a large response: the start of a
/// record in its array, after a comma, near the middle of the text. A guess
/// from a glance at the text: the first thread confirms it when it gets
/// there ([`Parser::meets`]); if it does not, that thread parses on itself
/// and the second thread's work is dropped.
#[derive(Clone, Copy, Debug)]
struct Split {
    /// The comma before the record.
    comma: usize,
    /// The record's `{`.
    at: usize,
}

impl Split {
    /// A record from the middle on that starts with the key the first
    /// record starts with, in text that starts as a response does: an
    /// object whose first array holds objects.
    fn guess(bytes: &[u8]) -> Option<Split> {
        let skip_whitespace = |from: usize| from + bytes[from..].iter().take_while(|&&b| is_json_whitespace(b)).count();
        let before_whitespace = |at: usize| bytes[..at].iter().rposition(|&b| !is_json_whitespace(b));
        if bytes.get(skip_whitespace(0)) != Some(&b'{') {
            return None;
        }
        let record = skip_whitespace(memchr::memchr(b'[', bytes)? + 1);
        if bytes.get(record) != Some(&b'{') {
            return None;
        }
        let key = skip_whitespace(record + 1);
        if bytes.get(key) != Some(&b'"') {
            return None;
        }
        let key = &bytes[key..=crate::json::closing_quote(bytes, key + 1)?.0];
        let middle = bytes.len() / 2;
        memchr::memmem::find_iter(&bytes[middle..], key).take(SPLIT_TRIES).find_map(|found| {
            let at = before_whitespace(middle + found).filter(|&at| bytes[at] == b'{')?;
            let comma = before_whitespace(at).filter(|&comma| bytes[comma] == b',')?;
            Some(Split { comma, at })
        })
    }
}

/// What the parse of `text` is when it holds one document, `document`,
/// that a lenient reading passed whole, letting `passed` pass: its pieces
/// recorded as the parse records them when it reads the document that way.
pub(super) fn parse_passed<'t>(
    text: &'t str,
    document: Range<usize>,
    passed: impl IntoIterator<Item = Lenience<'t>>,
) -> Parsed {
    let mut parser = Parser::new(text, usize::MAX);
    parser.pos = document.start;
    parser.begin_document();
    for piece in passed {
        parser.record_lenience(piece);
    }
    parser.end_document(document.end);
    parser.take_part(text.len())
}

fn run_parts(
    mut parser: Parser<'_>,
    part_bytes: usize,
    split: Option<Split>,
    on_part: &mut dyn FnMut(Parsed) -> ControlFlow<()>,
) -> Result<(), Failure> {
    let text = parser.text;
    let flow = match split {
        Some(split) => parser.run_split(split, part_bytes, on_part)?,
        None => parser.run(part_bytes, on_part)?,
    };
    if flow.is_break() {
        return Ok(());
    }
    parser.finish_truncated();
    if parser.last_document_end.is_none() {
        let only_trivia =
            parser.repairs.iter().all(|r| matches!(r.kind, RepairKind::Comment | RepairKind::NonJsonWhitespace));
        let kind = if only_trivia { RepairErrorKind::Empty } else { RepairErrorKind::NoValue };
        return Err(Failure { kind, span: Span::new(0, text.len()) });
    }
    let _ = on_part(parser.take_part(text.len()));
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Object,
    Array,
    /// An array the parser opened itself: objects that followed an object
    /// value where a key belonged.
    Run,
}

impl Container {
    /// The closing bracket, as text to insert.
    fn closer_text(self) -> &'static str {
        match self {
            Container::Object => "}",
            Container::Array | Container::Run => "]",
        }
    }

    /// The closing bracket, as the byte to compare with.
    fn closer(self) -> u8 {
        self.closer_text().as_bytes()[0]
    }

    fn noun(self) -> &'static str {
        match self {
            Container::Object => "object",
            Container::Array | Container::Run => "array",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Just after the opener.
    Open,
    /// After a comma; `Some` holds the comma's offset, `None` an inserted comma.
    AfterComma(Option<usize>),
    /// After an object key.
    AfterKey,
    /// After an object key's colon, or while its value is open.
    AfterColon,
    /// After a complete member or element.
    AfterValue,
}

struct Frame<'t> {
    container: Container,
    /// Offset of the opening bracket (of the first object, for a run).
    open: usize,
    state: State,
    /// The last complete value in this container.
    value: Span,
    value_is_object: bool,
    /// Objects: the current key, and where its member begins (its comma or key).
    key: Span,
    member_start: usize,
    /// Objects: how many edits, repairs and notes there were when the current
    /// member began; a member cut off by the end of input drops what followed.
    member_mark: (usize, usize, usize),
    members: usize,
    /// Objects: where this object's keys begin in `Parser::keys`, or the set
    /// they moved to once there were many.
    keys_base: usize,
    key_set: Option<HashSet<Cow<'t, str>>>,
    /// Objects: the bits of the keys so far ([`key_bit`]); a key whose bit
    /// is not set is new, with no look at the others.
    key_bits: u64,
}

impl Frame<'_> {
    fn new(container: Container, open: usize, keys_base: usize) -> Self {
        Frame {
            container,
            open,
            state: State::Open,
            value: Span::point(open),
            value_is_object: false,
            key: Span::point(open),
            member_start: open,
            member_mark: (0, 0, 0),
            members: 0,
            keys_base,
            key_set: None,
            key_bits: 0,
        }
    }
}

/// How a string token was delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    Double,
    Single,
    /// “…” — closed by ” or “.
    SmartDouble,
    /// ‘…’
    SmartSingle,
}

/// A lexed string: the span of the whole token, and of its contents.
struct StringToken {
    span: Span,
    content: Span,
    quote: Quote,
    has_escape: bool,
}

/// The most recent top-level garbage region, for merging.
#[derive(Clone, Copy)]
struct Garbage {
    repair: usize,
    edit: usize,
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    max_depth: usize,
    stack: Vec<Frame<'t>>,
    keys: Vec<Cow<'t, str>>,
    edits: Vec<Edit>,
    repairs: Vec<Repair>,
    notes: Vec<Note>,
    documents: Vec<Document>,
    /// Where the part being parsed starts.
    part_start: usize,
    /// The document being parsed: its start and the edit count before it.
    open_document: Option<(usize, usize)>,
    last_document_end: Option<usize>,
    /// How many edits, repairs and notes there were when the last document ended.
    last_document_mark: (usize, usize, usize),
    garbage: Option<Garbage>,
    jsonp_open: bool,
    descriptions: Descriptions,
    /// The description of a trailing comma's repair, once made.
    trailing_comma: Option<Arc<str>>,
    /// Object-run descriptions made lately, by key as written, object count
    /// and closing: one run repeats in record after record.
    run_descriptions: Vec<(&'t str, usize, bool, Arc<str>)>,
    /// Per nesting depth, how containers found there fared when read whole
    /// as strict JSON (see [`Parser::skip_strict`]).
    strict: [StrictRecord; STRICT_DEPTHS],
    /// The strict cursor those readings use, kept for its memory (out
    /// while it reads).
    cursor: Option<Cursor<'t>>,
    /// Where the last of those readings failed: none starts before it.
    strict_failed_at: usize,
    /// Where the parse stops short of the end, if it does.
    bound: Bound,
    /// How deep the parse looks at its bound: 0 (where it has none, and
    /// between documents), or a split's depth.
    floor: usize,
}

/// Where a parse stops short of the end: on either side of a [`Split`].
enum Bound {
    /// It does not: it parses to the end.
    End,
    /// The first thread: at the split, or at its depth or above once past it.
    UpTo(Split),
    /// The second thread: from the split on, until it would leave the
    /// records' array, or the flag is set (the first thread went past the split
    /// otherwise than guessed).
    Within(Arc<AtomicBool>),
}

/// Depths told apart by [`StrictRecord`]; deeper ones share the last.
const STRICT_DEPTHS: usize = 8;

/// Attempts after failures at one depth are spaced out to at most one in this many.
const STRICT_MAX_BACKOFF: u32 = 8;

/// How reading containers at one depth as strict JSON went lately.
#[derive(Clone, Copy, Default)]
struct StrictRecord {
    /// Failures since the last success, capped at [`STRICT_MAX_BACKOFF`].
    failures: u32,
    /// Containers still to parse token by token before the next attempt.
    skip: u32,
}

/// Hands out shared copies of the descriptions said lately. Damage repeats
/// itself (a repair on every record says one of a few things), and a copy per
/// repair would be the largest thing held after the text.
#[derive(Default)]
struct Descriptions {
    recent: [Option<Arc<str>>; RECENT_DESCRIPTIONS],
    next: usize,
}

/// How many distinct descriptions [`Descriptions`] remembers.
const RECENT_DESCRIPTIONS: usize = 8;

/// How many object-run descriptions the parser remembers (runs of up to 8
/// targets under one key take 7).
const RECENT_RUNS: usize = 16;

impl Descriptions {
    fn get(&mut self, text: Cow<'static, str>) -> Arc<str> {
        if let Some(shared) = self.recent.iter().flatten().find(|d| ***d == *text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.recent[self.next] = Some(Arc::clone(&shared));
        self.next = (self.next + 1) % RECENT_DESCRIPTIONS;
        shared
    }
}

fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes that end a bare word: whitespace, structure, quotes, and the
/// characters that mean something else (`(`, `)`, `;`, `=`) or nothing.
fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b':'
            | b','
            | b'"'
            | b'\''
            | b'('
            | b')'
            | b';'
            | b'='
    ) || b < 0x20
        || b == 0x7F
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02X}")
    }
}

impl<'t> Parser<'t> {
    fn new(text: &'t str, max_depth: usize) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            max_depth,
            stack: Vec::new(),
            keys: Vec::new(),
            edits: Vec::new(),
            repairs: Vec::new(),
            notes: Vec::new(),
            documents: Vec::new(),
            part_start: 0,
            open_document: None,
            last_document_end: None,
            last_document_mark: (0, 0, 0),
            garbage: None,
            jsonp_open: false,
            descriptions: Descriptions::default(),
            trailing_comma: None,
            run_descriptions: Vec::new(),
            strict: [StrictRecord::default(); STRICT_DEPTHS],
            cursor: Some(Cursor::new(text, 0..text.len()).unique_keys()),
            strict_failed_at: 0,
            bound: Bound::End,
            floor: 0,
        }
    }

    // ----- recording ---------------------------------------------------------

    fn edit(&mut self, start: usize, end: usize, insert: impl Into<Cow<'static, str>>) {
        self.edits.push(Edit { start, end, insert: insert.into() });
    }

    fn repair(&mut self, kind: RepairKind, span: Span, description: impl Into<Cow<'static, str>>) {
        let description = self.descriptions.get(description.into());
        self.repairs.push(Repair { kind, span, description });
    }

    /// Deletes `span` as a repair of `kind`, merging with an identical repair
    /// that ends where this one starts.
    fn delete(&mut self, kind: RepairKind, span: Span, description: impl Into<Cow<'static, str>>) {
        if let (Some(repair), Some(edit)) = (self.repairs.last_mut(), self.edits.last_mut()) {
            let mergeable = matches!(kind, RepairKind::UnexpectedCharacter | RepairKind::NonJsonWhitespace);
            if mergeable && repair.kind == kind && repair.span.end == span.start && edit.end == span.start {
                repair.span.end = span.end;
                edit.end = span.end;
                if kind == RepairKind::UnexpectedCharacter {
                    let description = format!("removed {} unexpected bytes", repair.span.len());
                    repair.description = self.descriptions.get(description.into());
                }
                return;
            }
        }
        self.edit(span.start, span.end, "");
        self.repair(kind, span, description);
    }

    /// Removes the trailing comma at `comma`, as `delete` would (trailing
    /// commas never merge), with a description made once per parse: the
    /// documented sample's damage has one in every container.
    fn remove_trailing_comma(&mut self, comma: usize) {
        let description = match &self.trailing_comma {
            Some(description) => Arc::clone(description),
            None => {
                let description = self.descriptions.get("removed a trailing comma".into());
                self.trailing_comma.insert(description).clone()
            }
        };
        let span = Span::new(comma, comma + 1);
        self.edit(span.start, span.end, "");
        self.repairs.push(Repair { kind: RepairKind::TrailingComma, span, description });
    }

    /// Records the repair of a run of `objects` objects in the value of `key`
    /// (as written); `inserted_closer` when its `]` was inserted too.
    fn object_run(&mut self, key: &'t str, span: Span, objects: usize, inserted_closer: bool) {
        // Counts first: the key is the same in record after record.
        let made =
            self.run_descriptions.iter().find(|(k, n, c, _)| *n == objects && *c == inserted_closer && *k == key);
        let description = match made {
            Some((.., description)) => Arc::clone(description),
            None => {
                let closing = if inserted_closer { "'[' and ']'" } else { "the missing '['" };
                let text = format!(
                    "the value of key {key:?} continues as a run of {objects} objects: inserted {closing} to make it an array"
                );
                let description = self.descriptions.get(text.into());
                if self.run_descriptions.len() == RECENT_RUNS {
                    self.run_descriptions.clear();
                }
                self.run_descriptions.push((key, objects, inserted_closer, Arc::clone(&description)));
                description
            }
        };
        self.repairs.push(Repair { kind: RepairKind::ObjectRun, span, description });
    }

    fn insert(&mut self, at: usize, text: &'static str, kind: RepairKind, description: impl Into<Cow<'static, str>>) {
        self.edit(at, at, text);
        self.repair(kind, Span::point(at), description);
    }

    // ----- main loop ---------------------------------------------------------

    /// Parses on until the input ends or the parse's [`Bound`] stops it,
    /// handing on parts as they end.
    fn run(
        &mut self,
        part_bytes: usize,
        on_part: &mut dyn FnMut(Parsed) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Failure> {
        loop {
            self.skip_trivia();
            let Some(&b) = self.bytes.get(self.pos) else {
                return Ok(ControlFlow::Continue(()));
            };
            // One comparison for all that is not inside a document, or at
            // or above a split's depth.
            if self.stack.len() <= self.floor {
                if self.stops_at_bound(b) {
                    return Ok(ControlFlow::Continue(()));
                }
                if self.stack.is_empty() {
                    // Between documents: where a part may end, before the next one.
                    let part_ends = self.pos - self.part_start >= part_bytes && self.part_may_end();
                    if part_ends && on_part(self.take_part(self.pos)).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                    self.top_level(b)?;
                    continue;
                }
            }
            self.token(b)?;
        }
    }

    /// Parses the token that starts with `b` inside the open container.
    #[inline(always)]
    fn token(&mut self, b: u8) -> Result<(), Failure> {
        let frame = self.stack.last().expect("a frame is open");
        match (frame.container, frame.state) {
            (Container::Object, State::Open | State::AfterComma(_)) => self.object_key(b),
            (Container::Object, State::AfterKey) => self.object_colon(b),
            (Container::Object, State::AfterColon) => self.object_value(b),
            (_, State::AfterValue) => self.after_value(b),
            (Container::Array | Container::Run, _) => self.array_value(b),
        }
    }

    // ----- two threads -------------------------------------------------------

    /// [`Parser::run`] to the end, with the records from `split` on parsed
    /// meanwhile on a second thread, and taken on if the guess was right.
    fn run_split(
        &mut self,
        split: Split,
        part_bytes: usize,
        on_part: &mut dyn FnMut(Parsed) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Failure> {
        let cancel = Arc::new(AtomicBool::new(false));
        let later = Parser::at_split(self.text, self.max_depth, split, Arc::clone(&cancel));
        self.bound(Bound::UpTo(split));
        let flow = thread::scope(|scope| {
            let later = thread::Builder::new().spawn_scoped(scope, || later.run_from_split()).ok();
            let flow = self.run(part_bytes, on_part);
            let met = matches!(flow, Ok(ControlFlow::Continue(()))) && self.meets(split);
            if !met {
                cancel.store(true, Ordering::Relaxed);
            }
            let later = later.and_then(|later| later.join().unwrap_or_else(|panicked| panic::resume_unwind(panicked)));
            if let Some(later) = later.filter(|_| met) {
                self.take_on(later);
            }
            flow
        })?;
        if flow.is_break() {
            return Ok(flow);
        }
        self.bound(Bound::End);
        self.run(part_bytes, on_part)
    }

    /// A parser at `split`, with the stack the split assumes: the response
    /// object, in a member's value, and the array of records after a comma;
    /// inside the response's document.
    fn at_split(text: &'t str, max_depth: usize, split: Split, cancel: Arc<AtomicBool>) -> Self {
        let mut parser = Parser::new(text, max_depth);
        parser.pos = split.at;
        parser.bound(Bound::Within(cancel));
        // A closer deep in a record may close everything up to the response
        // object in one token ('}' in `[[1}`), ending the document before
        // the bound can stop the parse, which then gives up.
        parser.open_document = Some((0, 0));
        parser.stack.push(Frame { state: State::AfterColon, ..Frame::new(Container::Object, 0, 0) });
        let array = Frame::new(Container::Array, split.comma, 0);
        parser.stack.push(Frame { state: State::AfterComma(Some(split.comma)), ..array });
        parser
    }

    /// Whether the parse stops before `b`, at or above a split's depth, as
    /// its bound says.
    #[cold]
    fn stops_at_bound(&self, b: u8) -> bool {
        match &self.bound {
            Bound::End => false,
            Bound::UpTo(split) => self.pos >= split.at,
            // `b` closes the records' array, or the parse left it, or the
            // first thread no longer needs this one.
            Bound::Within(cancel) => {
                self.stack.len() < SPLIT_DEPTH || matches!(b, b']' | b'}') || cancel.load(Ordering::Relaxed)
            }
        }
    }

    fn bound(&mut self, bound: Bound) {
        self.floor = if matches!(bound, Bound::End) { 0 } else { SPLIT_DEPTH };
        self.bound = bound;
    }

    /// Parses on from [`Parser::at_split`], on the second thread, until the
    /// records' array is about to close or the input ends in it. Gives up
    /// (`None`) where what it recorded could depend on what it did not see:
    /// a closer that leaves the array, input ending inside a record, a
    /// failure; and when the first thread no longer needs it.
    fn run_from_split(mut self) -> Option<Self> {
        let parsed = self.run(usize::MAX, &mut |_| ControlFlow::Continue(()));
        let at_closer = matches!(self.bytes.get(self.pos), None | Some(b']' | b'}'));
        (parsed.is_ok() && self.stack.len() == SPLIT_DEPTH && at_closer).then_some(self)
    }

    /// Whether the parse stands where `split` guessed it would: at its
    /// record, after its comma, in an array that is the value of a member of
    /// the document's object.
    fn meets(&self, split: Split) -> bool {
        self.pos == split.at
            && matches!(&self.stack[..], [object, array]
                if object.container == Container::Object
                    && object.state == State::AfterColon
                    && array.container == Container::Array
                    && array.state == State::AfterComma(Some(split.comma)))
    }

    /// Takes on what the second thread parsed from the split this parse
    /// [`meets`](Parser::meets): its findings, its place, and the state of
    /// the records' array (the only frame of its stack this one shares).
    fn take_on(&mut self, later: Parser<'t>) {
        let Parser { stack, pos, edits, repairs, notes, strict_failed_at, .. } = later;
        let (array, from) = (self.stack.last_mut().expect("a split is in an array"), &stack[SPLIT_DEPTH - 1]);
        array.state = from.state;
        array.value = from.value;
        array.value_is_object = from.value_is_object;
        array.members += from.members;
        self.pos = pos;
        self.edits.extend(edits);
        self.repairs.extend(repairs);
        self.notes.extend(notes);
        self.strict_failed_at = self.strict_failed_at.max(strict_failed_at);
    }

    /// Whether a part may end here: just after a document, with nothing open
    /// and nothing recorded since that a later step could change or merge with.
    fn part_may_end(&self) -> bool {
        !self.documents.is_empty()
            && self.stack.is_empty()
            && self.open_document.is_none()
            && self.garbage.is_none()
            && !self.jsonp_open
            && self.last_document_mark == (self.edits.len(), self.repairs.len(), self.notes.len())
    }

    /// What was recorded since the last part, as the part ending at `end`.
    fn take_part(&mut self, end: usize) -> Parsed {
        let range = mem::replace(&mut self.part_start, end)..end;
        Parsed {
            range,
            edits: mem::take(&mut self.edits),
            repairs: mem::take(&mut self.repairs),
            notes: mem::take(&mut self.notes),
            documents: mem::take(&mut self.documents),
        }
    }

    /// Skips whitespace; removes comments and whitespace JSON does not allow.
    fn skip_trivia(&mut self) {
        loop {
            while self.pos < self.bytes.len() && is_json_whitespace(self.bytes[self.pos]) {
                self.pos += 1;
            }
            let start = self.pos;
            // Nearly every token starts with a byte that starts no trivia.
            if !self.bytes.get(start).is_some_and(|&b| may_start_trivia(b)) {
                return;
            }
            match &self.bytes[start..] {
                [b'/', b'/', ..] | [b'#', ..] => {
                    let end = memchr::memchr(b'\n', &self.bytes[start..]).map_or(self.bytes.len(), |i| start + i);
                    let end = if end > start && self.bytes[end - 1] == b'\r' { end - 1 } else { end };
                    self.delete(RepairKind::Comment, Span::new(start, end), "removed a line comment");
                    self.pos = end;
                }
                [b'/', b'*', ..] => match memchr::memmem::find(&self.bytes[start + 2..], b"*/") {
                    Some(i) => {
                        let end = start + 2 + i + 2;
                        self.delete(RepairKind::Comment, Span::new(start, end), "removed a block comment");
                        self.pos = end;
                    }
                    None => {
                        let end = self.bytes.len();
                        self.delete(
                            RepairKind::Comment,
                            Span::new(start, end),
                            "removed a block comment left open at the end of input",
                        );
                        self.pos = end;
                    }
                },
                rest => {
                    let len = non_json_whitespace_len(rest);
                    if len == 0 {
                        return;
                    }
                    self.delete(
                        RepairKind::NonJsonWhitespace,
                        Span::new(start, start + len),
                        "removed whitespace that JSON does not allow",
                    );
                    self.pos += len;
                }
            }
        }
    }

    // ----- top level ---------------------------------------------------------

    fn top_level(&mut self, b: u8) -> Result<(), Failure> {
        match b {
            b'{' | b'[' => {
                self.begin_document();
                self.open_container(b)
            }
            b'}' | b']' => {
                let span = Span::new(self.pos, self.pos + 1);
                self.delete(RepairKind::SurplusCloser, span, format!("removed '{}' that closes nothing", b as char));
                self.pos += 1;
                Ok(())
            }
            b')' if self.jsonp_open => {
                self.close_jsonp();
                Ok(())
            }
            _ => {
                if self.top_level_scalar()? || self.jsonp_open_here() {
                    return Ok(());
                }
                self.top_level_garbage();
                Ok(())
            }
        }
    }

    /// Marks the start of a document, separating it from one that ended on the same line.
    fn begin_document(&mut self) {
        if let Some(previous_end) = self.last_document_end {
            if !self.line_break_survives(previous_end, self.pos) {
                self.insert(
                    self.pos,
                    "\n",
                    RepairKind::DocumentSeparator,
                    "inserted a line break between two documents on one line",
                );
            }
        }
        self.garbage = None;
        self.open_document = Some((self.pos, self.edits.len()));
    }

    /// Whether a line break between `from` and `to` is left by the deletions
    /// made since the last document ended.
    fn line_break_survives(&self, from: usize, to: usize) -> bool {
        // Edits between two documents are recorded in input order, so one
        // walk over line breaks and deletions together suffices.
        let since = self.documents.last().map_or(0, |d| d.end_edit);
        let mut deleted = self.edits[since..].iter().filter(|e| e.end > e.start).peekable();
        memchr::memchr_iter(b'\n', &self.bytes[from..to]).map(|i| from + i).any(|at| {
            while deleted.next_if(|e| e.end <= at).is_some() {}
            deleted.peek().is_none_or(|e| at < e.start)
        })
    }

    fn end_document(&mut self, end: usize) {
        let (start, first_edit) = self.open_document.take().expect("a document is open");
        self.documents.push(Document { start, end, first_edit, end_edit: self.edits.len() });
        self.last_document_end = Some(end);
        self.last_document_mark = (self.edits.len(), self.repairs.len(), self.notes.len());
    }

    /// A string, number or literal alone on the rest of its line is a document.
    /// Anything else starting a line of prose is not. Returns whether it was one.
    fn top_level_scalar(&mut self) -> Result<bool, Failure> {
        let b = self.bytes[self.pos];
        let plausible = (b == b'"' && self.string_closes_on_its_line())
            || b == b'-'
            || b.is_ascii_digit()
            || ["true", "false", "null"].iter().any(|w| self.word_at(self.pos) == *w);
        if !plausible {
            return Ok(false);
        }
        let (edits, repairs, notes) = (self.edits.len(), self.repairs.len(), self.notes.len());
        let (garbage, last_end, last_mark) = (self.garbage, self.last_document_end, self.last_document_mark);
        let start = self.pos;
        self.begin_document();
        self.scalar(b)?;
        if self.open_document.is_none() && self.rest_of_line_is_blank() {
            return Ok(true);
        }
        // Not a document after all: undo and treat the line as text.
        self.edits.truncate(edits);
        self.repairs.truncate(repairs);
        self.notes.truncate(notes);
        if self.open_document.is_none() {
            self.documents.pop();
        }
        self.open_document = None;
        self.last_document_end = last_end;
        self.last_document_mark = last_mark;
        self.garbage = garbage;
        self.pos = start;
        Ok(false)
    }

    /// Whether the string starting at `self.pos` ends before the line does.
    /// A top-level line that opens a string and never closes it is prose; this
    /// also keeps such lines from being scanned to the end of input each.
    fn string_closes_on_its_line(&self) -> bool {
        let mut i = self.pos + 1;
        while let Some(offset) = memchr::memchr3(b'"', b'\\', b'\n', &self.bytes[i..]) {
            i += offset;
            match self.bytes[i] {
                b'"' => return true,
                b'\\' => i += 2,
                _ => return false,
            }
            if i >= self.bytes.len() {
                return false;
            }
        }
        false
    }

    fn rest_of_line_is_blank(&self) -> bool {
        let rest = &self.bytes[self.pos..];
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        line.iter().all(|&b| is_json_whitespace(b))
    }

    /// `callback(` before a document: a JSONP wrapper. Returns whether it was one.
    fn jsonp_open_here(&mut self) -> bool {
        let word = self.word_at(self.pos);
        let is_identifier = !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
            && !word.as_bytes()[0].is_ascii_digit();
        if !is_identifier || self.jsonp_open {
            return false;
        }
        let mut paren = self.pos + word.len();
        while paren < self.bytes.len() && matches!(self.bytes[paren], b' ' | b'\t') {
            paren += 1;
        }
        if self.bytes.get(paren) != Some(&b'(') {
            return false;
        }
        let span = Span::new(self.pos, paren + 1);
        self.delete(RepairKind::JsonpWrapper, span, format!("removed the JSONP wrapper '{word}('"));
        self.jsonp_open = true;
        self.pos = paren + 1;
        true
    }

    fn close_jsonp(&mut self) {
        let start = self.pos;
        let mut end = start + 1;
        let mut after = end;
        while after < self.bytes.len() && matches!(self.bytes[after], b' ' | b'\t') {
            after += 1;
        }
        if self.bytes.get(after) == Some(&b';') {
            end = after + 1;
        }
        self.delete(RepairKind::JsonpWrapper, Span::new(start, end), "removed the end of the JSONP wrapper");
        self.jsonp_open = false;
        self.pos = end;
    }

    /// Removes text up to the next `{` or `[` on this line, or its end. Lines
    /// of such text separated only by whitespace become one repair.
    fn top_level_garbage(&mut self) {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let end = start + memchr::memchr3(b'{', b'[', b'\n', rest).unwrap_or(rest.len());
        let end = if end > start && self.bytes[end - 1] == b'\r' { end - 1 } else { end };
        let end = end.max(start + self.text[start..].chars().next().map_or(1, char::len_utf8));
        self.pos = end;

        let line = &self.text[start..end];
        let kind = if line.starts_with("```") || line.starts_with("~~~") {
            RepairKind::MarkdownFence
        } else if self.last_document_end.is_none() && (line.starts_with("HTTP/") || self.continues_http_preamble(line))
        {
            RepairKind::HttpPreamble
        } else {
            RepairKind::SurroundingText
        };

        if let Some(garbage) = self.garbage {
            let contiguous = garbage.repair + 1 == self.repairs.len()
                && garbage.edit + 1 == self.edits.len()
                && self.repairs[garbage.repair].kind == kind
                && self.bytes[self.edits[garbage.edit].end..start].iter().all(|&b| is_json_whitespace(b));
            if contiguous {
                self.edits[garbage.edit].end = end;
                self.repairs[garbage.repair].span.end = end;
                return;
            }
        }

        let description = match kind {
            RepairKind::MarkdownFence => "removed a Markdown code fence",
            RepairKind::HttpPreamble => "removed the HTTP status line and headers before the body",
            _ => "removed text outside the JSON",
        };
        self.edit(start, end, "");
        self.repair(kind, Span::new(start, end), description);
        self.garbage = Some(Garbage { repair: self.repairs.len() - 1, edit: self.edits.len() - 1 });
    }

    /// A `Name: value` header line right after an HTTP status line or header.
    fn continues_http_preamble(&self, line: &str) -> bool {
        let after_preamble = self.garbage.is_some_and(|g| {
            g.repair + 1 == self.repairs.len() && self.repairs[g.repair].kind == RepairKind::HttpPreamble
        });
        let header_name = line.split_once(':').map(|(name, _)| name);
        after_preamble
            && header_name
                .is_some_and(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    }

    // ----- containers --------------------------------------------------------

    fn open_container(&mut self, b: u8) -> Result<(), Failure> {
        let container = if b == b'{' { Container::Object } else { Container::Array };
        self.push(container, self.pos)?;
        self.pos += 1;
        Ok(())
    }

    fn push(&mut self, container: Container, open: usize) -> Result<(), Failure> {
        if self.stack.len() >= self.max_depth {
            return Err(Failure {
                kind: RepairErrorKind::TooDeep { limit: self.max_depth },
                span: Span::new(open, open + 1),
            });
        }
        self.stack.push(Frame::new(container, open, self.keys.len()));
        Ok(())
    }

    /// Records a complete value in the enclosing container, or ends a document.
    fn value_done(&mut self, span: Span, is_object: bool) {
        match self.stack.last_mut() {
            Some(frame) => {
                if frame.container != Container::Object {
                    frame.members += 1;
                }
                frame.value = span;
                frame.value_is_object = is_object;
                frame.state = State::AfterValue;
            }
            None => self.end_document(span.end),
        }
    }

    /// Closes the top frame with the closer at `self.pos`.
    fn close_top(&mut self) {
        self.settle(self.pos);
        self.pos += 1;
        self.pop(self.pos);
    }

    /// Settles what the top frame's state left open before a closer at `closer_at`:
    /// a trailing comma goes, a key without a value gets `null`.
    fn settle(&mut self, closer_at: usize) {
        let frame = self.stack.last().expect("a frame is open");
        match (frame.container, frame.state) {
            (_, State::AfterComma(Some(comma))) => self.remove_trailing_comma(comma),
            (Container::Object, State::AfterKey) => {
                let at = frame.key.end;
                let key = self.key_text(frame.key);
                self.insert(at, ": null", RepairKind::MissingValue, format!("gave key {key:?} the value null"));
            }
            (Container::Object, State::AfterColon) => {
                let key = self.key_text(frame.key);
                self.insert(closer_at, "null", RepairKind::MissingValue, format!("gave key {key:?} the value null"));
            }
            _ => {}
        }
    }

    fn pop(&mut self, end: usize) {
        let frame = self.stack.pop().expect("a frame is open");
        if frame.container == Container::Object {
            self.keys.truncate(frame.keys_base);
        }
        self.value_done(Span::new(frame.open, end), frame.container == Container::Object);
    }

    /// A closing bracket at `self.pos` inside a container.
    fn closer(&mut self, b: u8) {
        let top = self.stack.last().expect("a frame is open").container;
        match (top, b) {
            // The object that held the run closes: the run ends first.
            (Container::Run, b'}') => return self.end_run(),
            // The run's own closer: the ']' whose '[' was missing.
            (Container::Run, _) => {
                self.pos += 1;
                return self.finish_run(self.pos, false);
            }
            _ if top.closer() == b => return self.close_top(),
            _ => {}
        }
        let matching = self.stack.iter().rposition(|f| f.container.closer() == b);
        // Two readings: the closer ends an outer container whose inner closers
        // are missing, or it is a typo for the top container's closer. Take the
        // first unless only the second makes sense of what follows.
        let outer_fits = matching.is_some_and(|depth| self.fits_after_close(depth));
        let typo_fits = self.fits_after_close(self.stack.len() - 1);
        if let Some(depth) = matching.filter(|_| outer_fits || !typo_fits) {
            // Close everything inside the container this closer matches.
            while self.stack.len() > depth + 1 {
                let frame = self.stack.last().expect("a frame is open");
                if frame.container == Container::Run {
                    self.end_run();
                    continue;
                }
                let (closer, noun) = (frame.container.closer_text(), frame.container.noun());
                self.settle(self.pos);
                self.insert(
                    self.pos,
                    closer,
                    RepairKind::MissingCloser,
                    format!("inserted '{closer}' to close an {noun} before '{}'", b as char),
                );
                self.pop(self.pos);
            }
            return self.closer(b);
        }
        // Settle first: a missing value goes before the replaced closer.
        self.settle(self.pos);
        let right = top.closer_text();
        self.edit(self.pos, self.pos + 1, right);
        self.repair(
            RepairKind::MismatchedCloser,
            Span::new(self.pos, self.pos + 1),
            format!("replaced '{}' with '{right}' to close an {}", b as char, top.noun()),
        );
        self.pos += 1;
        self.pop(self.pos);
    }

    /// Whether the token after the closer at `self.pos` makes sense once the
    /// frame at `depth` and everything above it are closed.
    fn fits_after_close(&self, depth: usize) -> bool {
        let next = self.peek_past_trivia(self.pos + 1);
        match (depth.checked_sub(1).map(|d| self.stack[d].container), next) {
            (_, None) => true,
            (None, Some(b)) => !matches!(b, b',' | b':' | b'}' | b']'),
            (Some(_), Some(b':')) => false,
            (Some(Container::Run), Some(b'}' | b']')) => true,
            (Some(container), Some(b @ (b'}' | b']'))) => container.closer() == b,
            (Some(_), Some(_)) => true,
        }
    }

    // ----- objects -----------------------------------------------------------

    fn object_key(&mut self, b: u8) -> Result<(), Failure> {
        let frame = self.stack.last().expect("a frame is open");
        let comma = match frame.state {
            State::AfterComma(comma) => comma,
            _ => None,
        };
        if frame.state == State::Open {
            self.mark_member();
        }
        let frame = self.stack.last().expect("a frame is open");
        match b {
            b'}' | b']' => self.closer(b),
            b',' => {
                let span = Span::new(self.pos, self.pos + 1);
                self.delete(RepairKind::ExtraComma, span, "removed a comma with no member before it");
                self.pos += 1;
            }
            b'{' if frame.value_is_object && frame.state != State::Open => self.start_run(comma)?,
            b'"' | b'\'' => self.key(),
            _ if self.smart_quote_at(self.pos).is_some() => self.key(),
            b':' => self.missing_key(),
            _ if self.word_at(self.pos).is_empty() => {
                if self.starts_value(b) {
                    self.missing_key();
                } else {
                    self.unexpected();
                }
            }
            _ => self.unquoted_key(),
        }
        Ok(())
    }

    fn key(&mut self) {
        let token = self.string();
        self.key_done(token.span, token.content, token.quote, token.has_escape);
    }

    fn unquoted_key(&mut self) {
        let start = self.pos;
        let word = self.word_at(start);
        let end = start + word.len();
        self.quote_word(start, end);
        self.repair(RepairKind::UnquotedKey, Span::new(start, end), format!("quoted the key {word:?}"));
        self.pos = end;
        self.key_done(Span::new(start, end), Span::new(start, end), Quote::Double, false);
    }

    /// A value or colon where a key belongs: give the member a generated key.
    fn missing_key(&mut self) {
        let frame = self.stack.last().expect("a frame is open");
        let name = format!("_{}", frame.members);
        let at = self.pos;
        let insert = if self.bytes[at] == b':' { format!("\"{name}\"") } else { format!("\"{name}\": ") };
        self.edit(at, at, insert);
        self.repair(RepairKind::MissingKey, Span::point(at), format!("gave a value with no key the key {name:?}"));
        let member_start = self.member_start_here(at);
        let frame = self.stack.last_mut().expect("a frame is open");
        frame.key = Span::point(at);
        frame.member_start = member_start;
        frame.members += 1;
        frame.state = if self.bytes[at] == b':' { State::AfterKey } else { State::AfterColon };
    }

    /// Where the member whose key starts at `key_start` begins: at its comma,
    /// at the end of the previous value when the comma was inserted, or at the key.
    fn member_start_here(&self, key_start: usize) -> usize {
        let frame = self.stack.last().expect("a frame is open");
        match frame.state {
            State::AfterComma(Some(comma)) => comma,
            State::AfterComma(None) => frame.value.end,
            _ => key_start,
        }
    }

    fn key_done(&mut self, span: Span, content: Span, quote: Quote, has_escape: bool) {
        let member_start = self.member_start_here(span.start);
        let key: Cow<'t, str> = if has_escape || quote == Quote::Single {
            Cow::Owned(unescape(&self.text[content.start..content.end]))
        } else {
            Cow::Borrowed(&self.text[content.start..content.end])
        };
        let frame = self.stack.last_mut().expect("a frame is open");
        frame.key = span;
        frame.member_start = member_start;
        frame.members += 1;
        frame.state = State::AfterKey;

        let seen = &self.keys[frame.keys_base..];
        let bit = key_bit(&key);
        let maybe_seen = frame.key_bits & bit != 0;
        frame.key_bits |= bit;
        let duplicate = match &mut frame.key_set {
            Some(set) => !set.insert(key.clone()),
            None => {
                let duplicate = maybe_seen && seen.contains(&key);
                if seen.len() >= LINEAR_KEY_SCAN {
                    frame.key_set = Some(self.keys.drain(frame.keys_base..).chain([key.clone()]).collect());
                } else {
                    self.keys.push(key.clone());
                }
                duplicate
            }
        };
        if duplicate {
            self.notes.push(Note {
                kind: NoteKind::DuplicateKey,
                span,
                description: format!("duplicate key {key:?}; both are kept, and a typed field takes the last").into(),
            });
        }
    }

    fn object_colon(&mut self, b: u8) -> Result<(), Failure> {
        match b {
            b':' => {
                self.pos += 1;
                self.set_state(State::AfterColon);
            }
            b'=' => {
                self.edit(self.pos, self.pos + 1, ":");
                self.repair(
                    RepairKind::MissingColon,
                    Span::new(self.pos, self.pos + 1),
                    "replaced '=' with ':' after a key",
                );
                self.pos += 1;
                self.set_state(State::AfterColon);
            }
            b'}' | b']' => self.closer(b),
            b',' => {
                let frame = self.stack.last().expect("a frame is open");
                let (at, key) = (frame.key.end, self.key_text(frame.key));
                self.insert(at, ": null", RepairKind::MissingValue, format!("gave key {key:?} the value null"));
                let frame = self.stack.last_mut().expect("a frame is open");
                frame.value = Span::point(at);
                frame.value_is_object = false;
                frame.state = State::AfterValue;
            }
            _ if self.starts_value(b) => {
                let frame = self.stack.last().expect("a frame is open");
                let (at, key) = (frame.key.end, self.key_text(frame.key));
                self.insert(at, ":", RepairKind::MissingColon, format!("inserted ':' after key {key:?}"));
                self.set_state(State::AfterColon);
            }
            _ => self.unexpected(),
        }
        Ok(())
    }

    fn object_value(&mut self, b: u8) -> Result<(), Failure> {
        match b {
            b'}' | b']' => self.closer(b),
            b',' => {
                let key = self.key_text(self.stack.last().expect("a frame is open").key);
                self.insert(self.pos, "null", RepairKind::MissingValue, format!("gave key {key:?} the value null"));
                let at = self.pos;
                let frame = self.stack.last_mut().expect("a frame is open");
                frame.value = Span::point(at);
                frame.value_is_object = false;
                frame.state = State::AfterValue;
            }
            b':' => {
                let span = Span::new(self.pos, self.pos + 1);
                self.delete(RepairKind::UnexpectedCharacter, span, "removed a second ':'");
                self.pos += 1;
            }
            _ => self.value(b)?,
        }
        Ok(())
    }

    // ----- arrays and runs ---------------------------------------------------

    fn array_value(&mut self, b: u8) -> Result<(), Failure> {
        let frame = self.stack.last().expect("a frame is open");
        match b {
            b']' | b'}' => self.closer(b),
            b',' => {
                let description = if frame.state == State::Open {
                    "removed a comma with no element before it"
                } else {
                    "removed a second comma"
                };
                self.delete(RepairKind::ExtraComma, Span::new(self.pos, self.pos + 1), description);
                self.pos += 1;
            }
            b':' => self.unexpected(),
            _ => self.value(b)?,
        }
        Ok(())
    }

    fn after_value(&mut self, b: u8) -> Result<(), Failure> {
        let frame = self.stack.last().expect("a frame is open");
        let container = frame.container;
        match b {
            b',' if container == Container::Run => {
                if self.peek_past_trivia(self.pos + 1) == Some(b'{') {
                    self.set_state(State::AfterComma(Some(self.pos)));
                    self.pos += 1;
                } else {
                    // The comma separates the run from the next member.
                    self.end_run();
                }
            }
            b',' => {
                self.mark_member();
                self.set_state(State::AfterComma(Some(self.pos)));
                self.pos += 1;
            }
            b'}' | b']' => self.closer(b),
            b'{' if container == Container::Object && frame.value_is_object => self.start_run(None)?,
            _ if container == Container::Run && b != b'{' => self.end_run(),
            _ if self.starts_value(b) => {
                let at = frame.value.end;
                let noun = if container == Container::Object { "members" } else { "elements" };
                self.mark_member();
                self.insert(at, ",", RepairKind::MissingComma, format!("inserted ',' between two {noun}"));
                self.set_state(State::AfterComma(None));
            }
            _ => self.unexpected(),
        }
        Ok(())
    }

    /// An object follows an object value where a key belongs: the value
    /// continues as an array of objects. `comma` is the comma consumed before
    /// the new object, if there was one.
    fn start_run(&mut self, comma: Option<usize>) -> Result<(), Failure> {
        let frame = self.stack.last().expect("a frame is open");
        let first = frame.value;
        if comma.is_none() {
            self.insert(first.end, ",", RepairKind::MissingComma, "inserted ',' between two objects");
        }
        self.edit(first.start, first.start, "[");
        self.set_state(State::AfterColon);
        self.push(Container::Run, first.start)?;
        let run = self.stack.last_mut().expect("a frame was pushed");
        run.value = first;
        run.value_is_object = true;
        run.members = 1;
        run.state = State::AfterComma(comma);
        Ok(())
    }

    /// Ends the run on top of the stack after its last object.
    fn end_run(&mut self) {
        let end = self.stack.last().expect("a run is open").value.end;
        self.edit(end, end, "]");
        self.finish_run(end, true);
    }

    fn finish_run(&mut self, end: usize, inserted_closer: bool) {
        let run = self.stack.last().expect("a run is open");
        let objects = run.members;
        let parent = &self.stack[self.stack.len() - 2];
        let (key, span) = (self.key_text(parent.key), Span::new(run.open, end));
        self.object_run(key, span, objects, inserted_closer);
        self.pop(end);
        // The run is an array now: a further object does not extend it.
        self.stack.last_mut().expect("the run's parent").value_is_object = false;
    }

    // ----- values ------------------------------------------------------------

    /// Whether a value starts at `self.pos` (whose byte is `b`). A lone sign or
    /// dot does not: it is removed as an unexpected character.
    fn starts_value(&self, b: u8) -> bool {
        if matches!(b, b'{' | b'[' | b'"' | b'\'') || self.smart_quote_at(self.pos).is_some() {
            return true;
        }
        let word = self.word_at(self.pos);
        !word.is_empty() && !word.bytes().all(|c| matches!(c, b'+' | b'-' | b'.'))
    }

    #[inline(always)]
    fn value(&mut self, b: u8) -> Result<(), Failure> {
        match b {
            b'{' | b'[' if self.skip_strict() => Ok(()),
            b'{' | b'[' => self.open_container(b),
            _ => self.scalar(b),
        }
    }

    /// Reads the container at `self.pos` whole with the strict cursor, and
    /// takes it as one value if it is strict JSON (unique keys, within the
    /// depth limit) but for the documented sample's damage: the
    /// token-by-token parse would record nothing in it but that damage's
    /// repairs, which are recorded as it would record them.
    /// Damage is usually in a few records, so most containers pass; where
    /// attempts at a depth keep failing (every record of a file damaged),
    /// they are spaced out, to one in up to 255.
    #[inline(always)]
    fn skip_strict(&mut self) -> bool {
        let depth = self.stack.len().min(STRICT_DEPTHS - 1);
        // Where the last attempt failed, any attempt begun before would fail
        // again once it got there, or succeed on a value that ends before:
        // left out, so that no byte is read by more than one failed attempt.
        if self.pos < self.strict_failed_at {
            return false;
        }
        let record = &mut self.strict[depth];
        if record.skip > 0 {
            record.skip -= 1;
            return false;
        }
        self.read_strict(depth)
    }

    #[inline(never)]
    fn read_strict(&mut self, depth: usize) -> bool {
        let mut cursor = self.cursor.take().expect("one reading at a time");
        cursor.restart(self.pos, self.max_depth - self.stack.len());
        // What the reading lets pass is recorded as it goes (a reading of a
        // whole file's records would otherwise hold all of it twice), and
        // dropped if it fails: none of it merges with a repair before it.
        let marks = (self.edits.len(), self.repairs.len());
        let read = cursor.skip_lenient(&mut |piece| self.record_lenience(piece));
        self.cursor = Some(cursor);
        let record = &mut self.strict[depth];
        match read {
            Ok(range) => {
                record.failures = 0;
                self.pos = range.end;
                self.value_done(Span::new(range.start, range.end), self.bytes[range.start] == b'{');
                true
            }
            Err(error) => {
                self.edits.truncate(marks.0);
                self.repairs.truncate(marks.1);
                self.strict_failed_at = error.offset;
                record.failures = (record.failures + 1).min(STRICT_MAX_BACKOFF);
                record.skip = (1 << record.failures) - 1;
                false
            }
        }
    }

    /// Records damage a lenient reading let pass as the token parse records it.
    fn record_lenience(&mut self, piece: Lenience<'t>) {
        match piece {
            Lenience::TrailingComma(at) => self.remove_trailing_comma(at),
            Lenience::RunStart(at) => self.edit(at, at, "["),
            Lenience::RunEnd { start, end, objects, key } => {
                self.edit(end, end, "]");
                self.object_run(key, Span::new(start, end), objects, true);
            }
        }
    }

    fn scalar(&mut self, b: u8) -> Result<(), Failure> {
        if b == b'"' || b == b'\'' || self.smart_quote_at(self.pos).is_some() {
            let token = self.string();
            self.value_done(token.span, false);
        } else if b == b'-' || b == b'+' || b == b'.' || b.is_ascii_digit() {
            self.number();
        } else if !self.word_at(self.pos).is_empty() {
            self.word();
        } else {
            self.unexpected();
        }
        Ok(())
    }

    /// Removes one character that cannot start a token here.
    fn unexpected(&mut self) {
        let start = self.pos;
        let len = self.text[start..].chars().next().map_or(1, char::len_utf8);
        let description = format!("removed unexpected {}", describe(self.bytes[start]));
        self.delete(RepairKind::UnexpectedCharacter, Span::new(start, start + len), description);
        self.pos += len;
    }

    /// The bare word starting at `at`: bytes up to the next delimiter.
    fn word_at(&self, at: usize) -> &'t str {
        let bytes = &self.bytes[at..];
        let mut len = 0;
        while len < bytes.len() {
            let b = bytes[len];
            if ends_word(b)
                || (b == b'/' && matches!(bytes.get(len + 1), Some(b'/' | b'*')))
                || (b == 0xE2 && self.smart_quote_at(at + len).is_some())
                || non_json_whitespace_len(&bytes[len..]) > 0
            {
                break;
            }
            len += 1;
        }
        // Delimiters are ASCII or whole characters, so this is a char boundary.
        &self.text[at..at + len]
    }

    fn word(&mut self) {
        let start = self.pos;
        let word = self.word_at(start);
        let end = start + word.len();
        self.pos = end;
        let span = Span::new(start, end);
        let unsigned = word.trim_start_matches(['+', '-']);
        match word {
            "true" | "false" | "null" => {}
            _ if ["true", "false", "null"].iter().any(|l| word.eq_ignore_ascii_case(l)) => {
                let literal = word.to_ascii_lowercase();
                self.edit(start, end, literal.clone());
                self.repair(RepairKind::NonJsonLiteral, span, format!("replaced {word} with {literal}"));
            }
            _ if ["none", "nil", "undefined"].iter().any(|l| word.eq_ignore_ascii_case(l)) => {
                self.edit(start, end, "null");
                self.repair(RepairKind::NonJsonLiteral, span, format!("replaced {word} with null"));
            }
            _ if word.len() - unsigned.len() <= 1
                && ["nan", "infinity", "inf"].iter().any(|l| unsigned.eq_ignore_ascii_case(l)) =>
            {
                self.edit(start, end, "null");
                self.repair(RepairKind::NonFiniteNumber, span, format!("replaced {word} with null"));
            }
            _ if end == self.bytes.len() && ["true", "false", "null"].iter().any(|l| l.starts_with(word)) => {
                let literal = ["true", "false", "null"].into_iter().find(|l| l.starts_with(word)).expect("found");
                self.edit(end, end, &literal[word.len()..]);
                self.repair(
                    RepairKind::Truncated,
                    span,
                    format!("completed {word:?} at the end of input as {literal}"),
                );
            }
            _ => {
                self.quote_word(start, end);
                self.repair(RepairKind::UnquotedString, span, format!("quoted the bare word {word:?}"));
            }
        }
        self.value_done(span, false);
    }

    /// Turns the bare word at `start..end` into a JSON string.
    fn quote_word(&mut self, start: usize, end: usize) {
        let word = &self.text[start..end];
        if word.contains('\\') {
            self.edit(start, end, format!("\"{}\"", word.replace('\\', "\\\\")));
        } else {
            self.edit(start, start, "\"");
            self.edit(end, end, "\"");
        }
    }

    fn number(&mut self) {
        let start = self.pos;
        let bytes = self.bytes;
        let digits = |mut i: usize| {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let signed = matches!(bytes[start], b'+' | b'-');
        let int_start = start + usize::from(signed);
        let int_end = digits(int_start);
        let (mut frac, mut exp) = (None, None);
        let mut end = int_end;
        if bytes.get(end) == Some(&b'.') {
            let frac_end = digits(end + 1);
            frac = Some((end, frac_end));
            end = frac_end;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            let exp_end = digits(end + 1 + sign);
            exp = Some((end, exp_end));
            end = exp_end;
        }
        let has_digits = int_end > int_start || frac.is_some_and(|(dot, e)| e > dot + 1);
        let word_len = self.word_at(start).len();
        if !has_digits || word_len > end - start {
            // `-Infinity`, `10.0.0.1`, `0x1F`, a lone `-`: a word, not a number.
            let word = &self.text[start..start + word_len];
            if word.bytes().all(|b| matches!(b, b'+' | b'-' | b'.')) {
                self.unexpected();
            } else {
                self.word();
            }
            return;
        }
        self.pos = end;
        let span = Span::new(start, end);

        if number_overflows(&self.text[start..end], int_end - int_start, exp) {
            let raw = &self.text[start..end];
            self.edit(start, end, format!("\"{raw}\""));
            self.repair(
                RepairKind::NumberOutOfRange,
                span,
                format!("kept {raw} as a string: it is beyond the range of a double"),
            );
            self.value_done(span, false);
            return;
        }

        let mut fixes = Vec::new();
        if bytes[start] == b'+' {
            self.edit(start, start + 1, "");
            fixes.push("removed a leading '+'");
        }
        if int_end == int_start {
            self.edit(int_start, int_start, "0");
            fixes.push("inserted a leading 0");
        } else if bytes[int_start] == b'0' && int_end - int_start > 1 {
            let zeros = bytes[int_start..int_end].iter().take_while(|&&b| b == b'0').count();
            let remove = zeros.min(int_end - int_start - 1);
            self.edit(int_start, int_start + remove, "");
            fixes.push("removed leading zeros");
        }
        if let Some((dot, frac_end)) = frac {
            if frac_end == dot + 1 {
                self.edit(frac_end, frac_end, "0");
                fixes.push("completed a bare '.'");
            }
        }
        if let Some((_, exp_end)) = exp {
            if !bytes[exp_end - 1].is_ascii_digit() {
                self.edit(exp_end, exp_end, "0");
                fixes.push("completed an exponent with no digits");
            }
        }
        if !fixes.is_empty() {
            let raw = &self.text[start..end];
            self.repair(RepairKind::NumberFormat, span, format!("{} in {raw}", fixes.join(", ")));
        }
        self.value_done(span, false);
    }

    // ----- strings -----------------------------------------------------------

    /// The smart quote at `at`, if there is one.
    fn smart_quote_at(&self, at: usize) -> Option<Quote> {
        match self.bytes.get(at..at + 3)? {
            [0xE2, 0x80, 0x9C | 0x9D] => Some(Quote::SmartDouble),
            [0xE2, 0x80, 0x98] => Some(Quote::SmartSingle),
            _ => None,
        }
    }

    /// Lexes the string at `self.pos`, recording edits that make it strict.
    #[inline]
    fn string(&mut self) -> StringToken {
        let start = self.pos;
        // Most strings are double-quoted and need no care: those take no call.
        if self.bytes[start] == b'"' {
            let end = start + 1 + crate::json::plain_run(&self.bytes[start + 1..]);
            if self.bytes.get(end) == Some(&b'"') {
                self.pos = end + 1;
                let (span, content) = (Span::new(start, end + 1), Span::new(start + 1, end));
                return StringToken { span, content, quote: Quote::Double, has_escape: false };
            }
        }
        self.string_with_care()
    }

    /// [`Parser::string`] for a string that needs care: other quotes, escapes,
    /// raw control characters or quotes, or no end.
    #[inline(never)]
    fn string_with_care(&mut self) -> StringToken {
        let start = self.pos;
        let quote = match self.bytes[start] {
            b'"' => Quote::Double,
            b'\'' => Quote::Single,
            _ => self.smart_quote_at(start).expect("a string starts here"),
        };
        let open_len = if matches!(quote, Quote::Double | Quote::Single) { 1 } else { 3 };
        if quote != Quote::Double {
            self.edit(start, start + open_len, "\"");
        }
        let bytes = self.bytes;
        let mut i = start + open_len;
        let mut has_escape = false;
        let mut control_characters = 0;
        let mut control_repair = 0;
        let content_start = i;
        let (content_end, end) = loop {
            if quote == Quote::Double {
                i += crate::json::plain_run(&bytes[i..]);
            }
            let Some(&b) = bytes.get(i) else {
                self.insert(i, "\"", RepairKind::Truncated, "input ends inside a string: closed it");
                break (i, i);
            };
            match b {
                b'"' if quote == Quote::Double => break (i, i + 1),
                b'\'' if quote == Quote::Single => {
                    self.edit(i, i + 1, "\"");
                    break (i, i + 1);
                }
                0xE2 if matches!(quote, Quote::SmartDouble | Quote::SmartSingle) && self.closes_smart(quote, i) => {
                    self.edit(i, i + 3, "\"");
                    break (i, i + 3);
                }
                b'"' => {
                    self.edit(i, i, "\\");
                    i += 1;
                }
                b'\\' => {
                    has_escape = true;
                    i = self.escape(i, quote);
                }
                0..=0x1F => {
                    self.edit(i, i + 1, control_escape(b));
                    control_characters += 1;
                    if control_characters == 1 {
                        control_repair = self.repairs.len();
                        self.repair(
                            RepairKind::ControlCharacter,
                            Span::new(i, i + 1),
                            format!("escaped a raw control character (0x{b:02X}) inside a string"),
                        );
                    } else {
                        let repair = &mut self.repairs[control_repair];
                        repair.span.end = i + 1;
                        let description =
                            format!("escaped {control_characters} raw control characters inside a string");
                        repair.description = self.descriptions.get(description.into());
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        };
        match quote {
            Quote::Double => {}
            Quote::Single => self.repair(
                RepairKind::SingleQuotes,
                Span::new(start, end),
                "replaced single quotes with double quotes",
            ),
            Quote::SmartDouble | Quote::SmartSingle => self.repair(
                RepairKind::SmartQuotes,
                Span::new(start, end),
                "replaced typographic quotes with double quotes",
            ),
        }
        self.pos = end;
        StringToken { span: Span::new(start, end), content: Span::new(content_start, content_end), quote, has_escape }
    }

    fn closes_smart(&self, quote: Quote, at: usize) -> bool {
        match self.bytes.get(at..at + 3) {
            Some([0xE2, 0x80, 0x9C | 0x9D]) => quote == Quote::SmartDouble,
            Some([0xE2, 0x80, 0x99]) => quote == Quote::SmartSingle,
            _ => false,
        }
    }

    /// Checks the escape at `at` (a backslash); returns the offset after it.
    fn escape(&mut self, at: usize, quote: Quote) -> usize {
        let bytes = self.bytes;
        let Some(&next) = bytes.get(at + 1) else {
            self.delete(
                RepairKind::Truncated,
                Span::new(at, at + 1),
                "removed a backslash cut off at the end of input",
            );
            return at + 1;
        };
        match next {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at + 2,
            b'\'' => {
                self.edit(at, at + 2, "'");
                if quote != Quote::Single {
                    self.repair(RepairKind::InvalidEscape, Span::new(at, at + 2), "replaced the escape \\' with '");
                }
                at + 2
            }
            b'u' => self.unicode_escape(at),
            _ => {
                let shown = self.text[at + 1..].chars().next().expect("a character follows");
                self.insert(
                    at,
                    "\\",
                    RepairKind::InvalidEscape,
                    format!("kept the backslash of the invalid escape '\\{shown}' literally"),
                );
                at + 1
            }
        }
    }

    fn unicode_escape(&mut self, at: usize) -> usize {
        let Some(unit) = hex4(self.bytes, at + 2) else {
            let rest = self.bytes.len() - at;
            if rest < 6 && self.bytes[at + 2..].iter().all(u8::is_ascii_hexdigit) {
                self.delete(
                    RepairKind::Truncated,
                    Span::new(at, self.bytes.len()),
                    "removed a \\u escape cut off at the end of input",
                );
                return self.bytes.len();
            }
            self.insert(at, "\\", RepairKind::InvalidEscape, "kept the backslash of an invalid '\\u' escape literally");
            return at + 1;
        };
        match unit {
            0xD800..=0xDBFF => {
                let low = (self.bytes.get(at + 6..at + 8) == Some(b"\\u")).then(|| hex4(self.bytes, at + 8)).flatten();
                if low.is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) {
                    return at + 12;
                }
            }
            0xDC00..=0xDFFF => {}
            _ => return at + 6,
        }
        self.edit(at, at + 6, "\\uFFFD");
        self.repair(
            RepairKind::LoneSurrogate,
            Span::new(at, at + 6),
            format!("replaced the lone surrogate escape \\u{unit:04X} with \\uFFFD"),
        );
        at + 6
    }

    // ----- end of input ------------------------------------------------------

    /// Closes what the input left open, dropping a dangling key.
    fn finish_truncated(&mut self) {
        if self.stack.is_empty() {
            return;
        }
        let end = self.bytes.len();
        let mut closers = String::new();
        let mut dropped_key = None;
        while let Some(frame) = self.stack.last() {
            let (container, state, key) = (frame.container, frame.state, frame.key);
            match (container, state) {
                (Container::Object, State::AfterKey | State::AfterColon) => {
                    // Drop the member from its comma (or key) to the end, with
                    // whatever was recorded inside it.
                    let (cut, (edits, repairs, notes)) = (frame.member_start, frame.member_mark);
                    dropped_key = Some(self.key_text(key));
                    self.edits.truncate(edits);
                    self.repairs.truncate(repairs);
                    self.notes.truncate(notes);
                    self.edit(cut, end, "");
                    self.set_state(State::AfterValue);
                    continue;
                }
                (_, State::AfterComma(Some(comma))) => self.edit(comma, comma + 1, ""),
                _ => {}
            }
            closers.push_str(container.closer_text());
            self.edit(end, end, container.closer_text());
            if container == Container::Run {
                self.finish_run(end, true);
            } else {
                self.pop(end);
            }
        }
        let mut description = match &dropped_key {
            Some(key) => format!("input ends early: dropped the dangling key {key:?}, "),
            None => "input ends early: ".to_owned(),
        };
        description.push_str(&format!("closed with '{closers}'"));
        self.repair(RepairKind::Truncated, Span::point(end), description);
    }

    // ----- helpers -----------------------------------------------------------

    /// Notes that a new member begins here, for dropping it if input ends inside it.
    fn mark_member(&mut self) {
        let mark = (self.edits.len(), self.repairs.len(), self.notes.len());
        self.stack.last_mut().expect("a frame is open").member_mark = mark;
    }

    fn set_state(&mut self, state: State) {
        self.stack.last_mut().expect("a frame is open").state = state;
    }

    /// The next byte at or after `at` that is not whitespace or a comment.
    fn peek_past_trivia(&self, mut at: usize) -> Option<u8> {
        loop {
            while at < self.bytes.len() && is_json_whitespace(self.bytes[at]) {
                at += 1;
            }
            match self.bytes.get(at..)? {
                [b'/', b'/', ..] | [b'#', ..] => {
                    at += memchr::memchr(b'\n', &self.bytes[at..])?;
                }
                [b'/', b'*', ..] => {
                    at += 2 + memchr::memmem::find(&self.bytes[at + 2..], b"*/")? + 2;
                }
                rest => {
                    let len = non_json_whitespace_len(rest);
                    if len == 0 {
                        return rest.first().copied();
                    }
                    at += len;
                }
            }
        }
    }

    /// The text of a key as written, without its quotes, for messages.
    fn key_text(&self, key: Span) -> &'t str {
        let raw = &self.text[key.start..key.end];
        let inner = match raw.strip_prefix(['"', '\'']) {
            Some(rest) => rest.strip_suffix(['"', '\'']).unwrap_or(rest),
            None => match raw.strip_prefix(['“', '‘']) {
                Some(rest) => rest.strip_suffix(['”', '“', '’']).unwrap_or(rest),
                None => raw,
            },
        };
        inner
    }
}

/// Whether a comment, or whitespace JSON does not allow, may start with `b`:
/// the first bytes [`Parser::skip_trivia`] and [`non_json_whitespace_len`] look for.
fn may_start_trivia(b: u8) -> bool {
    matches!(b, b'/' | b'#' | 0x0B | 0x0C | 0xC2 | 0xE2 | 0xE3 | 0xEF)
}

/// The length of whitespace at the start of `bytes` that JSON does not allow:
/// vertical tab, form feed, NBSP, BOM, and the Unicode space separators.
fn non_json_whitespace_len(bytes: &[u8]) -> usize {
    match bytes {
        [0x0B | 0x0C, ..] => 1,
        [0xC2, 0xA0, ..] => 2,
        [0xEF, 0xBB, 0xBF, ..] => 3,
        [0xE2, 0x80, 0x80..=0x8B | 0xA8 | 0xA9 | 0xAF, ..] => 3,
        [0xE2, 0x81, 0x9F | 0xA0, ..] => 3,
        [0xE3, 0x80, 0x80, ..] => 3,
        _ => 0,
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

fn control_escape(b: u8) -> Cow<'static, str> {
    match b {
        b'\n' => Cow::Borrowed("\\n"),
        b'\r' => Cow::Borrowed("\\r"),
        b'\t' => Cow::Borrowed("\\t"),
        0x08 => Cow::Borrowed("\\b"),
        0x0C => Cow::Borrowed("\\f"),
        _ => Cow::Owned(format!("\\u{b:04x}")),
    }
}

/// Whether a syntactically valid number would overflow an `f64`, as
/// serde_json rejects those. Cheap unless the number is long or has a large
/// exponent.
fn number_overflows(raw: &str, int_digits: usize, exp: Option<(usize, usize)>) -> bool {
    let exp_digits = exp.map_or(0, |(e, end)| end - e);
    if int_digits < 300 && exp_digits < 4 {
        return false;
    }
    let normalized: String = raw.trim_start_matches('+').to_owned();
    let normalized = if normalized.ends_with(['e', 'E', '+', '-']) { normalized + "0" } else { normalized };
    normalized.parse::<f64>().is_ok_and(|f| f.is_infinite())
}

/// Decodes the escapes of a key for comparison. Invalid escapes stay as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        out.push(decoded);
                        chars.nth(3);
                    }
                    _ => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Where a second thread parsing from one of `text`'s possible splits (at
/// most `most` of them, spread over the text, and the one [`Split::guess`]
/// makes) records other than one thread records, the first such split and
/// both parses, written out. For the `split` fuzz target, which reaches the
/// second thread with inputs far shorter than [`SPLIT_FROM`].
#[cfg(fuzzing)]
pub(crate) fn split_difference(text: &str, max_depth: usize, part_bytes: usize, most: usize) -> Option<String> {
    let one = parse_in_parts(Parser::new(text, max_depth), part_bytes, None);
    let splits = possible_splits(text);
    let every = splits.len().div_ceil(most.max(1)).max(1);
    // The guess too, which must not fail on any text.
    let guessed = Split::guess(text.as_bytes());
    splits.into_iter().step_by(every).chain(guessed).find_map(|split| {
        let two = parse_in_parts(Parser::new(text, max_depth), part_bytes, Some(split));
        (two != one).then(|| format!("split at {split:?}:\n{two:?}\none thread:\n{one:?}"))
    })
}

/// The parse, all it records, in parts of `part_bytes`, with a second
/// thread from `split` if there is one; or its failure.
#[cfg(any(test, fuzzing))]
fn parse_in_parts(parser: Parser<'_>, part_bytes: usize, split: Option<Split>) -> Result<String, String> {
    let mut parts = Vec::new();
    run_parts(parser, part_bytes, split, &mut |part| {
        let documents: Vec<_> = part.documents.iter().map(|d| (d.start, d.end, d.first_edit, d.end_edit)).collect();
        parts.push(format!("{:?} {:?} {:?} {:?} {documents:?}", part.range, part.edits, part.repairs, part.notes));
        ControlFlow::Continue(())
    })
    .map(|()| parts.join("\n"))
    .map_err(|failure| format!("{:?} {:?}", failure.kind, failure.span))
}

/// Every place a split could be guessed at: a `{` after a comma.
#[cfg(any(test, fuzzing))]
fn possible_splits(text: &str) -> Vec<Split> {
    let bytes = text.as_bytes();
    let before = |at: usize| bytes[..at].iter().rposition(|&b| !is_json_whitespace(b));
    (0..bytes.len())
        .filter(|&at| bytes[at] == b'{')
        .filter_map(|at| before(at).filter(|&comma| bytes[comma] == b',').map(|comma| Split { comma, at }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{parse_in_parts, possible_splits, Parser};
    use crate::repair::{repair, RepairKind, RepairOptions};

    /// `input => repaired text, [repair kinds]`.
    macro_rules! repairs_to {
        ($($name:ident: $input:expr => $output:expr, [$($kind:ident),*];)*) => {$(
            #[test]
            fn $name() {
                let repaired = repair($input.as_bytes(), &RepairOptions::default()).unwrap();
                assert_eq!(repaired.text(), $output);
                let kinds: Vec<RepairKind> = repaired.repairs().iter().map(|r| r.kind).collect();
                assert_eq!(kinds, [$(RepairKind::$kind),*] as [RepairKind; 0 $(+ { let _ = RepairKind::$kind; 1 })*]);
            }
        )*};
    }

    #[test]
    fn strings_that_need_no_care_lex_as_the_careful_path_lexes_them() {
        for text in ["\"plain\" ", "\"\"", "\"é — ü\":", "\"a\\\"b\"", "\"tab\there\"", "'single'", "\"open"] {
            let (mut quick, mut careful) = (Parser::new(text, 512), Parser::new(text, 512));
            let (a, b) = (quick.string(), careful.string_with_care());
            assert_eq!(
                (a.span, a.content, a.quote, a.has_escape, quick.pos),
                (b.span, b.content, b.quote, b.has_escape, careful.pos),
                "{text:?}"
            );
            assert_eq!((quick.edits, quick.repairs), (careful.edits, careful.repairs), "{text:?}");
        }
    }

    repairs_to! {
        valid_stays_untouched: "{\"a\": [1, 2]}" => "{\"a\": [1, 2]}", [];
        object_run_in_sample_shape: "{\"t\": {\"a\":1}, {\"a\":2},}" => "{\"t\": [{\"a\":1}, {\"a\":2}]}", [ObjectRun, TrailingComma];
        object_run_ends_at_key: "{\"t\": {}, {}, \"k\": 1}" => "{\"t\": [{}, {}], \"k\": 1}", [ObjectRun];
        run_does_not_follow_arrays: "{\"t\": [], {}}" => "{\"t\": [], \"_1\": {}}", [MissingKey];
        closer_typo_inside_object: "{\"a\": [1}, \"b\": 2}" => "{\"a\": [1], \"b\": 2}", [MismatchedCloser];
        closer_of_outer_container: "[{\"a\": 1]" => "[{\"a\": 1}]", [MissingCloser];
        mismatched_closer_after_key: "{\"a\"]" => "{\"a\": null}", [MissingValue, MismatchedCloser];
        lone_minus_is_removed: "[1 -" => "[1 ]", [UnexpectedCharacter, Truncated];
        dangling_key_keeps_earlier_quotes: "{:1e9991e\u{201C}" => "{\"_0\":\"1e9991e\"}", [MissingKey, UnquotedString, Truncated];
        merged_garbage_keeps_documents_apart: "[]']\n'{" => "[]\n{}", [SurroundingText, DocumentSeparator, Truncated];
        truncated_literal_is_completed: "[tru" => "[true]", [Truncated, Truncated];
        escaped_apostrophe_in_double_quotes: "[\"it\\'s\"]" => "[\"it's\"]", [InvalidEscape];
        top_level_prose_with_digit: "3 targets failed\n{}" => "\n{}", [SurroundingText];
        top_level_unclosed_quote_is_prose: "\"quoted prose\n{}" => "\n{}", [SurroundingText];
        scalar_documents_on_own_lines: "1\n\"a\"\nnull" => "1\n\"a\"\nnull", [];
    }

    /// The parse, all fields, with the strict shortcut on or off.
    fn parse_with(text: &str, max_depth: usize, shortcut: bool) -> Result<String, String> {
        let mut parser = super::Parser::new(text, max_depth);
        if !shortcut {
            // As if a reading had failed at the end: none is tried.
            parser.strict_failed_at = usize::MAX;
        }
        parse_in_parts(parser, usize::MAX, None)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Reading strict containers whole changes nothing the parse records,
        /// on JSON with damage spliced in anywhere, at any depth limit.
        #[test]
        fn the_strict_shortcut_records_what_the_token_parse_records(
            value in crate::json::tests::json_value(),
            pretty in proptest::prelude::any::<bool>(),
            damage in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::sample::select(vec![
                    "", ",", "}", "]", "{", "[", "'", "\"", ":", "/*c*/", "//c\n", "x", " ", "NaN", "\u{201C}", "{\"a\":1,\"a\":2}",
                ]), 0usize..3),
                0..4,
            ),
            max_depth in 2usize..12,
            sample_commas in proptest::prelude::any::<bool>(),
            sample_run in proptest::prelude::any::<bool>(),
        ) {
            let value = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
            // Wrapped, so that the value is a container's member, where the shortcut applies;
            // or, as in the documented sample, in a run of bare objects where an array belongs.
            let mut text = if sample_run {
                format!("{{\"value\": [{{\"t\": {{\"v\": {value}}}, {{\"v\": {value}}},{{}}}}, {value}]}}")
            } else {
                format!("{{\"value\": [{value}, {value}]}}")
            };
            if sample_commas {
                // The documented sample's other damage: a comma before every closing brace.
                text = text.replace('}', ",}");
            }
            for (at, insert, delete) in damage {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + delete).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, insert);
            }
            proptest::prop_assert_eq!(parse_with(&text, max_depth, true), parse_with(&text, max_depth, false), "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// A second thread from any split, guessed right or wrong, changes
        /// nothing the parse records: responses of damaged records, with
        /// damage spliced in anywhere, cut short or not, in parts or whole.
        #[test]
        fn a_second_thread_from_any_split_records_what_one_thread_records(
            records in proptest::collection::vec(proptest::sample::select(vec![
                r#"{"sessionId": "s", "scannedTargets": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"},]}"#,
                r#"{"sessionId": "s",, 'scanStatus': NaN, "scannedTargets": []}"#,
                r#"{"sessionId": "s" "scannedTargets": {"ip": "a"}, {"ip": "b"},}"#,
                r#"{"orgId": "o", /* c */ "scannedTargets": [{"ip": "10.0.0.1", "ip": "x"}]}"#,
                r#"{"orgId": [1, 2}, "x": ]"#,
                r#"{"sessionId": {"a": {"b": [}}"#,
                // A closer that ends the records' array and the response in one token.
                r#"[[1} {}"#,
            ]), 1..6),
            damage in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::sample::select(vec![
                    "", ",", "}", "]", "{", "[", "'", "\"", ":", "//c\n", "x", "\n",
                ]), 0usize..3),
                0..3,
            ),
            cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
            max_depth in 3usize..8,
            part_bytes in proptest::sample::select(vec![0, usize::MAX]),
        ) {
            let mut text = format!("{{\"@odata.context\": \"x\", \"value\": [{}]}}\n{{}}", records.join(",\n"));
            for (at, insert, delete) in damage {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let end = (at + delete).min(text.len());
                text.replace_range(at..end, insert);
            }
            if let Some(cut) = cut {
                text.truncate(cut.index(text.len() + 1));
            }
            let one = parse_in_parts(super::Parser::new(&text, max_depth), part_bytes, None);
            for split in possible_splits(&text) {
                let two = parse_in_parts(super::Parser::new(&text, max_depth), part_bytes, Some(split));
                proptest::prop_assert_eq!(&two, &one, "{:?} split at {:?}", text, split);
            }
        }
    }

    #[test]
    fn a_right_guess_is_met_and_taken_on() {
        let record = r#"{"sessionId": "s",, "scannedTargets": [{"ip": "10.0.0.1",}]}"#;
        let text = format!("{{\"value\": [{}]}}", [record; 8].join(", "));
        let split = super::Split::guess(text.as_bytes()).expect("a record after the middle");
        assert_eq!((&text[split.comma..split.at], text[split.at..].starts_with(r#"{"sessionId""#)), (", ", true));
        assert!(split.at >= text.len() / 2);
        // The first thread gets there as guessed; the second parses the rest of the records.
        let mut first = super::Parser::new(&text, 64);
        first.bound(super::Bound::UpTo(split));
        let _ = first.run(usize::MAX, &mut |_| std::ops::ControlFlow::Continue(()));
        assert!(first.meets(split));
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let second = super::Parser::at_split(&text, 64, split, cancel).run_from_split().expect("stops before the ']'");
        assert_eq!(&text[second.pos..], "]}");
        // Between them, every record's two repairs.
        assert_eq!(first.repairs.len() + second.repairs.len(), 16);
        assert!(!second.repairs.is_empty());
        assert_eq!(parse_in_parts(super::Parser::new(&text, 64), 0, Some(split)), parse_with(&text, 64, true));
    }

    #[test]
    fn a_closer_that_leaves_the_records_array_makes_the_second_thread_give_up() {
        // The '}' closes `[1`, the records' array and the response: one token
        // from inside a record to outside the document, where the second
        // thread has not seen the document begin (the `split` fuzz target's find).
        let text = r#"{"value": [{"a": 1}, {"a": 2}, [1} {"b": 1}"#;
        let [split] = possible_splits(text)[..] else { panic!("one split: {:?}", possible_splits(text)) };
        assert!(text[split.at..].starts_with(r#"{"a": 2}"#));
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        assert!(super::Parser::at_split(text, 64, split, cancel).run_from_split().is_none());
        let one = parse_in_parts(Parser::new(text, 64), usize::MAX, None);
        assert!(one.as_ref().is_ok_and(|parsed| parsed.contains("MissingCloser")), "{one:?}");
        assert_eq!(parse_in_parts(Parser::new(text, 64), usize::MAX, Some(split)), one);
    }

    #[test]
    fn a_guess_needs_a_response_whose_first_array_holds_objects() {
        let records = [r#"{"sessionId": "s"}"#; 8].join(",");
        assert!(super::Split::guess(format!("{{\"value\": [{records}]}}").as_bytes()).is_some());
        assert!(super::Split::guess(format!("[{records}]").as_bytes()).is_none());
        for cut_short in ["{\"value\": [", "{\"value\": [{", "{\"value\": [{\"sessionId"] {
            assert!(super::Split::guess(cut_short.as_bytes()).is_none(), "{cut_short}");
        }
        assert!(super::Split::guess(format!("{{\"value\": [1, {records}]}}").as_bytes()).is_none());
        // No record after the middle starts with the first record's key.
        let others = [r#"{"orgId": "o"}"#; 8].join(",");
        assert!(super::Split::guess(format!("{{\"value\": [{{\"sessionId\": 1}},{others}]}}").as_bytes()).is_none());
    }

    #[test]
    fn the_strict_shortcut_is_taken_and_backs_off() {
        // Clean records pass whole; after damage at a depth, attempts there are spaced out.
        let record = r#"{"sessionId": "s", "scannedTargets": [{"ip": "10.0.0.1"}]}"#;
        let damaged = r#"{"sessionId": "s",, "scannedTargets": []}"#;
        let text = format!("{{\"value\": [{record}, {damaged}, {record}, {record}]}}");
        let mut parser = super::Parser::new(&text, 64);
        let _ = parser.run(usize::MAX, &mut |_| std::ops::ControlFlow::Continue(()));
        // The `value` array (depth 1) failed in the damaged record; the records
        // (depth 2) up to there were parsed token by token, the two after read whole.
        assert_eq!((parser.strict[1].failures, parser.strict[2].failures, parser.strict[2].skip), (1, 0, 0));
        assert_eq!(parser.repairs.len(), 1);
        let damaged_run = format!("{{\"value\": [{damaged}, {damaged}, {damaged}, {damaged}, {record}]}}");
        let mut parser = super::Parser::new(&damaged_run, 64);
        let _ = parser.run(usize::MAX, &mut |_| std::ops::ControlFlow::Continue(()));
        // The first record is inside the array's failed reading; the second
        // failed, the third was skipped, the fourth failed, and three are now to skip.
        assert_eq!((parser.strict[2].failures, parser.strict[2].skip), (2, 2));
    }

    #[test]
    fn the_documented_samples_damage_is_read_whole() {
        // Records as the API's documented sample has them: the targets a run of
        // bare objects, each with a trailing comma, and a comma after the run.
        let target = r#"{"ip": "10.0.0.1", "scanStatus": "Success",}"#;
        let record = format!(
            r#"{{"sessionId": "s", "scannedTargets": {target}, {target},{target},
 }}"#
        );
        let text = format!("{{\"value\": [{record}, {record}, [1, [2,],]]}}");
        let mut parser = super::Parser::new(&text, 64);
        let _ = parser.run(usize::MAX, &mut |_| std::ops::ControlFlow::Continue(()));
        let failures: Vec<u32> = parser.strict.iter().map(|record| record.failures).collect();
        assert_eq!(failures, [0; super::STRICT_DEPTHS], "no reading failed");
        let trailing = |at: usize| text[at + 1..].trim_start().starts_with(['}', ']']);
        let commas: Vec<usize> = text.match_indices(',').map(|(at, _)| at).filter(|&at| trailing(at)).collect();
        let runs: Vec<usize> = text.match_indices(&format!(": {target}")).map(|(at, _)| at + 2).collect();
        assert_eq!((commas.len(), runs.len()), (10, 2));
        let at = |kind: super::RepairKind| -> Vec<usize> {
            parser.repairs.iter().filter(|r| r.kind == kind).map(|r| r.span.start).collect()
        };
        assert_eq!((at(super::RepairKind::TrailingComma), at(super::RepairKind::ObjectRun)), (commas, runs));
        // In the token parse's order: a run's repair when it ends, before the comma after it.
        use super::RepairKind::{ObjectRun as Run, TrailingComma as Comma};
        let kinds: Vec<super::RepairKind> = parser.repairs.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [Comma, Comma, Comma, Run, Comma, Comma, Comma, Comma, Run, Comma, Comma, Comma]);
        let description = &parser.repairs.iter().find(|r| r.kind == super::RepairKind::ObjectRun).unwrap().description;
        assert!(description.contains(r#"key "scannedTargets" continues as a run of 3 objects"#), "{description}");
        assert_eq!(parse_with(&text, 64, true), parse_with(&text, 64, false));
    }

    #[test]
    fn containers_inside_a_failed_reading_are_not_read_again() {
        // Damage at the end of 400 nested arrays around a long string: were each
        // array read whole in turn, the string would be read 400 times.
        let depth = 400;
        let text = format!("{{\"v\": {}\"{}\"/**/{}}}", "[".repeat(depth), "a".repeat(100_000), "]".repeat(depth));
        let mut parser = super::Parser::new(&text, 512);
        let _ = parser.run(usize::MAX, &mut |_| std::ops::ControlFlow::Continue(()));
        assert_eq!(parser.repairs.len(), 1, "the comment");
        // One reading, of the outermost array (depth 1), failed; none deeper was tried.
        let failures: Vec<u32> = parser.strict.iter().map(|record| record.failures).collect();
        assert_eq!(failures, [0, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn only_the_listed_bytes_start_trivia() {
        use super::{may_start_trivia, non_json_whitespace_len};
        // Every second and third byte that a longer pattern could need.
        let tails: Vec<u8> = (0..=u8::MAX).collect();
        for first in (0..=u8::MAX).filter(|&b| !may_start_trivia(b)) {
            assert!(first != b'/' && first != b'#', "{first:#04x} starts a comment");
            for &second in &tails {
                for third in [0x80, 0x8B, 0x9F, 0xA0, 0xA8, 0xA9, 0xAF, 0xBF, first, second] {
                    let bytes = [first, second, third];
                    assert_eq!(non_json_whitespace_len(&bytes), 0, "{bytes:02x?}");
                }
            }
        }
    }

    #[test]
    fn empty_and_valueless_inputs_are_errors() {
        for (input, message) in [
            ("", "input is empty at line 1 column 1"),
            ("  // nothing\n", "input is empty at line 1 column 1"),
            ("just some words", "no JSON value found at line 1 column 1"),
        ] {
            let error = repair(input.as_bytes(), &RepairOptions::default()).unwrap_err();
            assert_eq!(error.to_string(), message, "{input:?}");
        }
    }
}
