//! Renders the library's findings for people (`FILE:LINE:COL: KIND: message`)
//! and for programs (JSON).

use std::io::{self, Write};

use serde::Serialize;

use crate::repair::{Note, Repair, RepairError, Repaired};
use crate::span::{LineCol, LineIndex, Span};

/// One finding, positioned, ready to print either way.
#[derive(Debug, Serialize)]
pub struct Rendered<'a> {
    /// The input's name: its path, or `-` for stdin.
    pub file: &'a str,
    /// The finding's kind name, `error` for a failure.
    pub kind: &'a str,
    /// Where it starts, as line and column.
    #[serde(flatten)]
    pub position: LineCol,
    /// Its byte span in the input.
    pub span: Span,
    /// What was done or found.
    pub message: &'a str,
}

impl Rendered<'_> {
    /// Writes the finding as `FILE:LINE:COL: KIND: message`.
    pub fn write_text<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "{}:{}: {}: {}", self.file, self.position, self.kind, self.message)
    }
}

/// The repairs of one input, in input order.
pub fn repairs<'a>(file: &'a str, repaired: &'a Repaired<'_>, index: &LineIndex<'_>) -> Vec<Rendered<'a>> {
    repaired
        .repairs()
        .iter()
        .map(|r: &'a Repair| Rendered {
            file,
            kind: r.kind.name(),
            position: index.line_col(r.span.start),
            span: r.span,
            message: &r.description,
        })
        .collect()
}

/// The notes of one input, in input order.
pub fn notes<'a>(file: &'a str, repaired: &'a Repaired<'_>, index: &LineIndex<'_>) -> Vec<Rendered<'a>> {
    repaired
        .notes()
        .iter()
        .map(|n: &'a Note| Rendered {
            file,
            kind: n.kind.name(),
            position: index.line_col(n.span.start),
            span: n.span,
            message: &n.description,
        })
        .collect()
}

/// Writes the repairs and notes of one input as text lines, in input order.
pub fn write_findings<W: Write>(
    out: &mut W,
    file: &str,
    repaired: &Repaired<'_>,
    index: &LineIndex<'_>,
) -> io::Result<()> {
    let mut all = repairs(file, repaired, index);
    all.extend(notes(file, repaired, index));
    all.sort_by_key(|finding| finding.span.start);
    all.iter().try_for_each(|finding| finding.write_text(out))
}

/// A failure to repair, with its message held for rendering.
pub fn failure<'a>(file: &'a str, error: &RepairError, message: &'a str) -> Rendered<'a> {
    Rendered { file, kind: "error", position: error.position, span: error.span, message }
}
