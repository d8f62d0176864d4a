#!/usr/bin/env bash
# Benchmark: registry-tag and rollback-latest against a local docker-registry
# (Debian's) with LATENCY_MS added to every request by testkit's proxy, token
# auth. Rows (see bench/lib.sh); wall times are medians of RUNS runs, each a
# real move (the source alternates between two builds):
#
#   retag wall ms          peer: skopeo copy --all --preserve-digests (≤ 0.5×)
#   retag requests         bound: 6 (DESIGN.md), ping and token included; peer: skopeo
#   rollback-latest, IMAGES images
#                          bound: the same rollback of one image (moves run in
#                          parallel: target ≤ 2×); peer: one skopeo copy per
#                          image, one after another, as the old script moved them
#   two-image rollback requests   bound: 12 (DESIGN.md); peer: two skopeo copies
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RUNS=${RUNS:-7}
((RUNS % 2 == 1)) || RUNS=$((RUNS + 1))
PEER_RUNS=${PEER_RUNS:-3}
LATENCY_MS=${LATENCY_MS:-20}
IMAGES=${IMAGES:-10}
ONE=1111111 TWO=2222222

require docker-registry:docker-registry skopeo:skopeo base64:coreutils
build -p registry-tag --bin registry-tag -p rollback-latest --bin rollback-latest \
  -p testkit --bin registry-sandbox
TAG=$BIN/registry-tag
ROLLBACK=$BIN/rollback-latest
SANDBOX=$BIN/registry-sandbox

stop_sandbox() {
  if [[ -n "${SB_PID:-}" ]]; then
    { echo quit >&"${SB[1]}"; } 2>/dev/null || true
    wait "$SB_PID" 2>/dev/null || true
  fi
}
at_exit stop_sandbox

echo "starting docker-registry with $IMAGES images behind a ${LATENCY_MS} ms proxy…" >&2
coproc SB { exec "$SANDBOX" --latency-ms "$LATENCY_MS" --auth token --images "$IMAGES" 2>"$WORK/sandbox.err"; }
USERNAME="" PASSWORD=""
while read -r -t 60 line <&"${SB[0]}"; do
  case $line in
    READY) break ;;
    PROXY=*) HOST=${line#PROXY=} ;;
    USERNAME=*) USERNAME=${line#USERNAME=} ;;
    PASSWORD=*) PASSWORD=${line#PASSWORD=} ;;
  esac
done
[[ -n "${HOST:-}" ]] || { cat "$WORK/sandbox.err" >&2; die "the registry sandbox did not start"; }

# Credentials through the environment (ours) and an auth file (skopeo): never argv.
export REGISTRY_USERNAME=$USERNAME REGISTRY_PASSWORD=$PASSWORD
AUTHFILE=$WORK/auth.json
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$HOST" "$(printf '%s:%s' "$USERNAME" "$PASSWORD" | base64 -w0)" >"$AUTHFILE"

count() { echo count >&"${SB[1]}"; local reply; read -r reply <&"${SB[0]}"; echo "${reply#COUNT }"; }
images() { # N → the first N image names
  local names=("$HOST/bench/app" "$HOST/bench/tenant") i
  for ((i = 2; i < $1; i++)); do names+=("$HOST/bench/img-$i"); done
  printf '%s\n' "${names[@]:0:$1}"
}

# Runners: BUILD (ONE or TWO) → moves latest to staging-BUILD; fails loudly.
retag_ours() { "$TAG" "$HOST/bench/app:staging-$1" latest >/dev/null 2>"$WORK/ours.err" || die "registry-tag: $(tail -3 "$WORK/ours.err")"; }
retag_skopeo() { skopeo_copy "$HOST/bench/app" "$1"; }
skopeo_copy() { # IMAGE BUILD
  skopeo copy -q --all --preserve-digests --authfile "$AUTHFILE" \
    --src-tls-verify=false --dest-tls-verify=false \
    "docker://$1:staging-$2" "docker://$1:latest" >/dev/null 2>"$WORK/skopeo.err" || die "skopeo: $(tail -3 "$WORK/skopeo.err")"
}
rollback_ours() { # BUILD, over the images in $SET
  local args=() image
  for image in $SET; do args+=(--image "$image"); done
  "$ROLLBACK" "${args[@]}" "$1" >/dev/null 2>"$WORK/ours.err" || die "rollback-latest: $(tail -3 "$WORK/ours.err")"
}
rollback_skopeo() { local image; for image in $SET; do skopeo_copy "$image" "$1"; done; }

# measure RUNNER RUNS → "median_ms requests_of_the_first_run"; latest starts at TWO.
measure() {
  local runner=$1 runs=$2 times=() requests="" i start build
  "$runner" "$TWO"
  count >/dev/null
  for ((i = 0; i < runs; i++)); do
    build=$ONE; ((i % 2 == 0)) || build=$TWO
    start=$(now_ms)
    "$runner" "$build"
    times+=($(($(now_ms) - start)))
    [[ -n "$requests" ]] || requests=$(count)
  done
  "$runner" "$TWO"
  echo "$(printf '%s\n' "${times[@]}" | median) $requests"
}

echo "figure|ours|bound|÷bound|target|peer|vs peer|target|note"

echo "retag: registry-tag and skopeo…" >&2
read -r ours_ms ours_req < <(measure retag_ours "$RUNS")
read -r sk_ms sk_req < <(measure retag_skopeo "$RUNS")
row "registry-tag retag @${LATENCY_MS}ms (ms, median of $RUNS)" "$ours_ms" "-" "-" "" \
  "$sk_ms (skopeo copy)" "$(ratio "$ours_ms" "$sk_ms")" "<= 0.5" "bound: see the request count"
row "registry-tag retag requests (token auth)" "$ours_req" "6 (DESIGN.md)" "$(ratio "$ours_req" 6)" "<= 1" \
  "$sk_req (skopeo copy)" "$(ratio "$ours_req" "$sk_req")" "< 1"

echo "rollback-latest: 1, 2 and $IMAGES images…" >&2
SET=$(images 1)
read -r one_ms _ < <(measure rollback_ours "$RUNS")
SET=$(images 2)
read -r _ two_req < <(measure rollback_ours 1)
read -r _ sk_two_req < <(measure rollback_skopeo 1)
SET=$(images "$IMAGES")
# shellcheck disable=SC2046 # one PID per word
cpu_start "$SB_PID" $(pgrep -P "$SB_PID")
read -r many_ms many_req < <(measure rollback_ours "$RUNS")
note=$(cpu_note "proxy + registry")
read -r sk_many_ms _ < <(measure rollback_skopeo "$PEER_RUNS")
row "rollback-latest $IMAGES images @${LATENCY_MS}ms (ms, median of $RUNS)" "$many_ms" \
  "$one_ms (1 image)" "$(ratio "$many_ms" "$one_ms")" "<= 2" \
  "$sk_many_ms ($IMAGES skopeo copies, median of $PEER_RUNS)" "$(ratio "$many_ms" "$sk_many_ms")" "< 1" \
  "$many_req requests; $note"
row "rollback-latest two-image rollback requests" "$two_req" "12 (DESIGN.md)" "$(ratio "$two_req" 12)" "<= 1" \
  "$sk_two_req (2 skopeo copies)" "$(ratio "$two_req" "$sk_two_req")" "< 1"
