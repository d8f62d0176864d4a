#!/usr/bin/env bash
# Benchmark: each tool's stripped release binary size and --help start-up
# time (median of RUNS runs). Prints `figure|ours|baseline|ratio|target` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-31}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
TOOLS=(tenant-list canary-wait canary-smoke registry-tag rollback-latest)

echo "building release binaries…" >&2
cargo build --release -q $(printf -- '--bin %s ' "${TOOLS[@]}")

for tool in "${TOOLS[@]}"; do
  bin=$TARGET_DIR/release/$tool
  bytes=$(stat -c %s "$bin")
  mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
  ratio=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / (4 * 1048576) }')
  echo "$tool size MiB|$mib|4 MiB limit|$ratio|< 4 MiB"

  times=()
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$bin" --help >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  median_us=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  ms=$(awk -v u="$median_us" 'BEGIN { printf "%.2f", u / 1000 }')
  ratio=$(awk -v u="$median_us" 'BEGIN { printf "%.2f", u / 10000 }')
  echo "$tool --help ms (median of $RUNS)|$ms|10 ms limit|$ratio|< 10 ms"
done
