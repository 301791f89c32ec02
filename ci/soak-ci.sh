#!/usr/bin/env bash
# CI soak: a 5-minute ci/soak.sh (steady part, then the chaos pass: read-only disk, restart
# under load, a flooded venue, kill -9) against a `ci-soak`-profile binary (release at
# opt-level 1, no debug info: nothing else in CI builds optimised code, so this build starts
# from scratch; opt-level 1 makes it quicker than release). Fails on `soak: FAIL`; the CSV, the plot
# (soak.html) and every log stay in target/soak. Needs root (tmpfs and bind mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
cargo build --profile ci-soak -p arb-tools
echo "soak-ci: build took $(($(date +%s) - t0)) s"
out=target/soak
rm -rf "$out"
mkdir -p "$out"
rc=0
ARB_BIN=target/ci-soak/arb bash ci/soak.sh 5 "$out" 2>&1 | tee "$out/soak.log" || rc=$?
last=$(tail -n 1 "$out/soak.log")
echo "soak-ci: took $(($(date +%s) - t0)) s; plot: $out/soak.html"
case "$last" in
soak:\ PASS*) [ "$rc" = 0 ] ;;
*) echo "soak-ci: failed (exit $rc): $last"; exit 1 ;;
esac
