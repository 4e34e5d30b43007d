//! The baseline scanhist is measured against: what a careful user would write
//! with serde_json and csv alone. Typed decode with borrowed strings (`Cow`),
//! then the same flattening to the same columns. It does no repair, no key
//! aliases, no time parsing and no diagnostics.

#![allow(dead_code)]

use std::borrow::Cow;
use std::io::Write;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow)]
    pub value: Vec<Session<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session<'a> {
    #[serde(borrow)]
    pub org_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scan_definition_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scanner_id: Option<Cow<'a, str>>,
    pub number_of_successfully_scanned_targets: Option<i32>,
    pub number_of_targets: Option<i32>,
    #[serde(borrow)]
    pub scan_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub general_error_message: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "LastScanned")]
    pub last_scanned: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scanned_targets: Option<Vec<Target<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target<'a> {
    #[serde(borrow)]
    pub ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hostname: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scanned_device_description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub error_message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scan_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub scan_duration: Option<Cow<'a, str>>,
}

/// Decodes one envelope with borrowed strings.
pub fn decode(bytes: &[u8]) -> Envelope<'_> {
    serde_json::from_slice(bytes).expect("valid input")
}

/// Decodes and writes one CSV row per target, the durations copied as text.
pub fn to_csv<W: Write>(bytes: &[u8], source: &str, out: W) -> csv::Result<()> {
    let envelope = decode(bytes);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(scanhist::emit::TARGET_COLUMNS)?;
    let text = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("").to_owned();
    let number = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
    for session in &envelope.value {
        let head = [
            source.to_owned(),
            text(&session.session_id),
            text(&session.scan_definition_id),
            text(&session.org_id),
            text(&session.scanner_id),
            text(&session.scan_status),
            text(&session.general_error_message),
            text(&session.last_scanned),
            number(session.number_of_targets),
            number(session.number_of_successfully_scanned_targets),
        ];
        for (index, target) in session.scanned_targets.iter().flatten().enumerate() {
            let row = head.iter().cloned().chain([
                index.to_string(),
                text(&target.ip),
                text(&target.hostname),
                text(&target.scanned_device_description),
                text(&target.scan_status),
                text(&target.error_message),
                text(&target.scan_duration),
            ]);
            writer.write_record(row)?;
        }
    }
    writer.flush()?;
    Ok(())
}
