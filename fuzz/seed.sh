#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: the bundled samples, the repair
# fixtures, and JSONTestSuite (from ../shared beside the repository).
set -euo pipefail
cd "$(dirname "$0")"
suite=../../shared/testdata/JSONTestSuite/test_parsing
for target in repair convert diagnostics split; do
    mkdir -p "corpus/$target"
    cp ../samples/* ../tests/fixtures/repair/* ../tests/fixtures/convert/* "corpus/$target/"
    if [ -d "$suite" ]; then
        cp "$suite"/* "corpus/$target/"
    fi
done
mkdir -p corpus/time_values corpus/damage
