#!/usr/bin/env bash
# `make bench`: every benchmark in one run, one table. Each bench/*.sh prints
# rows of `figure|ours|bound|÷bound|target|peer|vs peer|target|note` on
# stdout (see bench/lib.sh), progress on stderr. Loopback only.
#
# Fails (exit 2) before measuring anything if a baseline tool is missing, and
# exits 1 if a benchmark failed; a row is never silently left out. A ratio
# that misses its target is marked MISS in the table but does not fail the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
BENCH=bench/run.sh
source bench/lib.sh

# Every baseline, checked up front.
require curl:curl jq:jq /usr/bin/time:time skopeo:skopeo docker-registry:docker-registry base64:coreutils

rows=$WORK/rows
status=0
for bench in bench/smoke.sh bench/wait.sh bench/registry.sh bench/tools.sh; do
  echo "== $bench" >&2
  if ! "$bench" >>"$rows"; then
    echo "$bench FAILED (see its message above)|-|-|-|-|-|-|-|" >>"$rows"
    status=1
  fi
done

echo
echo "| figure | ours | bound | ÷ bound | target | peer | vs peer | target | note |"
echo "|---|---:|---|---:|---|---|---:|---|---|"
grep '|' "$rows" | grep -v '^figure|' | while IFS='|' read -r f o b rb tb p rp tp note; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$f" "$o" "$b" "$rb" "$tb" "$p" "$rp" "$tp" "$note"
done
echo
echo "(ratios: ours ÷ bound; vs peer: ours ÷ peer, or × faster where the target is >=)"
exit $status
