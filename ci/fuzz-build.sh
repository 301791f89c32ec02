#!/usr/bin/env bash
# Builds the cargo-fuzz targets when the toolchain allows (nightly + cargo-fuzz).
set -euo pipefail
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  (cd fuzz && cargo +nightly fuzz build)
else
  echo "skipped: cargo-fuzz on nightly not installed"
fi
