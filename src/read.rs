//! Bytes to typed records in one call, in one pass over valid input.
//! [`read`] keeps the records; [`read_each`] hands them on one by one.

use std::borrow::Cow;
use std::thread::{self, ScopedJoinHandle};

use crate::decode::{decode, Decoded};
use crate::diagnostic::Diagnostic;
use crate::json;
use crate::record::{
    decode_checked, decode_text, for_each_checked, for_each_in_text, Check, Extra, Records, ScanSession,
};
use crate::repair::{repair_decoded, RepairError, RepairOptions, Repaired};

/// Reads saved responses: repairs `input` only where it needs it, and types
/// every record.
///
/// Input that is one document of strict JSON in UTF-8 is checked and typed
/// in a single pass, and its records borrow from `input`. So is input whose
/// only damage is the documented sample's, trailing commas and runs of
/// targets where their array belongs (`"scannedTargets": {…},{…}`): the
/// pass lets it through and hands it to the repair to record, unless it
/// lies in a value kept as written (an unknown key's). Anything else is
/// repaired first, as [`repair`](crate::repair()) does; the repaired text
/// is kept in `storage`, and the records borrow from it. The result is the
/// same as [`repair`] followed by [`decode_records`](crate::decode_records),
/// found faster.
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
        if let Some((records, passed)) = decode_checked(&strict, text, options.max_depth) {
            return Ok((strict.let_pass(passed), records));
        }
        decoded = strict.into_decoded();
    }
    let mut repaired = repair_decoded(input, decoded, options)?;
    let text = repaired.store_text(storage);
    let records = decode_text(&repaired, text);
    Ok((repaired, records))
}

/// Inputs up to this size are typed whole before any session is handed on;
/// larger ones are checked on a second thread meanwhile, so that sessions
/// flow on as soon as the check passes.
pub(crate) const TYPED_WHOLE: usize = 4 << 20;

/// At most this much input is typed ahead of the check; then typing waits.
pub(crate) const TYPED_AHEAD: usize = 32 << 20;

/// At most this much of sessions and their targets is held, whatever their
/// input: a response of records of a few bytes each (`{"sessionId":"t"}`,
/// 18 bytes to a 256-byte session) would be held at 14 times its size.
/// Sessions with targets (about 1.3 KB of input each in the benchmark
/// corpus) come to this much only past [`TYPED_AHEAD`] of input.
const HELD_BYTES: usize = 16 << 20;

/// [`read`] for inputs of any size: hands each session to `on_session`
/// instead of keeping it, so memory does not grow with the number of
/// records; a session whose target list is long comes in parts (see
/// [`ScanSession::first_target`]). Returns the repaired input and the
/// diagnostics.
///
/// Valid input is typed in one pass, as by [`read`]. Since a document is
/// known to be valid only at its end, sessions typed before then are held;
/// a second thread checks the input meanwhile (faster than typing it, and
/// alone in looking for repeated keys), and once it passes the held
/// sessions are handed on and the rest follow as they come. Input of up to
/// 4 MiB is typed whole before its sessions go on, with no second thread,
/// and then, as in [`read`], the documented sample's damage is typed in that
/// one pass too; should it hold more
/// than 16 MiB of sessions (records or targets of a few bytes each), the
/// input is checked then, and handed on as it is typed when strict; when
/// not, it is typed again as other damaged input is, its sessions handed on
/// as they come. Other damaged input is repaired first, then typed, and the
/// repaired text is kept in `storage`.
/// Sessions borrow from `input` or `storage`, so they may be kept, or handed
/// to another thread, for as long as both live.
///
/// Damaged input's repaired text and repairs are held whole, as [`read`]
/// holds them. For large inputs of many documents, [`repair_in_parts`] and
/// [`for_each_session`] hold one part at a time, as `scanhist convert` does.
///
/// [`repair_in_parts`]: crate::repair::repair_in_parts
/// [`for_each_session`]: crate::for_each_session
///
/// # Errors
///
/// Fails as [`repair`](crate::repair()) does.
///
/// # Examples
///
/// ```
/// let mut storage = String::new();
/// let input = br#"{"value": [{"sessionId": "a"}, {"sessionId": "b",}]}"#;
/// let mut ids = Vec::new();
/// let (repaired, _diagnostics) = scanhist::read_each(input, &Default::default(), &mut storage, |session| {
///     ids.push(session.session_id);
/// })?;
/// assert_eq!(repaired.repairs().len(), 1);
/// assert_eq!(ids, [Some("a".into()), Some("b".into())]);
/// # Ok::<(), scanhist::RepairError>(())
/// ```
pub fn read_each<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    storage: &'a mut String,
    mut on_session: impl FnMut(ScanSession<'a>),
) -> Result<(Repaired<'a>, Vec<Diagnostic>), RepairError> {
    read_each_with(input, options, TYPED_WHOLE, storage, &mut on_session)
}

/// [`read_each`] with the input size past which a second thread checks the
/// input; the test suite sets it to 0 to take that path on small inputs.
#[doc(hidden)]
pub fn read_each_with<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    typed_whole: usize,
    storage: &'a mut String,
    on_session: &mut dyn FnMut(ScanSession<'a>),
) -> Result<(Repaired<'a>, Vec<Diagnostic>), RepairError> {
    read_each_keeping(input, options, typed_whole, Extra::Kept, storage, on_session)
}

/// [`read_each_with`], keeping the values of keys scanhist does not know in
/// `extra`, or not (`scanhist convert`, whose rows do not show them).
pub(crate) fn read_each_keeping<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    typed_whole: usize,
    extra: Extra,
    storage: &'a mut String,
    on_session: &mut dyn FnMut(ScanSession<'a>),
) -> Result<(Repaired<'a>, Vec<Diagnostic>), RepairError> {
    let decoded = match read_strict(input, options, typed_whole, extra, on_session) {
        Ok(read) => return Ok(read),
        Err(decoded) => decoded,
    };
    let mut repaired = repair_decoded(input, decoded, options)?;
    let text = repaired.store_text(storage);
    let diagnostics = for_each_in_text(&repaired, text, extra, on_session);
    Ok((repaired, diagnostics))
}

/// The one pass of [`read_each_with`]: types input that is strict JSON in
/// UTF-8, handing its sessions on; gives back the decoded input otherwise,
/// having handed nothing on. Input typed whole before its sessions go on
/// (up to `typed_whole`) may have the documented sample's damage too, as in
/// [`read`]; a larger one is checked on a second thread by the strict check.
pub(crate) fn read_strict<'a>(
    input: &'a [u8],
    options: &RepairOptions,
    typed_whole: usize,
    extra: Extra,
    on_session: &mut dyn FnMut(ScanSession<'a>),
) -> Result<(Repaired<'a>, Vec<Diagnostic>), Decoded<'a>> {
    let decoded = decode(input);
    let Cow::Borrowed(text) = decoded.text else {
        return Err(decoded);
    };
    let strict = Repaired::strict(input, decoded);
    let checked = thread::scope(|scope| {
        // Without a thread (none wanted, or none to be had) the input is typed whole first.
        let check = (text.len() > typed_whole)
            .then(|| thread::Builder::new().spawn_scoped(scope, || json::check(text, options.max_depth)).ok())
            .flatten();
        // With a thread, it alone finds repeated keys, and holds an object's keys once.
        let typing_checks = if check.is_none() { Check::Whole } else { Check::ButRepeatedKeys };
        let mut gate = Gate {
            held: Vec::new(),
            held_bytes: 0,
            check,
            text,
            max_depth: options.max_depth,
            state: State::Holding,
            on_session: &mut *on_session,
        };
        let typed =
            for_each_checked(&strict, text, options.max_depth, typing_checks, extra, |session| gate.pass(session));
        gate.settle(typed.is_some());
        // Only sessions that went on count; a shut gate sends the input to repair.
        typed.filter(|_| gate.state == State::Open)
    });
    match checked {
        Some((diagnostics, passed)) => Ok((strict.let_pass(passed), diagnostics)),
        None => Err(strict.into_decoded()),
    }
}

/// Holds typed sessions until the input is known to be strict JSON.
struct Gate<'t, 's, 'f> {
    held: Vec<ScanSession<'t>>,
    /// What `held` holds, by [`ScanSession::held_bytes`].
    held_bytes: usize,
    /// The check of the whole input on a second thread, while it runs.
    check: Option<ScopedJoinHandle<'s, json::Result<()>>>,
    /// The input and its depth limit, to check here when there is no thread.
    text: &'t str,
    max_depth: usize,
    state: State,
    on_session: &'f mut dyn FnMut(ScanSession<'t>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not known yet: sessions are held.
    Holding,
    /// Strict JSON: sessions go on.
    Open,
    /// Not strict JSON: sessions are dropped, and the input will be repaired.
    Shut,
    /// More sessions than may be held, no check to wait for (input typed
    /// whole), and the input, checked then, is not strict JSON: sessions are
    /// dropped, and the input will be repaired, which hands its sessions on
    /// as it types them.
    Full,
}

impl<'t> Gate<'t, '_, '_> {
    fn pass(&mut self, session: ScanSession<'t>) {
        match self.state {
            State::Open => (self.on_session)(session),
            State::Shut | State::Full => {}
            State::Holding => {
                let ahead = self.held.first().map_or(0, |first| session.span.end.saturating_sub(first.span.start));
                self.held_bytes += session.held_bytes();
                self.held.push(session);
                let full = ahead > TYPED_AHEAD || self.held_bytes >= HELD_BYTES;
                match &self.check {
                    Some(check) if check.is_finished() || full => {
                        let passed = self.check.take().is_some_and(|check| check.join().is_ok_and(|c| c.is_ok()));
                        self.settle(passed);
                    }
                    Some(_) => {}
                    // Input typed whole, with no check running: checked
                    // now, which takes less time than repairing it.
                    None if full => {
                        if json::check(self.text, self.max_depth).is_ok() {
                            self.settle(true);
                        } else {
                            self.state = State::Full;
                            self.held = Vec::new();
                            self.held_bytes = 0;
                        }
                    }
                    None => {}
                }
            }
        }
    }

    /// Opens or shuts the gate once it is known whether the input is strict
    /// JSON, waiting for the check if it still runs.
    /// `passed` is the word of typing, at its end, or of a check.
    fn settle(&mut self, passed: bool) {
        // The thread and typing read with the same cursor and limits, but
        // typing leaves repeated keys to the thread: it passes wherever the
        // thread does, and may pass where the thread finds a repeated key.
        // Were typing to fail where the thread passes, sessions handed on
        // would come again from the repaired input. Property tests and the
        // fuzz target hold read_each to read.
        let mut strict = passed;
        if let Some(check) = self.check.take() {
            // Joined either way: a check that panicked counts as failed.
            let checked = check.join().is_ok_and(|checked| checked.is_ok());
            debug_assert!(passed || !checked, "typing failed where the check passed");
            strict &= checked;
        }
        debug_assert!(passed || self.state != State::Open, "typing failed after the check passed");
        if self.state == State::Holding {
            self.state = if strict { State::Open } else { State::Shut };
            if strict {
                self.held.drain(..).for_each(&mut *self.on_session);
            }
        }
        self.held.clear();
        self.held_bytes = 0;
    }
}
