#!/usr/bin/env bash
# Benchmark: canary-smoke against the fake fleet (testkit's fake-fleet) on
# loopback, with LATENCY_MS added to every request. Rows (see bench/lib.sh):
#
#   wall ms, TENANTS tenants @LATENCY_MS, default settings
#       bound: the suite's longest dependency chain (commit → search: 2 round
#              trips per tenant) or the requests ÷ the in-flight cap (--jobs'
#              default), whichever is longer, × LATENCY_MS   (target ≤ 1.5×)
#       peer:  the same checks one curl at a time, as canary-smoke.sh ran
#              them                                         (target ≥ 100× faster)
#   peak RSS, MANY vs 100 path-prefixed tenants   (target: flat, ≤ 1.5×)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

TENANTS=${TENANTS:-100}
LATENCY_MS=${LATENCY_MS:-50}
MANY=${MANY:-10000}
# The default suite's longest chain of checks that wait for one another.
DEPTH=2

require curl:curl jq:jq /usr/bin/time:time
build -p canary-smoke --bin canary-smoke -p testkit --bin fake-fleet
SMOKE=$BIN/canary-smoke
FLEET_BIN=$BIN/fake-fleet


CHECKS=$("$SMOKE" --print-suite | grep -c '^{')
# --jobs' default, as --help states it: the in-flight cap at default settings.
CAP=$("$SMOKE" --help | awk '/^ *-j, --jobs / { f = 1 } f && match($0, /\[default: [0-9]+\]/) {
  print substr($0, RSTART + 10, RLENGTH - 11); exit }')
[[ $CAP =~ ^[0-9]+$ ]] || die "cannot read --jobs' default from canary-smoke --help"

run_smoke() { # → wall ms; the run must be green with one record per check
  local start end records
  start=$(now_ms)
  "$SMOKE" <"$WORK/tenants.jsonl" >"$WORK/records.jsonl" 2>"$WORK/smoke.err" ||
    { tail -5 "$WORK/smoke.err" >&2; die "canary-smoke failed"; }
  end=$(now_ms)
  records=$(wc -l <"$WORK/records.jsonl")
  ((records == TENANTS * CHECKS)) || die "$records records, expected $((TENANTS * CHECKS))"
  echo $((end - start))
}

# The same six checks as canary-smoke.sh made them: one curl each, one
# tenant after another. The bearer goes through a header file, not argv.
run_curl() {
  local start end url token n=0 code failed=0
  start=$(now_ms)
  while IFS=$'\t' read -r url token; do
    n=$((n + 1))
    printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth"
    local probe="bench-probe-$$-$n"
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H @"$WORK/auth" "$url/admin/liveness")
    [[ $code == 200 ]] && grep -q '"subsystems"' "$WORK/body" || failed=$((failed + 1))
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H @"$WORK/auth" "$url/workspaces")
    [[ $code == 200 ]] && [[ $(head -c1 "$WORK/body") == "[" ]] || failed=$((failed + 1))
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H @"$WORK/auth" -H 'Content-Type: application/json' \
      -d "{\"scope\":\"LOCAL\",\"namespace\":\"canary-smoke\",\"content\":\"$probe\"}" "$url/memories/commit")
    [[ $code == 20[01] ]] && grep -q '"id"' "$WORK/body" || failed=$((failed + 1))
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H @"$WORK/auth" "$url/memories/search?query=$probe")
    [[ $code == 200 ]] && grep -q "$probe" "$WORK/body" || failed=$((failed + 1))
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H @"$WORK/auth" "$url/events")
    [[ $code == 200 ]] && [[ $(head -c1 "$WORK/body") == "[" ]] || failed=$((failed + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/admin/liveness")
    [[ $code == 401 ]] || failed=$((failed + 1))
  done < <(jq -r '[.url, .token] | @tsv' "$WORK/tenants.jsonl")
  end=$(now_ms)
  ((failed == 0)) || die "$failed curl checks failed"
  echo $((end - start))
}

peak_rss_kib() { # the peak RSS of one canary-smoke run over the current fleet
  /usr/bin/time -f '%M' -o "$WORK/rss" "$SMOKE" <"$WORK/tenants.jsonl" >/dev/null 2>"$WORK/smoke.err" ||
    { tail -5 "$WORK/smoke.err" >&2; die "canary-smoke failed"; }
  tail -1 "$WORK/rss"
}

echo "figure|ours|bound|÷bound|target|peer|vs peer|target|note"

echo "canary-smoke: $TENANTS tenants @${LATENCY_MS}ms, default settings (--jobs $CAP)…" >&2
fleet_start --tenants "$TENANTS" --latency-ms "$LATENCY_MS"
requests=$((TENANTS * CHECKS))
rounds=$(((requests + CAP - 1) / CAP))
((rounds > DEPTH)) || rounds=$DEPTH
bound=$((rounds * LATENCY_MS))
cpu_start "$FLEET_PID"
ours=$(run_smoke)
note=$(cpu_note "fleet")
echo "canary-smoke: sequential curl…" >&2
baseline=$(run_curl)
fleet_stop
row "canary-smoke $TENANTS tenants @${LATENCY_MS}ms, defaults (ms)" "$ours" \
  "$bound (max($DEPTH, ⌈$requests/$CAP⌉)×${LATENCY_MS}ms)" "$(ratio "$ours" "$bound")" "<= 1.5" \
  "$baseline (curl, sequential)" "$(ratio "$baseline" "$ours")" ">= 100" "$note"

echo "canary-smoke: peak RSS, 100 and $MANY tenants…" >&2
fleet_start --tenants 100 --path-prefixed
small=$(peak_rss_kib)
fleet_stop
fleet_start --tenants "$MANY" --path-prefixed
large=$(peak_rss_kib)
fleet_stop
row "canary-smoke peak RSS, $MANY tenants (KiB)" "$large" "$small (100 tenants)" \
  "$(ratio "$large" "$small")" "<= 1.5" "-" "-" "" "memory flat while streaming"
