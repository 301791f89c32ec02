#!/usr/bin/env bash
# The serving load figures: a max-speed looping replay with the server on, without
# clients, with 1 000 WebSocket clients, and with 10 % of them slow; prints the core's
# decoded→core latency per run and arb loadgen's delivery figures. Loopback only, about
# four minutes. Usage: benches/load.sh [CAPTURE] [CLIENTS]
# (default capture: a 1 000-symbol market written once to target/load.arbcap).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p arb-tools >/dev/null
A=./target/release/arb
cap=${1:-target/load.arbcap}
clients=${2:-1000}
port=18400
out=$(mktemp -d)
if [ ! -f "$cap" ]; then
  $A gen --out "$cap" --symbols 1000 --rate 20000 --duration 100 --seed 11 >/dev/null
fi
run() { # $1 label, $2 clients, $3 slow fraction
  $A replay "$cap" --loop forever --duration 70 --listen 127.0.0.1:$port -q \
    --report-json "$out/$1-replay.json" >"$out/$1-replay.log" 2>&1 &
  local rp=$!
  sleep 3
  if [ "$2" -gt 0 ]; then
    $A loadgen --url ws://127.0.0.1:$port/ws --clients "$2" --slow-fraction "$3" \
      --slow-delay-ms 500 --duration 30 --report-json "$out/$1.json" >"$out/$1.log" 2>&1
  fi
  wait $rp
}
run none 0 0
run fast "$clients" 0
run slow "$clients" 0.1
for l in none fast slow; do
  python3 - "$out" "$l" <<'PY'
import json, os, sys
out, l = sys.argv[1], sys.argv[2]
r = json.load(open(f"{out}/{l}-replay.json"))
d = r["latency_ns"].get("decoded_core", {})
print(f"{l:5s} engine {r['events_per_s']/1e6:.2f} M events/s, decoded->core p50 {d.get('p50',0)/1e6:.1f} ms "
      f"p99 {d.get('p99',0)/1e6:.1f} ms, rss {r['rss_bytes']/2**20:.0f} MiB")
p = f"{out}/{l}.json"
if os.path.exists(p):
    g = json.load(open(p))
    f, s = g["latency_fast"] or {}, g["latency_slow"] or {}
    print(f"      delivered {g['messages_per_s']/1e6:.2f} M msgs x clients/s, fast p50 {f.get('p50_us',0)/1e3:.0f} ms "
          f"p99 {f.get('p99_us',0)/1e3:.0f} ms, slow p50 {s.get('p50_us',0)/1e3:.0f} ms, "
          f"disconnects {g['disconnects']}, connect failures {g['connect_failures']}, "
          f"server rss {g['server_rss_before_bytes']/2**20:.0f} -> {g['server_rss_after_bytes']/2**20:.0f} MiB "
          f"(under load: first {(g.get('server_rss_loaded_first_bytes') or 0)/2**20:.0f}, last {(g.get('server_rss_loaded_last_bytes') or 0)/2**20:.0f}, max {(g.get('server_rss_loaded_max_bytes') or 0)/2**20:.0f} MiB), "
          f"server drops {g['server_drops']}")
PY
done
echo "raw reports: $out"
