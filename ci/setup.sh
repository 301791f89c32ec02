#!/usr/bin/env bash
# What the tests need beyond the Rust toolchain: python3 with pyarrow and duckdb (the store
# tests read arb's Parquet with them, independently of arb's own reader), Debian's
# chromium (the dashboard test loads the page headless) and Debian's nats-server (the
# scale-out tests start their own servers on loopback). Idempotent; reaches only Debian's
# and PyPI's package servers, and only when something is missing.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 python3-pip
fi
if ! python3 -c "import pyarrow, duckdb" >/dev/null 2>&1; then
  python3 -m pip install --quiet pyarrow duckdb \
    || python3 -m pip install --quiet --break-system-packages pyarrow duckdb
fi
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
fi
# The package enables a system service; the tests start their own servers instead.
systemctl disable --now nats-server >/dev/null 2>&1 || true
chromium --version
"$(command -v nats-server || echo /usr/sbin/nats-server)" --version
python3 -c "import pyarrow, duckdb; print('setup: pyarrow', pyarrow.__version__, 'duckdb', duckdb.__version__)"
