//! Small serde helpers for reading strict JSON without building a tree:
//! keys borrowed from the input, and objects as lists of raw members.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Deserializes a string (an object key or a value), borrowing it from the input
/// when it has no escapes.
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// An object's members in input order, values left as raw JSON text.
pub(crate) struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(12));
        while let Some(key) = map.next_key_seed(Key)? {
            members.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(Members(members))
    }
}

/// The members of the raw object `raw`; `None` if it is not an object.
pub(crate) fn members(raw: &RawValue) -> Option<Members<'_>> {
    serde_json::from_str(raw.get()).ok()
}

/// The string `raw` holds, borrowed when it has no escapes; `None` if it is not a string.
pub(crate) fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    // Strict JSON: a string without a backslash has no escapes to decode.
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Some(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    Key.deserialize(&mut serde_json::Deserializer::from_str(text)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_order_duplicates_and_raw_values() {
        let raw: &RawValue = serde_json::from_str(r#"{"b": [1, 2], "a\u0041": "x", "b": null}"#).unwrap();
        let Members(members) = members(raw).unwrap();
        let shown: Vec<(&str, &str)> = members.iter().map(|(k, v)| (k.as_ref(), v.get())).collect();
        assert_eq!(shown, [("b", "[1, 2]"), ("aA", "\"x\""), ("b", "null")]);
        assert!(matches!(members[0].0, Cow::Borrowed(_)));
        assert!(matches!(members[1].0, Cow::Owned(_)));
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let plain: &RawValue = serde_json::from_str(r#""sw-1""#).unwrap();
        assert!(matches!(string(plain), Some(Cow::Borrowed("sw-1"))));
        let escaped: &RawValue = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!(string(escaped).as_deref(), Some("a\"b"));
        let number: &RawValue = serde_json::from_str("3").unwrap();
        assert_eq!(string(number), None);
    }
}
