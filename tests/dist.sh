#!/usr/bin/env bash
# Checks a `make dist` archive as a user and a packager would meet it:
#   - SHA256SUMS lists it with the right sha256;
#   - it unpacks into canary-release-tools-<version>-<target>/ holding bin/
#     (the five tools), share/man/man1, the bash, zsh and fish completions,
#     README.md and LICENSE;
#   - it is reproducible: entries in sorted order, every mtime the
#     SOURCE_DATE_EPOCH (or commit time) it was made with, owner and group 0,
#     and packing the unpacked tree again gives the same bytes;
#   - every binary runs and its --version names the tool and the version.
#
# Usage: tests/dist.sh [DIST_DIR]   (run by `make dist-check`, after `make dist`)
# Runs on Linux and macOS (bash 3.2, bsdtar): the release workflow runs it on
# every target it builds.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST_DIR=${1:-dist}
TOOLS="tenant-list canary-wait canary-smoke registry-tag rollback-latest"
XTASK=(cargo run -q --locked -p xtask --)
name=$("${XTASK[@]}" dist-name)
archive="$name.tar.gz"
version=${name#canary-release-tools-}
version=${version%%-*}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dist-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "dist-check: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "dist-check: ok: $*"; }
sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

[ -f "$DIST_DIR/$archive" ] || { echo "dist-check: $DIST_DIR/$archive is missing: run 'make dist'" >&2; exit 2; }

# Checksums.
listed=$(awk -v f="$archive" '$2 == f { print $1 }' "$DIST_DIR/SHA256SUMS")
if [ "$listed" = "$(sha256 "$DIST_DIR/$archive")" ]; then
  pass "SHA256SUMS holds the archive's sha256"
else
  fail "SHA256SUMS has '$listed' for $archive, the file's sha256 is $(sha256 "$DIST_DIR/$archive")"
fi

# Layout.
mkdir "$WORK/x"
gzip -dc "$DIST_DIR/$archive" | (cd "$WORK/x" && tar -xf -)
[ "$(ls "$WORK/x")" = "$name" ] || fail "the archive does not unpack into $name/ alone: $(ls "$WORK/x")"
top="$WORK/x/$name"
for f in README.md LICENSE; do [ -s "$top/$f" ] || fail "$f is missing"; done
for tool in $TOOLS; do
  for f in "bin/$tool" "share/man/man1/$tool.1" "share/bash-completion/completions/$tool" \
           "share/zsh/site-functions/_$tool" "share/fish/vendor_completions.d/$tool.fish"; do
    [ -s "$top/$f" ] || fail "$f is missing"
  done
done
extra=$( (cd "$top" && find . -type f) | LC_ALL=C sort | { grep -v -E \
  '^\./(README\.md|LICENSE|bin/[a-z-]+|share/man/man1/[a-z-]+\.1|share/bash-completion/completions/[a-z-]+|share/zsh/site-functions/_[a-z-]+|share/fish/vendor_completions\.d/[a-z-]+\.fish)$' || true; })
[ -z "$extra" ] || fail "unexpected files: $extra"
[ "$failures" -eq 0 ] && pass "layout: bin/, share/man/man1, completions, README.md, LICENSE"

# Reproducibility: order, mtime and owner in the tar headers, and the same
# bytes again from the unpacked tree with other mtimes.
entries=$(gzip -dc "$DIST_DIR/$archive" | tar -tf -)
[ "$entries" = "$(LC_ALL=C sort <<<"$entries")" ] || fail "entries are not in sorted order"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
# (head closes the pipe early: gzip's SIGPIPE is expected.)
header=$(gzip -dc "$DIST_DIR/$archive" | head -c 512 | tr '\0' ' ') || true
[ "${header:136:11}" = "$(printf '%011o' "$epoch")" ] || fail "mtime ${header:136:11} (octal) is not $epoch"
[ "${header:108:15}" = "0000000 0000000" ] || fail "owner/group are '${header:108:15}', not 0"
find "$top" -exec touch {} +
DIST_COMPRESSION=${DIST_COMPRESSION:-9} SOURCE_DATE_EPOCH=$epoch "${XTASK[@]}" archive "$top" "$WORK/again" 2>/dev/null
if cmp -s "$DIST_DIR/$archive" "$WORK/again/$archive"; then
  pass "reproducible: sorted entries, mtime $epoch, owner 0, the same bytes when packed again"
else
  fail "packing the unpacked tree again gives other bytes"
fi

# Every binary runs.
for tool in $TOOLS; do
  out=$("$top/bin/$tool" --version 2>&1) || fail "$tool --version failed: $out"
  case $out in
    "$tool $version"*) ;;
    *) fail "$tool --version says '$out', not '$tool $version…'" ;;
  esac
done
[ "$failures" -eq 0 ] && pass "every binary runs: $("$top/bin/canary-smoke" --version)"

if [ "$failures" -ne 0 ]; then echo "dist-check: $failures failed" >&2; exit 1; fi
echo "dist-check: $DIST_DIR/$archive is good"
