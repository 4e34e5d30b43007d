//! Bytes to typed records in one call, in one pass over valid input.

use std::borrow::Cow;

use crate::decode::decode;
use crate::record::{decode_checked, decode_text, Records};
use crate::repair::{repair_decoded, RepairError, RepairOptions, Repaired};

/// Reads saved responses: repairs `input` only where it needs it, and types
/// every record.
///
/// Input that is strict JSON in UTF-8 is checked and typed in a single pass,
/// and its records borrow from `input`. Anything else is repaired first, as
/// [`repair`](crate::repair()) does; the repaired text is kept in `storage`,
/// and the records borrow from it. The result is the same as [`repair`]
/// followed by [`decode_records`](crate::decode_records), found faster.
///
/// # Errors
///
/// Fails as [`repair`](crate::repair()) does: only on input with no JSON value
/// in it, or nested deeper than `options.max_depth`.
///
/// # Examples
///
/// ```
/// let mut storage = String::new();
/// let input = br#"{"value": [{"sessionId": "01de", "scannedTargets": [{"ip": "10.0.0.1",},]}]}"#;
/// let (repaired, records) = scanhist::read(input, &Default::default(), &mut storage)?;
/// assert_eq!(repaired.repairs().len(), 2);
/// let session = records.sessions().next().unwrap();
/// assert_eq!(session.session_id.as_deref(), Some("01de"));
/// # Ok::<(), scanhist::RepairError>(())
/// ```
///
/// [`repair`]: crate::repair()
pub fn read<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    storage: &'a mut String,
) -> Result<(Repaired<'a>, Records<'a>), RepairError> {
    let mut decoded = decode(input);
    if let Cow::Borrowed(text) = decoded.text {
        let strict = Repaired::strict(input, decoded);
        if let Some(records) = decode_checked(&strict, text, options.max_depth) {
            return Ok((strict, records));
        }
        decoded = strict.into_decoded();
    }
    let mut repaired = repair_decoded(input, decoded, options)?;
    let text = repaired.store_text(storage);
    let records = decode_text(&repaired, text);
    Ok((repaired, records))
}
