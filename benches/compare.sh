#!/usr/bin/env bash
# Reproduces the cross-tool table in BENCHMARKS.md: scanhist against the tools
# users would otherwise pick, on the same machine and the same files.
# Installs jq and hyperfine (Debian), DuckDB and json_repair (PyPI, in a venv)
# and jsonrepair (npm) itself.
#
#   benches/compare.sh     # 50 MB valid, 5 MB damaged; 20 runs of scanhist and the baseline, 5 of the tools,
#                          # in 5 rounds
#   MB=10 DAMAGED_MB=2 RUNS=3 FAST_RUNS=5 benches/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${MB:-50}
DAMAGED_MB=${DAMAGED_MB:-5}
RUNS=${RUNS:-5}
FAST_RUNS=${FAST_RUNS:-20}
OUT=${OUT:-target/compare}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

echo "== tools"
if ! command -v jq >/dev/null || ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq jq hyperfine time >/dev/null
fi
if [ ! -x "$OUT/venv/bin/python" ]; then
    python3 -m venv "$OUT/venv"
    "$OUT/venv/bin/pip" install -q duckdb json_repair
fi
if [ ! -d "$OUT/node/node_modules/jsonrepair" ]; then
    mkdir -p "$OUT/node" && (cd "$OUT/node" && npm install --silent --no-fund --no-audit jsonrepair >/dev/null)
fi
PY="$OUT/venv/bin/python"
jq --version
"$PY" -c 'import duckdb, json_repair; print("duckdb", duckdb.__version__)'
echo "jsonrepair $(node -p 'require(process.argv[1]).version' "$OUT/node/node_modules/jsonrepair/package.json")"

echo "== build and corpus"
cargo build --release --quiet --bin scanhist --example baseline_csv --example gen_corpus
target/release/examples/gen_corpus "$OUT/corpus" "$MB"
target/release/examples/gen_corpus "$OUT/corpus-small" "$DAMAGED_MB"
VALID="$OUT/corpus/valid-compact.json"
# jsonrepair throws on the documented sample's damage, so the timed damaged
# file is the mixed one (trailing and missing commas, comments, quotes, NaN).
DAMAGED="$OUT/corpus-small/mixed-damage.json"
ls -l "$VALID" "$DAMAGED"

JQ_FLATTEN='.value[] as $s
  | (($s.scannedTargets // []) | if length == 0 then [null] else . end) | to_entries[]
  | [input_filename, $s.sessionId, $s.scanDefinitionId, $s.orgId, $s.scannerId, $s.scanStatus,
     $s.generalErrorMessage, $s.LastScanned, $s.numberOfTargets, $s.numberOfSuccessfullyScannedTargets,
     .key, .value.ip, .value.hostname, .value.scannedDeviceDescription, .value.scanStatus,
     .value.errorMessage, .value.scanDuration] | @csv'
cat > "$OUT/duckdb_csv.py" <<'PY'
import sys, duckdb
source, target = sys.argv[1], sys.argv[2]
duckdb.sql(f"""
COPY (
  WITH sessions AS (
    SELECT unnest(value) AS s FROM read_json('{source}', maximum_object_size = 2000000000)
  ), rows AS (SELECT s, unnest(s.scannedTargets) AS t FROM sessions)
  SELECT '{source}' AS source, s.sessionId, s.scanDefinitionId, s.orgId, s.scannerId, s.scanStatus,
         s.generalErrorMessage, s.LastScanned, s.numberOfTargets, s.numberOfSuccessfullyScannedTargets,
         t.ip, t.hostname, t.scannedDeviceDescription, t.scanStatus, t.errorMessage, t.scanDuration
  FROM rows
) TO '{target}' (FORMAT csv, HEADER)
""")
PY
cat > "$OUT/run_jsonrepair.js" <<'JS'
const fs = require("fs");
const { jsonrepair } = require(process.argv[2] + "/node/node_modules/jsonrepair");
fs.writeFileSync(process.argv[4], jsonrepair(fs.readFileSync(process.argv[3], "utf8")));
JS
cat > "$OUT/run_json_repair.py" <<'PY'
import sys, json_repair
open(sys.argv[2], "w").write(json_repair.repair_json(open(sys.argv[1]).read()))
PY

# The tools that take seconds run RUNS times each; scanhist and the baseline,
# which take tens or hundreds of milliseconds, FAST_RUNS times, since on this
# shared machine one slow run in five moves a median. They run in RUNS rounds,
# each running every command of its group in turn (the fast ones FAST_RUNS /
# RUNS times, the slow ones once), so that every command's runs are spread
# over the same minutes: a neighbour's burst then slows all of them alike,
# rather than one command's whole sample. Medians are over all rounds' runs.
PER_ROUND=$(((FAST_RUNS + RUNS - 1) / RUNS))
# measure_round GROUP N: warms up in the first round only.
measure_round() {
    local group=$1 n=$2 warm=0
    [ "$n" = 1 ] && warm=1
    if [ "$group" = valid ]; then
        hyperfine --warmup $((2 * warm)) --runs "$PER_ROUND" --export-json "$OUT/valid-fast-$n.json" \
            -n scanhist "target/release/scanhist convert --format csv $VALID -o $OUT/scanhist.csv" \
            -n "serde_json + csv baseline" "target/release/examples/baseline_csv $VALID > $OUT/baseline.csv"
        hyperfine --warmup "$warm" --runs 1 --export-json "$OUT/valid-tools-$n.json" \
            -n "jq @csv" "jq -r '$JQ_FLATTEN' $VALID > $OUT/jq.csv" \
            -n "DuckDB read_json" "$PY $OUT/duckdb_csv.py $VALID $OUT/duckdb.csv"
    else
        hyperfine --warmup $((2 * warm)) --runs "$PER_ROUND" --export-json "$OUT/damaged-fast-$n.json" \
            -n "scanhist convert" "target/release/scanhist convert --format csv $DAMAGED -o $OUT/damaged.csv" \
            -n "scanhist repair" "target/release/scanhist repair $DAMAGED > $OUT/damaged-repaired.json 2>/dev/null"
        hyperfine --warmup "$warm" --runs 1 --export-json "$OUT/damaged-tools-$n.json" \
            -n "jsonrepair (npm)" "node $OUT/run_jsonrepair.js $OUT $DAMAGED $OUT/run_jsonrepair.json" \
            -n "json_repair (PyPI)" "$PY $OUT/run_json_repair.py $DAMAGED $OUT/json_repair.json"
    fi
}
rm -f "$OUT"/{valid,damaged}-{fast,tools}*.json
echo "== valid file to CSV ($MB MB), $RUNS rounds"
for n in $(seq "$RUNS"); do measure_round valid "$n" >/dev/null; done
echo "== damaged file ($DAMAGED_MB MB, a repair in every record), $RUNS rounds"
for n in $(seq "$RUNS"); do measure_round damaged "$n" >/dev/null; done

echo "== medians and ratios (each command's median over scanhist's, from hyperfine's JSON)"
"$PY" - "$OUT" <<'PY'
import glob, json, statistics, sys
groups = [("valid", "scanhist"), ("damaged", "scanhist repair")]
for group, ours in groups:
    times = {}
    for path in sorted(glob.glob(f"{sys.argv[1]}/{group}-fast-*.json") + glob.glob(f"{sys.argv[1]}/{group}-tools-*.json")):
        with open(path) as f:
            for r in json.load(f)["results"]:
                times.setdefault(r["command"], []).extend(r["times"])
    base = statistics.median(times[ours])
    for name, t in times.items():
        median = statistics.median(t)
        ratio = "" if name == ours else f"  {median / base:6.2f}x {ours}"
        print(f"{name:27} median {median:8.4f} s (min {min(t):.4f}, max {max(t):.4f}, {len(t):2} runs){ratio}")
PY

echo "== the documented sample: what each repair tool makes of ListScannedTargets"
SAMPLE=samples/documented-sample.json
target/release/scanhist repair "$SAMPLE" 2>/dev/null | "$PY" -c 'import json,sys; v=json.load(sys.stdin)["value"]; print("scanhist:   ", len(v), "session(s); targets:", type(v[0]["ListScannedTargets"]).__name__, len(v[0]["ListScannedTargets"]))'
"$PY" -c 'import json,sys,json_repair; v=json.loads(json_repair.repair_json(open(sys.argv[1]).read()))["value"]; t=v[0]["ListScannedTargets"]; print("json_repair:", len(v), "session(s); targets:", type(t).__name__, len(t) if isinstance(t, list) else "(one object)")' "$SAMPLE"
node -e 'const fs=require("fs");const {jsonrepair}=require(process.argv[1]);const v=JSON.parse(jsonrepair(fs.readFileSync(process.argv[2],"utf8"))).value;const t=v[0].ListScannedTargets;console.log("jsonrepair: ", v.length, "session(s); targets:", Array.isArray(t)?"list "+t.length:"object (one)")' "$OUT/node/node_modules/jsonrepair" "$SAMPLE"

echo "== rows written (each tool's CSV, header included where written)"
wc -l "$OUT"/scanhist.csv "$OUT"/baseline.csv "$OUT"/jq.csv "$OUT"/duckdb.csv "$OUT"/damaged.csv

echo "== peak memory (/usr/bin/time -v)"
for file in "$VALID" "$DAMAGED"; do
    rss=$(/usr/bin/time -v target/release/scanhist convert --format csv "$file" -o /dev/null 2>&1 >/dev/null \
        | awk '/Maximum resident set size/ {print $6}')
    echo "scanhist convert $(basename "$file"): $(stat -c %s "$file") bytes in, peak RSS ${rss} KB"
done
