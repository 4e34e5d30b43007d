#!/usr/bin/env bash
# Reproduces the scaling, pathological-input and memory table in BENCHMARKS.md:
# `scanhist convert FILE -o /dev/null` on the generated corpus and on inputs
# built to be hard, with hyperfine's median time and /usr/bin/time's peak RSS,
# and the peak RSS of `scanhist repair FILE` on the same inputs.
# Installs hyperfine, jq and GNU time (Debian) itself.
#
#   benches/scaling.sh                 # 50 MB corpus, 5 timed runs each, peak RSS the highest of 3
#   MB=10 RUNS=3 PEAK_RUNS=1 benches/scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${MB:-50}
RUNS=${RUNS:-5}
PEAK_RUNS=${PEAK_RUNS:-3}
OUT=${OUT:-target/scaling}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

if ! command -v jq >/dev/null || ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq jq hyperfine time >/dev/null
fi

echo "== build and inputs" >&2
cargo build --release --quiet --bin scanhist --example gen_corpus
target/release/examples/gen_corpus "$OUT/corpus" "$MB" >&2
target/release/examples/gen_corpus "$OUT/corpus-tenth" "$((MB / 10))" >&2
P="$OUT/pathological"
mkdir -p "$P"
# One 100 MB string: a hostname.
{
    printf '{"value":[{"sessionId":"s","scannedTargets":[{"ip":"10.0.0.1","hostname":"'
    head -c 100000000 /dev/zero | tr '\0' x
    printf '"}]}]}\n'
} > "$P/string.json"
# A repair on every line: 1.47 M records, each its own document with a trailing comma.
# (yes | head ends yes with SIGPIPE, which pipefail would count as a failure.)
head -n 1470588 < <(yes '{"sessionId": "s1", "scanStatus": "Success", "numberOfTargets": 1,}') > "$P/repair-every-line.json"
# 1.2 M documents on one 100 MB line, each with two repairs (a separator, a
# trailing comma) and a typing error: findings all on one line, in parts.
head -c 103200000 < <(yes '{"value": [{"sessionId": "s", "LastScanned": "not a time", "scanStatus": "Success",}]}' | tr -d '\n') > "$P/one-line.json"
# 100,000 nested arrays: an error at the depth limit.
{ head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } > "$P/deep.json"
# 1,000,000 tiny documents.
head -n 1000000 < <(yes '{"sessionId":"t"}') > "$P/tiny.ndjson"
# The same records in one response: held until the document is known strict.
{ printf '{"value":['; head -n 1000000 < <(yes '{"sessionId":"t"}') | paste -sd,; printf ']}\n'; } > "$P/tiny-records.json"
# 1,000,000 empty targets in one session: 3 bytes of input to a 184-byte target,
# handed on in parts of 1,024; then with the list before the session's fields,
# which every part needs (the list is typed once they are), and 10,000,000
# of them, 30 MB, checked on a second thread meanwhile.
empty_targets() {
    head -n "$1" < <(yes '{}') | paste -sd,
}
{ printf '{"value":[{"sessionId":"s","scannedTargets":['; empty_targets 1000000; printf ']}]}\n'; } > "$P/empty-targets.json"
{ printf '{"value":[{"scannedTargets":['; empty_targets 1000000; printf '],"sessionId":"s"}]}\n'; } > "$P/empty-targets-first.json"
{ printf '{"value":[{"sessionId":"s","scannedTargets":['; empty_targets 10000000; printf ']}]}\n'; } > "$P/empty-targets-10m.json"
# 1,000,000 and 2,000,000 keys scanhist does not know in one record
# (`"k0":0,…`), each remembered to find a repeat (What remains in BENCHMARKS.md).
unknown_keys() {
    printf '{"value":[{"sessionId":"s",'
    seq 0 $(($1 - 1)) | sed 's/.*/"k&":0/' | paste -sd,
    printf '}]}\n'
}
unknown_keys 1000000 > "$P/unknown-keys.json"
unknown_keys 2000000 > "$P/unknown-keys-2m.json"

# Median seconds of `scanhist convert ARGS -o /dev/null` (-i: an input that
# fails, as the deep one does, is timed too).
median() {
    hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$OUT/run.json" \
        "target/release/scanhist convert $* -o /dev/null" >/dev/null 2>&1
    jq -r '.results[0].median * 1000 | round / 1000' "$OUT/run.json"
}
# Peak RSS in KiB: the highest of PEAK_RUNS runs. It moves with how the threads'
# work interleaves (1 M tiny documents once peaked at 43,400 KiB in one run and
# 83,388 in another), and the limit is a bound.
peak() {
    for _ in $(seq "$PEAK_RUNS"); do
        /usr/bin/time -f '%M' target/release/scanhist convert "$@" -o /dev/null 2>&1 >/dev/null | tail -1
    done | sort -n | tail -1
}
# The same for `scanhist repair FILE` (which fails on the deep input); a
# directory is not an input of `repair`.
peak_repair() {
    if [ -d "$1" ]; then echo "—"; return; fi
    for _ in $(seq "$PEAK_RUNS"); do
        /usr/bin/time -o "$OUT/rss" -f '%M' target/release/scanhist repair "$1" >/dev/null 2>&1 || true
        # On a failure, time writes "Command exited with non-zero status 1" first.
        tail -1 "$OUT/rss"
    done | sort -n | tail -1
}
bytes() { du -sb "$1" | cut -f1; }

echo "| input | bytes | median time | peak RSS (KiB, highest of $PEAK_RUNS runs) | \`repair\` peak RSS (KiB, highest of $PEAK_RUNS) | limit: 2× input + 32 MiB (KiB) |"
echo "|---|---|---|---|---|---|"
for entry in \
    "valid compact:$OUT/corpus/valid-compact.json" \
    "valid pretty-printed:$OUT/corpus/valid-pretty.json" \
    "NDJSON dump:$OUT/corpus/dump.ndjson" \
    "Windows PowerShell UTF-16 export:$OUT/corpus/powershell-utf16.json" \
    "documented-sample damage on every record:$OUT/corpus/sample-damage.json" \
    "mixed damage:$OUT/corpus/mixed-damage.json" \
    "2,000 small files:$OUT/corpus/small" \
    "one 100 MB string:$P/string.json" \
    "a repair on every line:$P/repair-every-line.json" \
    "1.2 M damaged documents on one line:$P/one-line.json" \
    "an error deep in 100,000 nested arrays:$P/deep.json" \
    "1,000,000 tiny documents:$P/tiny.ndjson" \
    "1,000,000 tiny records in one response:$P/tiny-records.json" \
    "1,000,000 empty targets in one session:$P/empty-targets.json" \
    "the same, the list before the session's fields:$P/empty-targets-first.json" \
    "10,000,000 empty targets in one session:$P/empty-targets-10m.json" \
    "1,000,000 unknown keys in one record:$P/unknown-keys.json" \
    "2,000,000 unknown keys in one record:$P/unknown-keys-2m.json"; do
    name=${entry%%:*}
    file=${entry#*:}
    size=$(bytes "$file")
    echo "| $name | $size | $(median "$file") s | $(peak "$file") | $(peak_repair "$file") | $(((2 * size + 33554432) / 1024)) |"
done

echo
# The small input's runs take about 30 ms, where one neighbour's burst moves a
# median of ten by a fifth: six times the runs, in rounds that each run both
# sizes in turn (three runs each), so that a burst slows both alike rather than
# one size's whole sample (compare.sh does the same). Minimum and median are
# over all rounds' runs.
rounds=$((2 * RUNS))
echo "10× the input (${MB} MB against $((MB / 10)) MB, $((3 * rounds)) runs each in $rounds rounds; min, then median):"
for kind in valid-compact sample-damage; do
    rm -f "$OUT"/round-*.json
    for n in $(seq "$rounds"); do
        hyperfine -N --warmup $((n == 1 ? 2 : 0)) --runs 3 --export-json "$OUT/round-$n.json" \
            "target/release/scanhist convert $OUT/corpus-tenth/$kind.json -o /dev/null" \
            "target/release/scanhist convert $OUT/corpus/$kind.json -o /dev/null" >/dev/null 2>&1
    done
    jq -s -r --arg kind "$kind" '[.[].results] | transpose | map([.[].times[]] | sort) as [$small, $large]
        | def median: if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
          def r: . * 1000 | round / 1000;
        "- \($kind): \($small[0] | r) -> \($large[0] | r) s, \($large[0] / $small[0] * 10 | round / 10)×;"
        + " \($small | median | r) -> \($large | median | r) s, \($large | median / ($small | median) * 10 | round / 10)×"' \
        "$OUT"/round-*.json
done
