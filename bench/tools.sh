#!/usr/bin/env bash
# Benchmark: each tool's stripped release binary size and --help start-up
# time (median of RUNS runs), against DESIGN.md's limits. Rows: see bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${RUNS:-31}
TOOLS=(tenant-list canary-wait canary-smoke registry-tag rollback-latest)

bins=()
for tool in "${TOOLS[@]}"; do bins+=(--bin "$tool"); done
build "${bins[@]}"

echo "figure|ours|bound|÷bound|target|peer|vs peer|target|note"
for tool in "${TOOLS[@]}"; do
  bin=$BIN/$tool
  bytes=$(stat -c %s "$bin")
  mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
  row "$tool size (MiB)" "$mib" "4" "$(ratio "$mib" 4)" "< 1" "-" "-" ""

  times=()
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$bin" --help >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  ms=$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')
  row "$tool --help (ms, median of $RUNS)" "$ms" "10" "$(ratio "$ms" 10)" "< 1" "-" "-" ""
done
