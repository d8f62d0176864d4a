#!/bin/sh
# Installs the canary release tools from a release archive, checked against
# the release's SHA256SUMS before anything is written.
#
#   curl -fsSL https://github.com/molecule-ai/canary-release-tools/releases/download/v0.2.0/install.sh \
#     | sh -s -- --version 0.2.0
#
# Usage: install.sh --version VERSION [--dir DIR] [--base-url URL] [--target TRIPLE]
#        install.sh --print-target
#
#   --version VERSION  the release to install, like 0.2.0 (a leading v is fine)
#   --dir DIR          where to install (default: $HOME/.local): DIR/bin, DIR/share/man/man1,
#                      DIR/share/bash-completion/completions, DIR/share/zsh/site-functions,
#                      DIR/share/fish/vendor_completions.d
#   --base-url URL     where the release's files are (default: the GitHub release
#                      https://github.com/molecule-ai/canary-release-tools/releases/download/vVERSION)
#   --target TRIPLE    the archive to fetch (default: this machine's, from uname)
#   --print-target     print this machine's target and exit; exit 2 if no archive is built for it
#
# Downloads canary-release-tools-VERSION-TARGET.tar.gz and SHA256SUMS with curl
# or wget, checks the archive's sha256, then copies the binaries, man pages and
# completions under DIR.
#
# Exit status: 0 installed; 1 a download or the copy failed; 2 usage error, no
# archive for this OS and architecture, or the archive does not match
# SHA256SUMS or is not listed in it. Nothing is installed unless it is 0.
set -eu

PROG=install.sh
RELEASES=https://github.com/molecule-ai/canary-release-tools/releases/download
TOOLS="tenant-list canary-wait canary-smoke registry-tag rollback-latest"

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  code=$1
  shift
  say "$*"
  exit "$code"
}
usage() {
  cat >&2 <<'EOF'
usage: install.sh --version VERSION [--dir DIR] [--base-url URL] [--target TRIPLE]
       install.sh --print-target
Installs the canary release tools (binaries, man pages, completions) under DIR
(default: $HOME/.local) from the release archive, verified against SHA256SUMS.
EOF
  exit 2
}

# This machine's target triple, as the release workflow names its archives.
detect_target() {
  case $(uname -m) in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) return 1 ;;
  esac
  case $(uname -s) in
    Linux) echo "$arch-unknown-linux-gnu" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    *) return 1 ;;
  esac
}

# fetch URL FILE: every download has a time limit.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout 20 --max-time 300 --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 60 -t 3 -O "$2" "$1"
  else
    die 2 "neither curl nor wget is installed"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    die 2 "no sha256 tool (sha256sum, shasum or openssl) to verify the download with"
  fi
}

version=""
dir=""
base_url=""
target=""
while [ $# -gt 0 ]; do
  case $1 in
    --version | --dir | --base-url | --target)
      [ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
      case $1 in
        --version) version=$2 ;;
        --dir) dir=$2 ;;
        --base-url) base_url=$2 ;;
        --target) target=$2 ;;
      esac
      shift 2
      ;;
    --version=*) version=${1#*=} && shift ;;
    --dir=*) dir=${1#*=} && shift ;;
    --base-url=*) base_url=${1#*=} && shift ;;
    --target=*) target=${1#*=} && shift ;;
    --print-target)
      detect_target || die 2 "no release archive for $(uname -s) $(uname -m): build from source with cargo install"
      exit 0
      ;;
    -h | --help) usage ;;
    *) die 2 "unknown argument: $1 (see --help)" ;;
  esac
done

version=${version#v}
[ -n "$version" ] || die 2 "--version is required, like --version 0.2.0"
case $version in
  *[!0-9A-Za-z.+-]*) die 2 "--version $version is not a version like 0.2.0" ;;
esac
if [ -z "$dir" ]; then
  [ -n "${HOME:-}" ] || die 2 "HOME is not set: give --dir"
  dir=$HOME/.local
fi
if [ -z "$target" ]; then
  target=$(detect_target) ||
    die 2 "no release archive for $(uname -s) $(uname -m): build from source with cargo install --locked --git https://github.com/molecule-ai/canary-release-tools --tag v$version"
fi
base_url=${base_url:-$RELEASES/v$version}
base_url=${base_url%/}
name="canary-release-tools-$version-$target"
archive="$name.tar.gz"

work=$(mktemp -d 2>/dev/null || mktemp -d -t canary-install)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

say "downloading $base_url/$archive"
fetch "$base_url/SHA256SUMS" "$work/SHA256SUMS" || die 1 "cannot download $base_url/SHA256SUMS"
fetch "$base_url/$archive" "$work/$archive" || die 1 "cannot download $base_url/$archive"

# A line of SHA256SUMS is "<hex>  <file>" (or "<hex> *<file>" in binary mode).
expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$work/SHA256SUMS")
[ -n "$expected" ] || die 2 "SHA256SUMS of $version lists no $archive: nothing installed"
actual=$(sha256_of "$work/$archive")
[ "$actual" = "$expected" ] ||
  die 2 "$archive does not match SHA256SUMS (sha256 $actual, expected $expected): nothing installed"

mkdir "$work/unpacked"
gzip -dc "$work/$archive" | (cd "$work/unpacked" && tar -xf -) || die 1 "cannot unpack $archive"
top="$work/unpacked/$name"
for tool in $TOOLS; do
  [ -x "$top/bin/$tool" ] || die 1 "$archive holds no bin/$tool: nothing installed"
done

# Each file goes in under a temporary name and is renamed over the old one,
# so a tool that is running while it is replaced keeps working.
(cd "$top" && find bin share -type f) | while IFS= read -r file; do
  mkdir -p "$dir/$(dirname "$file")"
  cp "$top/$file" "$dir/$file.partial"
  mv -f "$dir/$file.partial" "$dir/$file"
done || die 1 "cannot install into $dir"

say "installed canary-release-tools $version ($target) into $dir: bin/, share/man/man1, bash, zsh and fish completions"
case ":${PATH:-}:" in
  *":$dir/bin:"*) ;;
  *) say "note: $dir/bin is not on PATH" ;;
esac
