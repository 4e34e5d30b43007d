//! Repair, type, validate and convert saved Microsoft Defender for Endpoint
//! scan-history API responses.
//!
//! The data flows through one stage per module:
//!
//! ```text
//! bytes ─► decode ─► repair ─► strict JSON + repair log ─► records ─► emit CSV / NDJSON
//! ```
//!
//! [`repair()`] is the entry point: it takes the bytes of a saved response and
//! returns strict JSON plus every repair it made, each with its span in the
//! input. [`read()`] goes on to typed records (in one pass over input that is
//! already valid, or damaged only as the documented sample is), and
//! [`read_each()`] hands them on one at a time.
//!
//! ```
//! // The API's documented sample: bare sibling objects and trailing commas.
//! let sample = br#"{"value": [{"SessionIds": "01de",
//!     "ListScannedTargets": {"Ip": "127.0.0.1",},
//!                           {"Ip": "127.0.0.2",},
//!     }]}"#;
//! let repaired = scanhist::repair(sample, &Default::default())?;
//! let value: serde_json::Value = serde_json::from_str(repaired.text())?;
//! assert_eq!(value["value"][0]["ListScannedTargets"][1]["Ip"], "127.0.0.2");
//!
//! // Every repair names its kind and points into the input.
//! let index = repaired.line_index();
//! let log: Vec<String> = repaired
//!     .repairs()
//!     .iter()
//!     .map(|r| format!("{} {}", index.line_col(r.span.start), r.kind))
//!     .collect();
//! assert_eq!(log, ["2:27 object-run", "2:45 trailing-comma", "3:45 trailing-comma", "3:47 trailing-comma"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod decode;
pub mod diagnostic;
pub mod emit;
mod json;
mod read;
pub mod record;
pub mod repair;
pub mod span;

pub use decode::Encoding;
pub use diagnostic::{Diagnostic, DiagnosticCode, Severity};
pub use read::{read, read_each, read_each_with};
pub use record::{
    decode_records, for_each_session, DurationFormat, Envelope, Records, ScanDuration, ScanSession, ScanStatus,
    ScannedTarget, TargetAddress, Timestamp, TARGETS_PER_PART,
};
pub use repair::{repair, Note, NoteKind, Repair, RepairError, RepairErrorKind, RepairKind, RepairOptions, Repaired};
pub use span::{LineCol, LineIndex, Span};

pub mod cli;
pub mod reformat;

/// Crate internals for the fuzz targets (`cargo fuzz` builds with
/// `--cfg fuzzing`); not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// For the `split` fuzz target: where a second parsing thread started
    /// at one of `text`'s possible splits (at most `most` of them) records
    /// other than one thread does, both parses, written out.
    pub fn split_difference(text: &str, max_depth: usize, part_bytes: usize, most: usize) -> Option<String> {
        crate::repair::split_difference(text, max_depth, part_bytes, most)
    }
}
