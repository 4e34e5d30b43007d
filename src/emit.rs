//! Stage 4: typed records to flat rows, written as CSV or NDJSON.
//!
//! The column schema is stable: the same names, in the same order, are the
//! CSV header and the NDJSON keys (`schemas/row.schema.json` describes an
//! NDJSON row). Writers are generic over `io::Write`; they never choose where
//! output goes.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::IpAddr;
use std::ops::Range;

use crate::record::{DurationFormat, ScanSession, ScannedTarget, TargetAddress};

/// The columns of a target-level row, in order.
pub const TARGET_COLUMNS: [&str; 17] = [
    "source",
    "session_id",
    "scan_definition_id",
    "org_id",
    "scanner_id",
    "session_status",
    "general_error_message",
    "last_scanned",
    "number_of_targets",
    "number_of_successfully_scanned_targets",
    "target_index",
    "ip",
    "hostname",
    "device_description",
    "target_status",
    "error_message",
    "scan_duration_s",
];

/// How many of [`TARGET_COLUMNS`] describe the session; a session-level row
/// has these, then [`TARGETS_LISTED`].
pub const SESSION_FIELDS: usize = 10;

/// The last column of a session-level row: how many targets the session lists.
pub const TARGETS_LISTED: &str = "targets_listed";

/// One row per target, or one per session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Level {
    /// A row per target; a session without targets still gives one row.
    #[default]
    Target,
    /// A row per session, with the number of targets it lists.
    Session,
}

/// The output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    #[default]
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// How rows are written.
#[derive(Clone, Copy, Debug)]
pub struct EmitOptions {
    /// CSV or NDJSON.
    pub format: Format,
    /// Rows per target or per session.
    pub level: Level,
    /// How `scan_duration_s` is written; named for its default, decimal seconds.
    pub duration: DurationFormat,
    /// Prefix CSV text cells that a spreadsheet would run as a formula with `'`.
    pub neutralize_formulas: bool,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            format: Format::Csv,
            level: Level::Target,
            duration: DurationFormat::Seconds,
            neutralize_formulas: true,
        }
    }
}

impl EmitOptions {
    /// The columns rows have at this level, in order.
    pub fn columns(&self) -> Vec<&'static str> {
        match self.level {
            Level::Target => TARGET_COLUMNS.to_vec(),
            Level::Session => TARGET_COLUMNS[..SESSION_FIELDS].iter().copied().chain([TARGETS_LISTED]).collect(),
        }
    }
}

/// One cell of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cell<'a> {
    /// Text from the input, which may be attacker-controlled.
    Text(&'a str),
    /// Text scanhist formatted itself (a timestamp, a duration), at this range
    /// of the row's [`Scratch`]; never neutralized.
    Formatted(Range<usize>),
    /// A number, at this range of the row's [`Scratch`].
    Number(Range<usize>),
    Empty,
}

/// Text formatted for rows, in one buffer reused from row to row, so that
/// writing a row allocates nothing.
#[derive(Default)]
struct Scratch(String);

impl Scratch {
    fn push(&mut self, value: impl fmt::Display) -> Range<usize> {
        let start = self.0.len();
        write!(self.0, "{value}").expect("formatting into a String does not fail");
        start..self.0.len()
    }

    fn formatted(&mut self, value: Option<impl fmt::Display>) -> Cell<'static> {
        value.map_or(Cell::Empty, |v| Cell::Formatted(self.push(v)))
    }

    fn integer(&mut self, value: Option<impl itoa::Integer>) -> Cell<'static> {
        value.map_or(Cell::Empty, |v| {
            let start = self.0.len();
            self.0.push_str(itoa::Buffer::new().format(v));
            Cell::Number(start..self.0.len())
        })
    }

    fn address(&mut self, ip: &IpAddr) -> Cell<'static> {
        let IpAddr::V4(ip) = ip else {
            return self.formatted(Some(ip));
        };
        let start = self.0.len();
        for (i, octet) in ip.octets().into_iter().enumerate() {
            if i > 0 {
                self.0.push('.');
            }
            self.0.push_str(itoa::Buffer::new().format(octet));
        }
        Cell::Formatted(start..self.0.len())
    }

    fn number(&mut self, value: Option<impl fmt::Display>) -> Cell<'static> {
        value.map_or(Cell::Empty, |v| Cell::Number(self.push(v)))
    }

    fn get(&self, range: &Range<usize>) -> &str {
        &self.0[range.clone()]
    }
}

fn text(value: Option<&str>) -> Cell<'_> {
    value.map_or(Cell::Empty, Cell::Text)
}

/// Writes rows to `W` in the chosen format.
pub struct RowWriter<W: Write> {
    sink: Sink<W>,
    options: EmitOptions,
    /// Each column's NDJSON key, quoted, with its colon.
    keys: Vec<String>,
    /// The session's formatted cells, then each row's.
    scratch: Scratch,
    rows: u64,
    neutralized: u64,
}

enum Sink<W: Write> {
    Csv(Box<CsvRows<W>>),
    Ndjson(W),
}

impl<W: Write> RowWriter<W> {
    /// A writer of rows to `out`. CSV output starts with its header row.
    ///
    /// # Errors
    ///
    /// Fails when writing the header fails.
    pub fn new(out: W, options: EmitOptions) -> io::Result<Self> {
        let sink = match options.format {
            Format::Csv => {
                let mut csv = CsvRows::new(out);
                csv.header(&options.columns())?;
                Sink::Csv(Box::new(csv))
            }
            Format::Ndjson => Sink::Ndjson(out),
        };
        let keys = options.columns().iter().map(|column| format!("\"{column}\":")).collect();
        Ok(RowWriter { sink, options, keys, scratch: Scratch::default(), rows: 0, neutralized: 0 })
    }

    /// Writes the rows of `session`, read from `source`. Returns how many.
    ///
    /// A session handed on in parts (see [`ScanSession::first_target`]) is
    /// written part by part: its targets' rows numbered on from the last
    /// part's, and its session-level row with the last part.
    ///
    /// # Errors
    ///
    /// Fails when writing fails.
    pub fn write_session(&mut self, source: &str, session: &ScanSession<'_>) -> io::Result<u64> {
        let first = session.first_target;
        // Parts with no row: at session level all but the last; at target
        // level a last part whose targets all came in earlier parts.
        let rowless = match self.options.level {
            Level::Session => session.more_targets,
            Level::Target => first > 0 && session.targets.as_ref().is_none_or(Vec::is_empty),
        };
        if rowless {
            return Ok(0);
        }
        // The session's cells are formatted once and repeated on each of its rows.
        self.scratch.0.clear();
        let head = session_cells(source, session, &mut self.scratch);
        if let Sink::Csv(csv) = &mut self.sink {
            csv.encode_head(&head, &self.scratch, self.options.neutralize_formulas);
        }
        let session_text = self.scratch.0.len();
        let before = self.rows;
        match (self.options.level, session.targets.as_deref()) {
            (Level::Session, targets) => {
                let tail = [self.scratch.integer(targets.map(|targets| first + targets.len()))];
                self.write_row(&head, &tail)?;
            }
            (Level::Target, Some(targets)) if !targets.is_empty() => {
                for (index, target) in (first..).zip(targets) {
                    self.scratch.0.truncate(session_text);
                    let tail = target_cells(Some((index, target)), self.options.duration, &mut self.scratch);
                    self.write_row(&head, &tail)?;
                }
            }
            (Level::Target, _) => {
                let tail = target_cells(None, self.options.duration, &mut self.scratch);
                self.write_row(&head, &tail)?;
            }
        }
        Ok(self.rows - before)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// CSV cells prefixed with `'` so far.
    pub fn neutralized(&self) -> u64 {
        self.neutralized
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    ///
    /// Fails when flushing fails.
    pub fn finish(self) -> io::Result<W> {
        match self.sink {
            Sink::Csv(csv) => csv.finish(),
            Sink::Ndjson(mut out) => {
                out.flush()?;
                Ok(out)
            }
        }
    }

    fn write_row(&mut self, head: &[Cell<'_>], tail: &[Cell<'_>]) -> io::Result<()> {
        let result = match &mut self.sink {
            Sink::Csv(csv) => csv.row(tail, &self.scratch, self.options.neutralize_formulas).and_then(|neutralized| {
                self.neutralized += neutralized;
                csv.end_row()
            }),
            Sink::Ndjson(out) => write_json_row(out, &self.keys, head.iter().chain(tail), &self.scratch),
        };
        self.rows += 1;
        result
    }
}

/// CSV rows (RFC 4180, CRLF) gathered in a buffer and written in large
/// pieces. A session's cells are encoded once and copied to each of its
/// rows. Quoting is csv-core's: it decides which fields need quotes, as the
/// csv crate does; a test compares the bytes with the csv crate's.
struct CsvRows<W: Write> {
    out: W,
    buf: Vec<u8>,
    quoting: csv_core::Writer,
    /// The current session's cells, encoded, with the delimiter after them.
    head: Vec<u8>,
    /// How many of them were neutralized.
    head_neutralized: u64,
}

/// The buffer is written out once it holds this much.
const CSV_FLUSH: usize = 1 << 16;

impl<W: Write> CsvRows<W> {
    fn new(out: W) -> Self {
        CsvRows {
            out,
            buf: Vec::with_capacity(2 * CSV_FLUSH),
            quoting: csv_core::WriterBuilder::new().terminator(csv_core::Terminator::CRLF).build(),
            head: Vec::new(),
            head_neutralized: 0,
        }
    }

    fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            write_csv_field(&self.quoting, b"", column.as_bytes(), &mut self.buf)?;
        }
        self.end_row()
    }

    fn encode_head(&mut self, head: &[Cell<'_>], scratch: &Scratch, neutralize: bool) {
        self.head.clear();
        self.head_neutralized = 0;
        for cell in head {
            let neutralized = encode_cell(&self.quoting, cell, scratch, neutralize, &mut self.head);
            self.head_neutralized += u64::from(neutralized.expect("writing to a Vec does not fail"));
            self.head.push(b',');
        }
    }

    /// Writes the session's cells and then `tail`; returns how many cells
    /// were neutralized. A cell larger than the buffer goes straight out.
    fn row(&mut self, tail: &[Cell<'_>], scratch: &Scratch, neutralize: bool) -> io::Result<u64> {
        self.buf.extend_from_slice(&self.head);
        let mut neutralized = self.head_neutralized;
        for (i, cell) in tail.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            let large = matches!(cell, Cell::Text(value) if value.len() > CSV_FLUSH);
            let written = if large {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
                encode_cell(&self.quoting, cell, scratch, neutralize, &mut self.out)?
            } else {
                encode_cell(&self.quoting, cell, scratch, neutralize, &mut self.buf)?
            };
            neutralized += u64::from(written);
        }
        Ok(neutralized)
    }

    fn end_row(&mut self) -> io::Result<()> {
        self.buf.extend_from_slice(b"\r\n");
        if self.buf.len() >= CSV_FLUSH {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Encodes one cell onto `out`; returns whether it was neutralized.
fn encode_cell(
    quoting: &csv_core::Writer,
    cell: &Cell<'_>,
    scratch: &Scratch,
    neutralize: bool,
    out: &mut impl Write,
) -> io::Result<bool> {
    match cell {
        Cell::Text(value) if neutralize && runs_as_formula(value) => {
            write_csv_field(quoting, b"'", value.as_bytes(), out)?;
            Ok(true)
        }
        Cell::Text(value) => write_csv_field(quoting, b"", value.as_bytes(), out).map(|()| false),
        Cell::Formatted(range) | Cell::Number(range) => {
            write_csv_field(quoting, b"", scratch.get(range).as_bytes(), out).map(|()| false)
        }
        Cell::Empty => Ok(false),
    }
}

/// Writes `prefix` then `value` as one CSV field: in quotes, with quotes
/// doubled, when csv-core says the field needs them. One pass over the
/// field, however long, and no copy of it beyond the output.
fn write_csv_field(quoting: &csv_core::Writer, prefix: &[u8], value: &[u8], out: &mut impl Write) -> io::Result<()> {
    if !quoting.should_quote(prefix) && !quoting.should_quote(value) {
        out.write_all(prefix)?;
        return out.write_all(value);
    }
    out.write_all(b"\"")?;
    for part in [prefix, value] {
        let mut rest = part;
        while let Some(at) = memchr::memchr(b'"', rest) {
            out.write_all(&rest[..=at])?;
            out.write_all(b"\"")?;
            rest = &rest[at + 1..];
        }
        out.write_all(rest)?;
    }
    out.write_all(b"\"")
}

/// The cells a session contributes to each of its rows.
fn session_cells<'a>(
    source: &'a str,
    session: &'a ScanSession<'_>,
    scratch: &mut Scratch,
) -> [Cell<'a>; SESSION_FIELDS] {
    [
        // `-` names stdin, a marker of ours; any other source is a path someone chose.
        if source == "-" { scratch.formatted(Some(source)) } else { Cell::Text(source) },
        text(session.session_id.as_deref()),
        text(session.scan_definition_id.as_deref()),
        text(session.org_id.as_deref()),
        text(session.scanner_id.as_deref()),
        text(session.status.as_ref().map(|s| s.as_str())),
        text(session.general_error_message.as_deref()),
        scratch.formatted(session.last_scanned),
        scratch.integer(session.number_of_targets),
        scratch.integer(session.number_of_successfully_scanned_targets),
    ]
}

/// The target columns of a row; all empty for a session without targets.
fn target_cells<'a>(
    target: Option<(usize, &'a ScannedTarget<'_>)>,
    duration: DurationFormat,
    scratch: &mut Scratch,
) -> [Cell<'a>; 7] {
    let t = target.map(|(_, t)| t);
    [
        scratch.integer(target.map(|(index, _)| index)),
        match t.and_then(|t| t.ip.as_ref()) {
            // An address is checked, so it cannot be a formula; text that is not one can.
            Some(TargetAddress::Ip(ip)) => scratch.address(ip),
            Some(TargetAddress::Unparsed(text)) => Cell::Text(text),
            None => Cell::Empty,
        },
        text(t.and_then(|t| t.hostname.as_deref())),
        text(t.and_then(|t| t.device_description.as_deref())),
        text(t.and_then(|t| t.status.as_ref()).map(|s| s.as_str())),
        text(t.and_then(|t| t.error_message.as_deref())),
        match duration {
            DurationFormat::Seconds | DurationFormat::Milliseconds => {
                scratch.number(t.and_then(|t| t.duration.as_ref()).map(|d| d.display(duration)))
            }
            DurationFormat::Iso8601 | DurationFormat::TimeSpan => {
                scratch.formatted(t.and_then(|t| t.duration.as_ref()).map(|d| d.display(duration)))
            }
        },
    ]
}

/// Whether a spreadsheet would run `value` as a formula (OWASP CSV injection).
fn runs_as_formula(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn write_json_row<'c, W: Write>(
    out: &mut W,
    keys: &[String],
    cells: impl Iterator<Item = &'c Cell<'c>>,
    scratch: &Scratch,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, cell)) in keys.iter().zip(cells).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(key.as_bytes())?;
        match cell {
            Cell::Text(value) => serde_json::to_writer(&mut *out, value)?,
            Cell::Formatted(range) => serde_json::to_writer(&mut *out, scratch.get(range))?,
            Cell::Number(range) => out.write_all(scratch.get(range).as_bytes())?,
            Cell::Empty => out.write_all(b"null")?,
        }
    }
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::record::{ScanDuration, ScanStatus, Timestamp};

    fn session(targets: Option<Vec<ScannedTarget<'static>>>) -> ScanSession<'static> {
        ScanSession {
            session_id: Some("01de".into()),
            status: Some(ScanStatus::PartialSuccess),
            last_scanned: Some(Timestamp::parse("2022-12-19T15:14:24.5561791Z").unwrap().0),
            number_of_targets: Some(2),
            targets,
            ..ScanSession::default()
        }
    }

    fn target(ip: &str, hostname: &'static str, ticks: i64) -> ScannedTarget<'static> {
        ScannedTarget {
            ip: Some(TargetAddress::Ip(ip.parse().unwrap())),
            hostname: Some(hostname.into()),
            duration: Some(ScanDuration::from_ticks(ticks)),
            ..ScannedTarget::default()
        }
    }

    fn emit(options: EmitOptions, sessions: &[ScanSession<'_>]) -> (String, u64) {
        let mut writer = RowWriter::new(Vec::new(), options).unwrap();
        for s in sessions {
            writer.write_session("in.json", s).unwrap();
        }
        let neutralized = writer.neutralized();
        (String::from_utf8(writer.finish().unwrap()).unwrap(), neutralized)
    }

    #[test]
    fn csv_has_the_header_and_a_row_per_target() {
        let targets = vec![target("10.0.0.1", "sw-1", 5_101_234_567), target("::1", "=cmd|' /C calc'!A0", 0)];
        let (csv, neutralized) = emit(EmitOptions::default(), &[session(Some(targets))]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], TARGET_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "in.json,01de,,,,PartialSuccess,,2022-12-19T15:14:24.5561791Z,2,,0,10.0.0.1,sw-1,,,,510.1234567"
        );
        assert_eq!(
            lines[2],
            "in.json,01de,,,,PartialSuccess,,2022-12-19T15:14:24.5561791Z,2,,1,::1,'=cmd|' /C calc'!A0,,,,0"
        );
        assert_eq!(neutralized, 1);
    }

    #[test]
    fn stdin_source_is_not_neutralized_but_a_formula_path_is() {
        let mut writer = RowWriter::new(Vec::new(), EmitOptions::default()).unwrap();
        writer.write_session("-", &session(None)).unwrap();
        writer.write_session("=evil.json", &session(None)).unwrap();
        assert_eq!(writer.neutralized(), 1);
        let csv = String::from_utf8(writer.finish().unwrap()).unwrap();
        let sources: Vec<&str> = csv.split("\r\n").skip(1).filter_map(|l| l.split(',').next()).collect();
        assert_eq!(sources, ["-", "'=evil.json", ""]);
    }

    #[test]
    fn a_session_without_targets_still_gives_one_row() {
        let (csv, _) = emit(EmitOptions::default(), &[session(None), session(Some(vec![]))]);
        assert_eq!(csv.matches("\r\n").count(), 3, "{csv}");
    }

    #[test]
    fn ndjson_rows_use_the_same_keys_and_are_never_altered() {
        let options = EmitOptions { format: Format::Ndjson, ..EmitOptions::default() };
        let (ndjson, neutralized) = emit(options, &[session(Some(vec![target("10.0.0.1", "=1+1", -10_000_000)]))]);
        let row: serde_json::Value = serde_json::from_str(ndjson.trim_end()).unwrap();
        let keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = TARGET_COLUMNS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(row["hostname"], "=1+1");
        assert_eq!(row["scan_duration_s"], -1);
        assert_eq!(row["number_of_successfully_scanned_targets"], serde_json::Value::Null);
        assert_eq!(neutralized, 0);
        assert!(ndjson.contains("\"scan_duration_s\":-1}"), "{ndjson}");
    }

    #[test]
    fn session_level_counts_targets_and_numbers_are_never_neutralized() {
        let options = EmitOptions { level: Level::Session, ..EmitOptions::default() };
        let negative = target("10.0.0.1", "h", -5);
        let (csv, neutralized) = emit(options, &[session(Some(vec![negative.clone(), negative]))]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], options.columns().join(","));
        assert!(lines[0].ends_with(",number_of_successfully_scanned_targets,targets_listed"));
        assert!(lines[1].ends_with(",2,,2"), "{}", lines[1]);
        assert_eq!(neutralized, 0);
        let durations = EmitOptions { duration: DurationFormat::Iso8601, ..EmitOptions::default() };
        let (csv, _) = emit(durations, &[session(Some(vec![target("10.0.0.1", "h", -5)]))]);
        assert!(csv.contains(",-PT0.0000005S\r\n"), "{csv}");
    }

    proptest! {
        #[test]
        fn csv_fields_are_the_bytes_the_csv_crate_writes(
            fields in prop::collection::vec("[a-c,\"\r\n '=é]{0,6}", 2..6),
            prefix in any::<bool>(),
        ) {
            let quoting = csv_core::WriterBuilder::new().terminator(csv_core::Terminator::CRLF).build();
            let prefix: &[u8] = if prefix { b"'" } else { b"" };
            let mut ours = Vec::new();
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    ours.push(b',');
                }
                write_csv_field(&quoting, prefix, field.as_bytes(), &mut ours).unwrap();
            }
            ours.extend_from_slice(b"\r\n");
            let mut theirs = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
            let prefixed = fields.iter().map(|f| [prefix, f.as_bytes()].concat());
            theirs.write_record(prefixed).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs.into_inner().unwrap()).unwrap());
        }
    }

    #[test]
    fn a_cell_larger_than_the_buffer_goes_straight_out_whole() {
        let big = format!("a,\"{}", "x".repeat(3 * CSV_FLUSH));
        let mut target = target("10.0.0.1", "h", 0);
        target.error_message = Some(big.clone().into());
        let (csv, _) = emit(EmitOptions::default(), &[session(Some(vec![target]))]);
        let row = csv::Reader::from_reader(csv.as_bytes()).records().next().unwrap().unwrap();
        assert_eq!(&row[15], big);
    }
}
