//! A strict JSON reader that knows where everything is.
//!
//! [`Cursor`] reads one value at a time, checks the text against RFC 8259
//! exactly as strictly as serde_json does, and hands out strings borrowed
//! from the text together with their byte offsets. It builds no tree and
//! never reads a byte twice, so the strict check and typing are each a single
//! pass. It does not recurse: skipping a value nested thousands deep uses a
//! heap stack, bounded by the depth limit. Its lenient reading (`lenient`)
//! also lets the documented sample's damage pass, for the tolerant parser
//! (a whole value at once) and for typing (value by value).

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;

use hashbrown::HashTable;

mod lenient;

pub(crate) use lenient::Lenience;

/// Objects with more keys than this switch from a linear duplicate scan to a hash set.
const LINEAR_KEY_SCAN: usize = 32;

/// Why the text is not strict JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset in the text.
    pub offset: usize,
    /// What was wrong, lowercase.
    pub message: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

pub(crate) type Result<T> = std::result::Result<T, SyntaxError>;

/// The kind of the value that starts next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    /// The kind with its article, for messages: "an object", "null".
    pub fn described(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// A string as written: the text between its quotes, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Str<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The text between the quotes, escapes as written.
    pub fn written(self) -> &'a str {
        self.raw
    }

    /// The string's value, borrowed unless it has escapes to decode.
    #[inline]
    pub fn decode(self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }
}

/// One open container.
struct Frame<'a> {
    object: bool,
    /// Where this object's keys start in `Cursor::keys`.
    key_base: usize,
    /// Whether a key of this object has escapes, so that keys must be
    /// compared decoded rather than as written.
    escaped_keys: bool,
    /// The [`key_bit`]s of this object's keys as written: a key whose bit
    /// is not set is no repeat, and is compared with none.
    key_bits: u64,
    /// The keys of an object too large for a linear scan, boxed: every
    /// container has a frame, and few such a set.
    large: Option<Box<KeySet<'a>>>,
}

/// The keys of an object too large for a linear scan: where each starts in
/// the text, 4 bytes a key (a key is read again from the text to be hashed
/// or compared), so that an object of a million keys takes 10 MB here, not
/// the 50 MB of a set of the keys themselves.
struct KeySet<'a> {
    text: &'a str,
    /// The offset the keys' offsets count from: the object's first key.
    base: usize,
    /// Each key's content's offset from `base`.
    near: HashTable<u32>,
    /// The keys more than 4 GiB past the first, themselves.
    far: HashSet<Cow<'a, str>>,
    hasher: RandomState,
}

impl<'a> KeySet<'a> {
    fn new(text: &'a str, first: Str<'a>) -> Self {
        let base = first.raw.as_ptr() as usize - text.as_ptr() as usize;
        KeySet { text, base, near: HashTable::new(), far: HashSet::new(), hasher: RandomState::new() }
    }

    /// Adds `key`, a key of the object as written in the text; false if the
    /// object had it already.
    fn insert(&mut self, key: Str<'a>) -> bool {
        let KeySet { text, base, near, far, hasher } = self;
        let key_at = |at: &u32| key_at(text, *base + *at as usize);
        let hash = |value: &str| hasher.hash_one(value);
        // Keys as written are equal exactly when their values are, unless an escape is involved.
        let value = key.decode();
        let same = |other: &u32| {
            let other = key_at(other);
            if key.escaped || other.escaped {
                other.decode() == value
            } else {
                other.raw == key.raw
            }
        };
        let hashed = hash(&value);
        if near.find(hashed, same).is_some() || far.contains(&value) {
            return false;
        }
        let offset = key.raw.as_ptr() as usize - text.as_ptr() as usize;
        if let Ok(at) = u32::try_from(offset - *base) {
            near.insert_unique(hashed, at, |other| hash(&key_at(other).decode()));
        } else {
            far.insert(value);
        }
        true
    }
}

/// The key, as written, whose content starts at `start` of `text`: a string
/// a cursor has read, so that its closing quote is there.
fn key_at(text: &str, start: usize) -> Str<'_> {
    match closing_quote(text.as_bytes(), start) {
        Some((end, escaped)) => Str { raw: &text[start..end], escaped },
        // Not reached for a key the cursor read; the rest of the text stands in.
        None => Str { raw: &text[start..], escaped: true },
    }
}

/// Where the string whose content starts at `start` of `bytes` closes, and
/// whether an escape comes before: the first quote not escaped, found
/// without checking anything else. `None` when the bytes end first.
pub(crate) fn closing_quote(bytes: &[u8], start: usize) -> Option<(usize, bool)> {
    let (mut at, mut escaped) = (start, false);
    loop {
        at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[at] == b'"' {
            return Some((at, escaped));
        }
        escaped = true;
        at += 2;
    }
}

impl Frame<'_> {
    fn new(object: bool, key_base: usize) -> Self {
        Frame { object, key_base, escaped_keys: false, key_bits: 0, large: None }
    }
}

/// One of 64 bits for a key as written, from its length and its first and
/// last bytes: equal keys get the same bit, and the keys of a record mostly
/// different ones.
#[inline]
pub(crate) fn key_bit(raw: &str) -> u64 {
    let bytes = raw.as_bytes();
    let (first, last) = (bytes.first().copied().unwrap_or(0), bytes.last().copied().unwrap_or(0));
    1 << (((bytes.len() << 3) ^ usize::from(last) ^ (usize::from(first) << 1)) & 63)
}

/// Reads strict JSON from `text[start..end]`, one value at a time.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    frames: Vec<Frame<'a>>,
    /// Whether the open container has had no member or element yet.
    first: bool,
    /// The keys of every open object, as written, when duplicates are checked.
    keys: Option<Vec<Str<'a>>>,
    /// Beside `frames`, what a lenient reading keeps of each open container.
    lenient: Vec<lenient::Frame<'a>>,
    /// What a cursor made [`Cursor::lenient`] let pass, in text order;
    /// `None` for a strict one.
    passed: Option<Vec<Lenience<'a>>>,
}

impl<'a> Cursor<'a> {
    /// A cursor over `text[range]`; offsets it reports are into `text`.
    pub fn new(text: &'a str, range: Range<usize>) -> Self {
        Cursor {
            text: &text[..range.end],
            bytes: &text.as_bytes()[..range.end],
            pos: range.start,
            max_depth: usize::MAX,
            frames: Vec::new(),
            first: false,
            keys: None,
            lenient: Vec::new(),
            passed: None,
        }
    }

    /// Containers may nest at most `max_depth` deep.
    pub fn max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// A key repeated in one object is an error.
    pub fn unique_keys(mut self) -> Self {
        self.keys = Some(Vec::new());
        self
    }

    /// Starts over at `pos`, with no container open, keeping the memory of
    /// the last reading: for many short readings of one text.
    pub fn restart(&mut self, pos: usize, max_depth: usize) {
        self.pos = pos;
        self.max_depth = max_depth;
        self.frames.clear();
        self.first = false;
        if let Some(keys) = &mut self.keys {
            keys.clear();
        }
        self.lenient.clear();
        if let Some(passed) = &mut self.passed {
            passed.clear();
        }
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn error<T>(&self, offset: usize, message: &'static str) -> Result<T> {
        Err(SyntaxError { offset, message })
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Skips whitespace and says what kind of value starts next.
    ///
    /// # Errors
    ///
    /// Fails when no value starts there.
    #[inline]
    pub fn peek(&mut self) -> Result<Kind> {
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => self.error(self.pos, "expected a value"),
            None => self.error(self.pos, "expected a value, found the end"),
        }
    }

    fn open(&mut self, object: bool) -> Result<()> {
        if self.frames.len() >= self.max_depth {
            return self.error(self.pos, "nesting deeper than the limit");
        }
        let key_base = self.keys.as_ref().map_or(0, Vec::len);
        self.frames.push(Frame::new(object, key_base));
        self.pos += 1;
        self.first = true;
        Ok(())
    }

    fn close(&mut self) {
        if let Some(frame) = self.frames.pop() {
            if let Some(keys) = &mut self.keys {
                keys.truncate(frame.key_base);
            }
        }
        self.pos += 1;
        self.first = false;
    }

    /// Enters the object that [`Cursor::peek`] found.
    ///
    /// # Errors
    ///
    /// Fails past the depth limit.
    pub fn begin_object(&mut self) -> Result<()> {
        self.open(true)
    }

    /// Enters the array that [`Cursor::peek`] found.
    ///
    /// # Errors
    ///
    /// Fails past the depth limit.
    pub fn begin_array(&mut self) -> Result<()> {
        self.open(false)
    }

    /// Moves past the separator before the next member or element, or past
    /// the closing bracket. Returns whether an item follows.
    #[inline]
    fn next_item(&mut self, closer: u8) -> Result<bool> {
        self.skip_whitespace();
        match self.bytes.get(self.pos) {
            Some(&b) if b == closer => {
                self.close();
                return Ok(false);
            }
            Some(b',') if !self.first => {
                let comma = self.pos;
                self.pos += 1;
                self.skip_whitespace();
                // In an object, a key is looked for next, and a missing one
                // (`Cursor::not_a_key`) lets a trailing comma pass: strict
                // objects pay nothing for it here.
                if closer == b']' && self.bytes.get(self.pos) == Some(&b']') {
                    if let Some(passed) = &mut self.passed {
                        passed.push(Lenience::TrailingComma(comma));
                        self.close();
                        return Ok(false);
                    }
                }
            }
            _ if self.first => {}
            _ => {
                return self.error(self.pos, if closer == b'}' { "expected ',' or '}'" } else { "expected ',' or ']'" })
            }
        }
        self.first = false;
        Ok(true)
    }

    /// The next key of the open object, positioned at its value; `None` when
    /// the object closes.
    ///
    /// # Errors
    ///
    /// Fails on a missing separator, key or colon, or a repeated key when
    /// keys are checked.
    #[inline]
    pub fn next_key(&mut self) -> Result<Option<Str<'a>>> {
        if !self.next_item(b'}')? {
            return Ok(None);
        }
        self.key::<true>()
    }

    /// [`Cursor::next_key`] that leaves the check for a repeated key to the
    /// caller, who hands each key to [`Cursor::known_key`] or
    /// [`Cursor::other_key`].
    ///
    /// # Errors
    ///
    /// Fails on a missing separator, key or colon.
    #[inline]
    pub fn next_key_unchecked(&mut self) -> Result<Option<Str<'a>>> {
        if !self.next_item(b'}')? {
            return Ok(None);
        }
        self.key::<false>()
    }

    /// When keys are checked, marks a key read by
    /// [`Cursor::next_key_unchecked`] in `seen`: the keys of the open object
    /// that the caller knows by their exact value, a bit each (this one's is
    /// `bit`). Every other key goes to [`Cursor::other_key`]; no key of one
    /// kind can equal one of the other.
    ///
    /// # Errors
    ///
    /// Fails when the bit is set already: the key is repeated.
    #[inline]
    pub fn known_key(&self, key: Str<'a>, seen: &mut u32, bit: usize) -> Result<()> {
        if self.keys.is_none() {
            return Ok(());
        }
        if *seen & 1 << bit != 0 {
            return self.error(self.offset_of(key), "duplicate key");
        }
        *seen |= 1 << bit;
        Ok(())
    }

    /// When keys are checked, remembers a key that [`Cursor::next_key_unchecked`]
    /// read, as [`Cursor::next_key`] does.
    ///
    /// # Errors
    ///
    /// Fails when the open object has had the key.
    #[inline]
    pub fn other_key(&mut self, key: Str<'a>) -> Result<()> {
        if self.keys.is_some() && !self.remember_key(key) {
            return self.error(self.offset_of(key), "duplicate key");
        }
        Ok(())
    }

    /// The offset of a key's opening quote.
    fn offset_of(&self, key: Str<'a>) -> usize {
        key.raw.as_ptr() as usize - self.text.as_ptr() as usize - 1
    }

    /// The key at the cursor and its colon, remembered when keys are checked
    /// and `REMEMBER` says so; always `Some`, in the shape
    /// [`Cursor::next_key`] returns.
    #[inline(always)]
    fn key<const REMEMBER: bool>(&mut self) -> Result<Option<Str<'a>>> {
        let at = self.pos;
        if self.bytes.get(at) != Some(&b'"') {
            return self.not_a_key(at);
        }
        let key = self.string()?;
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b':') {
            return self.error(self.pos, "expected ':'");
        }
        self.pos += 1;
        if REMEMBER && self.keys.is_some() && !self.remember_new_key(key) {
            return self.error(at, "duplicate key");
        }
        Ok(Some(key))
    }

    /// No key where one belongs, at `at`. A lenient cursor lets a comma
    /// right before the object's closer pass, and closes the object.
    #[cold]
    fn not_a_key(&mut self, at: usize) -> Result<Option<Str<'a>>> {
        let before = self.bytes[..at].trim_ascii_end().len();
        let comma = before.checked_sub(1).filter(|&comma| self.bytes[comma] == b',');
        if let (Some(passed), Some(b'}'), Some(comma)) = (&mut self.passed, self.bytes.get(at), comma) {
            passed.push(Lenience::TrailingComma(comma));
            self.close();
            return Ok(None);
        }
        self.error(at, "expected a key")
    }

    /// [`Cursor::remember_key`], inline for the common key: one whose bit
    /// is not set yet, in an object of plain keys small enough to scan.
    #[inline(always)]
    fn remember_new_key(&mut self, key: Str<'a>) -> bool {
        if let (Some(keys), Some(frame)) = (&mut self.keys, self.frames.last_mut()) {
            let bit = key_bit(key.raw);
            let plain = !(key.escaped || frame.escaped_keys) && frame.large.is_none();
            if plain && frame.key_bits & bit == 0 && keys.len() - frame.key_base < LINEAR_KEY_SCAN {
                frame.key_bits |= bit;
                keys.push(key);
                return true;
            }
        }
        self.remember_key(key)
    }

    /// Records `key` in the open object; false if it was there already.
    fn remember_key(&mut self, key: Str<'a>) -> bool {
        let (Some(keys), Some(frame)) = (&mut self.keys, self.frames.last_mut()) else {
            return true;
        };
        if let Some(set) = &mut frame.large {
            return set.insert(key);
        }
        let seen = &keys[frame.key_base..];
        frame.escaped_keys |= key.escaped;
        // Keys as written are equal exactly when their values are, unless an escape is involved.
        let duplicate = if frame.escaped_keys {
            let value = key.decode();
            seen.iter().any(|k| k.decode() == value)
        } else {
            let bit = key_bit(key.raw);
            let maybe_seen = frame.key_bits & bit != 0;
            frame.key_bits |= bit;
            maybe_seen && seen.iter().any(|k| k.raw == key.raw)
        };
        if duplicate {
            return false;
        }
        if seen.len() >= LINEAR_KEY_SCAN {
            let mut set = KeySet::new(self.text, seen[0]);
            for seen in keys.drain(frame.key_base..).chain([key]) {
                set.insert(seen);
            }
            frame.large = Some(Box::new(set));
        } else {
            keys.push(key);
        }
        true
    }

    /// Whether another element of the open array follows; false when it closes.
    ///
    /// # Errors
    ///
    /// Fails on a missing separator.
    #[inline]
    pub fn next_element(&mut self) -> Result<bool> {
        self.next_item(b']')
    }

    /// Reads the string that [`Cursor::peek`] found.
    ///
    /// # Errors
    ///
    /// Fails on an unterminated string, a raw control character, or an
    /// invalid escape (lone surrogates included).
    #[inline(always)]
    pub fn string(&mut self) -> Result<Str<'a>> {
        let start = self.pos + 1;
        let (end, escaped) = self.string_end(start)?;
        self.pos = end + 1;
        Ok(Str { raw: &self.text[start..end], escaped })
    }

    /// Moves past the string that [`Cursor::peek`] found, checking it.
    #[inline(always)]
    fn skip_string(&mut self) -> Result<()> {
        self.pos = self.string_end(self.pos + 1)?.0 + 1;
        Ok(())
    }

    /// Where the string whose content starts at `start` ends (its closing
    /// quote), and whether it has escapes.
    #[inline(always)]
    fn string_end(&self, start: usize) -> Result<(usize, bool)> {
        let end = start + plain_run(&self.bytes[start..]);
        // Most strings have no escape: those take no call.
        if self.bytes.get(end) == Some(&b'"') {
            return Ok((end, false));
        }
        self.escaped_string_end(end)
    }

    /// [`Cursor::string_end`] from `at`, where a byte that needs care is.
    #[inline(never)]
    fn escaped_string_end(&self, at: usize) -> Result<(usize, bool)> {
        let mut i = at;
        let mut escaped = false;
        loop {
            match self.bytes.get(i) {
                Some(b'"') => return Ok((i, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i)?;
                }
                Some(_) => return self.error(i, "control character in a string"),
                None => return self.error(i, "unterminated string"),
            }
            i += plain_run(&self.bytes[i..]);
        }
    }

    /// Checks the escape at `at` (a backslash); returns the offset after it.
    fn escape(&self, at: usize) -> Result<usize> {
        match self.bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => {
                let Some(unit) = hex4(&self.bytes[at + 2..]) else {
                    return self.error(at, "invalid \\u escape");
                };
                match unit {
                    0xD800..=0xDBFF => match self.bytes.get(at + 6..at + 8) {
                        Some(b"\\u") if matches!(hex4(&self.bytes[at + 8..]), Some(0xDC00..=0xDFFF)) => Ok(at + 12),
                        _ => self.error(at, "lone leading surrogate"),
                    },
                    0xDC00..=0xDFFF => self.error(at, "lone trailing surrogate"),
                    _ => Ok(at + 6),
                }
            }
            _ => self.error(at, "invalid escape"),
        }
    }

    /// Reads the number, boolean or null that [`Cursor::peek`] found, as written.
    ///
    /// # Errors
    ///
    /// Fails on a malformed literal or number, or one beyond a double's range.
    #[inline]
    pub fn scalar(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let len = match rest.first() {
            Some(b't') if rest.starts_with(b"true") => 4,
            Some(b'f') if rest.starts_with(b"false") => 5,
            Some(b'n') if rest.starts_with(b"null") => 4,
            Some(b'-' | b'0'..=b'9') => return self.number(),
            _ => return self.error(start, "expected a value"),
        };
        self.pos += len;
        Ok(&self.text[start..self.pos])
    }

    fn number(&mut self) -> Result<&'a str> {
        let bytes = self.bytes;
        let start = self.pos;
        let digits = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start + usize::from(bytes[start] == b'-');
        i = match bytes.get(i) {
            Some(b'0') => i + 1,
            Some(b'1'..=b'9') => digits(i + 1),
            _ => return self.error(i, "invalid number"),
        };
        let integer_end = i;
        if bytes.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return self.error(end, "invalid number");
            }
            i = end;
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return self.error(end, "invalid number");
            }
            i = end;
        }
        let text = &self.text[start..i];
        // serde_json reads a fraction, an exponent or a 20-digit integer as a double.
        let as_double = i != integer_end || integer_end - start >= 20;
        if as_double && !text.parse::<f64>().is_ok_and(f64::is_finite) {
            return self.error(start, "number out of range");
        }
        self.pos = i;
        Ok(text)
    }

    /// Skips the next value of any kind, checking it; returns its span.
    ///
    /// # Errors
    ///
    /// Fails wherever the value is not strict JSON.
    pub fn skip_value(&mut self) -> Result<Range<usize>> {
        let depth = self.frames.len();
        self.skip_whitespace();
        let start = self.pos;
        loop {
            match self.peek()? {
                Kind::Object => self.begin_object()?,
                Kind::Array => self.begin_array()?,
                Kind::String => self.skip_string()?,
                _ => drop(self.scalar()?),
            }
            // Close what ends here, and stop at the next value to read.
            loop {
                let Some(open) = self.frames.last().filter(|_| self.frames.len() > depth) else {
                    return Ok(start..self.pos);
                };
                let more = if open.object { self.next_key()?.is_some() } else { self.next_element()? };
                if more {
                    break;
                }
            }
        }
    }

    /// Checks that nothing but whitespace is left.
    ///
    /// # Errors
    ///
    /// Fails on anything else.
    pub fn finish(&mut self) -> Result<()> {
        self.skip_whitespace();
        if self.pos < self.bytes.len() {
            return self.error(self.pos, "trailing characters");
        }
        Ok(())
    }
}

/// Whether `text` is one strict JSON document, nested at most `max_depth`
/// deep, in which no object repeats a key.
pub(crate) fn check(text: &str, max_depth: usize) -> Result<()> {
    let mut cursor = Cursor::new(text, 0..text.len()).max_depth(max_depth).unique_keys();
    cursor.skip_value()?;
    cursor.finish()
}

/// The documents of `text` when it is a sequence of strict JSON documents
/// (at most `max_depth` deep, keys unique) each starting on a line of its
/// own, as NDJSON dumps and appended pages are; `None` otherwise.
pub(crate) fn check_documents(text: &str, max_depth: usize) -> Option<Vec<Range<usize>>> {
    let mut documents: Vec<Range<usize>> = Vec::new();
    let mut cursor = Cursor::new(text, 0..text.len()).max_depth(max_depth).unique_keys();
    loop {
        cursor.skip_whitespace();
        if cursor.pos == text.len() {
            return (!documents.is_empty()).then_some(documents);
        }
        let apart =
            documents.last().is_none_or(|last| memchr::memchr(b'\n', &cursor.bytes[last.end..cursor.pos]).is_some());
        if !apart {
            return None;
        }
        documents.push(cursor.skip_value().ok()?);
    }
}

/// The length of the run of bytes at the start of `bytes` that need no care
/// in a string: no quote, backslash or control character.
#[inline]
pub(crate) fn plain_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 16) {
        let found = needs_care(chunk.try_into().expect("sixteen bytes"));
        if found != 0 {
            return i + found.trailing_zeros() as usize;
        }
        i += 16;
    }
    while let Some(&b) = bytes.get(i) {
        if b < 0x20 || b == b'"' || b == b'\\' {
            break;
        }
        i += 1;
    }
    i
}

/// A mask whose lowest set bit is the first of `chunk`'s 16 bytes that
/// needs care in a string; 0 when none does. With SSE2 (every x86-64 has it),
/// one compare per kind of byte for all 16.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn needs_care(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
        _mm_subs_epu8,
    };
    // SAFETY: SSE2 is enabled for this build (the cfg above), and the load
    // reads the 16 bytes of `chunk`, unaligned.
    unsafe {
        let bytes = _mm_loadu_si128(chunk.as_ptr().cast());
        // A control character is one that saturates to zero when 0x1f is taken away.
        let control = _mm_cmpeq_epi8(_mm_subs_epu8(bytes, _mm_set1_epi8(0x1f)), _mm_setzero_si128());
        let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) as u32
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use needs_care_in_words as needs_care;

/// [`needs_care`] without SSE2, eight bytes at a time: a word has a byte
/// that needs care when any byte is below 0x20, or equals '"' or '\\'
/// (classic SWAR zero-byte tests).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn needs_care_in_words(chunk: &[u8; 16]) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let first_in_word = |at: usize| {
        let word = u64::from_le_bytes(chunk[at..at + 8].try_into().expect("eight bytes"));
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let found =
            below_space | has_zero(word ^ (ONES * u64::from(b'"'))) | has_zero(word ^ (ONES * u64::from(b'\\')));
        // A borrow can flag bytes above a match, never below one: the lowest
        // flag is the first byte that needs care.
        (found != 0).then(|| found.trailing_zeros() / 8)
    };
    match first_in_word(0).or_else(|| first_in_word(8).map(|byte| byte + 8)) {
        Some(byte) => 1 << byte,
        None => 0,
    }
}

/// Whether a member follows in the object being read at `pos` of `bytes`,
/// `depth` containers inside it (between two of its values' items, or two
/// of its values): a colon at its level before its closing brace. `None`
/// when the text ends first. Strings are skipped whole; nothing is checked.
pub(crate) fn member_follows(bytes: &[u8], mut pos: usize, mut depth: usize) -> Option<bool> {
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'"' => pos = closing_quote(bytes, pos + 1)?.0,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                None => return Some(false),
            },
            b':' if depth == 0 => return Some(true),
            _ => {}
        }
        pos += 1;
    }
    None
}

/// Four hex digits at the start of `bytes`, as a number.
fn hex4(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..4)?;
    digits.iter().try_fold(0, |value, &b| Some(value << 4 | char::from(b).to_digit(16)?))
}

/// Decodes the escapes of a string that [`Cursor::string`] has checked.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let escape = &rest.as_bytes()[at + 1..];
        let (c, len) = match escape.first() {
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => {
                let unit = hex4(&escape[1..]).unwrap_or(0xFFFD);
                let low = escape.get(5..7).filter(|s| s == b"\\u").and_then(|_| hex4(&escape[7..]));
                match (unit, low) {
                    (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                        let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                    }
                    _ => (char::from_u32(unit).unwrap_or('\u{FFFD}'), 6),
                }
            }
            Some(&b) => (char::from(b), 2),
            None => ('\\', 1),
        };
        out.push(c);
        rest = &rest[(at + len).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    fn strict(text: &str) -> bool {
        check(text, 512).is_ok()
    }

    #[test]
    fn a_following_member_is_found_past_strings_and_containers() {
        // `|` marks where the look starts, the number how deep inside the object.
        for (text, depth, follows) in [
            (r#"{"a": [1, |2], "b": 3}"#, 1, Some(true)),
            (r#"{"a": [1, |2]}"#, 1, Some(false)),
            (r#"{"a": [1, |{"k": [":"]}, "x:\":"] }"#, 1, Some(false)),
            (r#"{"a": [1, |"\"", {"k": 1}], "b": 3}"#, 1, Some(true)),
            (r#"{"a": {"x": 1}|,{"y": 2},}"#, 0, Some(false)),
            (r#"{"a": {"x": 1}|,{"y": 2}, "b": 3}"#, 0, Some(true)),
            (r#"{"a": [1, |2"#, 1, None),
            (r#"{"a": [1, |"2], }"#, 1, None),
            (r#"{"a": [1, |""#, 1, None),
        ] {
            let at = text.find('|').unwrap();
            let bytes = text.replacen('|', "", 1).into_bytes();
            assert_eq!(member_follows(&bytes, at, depth), follows, "{text}");
        }
    }

    #[test]
    fn accepts_strict_json() {
        for text in [
            "{}",
            "[]",
            "[1, 2.5, -3e4, 0, -0.0, 1E+2, 123456789012345678901234567890]",
            r#"{"a": {"a": [true, null, "x"]}, "b": "\u00e9\ud83d\ude00\n\/"}"#,
            " \"s\" \n",
            "[[], {}, [{}], \"\"]",
        ] {
            assert_eq!(check(text, 512), Ok(()), "{text}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        for text in [
            "",
            " ",
            "{,}",
            "[1,]",
            "[,1]",
            "{'a':1}",
            "[1] [2]",
            "{\"a\":NaN}",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[+1]",
            "[-]",
            "[tru]",
            "[nulll]",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\tb\"",
            "\"abc",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "[1 2]",
            "{1:2}",
            "[1e400]",
            "[-1e400]",
            "[1}",
            "{\"a\":1]",
            "[",
        ] {
            assert!(!strict(text), "{text:?}");
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err(), "serde_json agrees on {text:?}");
        }
    }

    #[test]
    fn rejects_nesting_past_the_limit() {
        assert!(check("[[1]]", 2).is_ok());
        assert!(check("[[[1]]]", 2).is_err());
        assert!(check(r#"{"a":{"b":{}}}"#, 2).is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(check(&deep, 512).unwrap_err().message, "nesting deeper than the limit");
    }

    #[test]
    fn rejects_duplicate_keys_in_any_object() {
        assert!(!strict(r#"{"a":1,"a":2}"#));
        assert!(!strict(r#"[{"x":{"a":1,"b":{"a":0},"a":2}}]"#));
        // An escaped key equals its plain spelling.
        assert!(!strict(r#"{"a":1,"\u0061":2}"#));
        let error = check(r#"{"a":1, "a":2}"#, 512).unwrap_err();
        assert_eq!(error, SyntaxError { offset: 8, message: "duplicate key" });
    }

    #[test]
    fn same_key_in_sibling_and_nested_objects_is_fine() {
        assert!(strict(r#"[{"a":1},{"a":2},{"b":{"a":3},"a":4}]"#));
    }

    #[test]
    fn large_objects_use_the_hash_set_path() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(strict(&format!("{{{}}}", members.join(","))));
        let with_duplicate = format!("{{{},\"k7\":0}}", members.join(","));
        assert!(!strict(&with_duplicate));
        // A key first met once the set holds the keys, its bit not yet set, goes to the set too.
        let before: Vec<String> = (0..=LINEAR_KEY_SCAN).map(|i| format!("k{i}")).collect();
        let bits = before.iter().fold(0, |bits, key| bits | key_bit(key));
        let late = (0..).map(|i| format!("late{i}")).find(|key| bits & key_bit(key) == 0).unwrap();
        let members: Vec<String> = before.iter().chain([&late, &late]).map(|key| format!("\"{key}\":0")).collect();
        assert!(!strict(&format!("{{{}}}", members.join(","))));
    }

    #[test]
    fn errors_say_where() {
        let error = check("[1, 2,\n 3 4]", 512).unwrap_err();
        assert_eq!(error, SyntaxError { offset: 10, message: "expected ',' or ']'" });
        assert_eq!(error.to_string(), "expected ',' or ']' at byte 10");
    }

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_controls() {
        assert_eq!(plain_run(b"abcdefghijklmnop\"x"), 16);
        assert_eq!(plain_run(b"abcdefgh\\ijklmnop"), 8);
        assert_eq!(plain_run(b"abc\x1fdefghijk"), 3);
        assert_eq!(plain_run("é€𝄞 plain text, no stops".as_bytes()), "é€𝄞 plain text, no stops".len());
        assert_eq!(plain_run(b"\x7f\x80\xff\"" as &[u8]), 3);
        assert_eq!(plain_run(b""), 0);
    }

    #[test]
    fn strings_borrow_unless_escaped_and_decode_like_serde_json() {
        for text in [r#""plain""#, r#""a\"b\\c\/d\b\f\n\r\t""#, r#""\u00e9\u20ac\ud834\udd1e""#, r#""""#] {
            let mut cursor = Cursor::new(text, 0..text.len());
            assert_eq!(cursor.peek(), Ok(Kind::String));
            let value = cursor.string().unwrap();
            assert_eq!(value.decode(), serde_json::from_str::<String>(text).unwrap(), "{text}");
            assert_eq!(matches!(value.decode(), Cow::Borrowed(_)), !text.contains('\\'));
        }
    }

    #[test]
    fn strings_read_or_skipped_end_and_fail_at_the_same_place() {
        let fails = |offset, message| Err(SyntaxError { offset, message });
        for (text, end) in [
            ("\"plain\" ", Ok(7)),
            ("\"a\\\"b\\u00e9\" ", Ok(12)),
            ("\"a\\nb\tc\"", fails(5, "control character in a string")),
            ("\"ab\\\"", fails(5, "unterminated string")),
            ("\"a\\qb\"", fails(2, "invalid escape")),
            ("\"abc", fails(4, "unterminated string")),
        ] {
            let mut read = Cursor::new(text, 0..text.len());
            assert_eq!(read.string().map(|_| read.position()), end, "{text:?}");
            let mut skipped = Cursor::new(text, 0..text.len());
            assert_eq!(skipped.skip_string().map(|()| skipped.position()), end, "{text:?}");
        }
    }

    #[test]
    fn skipped_values_keep_their_spans() {
        let text = r#"{"a": [1, {"b": "]"}], "c": null}"#;
        let mut cursor = Cursor::new(text, 0..text.len());
        cursor.peek().unwrap();
        cursor.begin_object().unwrap();
        assert_eq!(cursor.next_key().unwrap().unwrap().decode(), "a");
        let span = cursor.skip_value().unwrap();
        assert_eq!(&text[span], r#"[1, {"b": "]"}]"#);
        assert_eq!(cursor.next_key().unwrap().unwrap().decode(), "c");
        assert_eq!(cursor.peek(), Ok(Kind::Null));
        assert_eq!(cursor.scalar(), Ok("null"));
        assert!(cursor.next_key().unwrap().is_none());
        assert_eq!(cursor.finish(), Ok(()));
    }

    /// JSON values with escapes, surrogate pairs, exponents and nesting.
    pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn plain_runs_end_at_the_first_byte_that_needs_care(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let first = bytes.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').unwrap_or(bytes.len());
            prop_assert_eq!(plain_run(&bytes), first);
        }

        /// The SSE2 reading and the one in words (other targets') find the same first byte.
        #[test]
        fn both_ways_of_finding_a_byte_that_needs_care_agree(
            chunk in prop::array::uniform16(prop_oneof![
                any::<u8>(),
                prop::sample::select(vec![0x00, 0x1f, 0x20, b'"', b'\\', 0x7f, 0x80, 0xff]),
            ]),
        ) {
            prop_assert_eq!(needs_care(&chunk).trailing_zeros(), needs_care_in_words(&chunk).trailing_zeros());
        }

        #[test]
        fn a_key_is_a_duplicate_exactly_when_its_object_had_it(
            // Few enough spellings to repeat, and enough to share the bits of key_bit.
            keys in prop::collection::vec(r"[ab]{0,2}|\\u0061|k[0-9]{1,2}", 0..12),
        ) {
            let members: Vec<String> = keys.iter().enumerate().map(|(i, key)| format!("\"{key}\":{i}")).collect();
            let text = format!("{{{}}}", members.join(","));
            let mut values = HashSet::new();
            let repeated = !keys.iter().all(|key| values.insert(key.replace(r"\u0061", "a")));
            prop_assert_eq!(strict(&text), !repeated, "{}", text);
        }

        #[test]
        fn a_key_is_a_duplicate_exactly_when_its_large_object_had_it(
            // Past the linear scan, into the set of offsets: fillers f0…, then
            // keys that may repeat them or each other, escaped or not.
            fillers in LINEAR_KEY_SCAN - 4..LINEAR_KEY_SCAN + 8,
            keys in prop::collection::vec(r"[ab]{0,2}|\\u0061|f[0-9]{1,2}|f\\u003[0-9]|\\u0066[0-9]", 0..12),
        ) {
            let keys: Vec<String> = (0..fillers).map(|i| format!("f{i}")).chain(keys).collect();
            let members: Vec<String> = keys.iter().enumerate().map(|(i, key)| format!("\"{key}\":{i}")).collect();
            let text = format!("{{{}}}", members.join(","));
            let mut values = HashSet::new();
            let repeated = !keys.iter().all(|key| values.insert(serde_json::from_str::<String>(&format!("\"{key}\"")).unwrap()));
            prop_assert_eq!(strict(&text), !repeated, "{}", text);
        }

        #[test]
        fn accepts_whatever_serde_json_writes(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) };
            let text = text.unwrap();
            prop_assert_eq!(check(&text, 512), Ok(()), "{}", text);
        }

        #[test]
        fn agrees_with_serde_json_on_json_like_noise(text in r#"[\[\]{}:,"\\ \t\na-f0-9.eE+\-ulrsx\x00-\x1f]{0,24}"#) {
            let ours = check(&text, 512);
            let serde = serde_json::from_str::<serde_json::Value>(&text);
            match (&ours, &serde) {
                (Ok(()), Ok(_)) | (Err(_), Err(_)) => {}
                // serde_json keeps the last of two equal keys; scanhist calls it damage.
                (Err(error), Ok(_)) => prop_assert_eq!(error.message, "duplicate key", "{:?}", text),
                (Ok(()), Err(error)) => prop_assert!(false, "accepted {:?}, which serde_json rejects: {}", text, error),
            }
        }
    }
}
