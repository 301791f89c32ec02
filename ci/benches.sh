#!/usr/bin/env bash
# Runs every benchmark once as a test (criterion's --test mode): proves they build and run,
# never gates on timings.
set -euo pipefail
cargo test --workspace --benches
