//! The command-line interface: arguments, files, stdout and stderr.
//!
//! This is the only module that touches the file system, the standard
//! streams or clap; the stages below it take bytes and writers.

mod convert;
mod exit_code;
mod render;
mod repair;

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

pub use exit_code::ExitStatus;

/// Repair, type and convert saved Microsoft Defender for Endpoint scan-history responses.
#[derive(Debug, Parser)]
#[command(name = "scanhist", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Repair a saved response into strict JSON; the repair log goes to stderr.
    Repair(repair::RepairArgs),
    /// Convert saved responses to CSV or NDJSON rows; repairs and findings go to stderr.
    Convert(convert::ConvertArgs),
}

/// How findings are written to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One line per finding: `FILE:LINE:COL: KIND: message`.
    Text,
    /// One JSON object per input file.
    Json,
}

/// Runs the command `cli` describes.
///
/// # Errors
///
/// Fails on I/O errors: an input that cannot be read or an output that
/// cannot be written. Problems in the input itself are reported, not returned.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Repair(args) => repair::run(&args),
        Command::Convert(args) => convert::run(&args),
    }
}

/// An input: its name as reports show it, and its bytes.
struct Input {
    name: String,
    bytes: Vec<u8>,
}

/// Reads `path`, or stdin for `None` or `-`.
fn read_input(path: Option<&PathBuf>) -> anyhow::Result<Input> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
            let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Input { name: path.display().to_string(), bytes })
        }
        _ => {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes).context("cannot read stdin")?;
            Ok(Input { name: "-".to_owned(), bytes })
        }
    }
}

/// Stdout for bulk output, buffered by the caller. std's stdout is line
/// buffered, which scans every write for its last newline (a whole repaired
/// file, when written at once); on Unix this writes to a duplicate of the
/// descriptor instead. Nothing else in a command writes to stdout.
fn bulk_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(fs::File::from(fd));
        }
    }
    Box::new(io::stdout())
}

/// Treats a closed pipe on stdout (`scanhist … | head`) as a normal end.
fn ignore_broken_pipe(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write output"),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
