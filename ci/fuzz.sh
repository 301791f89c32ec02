#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 20 s each) with
# debug assertions and overflow checks, starting from a copy of its committed corpus
# (fuzz/corpus/<target>) in a temporary directory, so CI never modifies the tree. New
# inputs found on the way are discarded; a crash fails the step and leaves its input in
# fuzz/artifacts/<target>/ (git-ignored). Skips, successfully, when the nightly toolchain
# or cargo-fuzz is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "skipped: nightly toolchain not installed"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "skipped: cargo-fuzz not installed for nightly"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd fuzz
targets="$(cargo +nightly fuzz list)"
# One build for every target first (the dependency tree is shared), then the runs, two at
# a time (FUZZ_JOBS): each is one libFuzzer process, so two use both cores of the CI
# machine and halve the step's fuzzing time.
cargo +nightly fuzz build -a
fuzz_one() {
  target="$1"
  mkdir -p "$work/$target"
  if [ -d "corpus/$target" ]; then
    cp -R "corpus/$target/." "$work/$target/"
  fi
  inputs="$(find "$work/$target" -type f | wc -l)"
  rc=0
  cargo +nightly fuzz run -a "$target" "$work/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    >"$work/$target.log" 2>&1 || rc=$?
  {
    echo "--- fuzz $target: ${seconds}s from $inputs corpus inputs (exit $rc)"
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY' "$work/$target.log" || true
    if [ "$rc" != 0 ]; then tail -n 40 "$work/$target.log"; fi
  }
  return "$rc"
}
export -f fuzz_one
export seconds work
printf '%s\n' $targets | xargs -P "${FUZZ_JOBS:-2}" -I{} bash -c 'fuzz_one "$1"' _ {}
