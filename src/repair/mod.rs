//! Stage 2: repair text into strict JSON, recording every repair.
//!
//! [`repair`] never fails on damaged input: it returns the value it could
//! recover plus the list of repairs it made. Valid JSON takes a strict fast
//! path and comes back untouched. Only input with no JSON value in it, or
//! nested deeper than [`RepairOptions::max_depth`], is an error.

mod edits;
mod parser;

#[cfg(fuzzing)]
pub(crate) use parser::split_difference;

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::io;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use serde::Serialize;

use crate::decode::{decode, Decoded, Encoding, SourceMap};
use crate::json::Lenience;
use crate::span::{LineCol, LineIndex, Span};

pub(crate) use edits::OutputMap;

/// What a repair did, by name. The names are stable: logs and tests use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepairKind {
    /// A UTF-8 byte-order mark was removed.
    ByteOrderMark,
    /// UTF-16 input was transcoded to UTF-8.
    Utf16,
    /// Invalid UTF-8 bytes became U+FFFD.
    InvalidUtf8,
    /// A lone UTF-16 surrogate or an odd trailing byte in UTF-16 input.
    InvalidUtf16,
    /// Objects where a key belongs continued the previous object value as an array.
    ObjectRun,
    /// A comma before a closing bracket was removed.
    TrailingComma,
    /// A comma was inserted between two members or elements.
    MissingComma,
    /// A comma with nothing before it was removed.
    ExtraComma,
    /// The input ended early; open strings and containers were closed.
    Truncated,
    /// A `//`, `/* */` or `#` comment was removed.
    Comment,
    /// A single-quoted string or key was requoted with double quotes.
    SingleQuotes,
    /// Typographic quotes used as string delimiters were replaced.
    SmartQuotes,
    /// An unquoted key was quoted.
    UnquotedKey,
    /// A bare word in value position was quoted as a string.
    UnquotedString,
    /// `True`, `None`, `undefined` and the like became JSON literals.
    NonJsonLiteral,
    /// `NaN` or an infinity became `null`.
    NonFiniteNumber,
    /// A raw control character inside a string was escaped.
    ControlCharacter,
    /// A backslash that starts no valid escape was kept as a literal backslash.
    InvalidEscape,
    /// A `\u` escape of a lone surrogate became U+FFFD.
    LoneSurrogate,
    /// A closing bracket of the wrong kind was replaced.
    MismatchedCloser,
    /// A closing bracket was inserted to match a later closer of an outer container.
    MissingCloser,
    /// A closing bracket with nothing open was removed.
    SurplusCloser,
    /// A Markdown code fence was removed.
    MarkdownFence,
    /// An HTTP status line and headers before the body were removed.
    HttpPreamble,
    /// Text around the JSON (prose, stray characters) was removed.
    SurroundingText,
    /// A JSONP `callback( … )` wrapper was removed.
    JsonpWrapper,
    /// A line break was inserted between two documents on one line.
    DocumentSeparator,
    /// A colon was inserted or `=` replaced between a key and its value.
    MissingColon,
    /// A key without a value was given `null`.
    MissingValue,
    /// A value where a key belongs was given a generated key.
    MissingKey,
    /// A number with leading zeros, a `+`, or a bare `.` or `e` was normalised.
    NumberFormat,
    /// A number beyond the range of a double was kept as a string.
    NumberOutOfRange,
    /// A character that cannot start any token was removed.
    UnexpectedCharacter,
    /// Whitespace that JSON does not allow (form feed, NBSP, U+FEFF...) was removed.
    NonJsonWhitespace,
}

impl RepairKind {
    /// The kind's stable kebab-case name, as logs print it.
    pub fn name(self) -> &'static str {
        macro_rules! names {
            ($($kind:ident => $name:literal,)*) => {
                match self { $(RepairKind::$kind => $name,)* }
            };
        }
        names! {
            ByteOrderMark => "byte-order-mark",
            Utf16 => "utf16",
            InvalidUtf8 => "invalid-utf8",
            InvalidUtf16 => "invalid-utf16",
            ObjectRun => "object-run",
            TrailingComma => "trailing-comma",
            MissingComma => "missing-comma",
            ExtraComma => "extra-comma",
            Truncated => "truncated",
            Comment => "comment",
            SingleQuotes => "single-quotes",
            SmartQuotes => "smart-quotes",
            UnquotedKey => "unquoted-key",
            UnquotedString => "unquoted-string",
            NonJsonLiteral => "non-json-literal",
            NonFiniteNumber => "non-finite-number",
            ControlCharacter => "control-character",
            InvalidEscape => "invalid-escape",
            LoneSurrogate => "lone-surrogate",
            MismatchedCloser => "mismatched-closer",
            MissingCloser => "missing-closer",
            SurplusCloser => "surplus-closer",
            MarkdownFence => "markdown-fence",
            HttpPreamble => "http-preamble",
            SurroundingText => "surrounding-text",
            JsonpWrapper => "jsonp-wrapper",
            DocumentSeparator => "document-separator",
            MissingColon => "missing-colon",
            MissingValue => "missing-value",
            MissingKey => "missing-key",
            NumberFormat => "number-format",
            NumberOutOfRange => "number-out-of-range",
            UnexpectedCharacter => "unexpected-character",
            NonJsonWhitespace => "non-json-whitespace",
        }
    }
}

impl fmt::Display for RepairKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change made to turn the input into strict JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// What kind of repair this was.
    pub kind: RepairKind,
    /// The bytes of the original input it concerns; empty for an insertion.
    pub span: Span,
    /// One line saying what was done, lowercase, without a trailing period.
    /// Repairs that say the same share one copy.
    pub description: Arc<str>,
}

impl Repair {
    pub(crate) fn new(kind: RepairKind, span: Span, description: impl Into<Arc<str>>) -> Self {
        Repair { kind, span, description: description.into() }
    }
}

/// Something worth telling that did not change the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// A key appears twice in one object. Both stay in the text; a typed
    /// field takes the last value, as serde_json would, and the records of
    /// every `value` array are typed.
    DuplicateKey,
}

impl NoteKind {
    /// The kind's stable kebab-case name, as logs print it.
    pub fn name(self) -> &'static str {
        match self {
            NoteKind::DuplicateKey => "duplicate-key",
        }
    }
}

/// A finding that left the text as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// What was found.
    pub kind: NoteKind,
    /// The bytes of the original input it concerns.
    pub span: Span,
    /// One line saying what was found.
    pub description: Arc<str>,
}

/// Limits for [`repair`].
#[derive(Clone, Debug)]
pub struct RepairOptions {
    /// Containers nested deeper than this are an error, not a stack overflow.
    pub max_depth: usize,
}

impl Default for RepairOptions {
    fn default() -> Self {
        RepairOptions { max_depth: 512 }
    }
}

/// Why input could not be turned into any JSON value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {} column {}", position.line, position.column)]
pub struct RepairError {
    /// What was wrong.
    pub kind: RepairErrorKind,
    /// Where, in the original input.
    pub span: Span,
    /// `span.start` as line and column.
    pub position: LineCol,
}

/// The reasons [`repair`] can fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RepairErrorKind {
    /// Nothing but whitespace and comments.
    #[error("input is empty")]
    Empty,
    /// Text, but no JSON value anywhere in it.
    #[error("no JSON value found")]
    NoValue,
    /// Containers nested deeper than the limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
}

/// Repaired input: strict JSON text, the documents in it, and what was done.
#[derive(Debug)]
pub struct Repaired<'a> {
    input: &'a [u8],
    encoding: Encoding,
    source_map: SourceMap,
    text: Text<'a>,
    documents: Vec<Range<usize>>,
    repairs: Vec<Repair>,
    notes: Vec<Note>,
    output_map: OutputMap,
}

/// Repaired text: made, or the edits that make it from the decoded text,
/// applied when it is first asked for (see [`Apply`]).
#[derive(Debug)]
enum Text<'a> {
    Made(Cow<'a, str>),
    Pending { decoded: &'a str, edits: edits::Pending, made: OnceCell<String> },
}

impl<'a> Text<'a> {
    fn into_cow(self) -> Cow<'a, str> {
        match self {
            Text::Made(text) => text,
            Text::Pending { decoded, edits, made } => {
                Cow::Owned(made.into_inner().unwrap_or_else(|| edits.output(decoded)))
            }
        }
    }
}

/// When a part's edits become its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Apply {
    /// As the part is made: what reads the text reads it whole.
    Now,
    /// When the text is first asked for: [`Repaired::write_text`] writes it
    /// from the edits, so a part that is only written out is never held whole.
    WhenAsked,
}

/// How many threads the tolerant parser may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// One: the caller's.
    One,
    /// Two, for a large response: the second parses the records of its
    /// second half meanwhile (as a guess the first confirms, or drops).
    Two,
}

impl<'a> Repaired<'a> {
    /// The repaired text: every document, in input order, each starting on a
    /// line of its own. Borrowed from the input when nothing changed.
    pub fn text(&self) -> &str {
        match &self.text {
            Text::Made(text) => text,
            Text::Pending { decoded, edits, made } => made.get_or_init(|| edits.output(decoded)),
        }
    }

    /// Writes [`Repaired::text`] to `out`; text not made yet is written
    /// from the edits, piece by piece, and not kept.
    pub(crate) fn write_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        match &self.text {
            Text::Pending { decoded, edits, made } if made.get().is_none() => edits.write(decoded, out),
            _ => out.write_all(self.text().as_bytes()),
        }
    }

    /// Consumes the result, keeping only the repaired text.
    pub fn into_text(self) -> Cow<'a, str> {
        self.text.into_cow()
    }

    /// The byte ranges of the documents in [`Repaired::text`], in order.
    pub fn document_ranges(&self) -> &[Range<usize>] {
        &self.documents
    }

    /// Each document's strict JSON text, in order.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let text = self.text();
        self.documents.iter().map(move |range| &text[range.clone()])
    }

    /// Every repair, ordered by position in the input.
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// Findings that did not change the text, ordered by position.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// How the input was encoded.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The original input.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// An index that turns input offsets into lines and columns.
    pub fn line_index(&self) -> LineIndex<'a> {
        LineIndex::of_decoded(self.input, self.encoding, &self.source_map)
    }

    /// The input offset that byte `offset` of [`Repaired::text`] came from.
    /// Inserted text maps to where it was inserted.
    pub fn input_offset(&self, offset: usize) -> usize {
        let text_offset = self.output_map.to_text(offset);
        self.source_map.to_input(self.input, text_offset)
    }

    /// The input span of a span of [`Repaired::text`]. It ends where its
    /// last byte came from: text deleted right after it is not part of it.
    pub fn input_span(&self, span: Span) -> Span {
        let start = self.input_offset(span.start);
        let end = if span.is_empty() {
            start
        } else {
            self.source_map.to_input(self.input, self.output_map.end_to_text(span.end))
        };
        Span::new(start, end.max(start))
    }
}

/// Repairs `input` into strict JSON.
///
/// Decodes the bytes (UTF-8, UTF-16, BOMs), then tries a strict parse, as
/// one document or as strict documents on lines of their own (NDJSON); only
/// input that fails both, or has duplicate keys, goes through the tolerant
/// parser. The result keeps every document found, in order.
///
/// # Errors
///
/// Fails only when the input holds no JSON value at all, or nests containers
/// deeper than `options.max_depth`.
///
/// # Examples
///
/// ```
/// let repaired = scanhist::repair(b"{'ip': '10.0.0.1',}", &Default::default()).unwrap();
/// assert_eq!(repaired.text(), r#"{"ip": "10.0.0.1"}"#);
/// let kinds: Vec<_> = repaired.repairs().iter().map(|r| r.kind.name()).collect();
/// assert_eq!(kinds, ["single-quotes", "single-quotes", "trailing-comma"]);
/// ```
pub fn repair<'a>(input: &'a [u8], options: &RepairOptions) -> Result<Repaired<'a>, RepairError> {
    repair_decoded(input, decode(input), options)
}

impl<'a> Repaired<'a> {
    /// Decoded text that is one strict JSON document already, as it is.
    pub(crate) fn strict(input: &'a [u8], decoded: Decoded<'a>) -> Self {
        let text: &str = &decoded.text;
        let start = text.len() - text.trim_start_matches(is_json_whitespace).len();
        let end = text.trim_end_matches(is_json_whitespace).len().max(start);
        Repaired {
            input,
            encoding: decoded.encoding,
            source_map: decoded.source_map,
            text: Text::Made(decoded.text),
            documents: std::iter::once(start..end).collect(),
            repairs: decoded.repairs,
            notes: Vec::new(),
            output_map: OutputMap::default(),
        }
    }

    /// A [`Repaired::strict`] of one document that a lenient reading passed,
    /// letting `passed` pass: repaired as [`repair`] repairs it.
    pub(crate) fn let_pass(self, passed: Vec<Lenience<'a>>) -> Self {
        if passed.is_empty() {
            return self;
        }
        let (&Text::Made(Cow::Borrowed(text)), [document]) = (&self.text, &self.documents[..]) else {
            unreachable!("a lenient reading is of one document of borrowed text");
        };
        let (input, parsed) = (self.input, parser::parse_passed(text, document.clone(), passed));
        let Decoded { encoding, source_map, repairs: decoded_repairs, .. } = self.into_decoded();
        let to_input = |span: Span| source_map.span_to_input(input, span);
        let (repairs, notes) = findings(parsed.repairs, parsed.notes, decoded_repairs, to_input);
        // Its records were typed from the input: the text is made only if asked for.
        let (text, documents, output_map) =
            apply_when(Apply::WhenAsked, text, parsed.range, parsed.edits, parsed.documents);
        Repaired { input, encoding, source_map, text, documents, repairs, notes, output_map }
    }

    /// The decoded text a [`Repaired::strict`] was made from, back.
    pub(crate) fn into_decoded(self) -> Decoded<'a> {
        let text = self.text.into_cow();
        Decoded { text, encoding: self.encoding, source_map: self.source_map, repairs: self.repairs }
    }
}

impl<'a> Repaired<'a> {
    /// Moves text the repair made into `storage`, so that what borrows the
    /// text may live as long as the input. Returns the text.
    pub(crate) fn store_text(&mut self, storage: &'a mut String) -> &'a str {
        let text: &'a str = match std::mem::replace(&mut self.text, Text::Made(Cow::Borrowed(""))).into_cow() {
            Cow::Borrowed(text) => text,
            Cow::Owned(text) => {
                *storage = text;
                let storage: &'a String = storage;
                storage
            }
        };
        self.text = Text::Made(Cow::Borrowed(text));
        text
    }
}

/// [`repair`] in parts, for inputs whose repaired text and repairs are too
/// large to hold at once: hands each part of the repaired input to `on_part`
/// as soon as it is complete, and keeps nothing of it after.
///
/// A part is a run of whole documents and the text around them, at least
/// `part_bytes` of the input but the last (which may hold only what follows
/// the last document). Each is a [`Repaired`] of its own, with its text, its
/// documents, and the repairs and notes inside it, positioned in the whole
/// input. The parts' texts, one after another, are the text [`repair`]
/// makes, and their repairs its repairs. Input that is strict JSON already,
/// or that is not clean UTF-8 (its decoded text is a new string the parts
/// cannot borrow), comes as one part. `on_part` may stop the repair by
/// returning [`ControlFlow::Break`]. To position findings, build one
/// [`LineIndex`] over the input and use it for every part: lookups continue
/// from the last, where each part's [`Repaired::line_index`] starts afresh.
///
/// # Errors
///
/// Fails as [`repair`] does. Parts before a failure (containers nested too
/// deep further on) have been handed on by then.
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
///
/// let input = b"{\"a\": 1,}\n{\"a\": 2,}\n{\"a\": 3,}\n";
/// let mut texts = Vec::new();
/// scanhist::repair::repair_in_parts(input, &Default::default(), 16, |part| {
///     assert_eq!(part.repairs().len(), part.document_ranges().len());
///     texts.push(part.text().to_owned());
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!(texts, ["{\"a\": 1}\n{\"a\": 2}\n", "{\"a\": 3}\n"]);
/// # Ok::<(), scanhist::RepairError>(())
/// ```
pub fn repair_in_parts<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    part_bytes: usize,
    mut on_part: impl FnMut(Repaired<'a>) -> ControlFlow<()>,
) -> Result<(), RepairError> {
    repair_decoded_in_parts(input, decode(input), options, part_bytes, Apply::Now, Threads::One, &mut on_part)
}

/// [`repair_in_parts`] of text decoded already, each part's edits applied
/// when `apply` says, on as many `threads`.
pub(crate) fn repair_decoded_in_parts<'a>(
    input: &'a [u8],
    decoded: Decoded<'a>,
    options: &RepairOptions,
    part_bytes: usize,
    apply: Apply,
    threads: Threads,
    on_part: &mut dyn FnMut(Repaired<'a>) -> ControlFlow<()>,
) -> Result<(), RepairError> {
    let Cow::Borrowed(text) = decoded.text else {
        let _ = on_part(repair_decoded(input, decoded, options)?);
        return Ok(());
    };
    if let Some(documents) = crate::json::check_documents(text, options.max_depth) {
        let _ = on_part(Repaired { documents, ..Repaired::strict(input, decoded) });
        return Ok(());
    }
    let Decoded { encoding, source_map, repairs: decoded_repairs, .. } = decoded;
    let mut decoded_repairs = decoded_repairs.into_iter().peekable();
    let parsed = parser::parse_parts(text, options.max_depth, part_bytes, threads, &mut |part| {
        let to_input = |span: Span| source_map.span_to_input(input, span);
        // The decoding's repairs (a byte-order mark) go with the part they lie in.
        let part_end = to_input(Span::point(part.range.end)).start;
        let earlier = std::iter::from_fn(|| decoded_repairs.next_if(|r| r.span.start < part_end));
        let (repairs, notes) = findings(part.repairs, part.notes, earlier, to_input);
        let (text, documents, output_map) = apply_when(apply, text, part.range, part.edits, part.documents);
        on_part(Repaired {
            input,
            encoding,
            source_map: source_map.clone(),
            text,
            documents,
            repairs,
            notes,
            output_map,
        })
    });
    parsed.map_err(|failure| failed(input, encoding, &source_map, failure))
}

/// Repairs decoded text whole: strict documents (one, or several on lines of
/// their own) come back as they are, in one pass; anything else goes through
/// the tolerant parser.
pub(crate) fn repair_decoded<'a>(
    input: &'a [u8],
    decoded: Decoded<'a>,
    options: &RepairOptions,
) -> Result<Repaired<'a>, RepairError> {
    if let Some(documents) = crate::json::check_documents(&decoded.text, options.max_depth) {
        return Ok(Repaired { documents, ..Repaired::strict(input, decoded) });
    }
    let parsed = parser::parse(&decoded.text, options.max_depth)
        .map_err(|failure| failed(input, decoded.encoding, &decoded.source_map, failure))?;
    let to_input = |span: Span| decoded.source_map.span_to_input(input, span);
    let (repairs, notes) = findings(parsed.repairs, parsed.notes, decoded.repairs, to_input);
    let (text, documents, output_map) = match apply(&decoded.text, parsed.range, parsed.edits, parsed.documents) {
        // The whole text, unchanged: the decoded text itself, borrowed or not.
        (Cow::Borrowed(_), documents, output_map) => (decoded.text, documents, output_map),
        (Cow::Owned(output), documents, output_map) => (Cow::Owned(output), documents, output_map),
    };
    let text = Text::Made(text);
    Ok(Repaired {
        input,
        encoding: decoded.encoding,
        source_map: decoded.source_map,
        text,
        documents,
        repairs,
        notes,
        output_map,
    })
}

/// A parse failure, positioned in the input.
fn failed(input: &[u8], encoding: Encoding, source_map: &SourceMap, failure: parser::Failure) -> RepairError {
    let span = source_map.span_to_input(input, failure.span);
    let position = LineIndex::of_decoded(input, encoding, source_map).line_col(span.start);
    RepairError { kind: failure.kind, span, position }
}

/// The parser's repairs and notes positioned in the input, and the repairs
/// of decoding (`earlier`, in input order) among them, all in input order.
fn findings(
    mut repairs: Vec<Repair>,
    notes: Vec<Note>,
    earlier: impl IntoIterator<Item = Repair>,
    to_input: impl Fn(Span) -> Span,
) -> (Vec<Repair>, Vec<Note>) {
    // Mapped in place and joined without a copy: a repair per line of a large
    // input makes this the largest list scanhist holds.
    for repair in &mut repairs {
        repair.span = to_input(repair.span);
    }
    repairs.splice(0..0, earlier);
    in_input_order(&mut repairs);
    let notes = notes.into_iter().map(|n| Note { span: to_input(n.span), ..n }).collect();
    (repairs, notes)
}

/// `text[range]` with `edits` applied, where `documents` lie in it, and the
/// map back to `text`; borrowed when there is nothing to apply.
fn apply(
    text: &str,
    range: Range<usize>,
    edits: Vec<edits::Edit>,
    documents: Vec<parser::Document>,
) -> (Cow<'_, str>, Vec<Range<usize>>, OutputMap) {
    if edits.is_empty() {
        let documents = documents.iter().map(|d| d.start - range.start..d.end - range.start).collect();
        let output_map = OutputMap::starting_at(range.start);
        (Cow::Borrowed(&text[range]), documents, output_map)
    } else {
        let applied = edits::Applied::new(text, range, edits, documents);
        (Cow::Owned(applied.output), applied.documents, applied.map)
    }
}

/// [`apply`], or, when `when` says so and there are edits, the edits to
/// apply when the text is asked for.
fn apply_when<'t>(
    when: Apply,
    text: &'t str,
    range: Range<usize>,
    edits: Vec<edits::Edit>,
    documents: Vec<parser::Document>,
) -> (Text<'t>, Vec<Range<usize>>, OutputMap) {
    if when == Apply::WhenAsked && !edits.is_empty() {
        let (edits, output_map, documents) = edits::Pending::new(range, edits, documents);
        return (Text::Pending { decoded: text, edits, made: OnceCell::new() }, documents, output_map);
    }
    let (text, documents, output_map) = apply(text, range, edits, documents);
    (Text::Made(text), documents, output_map)
}

/// Orders `repairs` by where they start, those at one place in the order
/// made, in place.
fn in_input_order(repairs: &mut [Repair]) {
    if !repairs.is_sorted_by_key(|r| r.span.start) {
        edits::permute(repairs, edits::position_order(repairs.len(), |i| repairs[i].span.start));
    }
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// JSON values of every kind, nested a little.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            "[a-z\"\\\n é]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strict_documents_on_their_own_lines_are_what_the_parser_finds(
            documents in prop::collection::vec((json_value(), any::<bool>()), 1..6),
            gaps in prop::collection::vec("[ \t\r]{0,2}\n[ \t\r\n]{0,2}", 6),
        ) {
            let mut text = String::new();
            for (i, (value, pretty)) in documents.iter().enumerate() {
                text.push_str(&gaps[i]);
                let json = if *pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
                text.push_str(&json.unwrap());
            }
            let parsed = parser::parse(&text, 512).ok().expect("strict documents parse");
            prop_assert!(parsed.edits.is_empty() && parsed.repairs.is_empty() && parsed.notes.is_empty());
            let found: Vec<Range<usize>> = parsed.documents.iter().map(|d| d.start..d.end).collect();
            prop_assert_eq!(crate::json::check_documents(&text, 512), Some(found));
        }

        #[test]
        fn documents_sharing_a_line_are_left_to_the_parser(a in json_value(), b in json_value()) {
            let text = format!("{a} {b}");
            prop_assert_eq!(crate::json::check_documents(&text, 512), None);
        }
    }

    /// The parts of `input`, their edits applied as `apply` says.
    fn parts(input: &[u8], part_bytes: usize, apply: Apply) -> Vec<Repaired<'_>> {
        let mut parts = Vec::new();
        let options = RepairOptions::default();
        let _ = repair_decoded_in_parts(input, decode(input), &options, part_bytes, apply, Threads::One, &mut |part| {
            parts.push(part);
            ControlFlow::Continue(())
        });
        parts
    }

    proptest! {
        #[test]
        fn parts_applied_when_asked_are_the_parts_applied_now(
            fragments in prop::collection::vec(
                prop::sample::select(vec!["{", "}", "[", "]", ",", ":", "\"a\"", "'b'", "1", "NaN", "// c\n", "\n", " ", "é", "x"]),
                0..60,
            ),
            part_bytes in 0usize..40,
        ) {
            let input = fragments.concat();
            let now = parts(input.as_bytes(), part_bytes, Apply::Now);
            let asked = parts(input.as_bytes(), part_bytes, Apply::WhenAsked);
            prop_assert_eq!(asked.len(), now.len());
            for (asked, now) in asked.iter().zip(&now) {
                let mut written = Vec::new();
                asked.write_text(&mut written).unwrap();
                prop_assert_eq!(String::from_utf8(written).unwrap(), now.text());
                prop_assert_eq!(asked.document_ranges(), now.document_ranges());
                prop_assert_eq!((asked.repairs(), asked.notes()), (now.repairs(), now.notes()));
                for offset in 0..=now.text().len() {
                    prop_assert_eq!(asked.input_offset(offset), now.input_offset(offset));
                }
                // Asked for, the text is made, and written as made.
                prop_assert_eq!(asked.text(), now.text());
                let mut written = Vec::new();
                asked.write_text(&mut written).unwrap();
                prop_assert_eq!(written, now.text().as_bytes());
            }
            let texts: Vec<_> = parts(input.as_bytes(), part_bytes, Apply::WhenAsked).into_iter().map(Repaired::into_text).collect();
            prop_assert_eq!(texts, now.iter().map(|part| part.text()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn text_applied_when_asked_is_not_made_till_then() {
        let input = b"{'a': 1,}\n[2,]\n";
        let asked = parts(input, 0, Apply::WhenAsked);
        assert_eq!(asked.len(), 2);
        assert!(asked.iter().all(|part| matches!(&part.text, Text::Pending { made, .. } if made.get().is_none())));
        assert_eq!(asked[0].text(), "{\"a\": 1}\n");
        assert!(matches!(&asked[0].text, Text::Pending { made, .. } if made.get().is_some()));
        // `read` types the documented sample's damage from the input: its text waits too.
        let input = b"{\"value\": [{\"sessionId\": \"s\",}]}";
        let mut storage = String::new();
        let (read, _) = crate::read(input, &RepairOptions::default(), &mut storage).unwrap();
        assert!(matches!(&read.text, Text::Pending { made, .. } if made.get().is_none()));
        assert_eq!(read.text(), "{\"value\": [{\"sessionId\": \"s\"}]}");
    }

    #[test]
    fn spans_end_before_text_deleted_right_after_them() {
        let repaired = repair(b"[{\"a\": 1},,{},]", &RepairOptions::default()).unwrap();
        assert_eq!(repaired.text(), "[{\"a\": 1},{}]");
        // A span that ends where the extra comma went ends before it; the
        // second object starts after it and ends before the trailing comma.
        assert_eq!(repaired.input_span(Span::new(1, 10)), Span::new(1, 10));
        assert_eq!(repaired.input_span(Span::new(10, 12)), Span::new(11, 13));
        // What starts where text was deleted starts after it.
        assert_eq!(repaired.input_span(Span::new(10, 10)), Span::new(11, 11));
        assert_eq!(repaired.input_span(Span::new(12, 13)), Span::new(14, 15));
    }

    #[test]
    fn repairs_that_say_the_same_share_one_description() {
        let text = "[{\"a\": 1,}, {\"a\": 2,}, {\"a\": 3,}]";
        let repaired = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
        let descriptions: Vec<&Arc<str>> = repaired.repairs().iter().map(|r| &r.description).collect();
        assert_eq!(descriptions.len(), 3);
        assert!(descriptions.iter().all(|d| &***d == "removed a trailing comma"), "{descriptions:?}");
        assert!(descriptions.windows(2).all(|pair| Arc::ptr_eq(pair[0], pair[1])));
    }

    #[test]
    fn more_distinct_descriptions_than_are_remembered_each_say_their_own() {
        // Twelve keys, each unquoted twice: more than the shared copies kept.
        let members: Vec<String> = (0..24).map(|i| format!("k{}: {i}", i % 12)).collect();
        let text = format!("{{{}}}", members.join(", "));
        let repaired = repair(text.as_bytes(), &RepairOptions::default()).unwrap();
        let said: Vec<&str> = repaired.repairs().iter().map(|r| &*r.description).collect();
        let expected: Vec<String> = (0..24).map(|i| format!("quoted the key \"k{}\"", i % 12)).collect();
        assert_eq!(said, expected);
    }

    proptest::proptest! {
        #[test]
        fn repairs_are_ordered_as_a_stable_sort_orders_them(starts in proptest::collection::vec(0usize..20, 0..60)) {
            let repairs: Vec<Repair> = starts
                .iter()
                .enumerate()
                .map(|(i, &start)| Repair::new(RepairKind::TrailingComma, Span::new(start, start), format!("{i}")))
                .collect();
            let mut expected = repairs.clone();
            expected.sort_by_key(|r| r.span.start);
            let mut ordered = repairs;
            in_input_order(&mut ordered);
            proptest::prop_assert_eq!(ordered, expected);
        }
    }
}
