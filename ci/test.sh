#!/usr/bin/env bash
# The test command the README gives: unit, integration, property and doc tests.
set -euo pipefail
cargo test --workspace
