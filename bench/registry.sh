#!/usr/bin/env bash
# Benchmark: registry-tag against skopeo on a local docker-registry, with
# 20 ms added to every request by the testkit proxy. Loopback only.
#
# Prints `figure|ours|baseline|ratio|target` lines:
#   retag wall ms        median of RUNS retags vs `skopeo copy --all --preserve-digests`
#   retag requests       HTTP requests of one retag (ping and token included)
#   rollback requests    two images moved all-or-nothing (one registry-tag run vs two skopeo copies)
#
# Needs Debian's docker-registry; skopeo is optional (its rows say so when missing).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
(( RUNS % 2 == 1 )) || RUNS=$((RUNS + 1))
LATENCY_MS=${LATENCY_MS:-20}
AUTH=${AUTH:-token}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v docker-registry >/dev/null || {
  echo "bench/registry.sh: docker-registry not found: apt-get install docker-registry" >&2
  exit 2
}

echo "building release binaries…" >&2
cargo build --release -q -p registry-tag --bin registry-tag -p testkit --bin registry-sandbox
TOOL=$TARGET_DIR/release/registry-tag
SANDBOX=$TARGET_DIR/release/registry-sandbox

WORK=$(mktemp -d)
cleanup() {
  if [[ -n "${SB_PID:-}" ]]; then
    echo quit >&"${SB[1]}" 2>/dev/null || true
    wait "$SB_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

coproc SB { "$SANDBOX" --latency-ms "$LATENCY_MS" --auth "$AUTH"; }
USERNAME="" PASSWORD=""
while read -r line <&"${SB[0]}"; do
  case $line in
    READY) break ;;
    PROXY=*) HOST=${line#PROXY=} ;;
    USERNAME=*) USERNAME=${line#USERNAME=} ;;
    PASSWORD=*) PASSWORD=${line#PASSWORD=} ;;
  esac
done
[[ -n "${HOST:-}" ]] || { echo "bench/registry.sh: the sandbox did not start" >&2; exit 1; }

# Credentials through the environment (ours) and an auth file (skopeo): never argv.
export REGISTRY_USERNAME=$USERNAME REGISTRY_PASSWORD=$PASSWORD
[[ -n "$USERNAME" ]] || unset REGISTRY_USERNAME REGISTRY_PASSWORD
AUTHFILE=$WORK/auth.json
if [[ -n "$USERNAME" ]]; then
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$HOST" "$(printf '%s:%s' "$USERNAME" "$PASSWORD" | base64 -w0)" >"$AUTHFILE"
else
  echo '{"auths":{}}' >"$AUTHFILE"
fi

count() { echo count >&"${SB[1]}"; local reply; read -r reply <&"${SB[0]}"; echo "${reply#COUNT }"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Alternate the source so every run is a real move, never a no-op.
run_ours() { "$TOOL" "$HOST/bench/app:staging-$1" latest >/dev/null 2>&1; }
run_skopeo() {
  skopeo copy -q --all --preserve-digests --authfile "$AUTHFILE" \
    --src-tls-verify=false --dest-tls-verify=false \
    "docker://$HOST/bench/app:staging-$1" "docker://$HOST/bench/app:latest" >/dev/null
}

measure() { # runner → prints "median_ms requests_of_first_run"
  local runner=$1 times=() requests="" i start
  count >/dev/null
  for ((i = 0; i < RUNS; i++)); do
    start=$(now_ms)
    "$runner" $((i % 2 + 1))
    times+=($(($(now_ms) - start)))
    [[ -n "$requests" ]] || requests=$(count)
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $requests"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

read -r ours_ms ours_req < <(measure run_ours)

# After an odd number of runs app:latest is staging-1 and tenant:latest staging-2:
# swap both, so each image really moves (skopeo then moves both to staging-2).
count >/dev/null
printf '{"image":"%s/bench/app","source":"staging-2","tag":"latest"}\n{"image":"%s/bench/tenant","source":"staging-1","tag":"latest"}\n' "$HOST" "$HOST" \
  | "$TOOL" --atomic >/dev/null 2>&1
ours_rollback=$(count)

echo "figure|ours|baseline|ratio|target"
if command -v skopeo >/dev/null; then
  read -r sk_ms sk_req < <(measure run_skopeo)
  count >/dev/null
  for move in app:staging-2 tenant:staging-2; do
    skopeo copy -q --all --preserve-digests --authfile "$AUTHFILE" --src-tls-verify=false --dest-tls-verify=false \
      "docker://$HOST/bench/$move" "docker://$HOST/bench/${move%%:*}:latest" >/dev/null
  done
  sk_rollback=$(count)
  echo "retag wall ms (${LATENCY_MS} ms/request, median of $RUNS)|$ours_ms|$sk_ms|$(ratio "$ours_ms" "$sk_ms")|<= 0.50"
  echo "retag requests ($AUTH auth)|$ours_req|$sk_req|$(ratio "$ours_req" "$sk_req")|<= 6 and fewer than skopeo"
  echo "two-image rollback requests|$ours_rollback|$sk_rollback|$(ratio "$ours_rollback" "$sk_rollback")|<= 12"
else
  echo "bench/registry.sh: skopeo not found (apt-get install skopeo): baseline rows left empty" >&2
  echo "retag wall ms (${LATENCY_MS} ms/request, median of $RUNS)|$ours_ms|-|-|<= 0.50 of skopeo"
  echo "retag requests ($AUTH auth)|$ours_req|-|-|<= 6"
  echo "two-image rollback requests|$ours_rollback|-|-|<= 12"
fi
