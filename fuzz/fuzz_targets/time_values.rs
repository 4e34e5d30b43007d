//! Durations and timestamps survive format → parse → format unchanged, and
//! arbitrary strings never panic the parsers.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use scanhist::{DurationFormat, ScanDuration, Timestamp};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    text: &'a str,
    ticks: i64,
    seconds: i64,
    nanos: u32,
    digits: u8,
}

fuzz_target!(|input: Input<'_>| {
    let _ = ScanDuration::parse(input.text);
    let _ = Timestamp::parse(input.text);

    let duration = ScanDuration::from_ticks(input.ticks);
    for format in [DurationFormat::TimeSpan, DurationFormat::Iso8601] {
        let text = duration.display(format).to_string();
        let (parsed, notes) = ScanDuration::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, duration, "{text}");
        assert!(notes.is_empty());
        assert_eq!(parsed.display(format).to_string(), text);
    }

    // Years 1..=9999, the range RFC 3339 writes with four digits.
    let seconds = input.seconds.rem_euclid(253_402_300_800 - 62_135_596_800) - 62_135_596_800;
    let digits = usize::from(input.digits % 10);
    let nanos = input.nanos % 1_000_000_000;
    let fraction = format!("{nanos:09}");
    let written = chrono::DateTime::from_timestamp(seconds, 0).unwrap().format("%Y-%m-%dT%H:%M:%S").to_string();
    let text = if digits == 0 { format!("{written}Z") } else { format!("{written}.{}Z", &fraction[..digits]) };
    let (timestamp, notes) = Timestamp::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(notes.is_empty());
    assert_eq!(timestamp.to_string(), text);
    assert_eq!(Timestamp::parse(&timestamp.to_string()).unwrap().0, timestamp);
});
