//! Stage 3: strict JSON to typed scan-history records.
//!
//! Keys match case-insensitively, with the aliases of the documented sample
//! and of the live OData metadata. Unknown keys are kept. A value that cannot
//! be typed leaves its field empty and becomes a [`Diagnostic`](crate::Diagnostic); the other
//! records and fields still come out.

mod decode;
mod powershell;
pub mod time;

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

pub(crate) use decode::{decode_checked, decode_text, for_each_checked, for_each_in_text};
pub use decode::{decode_records, for_each_session, Records};
pub use time::{DurationFormat, ScanDuration, TimeNote, Timestamp};

use crate::span::Span;

/// One response document: an OData envelope `{"@odata.context", "value": [...]}`,
/// or a bare array or record standing for one.
#[derive(Clone, Debug, Default)]
pub struct Envelope<'a> {
    /// `@odata.context`, opaque.
    pub context: Option<String>,
    /// `@odata.nextLink`: present when more pages follow.
    pub next_link: Option<String>,
    /// The records of `value`, in order.
    pub sessions: Vec<ScanSession<'a>>,
    /// The document's bytes in the original input.
    pub span: Span,
}

/// One scan-history record: a scan session, or a by-definition entry (which
/// has no targets).
///
/// Text fields borrow from the repaired text when they hold no escapes, as a
/// serde `Cow<str>` field would; [`ScanSession::into_owned`] detaches them.
#[derive(Clone, Debug, Default)]
pub struct ScanSession<'a> {
    /// `orgId`: the tenant.
    pub org_id: Option<Cow<'a, str>>,
    /// `scanDefinitionId`, or `ScanDefinitionIds` in the documented sample.
    pub scan_definition_id: Option<Cow<'a, str>>,
    /// `sessionId`, or `SessionIds` in the documented sample.
    pub session_id: Option<Cow<'a, str>>,
    /// `scannerId`.
    pub scanner_id: Option<Cow<'a, str>>,
    /// `scanStatus`.
    pub status: Option<ScanStatus>,
    /// `generalErrorMessage`.
    pub general_error_message: Option<Cow<'a, str>>,
    /// `LastScanned`.
    pub last_scanned: Option<Timestamp>,
    /// `numberOfTargets`.
    pub number_of_targets: Option<i32>,
    /// `numberOfSuccessfullyScannedTargets`.
    pub number_of_successfully_scanned_targets: Option<i32>,
    /// `scannedTargets`, or `ListScannedTargets`; `None` when the record has no target list.
    pub targets: Option<Vec<ScannedTarget<'a>>>,
    /// Keys scanhist does not know, in input order, with their values as
    /// strict JSON text (kept whole, at any depth).
    pub extra: Vec<(String, RawJson)>,
    /// The record's bytes in the original input.
    pub span: Span,
}

/// One device a session scanned. Text fields borrow as in [`ScanSession`].
#[derive(Clone, Debug, Default)]
pub struct ScannedTarget<'a> {
    /// `Ip`.
    pub ip: Option<TargetAddress>,
    /// `Hostname`.
    pub hostname: Option<Cow<'a, str>>,
    /// `ScannedDeviceDescription`.
    pub device_description: Option<Cow<'a, str>>,
    /// `ErrorMessage`.
    pub error_message: Option<Cow<'a, str>>,
    /// `ScanStatus`.
    pub status: Option<ScanStatus>,
    /// `ScanDuration`.
    pub duration: Option<ScanDuration>,
    /// Keys scanhist does not know, in input order, with their values as
    /// strict JSON text (kept whole, at any depth).
    pub extra: Vec<(String, RawJson)>,
    /// The target's bytes in the original input.
    pub span: Span,
}

impl Envelope<'_> {
    /// The same envelope, owning all its text.
    pub fn into_owned(self) -> Envelope<'static> {
        Envelope {
            context: self.context,
            next_link: self.next_link,
            sessions: self.sessions.into_iter().map(ScanSession::into_owned).collect(),
            span: self.span,
        }
    }
}

fn owned(text: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    text.map(|text| Cow::Owned(text.into_owned()))
}

impl ScanSession<'_> {
    /// The same session, owning all its text.
    pub fn into_owned(self) -> ScanSession<'static> {
        ScanSession {
            org_id: owned(self.org_id),
            scan_definition_id: owned(self.scan_definition_id),
            session_id: owned(self.session_id),
            scanner_id: owned(self.scanner_id),
            status: self.status,
            general_error_message: owned(self.general_error_message),
            last_scanned: self.last_scanned,
            number_of_targets: self.number_of_targets,
            number_of_successfully_scanned_targets: self.number_of_successfully_scanned_targets,
            targets: self.targets.map(|targets| targets.into_iter().map(ScannedTarget::into_owned).collect()),
            extra: self.extra,
            span: self.span,
        }
    }
}

impl ScannedTarget<'_> {
    /// The same target, owning all its text.
    pub fn into_owned(self) -> ScannedTarget<'static> {
        ScannedTarget {
            ip: self.ip,
            hostname: owned(self.hostname),
            device_description: owned(self.device_description),
            error_message: owned(self.error_message),
            status: self.status,
            duration: self.duration,
            extra: self.extra,
            span: self.span,
        }
    }
}

/// A JSON value kept whole, as its strict JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Strict JSON text; the caller vouches for it.
    pub(crate) fn new(json: impl Into<Box<str>>) -> Self {
        RawJson(json.into())
    }

    /// The value's JSON text, as written in the repaired input.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A target's address: an IP address, or the text given when it is not one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetAddress {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Text that does not parse as an address, kept as written.
    Unparsed(String),
}

impl fmt::Display for TargetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetAddress::Ip(ip) => ip.fmt(f),
            TargetAddress::Unparsed(text) => f.write_str(text),
        }
    }
}

/// A scan status. The API's metadata names Success, PartialSuccess and
/// Failure; saved responses also carry Fail and "Partial Success".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScanStatus {
    /// `Success`.
    Success,
    /// `PartialSuccess`, also written `Partial Success`.
    PartialSuccess,
    /// `Fail`.
    Fail,
    /// `Failure`.
    Failure,
    /// Any other text, kept verbatim.
    Other(String),
}

impl ScanStatus {
    /// Reads a status, ignoring case, spaces, `_` and `-` between words.
    pub fn parse(text: &str) -> ScanStatus {
        let known = [ScanStatus::Success, ScanStatus::PartialSuccess, ScanStatus::Fail, ScanStatus::Failure];
        // The API's own spellings, which nearly every status has, match as they are.
        if let Some(status) = known.iter().find(|status| status.as_str() == text) {
            return status.clone();
        }
        let folded = || text.bytes().filter(|b| !matches!(b, b' ' | b'_' | b'-')).map(|b| b.to_ascii_lowercase());
        known
            .into_iter()
            .find(|status| folded().eq(status.as_str().bytes().map(|b| b.to_ascii_lowercase())))
            .unwrap_or_else(|| ScanStatus::Other(text.to_owned()))
    }

    /// The canonical spelling, or the text as written for [`ScanStatus::Other`].
    pub fn as_str(&self) -> &str {
        match self {
            ScanStatus::Success => "Success",
            ScanStatus::PartialSuccess => "PartialSuccess",
            ScanStatus::Fail => "Fail",
            ScanStatus::Failure => "Failure",
            ScanStatus::Other(text) => text,
        }
    }
}

impl fmt::Display for ScanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fold_spelling_and_keep_the_unknown() {
        for (text, status) in [
            ("Success", ScanStatus::Success),
            ("success", ScanStatus::Success),
            ("PartialSuccess", ScanStatus::PartialSuccess),
            ("Partial Success", ScanStatus::PartialSuccess),
            ("partial_success", ScanStatus::PartialSuccess),
            ("Fail", ScanStatus::Fail),
            ("Failure", ScanStatus::Failure),
            ("fail", ScanStatus::Fail),
            ("FAILURE", ScanStatus::Failure),
            ("Timed out", ScanStatus::Other("Timed out".to_owned())),
        ] {
            assert_eq!(ScanStatus::parse(text), status, "{text}");
        }
        assert_eq!(ScanStatus::parse("Partial Success").to_string(), "PartialSuccess");
        assert_eq!(ScanStatus::parse("Timed out").to_string(), "Timed out");
    }
}
