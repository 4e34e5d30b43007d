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
use std::path::{Path, PathBuf};

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
    bytes: Bytes,
}

/// An input's bytes: on the heap, or, for large files, in memory the kernel
/// may back with huge pages.
enum Bytes {
    Heap(Vec<u8>),
    /// An anonymous mapping and how much of it the file filled.
    Mapped(memmap2::Mmap, usize),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Heap(bytes) => bytes,
            Bytes::Mapped(map, len) => &map[..*len],
        }
    }
}

/// Files at least this large are read into memory advised for transparent
/// huge pages: reading 50 MB then takes about half the page faults' time,
/// and typing it fewer TLB misses (BENCHMARKS.md).
const HUGE_PAGES_FROM: u64 = 4 << 20;

/// Reads `path`, or stdin for `None` or `-`.
fn read_input(path: Option<&PathBuf>) -> anyhow::Result<Input> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
            let bytes = read_file(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Input { name: path.display().to_string(), bytes })
        }
        _ => {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes).context("cannot read stdin")?;
            Ok(Input { name: "-".to_owned(), bytes: Bytes::Heap(bytes) })
        }
    }
}

fn read_file(path: &Path) -> io::Result<Bytes> {
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let Some(len) = usize::try_from(len).ok().filter(|_| len >= HUGE_PAGES_FROM) else {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Ok(Bytes::Heap(bytes));
    };
    let mut map = memmap2::MmapMut::map_anon(len)?;
    // A hint (Linux only): where it is not taken, the pages are small, as on the heap.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    let mut filled = 0;
    while filled < len {
        match file.read(&mut map[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    // A file that grew since its length was taken is read whole, on the heap.
    let mut rest = Vec::new();
    if filled == len && file.read_to_end(&mut rest)? > 0 {
        let mut bytes = map.to_vec();
        bytes.append(&mut rest);
        return Ok(Bytes::Heap(bytes));
    }
    Ok(Bytes::Mapped(map.make_read_only()?, filled))
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

    #[test]
    fn large_files_are_read_whole_into_mapped_memory_and_small_ones_onto_the_heap() {
        let dir = tempfile::tempdir().unwrap();
        let large: Vec<u8> = (0..super::HUGE_PAGES_FROM as usize + 3).map(|i| (i % 251) as u8).collect();
        for (name, content, mapped) in [("large", &large[..], true), ("small", &large[..1000], false)] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let bytes = super::read_file(&path).unwrap();
            assert_eq!(matches!(bytes, super::Bytes::Mapped(..)), mapped, "{name}");
            assert!(*bytes == *content, "{name}: the bytes read differ from the file");
        }
    }
}
