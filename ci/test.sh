#!/usr/bin/env bash
# The test command the README gives: unit, integration, property and doc tests. Also writes
# the totals to target/ci-test-totals for .ci/run's closing line.
set -euo pipefail
mkdir -p target
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$log" \
  > target/ci-test-totals
