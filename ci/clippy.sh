#!/usr/bin/env bash
# Lints: every target of every crate, warnings are errors.
set -euo pipefail
cargo clippy --workspace --all-targets -- -D warnings
