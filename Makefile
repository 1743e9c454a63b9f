# berth - top-level entry points. See README.md.
#   make run     install deps, build (dev), serve on 127.0.0.1:5000 with ./var
#   make check   install deps, build dev + asan + fuzz, run every test in dev and asan
#                (the format check too: scripts/check-format.sh), and in fuzz each
#                target's corpus and FUZZ_CHECK_SECONDS of fuzzing
#   make fuzz    build the libFuzzer targets and run each for FUZZ_SECONDS
#   make bench   run the benchmarks against their peers (see bench/)

LISTEN ?= 127.0.0.1:5000
DATA ?= ./var
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 3
PRESETS ?= dev asan
CTEST_ARGS ?=

.PHONY: all deps build run check fuzz bench clean format format-check

all: build

deps:
	@sh scripts/deps.sh

build: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev

run: build
	./build/dev/berth serve --listen $(LISTEN) --data $(DATA)

check: deps format-check
	@set -e; for p in $(PRESETS); do \
	  echo "== preset $$p"; \
	  cmake --preset $$p >/dev/null; \
	  cmake --build --preset $$p; \
	done; \
	echo "== preset fuzz"; \
	cmake --preset fuzz -DBERTH_FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) >/dev/null; \
	cmake --build --preset fuzz
	@rc=0; for p in $(PRESETS); do \
	  echo "== ctest preset $$p (2 at once)"; \
	  ctest --preset $$p --parallel 2 $(CTEST_ARGS) || rc=1; \
	done; \
	echo "== ctest preset fuzz (corpora, then $(FUZZ_CHECK_SECONDS)s of fuzzing per target, 2 at once)"; \
	ctest --preset fuzz -L fuzz --parallel 2 $(CTEST_ARGS) || rc=1; \
	exit $$rc

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz
	@for f in build/fuzz/fuzz_*; do \
	  n=$${f##*/fuzz_}; echo "== $$n"; \
	  mkdir -p build/fuzz/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; \
	done

bench: build
	sh bench/registry
	sh bench/copy

format:
	clang-format-14 -i $$(git ls-files '*.c' '*.h')

format-check:
	sh scripts/check-format.sh

clean:
	rm -rf build
