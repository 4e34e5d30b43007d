//! Findings of the typed stages, as data. The library builds them; only the
//! CLI renders them.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::span::Span;

/// How much a diagnostic matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Accepted as written; worth knowing.
    Note,
    /// Accepted with a guess, or kept as text instead of a typed value.
    Warning,
    /// A document, record or value that could not be converted.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a diagnostic is about, by stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticCode {
    /// A saved API error body (`{"error": {"code", "message"}}`), not scan history.
    ApiError,
    /// A document that is neither an envelope, an array of records, nor a record.
    NotScanHistory,
    /// A record that is not an object.
    InvalidRecord,
    /// A target that is neither an object nor a PowerShell `@{…}` string.
    InvalidTarget,
    /// A field whose value cannot be typed; the field is left empty.
    InvalidValue,
    /// An `Ip` that is not an IPv4 or IPv6 address; kept as text.
    IpKeptAsText,
    /// A target written as `@{…}` by `ConvertTo-Json` at too small a `-Depth`.
    PowershellDepth,
    /// A count written as a string.
    NumberAsString,
    /// A timestamp without a zone, read as UTC.
    MissingZone,
    /// Fraction digits beyond what the type keeps were dropped.
    FractionTruncated,
    /// A plural-named key held several values; the first was kept.
    SeveralValues,
}

impl DiagnosticCode {
    /// The stable kebab-case name, as logs print it.
    pub fn name(self) -> &'static str {
        match self {
            DiagnosticCode::ApiError => "api-error",
            DiagnosticCode::NotScanHistory => "not-scan-history",
            DiagnosticCode::InvalidRecord => "invalid-record",
            DiagnosticCode::InvalidTarget => "invalid-target",
            DiagnosticCode::InvalidValue => "invalid-value",
            DiagnosticCode::IpKeptAsText => "ip-kept-as-text",
            DiagnosticCode::PowershellDepth => "powershell-depth",
            DiagnosticCode::NumberAsString => "number-as-string",
            DiagnosticCode::MissingZone => "missing-zone",
            DiagnosticCode::FractionTruncated => "fraction-truncated",
            DiagnosticCode::SeveralValues => "several-values",
        }
    }

    /// The severity this code always has.
    pub fn severity(self) -> Severity {
        match self {
            DiagnosticCode::ApiError
            | DiagnosticCode::NotScanHistory
            | DiagnosticCode::InvalidRecord
            | DiagnosticCode::InvalidTarget
            | DiagnosticCode::InvalidValue => Severity::Error,
            DiagnosticCode::IpKeptAsText | DiagnosticCode::PowershellDepth | DiagnosticCode::SeveralValues => {
                Severity::Warning
            }
            DiagnosticCode::NumberAsString | DiagnosticCode::MissingZone | DiagnosticCode::FractionTruncated => {
                Severity::Note
            }
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding about a value, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What it is about.
    pub code: DiagnosticCode,
    /// How much it matters; follows from `code`.
    pub severity: Severity,
    /// One line, lowercase, without a trailing period.
    pub message: String,
    /// The value's bytes in the original input.
    pub span: Span,
    /// The value's JSON pointer within its document (RFC 6901).
    pub pointer: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<Cow<'static, str>>,
}

impl Diagnostic {
    /// A diagnostic of `code` with its code's severity.
    pub fn new(code: DiagnosticCode, message: impl Into<String>, span: Span, pointer: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            pointer: pointer.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_the_code() {
        assert_eq!(DiagnosticCode::ApiError.severity(), Severity::Error);
        assert_eq!(DiagnosticCode::IpKeptAsText.severity(), Severity::Warning);
        assert_eq!(DiagnosticCode::MissingZone.severity(), Severity::Note);
        let d = Diagnostic::new(DiagnosticCode::InvalidValue, "bad", Span::point(3), "/value/0");
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(serde_json::to_value(&d).unwrap()["code"], "invalid-value");
    }
}
