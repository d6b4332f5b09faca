# Kalends' entry points. CI (.ci/run) runs `make test` and `make interop` on a
# clean clone with only Go installed, so nothing here may assume other tools.

GO       ?= go
BIN      ?= bin/kalends
# The race detector runs on every package: the log's group commit, the
# projector and the HTTP layer are all concurrent, and -race costs this
# suite well under the CI budget (see README "Tests"). It needs cgo and a C
# compiler; where there is none the tests still run, without it.
RACE     ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)
FUZZTIME ?= 30s

.PHONY: run build test vet interop bench fuzz clean

run:
	$(GO) run ./cmd/kalends serve

build:
	$(GO) build -o $(BIN) ./cmd/kalends

vet:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then \
		echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test: vet
	@[ -n "$(RACE)" ] || echo "make test: no C compiler for cgo, running without -race"
	$(GO) test $(RACE) -count=1 -timeout 15m ./...

# Real clients (vdirsyncer, python3-caldav, tsdav, cadaver; litmus for
# information) and a differential test of recurrence expansion
# (interop/recurdiff_check.py) against a fresh binary; the script installs
# what it needs.
interop:
	bash interop/run.sh

bench:
	$(GO) run ./bench

# Every Fuzz* target in the module, FUZZTIME each, one after another (the
# fuzzer takes one target per run).
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
			echo "== $$dir $$target"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$dir; \
		done; \
	done

clean:
	rm -rf bin
