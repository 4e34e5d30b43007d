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

/// The repairs of one input, in input order, rendered one at a time.
pub fn repairs<'a>(
    file: &'a str,
    repaired: &'a Repaired<'_>,
    index: &'a LineIndex<'_>,
) -> impl Iterator<Item = Rendered<'a>> + 'a {
    rendered(file, index, repaired.repairs(), |r: &'a Repair| (r.kind.name(), r.span, &*r.description))
}

/// The notes of one input, in input order, rendered one at a time.
pub fn notes<'a>(
    file: &'a str,
    repaired: &'a Repaired<'_>,
    index: &'a LineIndex<'_>,
) -> impl Iterator<Item = Rendered<'a>> + 'a {
    rendered(file, index, repaired.notes(), |n: &'a Note| (n.kind.name(), n.span, &*n.description))
}

/// A sequence serialized from a fresh iterator: a log of a million repairs
/// is written without holding a million rendered findings.
pub struct Sequence<F>(pub F);

impl<F, I> Serialize for Sequence<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

/// Writes the repairs and notes of one input as text lines, in input order
/// (a repair before a note at the same place), one at a time.
pub fn write_findings<W: Write>(
    out: &mut W,
    file: &str,
    repaired: &Repaired<'_>,
    index: &LineIndex<'_>,
) -> io::Result<()> {
    let mut repairs = repairs(file, repaired, index).peekable();
    let mut notes = notes(file, repaired, index).peekable();
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
