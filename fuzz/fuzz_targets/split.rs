//! The second parsing thread of `scanhist repair`, which the library's
//! one-thread entry points never start: arbitrary text, parsed with a second
//! thread from each place a split could be guessed (a `{` after a comma,
//! right guesses and wrong, and the guess `repair` would make), records
//! exactly what one thread records, never panics, and the guess never fails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhist::fuzzing::split_difference;

/// At most this many splits per input: each parse starts a thread.
const SPLITS: usize = 16;

fuzz_target!(|input: &[u8]| {
    // The length picks the depth limit and whether the parse hands on parts,
    // so that the seeds (saved responses) are parsed as they are.
    let max_depth = 2 + input.len() % 14;
    let part_bytes = if input.len().is_multiple_of(2) { usize::MAX } else { 0 };
    let text = String::from_utf8_lossy(input);
    if let Some(difference) = split_difference(&text, max_depth, part_bytes, SPLITS) {
        panic!("two threads record other than one, in {text:?}\n{difference}");
    }
});
