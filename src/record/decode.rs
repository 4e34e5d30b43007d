//! Typing: documents of repaired text to envelopes, sessions and targets.
//!
//! One pass over the text with a [`Cursor`]: each value is read once, where
//! it stands, and keeps its span, so a diagnostic can point at it. Nothing
//! builds a tree, and values scanhist does not type are skipped, not parsed.

use std::borrow::Cow;
use std::mem;
use std::net::IpAddr;
use std::ops::Range;

use super::powershell::hashtable_pairs;
use super::time::TimeParse;
use super::{
    Envelope, RawJson, ScanDuration, ScanSession, ScanStatus, ScannedTarget, TargetAddress, TimeNote, Timestamp,
    TARGETS_PER_PART,
};
use crate::diagnostic::{Diagnostic, DiagnosticCode};
use crate::json::{self, Cursor, Kind, Lenience, Str, SyntaxError};
use crate::repair::Repaired;
use crate::span::Span;

/// The typed content of one input, and what typing found.
#[derive(Clone, Debug, Default)]
pub struct Records<'a> {
    /// One envelope per document that holds scan history, in input order.
    pub envelopes: Vec<Envelope<'a>>,
    /// Findings, in the order they were made (document by document).
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Records<'a> {
    /// Every session of every envelope, in input order.
    pub fn sessions(&self) -> impl Iterator<Item = &ScanSession<'a>> {
        self.envelopes.iter().flat_map(|e| &e.sessions)
    }

    /// The same records, owning all their text, to outlive the input.
    pub fn into_owned(self) -> Records<'static> {
        Records {
            envelopes: self.envelopes.into_iter().map(Envelope::into_owned).collect(),
            diagnostics: self.diagnostics,
        }
    }
}

/// Types every document of `repaired`, keeping every record.
///
/// Each document may be an OData envelope (`{"value": [...]}`), a bare array
/// of records, or one record (as NDJSON dumps hold). A saved API error body
/// gives an [`DiagnosticCode::ApiError`] and no records.
pub fn decode_records<'r>(repaired: &'r Repaired<'_>) -> Records<'r> {
    decode_text(repaired, repaired.text())
}

/// [`decode_records`] where `text`, `repaired`'s text, may outlive `repaired`.
pub(crate) fn decode_text<'t>(repaired: &Repaired<'_>, text: &'t str) -> Records<'t> {
    let mut collect = Collect { envelopes: Vec::new(), sessions: Vec::new() };
    let diagnostics = decode_with(repaired, text, &mut collect);
    Records { envelopes: collect.envelopes, diagnostics }
}

/// Types every document of `repaired` like [`decode_records`], handing each
/// session to `on_session` as soon as it is typed instead of keeping it, so
/// memory does not grow with the number of records; a session whose target
/// list is long comes in parts (see [`ScanSession::first_target`]). Returns
/// the diagnostics.
pub fn for_each_session<'r>(repaired: &'r Repaired<'_>, on_session: impl FnMut(ScanSession<'r>)) -> Vec<Diagnostic> {
    for_each_in_text(repaired, repaired.text(), Extra::Kept, on_session)
}

/// What becomes of the values of keys scanhist does not know, which no row
/// shows: kept in `extra`, or checked and skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extra {
    Kept,
    Skipped,
}

/// [`for_each_session`] where `text`, `repaired`'s text, may outlive
/// `repaired`, keeping unknown keys' values or not.
pub(crate) fn for_each_in_text<'t>(
    repaired: &Repaired<'_>,
    text: &'t str,
    extra: Extra,
    on_session: impl FnMut(ScanSession<'t>),
) -> Vec<Diagnostic> {
    decode_with(repaired, text, &mut Stream { on_session, extra })
}

fn decode_with<'t>(repaired: &Repaired<'_>, text: &'t str, sink: &mut dyn Sink<'t>) -> Vec<Diagnostic> {
    let mut decoder = Decoder::new(repaired, text, None, sink);
    for range in repaired.document_ranges() {
        // Repaired text is strict JSON, so the cursor never fails on it; were
        // it to, the document's diagnostic says so.
        let _ = decoder.document(range.clone());
    }
    decoder.diagnostics
}

/// Types `text`, the text of `strict` (one document that no repair has
/// checked), checking it as it is read: the check and typing in one pass.
/// The check lets the documented sample's damage pass, trailing commas and
/// runs of targets, and returns what it let pass in the order the tolerant
/// parser records it. `None`, and nothing typed, when the text is not made
/// strict JSON nested at most `max_depth` deep with unique keys by repairing
/// that damage, or when damage lies in a value kept as written.
pub(crate) fn decode_checked<'t>(
    strict: &Repaired<'_>,
    text: &'t str,
    max_depth: usize,
) -> Option<(Records<'t>, Vec<Lenience<'t>>)> {
    let mut collect = Collect { envelopes: Vec::new(), sessions: Vec::new() };
    let (diagnostics, passed) = checked_with(strict, text, max_depth, Check::Whole, &mut collect)?;
    Some((Records { envelopes: collect.envelopes, diagnostics }, passed))
}

/// How much of the text typing checks as it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// All of it, letting the documented sample's damage pass, as
    /// [`decode_checked`] does: typing is the only check.
    Whole,
    /// All of it strictly but repeated keys, where a check of the whole
    /// input on a second thread finds those, and only that check's word
    /// lets a session go on: an object's keys are remembered once, there.
    ButRepeatedKeys,
}

/// [`decode_checked`], handing each session to `on_session` as it is typed,
/// checking as `check` says. When the text turns out not to pass, the
/// sessions already handed over are of its beginning, and the result is
/// `None`.
pub(crate) fn for_each_checked<'t>(
    strict: &Repaired<'_>,
    text: &'t str,
    max_depth: usize,
    check: Check,
    extra: Extra,
    on_session: impl FnMut(ScanSession<'t>),
) -> Option<(Vec<Diagnostic>, Vec<Lenience<'t>>)> {
    checked_with(strict, text, max_depth, check, &mut Stream { on_session, extra })
}

fn checked_with<'t>(
    strict: &Repaired<'_>,
    text: &'t str,
    max_depth: usize,
    check: Check,
    sink: &mut dyn Sink<'t>,
) -> Option<(Vec<Diagnostic>, Vec<Lenience<'t>>)> {
    let [range] = strict.document_ranges() else {
        return None;
    };
    let mut decoder = Decoder::new(strict, text, Some((max_depth, check)), sink);
    decoder.document(range.clone()).ok()?;
    Some((decoder.diagnostics, decoder.passed))
}

/// Where typed records go, in input order.
trait Sink<'r> {
    /// Whether a session with a long target list may come in parts (see
    /// [`ScanSession::first_target`]); otherwise each comes whole.
    fn takes_parts(&self) -> bool;
    /// Whether the values of keys scanhist does not know are kept, in
    /// `extra`; otherwise they are checked and skipped.
    fn keeps_extra(&self) -> bool;
    fn session(&mut self, session: ScanSession<'r>);
    /// An envelope ends; the sessions since the last one were its own.
    fn envelope(&mut self, context: Option<String>, next_link: Option<String>, span: Span);
}

struct Collect<'r> {
    envelopes: Vec<Envelope<'r>>,
    sessions: Vec<ScanSession<'r>>,
}

impl<'r> Sink<'r> for Collect<'r> {
    fn takes_parts(&self) -> bool {
        false
    }

    fn keeps_extra(&self) -> bool {
        true
    }

    fn session(&mut self, session: ScanSession<'r>) {
        self.sessions.push(session);
    }

    fn envelope(&mut self, context: Option<String>, next_link: Option<String>, span: Span) {
        let sessions = std::mem::take(&mut self.sessions);
        self.envelopes.push(Envelope { context, next_link, sessions, span });
    }
}

struct Stream<F> {
    on_session: F,
    extra: Extra,
}

impl<'r, F: FnMut(ScanSession<'r>)> Sink<'r> for Stream<F> {
    fn takes_parts(&self) -> bool {
        true
    }

    fn keeps_extra(&self) -> bool {
        self.extra == Extra::Kept
    }

    fn session(&mut self, session: ScanSession<'r>) {
        (self.on_session)(session);
    }

    fn envelope(&mut self, _: Option<String>, _: Option<String>, _: Span) {}
}

struct Decoder<'t, 'm, 's> {
    /// Where the text came from, to map spans back to the input.
    repaired: &'m Repaired<'m>,
    /// The text: strict JSON, or checked as it is read.
    text: &'t str,
    /// `Some((max_depth, what))` when the text is not known to be strict
    /// JSON: the cursor then checks it as it reads, and the first error stops
    /// typing. A [`Check::Whole`] check lets the documented sample's damage
    /// pass (trailing commas, runs of targets); what it let pass goes to
    /// `passed`.
    check: Option<(usize, Check)>,
    passed: Vec<Lenience<'t>>,
    sink: &'s mut dyn Sink<'t>,
    diagnostics: Vec<Diagnostic>,
    /// The text of the bare records read since the last envelope, in a root
    /// array; they make an envelope of their own.
    run: Option<Range<usize>>,
}

/// Where a value sits, for its JSON pointer. Pointers are built only when a
/// diagnostic needs one.
#[derive(Clone, Copy, Default)]
struct Location<'k> {
    /// The response's index when responses were saved as one array of pages.
    page: Option<usize>,
    /// Records sit under `/value` rather than at the root or in a root array.
    under_value: bool,
    record: Option<usize>,
    targets: Option<(&'k str, usize)>,
}

impl At<'static> {
    const ROOT: At<'static> =
        At { location: Location { page: None, under_value: false, record: None, targets: None }, key: None };
}

impl Location<'_> {
    fn pointer(&self, key: Option<&str>) -> String {
        let mut pointer = String::new();
        if let Some(page) = self.page {
            pointer.push_str(&format!("/{page}"));
        }
        if self.under_value {
            pointer.push_str("/value");
        }
        if let Some(record) = self.record {
            pointer.push_str(&format!("/{record}"));
        }
        if let Some((targets_key, target)) = self.targets {
            pointer.push('/');
            pointer.push_str(&escape_pointer(targets_key));
            pointer.push_str(&format!("/{target}"));
        }
        if let Some(key) = key {
            pointer.push('/');
            pointer.push_str(&escape_pointer(key));
        }
        pointer
    }
}

/// A value's place: its location and key. The JSON pointer is built from it
/// only when a diagnostic is made, never on the path of a valid value.
#[derive(Clone, Copy)]
struct At<'a> {
    location: Location<'a>,
    key: Option<&'a str>,
}

impl At<'_> {
    fn pointer(&self) -> String {
        self.location.pointer(self.key)
    }
}

fn escape_pointer(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SessionKey {
    OrgId,
    ScanDefinitionId,
    SessionId,
    ScannerId,
    Status,
    GeneralErrorMessage,
    LastScanned,
    NumberOfTargets,
    NumberOfSuccessfullyScannedTargets,
    Targets,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetKey {
    Ip,
    Hostname,
    DeviceDescription,
    ErrorMessage,
    Status,
    Duration,
}

/// Keys as the live API spells them, and the documented sample's other names;
/// matched without regard to case.
const SESSION_KEYS: &[(&str, SessionKey)] = &[
    ("orgId", SessionKey::OrgId),
    ("scanDefinitionId", SessionKey::ScanDefinitionId),
    ("scanDefinitionIds", SessionKey::ScanDefinitionId),
    ("sessionId", SessionKey::SessionId),
    ("sessionIds", SessionKey::SessionId),
    ("scannerId", SessionKey::ScannerId),
    ("scanStatus", SessionKey::Status),
    ("generalErrorMessage", SessionKey::GeneralErrorMessage),
    ("LastScanned", SessionKey::LastScanned),
    ("numberOfTargets", SessionKey::NumberOfTargets),
    ("numberOfSuccessfullyScannedTargets", SessionKey::NumberOfSuccessfullyScannedTargets),
    ("scannedTargets", SessionKey::Targets),
    ("ListScannedTargets", SessionKey::Targets),
];

const TARGET_KEYS: &[(&str, TargetKey)] = &[
    ("ip", TargetKey::Ip),
    ("hostname", TargetKey::Hostname),
    ("scannedDeviceDescription", TargetKey::DeviceDescription),
    ("errorMessage", TargetKey::ErrorMessage),
    ("scanStatus", TargetKey::Status),
    ("scanDuration", TargetKey::Duration),
];

/// The field `key` names in `table`, and the index of its entry when `key`
/// is spelled exactly as there (a bit of the keys an object has had).
fn lookup<K: Copy>(table: &[(&str, K)], key: &str) -> Option<(K, Option<usize>)> {
    // Most keys are spelled as the table spells them: a byte comparison
    // finds them before the case-blind one runs.
    if let Some(index) = table.iter().position(|(name, _)| *name == key) {
        return Some((table[index].1, Some(index)));
    }
    table.iter().find(|(name, _)| key.eq_ignore_ascii_case(name)).map(|&(_, k)| (k, None))
}

// Each entry of a key table is a bit of a `u32`.
const _: () = assert!(SESSION_KEYS.len() <= 32 && TARGET_KEYS.len() <= 32);

/// Counts a key of a typed object as read, where the cursor checks for
/// repeated keys: by its bit when the table spells it so, else as the cursor
/// remembers any key.
fn key_read<'t>(cursor: &mut Cursor<'t>, written: Str<'t>, exact: Option<usize>, seen: &mut u32) -> json::Result<()> {
    match exact {
        Some(bit) => cursor.known_key(written, seen, bit),
        None => cursor.other_key(written),
    }
}

/// Whether the session being typed may be handed on in parts.
#[derive(Clone, Copy)]
enum Parts {
    /// No: the sink keeps whole sessions, or the object may not be a session.
    Never,
    /// Yes, unless a member follows the target list, which is looked for
    /// when the first part is full; if one does, the list is typed when the
    /// session ends (see [`LaterList`]). The session starts at `start`.
    Unknown { start: usize },
    /// Yes; the session starts at `start`.
    Yes { start: usize },
}

/// What typing a record carries from member to member.
struct RecordState<'t> {
    /// The keys it has had, by bit (see [`key_read`]).
    seen: u32,
    /// Whether its target list may go in parts.
    parts: Parts,
    /// Its target list, when that is to be typed at its end.
    later: Option<LaterList<'t>>,
}

/// A session's long target list followed by other members, which each part
/// must have: skipped when found, and typed once the session's other
/// members are, its parts handed on then.
struct LaterList<'t> {
    /// The list's text.
    range: Range<usize>,
    /// Its key, as written.
    key: Str<'t>,
    /// Where its findings go: after this many of the record's (counted from
    /// where the caller of [`Decoder::later_targets`] says they start).
    diagnostics: usize,
}

/// A value as [`Decoder`] reads it: scalars whole, containers skipped.
#[derive(Clone, Copy)]
enum Value<'a> {
    Null,
    /// A number, as written.
    Number(&'a str),
    /// `true` or `false`.
    Bool(&'a str),
    String(Str<'a>),
    /// An object or array, skipped; the field's span says where it is.
    Container(Kind),
    /// Text from a PowerShell `@{…}` string.
    Text(&'a str),
}

impl Value<'_> {
    fn described(&self) -> &'static str {
        match self {
            Value::Null => Kind::Null.described(),
            Value::Number(_) => Kind::Number.described(),
            Value::Bool(_) => Kind::Bool.described(),
            Value::String(_) | Value::Text(_) => Kind::String.described(),
            Value::Container(kind) => kind.described(),
        }
    }
}

/// A value, and the span of the text it came from.
struct Field<'a> {
    value: Value<'a>,
    span: Range<usize>,
}

/// Reads the next value of any kind.
#[inline]
fn read_value<'a>(cursor: &mut Cursor<'a>) -> json::Result<Field<'a>> {
    let kind = cursor.peek()?;
    let start = cursor.position();
    let value = match kind {
        Kind::String => Value::String(cursor.string()?),
        Kind::Number => Value::Number(cursor.scalar()?),
        Kind::Bool => Value::Bool(cursor.scalar()?),
        Kind::Null => {
            cursor.scalar()?;
            Value::Null
        }
        Kind::Object | Kind::Array => {
            cursor.skip_value()?;
            Value::Container(kind)
        }
    };
    Ok(Field { value, span: start..cursor.position() })
}

/// Fails a lenient reading that let damage pass in `range` (since the cursor
/// had let `passed` pieces pass), a value kept as written: kept values are
/// strict JSON, so that one is left to the repair.
fn kept_as_written(cursor: &Cursor<'_>, passed: usize, range: &Range<usize>) -> json::Result<()> {
    if cursor.passed_count() == passed {
        return Ok(());
    }
    Err(SyntaxError { offset: range.start, message: "damage in a value kept as written" })
}

/// Skips the value at the cursor, to be kept as written (see [`kept_as_written`]).
fn skip_kept(cursor: &mut Cursor<'_>) -> json::Result<Range<usize>> {
    let passed = cursor.passed_count();
    let range = cursor.skip_value()?;
    kept_as_written(cursor, passed, &range)?;
    Ok(range)
}

/// Keys of a response envelope that are not records.
const CONTEXT_KEY: &str = "@odata.context";
const NEXT_LINK_KEYS: [&str; 2] = ["@odata.nextLink", "odata.nextLink"];

impl<'t, 'm, 's> Decoder<'t, 'm, 's> {
    fn new(
        repaired: &'m Repaired<'_>,
        text: &'t str,
        check: Option<(usize, Check)>,
        sink: &'s mut dyn Sink<'t>,
    ) -> Self {
        Decoder { repaired, text, check, passed: Vec::new(), sink, diagnostics: Vec::new(), run: None }
    }
}

impl<'t> Decoder<'t, '_, '_> {
    /// Whether the text is checked as a whole, letting the documented
    /// sample's damage pass.
    fn lenient(&self) -> bool {
        matches!(self.check, Some((_, Check::Whole)))
    }

    /// The original input span of `range` of the repaired text.
    fn span(&self, range: &Range<usize>) -> Span {
        self.repaired.input_span(Span::new(range.start, range.end))
    }

    fn report(&mut self, code: DiagnosticCode, message: impl Into<String>, range: &Range<usize>, at: At<'_>) {
        let span = self.span(range);
        self.diagnostics.push(Diagnostic::new(code, message, span, at.pointer()));
    }

    /// A value kept whole; the repaired text is strict JSON, so it is too.
    fn raw(&self, range: Range<usize>) -> RawJson {
        RawJson::new(&self.text[range])
    }

    /// Skips the value of an unknown key at the cursor, kept whole in `extra`
    /// when the sink keeps such values.
    fn skip_extra(
        &self,
        cursor: &mut Cursor<'t>,
        extra: &mut Vec<(String, RawJson)>,
        key: Cow<'_, str>,
    ) -> json::Result<()> {
        let range = skip_kept(cursor)?;
        if self.sink.keeps_extra() {
            extra.push((key.into_owned(), self.raw(range)));
        }
        Ok(())
    }

    /// Types one document. A syntax error stops it: when checking, it is
    /// returned; otherwise it is reported, for the text was meant to be strict.
    fn document(&mut self, range: Range<usize>) -> json::Result<()> {
        let mut cursor = Cursor::new(self.text, range.clone());
        if let Some((max_depth, check)) = self.check {
            cursor = cursor.max_depth(max_depth);
            if check == Check::Whole {
                cursor = cursor.unique_keys().lenient();
            }
        }
        let read = self.document_value(&mut cursor, &range).and_then(|()| cursor.finish());
        self.passed = cursor.take_passed();
        match read {
            Err(error) if self.check.is_none() => {
                let message = format!("the document cannot be read: {error}");
                self.report(DiagnosticCode::NotScanHistory, message, &range, At::ROOT);
                Err(error)
            }
            read => read,
        }
    }

    fn document_value(&mut self, cursor: &mut Cursor<'t>, range: &Range<usize>) -> json::Result<()> {
        match cursor.peek()? {
            Kind::Object => self.response_or_record(cursor, None),
            Kind::Array => self.array_document(cursor),
            kind => {
                cursor.skip_value()?;
                let message = format!("the document is {}, not scan history", kind.described());
                self.report(DiagnosticCode::NotScanHistory, message, range, At::ROOT);
                Ok(())
            }
        }
    }

    /// A root array: of records, or of whole responses (pages saved together).
    fn array_document(&mut self, cursor: &mut Cursor<'t>) -> json::Result<()> {
        cursor.begin_array()?;
        let mut index = 0;
        while cursor.next_element()? {
            match cursor.peek()? {
                Kind::Object => self.response_or_record(cursor, Some(index))?,
                _ => self.not_a_record(cursor, Location { record: Some(index), ..Location::default() })?,
            }
            index += 1;
        }
        self.close_run();
        Ok(())
    }

    /// Hands the pending run of bare records to the sink as one envelope.
    fn close_run(&mut self) {
        if let Some(run) = self.run.take() {
            let span = self.span(&run);
            self.sink.envelope(None, None, span);
        }
    }

    /// An object at the root or in a root array: a response envelope, an API
    /// error body, or one record (as NDJSON dumps hold). Which one is known
    /// only at its end, so record fields are typed as they come and their
    /// diagnostics held back; a response's records are typed as they come
    /// too, and go to the sink at once.
    fn response_or_record(&mut self, cursor: &mut Cursor<'t>, index: Option<usize>) -> json::Result<()> {
        let as_record = Location { record: index, ..Location::default() };
        let as_response = Location { page: index, ..Location::default() };
        let start = cursor.position();
        cursor.begin_object()?;
        let mut session = ScanSession::default();
        let mut held = Vec::new();
        let (mut response, mut error) = (false, None);
        let (mut context, mut next_link) = (None, None);
        let mut state = RecordState { seen: 0, parts: Parts::Never, later: None };
        while let Some(written) = cursor.next_key_unchecked()? {
            let key = written.decode();
            if key.eq_ignore_ascii_case("value") {
                cursor.other_key(written)?;
                if !std::mem::replace(&mut response, true) {
                    self.close_run();
                }
                self.records(cursor, as_response)?;
                continue;
            }
            if key.eq_ignore_ascii_case("error") {
                cursor.other_key(written)?;
                // Read again, as written, once the object is known to be an error body.
                error = Some(skip_kept(cursor)?);
                continue;
            }
            let envelope_field = if key.eq_ignore_ascii_case(CONTEXT_KEY) {
                Some(&mut context)
            } else if NEXT_LINK_KEYS.iter().any(|name| key.eq_ignore_ascii_case(name)) {
                Some(&mut next_link)
            } else {
                None
            };
            if let Some(envelope_field) = envelope_field {
                cursor.other_key(written)?;
                let passed = cursor.passed_count();
                let field = read_value(cursor)?;
                kept_as_written(cursor, passed, &field.span)?;
                if let Value::String(text) = field.value {
                    *envelope_field = Some(text.decode().into_owned());
                }
                if self.sink.keeps_extra() {
                    session.extra.push((key.into_owned(), self.raw(field.span)));
                }
                continue;
            }
            // Members of a record count their keys themselves. Its targets
            // may go in parts only while the object may be a record.
            let before = self.diagnostics.len();
            state.parts = if self.sink.takes_parts() && !response && error.is_none() {
                Parts::Unknown { start }
            } else {
                Parts::Never
            };
            let at = cursor.position();
            self.record_member(cursor, &mut session, written, &mut state, as_record)?;
            held.extend(self.diagnostics.drain(before..));
            // A list left for the end, in this member: its findings go among those held.
            if let Some(list) = state.later.as_mut().filter(|list| list.range.start >= at) {
                list.diagnostics = held.len();
            }
        }
        let range = start..cursor.position();
        if response {
            let span = self.span(&range);
            self.sink.envelope(context, next_link, span);
        } else if let Some(error) = error {
            self.close_run();
            self.api_error(error, as_response);
        } else {
            let first = self.diagnostics.len();
            self.diagnostics.append(&mut held);
            if let Some(list) = state.later {
                self.later_targets(&mut session, list, as_record, start, first)?;
            }
            session.span = self.span(&range);
            self.sink.session(session);
            match index {
                None => self.sink.envelope(None, None, self.span(&range)),
                Some(_) => self.run = Some(self.run.take().map_or(range.start, |run| run.start)..range.end),
            }
        }
        Ok(())
    }

    fn api_error(&mut self, range: Range<usize>, base: Location<'_>) {
        let (mut code, mut message) = (None, None);
        let mut cursor = Cursor::new(self.text, range.clone());
        let mut read = || -> json::Result<()> {
            if cursor.peek()? != Kind::Object {
                return Ok(());
            }
            cursor.begin_object()?;
            while let Some(key) = cursor.next_key()? {
                let key = key.decode();
                let slot = if key.eq_ignore_ascii_case("code") {
                    &mut code
                } else if key.eq_ignore_ascii_case("message") {
                    &mut message
                } else {
                    cursor.skip_value()?;
                    continue;
                };
                let field = read_value(&mut cursor)?;
                if slot.is_none() {
                    *slot = Some(match field.value {
                        Value::String(text) => Some(text.decode().into_owned()),
                        _ => None,
                    });
                }
            }
            Ok(())
        };
        // The text is strict JSON; should reading stop early, what was read still shows.
        let _ = read();
        let code = code.flatten().unwrap_or_else(|| "unknown".to_owned());
        let message = message.flatten().unwrap_or_default();
        let text = format!("the document is an API error response, not scan history: {code}: {message}");
        self.report(DiagnosticCode::ApiError, text, &range, At { location: base, key: Some("error") });
    }

    /// The records of a response's `value`, each to the sink as soon as it is typed.
    fn records(&mut self, cursor: &mut Cursor<'t>, base: Location<'_>) -> json::Result<()> {
        let location = Location { under_value: true, ..base };
        match cursor.peek()? {
            Kind::Array => {
                cursor.begin_array()?;
                let mut index = 0;
                while cursor.next_element()? {
                    self.record(cursor, Location { record: Some(index), ..location })?;
                    index += 1;
                }
            }
            Kind::Null => drop(cursor.scalar()?),
            kind => {
                let range = cursor.skip_value()?;
                let message = format!("\"value\" is {}, not an array of records", kind.described());
                self.report(DiagnosticCode::NotScanHistory, message, &range, At { location: base, key: Some("value") });
            }
        }
        Ok(())
    }

    fn not_a_record(&mut self, cursor: &mut Cursor<'t>, location: Location<'_>) -> json::Result<()> {
        let kind = cursor.peek()?;
        let range = cursor.skip_value()?;
        let message = format!("the record is {}, not an object", kind.described());
        self.report(DiagnosticCode::InvalidRecord, message, &range, At { location, key: None });
        Ok(())
    }

    fn record(&mut self, cursor: &mut Cursor<'t>, location: Location<'_>) -> json::Result<()> {
        if cursor.peek()? != Kind::Object {
            return self.not_a_record(cursor, location);
        }
        let start = cursor.position();
        cursor.begin_object()?;
        let mut session = ScanSession::default();
        let parts = if self.sink.takes_parts() { Parts::Unknown { start } } else { Parts::Never };
        let mut state = RecordState { seen: 0, parts, later: None };
        while let Some(key) = cursor.next_key_unchecked()? {
            self.record_member(cursor, &mut session, key, &mut state, location)?;
        }
        if let Some(list) = state.later {
            // The list's place among the findings was counted among all of them.
            self.later_targets(&mut session, list, location, start, 0)?;
        }
        session.span = self.span(&(start..cursor.position()));
        self.sink.session(session);
        Ok(())
    }

    /// Types a [`LaterList`] of `session`, which starts at `start`, handing
    /// its parts on; its findings go where the list is among the record's,
    /// which start at `first`.
    fn later_targets(
        &mut self,
        session: &mut ScanSession<'t>,
        list: LaterList<'t>,
        location: Location<'_>,
        start: usize,
        first: usize,
    ) -> json::Result<()> {
        // Read once already, and checked then where the text is checked.
        let mut cursor = Cursor::new(self.text, list.range);
        if self.lenient() {
            cursor = cursor.lenient();
        }
        let before = self.diagnostics.len();
        let parts = Parts::Yes { start };
        let later = self.targets(&mut cursor, session, &list.key.decode(), list.key.written(), location, parts)?;
        debug_assert!(later.is_none(), "a list typed later is typed then");
        let found = self.diagnostics.len() - before;
        self.diagnostics[first + list.diagnostics..].rotate_right(found);
        Ok(())
    }

    /// Types one member of a record: its target list in parts where
    /// `state` allows, or into `state` to be typed when the record ends.
    fn record_member(
        &mut self,
        cursor: &mut Cursor<'t>,
        session: &mut ScanSession<'t>,
        written: Str<'t>,
        state: &mut RecordState<'t>,
        location: Location<'_>,
    ) -> json::Result<()> {
        let key = written.decode();
        let found = lookup(SESSION_KEYS, &key);
        key_read(cursor, written, found.and_then(|(_, exact)| exact), &mut state.seen)?;
        let Some((name, _)) = found else {
            return self.skip_extra(cursor, &mut session.extra, key);
        };
        if name == SessionKey::Targets {
            // The last list a record has is its list.
            let range = self.targets(cursor, session, &key, written.written(), location, state.parts)?;
            state.later = range.map(|range| LaterList { range, key: written, diagnostics: self.diagnostics.len() });
            return Ok(());
        }
        let field = read_value(cursor)?;
        let at = At { location, key: Some(&key) };
        match name {
            SessionKey::OrgId => session.org_id = self.text(&field, at),
            SessionKey::ScanDefinitionId => session.scan_definition_id = self.text(&field, at),
            SessionKey::SessionId => session.session_id = self.text(&field, at),
            SessionKey::ScannerId => session.scanner_id = self.text(&field, at),
            SessionKey::Status => session.status = self.status(&field, at),
            SessionKey::GeneralErrorMessage => session.general_error_message = self.text(&field, at),
            SessionKey::LastScanned => session.last_scanned = self.timestamp(&field, at),
            SessionKey::NumberOfTargets => session.number_of_targets = self.count(&field, at),
            SessionKey::NumberOfSuccessfullyScannedTargets => {
                session.number_of_successfully_scanned_targets = self.count(&field, at)
            }
            SessionKey::Targets => {}
        }
        Ok(())
    }

    /// Types the session's target list into `session.targets`, handing full
    /// parts on where `parts` allows. Returns the list's text instead when it
    /// is to be typed later (see [`LaterList`]), having skipped it.
    fn targets(
        &mut self,
        cursor: &mut Cursor<'t>,
        session: &mut ScanSession<'t>,
        key: &str,
        written: &'t str,
        location: Location<'_>,
        mut parts: Parts,
    ) -> json::Result<Option<Range<usize>>> {
        let element_at = |index| Location { targets: Some((key, index)), ..location };
        let diagnostics = self.diagnostics.len();
        match cursor.peek()? {
            Kind::Null => {
                cursor.scalar()?;
                session.targets = None;
            }
            Kind::Array => {
                let list = cursor.position();
                cursor.begin_array()?;
                let mut targets = Vec::new();
                let mut index = 0;
                while cursor.next_element()? {
                    self.target(cursor, element_at(index), &mut targets)?;
                    index += 1;
                    // Between elements of the list, one container inside the session.
                    if targets.len() >= TARGETS_PER_PART
                        && self.part_full(session, &mut targets, &mut parts, cursor.position(), 1)
                    {
                        while cursor.next_element()? {
                            cursor.skip_value()?;
                        }
                        self.diagnostics.truncate(diagnostics);
                        session.targets = None;
                        return Ok(Some(list..cursor.position()));
                    }
                }
                session.targets = Some(targets);
            }
            // One target written without its array.
            Kind::String => {
                let mut targets = Vec::with_capacity(1);
                self.target(cursor, element_at(0), &mut targets)?;
                session.targets = Some(targets);
            }
            // One target without its array, or the documented sample's run
            // of them, `{…},{…}`, which a lenient cursor lets pass.
            Kind::Object => {
                let start = cursor.position();
                let mut targets = Vec::with_capacity(1);
                self.target(cursor, element_at(0), &mut targets)?;
                let mut objects = 1;
                while cursor.run_follows() {
                    if objects == 1 {
                        cursor.open_run(start);
                        // As many as a target array starts with: growing from one target copies them.
                        targets.reserve(3);
                    }
                    self.target(cursor, element_at(objects), &mut targets)?;
                    objects += 1;
                    // Between objects of the run, which stand where the session's members do.
                    if targets.len() >= TARGETS_PER_PART
                        && self.part_full(session, &mut targets, &mut parts, cursor.position(), 0)
                    {
                        while cursor.run_follows() {
                            cursor.skip_value()?;
                            objects += 1;
                        }
                        cursor.close_run(start, objects, written);
                        self.diagnostics.truncate(diagnostics);
                        session.targets = None;
                        return Ok(Some(start..cursor.position()));
                    }
                }
                if objects > 1 {
                    cursor.close_run(start, objects, written);
                }
                session.targets = Some(targets);
            }
            kind => {
                let range = cursor.skip_value()?;
                let message = format!("the target list is {}, not an array", kind.described());
                self.report(DiagnosticCode::InvalidValue, message, &range, At { location, key: Some(key) });
                session.targets = None;
            }
        }
        Ok(None)
    }

    /// With a full part of `session`'s list in `targets`: hands them on as a
    /// part where `parts` allows; `at` is where the cursor is, `depth`
    /// containers inside the session's object. Returns true when a member
    /// follows the list and it is to be typed later instead (its targets and
    /// findings so far dropped by the caller).
    fn part_full(
        &mut self,
        session: &mut ScanSession<'t>,
        targets: &mut Vec<ScannedTarget<'t>>,
        parts: &mut Parts,
        at: usize,
        depth: usize,
    ) -> bool {
        if let Parts::Unknown { start } = *parts {
            // Found once per session: a member after the list could be a
            // field that every part must have.
            if json::member_follows(self.text.as_bytes(), at, depth) != Some(false) {
                *parts = Parts::Never;
                return true;
            }
            *parts = Parts::Yes { start };
        }
        let Parts::Yes { start } = *parts else {
            return false;
        };
        let targets = mem::replace(targets, Vec::with_capacity(TARGETS_PER_PART));
        // Any list the session had under its other name is replaced by this one.
        session.targets = None;
        let first_target = session.first_target;
        session.first_target += targets.len();
        let span = self.span(&(start..at));
        let part = ScanSession { targets: Some(targets), first_target, more_targets: true, span, ..session.clone() };
        self.sink.session(part);
        false
    }

    /// Types one target onto the end of `targets`; one that is not a target
    /// is reported and left out.
    fn target(
        &mut self,
        cursor: &mut Cursor<'t>,
        location: Location<'_>,
        targets: &mut Vec<ScannedTarget<'t>>,
    ) -> json::Result<()> {
        let kind = cursor.peek()?;
        let start = cursor.position();
        match kind {
            Kind::Object => {
                cursor.begin_object()?;
                // Built where it will stay: a target is too large to move cheaply.
                targets.push(ScannedTarget::default());
                let target = targets.last_mut().expect("a target was just pushed");
                let mut seen = 0;
                while let Some(written) = cursor.next_key_unchecked()? {
                    let key = written.decode();
                    let found = lookup(TARGET_KEYS, &key);
                    key_read(cursor, written, found.and_then(|(_, exact)| exact), &mut seen)?;
                    match found {
                        Some((name, _)) => {
                            let field = read_value(cursor)?;
                            self.target_field(target, name, &field, &key, location, |text| text);
                        }
                        None => self.skip_extra(cursor, &mut target.extra, key)?,
                    }
                }
                target.span = self.span(&(start..cursor.position()));
            }
            Kind::String => {
                let text = cursor.string()?.decode();
                targets.extend(self.powershell_target(&text, start..cursor.position(), location));
            }
            _ => {
                let range = cursor.skip_value()?;
                let message = format!("the target is {}, not an object", kind.described());
                self.report(DiagnosticCode::InvalidTarget, message, &range, At { location, key: None });
            }
        }
        Ok(())
    }

    /// A target that PowerShell flattened to a `@{…}` string, read back.
    fn powershell_target(
        &mut self,
        text: &str,
        range: Range<usize>,
        location: Location<'_>,
    ) -> Option<ScannedTarget<'t>> {
        let Some(pairs) = hashtable_pairs(text) else {
            let message = "the target is a string, not an object";
            self.report(DiagnosticCode::InvalidTarget, message, &range, At { location, key: None });
            return None;
        };
        let span = self.span(&range);
        self.diagnostics.push(
            Diagnostic::new(
                DiagnosticCode::PowershellDepth,
                "the target was flattened to a @{…} string by ConvertTo-Json; read it back",
                span,
                location.pointer(None),
            )
            .with_hint("export with ConvertTo-Json -Depth 5 (or more) to keep targets as objects"),
        );
        let mut target = ScannedTarget { span, ..ScannedTarget::default() };
        for (key, value) in pairs {
            match lookup(TARGET_KEYS, key) {
                Some((name, _)) => {
                    let field = Field { value: Value::Text(value), span: range.clone() };
                    let own = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
                    self.target_field(&mut target, name, &field, key, location, own);
                }
                None if self.sink.keeps_extra() => {
                    let json = serde_json::to_string(value).expect("a string serializes");
                    target.extra.push((key.to_owned(), RawJson::new(json)));
                }
                None => {}
            }
        }
        Some(target)
    }

    /// Types one field of a target. `keep` makes text read from `field` live
    /// as long as the target: it borrows JSON text, and copies PowerShell text.
    fn target_field<'v>(
        &mut self,
        target: &mut ScannedTarget<'t>,
        name: TargetKey,
        field: &Field<'v>,
        key: &str,
        location: Location<'_>,
        keep: impl Fn(Cow<'v, str>) -> Cow<'t, str>,
    ) where
        't: 'v,
    {
        let at = At { location, key: Some(key) };
        match name {
            TargetKey::Ip => target.ip = self.address(field, at),
            TargetKey::Hostname => target.hostname = self.text(field, at).map(keep),
            TargetKey::DeviceDescription => target.device_description = self.text(field, at).map(keep),
            TargetKey::ErrorMessage => target.error_message = self.text(field, at).map(keep),
            TargetKey::Status => target.status = self.status(field, at),
            TargetKey::Duration => target.duration = self.duration(field, at),
        }
    }

    // ----- values --------------------------------------------------------------

    /// The string a field holds. Numbers and booleans keep their JSON text. A
    /// plural-named key may hold an array; its first string is taken.
    fn text<'v>(&mut self, field: &Field<'v>, at: At<'_>) -> Option<Cow<'v, str>>
    where
        't: 'v,
    {
        // Arrays in arrays are followed to their first string by a loop: nesting
        // is bounded only by the depth limit. Findings point at the field.
        let (mut value, mut span) = (field.value, field.span.clone());
        loop {
            return match value {
                Value::Text(text) | Value::Number(text) | Value::Bool(text) => Some(Cow::Borrowed(text)),
                Value::String(text) => Some(text.decode()),
                Value::Null => None,
                Value::Container(Kind::Array) => {
                    let elements = self.elements(&span);
                    if elements.len() > 1 {
                        let message = format!("{} values given where one belongs; kept the first", elements.len());
                        self.report(DiagnosticCode::SeveralValues, message, &field.span, at);
                    }
                    let first = elements.into_iter().next()?;
                    (value, span) = (first.value, first.span);
                    continue;
                }
                Value::Container(_) => {
                    let message = "expected a string, found an object";
                    self.report(DiagnosticCode::InvalidValue, message, &field.span, at);
                    None
                }
            };
        }
    }

    /// The elements of the array at `range`, read again: only plural-named
    /// fields holding arrays take this path.
    fn elements(&self, range: &Range<usize>) -> Vec<Field<'t>> {
        let mut cursor = Cursor::new(self.text, range.clone());
        let mut elements = Vec::new();
        let mut read = || -> json::Result<()> {
            cursor.peek()?;
            cursor.begin_array()?;
            while cursor.next_element()? {
                elements.push(read_value(&mut cursor)?);
            }
            Ok(())
        };
        // The text is strict JSON; should reading stop early, the elements read so far stand.
        let _ = read();
        elements
    }

    /// The string of a field that must be a string or null, or a diagnostic.
    fn scalar_text<'v>(&mut self, field: &Field<'v>, at: At<'_>) -> Option<Cow<'v, str>> {
        match field.value {
            Value::Text(text) => Some(Cow::Borrowed(text)),
            Value::String(text) => Some(text.decode()),
            Value::Null => None,
            other => {
                let message = format!("expected a string, found {}", other.described());
                self.report(DiagnosticCode::InvalidValue, message, &field.span, at);
                None
            }
        }
    }

    fn status(&mut self, field: &Field<'_>, at: At<'_>) -> Option<ScanStatus> {
        let text = self.scalar_text(field, at)?;
        (!text.is_empty()).then(|| ScanStatus::parse(&text))
    }

    fn count(&mut self, field: &Field<'_>, at: At<'_>) -> Option<i32> {
        let (digits, quoted) = match field.value {
            Value::Null => return None,
            Value::Text(text) => (Cow::Borrowed(text), false),
            Value::String(text) => (text.decode(), true),
            Value::Number(text) | Value::Bool(text) => (Cow::Borrowed(text), false),
            Value::Container(_) => (Cow::Borrowed(&self.text[field.span.clone()]), false),
        };
        match digits.trim().parse::<i32>() {
            Ok(count) => {
                if quoted {
                    let message = format!("the count {digits:?} is written as a string");
                    self.report(DiagnosticCode::NumberAsString, message, &field.span, at);
                }
                Some(count)
            }
            Err(_) => {
                let message = format!("expected a 32-bit integer count, found {digits}");
                self.report(DiagnosticCode::InvalidValue, message, &field.span, at);
                None
            }
        }
    }

    fn timestamp(&mut self, field: &Field<'_>, at: At<'_>) -> Option<Timestamp> {
        self.time_value(field, at, Timestamp::parse)
    }

    fn duration(&mut self, field: &Field<'_>, at: At<'_>) -> Option<ScanDuration> {
        self.time_value(field, at, ScanDuration::parse)
    }

    /// A string field read by `parse`, with its notes or its error reported.
    fn time_value<T>(&mut self, field: &Field<'_>, at: At<'_>, parse: fn(&str) -> TimeParse<T>) -> Option<T> {
        let text = self.scalar_text(field, at)?;
        if text.is_empty() {
            return None;
        }
        match parse(&text) {
            Ok((parsed, notes)) => {
                self.time_notes(&notes, &field.span, at);
                Some(parsed)
            }
            Err(error) => {
                self.report(DiagnosticCode::InvalidValue, error.to_string(), &field.span, at);
                None
            }
        }
    }

    fn time_notes(&mut self, notes: &[TimeNote], range: &Range<usize>, at: At<'_>) {
        for note in notes {
            let code = match note {
                TimeNote::MissingZone => DiagnosticCode::MissingZone,
                TimeNote::FractionTruncated { .. } => DiagnosticCode::FractionTruncated,
            };
            self.report(code, note.to_string(), range, at);
        }
    }

    fn address(&mut self, field: &Field<'_>, at: At<'_>) -> Option<TargetAddress> {
        let text = self.scalar_text(field, at)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return None;
        }
        let bare = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(trimmed);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Some(TargetAddress::Ip(ip)),
            Err(_) => {
                let message = format!("{trimmed:?} is not an IPv4 or IPv6 address; kept as text");
                self.report(DiagnosticCode::IpKeptAsText, message, &field.span, at);
                Some(TargetAddress::Unparsed(text.into_owned()))
            }
        }
    }
}
