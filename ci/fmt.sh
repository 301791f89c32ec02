#!/usr/bin/env bash
# Formatting: stable rustfmt options only (rustfmt.toml).
set -euo pipefail
cargo fmt --all --check
