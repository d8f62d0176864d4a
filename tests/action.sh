#!/usr/bin/env bash
# action.yml's plan step, run as the runner runs it: which version it installs
# (the action's own tag, or the version input), from where (an archive where
# install.sh knows the runner's target, else cargo), into which directory, and
# that a branch or no ref at all is refused with advice. The install itself
# is install.sh, tested end to end by tests/installer.sh. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d "${TMPDIR:-/tmp}/action.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "action: FAIL: $*" >&2; failures=$((failures + 1)); }

# The plan step's script: the block under `run: |` of the step `id: plan`.
awk '
  /^    - id: plan$/ { in_step = 1; next }
  in_step && /^    - / { exit }
  in_step && /^      run: \|$/ { in_run = 1; next }
  in_run && /^        / { print substr($0, 9); next }
  in_run && /^$/ { print ""; next }
  in_run { exit }
' action.yml >"$WORK/plan.sh"
grep -q 'GITHUB_OUTPUT' "$WORK/plan.sh" || { echo "action: no plan step found in action.yml" >&2; exit 2; }

# plan INPUT_VERSION ACTION_REF [uname shim dir]: runs the step, output in $WORK/out.
plan() {
  : >"$WORK/outputs"
  env ${3:+PATH="$3:$PATH"} INPUT_VERSION="$1" ACTION_REF="$2" GITHUB_ACTION_PATH="$PWD" \
    GITHUB_OUTPUT="$WORK/outputs" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TOOL_CACHE=/opt/cache \
    RUNNER_TEMP=/tmp bash "$WORK/plan.sh" >"$WORK/out" 2>&1
}
expect_outputs() {
  local want=$1
  [ "$(cat "$WORK/outputs")" = "$want" ] || fail "$2: outputs are
$(cat "$WORK/outputs")
not
$want"
}

target=$(sh install.sh --print-target)
plan "" v0.2.0 || fail "tag v0.2.0: exit $?: $(cat "$WORK/out")"
expect_outputs "version=0.2.0
source=archive
dir=/opt/cache/canary-release-tools/0.2.0/$target" "used at v0.2.0"

plan 0.3.1 v0.2.0 || fail "input 0.3.1: exit $?: $(cat "$WORK/out")"
expect_outputs "version=0.3.1
source=archive
dir=/opt/cache/canary-release-tools/0.3.1/$target" "version input 0.3.1"

for ref in main 4c1d56e ""; do
  status=0
  plan "" "$ref" || status=$?
  [ "$status" -eq 2 ] || fail "used at '$ref': exit $status, not 2"
  grep -q '^::error title=canary-release-tools::no release to install: .*pin it (uses: molecule-ai/canary-release-tools@v0.2.0) or set the version input' "$WORK/out" ||
    fail "used at '$ref': no ::error with advice: $(cat "$WORK/out")"
  [ ! -s "$WORK/outputs" ] || fail "used at '$ref': outputs were written: $(cat "$WORK/outputs")"
done

# A runner install.sh has no archive for (uname says riscv64): built by cargo.
mkdir "$WORK/shim"
cat >"$WORK/shim/uname" <<'EOF'
#!/bin/sh
case $1 in -m) echo riscv64 ;; *) echo Linux ;; esac
EOF
chmod +x "$WORK/shim/uname"
plan "" v0.2.0 "$WORK/shim" || fail "riscv64: exit $?: $(cat "$WORK/out")"
expect_outputs "version=0.2.0
source=cargo
dir=/opt/cache/canary-release-tools/0.2.0/Linux-X64" "a runner without an archive"

if [ "$failures" -ne 0 ]; then echo "action: $failures failed" >&2; exit 1; fi
echo "action: ok: version from the action's tag or input, archive or cargo, refusal without a release"
