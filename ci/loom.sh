#!/usr/bin/env bash
# Loom model checks of the lock-free pieces (history and ranking seqlocks, ring doorbell) on
# the real code, with loom's atomics swapped in by --cfg arb_loom (own target dir so the
# normal build stays cached). Then the same models against a mutant build
# (--cfg arb_loom_mutant) whose seqlock writers publish with Relaxed instead of Release and
# whose doorbell never unparks: every model must fail there, or it could not catch a
# missing barrier or a lost wake-up.
set -euo pipefail
RUSTFLAGS="--cfg arb_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test -p arb-engine --test loom --release
MUTANT=(env RUSTFLAGS="--cfg arb_loom --cfg arb_loom_mutant" LOOM_MAX_PREEMPTIONS=2
  CARGO_TARGET_DIR=target/loom-mutant cargo test -p arb-engine --test loom --release)
"${MUTANT[@]}" --no-run  # a mutant that does not build proves nothing: fail loudly here
for model in history_reader_sees_whole_points_only ranking_reader_sees_one_publication \
  doorbell_never_sleeps_through_a_push; do
  if out=$("${MUTANT[@]}" -- --exact "$model" 2>&1); then
    echo "loom: the model $model passed against the mutant: it cannot fail" >&2
    exit 1
  fi
  if ! grep -q "panicked" <<<"$out"; then
    echo "loom: the mutant run of $model failed without a model failure:" >&2
    echo "$out" | tail -20 >&2
    exit 1
  fi
  echo "loom: $model fails against the mutant, as it must"
done
