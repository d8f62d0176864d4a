#!/usr/bin/env bash
# The release loop, end to end, on loopback, with the real tools:
#
#   rollback-latest --pin                       pin what the gate tests, as it starts
#   tenant-list | canary-wait | canary-smoke   gate a good build
#   rollback-latest --pinned                    promote exactly the pinned manifests,
#                                               latest of both images at once
#   (a bad build)                               rejected by the gate; latest stays put
#   rollback-latest --pinned (stale)            refused: latest moved since the pin
#   rollback-latest                             one command puts every image back
#
# Usage: demo/demo.sh [--quiet]
#   BIN_DIR (or TOOLS_DIR)  where the built tools are
#                           (default: $CARGO_TARGET_DIR/debug, else target/debug)
# Exits non-zero, with the reason, if any step does not behave as narrated.
set -euo pipefail

QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR=${BIN_DIR:-${TOOLS_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}}
export PATH="$BIN_DIR:$PATH"
# The tools must not pick up the caller's CI, proxy or credential settings.
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY GITHUB_OUTPUT GITHUB_TOKEN GITHUB_ACTOR RUNNER_DEBUG \
      REGISTRY_USERNAME REGISTRY_PASSWORD REGISTRY_HOST REGISTRY_AUTH_FILE DOCKER_CONFIG \
      XDG_RUNTIME_DIR ROLLBACK_IMAGES IMAGE_NAME TENANT_IMAGE_NAME CANARY_TENANT_URLS \
      CANARY_ADMIN_TOKENS HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_COLOR=1

for tool in tenant-list canary-wait canary-smoke registry-tag rollback-latest \
            fake-fleet registry-sandbox push-image; do
  [[ -x "$BIN_DIR/$tool" ]] || { echo "demo: $BIN_DIR/$tool is missing: run 'cargo build --workspace --bins'" >&2; exit 2; }
done
command -v docker-registry >/dev/null || {
  echo "demo: docker-registry is missing: run 'make deps' (apt-get install docker-registry)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/canary-demo.XXXXXX")
PIDS=()
PASSED=0
FAILED=0

cleanup() {
  # Closing each helper's stdin stops it (and the registry it started);
  # whatever is still there a moment later is killed.
  for fd in 7 8 9; do eval "exec $fd>&-" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  # A helper that did not stop: end its whole process group (a registry too).
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# Anything unexpected stops the demo loudly, never silently.
trap 'echo "demo: FAILED: unexpected error at line $LINENO" >&2' ERR

say()  { ((QUIET)) || printf '%s\n' "$*"; }
step() { ((QUIET)) || printf '\n\033[1m== %s\033[0m\n' "$*" | sed 's/\x1b\[[0-9;]*m//g'; }
show() { ((QUIET)) || sed 's/^/    /' "$@"; }
ok()   { PASSED=$((PASSED + 1)); say "  ✔ $*"; }
fail() {
  FAILED=$((FAILED + 1))
  echo "demo: FAILED: $*" >&2
  for log in "$WORK"/*.err; do [[ -s "$log" ]] && { echo "--- $(basename "$log")" >&2; cat "$log" >&2; }; done
  echo "demo: $PASSED passed, $FAILED failed" >&2
  exit 1
}

# start_helper FD NAME CMD... : runs CMD in its own process group with stdin
# from a FIFO whose only writer is this script's FD, output in $WORK/NAME.out.
# Closing FD is the helper's end of input: it stops and cleans up after itself.
start_helper() {
  local fd=$1 name=$2; shift 2
  mkfifo "$WORK/$name.in"
  set -m
  "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" 7>&- 8>&- 9>&- &
  PIDS+=($!)
  set +m
  eval "exec $fd>\"$WORK/$name.in\""
}

# wait_for FILE PATTERN : until FILE has a line matching PATTERN (at most 30 s)
wait_for() {
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "timed out waiting for '$2' in $(basename "$1")"
}

GOOD=4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f
BAD=9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d
GOOD7=${GOOD:0:7}
BAD7=${BAD:0:7}

step "1. A registry on loopback (Debian's docker-registry)"
start_helper 7 registry registry-sandbox
wait_for "$WORK/registry.out" '^READY'
REGISTRY=$(sed -n 's/^REGISTRY=//p' "$WORK/registry.out")
PLATFORM=$REGISTRY/molecule-ai/platform
TENANT=$REGISTRY/molecule-ai/platform-tenant
# The images rollback-latest moves (its own variable; never IMAGE_NAME).
export ROLLBACK_IMAGES="$PLATFORM $TENANT"
say "  registry at http://$REGISTRY"
ok "registry up"

step "2. Two builds of two images, pushed as staging-<sha7> (never latest)"
declare -A DIGEST
for sha in $GOOD7 $BAD7; do
  DIGEST[platform-$sha]=$(push-image "http://$REGISTRY" molecule-ai/platform "staging-$sha" oci-index "platform-$sha")
  DIGEST[tenant-$sha]=$(push-image "http://$REGISTRY" molecule-ai/platform-tenant "staging-$sha" docker "tenant-$sha")
  say "  $PLATFORM:staging-$sha  ${DIGEST[platform-$sha]}  (multi-arch OCI index)"
  say "  $TENANT:staging-$sha  ${DIGEST[tenant-$sha]}  (Docker v2)"
done
ok "4 staging tags pushed"

# gate SHA FLEET_FILE : the CI gate, exactly as a workflow step runs it.
gate() {
  set +e
  tenant-list --file "$2" 2>"$WORK/tenant-list.err" \
    | canary-wait --sha "$1" --interval 200ms --timeout 30s 2>"$WORK/canary-wait.err" \
    | canary-smoke --sha "$1" --jobs 4 >"$WORK/results.jsonl" 2>"$WORK/canary-smoke.err"
  local codes=("${PIPESTATUS[@]}")
  set -e
  GATE_CODES="${codes[*]}"
  if ((!QUIET)); then
    say "  \$ tenant-list --file fleet.jsonl | canary-wait --sha $1 | canary-smoke --sha $1"
    tail -n 3 "$WORK/canary-wait.err" | show
    grep -v '^$' "$WORK/canary-smoke.err" | show
    say "  result records on stdout (one per check; failures first, then a sample):"
    { grep '"ok":false' "$WORK/results.jsonl" || true; grep -m 1 '"ok":true' "$WORK/results.jsonl" || true; } \
      | head -n 3 | cut -c1-220 | show
  fi
}

latest_of() { registry-tag "$1:latest" 2>/dev/null | sed -n 's/.*"digest":"\([^"]*\)".*/\1/p'; }

# pin SHA7 : as the gate starts, which manifest staging-SHA7 is on every image
# and where latest is; the promotion moves latest to exactly these.
pin() {
  say "  \$ rollback-latest --pin $1 > pin.jsonl"
  rollback-latest --pin "$1" >"$WORK/pin.jsonl" 2>"$WORK/pin.err" || fail "rollback-latest --pin exited $?"
  [[ $(grep -c '"expect_current"' "$WORK/pin.jsonl") -eq 2 ]] || fail "the pin has no move request per image"
  ((QUIET)) || cut -c1-200 "$WORK/pin.jsonl" | show
}

step "3. The canaries run the good build ($GOOD7); the gate pins it, then checks them"
start_helper 8 fleet-good fake-fleet --tenants 3 --sha "$GOOD"
wait_for "$WORK/fleet-good.err" 'serving'
pin "$GOOD7"
gate "$GOOD7" "$WORK/fleet-good.out"
[[ "$GATE_CODES" == "0 0 0" ]] || fail "the gate on the good build exited $GATE_CODES, expected 0 0 0"
checks=$(grep -c '"ok":true' "$WORK/results.jsonl")
[[ "$checks" -eq 18 ]] || fail "expected 18 passing checks (3 tenants × 6), got $checks"
ok "green: 3 tenants × 6 checks passed"

step "4. Green, so promote the pinned manifests: latest of both images, all-or-nothing"
say "  \$ rollback-latest --pinned pin.jsonl"
rollback-latest --pinned "$WORK/pin.jsonl" >"$WORK/promote.out" 2>"$WORK/promote.err" \
  || fail "rollback-latest --pinned exited $?"
mv "$WORK/pin.jsonl" "$WORK/good-pin.jsonl"
show "$WORK/promote.err"; show "$WORK/promote.out"
[[ "$(latest_of "$PLATFORM")" == "${DIGEST[platform-$GOOD7]}" ]] || fail "platform:latest is not staging-$GOOD7"
[[ "$(latest_of "$TENANT")" == "${DIGEST[tenant-$GOOD7]}" ]] || fail "platform-tenant:latest is not staging-$GOOD7"
ok "latest → staging-$GOOD7 on both images"

step "5. A bad build ($BAD7): on one canary, GET /workspaces answers 500"
exec 8>&-
start_helper 9 fleet-bad fake-fleet --tenants 3 --sha "$BAD" --fault 1=status500:/workspaces
wait_for "$WORK/fleet-bad.err" 'serving'
pin "$BAD7"
gate "$BAD7" "$WORK/fleet-bad.out"
[[ "$GATE_CODES" == "0 0 1" ]] || fail "the gate on the bad build exited $GATE_CODES, expected 0 0 1"
grep -q '"tenant":"canary-1","url":"[^"]*","check":"workspaces","ok":false' "$WORK/results.jsonl" \
  || fail "canary-1's failing workspaces check is not in the records"
if grep -q '"tenant":"canary-[02]".*"ok":false' "$WORK/results.jsonl"; then fail "a healthy canary failed"; fi
say "  the gate is red, so the promotion step does not run: pin.jsonl is never applied"
[[ "$(latest_of "$PLATFORM")" == "${DIGEST[platform-$GOOD7]}" ]] || fail "platform:latest moved after a red gate"
[[ "$(latest_of "$TENANT")" == "${DIGEST[tenant-$GOOD7]}" ]] || fail "platform-tenant:latest moved after a red gate"
ok "rejected: latest still at staging-$GOOD7"

step "6. Incident: the bad build reached latest by hand"
registry-tag "$PLATFORM:staging-$BAD7" latest >/dev/null 2>"$WORK/by-hand.err" || fail "moving platform by hand failed"
registry-tag "$TENANT:staging-$BAD7" latest >/dev/null 2>>"$WORK/by-hand.err" || fail "moving platform-tenant by hand failed"
say "  (someone ran: registry-tag IMAGE:staging-$BAD7 latest, on both images)"
ok "latest → staging-$BAD7 on both images"

step "7. A promotion pinned before that move is refused, not applied over it"
say "  (a re-run of the first promotion: its pin expected no latest at all)"
say "  \$ rollback-latest --pinned good-pin.jsonl"
code=0
rollback-latest --pinned "$WORK/good-pin.jsonl" >"$WORK/stale.out" 2>"$WORK/stale.err" || code=$?
show "$WORK/stale.err"
((code == 1)) || fail "a stale pin exited $code, expected 1"
[[ "$(latest_of "$PLATFORM")" == "${DIGEST[platform-$BAD7]}" ]] || fail "a stale pin moved platform:latest"
[[ "$(latest_of "$TENANT")" == "${DIGEST[tenant-$BAD7]}" ]] || fail "a stale pin moved platform-tenant:latest"
mv "$WORK/stale.err" "$WORK/stale.log"  # an expected failure, not one to dump if a later step fails
ok "refused (exit 1): nothing moved"

step "8. One command rolls every image back"
say "  \$ rollback-latest $GOOD7"
rollback-latest "$GOOD7" \
  >"$WORK/rollback.out" 2>"$WORK/rollback-latest.err" || fail "rollback-latest exited $?"
show "$WORK/rollback-latest.err"; show "$WORK/rollback.out"
[[ "$(latest_of "$PLATFORM")" == "${DIGEST[platform-$GOOD7]}" ]] || fail "platform:latest was not rolled back"
[[ "$(latest_of "$TENANT")" == "${DIGEST[tenant-$GOOD7]}" ]] || fail "platform-tenant:latest was not rolled back"
ok "rolled back: latest → staging-$GOOD7 on both images"

step "Where latest points now"
if ((!QUIET)); then
  printf '  %-52s %-18s %s\n' IMAGE BUILD DIGEST
  for image in "$PLATFORM" "$TENANT"; do
    d=$(latest_of "$image")
    build=unknown
    for sha in $GOOD7 $BAD7; do
      [[ "$d" == "${DIGEST[platform-$sha]}" || "$d" == "${DIGEST[tenant-$sha]}" ]] && build=staging-$sha
    done
    printf '  %-52s %-18s %s\n' "$image:latest" "$build" "${d:0:19}…"
  done
fi

echo "demo: $PASSED passed, $FAILED failed"
