//! Time values of scan history: `LastScanned` timestamps and `ScanDuration`
//! durations, both at 100 ns (one .NET tick) resolution or finer.
//!
//! Timestamps keep the precision they were written with, so 7 fraction
//! digits in are 7 digits out. Durations are whole ticks; nothing passes
//! through floating point.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::{all_consuming, opt};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

/// Ticks (100 ns) in one second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;

/// Something a time parser accepted but wants said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeNote {
    /// A timestamp had no zone; it was read as UTC.
    MissingZone,
    /// More fraction digits than the type holds; the rest were dropped.
    FractionTruncated {
        /// Digits written.
        written: usize,
        /// Digits kept.
        kept: usize,
    },
}

impl fmt::Display for TimeNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeNote::MissingZone => f.write_str("no time zone given; read as UTC"),
            TimeNote::FractionTruncated { written, kept } => {
                write!(f, "{written} fraction digits given; kept the first {kept}")
            }
        }
    }
}

/// Why a time value could not be read. The message names the part at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(String);

impl TimeError {
    fn new(message: impl Into<String>) -> Self {
        TimeError(message.into())
    }
}

/// A parsed time value with the notes its parser made, or why it failed.
pub type TimeParse<T> = Result<(T, Vec<TimeNote>), TimeError>;

// ----- timestamps ------------------------------------------------------------

/// A UTC instant and the number of fraction digits it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    instant: DateTime<Utc>,
    fraction_digits: u8,
}

impl Timestamp {
    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }

    /// How many fraction digits the input had (at most 9).
    pub fn fraction_digits(&self) -> u8 {
        self.fraction_digits
    }

    /// Parses the forms scan history uses: ISO 8601 with 0 to 9 fraction
    /// digits (more are truncated, with a note) and a zone of `Z` or `±hh:mm`
    /// (none reads as UTC, with a note); and `/Date(ms[±hhmm])/` as Windows
    /// PowerShell 5.1 writes dates (its `\/` arrives unescaped as `/`).
    ///
    /// # Errors
    ///
    /// Fails on any other text, and on dates or times that do not exist.
    pub fn parse(text: &str) -> TimeParse<Timestamp> {
        let text = text.trim();
        if let Some(ms) = text.strip_prefix("/Date(").or_else(|| text.strip_prefix("\\/Date(")) {
            return parse_ms_date(ms, text).map(|t| (t, Vec::new()));
        }
        if let Some(timestamp) = canonical_timestamp(text) {
            return Ok((timestamp, Vec::new()));
        }
        let (_, parts) =
            iso_timestamp(text).map_err(|_| TimeError::new(format!("{text:?} is not an ISO 8601 timestamp")))?;
        let date = NaiveDate::from_ymd_opt(parts.year, parts.month, parts.day)
            .ok_or_else(|| TimeError::new(format!("{text:?} names a date that does not exist")))?;
        if parts.hour > 23 || parts.minute > 59 || parts.second > 59 {
            return Err(TimeError::new(format!("{text:?} has a time of day out of range")));
        }
        let mut notes = Vec::new();
        let written = parts.fraction.len();
        let kept = written.min(9);
        if written > kept {
            notes.push(TimeNote::FractionTruncated { written, kept });
        }
        let digits = &parts.fraction[..kept];
        let nanos = digits.bytes().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) * 10u32.pow(9 - kept as u32);
        let time = NaiveTime::from_hms_nano_opt(parts.hour, parts.minute, parts.second, nanos)
            .ok_or_else(|| TimeError::new(format!("{text:?} has a time of day out of range")))?;
        let local = NaiveDateTime::new(date, time);
        let offset_seconds = match parts.zone {
            Some(offset) => offset,
            None => {
                notes.push(TimeNote::MissingZone);
                0
            }
        };
        let utc = local - TimeDelta::seconds(i64::from(offset_seconds));
        Ok((Timestamp { instant: utc.and_utc(), fraction_digits: kept as u8 }, notes))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with a `Z`, with as many fraction digits as the input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Digits directly rather than strftime or `write!`: a row writer
        // formats one of these per session.
        let t = self.instant;
        let mut out = Ascii::new();
        let year = t.year();
        if year < 0 {
            // As `{:04}` writes it: the sign counts towards the width.
            out.push(b'-');
            out.digits(u64::from(year.unsigned_abs()), 3);
        } else {
            out.digits(u64::from(year.unsigned_abs()), 4);
        }
        for (separator, field) in
            [(b'-', t.month()), (b'-', t.day()), (b'T', t.hour()), (b':', t.minute()), (b':', t.second())]
        {
            out.push(separator);
            out.digits(u64::from(field), 2);
        }
        let digits = u32::from(self.fraction_digits);
        if digits > 0 {
            out.push(b'.');
            out.digits(u64::from(t.timestamp_subsec_nanos() / 10u32.pow(9 - digits)), digits as usize);
        }
        out.push(b'Z');
        f.write_str(out.as_str())
    }
}

struct TimestampParts<'a> {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    fraction: &'a str,
    /// Offset east of UTC in seconds; `None` when no zone was written.
    zone: Option<i32>,
}

/// `yyyy-mm-ddThh:mm:ss[.f]Z` with at most nine fraction digits, the form
/// the API writes, read without the grammar. `None` for any other text,
/// which the grammar then reads (or rejects, saying why).
fn canonical_timestamp(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let (clock, rest) = bytes.split_at_checked(19)?;
    let [y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':', mi1, mi2, b':', s1, s2] = *clock else {
        return None;
    };
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')));
    let fraction = match rest {
        [b'Z'] => &[][..],
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => digits,
        _ => return None,
    };
    let nanos = number(fraction)? * 10u32.pow(9 - fraction.len() as u32);
    let year = number(&[y1, y2, y3, y4])?;
    let date = NaiveDate::from_ymd_opt(year as i32, number(&[mo1, mo2])?, number(&[d1, d2])?)?;
    let time = NaiveTime::from_hms_nano_opt(number(&[h1, h2])?, number(&[mi1, mi2])?, number(&[s1, s2])?, nanos)?;
    let instant = NaiveDateTime::new(date, time).and_utc();
    Some(Timestamp { instant, fraction_digits: fraction.len() as u8 })
}

fn digits_n(n: usize) -> impl FnMut(&str) -> IResult<&str, u32> {
    move |input| {
        let (rest, digits) = take_while_m_n(n, n, |c: char| c.is_ascii_digit()).parse(input)?;
        Ok((rest, digits.parse().expect("ascii digits")))
    }
}

fn iso_timestamp(input: &str) -> IResult<&str, TimestampParts<'_>> {
    let (input, (year, _, month, _, day)) =
        (digits_n(4), char('-'), digits_n(2), char('-'), digits_n(2)).parse(input)?;
    let (input, (_, hour, _, minute)) = (one_of("Tt "), digits_n(2), char(':'), digits_n(2)).parse(input)?;
    let (input, second) = opt(preceded(char(':'), digits_n(2))).parse(input)?;
    let (input, fraction) = opt(preceded(one_of(".,"), take_while1(|c: char| c.is_ascii_digit()))).parse(input)?;
    let (input, zone) = all_consuming(opt(zone)).parse(input)?;
    Ok((
        input,
        TimestampParts {
            year: year as i32,
            month,
            day,
            hour,
            minute,
            second: second.unwrap_or(0),
            fraction: fraction.unwrap_or(""),
            zone,
        },
    ))
}

fn zone(input: &str) -> IResult<&str, i32> {
    let utc = |input| one_of("Zz").map(|_| 0).parse(input);
    let offset = |input| {
        let (input, (sign, hours, _, minutes)) =
            (one_of("+-"), digits_n(2), opt(char(':')), digits_n(2)).parse(input)?;
        let seconds = (hours * 3600 + minutes * 60) as i32;
        Ok((input, if sign == '-' { -seconds } else { seconds }))
    };
    alt((utc, offset)).parse(input)
}

/// `ms[±hhmm])/`, the rest of `/Date(`. The milliseconds are already UTC;
/// the offset only says where the writer was, so it does not move the instant.
fn parse_ms_date(rest: &str, whole: &str) -> Result<Timestamp, TimeError> {
    let invalid = || TimeError::new(format!("{whole:?} is not a /Date(milliseconds)/ value"));
    let inner = rest.strip_suffix(")/").or_else(|| rest.strip_suffix(")\\/")).ok_or_else(invalid)?;
    let digits_end = inner.char_indices().skip(1).find(|(_, c)| !c.is_ascii_digit()).map_or(inner.len(), |(i, _)| i);
    let (ms, offset) = inner.split_at(digits_end);
    let offset_ok = offset.is_empty()
        || (offset.len() == 5 && offset.starts_with(['+', '-']) && offset[1..].bytes().all(|b| b.is_ascii_digit()));
    if !offset_ok {
        return Err(invalid());
    }
    let ms: i64 = ms.parse().map_err(|_| invalid())?;
    let instant = DateTime::from_timestamp_millis(ms).ok_or_else(invalid)?;
    Ok(Timestamp { instant, fraction_digits: 3 })
}

// ----- durations -------------------------------------------------------------

/// A signed duration in ticks of 100 ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScanDuration {
    ticks: i64,
}

/// How to write a [`ScanDuration`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DurationFormat {
    /// Decimal seconds, exact: `510`, `510.1234567`.
    #[default]
    Seconds,
    /// ISO 8601: `PT8M30S`, `P1DT2H3M4.5S`.
    Iso8601,
    /// .NET TimeSpan "c" format: `00:08:30`, `1.02:03:04.5000000`.
    TimeSpan,
    /// Decimal milliseconds, exact: `510000`, `510123.4567`.
    Milliseconds,
}

impl ScanDuration {
    /// A duration of `ticks` × 100 ns.
    pub fn from_ticks(ticks: i64) -> Self {
        ScanDuration { ticks }
    }

    /// The duration in ticks of 100 ns.
    pub fn ticks(&self) -> i64 {
        self.ticks
    }

    /// Parses a .NET TimeSpan (`[-][d.]hh:mm[:ss[.fraction]]`, as OData's
    /// `Edm.TimeOfDay` and `Edm.Duration` write it) or an ISO 8601 duration
    /// (`[-]P[nW][nD][T[nH][nM][n[.n]S]]`). Fraction digits past the seventh
    /// are dropped, with a note.
    ///
    /// # Errors
    ///
    /// Fails on other text, on a field out of range (hours ≥ 24, minutes or
    /// seconds ≥ 60), and on durations too long for 64-bit ticks.
    pub fn parse(text: &str) -> TimeParse<ScanDuration> {
        let text = text.trim();
        if let Some(duration) = canonical_time_span(text) {
            return Ok((duration, Vec::new()));
        }
        let starts_iso = text.trim_start_matches(['-', '+']).starts_with(['P', 'p']);
        let parts = if starts_iso { iso_duration(text) } else { time_span(text) };
        let (_, parts) = parts.map_err(|_| {
            let form = if starts_iso { "an ISO 8601 duration" } else { "a TimeSpan ([-][d.]hh:mm[:ss[.fffffff]])" };
            TimeError::new(format!("{text:?} is not {form}"))
        })?;
        parts.into_duration(text)
    }

    /// Writes the duration in `format`.
    pub fn display(&self, format: DurationFormat) -> impl fmt::Display + '_ {
        DisplayDuration { duration: *self, format }
    }
}

/// `hh:mm:ss` with at most seven fraction digits, the form the API writes,
/// read without the grammar: most durations take this path. `None` for any
/// other text, which the grammar then reads (or rejects, saying why).
fn canonical_time_span(text: &str) -> Option<ScanDuration> {
    let bytes = text.as_bytes();
    let (clock, rest) = bytes.split_at_checked(8)?;
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *clock else {
        return None;
    };
    let two = |tens: u8, ones: u8| {
        (tens.is_ascii_digit() && ones.is_ascii_digit()).then(|| i64::from(tens - b'0') * 10 + i64::from(ones - b'0'))
    };
    let (hours, minutes, seconds) = (two(h1, h2)?, two(m1, m2)?, two(s1, s2)?);
    if hours >= 24 || minutes >= 60 || seconds >= 60 {
        return None;
    }
    let fraction = match rest {
        [] => 0,
        [b'.', digits @ ..] if (1..=7).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) => {
            digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')) * 10i64.pow(7 - digits.len() as u32)
        }
        _ => return None,
    };
    Some(ScanDuration { ticks: ((hours * 60 + minutes) * 60 + seconds) * TICKS_PER_SECOND + fraction })
}

/// The fields of a duration as written, before range checks.
struct DurationParts<'a> {
    negative: bool,
    days: u64,
    hours: u64,
    minutes: u64,
    seconds: u64,
    fraction: &'a str,
    /// TimeSpan fields are bounded (hh < 24, mm and ss < 60); ISO 8601 ones are not.
    bounded: bool,
}

impl DurationParts<'_> {
    fn into_duration(self, text: &str) -> TimeParse<ScanDuration> {
        if self.bounded {
            for (value, limit, name) in
                [(self.hours, 24, "hours"), (self.minutes, 60, "minutes"), (self.seconds, 60, "seconds")]
            {
                if value >= limit {
                    return Err(TimeError::new(format!("{name} must be below {limit} in {text:?}, not {value}")));
                }
            }
        }
        let mut notes = Vec::new();
        let written = self.fraction.len();
        let kept = written.min(7);
        if written > kept {
            notes.push(TimeNote::FractionTruncated { written, kept });
        }
        let fraction =
            self.fraction[..kept].bytes().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')) * 10i64.pow(7 - kept as u32);
        let too_long = || TimeError::new(format!("{text:?} is too long for a duration"));
        let seconds = [(self.days, 86_400u64), (self.hours, 3600), (self.minutes, 60), (self.seconds, 1)]
            .into_iter()
            .try_fold(0u64, |total, (value, unit)| value.checked_mul(unit)?.checked_add(total))
            .ok_or_else(too_long)?;
        // i128 holds any u64 seconds in ticks, and lets -2^63 ticks round-trip.
        let magnitude = i128::from(seconds) * i128::from(TICKS_PER_SECOND) + i128::from(fraction);
        let ticks = i64::try_from(if self.negative { -magnitude } else { magnitude }).map_err(|_| too_long())?;
        Ok((ScanDuration { ticks }, notes))
    }
}

fn number(input: &str) -> IResult<&str, u64> {
    let (rest, digits) = take_while1(|c: char| c.is_ascii_digit()).parse(input)?;
    match digits.parse() {
        Ok(value) => Ok((rest, value)),
        Err(_) => Err(nom::Err::Failure(nom::error::Error::new(input, nom::error::ErrorKind::TooLarge))),
    }
}

fn fraction(input: &str) -> IResult<&str, &str> {
    preceded(one_of(".,"), take_while1(|c: char| c.is_ascii_digit())).parse(input)
}

/// `[-][d.]hh:mm[:ss[.fraction]]`
fn time_span(input: &str) -> IResult<&str, DurationParts<'_>> {
    let (input, sign) = opt(one_of("+-")).parse(input)?;
    let (input, days) = opt(terminated(number, char('.'))).parse(input)?;
    let (input, (hours, _, minutes)) = (number, char(':'), number).parse(input)?;
    let (input, seconds) = opt((preceded(char(':'), number), opt(fraction))).parse(input)?;
    let (input, _) = all_consuming(tag("")).parse(input)?;
    let (seconds, fraction) = seconds.unwrap_or((0, None));
    Ok((
        input,
        DurationParts {
            negative: sign == Some('-'),
            days: days.unwrap_or(0),
            hours,
            minutes,
            seconds,
            fraction: fraction.unwrap_or(""),
            bounded: true,
        },
    ))
}

/// `[-]P[nW][nD][T[nH][nM][n[.n]S]]`, at least one component.
fn iso_duration(input: &str) -> IResult<&str, DurationParts<'_>> {
    let component = |unit: char| move |input| terminated(number, one_of(unit_cases(unit))).parse(input);
    let (input, sign) = opt(one_of("+-")).parse(input)?;
    let (input, _) = one_of("Pp").parse(input)?;
    let (input, (weeks, days)) = (opt(component('W')), opt(component('D'))).parse(input)?;
    let (input, time) = opt(preceded(
        one_of("Tt"),
        (opt(component('H')), opt(component('M')), opt(terminated((number, opt(fraction)), one_of("Ss")))),
    ))
    .parse(input)?;
    let (input, _) = all_consuming(tag("")).parse(input)?;
    let (hours, minutes, seconds) = time.unwrap_or((None, None, None));
    if [weeks, days, hours, minutes].iter().all(Option::is_none) && seconds.is_none() {
        return Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Verify)));
    }
    let (seconds, fraction) = seconds.unwrap_or((0, None));
    let days = weeks.unwrap_or(0).saturating_mul(7).saturating_add(days.unwrap_or(0));
    Ok((
        input,
        DurationParts {
            negative: sign == Some('-'),
            days,
            hours: hours.unwrap_or(0),
            minutes: minutes.unwrap_or(0),
            seconds,
            fraction: fraction.unwrap_or(""),
            bounded: false,
        },
    ))
}

fn unit_cases(unit: char) -> &'static str {
    match unit {
        'W' => "Ww",
        'D' => "Dd",
        'H' => "Hh",
        _ => "Mm",
    }
}

struct DisplayDuration {
    duration: ScanDuration,
    format: DurationFormat,
}

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ticks = self.duration.ticks;
        let magnitude = ticks.unsigned_abs();
        let per_second = TICKS_PER_SECOND as u64;
        let (whole_seconds, fraction) = (magnitude / per_second, magnitude % per_second);
        let mut out = Ascii::new();
        if ticks < 0 {
            out.push(b'-');
        }
        match self.format {
            DurationFormat::Seconds => {
                out.digits(whole_seconds, 1);
                out.fraction(fraction, 7);
            }
            DurationFormat::Milliseconds => {
                out.digits(magnitude / 10_000, 1);
                out.fraction(magnitude % 10_000, 4);
            }
            DurationFormat::TimeSpan => {
                let (days, rest) = (whole_seconds / 86_400, whole_seconds % 86_400);
                if days > 0 {
                    out.digits(days, 1);
                    out.push(b'.');
                }
                out.digits(rest / 3600, 2);
                out.push(b':');
                out.digits(rest % 3600 / 60, 2);
                out.push(b':');
                out.digits(rest % 60, 2);
                if fraction > 0 {
                    out.push(b'.');
                    out.digits(fraction, 7);
                }
            }
            DurationFormat::Iso8601 => {
                let (days, rest) = (whole_seconds / 86_400, whole_seconds % 86_400);
                let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
                out.push(b'P');
                if days > 0 {
                    out.digits(days, 1);
                    out.push(b'D');
                }
                if hours > 0 || minutes > 0 || seconds > 0 || fraction > 0 || days == 0 {
                    out.push(b'T');
                    if hours > 0 {
                        out.digits(hours, 1);
                        out.push(b'H');
                    }
                    if minutes > 0 {
                        out.digits(minutes, 1);
                        out.push(b'M');
                    }
                    if seconds > 0 || fraction > 0 || (hours == 0 && minutes == 0) {
                        out.digits(seconds, 1);
                        out.fraction(fraction, 7);
                        out.push(b'S');
                    }
                }
            }
        }
        f.write_str(out.as_str())
    }
}

/// ASCII text built on the stack and written with one `write_str`, without
/// the formatting machinery: long enough for any timestamp or duration.
struct Ascii {
    bytes: [u8; 48],
    len: usize,
}

impl Ascii {
    fn new() -> Self {
        Ascii { bytes: [0; 48], len: 0 }
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    fn digits(&mut self, value: u64, width: usize) {
        let mut buffer = itoa::Buffer::new();
        let text = buffer.format(value).as_bytes();
        for _ in text.len()..width {
            self.push(b'0');
        }
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text);
        self.len += text.len();
    }

    /// `.` and `value` as `width` digits without trailing zeros; nothing for 0.
    fn fraction(&mut self, value: u64, width: usize) {
        if value == 0 {
            return;
        }
        self.push(b'.');
        self.digits(value, width);
        while self.bytes[self.len - 1] == b'0' {
            self.len -= 1;
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only ASCII is pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> (String, Vec<TimeNote>) {
        let (t, notes) = Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (t.to_string(), notes)
    }

    #[test]
    fn timestamps_keep_their_precision_in_utc() {
        for (input, output) in [
            ("2022-12-19T15:14:24.5561791Z", "2022-12-19T15:14:24.5561791Z"),
            ("2022-12-19T15:14:24.538203Z", "2022-12-19T15:14:24.538203Z"),
            ("2022-12-19T15:14:24.2Z", "2022-12-19T15:14:24.2Z"),
            ("2022-12-19T15:14:24Z", "2022-12-19T15:14:24Z"),
            ("2022-12-19T15:14:24.5000000Z", "2022-12-19T15:14:24.5000000Z"),
            ("2022-12-19T17:14:24.1+02:00", "2022-12-19T15:14:24.1Z"),
            ("2022-12-19T10:14:24-0500", "2022-12-19T15:14:24Z"),
            ("2022-12-31T23:30:00-01:00", "2023-01-01T00:30:00Z"),
            ("2022-12-19 15:14Z", "2022-12-19T15:14:00Z"),
        ] {
            assert_eq!(ts(input), (output.to_owned(), vec![]), "{input}");
        }
    }

    #[test]
    fn seven_digits_are_ticks_not_rounded_microseconds() {
        let (t, _) = Timestamp::parse("2022-12-19T15:14:24.5561791Z").unwrap();
        assert_eq!(t.instant().timestamp_subsec_nanos(), 556_179_100);
        assert_eq!(t.fraction_digits(), 7);
    }

    #[test]
    fn missing_zone_and_long_fractions_are_noted() {
        assert_eq!(ts("2022-12-19T15:14:24.55"), ("2022-12-19T15:14:24.55Z".to_owned(), vec![TimeNote::MissingZone]));
        assert_eq!(
            ts("2022-12-19T15:14:24.123456789012Z"),
            ("2022-12-19T15:14:24.123456789Z".to_owned(), vec![TimeNote::FractionTruncated { written: 12, kept: 9 }])
        );
    }

    #[test]
    fn powershell_dates_are_milliseconds_since_the_epoch() {
        assert_eq!(ts("/Date(1671462864556)/").0, "2022-12-19T15:14:24.556Z");
        assert_eq!(ts("\\/Date(1671462864556)\\/").0, "2022-12-19T15:14:24.556Z");
        assert_eq!(ts("/Date(1671462864556+0100)/").0, "2022-12-19T15:14:24.556Z");
        assert_eq!(ts("/Date(-1000)/").0, "1969-12-31T23:59:59.000Z");
    }

    #[test]
    fn bad_timestamps_say_why() {
        for (input, message) in [
            ("yesterday", "\"yesterday\" is not an ISO 8601 timestamp"),
            ("2022-02-30T00:00:00Z", "\"2022-02-30T00:00:00Z\" names a date that does not exist"),
            ("2022-02-01T24:00:00Z", "\"2022-02-01T24:00:00Z\" has a time of day out of range"),
            ("/Date(12x)/", "\"/Date(12x)/\" is not a /Date(milliseconds)/ value"),
        ] {
            assert_eq!(Timestamp::parse(input).unwrap_err().to_string(), message);
        }
    }

    fn ticks(text: &str) -> i64 {
        ScanDuration::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).0.ticks()
    }

    #[test]
    fn timespan_and_iso_durations() {
        const S: i64 = TICKS_PER_SECOND;
        for (input, expected) in [
            ("00:08:30", 510 * S),
            ("8:30", 8 * 3600 * S + 30 * 60 * S),
            ("00:08:30.1234567", 510 * S + 1_234_567),
            ("00:00:00.5", S / 2),
            ("1.02:03:04.5000000", (86_400 + 2 * 3600 + 3 * 60 + 4) * S + S / 2),
            ("-00:00:01", -S),
            ("PT8M30S", 510 * S),
            ("PT0.0000001S", 1),
            ("P1DT2H", (86_400 + 7200) * S),
            ("P2W", 14 * 86_400 * S),
            ("-PT1.5S", -(S + S / 2)),
            ("PT90M", 5400 * S),
        ] {
            assert_eq!(ticks(input), expected, "{input}");
        }
    }

    #[test]
    fn out_of_range_and_malformed_durations_are_errors() {
        for (input, message) in [
            ("00:60:00", "minutes must be below 60 in \"00:60:00\", not 60"),
            ("00:00:61", "seconds must be below 60 in \"00:00:61\", not 61"),
            ("25:00:00", "hours must be below 24 in \"25:00:00\", not 25"),
            ("8m30s", "\"8m30s\" is not a TimeSpan ([-][d.]hh:mm[:ss[.fffffff]])"),
            ("PT", "\"PT\" is not an ISO 8601 duration"),
            ("P1Y", "\"P1Y\" is not an ISO 8601 duration"),
            (
                "99999999999999999999.00:00:00",
                "\"99999999999999999999.00:00:00\" is not a TimeSpan ([-][d.]hh:mm[:ss[.fffffff]])",
            ),
            ("10675199.02:48:05.4775808", "\"10675199.02:48:05.4775808\" is too long for a duration"),
        ] {
            assert_eq!(ScanDuration::parse(input).unwrap_err().to_string(), message, "{input}");
        }
    }

    #[test]
    fn twelve_fraction_digits_keep_seven_with_a_note() {
        let (duration, notes) = ScanDuration::parse("00:00:01.123456789012").unwrap();
        assert_eq!(duration.ticks(), TICKS_PER_SECOND + 1_234_567);
        assert_eq!(notes, [TimeNote::FractionTruncated { written: 12, kept: 7 }]);
    }

    #[test]
    fn durations_format_exactly() {
        let d = ScanDuration::from_ticks(510 * TICKS_PER_SECOND + 1_234_567);
        assert_eq!(d.display(DurationFormat::Seconds).to_string(), "510.1234567");
        assert_eq!(d.display(DurationFormat::Milliseconds).to_string(), "510123.4567");
        assert_eq!(d.display(DurationFormat::TimeSpan).to_string(), "00:08:30.1234567");
        assert_eq!(d.display(DurationFormat::Iso8601).to_string(), "PT8M30.1234567S");
        let whole = ScanDuration::from_ticks(510 * TICKS_PER_SECOND);
        assert_eq!(whole.display(DurationFormat::Seconds).to_string(), "510");
        let day = ScanDuration::from_ticks(-86_400 * TICKS_PER_SECOND - 5_000_000);
        assert_eq!(day.display(DurationFormat::TimeSpan).to_string(), "-1.00:00:00.5000000");
        assert_eq!(day.display(DurationFormat::Iso8601).to_string(), "-P1DT0.5S");
        assert_eq!(ScanDuration::default().display(DurationFormat::Iso8601).to_string(), "PT0S");
        assert_eq!(
            ScanDuration::from_ticks(86_400 * TICKS_PER_SECOND).display(DurationFormat::Iso8601).to_string(),
            "P1D"
        );
    }

    #[test]
    fn every_format_parses_back_to_the_same_ticks() {
        for ticks in [0, 1, 9_999_999, 5_100_000_000, -42, 86_400 * TICKS_PER_SECOND * 3 + 17, i64::MIN, i64::MAX] {
            let d = ScanDuration::from_ticks(ticks);
            for format in [DurationFormat::TimeSpan, DurationFormat::Iso8601] {
                let text = d.display(format).to_string();
                assert_eq!(ScanDuration::parse(&text).unwrap().0, d, "{text}");
            }
        }
    }

    /// The duration formats as `write!` writes them, to hold the digit writer to.
    fn reference_duration(ticks: i64, format: DurationFormat) -> String {
        let sign = if ticks < 0 { "-" } else { "" };
        let magnitude = ticks.unsigned_abs();
        let (whole, fraction) = (magnitude / 10_000_000, magnitude % 10_000_000);
        let trimmed = |value: u64, width: usize| {
            let digits = format!("{value:0width$}");
            if value == 0 {
                String::new()
            } else {
                format!(".{}", digits.trim_end_matches('0'))
            }
        };
        let (days, rest) = (whole / 86_400, whole % 86_400);
        let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
        match format {
            DurationFormat::Seconds => format!("{sign}{whole}{}", trimmed(fraction, 7)),
            DurationFormat::Milliseconds => format!("{sign}{}{}", magnitude / 10_000, trimmed(magnitude % 10_000, 4)),
            DurationFormat::TimeSpan => {
                let days = if days > 0 { format!("{days}.") } else { String::new() };
                let fraction = if fraction > 0 { format!(".{fraction:07}") } else { String::new() };
                format!("{sign}{days}{hours:02}:{minutes:02}:{seconds:02}{fraction}")
            }
            DurationFormat::Iso8601 => {
                let mut text = format!("{sign}P");
                if days > 0 {
                    text += &format!("{days}D");
                }
                if hours > 0 || minutes > 0 || seconds > 0 || fraction > 0 || days == 0 {
                    text.push('T');
                    if hours > 0 {
                        text += &format!("{hours}H");
                    }
                    if minutes > 0 {
                        text += &format!("{minutes}M");
                    }
                    if seconds > 0 || fraction > 0 || (hours == 0 && minutes == 0) {
                        text += &format!("{seconds}{}S", trimmed(fraction, 7));
                    }
                }
                text
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn durations_are_written_as_write_would(
            ticks in proptest::prop_oneof![proptest::prelude::any::<i64>(), -10_000_000_000i64..10_000_000_000, proptest::strategy::Just(i64::MIN)],
        ) {
            for format in [DurationFormat::Seconds, DurationFormat::Milliseconds, DurationFormat::TimeSpan, DurationFormat::Iso8601] {
                let written = ScanDuration::from_ticks(ticks).display(format).to_string();
                proptest::prop_assert_eq!(written, reference_duration(ticks, format), "{} ticks", ticks);
            }
        }

        #[test]
        fn timestamps_are_written_as_write_would(
            seconds in proptest::prop_oneof![-70_000_000_000i64..260_000_000_000, 0i64..4_000_000_000],
            nanos in 0u32..1_000_000_000,
            digits in 0u8..=9,
        ) {
            let instant = DateTime::from_timestamp(seconds, nanos).expect("in chrono's range");
            let t = Timestamp { instant, fraction_digits: digits };
            let mut expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                instant.year(), instant.month(), instant.day(), instant.hour(), instant.minute(), instant.second()
            );
            if digits > 0 {
                let fraction = nanos / 10u32.pow(9 - u32::from(digits));
                expected += &format!(".{fraction:0width$}", width = usize::from(digits));
            }
            expected.push('Z');
            proptest::prop_assert_eq!(t.to_string(), expected);
        }
    }

    /// The grammar alone, as `ScanDuration::parse` reads text that is not canonical.
    fn grammar(text: &str) -> Option<ScanDuration> {
        let (_, parts) = time_span(text).ok()?;
        parts.into_duration(text).ok().map(|(duration, _)| duration)
    }

    proptest::proptest! {
        #[test]
        fn the_canonical_fast_path_agrees_with_the_grammar(text in "[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,8})?") {
            let fast = canonical_time_span(&text);
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, grammar(&text), "{}", text);
            } else {
                // Out of range, or eight fraction digits: the grammar decides, with its message or note.
                let fraction_digits = text.split_once('.').map_or(0, |(_, f)| f.len());
                let in_range = text[..2] < *"24" && text[3..5] < *"60" && text[6..8] < *"60";
                proptest::prop_assert!(!in_range || fraction_digits > 7, "{}", text);
            }
        }

        #[test]
        fn the_fast_path_takes_nothing_the_grammar_rejects(text in "[0-9:.,+ -]{0,18}") {
            if let Some(fast) = canonical_time_span(&text) {
                proptest::prop_assert_eq!(Some(fast), grammar(&text), "{}", text);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_canonical_timestamp_path_agrees_with_the_grammar(
            text in "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,10})?Z",
        ) {
            let grammar = || {
                let (_, parts) = iso_timestamp(&text).ok()?;
                let date = NaiveDate::from_ymd_opt(parts.year, parts.month, parts.day)?;
                (parts.hour < 24 && parts.minute < 60 && parts.second < 60).then_some(())?;
                let kept = parts.fraction.len().min(9);
                let nanos = parts.fraction[..kept].bytes().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
                    * 10u32.pow(9 - kept as u32);
                let time = NaiveTime::from_hms_nano_opt(parts.hour, parts.minute, parts.second, nanos)?;
                Some(Timestamp { instant: NaiveDateTime::new(date, time).and_utc(), fraction_digits: kept as u8 })
            };
            match canonical_timestamp(&text) {
                Some(fast) => proptest::prop_assert_eq!(Some(fast), grammar(), "{}", text),
                // Only what the grammar rejects, or truncates with a note, is left to it.
                None => proptest::prop_assert!(grammar().is_none() || text.len() > 30, "{}", text),
            }
        }
    }
}
