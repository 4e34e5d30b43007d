//! Typing: documents of repaired text to envelopes, sessions and targets.
//!
//! Objects are read as lists of raw members, so every value keeps its place
//! in the text, and a diagnostic can point at it. Nothing builds a tree.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::value::RawValue;

use super::powershell::hashtable_pairs;
use super::time::TimeParse;
use super::{Envelope, ScanDuration, ScanSession, ScanStatus, ScannedTarget, TargetAddress, TimeNote, Timestamp};
use crate::diagnostic::{Diagnostic, DiagnosticCode};
use crate::json::{self, Members};
use crate::repair::Repaired;
use crate::span::Span;

/// The typed content of one input, and what typing found.
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// One envelope per document that holds scan history, in input order.
    pub envelopes: Vec<Envelope>,
    /// Findings, in the order they were made (document by document).
    pub diagnostics: Vec<Diagnostic>,
}

impl Records {
    /// Every session of every envelope, in input order.
    pub fn sessions(&self) -> impl Iterator<Item = &ScanSession> {
        self.envelopes.iter().flat_map(|e| &e.sessions)
    }
}

/// Types every document of `repaired`, keeping every record.
///
/// Each document may be an OData envelope (`{"value": [...]}`), a bare array
/// of records, or one record (as NDJSON dumps hold). A saved API error body
/// gives an [`DiagnosticCode::ApiError`] and no records.
pub fn decode_records(repaired: &Repaired<'_>) -> Records {
    let mut collect = Collect { envelopes: Vec::new(), sessions: Vec::new() };
    let diagnostics = decode_with(repaired, &mut collect);
    Records { envelopes: collect.envelopes, diagnostics }
}

/// Types every document of `repaired` like [`decode_records`], handing each
/// session to `on_session` as soon as it is typed instead of keeping it, so
/// memory does not grow with the number of records. Returns the diagnostics.
pub fn for_each_session(repaired: &Repaired<'_>, on_session: impl FnMut(ScanSession)) -> Vec<Diagnostic> {
    decode_with(repaired, &mut Stream(on_session))
}

fn decode_with(repaired: &Repaired<'_>, sink: &mut dyn Sink) -> Vec<Diagnostic> {
    let mut decoder = Decoder { repaired, sink, diagnostics: Vec::new() };
    for range in repaired.document_ranges() {
        decoder.document(&repaired.text()[range.clone()]);
    }
    decoder.diagnostics
}

/// Where typed records go, in input order.
trait Sink {
    fn session(&mut self, session: ScanSession);
    /// An envelope ends; the sessions since the last one were its own.
    fn envelope(&mut self, context: Option<String>, next_link: Option<String>, span: Span);
}

struct Collect {
    envelopes: Vec<Envelope>,
    sessions: Vec<ScanSession>,
}

impl Sink for Collect {
    fn session(&mut self, session: ScanSession) {
        self.sessions.push(session);
    }

    fn envelope(&mut self, context: Option<String>, next_link: Option<String>, span: Span) {
        let sessions = std::mem::take(&mut self.sessions);
        self.envelopes.push(Envelope { context, next_link, sessions, span });
    }
}

struct Stream<F>(F);

impl<F: FnMut(ScanSession)> Sink for Stream<F> {
    fn session(&mut self, session: ScanSession) {
        (self.0)(session);
    }

    fn envelope(&mut self, _: Option<String>, _: Option<String>, _: Span) {}
}

struct Decoder<'r, 'a, 's> {
    repaired: &'r Repaired<'a>,
    sink: &'s mut dyn Sink,
    diagnostics: Vec<Diagnostic>,
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

/// A field's value, from JSON or from a PowerShell `@{…}` string.
enum Field<'a> {
    Json(&'a RawValue),
    Text(&'a str),
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

/// Keys, lowercase; both the documented sample's and the live metadata's spellings.
const SESSION_KEYS: &[(&str, SessionKey)] = &[
    ("orgid", SessionKey::OrgId),
    ("scandefinitionid", SessionKey::ScanDefinitionId),
    ("scandefinitionids", SessionKey::ScanDefinitionId),
    ("sessionid", SessionKey::SessionId),
    ("sessionids", SessionKey::SessionId),
    ("scannerid", SessionKey::ScannerId),
    ("scanstatus", SessionKey::Status),
    ("generalerrormessage", SessionKey::GeneralErrorMessage),
    ("lastscanned", SessionKey::LastScanned),
    ("numberoftargets", SessionKey::NumberOfTargets),
    ("numberofsuccessfullyscannedtargets", SessionKey::NumberOfSuccessfullyScannedTargets),
    ("scannedtargets", SessionKey::Targets),
    ("listscannedtargets", SessionKey::Targets),
];

const TARGET_KEYS: &[(&str, TargetKey)] = &[
    ("ip", TargetKey::Ip),
    ("hostname", TargetKey::Hostname),
    ("scanneddevicedescription", TargetKey::DeviceDescription),
    ("errormessage", TargetKey::ErrorMessage),
    ("scanstatus", TargetKey::Status),
    ("scanduration", TargetKey::Duration),
];

fn lookup<K: Copy>(table: &[(&str, K)], key: &str) -> Option<K> {
    table.iter().find(|(name, _)| key.eq_ignore_ascii_case(name)).map(|&(_, k)| k)
}

/// What kind of JSON value `text` is, for messages.
fn kind_of(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

impl<'r> Decoder<'r, '_, '_> {
    /// The original input span of `raw`, which borrows from the repaired text.
    fn span(&self, raw: &str) -> Span {
        let text = self.repaired.text();
        let start = raw.as_ptr() as usize - text.as_ptr() as usize;
        self.repaired.input_span(Span::new(start, start + raw.len()))
    }

    fn report(&mut self, code: DiagnosticCode, message: impl Into<String>, raw: &str, at: At<'_>) {
        let span = self.span(raw);
        self.diagnostics.push(Diagnostic::new(code, message, span, at.pointer()));
    }

    /// Types one document. Objects and arrays are read straight from the
    /// text: a raw value of the whole document would cost one more pass.
    fn document(&mut self, text: &'r str) {
        let span = self.span(text);
        let unreadable = |error: serde_json::Error| format!("the document cannot be read: {error}");
        match text.as_bytes()[0] {
            b'{' => match serde_json::from_str::<Members<'r>>(text) {
                Ok(Members(members)) => self.object_document(members, text, span, Location::default()),
                Err(error) => self.report(DiagnosticCode::NotScanHistory, unreadable(error), text, At::ROOT),
            },
            b'[' => match serde_json::from_str::<Vec<&'r RawValue>>(text) {
                Ok(elements) => self.array_document(elements, span),
                Err(error) => self.report(DiagnosticCode::NotScanHistory, unreadable(error), text, At::ROOT),
            },
            _ => {
                let message = format!("the document is {}, not scan history", kind_of(text));
                self.report(DiagnosticCode::NotScanHistory, message, text, At::ROOT);
            }
        }
    }

    /// A root array: of records, or of whole responses (pages saved together).
    fn array_document(&mut self, elements: Vec<&'r RawValue>, span: Span) {
        let mut records_pending = false;
        for (i, element) in elements.into_iter().enumerate() {
            let members = json::members(element);
            let is_response = members.as_ref().is_some_and(|Members(m)| {
                m.iter().any(|(key, _)| key.eq_ignore_ascii_case("value") || key.eq_ignore_ascii_case("error"))
            });
            match members {
                Some(Members(members)) if is_response => {
                    if std::mem::take(&mut records_pending) {
                        self.sink.envelope(None, None, span);
                    }
                    let page = Location { page: Some(i), ..Location::default() };
                    self.object_document(members, element.get(), self.span(element.get()), page);
                }
                _ => {
                    let location = Location { record: Some(i), ..Location::default() };
                    if let Some(session) = self.record(element, location) {
                        self.sink.session(session);
                        records_pending = true;
                    }
                }
            }
        }
        if records_pending {
            self.sink.envelope(None, None, span);
        }
    }

    /// An object document: an envelope, an API error body, or one record.
    fn object_document(
        &mut self,
        members: Vec<(Cow<'r, str>, &'r RawValue)>,
        text: &'r str,
        span: Span,
        base: Location<'_>,
    ) {
        let find = |name: &str| members.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
        let value = find("value");
        if let (Some(error), None) = (find("error"), value) {
            return self.api_error(error, base);
        }
        let Some(value) = value else {
            // A record on its own, as in an NDJSON dump of records.
            let session = self.record_members(members, text, base);
            self.sink.session(session);
            self.sink.envelope(None, None, span);
            return;
        };
        let context = find("@odata.context").and_then(json::string).map(Cow::into_owned);
        let next_link =
            find("@odata.nextLink").or_else(|| find("odata.nextLink")).and_then(json::string).map(Cow::into_owned);
        let location = Location { under_value: true, ..base };
        if value.get().starts_with('[') {
            let elements: Vec<&RawValue> = serde_json::from_str(value.get()).expect("an array");
            self.records_of(elements, location);
        } else if !is_null(value) {
            let message = format!("\"value\" is {}, not an array of records", kind_of(value.get()));
            self.report(
                DiagnosticCode::NotScanHistory,
                message,
                value.get(),
                At { location: base, key: Some("value") },
            );
        }
        self.sink.envelope(context, next_link, span);
    }

    fn api_error(&mut self, error: &RawValue, base: Location<'_>) {
        let field = |name: &str| {
            json::members(error).and_then(|Members(members)| {
                members
                    .into_iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| json::string(v).map(Cow::into_owned))
            })
        };
        let code = field("code").unwrap_or_else(|| "unknown".to_owned());
        let message = field("message").unwrap_or_default();
        let text = format!("the document is an API error response, not scan history: {code}: {message}");
        self.report(DiagnosticCode::ApiError, text, error.get(), At { location: base, key: Some("error") });
    }

    fn records_of(&mut self, elements: Vec<&'r RawValue>, location: Location<'_>) {
        for (i, element) in elements.into_iter().enumerate() {
            if let Some(session) = self.record(element, Location { record: Some(i), ..location }) {
                self.sink.session(session);
            }
        }
    }

    fn record(&mut self, raw: &'r RawValue, location: Location<'_>) -> Option<ScanSession> {
        let Some(Members(members)) = json::members(raw) else {
            let message = format!("the record is {}, not an object", kind_of(raw.get()));
            self.report(DiagnosticCode::InvalidRecord, message, raw.get(), At { location, key: None });
            return None;
        };
        Some(self.record_members(members, raw.get(), location))
    }

    /// A record from its members; `text` is the record's JSON text.
    fn record_members(
        &mut self,
        members: Vec<(Cow<'r, str>, &'r RawValue)>,
        text: &str,
        location: Location<'_>,
    ) -> ScanSession {
        let mut session = ScanSession { span: self.span(text), ..ScanSession::default() };
        for (key, value) in members {
            let Some(field) = lookup(SESSION_KEYS, &key) else {
                session.extra.push((key.into_owned(), value.to_owned()));
                continue;
            };
            let at = At { location, key: Some(&key) };
            let json = Field::Json(value);
            match field {
                SessionKey::OrgId => session.org_id = self.text(&json, value, at),
                SessionKey::ScanDefinitionId => session.scan_definition_id = self.text(&json, value, at),
                SessionKey::SessionId => session.session_id = self.text(&json, value, at),
                SessionKey::ScannerId => session.scanner_id = self.text(&json, value, at),
                SessionKey::Status => session.status = self.status(&json, value, at),
                SessionKey::GeneralErrorMessage => session.general_error_message = self.text(&json, value, at),
                SessionKey::LastScanned => session.last_scanned = self.timestamp(&json, value, at),
                SessionKey::NumberOfTargets => session.number_of_targets = self.count(&json, value, at),
                SessionKey::NumberOfSuccessfullyScannedTargets => {
                    session.number_of_successfully_scanned_targets = self.count(&json, value, at)
                }
                SessionKey::Targets => session.targets = self.targets(value, &key, location),
            }
        }
        session
    }

    fn targets(&mut self, raw: &'r RawValue, key: &str, location: Location<'_>) -> Option<Vec<ScannedTarget>> {
        let element_at = |i| Location { targets: Some((key, i)), ..location };
        match raw.get().as_bytes()[0] {
            b'n' => None,
            b'[' => {
                let elements: Vec<&RawValue> = serde_json::from_str(raw.get()).expect("an array");
                let targets = elements.into_iter().enumerate().filter_map(|(i, e)| self.target(e, element_at(i)));
                Some(targets.collect())
            }
            // One target written without its array.
            b'{' | b'"' => Some(self.target(raw, element_at(0)).into_iter().collect()),
            _ => {
                let message = format!("the target list is {}, not an array", kind_of(raw.get()));
                self.report(DiagnosticCode::InvalidValue, message, raw.get(), At { location, key: Some(key) });
                None
            }
        }
    }

    fn target(&mut self, raw: &'r RawValue, location: Location<'_>) -> Option<ScannedTarget> {
        let mut target = ScannedTarget { span: self.span(raw.get()), ..ScannedTarget::default() };
        if let Some(Members(members)) = json::members(raw) {
            for (key, value) in members {
                match lookup(TARGET_KEYS, &key) {
                    Some(field) => self.target_field(&mut target, field, &Field::Json(value), value, &key, location),
                    None => target.extra.push((key.into_owned(), value.to_owned())),
                }
            }
            return Some(target);
        }
        let text = json::string(raw);
        let Some(pairs) = text.as_deref().and_then(hashtable_pairs) else {
            let message = format!("the target is {}, not an object", kind_of(raw.get()));
            self.report(DiagnosticCode::InvalidTarget, message, raw.get(), At { location, key: None });
            return None;
        };
        let span = self.span(raw.get());
        self.diagnostics.push(
            Diagnostic::new(
                DiagnosticCode::PowershellDepth,
                "the target was flattened to a @{…} string by ConvertTo-Json; read it back",
                span,
                location.pointer(None),
            )
            .with_hint("export with ConvertTo-Json -Depth 5 (or more) to keep targets as objects"),
        );
        for (key, value) in pairs {
            match lookup(TARGET_KEYS, key) {
                Some(field) => self.target_field(&mut target, field, &Field::Text(value), raw, key, location),
                None => {
                    let json = serde_json::to_string(value).expect("a string serializes");
                    target.extra.push((key.to_owned(), RawValue::from_string(json).expect("a JSON string")))
                }
            }
        }
        Some(target)
    }

    fn target_field(
        &mut self,
        target: &mut ScannedTarget,
        field: TargetKey,
        value: &Field<'_>,
        raw: &RawValue,
        key: &str,
        location: Location<'_>,
    ) {
        let at = At { location, key: Some(key) };
        match field {
            TargetKey::Ip => target.ip = self.address(value, raw, at),
            TargetKey::Hostname => target.hostname = self.text(value, raw, at),
            TargetKey::DeviceDescription => target.device_description = self.text(value, raw, at),
            TargetKey::ErrorMessage => target.error_message = self.text(value, raw, at),
            TargetKey::Status => target.status = self.status(value, raw, at),
            TargetKey::Duration => target.duration = self.duration(value, raw, at),
        }
    }

    // ----- values --------------------------------------------------------------

    /// The string a field holds. Numbers and booleans keep their JSON text. A
    /// plural-named key may hold an array; its first string is taken.
    fn text(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<String> {
        let raw_json = match value {
            Field::Text(text) => return Some((*text).to_owned()),
            Field::Json(raw_json) => *raw_json,
        };
        match raw_json.get().as_bytes()[0] {
            b'"' => json::string(raw_json).map(Cow::into_owned),
            b'n' => None,
            b'[' => {
                let elements: Vec<&RawValue> = serde_json::from_str(raw_json.get()).expect("an array");
                if elements.len() > 1 {
                    let message = format!("{} values given where one belongs; kept the first", elements.len());
                    self.report(DiagnosticCode::SeveralValues, message, raw.get(), at);
                }
                elements.first().and_then(|first| self.text(&Field::Json(first), raw, at))
            }
            b'{' => {
                self.report(DiagnosticCode::InvalidValue, "expected a string, found an object", raw.get(), at);
                None
            }
            _ => Some(raw_json.get().to_owned()),
        }
    }

    /// The string of a field that must be a string or null, or a diagnostic.
    fn scalar_text<'v>(&mut self, value: &'v Field<'_>, raw: &RawValue, at: At<'_>) -> Option<Cow<'v, str>> {
        match value {
            Field::Text(text) => Some(Cow::Borrowed(*text)),
            Field::Json(raw_json) if is_null(raw_json) => None,
            Field::Json(raw_json) => {
                let text = json::string(raw_json);
                if text.is_none() {
                    let message = format!("expected a string, found {}", kind_of(raw_json.get()));
                    self.report(DiagnosticCode::InvalidValue, message, raw.get(), at);
                }
                text
            }
        }
    }

    fn status(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<ScanStatus> {
        let text = self.scalar_text(value, raw, at)?;
        (!text.is_empty()).then(|| ScanStatus::parse(&text))
    }

    fn count(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<i32> {
        let (digits, quoted) = match value {
            Field::Text(text) => (Cow::Borrowed(*text), true),
            Field::Json(raw_json) if is_null(raw_json) => return None,
            Field::Json(raw_json) => match json::string(raw_json) {
                Some(text) => (text, true),
                None => (Cow::Borrowed(raw_json.get()), false),
            },
        };
        match digits.trim().parse::<i32>() {
            Ok(count) => {
                if quoted && matches!(value, Field::Json(_)) {
                    let message = format!("the count {digits:?} is written as a string");
                    self.report(DiagnosticCode::NumberAsString, message, raw.get(), at);
                }
                Some(count)
            }
            Err(_) => {
                let message = format!("expected a 32-bit integer count, found {digits}");
                self.report(DiagnosticCode::InvalidValue, message, raw.get(), at);
                None
            }
        }
    }

    fn timestamp(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<Timestamp> {
        self.time_value(value, raw, at, Timestamp::parse)
    }

    fn duration(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<ScanDuration> {
        self.time_value(value, raw, at, ScanDuration::parse)
    }

    /// A string field read by `parse`, with its notes or its error reported.
    fn time_value<T>(
        &mut self,
        value: &Field<'_>,
        raw: &RawValue,
        at: At<'_>,
        parse: fn(&str) -> TimeParse<T>,
    ) -> Option<T> {
        let text = self.scalar_text(value, raw, at)?;
        if text.is_empty() {
            return None;
        }
        match parse(&text) {
            Ok((parsed, notes)) => {
                self.time_notes(&notes, raw, at);
                Some(parsed)
            }
            Err(error) => {
                self.report(DiagnosticCode::InvalidValue, error.to_string(), raw.get(), at);
                None
            }
        }
    }

    fn time_notes(&mut self, notes: &[TimeNote], raw: &RawValue, at: At<'_>) {
        for note in notes {
            let code = match note {
                TimeNote::MissingZone => DiagnosticCode::MissingZone,
                TimeNote::FractionTruncated { .. } => DiagnosticCode::FractionTruncated,
            };
            self.report(code, note.to_string(), raw.get(), at);
        }
    }

    fn address(&mut self, value: &Field<'_>, raw: &RawValue, at: At<'_>) -> Option<TargetAddress> {
        let text = self.scalar_text(value, raw, at)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return None;
        }
        let bare = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(trimmed);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Some(TargetAddress::Ip(ip)),
            Err(_) => {
                let message = format!("{trimmed:?} is not an IPv4 or IPv6 address; kept as text");
                self.report(DiagnosticCode::IpKeptAsText, message, raw.get(), at);
                Some(TargetAddress::Unparsed(text.into_owned()))
            }
        }
    }
}
