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
for target in $targets; do
  mkdir -p "$work/$target"
  if [ -d "corpus/$target" ]; then
    cp -R "corpus/$target/." "$work/$target/"
  fi
  echo "--- fuzz $target: ${seconds}s from $(find "$work/$target" -type f | wc -l) corpus inputs"
  cargo +nightly fuzz run -a "$target" "$work/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
done
