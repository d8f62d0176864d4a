# Canary release tools. `make test` is what CI runs (.ci/run).
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINS    := tenant-list canary-wait canary-smoke registry-tag rollback-latest

.PHONY: all build test lint install deps clean man demo bench

all: build

build:
	$(CARGO) build --workspace

## Test dependencies a fresh machine may lack: Debian's docker-registry
## (distribution 2.8), which the registry tests start on loopback, and the
## openssl command, with which the test token server signs its tokens.
TEST_PACKAGES := docker-registry:docker-registry openssl:openssl
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

## Every crate's tests, then the demo as an end-to-end test of the whole loop.
test: deps
	$(CARGO) test --workspace
	$(CARGO) build --workspace --bins
	demo/demo.sh --quiet

## The release loop on loopback with the real tools, narrated.
demo: deps
	$(CARGO) build --workspace --bins
	demo/demo.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

install:
	$(CARGO) build --release $(addprefix --bin ,$(BINS))
	@for b in $(BINS); do \
	  if [ -x target/release/$$b ]; then \
	    install -Dm755 target/release/$$b $(DESTDIR)$(PREFIX)/bin/$$b && echo "installed $(DESTDIR)$(PREFIX)/bin/$$b"; \
	  fi; \
	done

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
	bench/run.sh
