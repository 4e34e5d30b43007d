//! `scanhist convert`: saved responses to CSV or NDJSON rows.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, PoisonError};
use std::{mem, panic, thread};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::render::{failure, write_findings};
use super::{bulk_stdout, ignore_broken_pipe, read_input, ExitStatus, Input, PART_BYTES};
use crate::decode::Decoded;
use crate::diagnostic::{Diagnostic, Severity};
use crate::emit::{EmitOptions, Format, Level, RowWriter};
use crate::read::{read_each_keeping, read_strict, TYPED_AHEAD, TYPED_WHOLE};
use crate::record::{for_each_in_text, DurationFormat, Extra, ScanSession};
use crate::repair::{repair_decoded_in_parts, repair_in_parts, Apply, RepairError, RepairOptions, Repaired, Threads};
use crate::span::LineIndex;

#[derive(Debug, Args)]
pub(super) struct ConvertArgs {
    /// Files or directories (read recursively, in name order); `-` or nothing reads stdin.
    paths: Vec<PathBuf>,

    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    format: FormatArg,

    /// One row per target, or one per session.
    #[arg(long, value_enum, default_value_t = LevelArg::Target)]
    level: LevelArg,

    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// How to write scan_duration_s.
    #[arg(long, value_enum, default_value_t = DurationArg::Seconds)]
    duration: DurationArg,

    /// Leave CSV cells that start with = + - @ tab or CR as they are (by
    /// default they get a leading ' so spreadsheets do not run them).
    #[arg(long)]
    no_neutralize: bool,

    /// Count any repair as a failure (exit 1).
    #[arg(long)]
    strict: bool,

    /// Reject containers nested deeper than this.
    #[arg(long, default_value_t = RepairOptions::default().max_depth, value_name = "LEVELS")]
    max_depth: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Csv,
    Ndjson,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LevelArg {
    Target,
    Session,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DurationArg {
    /// Decimal seconds, exact to 100 ns: 510.1234567
    Seconds,
    /// ISO 8601: PT8M30.1234567S
    Iso8601,
    /// .NET TimeSpan: 00:08:30.1234567
    Timespan,
    /// Decimal milliseconds: 510123.4567
    Millis,
}

/// What happened across all inputs.
#[derive(Default)]
struct Tally {
    inputs: u64,
    unreadable: u64,
    sessions: u64,
    repairs: u64,
    errors: u64,
    warnings: u64,
    notes: u64,
}

pub(super) fn run(args: &ConvertArgs) -> anyhow::Result<ExitStatus> {
    let options = EmitOptions {
        format: match args.format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ndjson => Format::Ndjson,
        },
        level: match args.level {
            LevelArg::Target => Level::Target,
            LevelArg::Session => Level::Session,
        },
        duration: match args.duration {
            DurationArg::Seconds => DurationFormat::Seconds,
            DurationArg::Iso8601 => DurationFormat::Iso8601,
            DurationArg::Timespan => DurationFormat::TimeSpan,
            DurationArg::Millis => DurationFormat::Milliseconds,
        },
        neutralize_formulas: !args.no_neutralize,
    };
    let mut log = BufWriter::new(io::stderr().lock());
    let mut tally = Tally::default();
    // Listed before the output is opened, so that no input is the output emptied.
    let paths = expand_paths(&args.paths, args.output.as_deref(), &mut log, &mut tally)?;
    // Written from a second thread for large inputs, so it must be Send.
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(OutputFile::create(path).with_context(|| format!("cannot create {}", path.display()))?),
        None => bulk_stdout(),
    };
    let mut rows = RowWriter::new(BufWriter::with_capacity(1 << 16, out), options).context("cannot write output")?;

    for path in paths {
        let input = match read_input(path.as_ref()) {
            Ok(input) => input,
            Err(error) => {
                writeln!(log, "scanhist: {error:#}")?;
                tally.unreadable += 1;
                continue;
            }
        };
        tally.inputs += 1;
        let written = convert_one(&input, args.max_depth, &mut rows, &mut log, &mut tally);
        ignore_broken_pipe(written)?;
    }

    let neutralized = rows.neutralized();
    let row_count = rows.rows();
    ignore_broken_pipe(rows.finish().and_then(|mut out| out.flush()))?;
    write_summary(&mut log, &tally, row_count, neutralized)?;
    log.flush()?;

    let failed = tally.errors > 0 || (args.strict && tally.repairs > 0);
    Ok(match (tally.unreadable > 0, failed) {
        (true, _) => ExitStatus::Usage,
        (false, true) => ExitStatus::Failure,
        (false, false) => ExitStatus::Success,
    })
}

/// Inputs at least this large are typed on one thread while their rows are
/// written on another; damaged ones are repaired in parts.
const WRITTEN_ALONGSIDE: usize = 1 << 20;

/// Typed sessions go to the writer thread in batches of about this much input,
const BATCH_BYTES: usize = 256 << 10;

/// and of at most this much of sessions and targets, by
/// [`ScanSession::held_bytes`] (512 sessions without targets). A batch's
/// memory follows its sessions, not their input: a million documents of 18
/// bytes made batches of 14,564 sessions, 3.3 MiB each, and how the
/// allocator reused such blocks moved the peak RSS of that input between
/// 43,400 and 83,388 KiB from run to run; capped, 36,400–41,200
/// (BENCHMARKS.md).
const BATCH_HELD: usize = 128 << 10;

/// Batches that may wait for the writer: as many as [`TYPED_AHEAD`] of input
/// makes. The sessions held while a large input is checked all go to the
/// writer when the check passes; a queue this long takes them at once (unless
/// what they hold, rather than their input, fills the batches), so typing
/// goes on meanwhile, and holds no more than was held.
const QUEUED_BATCHES: usize = TYPED_AHEAD / BATCH_BYTES;

/// Repairs, types and writes one input, logging what it finds.
fn convert_one<W: Write + Send, L: Write>(
    input: &Input,
    max_depth: usize,
    rows: &mut RowWriter<W>,
    log: &mut L,
    tally: &mut Tally,
) -> io::Result<()> {
    // Rows are written as sessions are typed; no record outlives its rows,
    // and none keeps the values of unknown keys, which no row shows.
    let options = RepairOptions { max_depth };
    if input.bytes.len() < WRITTEN_ALONGSIDE {
        let mut storage = String::new();
        let mut written = Ok(());
        let mut write = |session: ScanSession<'_>| write_session(rows, &input.name, &session, &mut written, tally);
        let read = read_each_keeping(&input.bytes, &options, TYPED_WHOLE, Extra::Skipped, &mut storage, &mut write);
        return log_read(input, read, written, log, tally);
    }
    let (read, written) = written_alongside(rows, &input.name, tally, |on_session| {
        read_strict(&input.bytes, &options, TYPED_WHOLE, Extra::Skipped, on_session)
    });
    match read {
        Ok(read) => log_read(input, Ok(read), written, log, tally),
        Err(decoded) => convert_in_parts(input, decoded, &options, rows, log, tally),
    }
}

/// Runs `read`, the rows of the sessions it hands on written in batches on a
/// second thread (on this one, when there is none); counts the sessions
/// written, and stops writing at the first error.
fn written_alongside<'t, W: Write + Send, R>(
    rows: &mut RowWriter<W>,
    source: &str,
    tally: &mut Tally,
    read: impl FnOnce(&mut dyn FnMut(ScanSession<'t>)) -> R,
) -> (R, io::Result<()>) {
    // Locked by the writer thread, or here when there is none.
    let rows = Mutex::new(rows);
    thread::scope(|scope| {
        let (to_writer, batches) = mpsc::sync_channel(QUEUED_BATCHES);
        // Written batches come back to be dropped on this thread, which
        // allocated them: glibc's malloc frees another thread's blocks under
        // the lock this thread's allocations take.
        let (give_back, written) = mpsc::channel();
        let write = || write_batches(&rows, source, batches, give_back);
        match thread::Builder::new().spawn_scoped(scope, write) {
            Ok(writer) => {
                let (mut batch, mut batch_bytes, mut batch_held) = (Vec::new(), 0, 0);
                let read = read(&mut |session| {
                    batch_bytes += session.span.len();
                    batch_held += session.held_bytes();
                    batch.push(session);
                    if batch_bytes >= BATCH_BYTES || batch_held >= BATCH_HELD {
                        written.try_iter().for_each(drop);
                        // A writer that stopped, its output failing, says why when joined.
                        let _ = to_writer.send(mem::take(&mut batch));
                        (batch_bytes, batch_held) = (0, 0);
                    }
                });
                let _ = to_writer.send(batch);
                drop(to_writer);
                let written = writer.join().unwrap_or_else(|panicked| panic::resume_unwind(panicked));
                (read, written.map(|sessions| tally.sessions += sessions))
            }
            Err(_) => {
                let mut rows = rows.lock().unwrap_or_else(PoisonError::into_inner);
                let mut written = Ok(());
                let read = read(&mut |session| write_session(&mut rows, source, &session, &mut written, tally));
                (read, written)
            }
        }
    })
}

/// Converts a large damaged input part by part: a second thread repairs the
/// next part while this one types the last, its rows written alongside, and
/// writes its log lines; nothing of a part is kept after.
fn convert_in_parts<W: Write + Send, L: Write>(
    input: &Input,
    decoded: Decoded<'_>,
    options: &RepairOptions,
    rows: &mut RowWriter<W>,
    log: &mut L,
    tally: &mut Tally,
) -> io::Result<()> {
    // One index for every part: a part's lookups continue from the last part's.
    let index = LineIndex::of_decoded(&input.bytes, decoded.encoding, &decoded.source_map);
    let mut written = Ok(());
    let mut convert_part = |part: Repaired<'_>| {
        let (diagnostics, part_written) = written_alongside(rows, &input.name, tally, |on_session| {
            for_each_in_text(&part, part.text(), Extra::Skipped, on_session)
        });
        match part_written.and_then(|()| log_findings(input, &part, &index, &diagnostics, log, tally)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                written = Err(error);
                ControlFlow::Break(())
            }
        }
    };
    let repaired = thread::scope(|scope| {
        let (to_typing, parts) = mpsc::sync_channel(1);
        let repair = move || {
            let mut hand_on = |part| match to_typing.send(part) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            };
            repair_decoded_in_parts(&input.bytes, decoded, options, PART_BYTES, Apply::Now, Threads::One, &mut hand_on)
        };
        match thread::Builder::new().spawn_scoped(scope, repair) {
            Ok(repairer) => {
                // Dropping the parts stops the repair, should writing fail.
                let _ = parts.into_iter().try_for_each(&mut convert_part);
                repairer.join().unwrap_or_else(|panicked| panic::resume_unwind(panicked))
            }
            // No thread to be had: the failed spawn took the decoded text, so decode again.
            Err(_) => repair_in_parts(&input.bytes, options, PART_BYTES, &mut convert_part),
        }
    });
    written?;
    if let Err(error) = repaired {
        log_failure(input, &error, log, tally)?;
    }
    Ok(())
}

/// Writes one session's rows unless writing failed already, counting it
/// (with its last part).
fn write_session<W: Write>(
    rows: &mut RowWriter<W>,
    source: &str,
    session: &ScanSession<'_>,
    written: &mut io::Result<()>,
    tally: &mut Tally,
) {
    if written.is_ok() {
        match rows.write_session(source, session) {
            Ok(_) => tally.sessions += u64::from(!session.more_targets),
            Err(error) => *written = Err(error),
        }
    }
}

/// Logs what reading a whole input found, or why it failed.
fn log_read<L: Write>(
    input: &Input,
    read: Result<(Repaired<'_>, Vec<Diagnostic>), RepairError>,
    written: io::Result<()>,
    log: &mut L,
    tally: &mut Tally,
) -> io::Result<()> {
    let (repaired, diagnostics) = match read {
        Ok(read) => read,
        Err(error) => return log_failure(input, &error, log, tally),
    };
    written?;
    log_findings(input, &repaired, &repaired.line_index(), &diagnostics, log, tally)
}

fn log_failure<L: Write>(input: &Input, error: &RepairError, log: &mut L, tally: &mut Tally) -> io::Result<()> {
    tally.errors += 1;
    failure(&input.name, error, &error.kind.to_string()).write_text(log)
}

/// Logs the repairs, notes and diagnostics of (a part of) an input.
fn log_findings<L: Write>(
    input: &Input,
    repaired: &Repaired<'_>,
    index: &LineIndex<'_>,
    diagnostics: &[Diagnostic],
    log: &mut L,
    tally: &mut Tally,
) -> io::Result<()> {
    tally.repairs += repaired.repairs().len() as u64;
    write_findings(log, &input.name, repaired, index)?;
    for diagnostic in diagnostics {
        write_diagnostic(log, &input.name, diagnostic, index.line_col(diagnostic.span.start))?;
        match diagnostic.severity {
            Severity::Error => tally.errors += 1,
            Severity::Warning => tally.warnings += 1,
            Severity::Note => tally.notes += 1,
        }
    }
    Ok(())
}

/// Writes the rows of each batch of sessions as it comes, then gives the
/// batch back; returns how many sessions were written, or the first error,
/// after which it stops.
fn write_batches<'t, W: Write>(
    rows: &Mutex<&mut RowWriter<W>>,
    source: &str,
    batches: Receiver<Vec<ScanSession<'t>>>,
    give_back: Sender<Vec<ScanSession<'t>>>,
) -> io::Result<u64> {
    let mut rows = rows.lock().unwrap_or_else(PoisonError::into_inner);
    let mut sessions = 0;
    for batch in batches {
        for session in &batch {
            rows.write_session(source, session)?;
            sessions += u64::from(!session.more_targets);
        }
        // Once the reading side is done, what comes back is dropped with the channel.
        let _ = give_back.send(batch);
    }
    Ok(sessions)
}

fn write_diagnostic<L: Write>(
    log: &mut L,
    file: &str,
    diagnostic: &Diagnostic,
    at: crate::span::LineCol,
) -> io::Result<()> {
    write!(log, "{file}:{at}: {}[{}]: {}", diagnostic.severity, diagnostic.code, diagnostic.message)?;
    if !diagnostic.pointer.is_empty() {
        write!(log, " (at {})", diagnostic.pointer)?;
    }
    if let Some(hint) = &diagnostic.hint {
        write!(log, "; hint: {hint}")?;
    }
    writeln!(log)
}

fn write_summary<L: Write>(log: &mut L, tally: &Tally, rows: u64, neutralized: u64) -> io::Result<()> {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    write!(
        log,
        "scanhist: {}, {}, {}; {}; {}, {}, {}",
        plural(tally.inputs, "input"),
        plural(tally.sessions, "session"),
        plural(rows, "row"),
        plural(tally.repairs, "repair"),
        plural(tally.errors, "error"),
        plural(tally.warnings, "warning"),
        plural(tally.notes, "note"),
    )?;
    if tally.unreadable > 0 {
        write!(log, "; {} unreadable", plural(tally.unreadable, "input"))?;
    }
    if neutralized > 0 {
        write!(log, "; {} neutralized against formula injection", plural(neutralized, "CSV cell"))?;
    }
    writeln!(log)
}

/// The files to read: each path, directories expanded recursively in name
/// order (hidden entries skipped); `None` stands for stdin. The output file
/// is no input: found in a directory (an earlier run's rows), it is skipped
/// with a note; named, it is an error, before the output is touched.
fn expand_paths<L: Write>(
    paths: &[PathBuf],
    output: Option<&Path>,
    log: &mut L,
    tally: &mut Tally,
) -> anyhow::Result<Vec<Option<PathBuf>>> {
    if paths.is_empty() {
        return Ok(vec![None]);
    }
    let output = output.and_then(FileId::of_path);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(None);
        } else if path.is_dir() {
            if let Err(error) = walk(path, output, &mut files, &mut skipped) {
                writeln!(log, "scanhist: cannot read directory {}: {error}", path.display())?;
                tally.unreadable += 1;
            }
        } else if output.is_some() && FileId::of_path(path) == output {
            anyhow::bail!("{} is both an input and the output file (-o); writing would destroy it", path.display());
        } else {
            files.push(Some(path.clone()));
        }
    }
    for path in skipped {
        writeln!(log, "scanhist: skipped {}: it is the output file (-o)", path.display())?;
    }
    Ok(files)
}

fn walk(
    dir: &Path,
    output: Option<FileId>,
    files: &mut Vec<Option<PathBuf>>,
    skipped: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')))
        .collect();
    entries.sort();
    for path in entries {
        // One stat for both questions; a file it fails on is read, and its error reported then.
        let metadata = fs::metadata(&path).ok();
        if metadata.as_ref().is_some_and(fs::Metadata::is_dir) {
            walk(&path, output, files, skipped)?;
        } else if output.is_some() && metadata.as_ref().and_then(FileId::of) == output {
            skipped.push(path);
        } else {
            files.push(Some(path));
        }
    }
    Ok(())
}

/// What tells two paths to one file apart from two files: the device and
/// inode. Elsewhere than Unix there is none, and the output is not looked
/// for among the inputs.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

impl FileId {
    fn of_path(path: &Path) -> Option<FileId> {
        FileId::of(&fs::metadata(path).ok()?)
    }

    #[cfg(unix)]
    fn of(metadata: &fs::Metadata) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        Some(FileId(metadata.dev(), metadata.ino()))
    }

    #[cfg(not(unix))]
    fn of(_: &fs::Metadata) -> Option<FileId> {
        None
    }
}

/// The `-o` file. What an earlier run left there is truncated on a second
/// thread, which the first write waits for: on ext4, truncating a 63 MB
/// output took 20 ms, time that reading the input need not wait for
/// (BENCHMARKS.md). No input is the output (see [`expand_paths`]), so
/// nothing reads what is being emptied.
struct OutputFile {
    file: File,
    emptying: Option<thread::JoinHandle<io::Result<()>>>,
}

impl OutputFile {
    fn create(path: &Path) -> io::Result<OutputFile> {
        // Elsewhere than Unix no input is checked against the output: truncated here, as File::create does.
        let file = fs::OpenOptions::new().write(true).create(true).truncate(!cfg!(unix)).open(path)?;
        let metadata = file.metadata()?;
        // Only a regular file has a length to set; a FIFO or a device is written as it is.
        if !cfg!(unix) || !metadata.is_file() || metadata.len() == 0 {
            return Ok(OutputFile { file, emptying: None });
        }
        let emptied = file.try_clone()?;
        let emptying = match thread::Builder::new().spawn(move || emptied.set_len(0)) {
            Ok(thread) => Some(thread),
            Err(_) => {
                file.set_len(0)?;
                None
            }
        };
        Ok(OutputFile { file, emptying })
    }

    /// Waits until the file is empty, once.
    fn emptied(&mut self) -> io::Result<()> {
        match self.emptying.take() {
            Some(thread) => thread.join().unwrap_or_else(|panicked| panic::resume_unwind(panicked)),
            None => Ok(()),
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.emptied()?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emptied()?;
        self.file.flush()
    }
}

impl Drop for OutputFile {
    /// Nothing written (no input, or none that gave a row) still leaves the file empty.
    fn drop(&mut self) {
        let _ = self.emptied();
    }
}
