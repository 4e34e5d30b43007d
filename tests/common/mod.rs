//! Strategies shared by the property tests.

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value serde_json can write, nested a few levels.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z\"\\\\,:{}\\[\\] ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z,:\"]{0,6}", inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Fragments of JSON and of the damage found in saved responses.
pub fn damaged_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just("\"a\""),
        Just("'b'"),
        Just("\""),
        Just("'"),
        Just("1"),
        Just("-"),
        Just(".5"),
        Just("007"),
        Just("1e"),
        Just("true"),
        Just("True"),
        Just("NaN"),
        Just("-Infinity"),
        Just("null"),
        Just("// c\n"),
        Just("/*"),
        Just("*/"),
        Just("#"),
        Just("\n"),
        Just(" "),
        Just("\\"),
        Just("\\u12"),
        Just("\\ud800"),
        Just("“"),
        Just("”"),
        Just("x"),
        Just("\t"),
        Just("\u{0}"),
        Just("("),
        Just(")"),
        Just(";"),
        Just("```"),
        Just("é"),
        Just("\u{a0}"),
        Just("="),
        Just("1e999"),
        Just("HTTP/1.1 200 OK\n"),
        Just("cb("),
    ];
    prop::collection::vec(fragment, 0..48).prop_map(|parts| parts.concat())
}

/// A valid scan-history response: an envelope of sessions, each with or
/// without a target list, with the API's field spellings and value forms.
pub fn scan_history() -> impl Strategy<Value = Value> {
    let target = (any::<[u8; 4]>(), "[a-zA-Z0-9 =+@.-]{0,12}", 0u32..86_400, 0u32..10_000_000).prop_map(
        |(ip, hostname, seconds, fraction)| {
            json!({
                "ip": format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]),
                "hostname": hostname,
                "scanStatus": "Success",
                "scanDuration": format!("{:02}:{:02}:{:02}.{fraction:07}", seconds / 3600, seconds % 3600 / 60, seconds % 60),
            })
        },
    );
    let session = (
        "[0-9a-f]{32}",
        prop::option::of(prop::collection::vec(target, 0..5)),
        prop::sample::select(vec!["Success", "PartialSuccess", "Partial Success", "Fail", "Failure", "Timed out"]),
        0i64..4_000_000_000,
    )
        .prop_map(|(id, targets, status, seconds)| {
            let mut session = json!({
                "sessionId": id,
                "scanStatus": status,
                "LastScanned": format!(
                    "{}.1234567Z",
                    chrono::DateTime::from_timestamp(seconds, 0).unwrap().format("%Y-%m-%dT%H:%M:%S")
                ),
            });
            if let Some(targets) = targets {
                session["numberOfTargets"] = json!(targets.len());
                session["scannedTargets"] = Value::Array(targets);
            }
            session
        });
    prop::collection::vec(session, 0..6).prop_map(|sessions| json!({"@odata.context": "ctx", "value": sessions}))
}

/// [`scan_history`] with keys scanhist does not know, holding any JSON, in
/// some sessions and targets.
pub fn scan_history_with_extras() -> impl Strategy<Value = Value> {
    (scan_history(), prop::collection::vec(prop::option::of(json_value()), 16)).prop_map(|(mut response, extras)| {
        let mut extras = extras.into_iter().cycle();
        for session in response["value"].as_array_mut().unwrap() {
            if let Some(extra) = extras.next().flatten() {
                session["tags"] = extra;
            }
            for target in session["scannedTargets"].as_array_mut().into_iter().flatten() {
                if let Some(extra) = extras.next().flatten() {
                    target["ports"] = extra;
                }
            }
        }
        response
    })
}

/// `value` written with the documented sample's damage where `damage` says:
/// bit by bit, one bit per container in the order written, a trailing comma
/// after its last member or element; and for each member whose key `runs`
/// takes and whose value is an array of objects, the next bit makes it a
/// run of bare objects (`"key": {…},{…}`) in place of the array.
pub fn with_sample_damage(value: &Value, damage: u64, runs: fn(&str) -> bool) -> String {
    fn write(value: &Value, bits: &mut impl Iterator<Item = bool>, runs: fn(&str) -> bool, out: &mut String) {
        match value {
            Value::Object(members) => {
                out.push('{');
                let trailing = bits.next().unwrap();
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&serde_json::to_string(key).unwrap());
                    out.push_str(": ");
                    match value.as_array() {
                        Some(elements)
                            if runs(key)
                                && elements.len() > 1
                                && elements.iter().all(Value::is_object)
                                && bits.next().unwrap() =>
                        {
                            for (j, element) in elements.iter().enumerate() {
                                if j > 0 {
                                    out.push_str(",\n");
                                }
                                write(element, bits, runs, out);
                            }
                        }
                        _ => write(value, bits, runs, out),
                    }
                }
                if trailing && !members.is_empty() {
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(elements) => {
                out.push('[');
                let trailing = bits.next().unwrap();
                for (i, element) in elements.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(element, bits, runs, out);
                }
                if trailing && !elements.is_empty() {
                    out.push(',');
                }
                out.push(']');
            }
            scalar => out.push_str(&serde_json::to_string(scalar).unwrap()),
        }
    }
    let mut bits = (0..64).map(|i| damage >> i & 1 == 1).cycle();
    let mut out = String::new();
    write(value, &mut bits, runs, &mut out);
    out
}
