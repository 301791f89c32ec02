#!/usr/bin/env bash
# Issue 11's NATS scale-out figures on loopback: events/s through collector → NATS →
# engine, the latency that adds versus local feeds, and wire bytes per event versus
# JSON (benches/examples/nats_pipeline.rs). Starts its own nats-server on a free
# loopback port and stops it on exit. About a minute and a half.
# Usage: benches/nats.sh [EVENTS_MAX] [PRODUCERS]   (defaults 5000000 4)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-5000000}
producers=${2:-4}
server=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
[ -x "$server" ] || { echo "nats.sh: no nats-server (set NATS_SERVER)" >&2; exit 1; }
cargo build --release -p arb-benches --example nats_pipeline >/dev/null
bin=./target/release/examples/nats_pipeline
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$server" -a 127.0.0.1 -p "$port" >"$log" 2>&1 &
spid=$!
trap 'kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
kill -0 "$spid" 2>/dev/null || { cat "$log" >&2; exit 1; }
echo "nats-server: $("$server" --version) on 127.0.0.1:$port (pid $spid)"
url="nats://127.0.0.1:$port"
common=(--nats "$url" --symbols 1000 --producers "$producers" --server-pid "$spid")
echo
echo "== 1. max rate, batching defaults (linger 1000 µs, 256 events/batch)"
"$bin" "${common[@]}" --events "$events" --rate 0 --linger-us 1000 --max-events 256
echo
echo "== 1b. paced at 1 000 000 events/s, batching defaults (sustained throughput without loss?)"
"$bin" "${common[@]}" --events "$events" --rate 1000000 --linger-us 1000 --max-events 256 --no-local
echo
echo "== 2. paced at 100 000 events/s (latency), batching defaults"
"$bin" "${common[@]}" --events 1000000 --rate 100000 --linger-us 1000 --max-events 256
echo
echo "== 3. no batching (1 event per message, linger 0), max rate"
"$bin" "${common[@]}" --events 1000000 --rate 0 --linger-us 0 --max-events 1 --time-limit-s 30
echo
echo "== 3b. no batching, paced at 100 000 events/s"
"$bin" "${common[@]}" --events 1000000 --rate 100000 --linger-us 0 --max-events 1 --no-local
exit 0
