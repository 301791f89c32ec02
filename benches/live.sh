#!/usr/bin/env bash
# Live-mode figures (issue 10): `arb run` against `arb mock-exchange` over real loopback
# sockets at RATE frames/s across the 8 venues, then `arb replay` of the very frames the
# live run captured, so the two CPU costs are per the same million frames.
#
#   benches/live.sh [RATE] [SECS] [SYMBOLS]      (defaults 200000 30 100)
#
# Prints, for the live run: frames received, events/s, feed-ring drops, the latency of each
# stage from /api/health (recv_decoded: frame handed over -> decoded; decoded_core: decoded
# -> done in the core; exch_recv: the mock's send stamp -> our receive, ms resolution), the
# CPU seconds of arb run (user+sys) per million frames; for the replay: its CPU seconds per
# million frames. Loopback only; stops by itself.
set -euo pipefail
RATE=${1:-200000}
SECS=${2:-30}
SYMBOLS=${3:-100}
cd "$(dirname "$0")/.."
cargo build --release -q -p arb-tools
BIN=target/release/arb
dir=$(mktemp -d)
trap 'kill "$MOCK" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$BIN" mock-exchange --print-config --symbols "$SYMBOLS" --rate "$RATE" >"$dir/mock.toml" 2>"$dir/mock.err" &
MOCK=$!
for _ in $(seq 50); do grep -q ws_url "$dir/mock.toml" 2>/dev/null && break; sleep 0.1; done
cat >>"$dir/mock.toml" <<EOF

[discovery]
max_symbols = $SYMBOLS
EOF

/usr/bin/time -f '%U %S' -o "$dir/run.time" "$BIN" run --config "$dir/mock.toml" \
    --listen 127.0.0.1:0 --no-store --capture "$dir/live.arbcap" --duration "$SECS" \
    2>"$dir/run.err" &
RUN=$!
addr=""
for _ in $(seq 300); do
    addr=$(sed -n 's|.*serving http://\([^/]*\)/.*|\1|p' "$dir/run.err" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/run.err"; exit 1; }
sleep $((SECS - 3))
curl -s "http://$addr/api/health" >"$dir/health.json"
curl -s "http://$addr/api/exchanges" >"$dir/exchanges.json"
wait "$RUN"
kill "$MOCK" 2>/dev/null || true

/usr/bin/time -f '%U %S' -o "$dir/replay.time" "$BIN" replay "$dir/live.arbcap" -q \
    --report-json "$dir/replay.json" 2>"$dir/replay.err" >/dev/null

python3 - "$dir" "$RATE" "$SECS" <<'EOF'
import json, sys
d, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
h = json.load(open(f"{d}/health.json"))
ex = json.load(open(f"{d}/exchanges.json"))
rep = json.load(open(f"{d}/replay.json"))
frames = rep["frames"]
cpu = lambda f: sum(map(float, open(f).read().split()[-2:]))
run_cpu, rep_cpu = cpu(f"{d}/run.time"), cpu(f"{d}/replay.time")
print(f"live: mock rate {rate} frames/s for {secs} s; arb run received {frames} frames "
      f"({frames / secs:.0f}/s), events/s at the end {h['events_per_s']:.0f}, "
      f"drops {h.get('drops')}")
print("venues:", ", ".join(f"{v['id']} {v['state']} {v['messages_per_s']:.0f}/s" for v in ex))
for st in h["latency"]:
    if st["stage"] in ("recv_decoded", "decoded_core") or st["stage"].startswith("exch_recv."):
        print(f"  {st['stage']:<20} n={st['count']:>9}  p50 {st['p50']/1e3:9.1f} us  "
              f"p99 {st['p99']/1e3:9.1f} us  p99.9 {st['p999']/1e3:9.1f} us")
print(f"cpu per million frames: live {run_cpu / frames * 1e6:.2f} s (arb run {run_cpu:.1f} s), "
      f"replay {rep_cpu / frames * 1e6:.2f} s (arb replay {rep_cpu:.1f} s)")
EOF
