//! The fast path: is the text already strict JSON with unique keys?
//!
//! serde_json does the parsing; a visitor only compares each object's keys.
//! Keys are borrowed from the input unless they hold escapes, and one key
//! buffer is reused across all objects, so the check allocates almost nothing.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::json::Key;

/// Objects with more keys than this switch from a linear scan to a hash set.
const LINEAR_KEY_SCAN: usize = 32;

/// Whether `text` is one strict JSON document, nested at most `max_depth`
/// deep, in which no object repeats a key.
pub(super) fn is_strict_json_without_duplicates(text: &str, max_depth: usize) -> bool {
    let mut keys = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let unique = UniqueKeys { keys: &mut keys, depth: max_depth };
    unique.deserialize(&mut deserializer).is_ok() && deserializer.end().is_ok()
}

/// A duplicate key or excess depth; reported to serde as an error to stop early.
#[derive(Debug)]
struct NotStrict;

struct UniqueKeys<'k, 'de> {
    keys: &'k mut Vec<Cow<'de, str>>,
    /// How many more levels of containers may open.
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth.checked_sub(1).ok_or_else(|| de::Error::custom(NotStrict))?;
        while seq.next_element_seed(UniqueKeys { keys: &mut *self.keys, depth })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.depth.checked_sub(1).ok_or_else(|| de::Error::custom(NotStrict))?;
        let base = self.keys.len();
        let mut large: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let duplicate = match &mut large {
                Some(set) => !set.insert(key),
                None => {
                    let seen = &self.keys[base..];
                    let duplicate = seen.contains(&key);
                    if seen.len() >= LINEAR_KEY_SCAN {
                        large = Some(self.keys.drain(base..).chain([key]).collect());
                    } else {
                        self.keys.push(key);
                    }
                    duplicate
                }
            };
            if duplicate {
                self.keys.truncate(base);
                return Err(de::Error::custom(NotStrict));
            }
            map.next_value_seed(UniqueKeys { keys: &mut *self.keys, depth })?;
        }
        self.keys.truncate(base);
        Ok(())
    }
}

impl fmt::Display for NotStrict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("duplicate key or nesting past the limit")
    }
}

#[cfg(test)]
mod tests {
    use super::is_strict_json_without_duplicates;

    fn strict(text: &str) -> bool {
        is_strict_json_without_duplicates(text, 512)
    }

    #[test]
    fn rejects_nesting_past_the_limit() {
        assert!(is_strict_json_without_duplicates("[[1]]", 2));
        assert!(!is_strict_json_without_duplicates("[[[1]]]", 2));
        assert!(!is_strict_json_without_duplicates(r#"{"a":{"b":{}}}"#, 2));
    }

    #[test]
    fn accepts_strict_json() {
        for text in ["{}", "[1, 2.5, -3e4]", r#"{"a": {"a": [true, null, "x"]}, "b": "\u00e9"}"#, " \"s\" \n"] {
            assert!(strict(text), "{text}");
        }
    }

    #[test]
    fn rejects_anything_serde_json_rejects() {
        for text in ["", "{,}", "[1,]", "{'a':1}", "[1] [2]", "{\"a\":NaN}"] {
            assert!(!strict(text), "{text}");
        }
    }

    #[test]
    fn rejects_duplicate_keys_in_any_object() {
        assert!(!strict(r#"{"a":1,"a":2}"#));
        assert!(!strict(r#"[{"x":{"a":1,"b":{"a":0},"a":2}}]"#));
        // An escaped key equals its plain spelling.
        assert!(!strict(r#"{"a":1,"\u0061":2}"#));
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
    }
}
