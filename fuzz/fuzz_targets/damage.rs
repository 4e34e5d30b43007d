//! A differential check: valid responses get the damage saved files really
//! show (deleted and trailing commas, object runs, single quotes, comments,
//! truncation), and repair must recover every complete record of the original;
//! the one-pass `read` must find what `repair` then `decode_records` find.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use scanhist::{decode_records, read, repair, RepairOptions, ScanStatus, TargetAddress};

/// Text from a small alphabet, so that requoting cannot change it.
#[derive(Debug)]
struct Word(String);

impl<'a> Arbitrary<'a> for Word {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=10)?;
        (0..len).map(|_| u.choose(b"abcXYZ019 .:-_").map(|&b| char::from(b))).collect::<Result<_, _>>().map(Word)
    }
}

#[derive(Debug, Arbitrary)]
struct Target {
    ip: [u8; 4],
    hostname: Word,
    seconds: u32,
}

#[derive(Debug, Arbitrary)]
struct Session {
    id: Word,
    status: u8,
    targets: Option<Vec<Target>>,
    /// Write the targets as a run of bare objects, as the documented sample does.
    object_run: bool,
}

#[derive(Debug, Arbitrary)]
struct Damage {
    pretty: bool,
    trailing_commas: bool,
    single_quotes: bool,
    /// Bit i: delete the i-th comma (mod 64).
    deleted_commas: u64,
    /// Bit i: put a comment after the i-th comma (mod 64).
    comments: u64,
    /// Cut the text at this fraction of its length, in 1/65536ths; 0 keeps it whole.
    truncate_at: u16,
}

#[derive(Debug, Arbitrary)]
struct Input {
    sessions: Vec<Session>,
    damage: Damage,
}

const STATUSES: [&str; 4] = ["Success", "PartialSuccess", "Fail", "Failure"];

/// Writes the damaged response, noting where each record ends.
struct Writer<'d> {
    text: String,
    damage: &'d Damage,
    commas: u32,
}

impl Writer<'_> {
    fn quote(&self) -> char {
        if self.damage.single_quotes {
            '\''
        } else {
            '"'
        }
    }

    fn string(&mut self, s: &str) {
        let q = self.quote();
        self.text.push(q);
        self.text.push_str(s);
        self.text.push(q);
    }

    fn key(&mut self, key: &str) {
        self.string(key);
        self.text.push_str(": ");
    }

    fn comma(&mut self) {
        let bit = 1u64 << (self.commas % 64);
        self.commas += 1;
        if self.damage.deleted_commas & bit == 0 {
            self.text.push(',');
            if self.damage.comments & bit != 0 {
                self.text.push_str(" /* c */");
            }
        }
        self.text.push(if self.damage.pretty { '\n' } else { ' ' });
    }

    fn close(&mut self, closer: char) {
        if self.damage.trailing_commas {
            self.text.push(',');
        }
        self.text.push(closer);
    }

    fn target(&mut self, target: &Target) {
        self.text.push('{');
        self.key("ip");
        let [a, b, c, d] = target.ip;
        self.string(&format!("{a}.{b}.{c}.{d}"));
        self.comma();
        self.key("hostname");
        self.string(&target.hostname.0);
        self.comma();
        self.key("scanDuration");
        let s = target.seconds % 86_400;
        self.string(&format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60));
        self.close('}');
    }

    fn session(&mut self, session: &Session) {
        self.text.push('{');
        self.key("sessionId");
        self.string(&session.id.0);
        self.comma();
        self.key("scanStatus");
        self.string(STATUSES[usize::from(session.status % 4)]);
        if let Some(targets) = &session.targets {
            self.comma();
            self.key("scannedTargets");
            let run = session.object_run && !targets.is_empty();
            if !run {
                self.text.push('[');
            }
            for (i, target) in targets.iter().enumerate() {
                if i > 0 {
                    self.comma();
                }
                self.target(target);
            }
            if run {
                // The run ends where the session does, as in the documented sample.
                if self.damage.trailing_commas {
                    self.text.push(',');
                }
            } else {
                self.close(']');
            }
        }
        self.close('}');
    }
}

fuzz_target!(|input: Input| {
    let mut writer = Writer { text: String::new(), damage: &input.damage, commas: 0 };
    writer.text.push('{');
    writer.key("@odata.context");
    writer.string("ctx");
    writer.comma();
    writer.key("value");
    writer.text.push('[');
    let mut record_ends = Vec::new();
    for (i, session) in input.sessions.iter().enumerate() {
        if i > 0 {
            writer.comma();
        }
        writer.session(session);
        record_ends.push(writer.text.len());
    }
    writer.close(']');
    writer.close('}');
    let mut text = writer.text;

    let cut = (text.len() as u64 * u64::from(input.damage.truncate_at) / 65_536) as usize;
    if input.damage.truncate_at > 0 && cut > 0 {
        text.truncate(cut);
    }
    let complete = record_ends.iter().filter(|&&end| end <= text.len()).count();

    let repaired = repair(text.as_bytes(), &RepairOptions::default()).expect("a damaged response still repairs");
    let records = decode_records(&repaired);
    // The one-pass read, which types the documented sample's damage straight
    // from the input, finds the same.
    let mut storage = String::new();
    let (read_repaired, read_records) =
        read(text.as_bytes(), &RepairOptions::default(), &mut storage).expect("read fails only where repair does");
    assert_eq!(read_repaired.text(), repaired.text());
    assert_eq!(read_repaired.repairs(), repaired.repairs());
    assert_eq!(format!("{:?}", read_records.envelopes), format!("{:?}", records.envelopes));
    assert_eq!(format!("{:?}", read_records.diagnostics), format!("{:?}", records.diagnostics));
    let sessions: Vec<_> = records.sessions().collect();
    assert!(sessions.len() >= complete, "recovered {} of {complete} complete records from {text}", sessions.len());
    for (original, recovered) in input.sessions.iter().zip(&sessions).take(complete) {
        assert_eq!(recovered.session_id.as_deref(), Some(original.id.0.as_str()), "{text}");
        assert_eq!(recovered.status, Some(ScanStatus::parse(STATUSES[usize::from(original.status % 4)])));
        let expected: Option<Vec<(String, &str, i64)>> = original.targets.as_ref().map(|targets| {
            targets
                .iter()
                .map(|t| {
                    let [a, b, c, d] = t.ip;
                    (format!("{a}.{b}.{c}.{d}"), t.hostname.0.as_str(), i64::from(t.seconds % 86_400) * 10_000_000)
                })
                .collect()
        });
        let got: Option<Vec<(String, &str, i64)>> = recovered.targets.as_ref().map(|targets| {
            targets
                .iter()
                .map(|t| {
                    let ip = match &t.ip {
                        Some(TargetAddress::Ip(ip)) => ip.to_string(),
                        other => format!("{other:?}"),
                    };
                    (ip, t.hostname.as_deref().unwrap_or("<none>"), t.duration.map_or(-1, |d| d.ticks()))
                })
                .collect()
        });
        assert_eq!(got, expected, "{text}");
    }
});
