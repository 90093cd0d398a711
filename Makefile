# Two entry points for a newcomer: `make run` (the main example, memory
# backend, no server) and `make test` (installs what is missing, then runs
# gofmt, go vet and the whole suite under the race detector, with real
# MariaDB and slapd servers the tests start themselves).
GO ?= go
FUZZTIME ?= 60s

.PHONY: run test deps fmt-check vet race timing fuzz bench

run:
	$(GO) run ./examples/switching

test: deps fmt-check vet race timing

deps:
	@./scripts/install-deps.sh
	$(GO) mod download

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; echo "gofmt: clean"

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 -timeout 20m ./...

# The conformance case that compares how long refused logins take runs
# without the race detector, whose instrumentation distorts CPU-bound timing
# (under -race it skips itself and says so).
timing:
	$(GO) test -count=1 -timeout 10m -run 'Conformance/.*/Authenticate/RefusalsTakeTheTimeOfAWrongPassword' ./...

# Runs every fuzz target for FUZZTIME each (the seed corpora are in the
# packages' testdata/fuzz folders).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseSearch$$' -fuzztime $(FUZZTIME) ./backend/
	$(GO) test -run '^$$' -fuzz '^FuzzIdentityKey$$' -fuzztime $(FUZZTIME) ./backend/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./backend/password/
	$(GO) test -run '^$$' -fuzz '^FuzzIdentify$$' -fuzztime $(FUZZTIME) ./backend/password/
	$(GO) test -run '^$$' -fuzz '^FuzzSearch$$' -fuzztime $(FUZZTIME) ./memorybackend/
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./ldapbackend/
	$(GO) test -run '^$$' -fuzz '^FuzzWordCandidates$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./ldapbackend/

# The benchmarks BENCHMARKS.md reports.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# sqlbackend at a million users (BENCHMARKS.md, "sqlbackend at 1,000,000"): Import of
# CUSTOMERUSER_SCALE users, then each pair interleaved in one run; about 10 minutes.
.PHONY: bench-sql-scale
bench-sql-scale:
	CUSTOMERUSER_SCALE=$${CUSTOMERUSER_SCALE:-1000000} $(GO) test -run '^$$' -bench BenchmarkScale -benchtime 10x -timeout 60m -v ./sqlbackend/ | grep -v '^=== RUN'
