#!/usr/bin/env bash
# API docs build without warnings (broken links, missing docs).
set -euo pipefail
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
