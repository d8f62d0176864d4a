#!/usr/bin/env bash
# `make bench`: runs every benchmark and prints one table. Each bench/*.sh
# prints `figure|ours|baseline|ratio|target` lines on stdout (progress on
# stderr). Loopback only.
set -uo pipefail
cd "$(dirname "$0")/.."

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
status=0
for bench in bench/smoke.sh bench/registry.sh bench/tools.sh; do
  echo "== $bench" >&2
  if ! "$bench" >>"$rows"; then
    echo "$bench failed|-|-|-|-" >>"$rows"
    status=1
  fi
done

printf '\n%-58s %14s %22s %8s  %s\n' FIGURE OURS BASELINE RATIO TARGET
printf '%.0s-' $(seq 118); echo
grep '|' "$rows" | grep -v '^figure|' | while IFS='|' read -r figure ours baseline ratio target; do
  printf '%-58s %14s %22s %8s  %s\n' "$figure" "$ours" "$baseline" "$ratio" "$target"
done
exit $status
