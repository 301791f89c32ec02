#!/usr/bin/env bash
# Soak: `arb run` against `arb mock-exchange` for MINUTES with faults on a schedule, while
# `arb loadgen` keeps 1 000 WebSocket clients attached (10 % stalling 500 ms per read).
# Samples every 10 s into OUTDIR/soak.csv and draws OUTDIR/soak.html; checks the pass
# criteria and ends with `soak: PASS ...` or `soak: FAIL <criterion> ...` (exit 0 / 1).
#
#   ci/soak.sh MINUTES [OUTDIR]          e.g. ci/soak.sh 5 /tmp/soak;  24 h: ci/soak.sh 1440
#
# Faults (mock-exchange flags): every connection of okx and bybit is dropped every 30 s and
# goes silent (no data, no heartbeat replies) 20 s after it opens; every 1 000th data frame
# of those venues is malformed and every 5 000th oversized; topics containing SHIB are
# refused on every venue; every REST answer waits 200 ms.
# Loopback only; every process is stopped at the end. ARB_BIN picks the binary (default:
# target/release/arb, built if missing).
set -euo pipefail
MINUTES=${1:?usage: ci/soak.sh MINUTES [OUTDIR]}
OUT=${2:-$(mktemp -d /tmp/arb-soak.XXXXXX)}
cd "$(dirname "$0")/.."
BIN=${ARB_BIN:-target/release/arb}
[ -x "$BIN" ] || cargo build --release -q -p arb-tools
mkdir -p "$OUT"
rm -rf "$OUT/data"
SECS=$((MINUTES * 60))
PORT=${SOAK_PORT:-18190}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BIN" mock-exchange --print-config --symbols 30 --rate 10000 \
    --drop-every 30 --silent-after 20 --fault-venues okx,bybit \
    --malformed-every 1000 --oversize-every 5000 --reject-topic SHIB --rest-delay-ms 200 \
    >"$OUT/mock.toml" 2>"$OUT/mock.err" &
pids+=($!)
for _ in $(seq 100); do [ "$(grep -c ws_url "$OUT/mock.toml" 2>/dev/null)" = 8 ] && break; sleep 0.1; done
# Detect silence in 5 s: client-ping venues ping every 2 s (the server-ping venues, Binance
# and BingX, stream data and server pings).
python3 - "$OUT/mock.toml" <<'EOF'
import sys
p = sys.argv[1]
out = []
for line in open(p).read().splitlines():
    out.append(line)
    if line.startswith("[venues."):
        out.append("silence_timeout_ms = 5000")
        if line not in ("[venues.binance]", "[venues.bingx]"):
            out.append("ping_interval_ms = 2000")
open(p, "w").write("\n".join(out) + "\n")
EOF

"$BIN" run --config "$OUT/mock.toml" --listen "127.0.0.1:$PORT" --data "$OUT/data" \
    --store-file-secs 10 2>"$OUT/run.err" &
RUN=$!
pids+=($RUN)
for _ in $(seq 300); do grep -q "serving http://" "$OUT/run.err" && break; sleep 0.1; done
grep -q "serving http://" "$OUT/run.err" || { cat "$OUT/run.err"; echo "soak: FAIL start"; exit 1; }
sleep 5
"$BIN" loadgen --url "ws://127.0.0.1:$PORT/ws" --clients 1000 --slow-fraction 0.1 \
    --slow-delay-ms 500 --duration "$((SECS + 120))" --report-json "$OUT/loadgen.json" \
    >"$OUT/loadgen.out" 2>&1 &
LOADGEN=$!
pids+=($LOADGEN)

echo "t_s,rss_bytes,threads,fds,events_per_s,feed_ring_drops,other_drops,max_feed_ring_depth,reconnects,connect_attempts,venues_connected,max_last_message_age_ms,venues_without_data" >"$OUT/soak.csv"
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$SECS" ]; do
    sleep 10
    kill -0 "$RUN" 2>/dev/null || { echo "soak: FAIL arb run exited early"; tail "$OUT/run.err"; exit 1; }
    t=$(($(date +%s) - start))
    rss=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$RUN/status")
    threads=$(ls "/proc/$RUN/task" | wc -l)
    fds=$(ls "/proc/$RUN/fd" | wc -l)
    curl -s -m 5 "http://127.0.0.1:$PORT/api/health" >"$OUT/health.json" || true
    curl -s -m 5 "http://127.0.0.1:$PORT/api/exchanges" >"$OUT/exchanges.json" || true
    python3 - "$OUT" "$t" "$rss" "$threads" "$fds" >>"$OUT/soak.csv" <<'EOF'
import json, sys
d, t, rss, threads, fds = sys.argv[1:]
try:
    h = json.load(open(f"{d}/health.json"))
    ex = json.load(open(f"{d}/exchanges.json"))
except Exception:
    print(f"{t},{rss},{threads},{fds},,,,,,,,,")
    sys.exit(0)
drops = h["drops"]
feed = drops.get("feed_rings", 0)
other = sum(v for k, v in drops.items() if k != "feed_rings")
rec = sum(v["reconnects"] for v in ex)
att = sum((v.get("connections") or {}).get("connect_attempts", 0) for v in ex)
up = sum(v["state"] == "connected" for v in ex)
age = max((v["last_message_age_ms"] or 0) for v in ex)
nodata = sum(v["last_message_age_ms"] is None for v in ex)
print(f"{t},{rss},{threads},{fds},{h['events_per_s']:.0f},{feed},{other},{h['max_feed_ring_depth']},{rec},{att},{up},{age:.0f},{nodata}")
EOF
done
cp "$OUT/exchanges.json" "$OUT/exchanges_end.json"
curl -s -m 5 "http://127.0.0.1:$PORT/mock/stats" >/dev/null 2>&1 || true
# The clients stay attached through every sample; stop them, then arb run.
kill -INT "$LOADGEN" 2>/dev/null || true
wait "$LOADGEN" || true
kill -TERM "$RUN"
stop_start=$(date +%s)
wait "$RUN" || true
stop_s=$(($(date +%s) - stop_start))

python3 - "$OUT" "$SECS" "$stop_s" "$(dirname "$0")/../tools/tests/store_check.py" <<'EOF'
import csv, json, subprocess, sys
d, secs, stop_s, check = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [r for r in csv.DictReader(open(f"{d}/soak.csv")) if r["events_per_s"]]
fails = []
def f(v): return float(v)
# Warm-up: the first third of the run (at least 60 s): clients connect, the preallocated
# history is touched as it fills.
warm = max(60, secs // 3)
steady = [r for r in rows if int(r["t_s"]) >= warm]
if len(steady) < 3:
    fails.append("too few samples after warm-up")
else:
    for col, tol in (("rss_bytes", 0.02), ("fds", 0.02)):
        vals = [f(r[col]) for r in steady]
        mean = sum(vals) / len(vals)
        if max(vals) > mean * (1 + tol) or min(vals) < mean * (1 - tol):
            fails.append(f"{col} not flat after warm-up (min {min(vals):.0f}, max {max(vals):.0f}, mean {mean:.0f})")
    if len({r["threads"] for r in steady}) != 1:
        fails.append(f"threads changed after warm-up: {sorted({r['threads'] for r in steady})}")
last = rows[-1]
if f(last["feed_ring_drops"]) != 0:
    fails.append(f"core input ring drops: {last['feed_ring_drops']}")
# Every venue back within its bound after each drop: silence 5 s + backoff (reset after
# data; cap 30 s) -> a venue's newest frame is never older than 35 s at a sample.
ages = [f(r["max_last_message_age_ms"]) for r in rows if r["max_last_message_age_ms"]]
if ages and max(ages) > 35_000:
    fails.append(f"a venue silent for {max(ages):.0f} ms")
if any(f(r["venues_without_data"]) > 0 for r in steady):
    fails.append("a venue delivered no data at all")
ex = json.load(open(f"{d}/exchanges_end.json"))
budget = {"binance": 250, "bybit": 400, "bitget": 250, "bingx": 200}
windows = -(-secs // 300)
for v in ex:
    att = (v.get("connections") or {}).get("connect_attempts", 0)
    cap = budget.get(v["id"], 250) * windows
    if att > cap:
        fails.append(f"{v['id']}: {att} connection attempts above its budget {cap}")
faulted = [v for v in ex if v["id"] in ("okx", "bybit")]
if any(v["reconnects"] < 2 for v in faulted):
    fails.append("the faults did not fire (okx/bybit reconnects < 2)")
if stop_s > 12:
    fails.append(f"SIGTERM took {stop_s} s (bound 10 s)")
err = open(f"{d}/run.err").read()
stored = None
for line in err.splitlines():
    if "rows stored in" in line:
        stored = int(line.split(", ")[-1].split(" rows stored")[0])
out = subprocess.run(["python3", check, "--valid-only", f"{d}/data"], capture_output=True, text=True)
if out.returncode != 0:
    fails.append(f"a Parquet file does not open: {out.stderr.strip()[-200:]}")
else:
    v = json.loads(out.stdout)
    on_disk = sum(v[k]["rows"] for k in ("quotes", "trades", "spreads", "signals", "gaps"))
    if stored is None or on_disk != stored:
        fails.append(f"Parquet rows {on_disk} != rows the engine reported stored {stored}")
    if v["tmp_files"]:
        fails.append(f"{v['tmp_files']} half-written files left")
drops_other = f(last["other_drops"])
lg = {}
try:
    lg = json.load(open(f"{d}/loadgen.json"))
except Exception:
    fails.append("loadgen wrote no report")
# The plot: one small SVG line chart per column.
cols = ["rss_bytes", "threads", "fds", "events_per_s", "feed_ring_drops", "other_drops",
        "max_feed_ring_depth", "reconnects", "connect_attempts", "venues_connected",
        "max_last_message_age_ms", "venues_without_data"]
html = ["<html><head><meta charset=utf-8><title>arb soak</title></head><body style='font-family:sans-serif;background:#111;color:#ddd'>",
        f"<h2>arb soak: {secs} s</h2>"]
ts = [f(r["t_s"]) for r in rows]
for c in cols:
    ys = [f(r[c]) for r in rows]
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or 1.0
    tmax = max(ts) or 1.0
    pts = " ".join(f"{20 + 560 * t / tmax:.1f},{130 - 110 * (y - lo) / span:.1f}" for t, y in zip(ts, ys))
    html.append(f"<div><b>{c}</b> min {lo:.0f} max {hi:.0f}<br><svg width=600 height=140 style='background:#1b1b1b'>"
                f"<polyline fill=none stroke='#4fc3f7' stroke-width=1.5 points='{pts}'/></svg></div>")
html.append("</body></html>")
open(f"{d}/soak.html", "w").write("\n".join(html))
summary = (f"{len(rows)} samples, rss {f(last['rss_bytes'])/2**20:.0f} MiB, threads {last['threads']}, "
           f"fds {last['fds']}, reconnects {last['reconnects']}, feed-ring drops {last['feed_ring_drops']}, "
           f"other drops {drops_other:.0f}, rows stored {stored}, stop {stop_s} s, "
           f"loadgen {lg.get('clients', '?')} clients, {lg.get('disconnects', '?')} disconnects, "
           f"fast p99 {(lg.get('latency_fast') or {}).get('p99_us', 0) / 1e3:.1f} ms, "
           f"slow p99 {(lg.get('latency_slow') or {}).get('p99_us', 0) / 1e3:.1f} ms; "
           f"{d}/soak.csv, {d}/soak.html")
if fails:
    print("soak: FAIL " + "; ".join(fails) + " | " + summary)
    sys.exit(1)
print("soak: PASS " + summary)
EOF
