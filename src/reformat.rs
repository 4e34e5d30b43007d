//! Reformats strict JSON text, token by token.
//!
//! Working on tokens rather than a parsed value keeps every number's digits,
//! every escape and every duplicate key exactly as written, costs no tree, and
//! has no recursion limit.

use std::io::{self, Write};

/// How to lay out a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// No whitespace at all.
    Compact,
    /// Two-space indentation, one member or element per line, as serde_json's
    /// pretty printer writes it.
    Pretty,
}

/// Writes the strict JSON document `json` to `out` in `layout`.
///
/// The input must be strict JSON, as [`crate::Repaired::documents`] yields;
/// whitespace is dropped and re-inserted, nothing else changes.
///
/// # Errors
///
/// Fails only when writing to `out` fails.
pub fn reformat<W: Write>(json: &str, layout: Layout, out: &mut W) -> io::Result<()> {
    let bytes = json.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let mut run_start = 0;
    // Copy runs of untouched bytes in one call; flush before each change.
    let mut buffer = Vec::with_capacity(json.len().min(1 << 16));
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                buffer.extend_from_slice(&bytes[run_start..i]);
                i += 1;
                run_start = i;
                continue;
            }
            _ if layout == Layout::Compact => {}
            open @ (b'{' | b'[') => {
                buffer.extend_from_slice(&bytes[run_start..=i]);
                let next = next_significant(bytes, i + 1);
                if next.is_some_and(|j| bytes[j] == closer_of(open)) {
                    let j = next.expect("checked");
                    buffer.push(bytes[j]);
                    i = j + 1;
                } else {
                    depth += 1;
                    newline(&mut buffer, depth);
                    i += 1;
                }
                run_start = i;
                continue;
            }
            b'}' | b']' => {
                buffer.extend_from_slice(&bytes[run_start..i]);
                depth = depth.saturating_sub(1);
                newline(&mut buffer, depth);
                buffer.push(bytes[i]);
                i += 1;
                run_start = i;
                continue;
            }
            b',' => {
                buffer.extend_from_slice(&bytes[run_start..=i]);
                newline(&mut buffer, depth);
                i += 1;
                run_start = i;
                continue;
            }
            b':' => {
                buffer.extend_from_slice(&bytes[run_start..=i]);
                buffer.push(b' ');
                i += 1;
                run_start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
        if buffer.len() >= 1 << 16 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    buffer.extend_from_slice(&bytes[run_start..]);
    out.write_all(&buffer)
}

fn closer_of(open: u8) -> u8 {
    if open == b'{' {
        b'}'
    } else {
        b']'
    }
}

fn newline(buffer: &mut Vec<u8>, depth: usize) {
    buffer.push(b'\n');
    buffer.resize(buffer.len() + 2 * depth, b' ');
}

/// The offset just past the string starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(offset) = memchr::memchr2(b'"', b'\\', &bytes[i..]) {
        i += offset;
        if bytes[i] == b'\\' {
            i += 2;
        } else {
            return i + 1;
        }
    }
    bytes.len()
}

fn next_significant(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&j| !matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(json: &str, layout: Layout) -> String {
        let mut out = Vec::new();
        reformat(json, layout, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn compact_drops_whitespace_outside_strings_only() {
        let json = "{ \"a b\" : [ 1 , 2.50 ] ,\n \"c\\\" d\": { } }";
        assert_eq!(render(json, Layout::Compact), r#"{"a b":[1,2.50],"c\" d":{}}"#);
    }

    #[test]
    fn pretty_matches_serde_json_layout() {
        let json = r#"{"a":[1,{"b":null}],"e":[],"o":{},"s":"x,y:{"}"#;
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(render(json, Layout::Pretty), serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn numbers_and_duplicate_keys_are_kept_verbatim() {
        let json = r#"{"n": 1.0e+400, "k": 1, "k": 2}"#;
        assert_eq!(render(json, Layout::Compact), r#"{"n":1.0e+400,"k":1,"k":2}"#);
    }
}
