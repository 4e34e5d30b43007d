//! `scanhist repair`: strict JSON to stdout, the repair log to stderr.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::render::{failure, notes, repairs, write_findings, Rendered, Sequence};
use super::{bulk_stdout, ignore_broken_pipe, read_input, ExitStatus, LogFormat};
use crate::reformat::{reformat, Layout};
use crate::repair::{repair, RepairOptions, Repaired};

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

/// The JSON log of one input.
#[derive(Serialize)]
struct JsonLog<'a, R: Serialize, N: Serialize> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    documents: usize,
    repairs: R,
    notes: N,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Rendered<'a>>,
}

pub(super) fn run(args: &RepairArgs) -> anyhow::Result<ExitStatus> {
    let input = read_input(args.file.as_ref())?;
    let options = RepairOptions { max_depth: args.max_depth };
    // stderr is unbuffered; a log line per repair must not cost a write call each.
    let mut log = BufWriter::new(io::stderr().lock());
    match repair(&input.bytes, &options) {
        Ok(repaired) => {
            ignore_broken_pipe(write_documents(&repaired, args))?;
            write_log(&input.name, &repaired, args.log, &mut log)?;
            log.flush()?;
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            let message = error.kind.to_string();
            let rendered = failure(&input.name, &error, &message);
            match args.log {
                LogFormat::Text => rendered.write_text(&mut log)?,
                LogFormat::Json => {
                    let json = JsonLog {
                        file: &input.name,
                        encoding: None,
                        documents: 0,
                        repairs: [(); 0],
                        notes: [(); 0],
                        error: Some(rendered),
                    };
                    serde_json::to_writer(&mut log, &json)?;
                    writeln!(log)?;
                }
            }
            log.flush()?;
            Ok(ExitStatus::Failure)
        }
    }
}

fn write_documents(repaired: &Repaired<'_>, args: &RepairArgs) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, bulk_stdout());
    let layout = match (args.compact, args.pretty) {
        (true, _) => Some(Layout::Compact),
        (_, true) => Some(Layout::Pretty),
        _ => None,
    };
    match layout {
        None => out.write_all(repaired.text().as_bytes())?,
        Some(layout) => {
            for document in repaired.documents() {
                reformat(document, layout, &mut out)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()
}

fn write_log<W: Write>(file: &str, repaired: &Repaired<'_>, format: LogFormat, log: &mut W) -> anyhow::Result<()> {
    let index = repaired.line_index();
    match format {
        LogFormat::Text => write_findings(log, file, repaired, &index)?,
        LogFormat::Json => {
            let json = JsonLog {
                file,
                encoding: Some(repaired.encoding().name()),
                documents: repaired.document_ranges().len(),
                repairs: Sequence(|| repairs(file, repaired, &index)),
                notes: Sequence(|| notes(file, repaired, &index)),
                error: None,
            };
            serde_json::to_writer(&mut *log, &json)?;
            writeln!(log)?;
        }
    }
    Ok(())
}
