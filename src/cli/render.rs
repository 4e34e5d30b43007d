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
        // Piece by piece rather than through `writeln!`: a log may hold a
        // finding for every line of a large input.
        let (mut line, mut column) = (itoa::Buffer::new(), itoa::Buffer::new());
        for piece in [
            self.file,
            ":",
            line.format(self.position.line),
            ":",
            column.format(self.position.column),
            ": ",
            self.kind,
            ": ",
            self.message,
            "\n",
        ] {
            out.write_all(piece.as_bytes())?;
        }
        Ok(())
    }
}

/// `findings` rendered one at a time; `parts` gives each one's kind name,
/// span and message.
fn rendered<'a, T>(
    file: &'a str,
    index: &'a LineIndex<'_>,
    findings: &'a [T],
    parts: impl Fn(&'a T) -> (&'a str, Span, &'a str) + 'a,
) -> impl Iterator<Item = Rendered<'a>> + 'a {
    findings.iter().map(move |finding| {
        let (kind, span, message) = parts(finding);
        Rendered { file, kind, position: index.line_col(span.start), span, message }
    })
}

/// Repairs of one input, in input order, rendered one at a time.
pub fn repairs<'a>(
    file: &'a str,
    repairs: &'a [Repair],
    index: &'a LineIndex<'_>,
) -> impl Iterator<Item = Rendered<'a>> + 'a {
    rendered(file, index, repairs, |r: &'a Repair| (r.kind.name(), r.span, &*r.description))
}

/// Notes of one input, in input order, rendered one at a time.
pub fn notes<'a>(
    file: &'a str,
    notes: &'a [Note],
    index: &'a LineIndex<'_>,
) -> impl Iterator<Item = Rendered<'a>> + 'a {
    rendered(file, index, notes, |n: &'a Note| (n.kind.name(), n.span, &*n.description))
}

/// Writes the repairs and notes of one input as text lines, in input order
/// (a repair before a note at the same place), one at a time.
pub fn write_findings<W: Write>(
    out: &mut W,
    file: &str,
    repaired: &Repaired<'_>,
    index: &LineIndex<'_>,
) -> io::Result<()> {
    let mut repairs = repairs(file, repaired.repairs(), index).peekable();
    let mut notes = notes(file, repaired.notes(), index).peekable();
    loop {
        let next = match (repairs.peek(), notes.peek()) {
            (Some(repair), Some(note)) if note.span.start < repair.span.start => notes.next(),
            (Some(_), _) => repairs.next(),
            (None, _) => notes.next(),
        };
        match next {
            Some(finding) => finding.write_text(out)?,
            None => return Ok(()),
        }
    }
}

/// A failure to repair, with its message held for rendering.
pub fn failure<'a>(file: &'a str, error: &RepairError, message: &'a str) -> Rendered<'a> {
    Rendered { file, kind: "error", position: error.position, span: error.span, message }
}
