//! The command-line interface: arguments, files, stdout and stderr.
//!
//! This is the only module that touches the file system, the standard
//! streams or clap; the stages below it take bytes and writers.

mod convert;
mod exit_code;
mod render;
mod repair;

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::ops::Range;
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

/// Damaged input is repaired in parts of about this much input, each ending
/// between documents and written before the next is repaired, so that no
/// more than a few parts' repaired text and repairs are held at once.
const PART_BYTES: usize = 1 << 20;

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
    /// An anonymous mapping and where in it the file's bytes are.
    Mapped(memmap2::Mmap, Range<usize>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Heap(bytes) => bytes,
            Bytes::Mapped(map, bytes) => &map[bytes.clone()],
        }
    }
}

/// Files at least this large are read into memory advised for transparent
/// huge pages: reading 50 MB then takes about half the page faults' time,
/// and typing it fewer TLB misses (BENCHMARKS.md).
const HUGE_PAGES_FROM: u64 = 4 << 20;

/// The size of a transparent huge page (x86-64; AArch64 with 4 KiB pages).
/// The kernel backs an advised range with huge pages only where aligned
/// ones fit in it whole, so a large file's bytes are read to one's start.
const HUGE_PAGE: usize = 2 << 20;

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
    // A huge page more than the whole huge pages the bytes need, to start
    // them at one wherever the mapping lands: what is never touched costs
    // address space only.
    let with_slack = |len: usize| len.checked_next_multiple_of(HUGE_PAGE)?.checked_add(HUGE_PAGE);
    let Some((len, mapped)) =
        usize::try_from(len).ok().filter(|_| len >= HUGE_PAGES_FROM).and_then(|len| Some((len, with_slack(len)?)))
    else {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Ok(Bytes::Heap(bytes));
    };
    let mut map = memmap2::MmapMut::map_anon(mapped)?;
    let start = (HUGE_PAGE - map.as_ptr().addr() % HUGE_PAGE) % HUGE_PAGE;
    // A hint (Linux only): where it is not taken, the pages are small, as on the heap.
    #[cfg(target_os = "linux")]
    {
        // The bytes' last huge page only if they fill half of it: a huge
        // page takes its whole size of memory.
        let whole = len - len % HUGE_PAGE;
        let advised = if len - whole >= HUGE_PAGE / 2 { whole + HUGE_PAGE } else { whole };
        let _ = map.advise_range(memmap2::Advice::HugePage, start, advised);
    }
    let filled = fill(&file, &mut map[start..start + len])?;
    // A file that grew since its length was taken is read whole, on the heap.
    let mut rest = Vec::new();
    file.seek(io::SeekFrom::Start(filled as u64))?;
    if filled == len && file.read_to_end(&mut rest)? > 0 {
        let mut bytes = map[start..start + len].to_vec();
        bytes.append(&mut rest);
        return Ok(Bytes::Heap(bytes));
    }
    Ok(Bytes::Mapped(map.make_read_only()?, start..start + filled))
}

/// Fills `buffer` from the start of `file`, a huge page at a time, on this
/// thread and a second one that takes the next page from when it starts
/// (the copy and the page faults split between two cores, however late the
/// second one gets one); returns how much of it the file filled, up to the
/// first short read.
#[cfg(unix)]
fn fill(file: &fs::File, buffer: &mut [u8]) -> io::Result<usize> {
    fill_in_chunks(file, buffer, HUGE_PAGE)
}

/// [`fill`], `chunk` bytes at a time.
#[cfg(unix)]
fn fill_in_chunks(file: &fs::File, buffer: &mut [u8], chunk: usize) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    use std::sync::{Mutex, PoisonError};
    let chunks = Mutex::new(buffer.chunks_mut(chunk).enumerate());
    // Each chunk's index, length, and how much of it was filled.
    let read_chunks = || -> io::Result<Vec<(usize, usize, usize)>> {
        let mut read = Vec::new();
        loop {
            let next = chunks.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((index, part)) = next else {
                return Ok(read);
            };
            let offset = index * chunk;
            let filled = read_until_full(part, |rest, filled| file.read_at(rest, (offset + filled) as u64))?;
            read.push((index, part.len(), filled));
        }
    };
    let (mine, theirs) = std::thread::scope(|scope| {
        // No thread to be had: this one reads every chunk.
        let theirs = std::thread::Builder::new().spawn_scoped(scope, read_chunks).ok();
        let mine = read_chunks();
        (mine, theirs.map(|theirs| theirs.join().unwrap_or_else(|panicked| std::panic::resume_unwind(panicked))))
    });
    let mut read = mine?;
    read.extend(theirs.transpose()?.into_iter().flatten());
    read.sort_unstable();
    let mut filled = 0;
    for (_, len, chunk_filled) in read {
        filled += chunk_filled;
        if chunk_filled < len {
            break;
        }
    }
    Ok(filled)
}

/// Fills `buffer` from the start of `file`; returns how much of it the file filled.
#[cfg(not(unix))]
fn fill(mut file: &fs::File, buffer: &mut [u8]) -> io::Result<usize> {
    read_until_full(buffer, |rest, _| file.read(rest))
}

/// Calls `read` with the rest of `buffer` and how much is filled until it is
/// full or `read` reads nothing; returns how much is filled.
fn read_until_full(
    buffer: &mut [u8],
    mut read: impl FnMut(&mut [u8], usize) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match read(&mut buffer[filled..], filled) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
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
    fn a_file_shorter_than_its_buffer_fills_only_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        // Either side of chunks' boundaries: 100 bytes each, and one of 1000.
        for len in [0, 1, 99, 100, 101, 499, 500, 501, 999, 1000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &content).unwrap();
            for chunk in [100, 1000] {
                let mut buffer = vec![0xFF; 1000];
                let filled = super::fill_in_chunks(&std::fs::File::open(&path).unwrap(), &mut buffer, chunk).unwrap();
                assert_eq!(filled, len, "{len} in chunks of {chunk}");
                assert!(
                    buffer[..len] == content[..],
                    "{len} in chunks of {chunk}: the bytes read differ from the file"
                );
            }
        }
    }

    #[test]
    fn large_files_are_read_whole_into_mapped_memory_from_a_huge_page_and_small_ones_onto_the_heap() {
        use super::{HUGE_PAGE, HUGE_PAGES_FROM};
        let dir = tempfile::tempdir().unwrap();
        let from = HUGE_PAGES_FROM as usize;
        let large: Vec<u8> = (0..from + HUGE_PAGE).map(|i| (i % 251) as u8).collect();
        // Ending just into a huge page, at half of one, and just short of one.
        let lengths = [(from + 3, true), (from + HUGE_PAGE / 2, true), (from + HUGE_PAGE - 1, true), (1000, false)];
        for (len, mapped) in lengths {
            let (path, content) = (dir.path().join(len.to_string()), &large[..len]);
            std::fs::write(&path, content).unwrap();
            let bytes = super::read_file(&path).unwrap();
            assert_eq!(matches!(bytes, super::Bytes::Mapped(..)), mapped, "{len}");
            assert!(*bytes == *content, "{len}: the bytes read differ from the file");
            if mapped {
                assert_eq!(bytes.as_ptr().addr() % HUGE_PAGE, 0, "{len}: the bytes start inside a huge page");
            }
        }
    }
}
