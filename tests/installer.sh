#!/usr/bin/env bash
# install.sh end to end, against a loopback HTTP server (xtask serve) serving
# release directories the way GitHub serves /releases/download/vVERSION/:
#   - a good release installs binaries, man pages and completions under
#     $HOME/.local (or --dir), and the installed tools run;
#   - a tampered archive, or one SHA256SUMS does not list, is exit 2 and
#     nothing is installed; a missing archive is exit 1, nothing installed;
#   - curl or wget, whichever the machine has.
#
# The release directory is made by `make dist` itself, from the DEBUG
# binaries `make test` has just built (stripped, gzip -1): a release build
# would take minutes on a small machine, and what is tested here is the
# installer, not the optimiser. `make dist-check` tests a release archive.
# Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
source tests/lib.sh

TOOLS="tenant-list canary-wait canary-smoke registry-tag rollback-latest"
TARGET_DIR=$(make -s --no-print-directory print-target-dir)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/installer.XXXXXX")
SERVER=""
cleanup() {
  exec 9>&- 2>/dev/null || true
  [ -z "$SERVER" ] || wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
fail() { echo "installer: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "installer: ok: $*"; }

# A release directory from the debug binaries, through make dist.
mkdir "$WORK/bin"
for tool in $TOOLS; do
  [ -x "$TARGET_DIR/debug/$tool" ] || { echo "installer: $TARGET_DIR/debug/$tool is missing: run 'cargo build --workspace --bins'" >&2; exit 2; }
  strip -o "$WORK/bin/$tool" "$TARGET_DIR/debug/$tool" 2>/dev/null || cp "$TARGET_DIR/debug/$tool" "$WORK/bin/$tool"
done
DIST_COMPRESSION=1 make -s --no-print-directory dist PROFILE=dev BIN_DIR="$WORK/bin" DIST_DIR="$WORK/dist" 2>"$WORK/dist.log" ||
  { cat "$WORK/dist.log" >&2; exit 2; }
archive=$(cd "$WORK/dist" && ls ./*.tar.gz)
archive=${archive#./}
name=${archive%.tar.gz}
target=${name#canary-release-tools-*-}
version=${name#canary-release-tools-}
version=${version%-"$target"}

# What the server serves: one directory per case.
site="$WORK/site"
mkdir -p "$site/good" "$site/tampered" "$site/unlisted" "$site/no-archive"
cp "$WORK/dist/$archive" "$WORK/dist/SHA256SUMS" "$site/good/"
cp "$WORK/dist/SHA256SUMS" "$site/tampered/"
cp "$WORK/dist/$archive" "$site/tampered/"
printf 'tampered' | dd of="$site/tampered/$archive" bs=1 seek=4096 conv=notrunc 2>/dev/null
cp "$WORK/dist/$archive" "$site/unlisted/"
grep -v "  $archive\$" "$WORK/dist/SHA256SUMS" >"$site/unlisted/SHA256SUMS" || true
echo "0000000000000000000000000000000000000000000000000000000000000000  other.tar.gz" >>"$site/unlisted/SHA256SUMS"
cp "$WORK/dist/SHA256SUMS" "$site/no-archive/"

# The server prints its URL once it is listening and stops when fd 9 closes.
cargo build -q --locked -p xtask
mkfifo "$WORK/server.in" "$WORK/server.out"
"$TARGET_DIR/debug/xtask" serve "$site" <"$WORK/server.in" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER=$!
exec 9>"$WORK/server.in"
read -r url <"$WORK/server.out"

installed_files() { [ -d "$1" ] && (cd "$1" && find . -type f | LC_ALL=C sort); }

# 1. A good release, into the default $HOME/.local.
home="$WORK/home"
mkdir "$home"
if HOME="$home" sh install.sh --version "v$version" --base-url "$url/good" >"$WORK/out" 2>&1; then
  dir="$home/.local"
  for tool in $TOOLS; do
    for f in $(installed_files_of "$tool"); do
      [ -s "$dir/$f" ] || fail "$f is not installed"
    done
    out=$("$dir/bin/$tool" --version 2>&1) || fail "installed $tool does not run: $out"
    [[ $out == "$tool $version"* ]] || fail "installed $tool --version says '$out'"
  done
  [ "$(installed_files "$dir" | wc -l)" -eq 25 ] || fail "not 25 files installed: $(installed_files "$dir")"
  grep -q "installed canary-release-tools $version ($target) into $dir" "$WORK/out" || fail "no summary line: $(cat "$WORK/out")"
  [ "$failures" -eq 0 ] && pass "a good release installs 5 tools, man pages and completions into \$HOME/.local"
else
  fail "install.sh failed on a good release: $(cat "$WORK/out")"
fi

# 2. Installing again (an upgrade in place) works and leaves no partial files.
if sh install.sh --version "$version" --base-url "$url/good" --dir "$home/.local" >"$WORK/out" 2>&1 &&
   [ "$(installed_files "$home/.local" | wc -l)" -eq 25 ]; then
  pass "installing over an installation replaces it"
else
  fail "reinstalling failed or left extra files: $(cat "$WORK/out"; installed_files "$home/.local")"
fi

# expect_refusal CASE CODE MESSAGE: install.sh exits CODE naming MESSAGE, and installs nothing.
expect_refusal() {
  local case=$1 code=$2 message=$3 status=0
  sh install.sh --version "$version" --base-url "$url/$case" --dir "$WORK/$case/prefix" >"$WORK/out" 2>&1 || status=$?
  if [ "$status" -ne "$code" ]; then
    fail "$case: exit $status, not $code: $(cat "$WORK/out")"
  elif ! grep -q -- "$message" "$WORK/out"; then
    fail "$case: the error does not say '$message': $(cat "$WORK/out")"
  elif [ -e "$WORK/$case/prefix" ]; then
    fail "$case: something was installed: $(installed_files "$WORK/$case/prefix")"
  else
    pass "$case: exit $code, '$message', nothing installed"
  fi
}
expect_refusal tampered 2 "$archive does not match SHA256SUMS"
expect_refusal unlisted 2 "SHA256SUMS of $version lists no $archive"
expect_refusal no-archive 1 "cannot download $url/no-archive/$archive"

# 3. Usage errors and the target it detects.
status=0
sh install.sh --dir "$WORK/x" >"$WORK/out" 2>&1 || status=$?
{ [ "$status" -eq 2 ] && grep -q -- "--version is required" "$WORK/out"; } || fail "no --version: exit $status: $(cat "$WORK/out")"
status=0
sh install.sh --version 1.0 --bogus >"$WORK/out" 2>&1 || status=$?
{ [ "$status" -eq 2 ] && grep -q "unknown argument: --bogus" "$WORK/out"; } || fail "unknown flag: exit $status: $(cat "$WORK/out")"
[ "$(sh install.sh --print-target)" = "$target" ] || fail "--print-target says $(sh install.sh --print-target), make dist built $target"
[ "$failures" -eq 0 ] && pass "usage errors are exit 2; --print-target names the target make dist built"

# 4. With wget only: a PATH holding every command install.sh uses but curl.
if command -v wget >/dev/null; then
  mkdir "$WORK/wget-only"
  for cmd in sh uname wget awk cut mkdir gzip tar find dirname cp mv rm mktemp cat sha256sum; do
    ln -s "$(command -v "$cmd")" "$WORK/wget-only/$cmd"
  done
  if PATH="$WORK/wget-only" sh install.sh --version "$version" --base-url "$url/good" --dir "$WORK/wget" >"$WORK/out" 2>&1 &&
     [ -x "$WORK/wget/bin/canary-smoke" ]; then
    pass "installs with wget when curl is missing"
  else
    fail "install with wget failed: $(cat "$WORK/out")"
  fi
else
  fail "wget is missing: run 'make deps'"
fi

if [ "$failures" -ne 0 ]; then echo "installer: $failures failed" >&2; exit 1; fi
