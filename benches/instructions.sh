#!/usr/bin/env bash
# Instruction count per event of each pipeline stage, with valgrind's callgrind: stable on
# any machine (unlike wall-clock tails on a VM), the number to guard against regressions.
#
# Usage: benches/instructions.sh [SYMBOLS] [MESSAGES]
# Generates a fixed capture (8 venues, seed 1), replays it with one feed thread under
# callgrind collecting only inside the hot functions, and prints instructions per frame
# (feed: decode + intern + push), per event (core: deviations + signals + history append +
# push) and per event (sink: count, derived pair spreads, hash). A second capture without BingX (same seed and rate, the
# other 7 venues) gives the feed stage over frames that need no gunzip: BingX's gzip
# frames cost ~10x a JSON frame and dominate the mixed figure.
set -euo pipefail
cd "$(dirname "$0")/.."
symbols=${1:-1000}
messages=${2:-100000}
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)"; exit 1; }
cargo build --release -p arb-tools >/dev/null
out=$(mktemp -d)
cap=$out/fixed.arbcap
./target/release/arb gen --out "$cap" --symbols "$symbols" --rate "$messages" --duration 1 --seed 1 >/dev/null 2>&1
plain=$out/nongzip.arbcap
./target/release/arb gen --out "$plain" --symbols "$symbols" --rate "$messages" --duration 1 --seed 1 \
  --venues binance,bybit,mexc,gateio,kucoin,okx,bitget >/dev/null 2>&1
run() { # $1 = function pattern, $2 = label, [$3 = capture, $4 = report]
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$2" --collect-atstart=no \
    --toggle-collect="$1" ./target/release/arb replay "${3:-$cap}" --quiet --feeds 1 \
    --buckets 60 --raw-points 64 --ring-capacity 4096 --report-json "${4:-$out/r.json}" >/dev/null 2>&1
  local totals
  totals=$(callgrind_annotate "$out/cg.$2" 2>/dev/null)
  awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}' <<<"$totals"
}
feed_ir=$(run '*FeedWorker*on_frame*' feed)
core_ir=$(run '*CoreWorker*pump*' core)
sink_ir=$(run '*SinkWorker*pump*' sink)
plain_ir=$(run '*FeedWorker*on_frame*' plain "$plain" "$out/p.json")
plain_frames=$(python3 -c "import json;print(json.load(open('$out/p.json'))['frames'])")
frames=$(python3 -c "import json;print(json.load(open('$out/r.json'))['frames'])")
events=$(python3 -c "import json;print(json.load(open('$out/r.json'))['events'])")
quotes=$(python3 -c "import json;print(json.load(open('$out/r.json'))['quotes'])")
echo "capture: $symbols symbols x 8 venues, $frames frames, $events events ($quotes quotes), seed 1"
echo "rustc: $(rustc -V), profile: release"
python3 - "$feed_ir" "$core_ir" "$sink_ir" "$frames" "$events" "$quotes" "$plain_ir" "$plain_frames" <<'PY'
import sys
feed, core, sink, frames, events, quotes, plain, plain_frames = map(int, sys.argv[1:])
print(f"feed  (decode+intern+push): {feed/frames:8.0f} instructions/frame")
print(f"feed, 7 venues w/o BingX gzip: {plain/plain_frames:5.0f} instructions/frame ({plain_frames} frames)")
print(f"core  (deviations+signals+history+push): {core/events:4.0f} instructions/event ({core/quotes:.0f} per quote)")
print(f"sink  (count+pair spreads+hash): {sink/events:4.0f} instructions/event")
print(f"total: {(feed+core+sink)/events:19.0f} instructions/event")
PY
rm -rf "$out"
