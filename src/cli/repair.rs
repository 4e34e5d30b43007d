//! `scanhist repair`: strict JSON to stdout, the repair log to stderr.

use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;

use super::render::{failure, notes, repairs, write_findings, Rendered};
use super::{bulk_stdout, ignore_broken_pipe, read_input, ExitStatus, LogFormat, PART_BYTES};
use crate::decode::{decode, Encoding};
use crate::reformat::{reformat, Layout};
use crate::repair::{repair_decoded_in_parts, Apply, Note, RepairError, RepairOptions, Repaired, Threads};
use crate::span::LineIndex;

#[derive(Debug, Args)]
pub(super) struct RepairArgs {
    /// The saved response; `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// How to write the repair log on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log: LogFormat,

    /// Write each document on one line without whitespace (NDJSON).
    #[arg(long, conflicts_with = "pretty")]
    compact: bool,

    /// Write each document indented by two spaces.
    #[arg(long)]
    pretty: bool,

    /// Reject containers nested deeper than this.
    #[arg(long, default_value_t = RepairOptions::default().max_depth, value_name = "LEVELS")]
    max_depth: usize,
}

/// Repairs the input part by part (a part ends between documents: a single
/// response is one part, an NDJSON dump many), writing each part's text and
/// log lines before the next is repaired, so that memory does not grow with
/// the number of documents or repairs.
pub(super) fn run(args: &RepairArgs) -> anyhow::Result<ExitStatus> {
    let input = read_input(args.file.as_ref())?;
    let options = RepairOptions { max_depth: args.max_depth };
    let decoded = decode(&input.bytes);
    // One index for every part: a part's lookups continue from the last part's.
    let index = LineIndex::of_decoded(&input.bytes, decoded.encoding, &decoded.source_map);
    let mut output = Output::new(args);
    // Text written as it is need not be held: each part's is written from its edits.
    let apply = if output.layout.is_none() { Apply::WhenAsked } else { Apply::Now };
    // stderr is unbuffered; a log line per repair must not cost a write call each.
    let mut log = Log::start(args.log, &input.name, decoded.encoding, BufWriter::new(io::stderr().lock()))?;
    let mut write_part = |part: &Repaired<'_>| -> anyhow::Result<()> {
        output.write(part)?;
        Ok(log.part(part, &index)?)
    };
    let mut written = Ok(());
    // A large response's records are parsed on two threads, its second half's meanwhile.
    let threads = Threads::Two;
    let repaired = repair_decoded_in_parts(&input.bytes, decoded, &options, PART_BYTES, apply, threads, &mut |part| {
        written = write_part(&part);
        if written.is_ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    written?;
    output.flush()?;
    log.finish(&index, repaired.as_ref().err())?;
    Ok(if repaired.is_ok() { ExitStatus::Success } else { ExitStatus::Failure })
}

/// Where the repaired documents go: stdout, as written or reformatted.
struct Output {
    out: BufWriter<Box<dyn Write + Send>>,
    layout: Option<Layout>,
    /// Whether stdout was closed by its reader (`scanhist repair … | head`):
    /// nothing more is written to it, and the log goes on.
    closed: bool,
}

impl Output {
    fn new(args: &RepairArgs) -> Self {
        let layout = match (args.compact, args.pretty) {
            (true, _) => Some(Layout::Compact),
            (_, true) => Some(Layout::Pretty),
            _ => None,
        };
        Output { out: BufWriter::with_capacity(1 << 16, bulk_stdout()), layout, closed: false }
    }

    fn write(&mut self, part: &Repaired<'_>) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let written = match self.layout {
            None => part.write_text(&mut self.out),
            Some(layout) => part.documents().try_for_each(|document| {
                reformat(document, layout, &mut self.out)?;
                self.out.write_all(b"\n")
            }),
        };
        self.closed_on_broken_pipe(written)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.out.flush();
        self.closed_on_broken_pipe(flushed)
    }

    fn closed_on_broken_pipe(&mut self, result: io::Result<()>) -> anyhow::Result<()> {
        self.closed = matches!(&result, Err(error) if error.kind() == io::ErrorKind::BrokenPipe);
        ignore_broken_pipe(result)
    }
}

/// The repair log, written part by part.
enum Log<'f, W: Write> {
    /// A line per finding, as each part comes.
    Text { out: W, file: &'f str },
    /// One JSON object: its repairs as each part comes, then the notes (held
    /// till the end; only duplicate keys make them), the number of
    /// documents, and the error that stopped the repair, if one did.
    Json { out: W, file: &'f str, repairs_written: usize, notes: Vec<Note>, documents: usize },
}

impl<'f, W: Write> Log<'f, W> {
    fn start(format: LogFormat, file: &'f str, encoding: Encoding, mut out: W) -> io::Result<Self> {
        Ok(match format {
            LogFormat::Text => Log::Text { out, file },
            LogFormat::Json => {
                out.write_all(b"{\"file\":")?;
                serde_json::to_writer(&mut out, file)?;
                out.write_all(b",\"encoding\":")?;
                serde_json::to_writer(&mut out, encoding.name())?;
                out.write_all(b",\"repairs\":[")?;
                Log::Json { out, file, repairs_written: 0, notes: Vec::new(), documents: 0 }
            }
        })
    }

    fn part(&mut self, part: &Repaired<'_>, index: &LineIndex<'_>) -> io::Result<()> {
        match self {
            Log::Text { out, file } => write_findings(out, file, part, index),
            Log::Json { out, file, repairs_written, notes, documents } => {
                for repair in repairs(file, part.repairs(), index) {
                    json_element(out, repairs_written, &repair)?;
                }
                notes.extend_from_slice(part.notes());
                *documents += part.document_ranges().len();
                Ok(())
            }
        }
    }

    /// Ends the log, with the error that stopped the repair if one did.
    fn finish(self, index: &LineIndex<'_>, error: Option<&RepairError>) -> io::Result<()> {
        let message = error.map(|error| error.kind.to_string());
        let stopped = error.zip(message.as_deref());
        match self {
            Log::Text { mut out, file } => {
                if let Some((error, message)) = stopped {
                    failure(file, error, message).write_text(&mut out)?;
                }
                out.flush()
            }
            Log::Json { mut out, file, notes: held, documents, .. } => {
                out.write_all(b"],\"notes\":[")?;
                let mut written = 0;
                for note in notes(file, &held, index) {
                    json_element(&mut out, &mut written, &note)?;
                }
                write!(out, "],\"documents\":{documents}")?;
                if let Some((error, message)) = stopped {
                    out.write_all(b",\"error\":")?;
                    serde_json::to_writer(&mut out, &failure(file, error, message))?;
                }
                out.write_all(b"}\n")?;
                out.flush()
            }
        }
    }
}

/// Writes one element of a JSON array, after a comma unless it is the first.
fn json_element<W: Write>(out: &mut W, written: &mut usize, element: &Rendered<'_>) -> io::Result<()> {
    if *written > 0 {
        out.write_all(b",")?;
    }
    *written += 1;
    serde_json::to_writer(out, element).map_err(io::Error::from)
}
