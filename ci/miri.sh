#!/usr/bin/env bash
# Miri on the crates' unit tests when a nightly toolchain with miri is installed.
set -euo pipefail
if cargo +nightly miri --version >/dev/null 2>&1; then
  # Bounded: the ring and window unit tests (the code with cross-thread atomics), few proptest cases.
  PROPTEST_CASES=4 MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test -p arb-engine --lib -- ring window::tests
else
  echo "skipped: no nightly with miri"
fi
