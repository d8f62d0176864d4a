#!/usr/bin/env bash
# Benchmark: canary-wait against the fake fleet on loopback. Rows (see bench/lib.sh):
#
#   detection lag, LAG_TENANTS tenants, defaults: every tenant starts to
#       report the sha at once; the time from then until canary-wait exits,
#       median of LAG_RUNS runs                     (bound: 1 s, target ≤ 1)
#   requests/s per waiting tenant, defaults         (bound: 1, target ≤ 1)
#   wall ms, WAIT_TENANTS tenants already ready (path-prefixed, one poll each)
#       bound: 10 × the run over the first tenth (linear scheduling, ≤ 1.3)
#       peer:  curl -Z --parallel-max 32 GETting the same /health URLs (≤ 1.3)
#
# WAIT_TENANTS defaults to 100000, the figure DESIGN.md promises; set it lower
# (say 20000) for a quicker run on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

LAG_TENANTS=${LAG_TENANTS:-100}
LAG_RUNS=${LAG_RUNS:-5}
WAIT_TENANTS=${WAIT_TENANTS:-100000}
OLD=1111111
NEW=2222222

require curl:curl jq:jq
build -p canary-wait --bin canary-wait -p testkit --bin fake-fleet
WAIT=$BIN/canary-wait
FLEET_BIN=$BIN/fake-fleet


echo "figure|ours|bound|÷bound|target|peer|vs peer|target|note"

# --- Detection lag and polling rate at default settings.
echo "canary-wait: detection lag, $LAG_TENANTS tenants × $LAG_RUNS runs…" >&2
fleet_start --tenants "$LAG_TENANTS" --sha "$OLD"
lags=() rates=()
for ((run = 0; run < LAG_RUNS; run++)); do
  fleet_cmd "sha all $OLD" >/dev/null
  "$WAIT" --sha "$NEW" <"$WORK/tenants.jsonl" >"$WORK/ready.jsonl" 2>"$WORK/wait.err" &
  wait_pid=$!
  # Let it settle into its polling rhythm, then count polls over 3 s.
  sleep 1
  r0=$(fleet_cmd requests) t0=$(now_ms)
  sleep 3
  r1=$(fleet_cmd requests) t1=$(now_ms)
  kill -0 "$wait_pid" 2>/dev/null || die "canary-wait exited before the tenants were ready: $(tail -3 "$WORK/wait.err")"
  fleet_cmd "sha all $NEW" >/dev/null
  flipped=$(now_ms)
  wait "$wait_pid" || die "canary-wait exited $? after every tenant became ready: $(tail -3 "$WORK/wait.err")"
  exited=$(now_ms)
  n=$(wc -l <"$WORK/ready.jsonl")
  ((n == LAG_TENANTS)) || die "canary-wait passed $n of $LAG_TENANTS tenants"
  lags+=($((exited - flipped)))
  rates+=("$(awk -v r=$((${r1#REQUESTS } - ${r0#REQUESTS })) -v t=$((t1 - t0)) -v n="$LAG_TENANTS" \
    'BEGIN { printf "%.3f", r / (t / 1000) / n }')")
done
fleet_stop
lag=$(printf '%s\n' "${lags[@]}" | median)
rate=$(printf '%s\n' "${rates[@]}" | median)
row "canary-wait detection lag, $LAG_TENANTS tenants, defaults (ms, median of $LAG_RUNS)" "$lag" \
  "1000 (DESIGN.md)" "$(ratio "$lag" 1000)" "<= 1" "-" "-" "" \
  "all runs: ${lags[*]} ms; the old wait step polled every 30 s"
row "canary-wait requests/s per waiting tenant, defaults" "$rate" "1 (DESIGN.md)" \
  "$(ratio "$rate" 1)" "<= 1" "-" "-" "" "all runs: ${rates[*]}"

# --- Many tenants already ready: one poll each, against a curl sweep.
echo "canary-wait: $WAIT_TENANTS tenants already ready…" >&2
fleet_start --tenants "$WAIT_TENANTS" --path-prefixed --sha "$NEW"
tenth=$((WAIT_TENANTS / 10))
head -n "$tenth" "$WORK/tenants.jsonl" >"$WORK/tenth.jsonl"
jq -r '"url = \"\(.url)/health\"\noutput = \"/dev/null\""' "$WORK/tenants.jsonl" >"$WORK/curl.cfg"

run_wait() { # tenants file → wall ms; every tenant must come out ready
  local start end n
  start=$(now_ms)
  "$WAIT" --sha "$NEW" <"$1" >"$WORK/ready.jsonl" 2>"$WORK/wait.err" ||
    die "canary-wait exited $?: $(tail -3 "$WORK/wait.err")"
  end=$(now_ms)
  n=$(wc -l <"$WORK/ready.jsonl")
  ((n == $(wc -l <"$1"))) || die "canary-wait passed $n of $(wc -l <"$1") tenants"
  echo $((end - start))
}
small=$(run_wait "$WORK/tenth.jsonl")
cpu_start "$FLEET_PID"
ours=$(run_wait "$WORK/tenants.jsonl")
note_ours=$(cpu_note "fleet")
echo "canary-wait: curl -Z sweep of $WAIT_TENANTS…" >&2
cpu_start "$FLEET_PID"
start=$(now_ms)
curl -s --no-progress-meter -Z --parallel-max 32 --fail -K "$WORK/curl.cfg" 2>"$WORK/curl.err" ||
  die "the curl sweep failed ($?): $(tail -3 "$WORK/curl.err")"
peer=$(($(now_ms) - start))
note_peer=$(cpu_note "fleet")
fleet_stop
bound=$((10 * small))
row "canary-wait $WAIT_TENANTS tenants already ready (ms)" "$ours" "$bound (10 × $tenth tenants)" \
  "$(ratio "$ours" "$bound")" "<= 1.3" "$peer (curl -Z --parallel-max 32)" "$(ratio "$ours" "$peer")" \
  "<= 1.3" "ours: $note_ours; curl: $note_peer"
