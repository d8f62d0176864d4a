# shellcheck shell=bash
# Shared by bench/*.sh (sourced, not run). Loopback only.
#
# Every benchmark prints rows of nine `|`-separated fields on stdout:
#
#   figure | ours | bound | ours÷bound | target | peer | vs peer | target | note
#
# `bound` is the physical or promised limit for the figure, `peer` the same
# work done by the tool people would otherwise use; a ratio cell ends in
# "ok" or "MISS" against its target. `note` says what else limited the
# figure: the fake fleet's CPU, a saturated machine. Progress goes to stderr.
#
#   CARGO_TARGET_DIR  where cargo builds (make bench passes it)
#   BENCH_PROFILE     cargo profile of the binaries measured (default release;
#                     dev, to check a change to the scripts quickly)

BENCH=${BENCH:-bench/$(basename "$0")}
BENCH_PROFILE=${BENCH_PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# shellcheck disable=SC2034 # BIN is for the scripts that source this
if [[ $BENCH_PROFILE == dev ]]; then BIN=$TARGET_DIR/debug; else BIN=$TARGET_DIR/$BENCH_PROFILE; fi

die() { echo "$BENCH: $*" >&2; exit 1; }

# Nothing from the caller's CI, proxy or registry settings changes what is measured.
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY GITHUB_OUTPUT RUNNER_DEBUG ROLLBACK_IMAGES \
      REGISTRY_HOST REGISTRY_AUTH_FILE DOCKER_CONFIG XDG_RUNTIME_DIR \
      HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

# A private scratch directory, removed on exit after the commands given to
# at_exit (stopping servers) have run.
WORK=$(mktemp -d)
chmod 700 "$WORK"
AT_EXIT=()
at_exit() { AT_EXIT+=("$1"); }
on_exit() {
  local cmd
  for cmd in "${AT_EXIT[@]}"; do eval "$cmd"; done
  rm -rf "$WORK"
}
trap on_exit EXIT

# require TOOL[:PACKAGE]... : a missing baseline fails the run, naming it;
# a row is never silently left out.
require() {
  local missing=() packages=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || { missing+=("${pair%%:*}"); packages+=("${pair#*:}"); }
  done
  ((${#missing[@]} == 0)) ||
    { echo "$BENCH: missing baseline tool(s): ${missing[*]} (apt-get install ${packages[*]})" >&2; exit 2; }
}

build() { # cargo build arguments: the binaries measured, in BENCH_PROFILE
  echo "building ($BENCH_PROFILE) $*…" >&2
  cargo build --profile "$BENCH_PROFILE" -q "$@"
}

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# verdict RATIO TARGET : "RATIO ok" or "RATIO MISS" (TARGET like "<= 1.5" or ">= 100")
verdict() {
  local value=$1 op=${2%% *} limit=${2#* }
  [[ $value == - || -z $2 ]] && { echo "$value"; return; }
  awk -v v="$value" -v op="$op" -v l="$limit" 'BEGIN {
    ok = (op == "<=") ? v <= l : (op == ">=") ? v >= l : (op == "<") ? v < l : v > l
    printf "%s %s", v, ok ? "ok" : "MISS" }'
}

# row FIGURE OURS BOUND RATIO TARGET PEER PEER_RATIO PEER_TARGET [NOTE]
row() {
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$(verdict "$4" "$5")" "${5:--}" \
    "$6" "$(verdict "$7" "$8")" "${8:--}" "${9:-}"
}

# CPU accounting, to tell when the server side, not the tool, set a figure.
# cpu_start PID… ; (the work) ; cpu_note LABEL : "LABEL 0.42 cores, machine 63% busy",
# plus a warning when the server used most of a core or the machine was saturated.
CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 }' /proc/stat; }
cpu_start() {
  CPU_PIDS=("$@")
  CPU_T0=$(now_ms)
  CPU_P0=0
  for pid in "${CPU_PIDS[@]}"; do CPU_P0=$((CPU_P0 + $(proc_ticks "$pid"))); done
  read -r CPU_B0 CPU_A0 < <(machine_ticks)
}
cpu_note() {
  local ticks=0 busy all wall
  for pid in "${CPU_PIDS[@]}"; do ticks=$((ticks + $(proc_ticks "$pid"))); done
  read -r busy all < <(machine_ticks)
  wall=$(($(now_ms) - CPU_T0))
  awk -v t=$((ticks - CPU_P0)) -v hz="$CLK_TCK" -v w="$wall" -v b=$((busy - CPU_B0)) \
      -v a=$((all - CPU_A0)) -v n="$NPROC" -v label="$1" 'BEGIN {
    cores = (w > 0) ? t / hz / (w / 1000) : 0
    load = (a > 0) ? 100 * b / a : 0
    printf "%s %.2f cores, machine %d%% busy", label, cores, load
    if (cores >= 0.9) printf " (SERVER CPU-BOUND: the figure is the server'\''s)"
    else if (load >= 95) printf " (MACHINE SATURATED: shared CPU)"
  }'
}

# The fake fleet (testkit's fake-fleet, at $FLEET_BIN) as a coprocess, stopped on exit.
# fleet_start ARGS... : starts it (ARGS begin with --tenants N) and writes its
# tenant lines to $WORK/tenants.jsonl. fleet_cmd LINE : one stdin command,
# echoes the reply. fleet_stop : closes its stdin (it stops), kills it if slow.
fleet_start() {
  local count=$2 n
  [[ $1 == --tenants ]] || die "fleet_start: --tenants N first"
  coproc FLEET { exec "$FLEET_BIN" "$@" 2>"$WORK/fleet.err"; }
  FLEET_RUNNING=$FLEET_PID
  [[ " ${AT_EXIT[*]} " == *" fleet_stop "* ]] || at_exit fleet_stop
  head -n "$count" <&"${FLEET[0]}" >"$WORK/tenants.jsonl"
  n=$(wc -l <"$WORK/tenants.jsonl")
  ((n == count)) || { cat "$WORK/fleet.err" >&2; die "fake-fleet printed $n of $count tenants"; }
}
fleet_cmd() {
  local reply
  echo "$1" >&"${FLEET[1]}"
  read -r -t 30 reply <&"${FLEET[0]}" || die "fake-fleet did not answer '$1'"
  [[ $reply != ERROR* ]] || die "fake-fleet: $reply"
  echo "$reply"
}
fleet_stop() {
  if [[ -n "${FLEET_RUNNING:-}" ]]; then
    # (bash unsets FLEET and FLEET_PID by itself once the coprocess is gone.)
    local pid=$FLEET_RUNNING fd=${FLEET[1]:-}
    FLEET_RUNNING=""
    [[ -z "$fd" ]] || eval "exec $fd>&-"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
