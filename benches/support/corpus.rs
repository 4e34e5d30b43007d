//! A deterministic, seeded generator of realistic scan-history responses, for
//! benchmarks and for the cross-tool comparison in `benches/compare.sh`.
//!
//! Records carry what the real API writes: 7-digit timestamps, TimeSpan
//! durations, GUIDs, and hostnames and error texts with escapes, quotes and
//! non-ASCII characters.

#![allow(dead_code)]

use std::fmt::Write;

/// SplitMix64: small, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits).map(|_| char::from_digit(self.below(16) as u32, 16).unwrap()).collect()
    }

    fn guid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))
    }
}

const HOSTS: &[&str] = &[
    "core-sw-01",
    "edge-fw-02",
    "DESKTOP-Test",
    "imprimante-étage-3",
    "lab \\\"quoted\\\" switch",
    "路由器-北京",
    "ap-ü-7\\tcorridor",
];
const DESCRIPTIONS: &[&str] = &[
    "Cisco IOS XE 17.9",
    "Fortinet FortiGate 7.2",
    "Network device",
    "HP LaserJet M507 — Büro",
    "Juniper \\\"EX\\\" 4300",
];
const ERRORS: &[&str] = &[
    "",
    "",
    "",
    "SNMP timeout after 30 s",
    "Credentials rejected: \\\"public\\\" community",
    "Hôte injoignable\\nretry later",
];
const STATUSES: &[&str] = &["Success", "Success", "Success", "PartialSuccess", "Failure"];

/// One target object, compact.
fn target(rng: &mut Rng, out: &mut String) {
    let seconds = rng.below(900);
    let fraction = rng.below(10_000_000);
    write!(
        out,
        r#"{{"ip":"10.{}.{}.{}","hostname":"{}-{}","scannedDeviceDescription":"{}","errorMessage":"{}","scanStatus":"{}","scanDuration":"00:{:02}:{:02}.{:07}"}}"#,
        rng.below(256),
        rng.below(256),
        rng.below(256),
        rng.pick(HOSTS),
        rng.below(10_000),
        rng.pick(DESCRIPTIONS),
        rng.pick(ERRORS),
        rng.pick(STATUSES),
        seconds / 60,
        seconds % 60,
        fraction
    )
    .unwrap();
}

/// One session record, compact, with `targets` targets.
pub fn session(rng: &mut Rng, targets: usize, out: &mut String) {
    write!(
        out,
        r#"{{"orgId":"{}","scanDefinitionId":"{}","sessionId":"{}","scannerId":"{}","numberOfSuccessfullyScannedTargets":{},"numberOfTargets":{},"scanStatus":"{}","generalErrorMessage":null,"LastScanned":"2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z","scannedTargets":["#,
        rng.guid(),
        rng.guid(),
        rng.hex(32),
        rng.hex(40),
        targets,
        targets,
        rng.pick(STATUSES),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(10_000_000)
    )
    .unwrap();
    for i in 0..targets {
        if i > 0 {
            out.push(',');
        }
        target(rng, out);
    }
    out.push_str("]}");
}

/// The kinds of corpus the benchmarks and the comparison use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One envelope, compact, as the API sends it.
    ValidCompact,
    /// One envelope, pretty-printed with two-space indentation.
    ValidPretty,
    /// The documented sample's damage on every record: bare sibling target
    /// objects where the array belongs, and trailing commas.
    SampleDamage,
    /// A mix: trailing commas, comments, single quotes, missing commas, NaN.
    MixedDamage,
    /// One response per line.
    Ndjson,
}

/// About `bytes` of one kind of corpus, from `seed`. Each record has 1 to 8 targets.
pub fn generate(kind: Kind, bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 4096);
    let mut record = String::new();
    let envelope_start =
        r#"{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#ScanHistory","value":["#;
    if kind != Kind::Ndjson {
        out.push_str(envelope_start);
    }
    let mut first = true;
    while out.len() < bytes {
        record.clear();
        let targets = 1 + rng.below(8) as usize;
        session(&mut rng, targets, &mut record);
        match kind {
            Kind::ValidCompact | Kind::ValidPretty => {
                if !first {
                    out.push(',');
                }
                out.push_str(&record);
            }
            Kind::SampleDamage => {
                if !first {
                    out.push(',');
                }
                out.push_str(&sample_damage(&record));
            }
            Kind::MixedDamage => {
                if !first {
                    out.push(',');
                }
                out.push_str(&mixed_damage(&record, &mut rng));
            }
            Kind::Ndjson => {
                out.push_str(envelope_start);
                out.push_str(&record);
                out.push_str("]}\n");
            }
        }
        first = false;
    }
    if kind != Kind::Ndjson {
        out.push_str("]}");
    }
    if kind == Kind::ValidPretty {
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        return serde_json::to_string_pretty(&value).unwrap();
    }
    out
}

/// The documented sample's damage: `"scannedTargets": {…},{…},}` and a
/// trailing comma after each target's last member.
fn sample_damage(record: &str) -> String {
    let open = record.find(r#""scannedTargets":["#).unwrap() + r#""scannedTargets":"#.len();
    let mut damaged = String::with_capacity(record.len() + 64);
    damaged.push_str(&record[..open]);
    let targets = &record[open + 1..record.len() - 2];
    damaged.push_str(&targets.replace("\"}", "\",}"));
    damaged.push_str(",}");
    damaged
}

fn mixed_damage(record: &str, rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => record.replacen(r#","scanStatus""#, r#",/* status */"scanStatus""#, 1),
        1 => record.replacen(r#""generalErrorMessage":null"#, r#"'generalErrorMessage':NaN"#, 1),
        2 => record.replacen(r#","numberOfTargets""#, r#" "numberOfTargets""#, 1),
        3 => record.replace("\"}", "\",}"),
        _ => record.replacen(r#""orgId""#, "orgId", 1),
    }
}

/// UTF-16LE with a BOM and CRLF line ends, as Windows PowerShell's `>` writes.
pub fn utf16_export(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.replace('\n', "\r\n").encode_utf16() {
        out.extend(unit.to_le_bytes());
    }
    out
}

/// Many small files: `count` responses of one to three records each.
pub fn small_files(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let mut out = String::from(r#"{"value":["#);
            for i in 0..1 + rng.below(3) {
                if i > 0 {
                    out.push(',');
                }
                let targets = 1 + rng.below(8) as usize;
                session(&mut rng, targets, &mut out);
            }
            out.push_str("]}");
            out
        })
        .collect()
}
