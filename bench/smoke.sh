#!/usr/bin/env bash
# Benchmark: canary-smoke against the fake fleet (testkit's fake-fleet) on
# loopback, with LATENCY_MS added to every request. Loopback only.
#
# Prints `figure|ours|baseline|ratio|target` lines:
#   wall ms vs lower bound   100 tenants, default suite, default --jobs, against
#                            ceil(TENANTS/jobs) × checks × LATENCY_MS (target ratio ≤ 1.3)
#   wall ms vs curl          the same checks one curl at a time, sequentially
#                            (target: at least 20× faster), at the default --jobs
#                            and at --jobs WIDE_JOBS
#   peak RSS KiB             10,000 path-prefixed tenants against 100 (target: flat)
set -euo pipefail

cd "$(dirname "$0")/.."
TENANTS=${TENANTS:-100}
LATENCY_MS=${LATENCY_MS:-50}
MANY=${MANY:-10000}
WIDE_JOBS=${WIDE_JOBS:-32}
DEFAULT_JOBS=8
TARGET_DIR=${CARGO_TARGET_DIR:-target}

for tool in curl jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/smoke.sh: $tool not found" >&2; exit 2; }
done

echo "building release binaries…" >&2
cargo build --release -q -p canary-smoke --bin canary-smoke -p testkit --bin fake-fleet
SMOKE=$TARGET_DIR/release/canary-smoke
FLEET_BIN=$TARGET_DIR/release/fake-fleet

WORK=$(mktemp -d)
chmod 700 "$WORK"
stop_fleet() {
  if [[ -n "${FLEET_RUNNING:-}" ]]; then
    # Closing its stdin stops the fleet; kill it if it is slow to go. (bash
    # unsets FLEET and FLEET_PID by itself once the coprocess is gone.)
    local pid=$FLEET_RUNNING fd=${FLEET[1]:-}
    FLEET_RUNNING=""
    [[ -z "$fd" ]] || eval "exec $fd>&-"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
cleanup() { stop_fleet; rm -rf "$WORK"; }
trap cleanup EXIT

start_fleet() { # args for fake-fleet; the tenants land in $WORK/tenants.jsonl
  local count=$2 line n=0
  coproc FLEET { "$FLEET_BIN" "$@" 2>"$WORK/fleet.err"; }
  FLEET_RUNNING=$FLEET_PID
  : >"$WORK/tenants.jsonl"
  while ((n < count)) && read -r -t 30 line <&"${FLEET[0]}"; do
    printf '%s\n' "$line" >>"$WORK/tenants.jsonl"
    n=$((n + 1))
  done
  ((n == count)) || { echo "bench/smoke.sh: fake-fleet printed $n of $count tenants" >&2; cat "$WORK/fleet.err" >&2; exit 1; }
}

now_ms() { date +%s%3N; }
CHECKS=$("$SMOKE" --print-suite | grep -c '^{')

run_smoke() { # jobs → wall ms; the run must be green with one record per check
  local start end
  start=$(now_ms)
  "$SMOKE" --jobs "$1" <"$WORK/tenants.jsonl" >"$WORK/records.jsonl" 2>"$WORK/smoke.err" ||
    { echo "bench/smoke.sh: canary-smoke failed:" >&2; tail -5 "$WORK/smoke.err" >&2; exit 1; }
  end=$(now_ms)
  local records
  records=$(wc -l <"$WORK/records.jsonl")
  ((records == TENANTS * CHECKS)) || { echo "bench/smoke.sh: $records records, expected $((TENANTS * CHECKS))" >&2; exit 1; }
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
  ((failed == 0)) || { echo "bench/smoke.sh: $failed curl checks failed" >&2; exit 1; }
  echo $((end - start))
}

peak_rss_kib() { # the peak RSS of one canary-smoke run over the current fleet
  /usr/bin/time -f '%M' -o "$WORK/rss" "$SMOKE" <"$WORK/tenants.jsonl" >/dev/null 2>"$WORK/smoke.err" ||
    { echo "bench/smoke.sh: canary-smoke failed:" >&2; tail -5 "$WORK/smoke.err" >&2; exit 1; }
  tail -1 "$WORK/rss"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "figure|ours|baseline|ratio|target"

start_fleet --tenants "$TENANTS" --latency-ms "$LATENCY_MS"
for jobs in "$DEFAULT_JOBS" "$WIDE_JOBS"; do
  bound=$(((TENANTS + jobs - 1) / jobs * CHECKS * LATENCY_MS))
  ours=$(run_smoke "$jobs")
  echo "wall ms vs lower bound ceil($TENANTS/$jobs)×$CHECKS×${LATENCY_MS}ms, --jobs $jobs|$ours|$bound|$(ratio "$ours" "$bound")|<= 1.3"
  eval "ours_$jobs=$ours"
done
baseline=$(run_curl)
for jobs in "$DEFAULT_JOBS" "$WIDE_JOBS"; do
  ours_var="ours_$jobs"
  echo "wall ms vs sequential curl, --jobs $jobs|${!ours_var}|$baseline|$(ratio "$baseline" "${!ours_var}")x faster|>= 20x"
done
stop_fleet

start_fleet --tenants 100 --path-prefixed
small=$(peak_rss_kib)
stop_fleet
start_fleet --tenants "$MANY" --path-prefixed
large=$(peak_rss_kib)
stop_fleet
echo "peak RSS KiB, $MANY vs 100 path-prefixed tenants|$large|$small|$(ratio "$large" "$small")|flat (<= 1.5)"
