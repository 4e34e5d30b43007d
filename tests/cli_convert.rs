//! `scanhist convert` end to end, through the real binary: exit code, stdout, stderr.

use std::fs;

use assert_cmd::Command;

fn scanhist() -> Command {
    Command::cargo_bin("scanhist").unwrap()
}

fn path(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = scanhist().args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn csv_rows(csv: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv.as_bytes()).records().map(Result::unwrap).collect()
}

#[test]
fn converts_the_bundled_samples_to_csv() {
    let (code, stdout, stderr) = run(&["convert", &path("samples")]);
    assert_eq!(code, 0, "{stderr}");
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), scanhist::emit::TARGET_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 2 by-definition records, 1 chat paste target, 3 + 1 clean-response rows,
    // 3 documented-sample targets, 2 PowerShell targets, 2 truncated-download targets.
    assert_eq!(rows.len(), 14);
    let sample: Vec<_> = rows.iter().filter(|r| r[0].ends_with("documented-sample.json")).collect();
    assert_eq!(sample.len(), 3);
    assert_eq!(&sample[2][11], "127.0.0.3");
    assert_eq!(&sample[0][7], "2022-12-19T15:14:24.5561791Z");
    assert_eq!(&sample[0][16], "510");
    let summary = stderr.lines().last().unwrap();
    assert_eq!(
        summary,
        "scanhist: 6 inputs, 8 sessions, 14 rows; 25 repairs; 0 errors, 2 warnings, 0 notes; \
         1 CSV cell neutralized against formula injection"
    );
    assert!(stderr.contains("documented-sample.json:12:28: object-run: "), "{stderr}");
}

#[test]
fn csv_neutralizes_formulas_unless_told_not_to() {
    let clean = path("samples/clean-by-session.json");
    let (_, stdout, _) = run(&["convert", &clean]);
    let rows = csv_rows(&stdout);
    assert_eq!(&rows[2][12], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    let (_, raw, stderr) = run(&["convert", "--no-neutralize", &clean]);
    assert_eq!(&csv_rows(&raw)[2][12], "=HYPERLINK(\"http://evil.example\",\"click\")");
    assert!(!stderr.contains("neutralized"), "{stderr}");
}

#[test]
fn a_session_without_targets_gives_one_row_and_session_level_counts_targets() {
    let clean = path("samples/clean-by-session.json");
    let (_, stdout, _) = run(&["convert", &clean]);
    let rows = csv_rows(&stdout);
    assert_eq!(rows.len(), 4);
    assert_eq!((&rows[3][1], &rows[3][10], &rows[3][11]), ("9f1e2d3c4b5a69788796a5b4c3d2e1f0", "", ""));
    let (_, sessions, _) = run(&["convert", "--level", "session", &clean]);
    let mut reader = csv::Reader::from_reader(sessions.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().next_back(), Some("targets_listed"));
    let counts: Vec<String> = reader.records().map(|r| r.unwrap()[10].to_owned()).collect();
    assert_eq!(counts, ["3", ""]);
}

#[test]
fn ndjson_rows_match_csv_rows_and_the_row_schema() {
    let samples = path("samples");
    let (_, csv, _) = run(&["convert", &samples]);
    let (code, ndjson, _) = run(&["convert", "--format", "ndjson", &samples]);
    assert_eq!(code, 0);
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path("schemas/row.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let csv_rows = csv_rows(&csv);
    let json_rows: Vec<serde_json::Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(json_rows.len(), csv_rows.len());
    for (json_row, csv_row) in json_rows.iter().zip(&csv_rows) {
        assert!(validator.is_valid(json_row), "{json_row}");
        for (i, column) in scanhist::emit::TARGET_COLUMNS.iter().enumerate() {
            let shown = match &json_row[column] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let csv_cell = csv_row[i].strip_prefix('\'').filter(|_| shown.starts_with('=')).unwrap_or(&csv_row[i]);
            assert_eq!(shown, csv_cell, "{column}");
        }
    }
    let (_, session_rows, _) = run(&["convert", "--format", "ndjson", "--level", "session", &samples]);
    for line in session_rows.lines() {
        assert!(validator.is_valid(&serde_json::from_str(line).unwrap()), "{line}");
    }
}

#[test]
fn durations_are_exact_in_every_format() {
    let input = r#"{"value": [{"sessionId": "a", "scannedTargets": [{"scanDuration": "00:08:30.1234567"}]}]}"#;
    for (format, expected) in [
        ("seconds", "510.1234567"),
        ("millis", "510123.4567"),
        ("iso8601", "PT8M30.1234567S"),
        ("timespan", "00:08:30.1234567"),
    ] {
        let output = scanhist().args(["convert", "--duration", format]).write_stdin(input).output().unwrap();
        let rows = csv_rows(std::str::from_utf8(&output.stdout).unwrap());
        assert_eq!((&rows[0][0], &rows[0][16]), ("-", expected));
    }
}

#[test]
fn an_api_error_fails_the_run_but_other_files_are_still_converted() {
    let (code, stdout, stderr) =
        run(&["convert", &path("tests/fixtures/convert/api-error.json"), &path("samples/documented-sample.json")]);
    assert_eq!(code, 1);
    assert_eq!(csv_rows(&stdout).len(), 3);
    assert!(
        stderr.contains("api-error.json:1:11: error[api-error]: the document is an API error response, not scan history: TooManyRequests: Rate limit exceeded: 100 calls per minute (at /error)"),
        "{stderr}"
    );
}

#[test]
fn bad_values_are_reported_with_position_and_pointer_and_everything_else_is_written() {
    let (code, stdout, stderr) = run(&["convert", &path("tests/fixtures/convert/mixed-damage.json")]);
    assert_eq!(code, 1);
    let rows = csv_rows(&stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][11], "10.0.0.300");
    assert!(stderr.contains(":4:65: error[invalid-value]: minutes must be below 60 in \"00:61:00\", not 61 (at /value/0/scannedTargets/0/ScanDuration)"), "{stderr}");
    assert!(
        stderr.contains(":8:3: error[invalid-record]: the record is a string, not an object (at /value/1)"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("scanhist: 1 input, 2 sessions, 3 rows; 0 repairs; 5 errors, 2 warnings, 3 notes\n"),
        "{stderr}"
    );
}

#[test]
fn strict_counts_repairs_as_failures() {
    let sample = path("samples/documented-sample.json");
    assert_eq!(run(&["convert", &sample]).0, 0);
    let (code, stdout, _) = run(&["convert", "--strict", &sample]);
    assert_eq!(code, 1);
    assert_eq!(csv_rows(&stdout).len(), 3, "rows are still written");
    assert_eq!(run(&["convert", "--strict", &path("samples/clean-by-session.json")]).0, 0);
}

#[test]
fn unreadable_input_exits_2_after_converting_the_rest() {
    let (code, stdout, stderr) = run(&["convert", "/nonexistent.json", &path("samples/documented-sample.json")]);
    assert_eq!(code, 2);
    assert_eq!(csv_rows(&stdout).len(), 3);
    assert!(stderr.starts_with("scanhist: cannot read /nonexistent.json: "), "{stderr}");
    assert!(stderr.contains("; 1 input unreadable"), "{stderr}");
}

#[test]
fn input_without_json_exits_1_and_is_counted() {
    let output = scanhist().arg("convert").write_stdin("no json here").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.starts_with("-:1:1: error: no JSON value found\n"), "{stderr}");
    assert!(stderr.contains("1 error"), "{stderr}");
}

#[test]
fn ndjson_records_are_read_from_stdin_in_order() {
    let output = scanhist()
        .args(["convert", "--format", "ndjson", "-"])
        .write_stdin("{\"sessionId\": \"n1\"}\n{\"sessionId\": \"n2\"}\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let ids: Vec<serde_json::Value> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["session_id"].clone())
        .collect();
    assert_eq!(ids, ["n1", "n2"]);
}

#[test]
fn output_file_option_writes_there() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    let (code, stdout, _) = run(&["convert", "-o", out.to_str().unwrap(), &path("samples/documented-sample.json")]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(csv_rows(&fs::read_to_string(out).unwrap()).len(), 3);
}

#[test]
fn an_earlier_output_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    let sample = path("samples/documented-sample.json");
    let (_, expected, _) = run(&["convert", &sample]);
    // Longer than the new rows, so a tail left over would show.
    fs::write(&out, "stale row\n".repeat(100_000)).unwrap();
    let (code, _, stderr) = run(&["convert", "-o", out.to_str().unwrap(), &sample]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);

    // No rows at all (NDJSON has no header): still emptied.
    let nothing = dir.path().join("nothing.txt");
    fs::write(&nothing, "no json here").unwrap();
    let (code, _, _) = run(&["convert", "--format", "ndjson", "-o", out.to_str().unwrap(), nothing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(fs::read_to_string(&out).unwrap(), "");
}

#[test]
fn an_input_named_as_the_output_is_refused_before_either_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("response.json");
    fs::copy(path("samples/documented-sample.json"), &file).unwrap();
    let before = fs::read(&file).unwrap();
    let file = file.to_str().unwrap();
    let (code, stdout, stderr) = run(&["convert", "-o", file, file]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("is both an input and the output file (-o)"), "{stderr}");
    assert_eq!(fs::read(file).unwrap(), before, "the input was overwritten");
}

#[test]
fn the_output_found_in_an_input_directory_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(path("samples/documented-sample.json"), dir.path().join("response.json")).unwrap();
    let out = dir.path().join("rows.csv");
    let args = ["convert", "-o", out.to_str().unwrap(), dir.path().to_str().unwrap()];
    // Twice: the second run finds the first run's rows in the directory.
    for _ in 0..2 {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(csv_rows(&fs::read_to_string(&out).unwrap()).len(), 3);
        assert!(stderr.contains("1 input,"), "{stderr}");
    }
    let (_, _, stderr) = run(&args);
    assert!(stderr.contains(&format!("skipped {}: it is the output file (-o)", out.display())), "{stderr}");
}

/// A response of `sessions` sessions, each with two targets; `damaged`
/// leaves a trailing comma in every target list.
fn large_response(sessions: usize, damaged: bool) -> String {
    let comma = if damaged { "," } else { "" };
    let records: Vec<String> = (0..sessions)
        .map(|i| {
            format!(
                r#"{{"sessionId": "s{i:06}", "scanStatus": "Success", "LastScanned": "2024-03-05T09:41:07.1234567Z",
"scannedTargets": [{{"ip": "10.0.{}.{}", "hostname": "host-{i}", "scanDuration": "00:03:12.5000000"}},
{{"ip": "fe80::{i:x}", "hostname": "=cmd|' /C calc'!A0", "errorMessage": "timeout \"{i}\"", "scanStatus": "Failure"}}{comma}]}}"#,
                i / 256 % 256,
                i % 256
            )
        })
        .collect();
    format!("{{\"value\": [\n{}\n]}}\n", records.join(",\n"))
}

/// The rows the library writes for `text`, typed whole and written on one thread.
fn rows_written_inline(text: &str, source: &str) -> String {
    let mut storage = String::new();
    let (_, records) = scanhist::read(text.as_bytes(), &Default::default(), &mut storage).unwrap();
    let mut rows = scanhist::emit::RowWriter::new(Vec::new(), Default::default()).unwrap();
    for session in records.sessions() {
        rows.write_session(source, session).unwrap();
    }
    String::from_utf8(rows.finish().unwrap()).unwrap()
}

/// Saves `text` as `file_name` in `dir` and converts it: the saved path and
/// what `scanhist convert` gave.
fn convert_saved(dir: &tempfile::TempDir, file_name: &str, text: &str) -> (String, (i32, String, String)) {
    let file = dir.path().join(file_name);
    fs::write(&file, text).unwrap();
    let name = file.to_str().unwrap().to_owned();
    let output = run(&["convert", &name]);
    (name, output)
}

#[test]
fn large_inputs_written_alongside_typing_give_the_rows_of_one_thread_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for damaged in [false, true] {
        // Over 1 MiB, so rows are written on a second thread as sessions are typed.
        let text = large_response(12_000, damaged);
        assert!(text.len() > 2 << 20, "{} bytes", text.len());
        let (name, (code, stdout, stderr)) = convert_saved(&dir, "large.json", &text);
        assert_eq!(code, 0, "{stderr}");
        let expected = rows_written_inline(&text, &name);
        assert_eq!(stdout.lines().count(), 24_001);
        assert!(stdout == expected, "damaged: {damaged}; the rows differ from the library's");
        let repairs = if damaged { "12000 repairs" } else { "0 repairs" };
        assert!(stderr.ends_with(&format!("12000 sessions, 24000 rows; {repairs}; 0 errors, 0 warnings, 0 notes; 12000 CSV cells neutralized against formula injection\n")), "{stderr}");
    }
}

#[test]
fn a_failing_output_stops_a_large_conversion_with_its_error() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Valid input written alongside typing, and damaged input converted in parts.
    for (name, text) in [("large.json", large_response(12_000, false)), ("lines.json", damaged_lines(24_000))] {
        let file = dir.path().join(name);
        fs::write(&file, text).unwrap();
        let (code, stdout, stderr) = run(&["convert", "-o", "/dev/full", file.to_str().unwrap()]);
        assert_ne!(code, 0, "{name}");
        assert_eq!(stdout, "", "{name}");
        assert!(stderr.contains("No space left on device"), "{name}: {stderr}");
    }
}

/// One response per line, `lines` of them, each with a trailing comma in its
/// target; every 1000th has a minute count out of range.
fn damaged_lines(lines: usize) -> String {
    (1..=lines)
        .map(|i| {
            let duration = if i % 1000 == 0 { "00:61:00" } else { "00:03:12.5000000" };
            format!(
                r#"{{"value": [{{"sessionId": "s{i:06}", "scanStatus": "Success", "scannedTargets": [{{"ip": "10.0.{}.{}", "hostname": "host-{i}", "scanDuration": "{duration}",}}]}}]}}"#,
                i / 256 % 256,
                i % 256
            ) + "\n"
        })
        .collect()
}

#[test]
fn large_damaged_inputs_converted_in_parts_give_every_row_and_every_finding_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    // Over 4 MiB: several parts, and read into mapped memory.
    let text = damaged_lines(32_000);
    assert!(text.len() > 4 << 20, "{} bytes", text.len());
    let (name, (code, stdout, stderr)) = convert_saved(&dir, "lines.json", &text);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout == rows_written_inline(&text, &name), "the rows differ from the library's");
    let mut repairs = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let comma = line.find(",}").unwrap() + 1;
        repairs.push(format!("{name}:{}:{comma}: trailing-comma: removed a trailing comma", i + 1));
        if let Some(value) = line.find("\"00:61:00\"") {
            errors.push(format!("{name}:{}:{}: error[invalid-value]: minutes must be below 60", i + 1, value + 1));
        }
    }
    let logged: Vec<&str> = stderr.lines().collect();
    let (summary, findings) = logged.split_last().unwrap();
    let logged_repairs: Vec<&str> = findings.iter().copied().filter(|l| l.contains(": trailing-comma: ")).collect();
    assert_eq!(logged_repairs, repairs);
    let logged_errors: Vec<&str> = findings.iter().copied().filter(|l| l.contains(": error[")).collect();
    assert_eq!(logged_errors.len(), errors.len());
    for (logged, expected) in logged_errors.iter().zip(&errors) {
        assert!(logged.starts_with(expected.as_str()), "{logged} is not {expected}…");
    }
    assert_eq!(findings.len(), repairs.len() + errors.len(), "{stderr}");
    assert_eq!(
        *summary,
        "scanhist: 1 input, 32000 sessions, 32000 rows; 32000 repairs; 32 errors, 0 warnings, 0 notes"
    );
}

#[test]
fn nesting_too_deep_after_parts_keeps_their_rows_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let text = damaged_lines(24_000) + &"[".repeat(600);
    let (name, (code, stdout, stderr)) = convert_saved(&dir, "deep.json", &text);
    assert_eq!(code, 1, "{stderr}");
    // The parts before the one that fails are written: some rows, not all.
    let rows = csv_rows(&stdout).len();
    assert!(rows > 10_000 && rows < 24_000, "{rows} rows");
    assert!(stderr.contains(&format!("{name}:24001:513: error: nesting deeper than 512 levels\n")), "{stderr}");
}

/// A response of a session with `targets` targets, its fields before or after
/// the list, and a session without targets; keys scanhist does not know in
/// the session and in every tenth target, which no row shows.
fn long_session(targets: usize, list_first: bool) -> String {
    let list: Vec<String> = (0..targets)
        .map(|i| {
            let unknown = if i % 10 == 0 { r#", "vendor": {"model": ["x", 1]}"# } else { "" };
            format!(r#"{{"ip": "10.{}.{}.{}", "hostname": "host-{i}"{unknown}}}"#, i >> 16, i >> 8 & 255, i & 255)
        })
        .collect();
    let list = format!(r#""scannedTargets": [{}]"#, list.join(",\n"));
    let fields = r#""sessionId": "s", "tags": ["a", {"b": null}], "scanStatus": "Success""#;
    let session = if list_first { format!("{{{list}, {fields}}}") } else { format!("{{{fields}, {list}}}") };
    format!("{{\"value\": [{session}, {{\"sessionId\": \"t\"}}]}}\n")
}

#[test]
fn a_long_target_list_is_written_as_one_session() {
    let dir = tempfile::tempdir().unwrap();
    // Typed whole, written alongside typing (over 1 MiB), and checked on a second thread (over 4 MiB).
    for (targets, list_first) in [(3_000, true), (40_000, false), (120_000, true)] {
        let text = long_session(targets, list_first);
        let (name, (code, stdout, stderr)) = convert_saved(&dir, "long.json", &text);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout == rows_written_inline(&text, &name), "{targets} targets: the rows differ from the library's");
        let rows = csv_rows(&stdout);
        assert_eq!(rows.len(), targets + 1);
        assert_eq!(
            (&rows[targets - 1][1], &rows[targets - 1][5], &rows[targets - 1][10]),
            ("s", "Success", &*(targets - 1).to_string())
        );
        let summary =
            format!("scanhist: 1 input, 2 sessions, {} rows; 0 repairs; 0 errors, 0 warnings, 0 notes\n", targets + 1);
        assert!(stderr.ends_with(&summary), "{stderr}");
        let (code, stdout, _) = run(&["convert", "--level", "session", &name]);
        assert_eq!(code, 0);
        let rows = csv_rows(&stdout);
        assert_eq!(rows.iter().map(|row| row[10].to_owned()).collect::<Vec<_>>(), [targets.to_string(), String::new()]);
    }
}
