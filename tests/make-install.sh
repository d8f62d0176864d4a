#!/usr/bin/env bash
# `make install` as a packager runs it: binaries from wherever cargo put them
# (CARGO_TARGET_DIR honoured), into $DESTDIR$PREFIX, with man pages and
# completions in their conventional places; a missing binary is a failure
# that names it. `make demo` and `make bench` look in the same target dir.
#
# Uses the debug binaries `make test` has just built (PROFILE=dev), so it
# costs no release build. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
source tests/lib.sh

BINS="tenant-list canary-wait canary-smoke registry-tag rollback-latest"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "make-install: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "make-install: ok: $*"; }

# `TOOL --version` is "TOOL <workspace version> (<commit>)": a commit of this
# checkout (the one the binary was built from), or "unknown" outside one.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
check_version() {
  local out commit
  out=$("$1" --version) || { fail "$2 --version failed"; return; }
  commit=${out#"$2 $version ("}
  commit=${commit%")"}
  if [ "$out" != "$2 $version ($commit)" ]; then
    fail "$2 --version says '$out', not '$2 $version (<commit>)'"
  elif git rev-parse --git-dir >/dev/null 2>&1; then
    if ! [[ $commit =~ ^[0-9a-f]{7,}$ ]] || ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
      fail "$2 --version names '$commit', not a commit of this checkout"
    fi
  elif [ "$commit" != unknown ]; then
    fail "$2 --version names '$commit' outside a git checkout"
  fi
}

# A target dir somewhere else, holding the debug binaries: make must find them
# through CARGO_TARGET_DIR alone.
debug_dir=$(make -s --no-print-directory print-target-dir)/debug
mkdir -p "$WORK/target/debug"
for b in $BINS; do
  [ -x "$debug_dir/$b" ] || { echo "make-install: $debug_dir/$b is missing: run 'cargo build --workspace --bins'" >&2; exit 2; }
  cp "$debug_dir/$b" "$WORK/target/debug/"
done

# 1. Everything lands under DESTDIR + PREFIX in the conventional places.
if CARGO_TARGET_DIR="$WORK/target" make -s --no-print-directory install-files PROFILE=dev \
     DESTDIR="$WORK/root" PREFIX=/opt/canary >"$WORK/out" 2>&1; then
  root="$WORK/root/opt/canary"
  for b in $BINS; do
    for f in $(installed_files_of "$b"); do
      [ -s "$root/$f" ] || fail "$f was not installed under DESTDIR/PREFIX"
    done
    [ -x "$root/bin/$b" ] || fail "bin/$b is not executable"
    check_version "$root/bin/$b" "$b"
  done
  [ "$failures" -eq 0 ] && pass "binaries, man pages and completions under DESTDIR/PREFIX; --version: $("$root/bin/tenant-list" --version)"
  leftovers=$(find "$WORK/root" -mindepth 1 -maxdepth 1 ! -name opt)
  [ -z "$leftovers" ] || fail "files outside DESTDIR/PREFIX: $leftovers"
else
  fail "make install-files failed: $(cat "$WORK/out")"
fi

# 2. A missing binary fails the install, naming it, and installs nothing.
rm "$WORK/target/debug/canary-wait"
if CARGO_TARGET_DIR="$WORK/target" make -s --no-print-directory install-files PROFILE=dev \
     DESTDIR="$WORK/root2" PREFIX=/usr >"$WORK/out" 2>&1; then
  fail "make install-files succeeded without canary-wait"
elif ! grep -q "missing binaries: $WORK/target/debug/canary-wait" "$WORK/out"; then
  fail "the error does not name the missing binary: $(cat "$WORK/out")"
elif [ -e "$WORK/root2" ]; then
  fail "something was installed although a binary was missing"
else
  pass "a missing binary fails the install and names it"
fi

# 3. make install, demo and bench use the binaries of CARGO_TARGET_DIR.
plan=$(CARGO_TARGET_DIR="$WORK/target" make -n --no-print-directory install demo bench)
grep -q "^BIN_DIR=\"$WORK/target/debug\" demo/demo.sh" <<<"$plan" || fail "make demo ignores CARGO_TARGET_DIR: $plan"
grep -q "^CARGO_TARGET_DIR=\"$WORK/target\" bench/run.sh" <<<"$plan" || fail "make bench ignores CARGO_TARGET_DIR: $plan"
grep -q "install-files" <<<"$plan" || fail "make install does not install: $plan"
[ "$failures" -eq 0 ] && pass "make demo and make bench honour CARGO_TARGET_DIR"

if [ "$failures" -ne 0 ]; then echo "make-install: $failures failed" >&2; exit 1; fi
