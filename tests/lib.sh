# Shared by the shell tests: what an installation of one tool holds, relative
# to its prefix (make install, install.sh and the release archive agree).
# shellcheck shell=bash

# The five files of TOOL under a prefix: binary, man page, three completions.
installed_files_of() {
  local tool=$1
  printf '%s\n' "bin/$tool" "share/man/man1/$tool.1" "share/bash-completion/completions/$tool" \
    "share/zsh/site-functions/_$tool" "share/fish/vendor_completions.d/$tool.fish"
}
