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
use std::mem;
use std::net::IpAddr;

pub(crate) use decode::{decode_checked, decode_text, for_each_checked, for_each_in_text, Check, Extra};
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
    /// Of a session handed on in parts, this part's targets.
    pub targets: Option<Vec<ScannedTarget<'a>>>,
    /// The index in the session's target list of the first of [`targets`]:
    /// 0, but for the second and later parts of a session handed on in
    /// parts.
    ///
    /// Readers that hand sessions on as they come ([`read_each`],
    /// [`for_each_session`]) hand a session whose target list runs past
    /// [`TARGETS_PER_PART`] on in parts, each with all the session's fields
    /// and the next targets, so that memory does not grow with the list; the
    /// last part has [`more_targets`] false and the session's whole span.
    /// [`ScanSession::join`] puts parts together again. (Where other members
    /// follow the list, which the API writes last, it is read past and typed
    /// once they are.)
    ///
    /// [`targets`]: ScanSession::targets
    /// [`more_targets`]: ScanSession::more_targets
    /// [`read_each`]: crate::read_each
    pub first_target: usize,
    /// Whether more of this session's targets follow, in the next part handed on.
    pub more_targets: bool,
    /// Keys scanhist does not know, in input order, with their values as
    /// strict JSON text (kept whole, at any depth).
    pub extra: Vec<(String, RawJson)>,
    /// The record's bytes in the original input; of a part but the last,
    /// from the record's start to the end of the part's last target.
    pub span: Span,
}

/// How many targets a part of a session handed on in parts holds, but the
/// last: 1024 targets take about 190 KB, whatever their input (an empty
/// target, `{}`, is 3 bytes).
pub const TARGETS_PER_PART: usize = 1024;

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

impl<'a> ScanSession<'a> {
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
            first_target: self.first_target,
            more_targets: self.more_targets,
            extra: self.extra,
            span: self.span,
        }
    }

    /// Joins `part`, the next part of this session (see
    /// [`ScanSession::first_target`]), onto it: its targets, and whether more
    /// follow, and its span. Gives `part` back when it is not that part.
    ///
    /// # Examples
    ///
    /// ```
    /// let targets = vec!["{}"; scanhist::TARGETS_PER_PART + 1].join(",");
    /// let input = format!(r#"{{"value": [{{"sessionId": "s", "scannedTargets": [{targets}]}}]}}"#);
    /// let (mut storage, mut parts) = (String::new(), 0);
    /// let mut whole: Option<scanhist::ScanSession> = None;
    /// scanhist::read_each(input.as_bytes(), &Default::default(), &mut storage, |part| {
    ///     parts += 1;
    ///     match &mut whole {
    ///         Some(session) => session.join(part).expect("the next part"),
    ///         None => whole = Some(part),
    ///     }
    /// })?;
    /// assert_eq!(parts, 2);
    /// assert_eq!(whole.unwrap().targets.unwrap().len(), scanhist::TARGETS_PER_PART + 1);
    /// # Ok::<(), scanhist::RepairError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `part`, when this session has no more targets to come or `part`'s do
    /// not follow its own.
    // The part given back is as large as a session, once a part at most.
    #[allow(clippy::result_large_err)]
    pub fn join(&mut self, part: ScanSession<'a>) -> Result<(), ScanSession<'a>> {
        let listed = self.first_target + self.targets.as_ref().map_or(0, Vec::len);
        if !self.more_targets || part.first_target != listed {
            return Err(part);
        }
        self.targets.get_or_insert_default().extend(part.targets.into_iter().flatten());
        self.more_targets = part.more_targets;
        self.span = part.span;
        Ok(())
    }

    /// About how much memory the session holds: itself and its targets, not
    /// the text they own. What holds sessions is bounded by this.
    pub(crate) fn held_bytes(&self) -> usize {
        mem::size_of::<Self>() + self.targets.as_ref().map_or(0, |t| t.len() * mem::size_of::<ScannedTarget<'_>>())
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
