#!/usr/bin/env bash
# Instructions per decoded frame, per venue and path, with callgrind (stable on any
# machine). Usage: benches/decode_instructions.sh [FILTER]   (e.g. binance)
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-}
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)"; exit 1; }
cargo build --release -p arb-benches --example decode_loop >/dev/null 2>&1
bin=target/release/examples/decode_loop
n=20000
out=$(mktemp -d)
printf '%-28s %10s %10s %11s %9s\n' frame fast simd_json serde_json "x serde"
for name in $($bin --list); do
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  row=()
  for path in fast simd_json serde_json; do
    if valgrind --tool=callgrind --callgrind-out-file="$out/cg" --collect-atstart=no \
        --toggle-collect='*decode_loop*measured*' "$bin" "$name" "$path" "$n" >/dev/null 2>&1; then
      totals=$(callgrind_annotate "$out/cg" 2>/dev/null)
      ir=$(awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}' <<<"$totals")
      # Two calls of measured(): 16 warm-up iterations plus n.
      row+=("$(( ir / (n + 16) ))")
    else
      row+=("-")
    fi
  done
  ratio="-"
  [[ "${row[2]}" != "-" && "${row[0]}" != "0" ]] && ratio=$(awk "BEGIN{printf \"%.1f\", ${row[2]}/${row[0]}}")
  printf '%-28s %10s %10s %11s %9s\n' "$name" "${row[0]}" "${row[1]}" "${row[2]}" "$ratio"
done
rm -rf "$out"
