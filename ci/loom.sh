#!/usr/bin/env bash
# Loom model checks of the seqlocks (windows, ranking board) on the real code, with loom's
# atomics swapped in by --cfg arb_loom (own target dir so the normal build stays cached).
set -euo pipefail
RUSTFLAGS="--cfg arb_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test -p arb-engine --test loom --release
