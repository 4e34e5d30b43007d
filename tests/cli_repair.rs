//! `scanhist repair` end to end, through the real binary: exit code, stdout, stderr.

use assert_cmd::Command;

fn scanhist() -> Command {
    Command::cargo_bin("scanhist").unwrap()
}

fn sample(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn repairs_the_documented_sample_with_a_positioned_log() {
    let path = sample("documented-sample.json");
    let output = scanhist().args(["repair", &path]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["value"][0]["ListScannedTargets"].as_array().unwrap().len(), 3);
    let log = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 5, "{log}");
    assert_eq!(
        lines[0],
        format!("{path}:12:28: object-run: the value of key \"ListScannedTargets\" continues as a run of 3 objects: inserted '[' and ']' to make it an array")
    );
    assert_eq!(lines[1], format!("{path}:18:36: trailing-comma: removed a trailing comma"));
}

#[test]
fn valid_input_passes_through_byte_for_byte_with_an_empty_log() {
    let input = "{ \"a\" : [1.50, \"\\u00e9\"] }\n";
    scanhist().arg("repair").write_stdin(input).assert().code(0).stdout(input).stderr("");
}

#[test]
fn stdin_is_named_dash_in_the_log() {
    scanhist()
        .args(["repair", "-"])
        .write_stdin("[1,]")
        .assert()
        .code(0)
        .stdout("[1]")
        .stderr("-:1:3: trailing-comma: removed a trailing comma\n");
}

#[test]
fn json_log_lists_repairs_with_positions() {
    let output = scanhist().args(["repair", "--log", "json"]).write_stdin("{'a': 1, 'a': 2}").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(log["file"], "-");
    assert_eq!(log["encoding"], "utf-8");
    assert_eq!(log["documents"], 1);
    assert_eq!(log["repairs"].as_array().unwrap().len(), 2);
    assert_eq!(log["repairs"][0]["kind"], "single-quotes");
    assert_eq!(log["repairs"][0]["line"], 1);
    assert_eq!(log["repairs"][0]["column"], 2);
    assert_eq!(log["notes"][0]["kind"], "duplicate-key");
    assert_eq!(log["notes"][0]["column"], 10);
}

#[test]
fn compact_and_pretty_reformat_each_document() {
    let input = "{\"a\": [1, 2]}{\"b\": {}}";
    scanhist().args(["repair", "--compact"]).write_stdin(input).assert().code(0).stdout("{\"a\":[1,2]}\n{\"b\":{}}\n");
    scanhist()
        .args(["repair", "--pretty"])
        .write_stdin("{\"a\": [1]}")
        .assert()
        .code(0)
        .stdout("{\n  \"a\": [\n    1\n  ]\n}\n");
}

#[test]
fn input_without_json_exits_1_and_says_where_and_why() {
    scanhist()
        .arg("repair")
        .write_stdin("no json here")
        .assert()
        .code(1)
        .stdout("")
        .stderr("-:1:1: error: no JSON value found\n");
}

#[test]
fn nesting_past_the_limit_exits_1() {
    scanhist()
        .args(["repair", "--max-depth", "3"])
        .write_stdin("\n[[[[1]]]]")
        .assert()
        .code(1)
        .stderr("-:2:4: error: nesting deeper than 3 levels\n");
}

#[test]
fn usage_and_io_errors_exit_2() {
    scanhist().args(["repair", "--bogus"]).assert().code(2);
    let missing = scanhist().args(["repair", "/nonexistent/file.json"]).assert().code(2);
    let stderr = String::from_utf8(missing.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("scanhist: cannot read /nonexistent/file.json:"), "{stderr}");
}

/// `lines` one-line documents, each with a trailing comma at column 24.
fn documents_with_a_repair_each(lines: usize) -> String {
    (0..lines).map(|i| format!("{{\"sessionId\": \"s{i:06}\",}}\n")).collect()
}

/// About 2 MiB of documents: repaired, written and logged in parts.
const MANY: usize = 80_000;

#[test]
fn many_documents_are_written_and_logged_part_by_part_as_the_whole_repair() {
    let input = documents_with_a_repair_each(MANY) + "{\"a\": 1, \"a\": 2}\n";
    let whole = scanhist::repair(input.as_bytes(), &Default::default()).unwrap();
    let output = scanhist().arg("repair").write_stdin(input.as_str()).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout == whole.text().as_bytes(), "stdout differs from the whole repair");
    let log = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), MANY + 1);
    assert_eq!(lines[0], "-:1:24: trailing-comma: removed a trailing comma");
    assert_eq!(lines[MANY - 1], format!("-:{MANY}:24: trailing-comma: removed a trailing comma"));
    assert_eq!(
        lines[MANY],
        format!(
            "-:{}:10: duplicate-key: duplicate key \"a\"; both are kept, and a typed field takes the last",
            MANY + 1
        )
    );

    let output = scanhist().args(["repair", "--log", "json", "--compact"]).write_stdin(input).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout.iter().filter(|&&b| b == b'\n').count(), MANY + 1);
    let log: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(log["documents"], MANY + 1);
    let repairs = log["repairs"].as_array().unwrap();
    assert_eq!(repairs.len(), MANY);
    assert_eq!((&repairs[MANY - 1]["line"], &repairs[MANY - 1]["column"]), (&MANY.into(), &24.into()));
    assert_eq!(log["notes"].as_array().unwrap().len(), 1);
    assert_eq!((&log["notes"][0]["line"], &log["notes"][0]["column"]), (&(MANY + 1).into(), &10.into()));
    assert!(log.get("error").is_none());
}

#[test]
fn a_large_damaged_response_is_written_and_logged_as_the_library_repairs_it() {
    // Over a MiB in one response: its second half's records are parsed on a
    // second thread. Every record has a repair, some a note.
    let record = |i: usize| {
        let key = if i % 1000 == 0 { "\"ip\": \"x\", \"ip\"" } else { "\"ip\"" };
        format!("{{\"sessionId\": \"s{i}\", 'scanStatus': 'Success', \"scannedTargets\": [{{{key}: \"10.0.0.1\"}},]}}")
    };
    let records: Vec<String> = (0..15_000).map(record).collect();
    let input = format!("{{\"@odata.context\": \"x\", \"value\": [\n{}\n]}}\n", records.join(",\n"));
    assert!(input.len() > 1 << 20);
    let whole = scanhist::repair(input.as_bytes(), &Default::default()).unwrap();
    assert_eq!(whole.repairs().len(), 15_000 * 3);
    let output = scanhist().arg("repair").write_stdin(input.as_str()).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout == whole.text().as_bytes(), "stdout differs from the library's repair");
    let log = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), whole.repairs().len() + whole.notes().len());
    // The last record's trailing comma, on the line after the first.
    let (line, column) = (15_000 + 1, record(14_999).find(",]").unwrap() + 1);
    assert_eq!(lines[lines.len() - 1], format!("-:{line}:{column}: trailing-comma: removed a trailing comma"));
    let notes = lines.iter().filter(|line| line.contains(": duplicate-key: ")).count();
    assert_eq!(notes, 15);
}

#[test]
fn a_document_nested_too_deep_stops_the_repair_after_the_parts_before_it() {
    let input = documents_with_a_repair_each(MANY) + &"[".repeat(600);
    let output = scanhist().arg("repair").write_stdin(input.as_str()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    // What was written is whole documents, repaired, from the first on: the
    // parts before the one with the error.
    let written = String::from_utf8(output.stdout).unwrap();
    let documents = written.lines().count();
    assert!(documents > 0 && documents < MANY, "{documents} documents written");
    assert_eq!(written, documents_with_a_repair_each(documents).replace(",}", "}"));
    let log = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), documents + 1, "a repair per document written, then the error");
    assert_eq!(lines[documents], format!("-:{}:513: error: nesting deeper than 512 levels", MANY + 1));

    let output = scanhist().args(["repair", "--log", "json"]).write_stdin(input).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(log["documents"], documents);
    assert_eq!(log["repairs"].as_array().unwrap().len(), documents);
    assert_eq!(log["error"]["line"], MANY + 1);
    assert_eq!(log["error"]["message"], "nesting deeper than 512 levels");
}

#[test]
fn a_closed_stdout_ends_the_output_but_not_the_log() {
    use std::io::{Read, Write};
    use std::process::{Command as Process, Stdio};

    let input = documents_with_a_repair_each(MANY);
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("scanhist"))
        .arg("repair")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    // Read the start of the output and close the pipe, as `scanhist repair … | head -c 64` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut start = [0; 64];
    stdout.read_exact(&mut start).unwrap();
    drop(stdout);
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    let status = child.wait().unwrap();
    feed.join().unwrap().unwrap();
    assert_eq!(&start[..27], b"{\"sessionId\": \"s000000\"}\n{\"");
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(log.lines().count(), MANY, "every part is still repaired and logged");
    assert_eq!(log.lines().last(), Some(format!("-:{MANY}:24: trailing-comma: removed a trailing comma").as_str()));
}
