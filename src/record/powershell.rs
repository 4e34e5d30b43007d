//! Targets that Windows PowerShell's `ConvertTo-Json` flattened to text.
//!
//! At its default `-Depth 2`, nested objects are written as their
//! `ToString()`: `@{ip=10.0.0.1; hostname=sw-1; scanStatus=Success}`.

/// The `key=value` pairs of a `@{…}` string, or `None` if it is not one.
///
/// Values run to the next `; key=` so that a `;` inside a value survives.
pub(super) fn hashtable_pairs(text: &str) -> Option<Vec<(&str, &str)>> {
    let body = text.trim().strip_prefix("@{")?.strip_suffix('}')?;
    let mut pairs = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after_key) = rest.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let end = next_pair_start(after_key).unwrap_or(after_key.len());
        let value = after_key[..end].trim_end_matches([';', ' ']);
        pairs.push((key, value));
        rest = after_key[end..].trim_start();
    }
    Some(pairs)
}

/// The offset of the next `; key=` in `text`, after the `; `.
fn next_pair_start(text: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(i) = text[search..].find(';') {
        let after = search + i + 1;
        let candidate = text[after..].trim_start();
        let key_len = candidate.find('=')?;
        let key = &candidate[..key_len];
        if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Some(text.len() - candidate.len());
        }
        search = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::hashtable_pairs;

    #[test]
    fn reads_key_value_pairs() {
        let pairs =
            hashtable_pairs("@{ip=10.0.0.1; hostname=sw-1; scanStatus=Success; scanDuration=00:03:00}").unwrap();
        assert_eq!(
            pairs,
            [("ip", "10.0.0.1"), ("hostname", "sw-1"), ("scanStatus", "Success"), ("scanDuration", "00:03:00")]
        );
    }

    #[test]
    fn semicolons_and_equals_inside_values_survive() {
        let pairs = hashtable_pairs("@{errorMessage=a; b = c; hostname=; ip=::1}").unwrap();
        assert_eq!(pairs, [("errorMessage", "a; b = c"), ("hostname", ""), ("ip", "::1")]);
    }

    #[test]
    fn other_text_is_not_a_hashtable() {
        assert_eq!(hashtable_pairs("sw-1"), None);
        assert_eq!(hashtable_pairs("@{not a pair}"), None);
        assert_eq!(hashtable_pairs("@{}"), Some(vec![]));
    }
}
