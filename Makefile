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

# The scale benchmarks (issue 10): 1,000,000 customer users in MariaDB (and
# in memory), 100,000 entries in slapd over LDAPS with an RSA-2048 and an
# ECDSA server key; each pair interleaved in one run; one Markdown table of
# the ratios of medians with each side's min/median/max (the raw output is
# kept in bench-scale.out). About 25 minutes on 2 cores.
SCALE ?= 1000000
.PHONY: bench-scale
bench-scale:
	{ CUSTOMERUSER_SCALE=$(SCALE) $(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 10x -timeout 90m ./sqlbackend/ ; \
	  CUSTOMERUSER_SCALE=$(SCALE) $(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 60m ./memorybackend/ ; \
	  CUSTOMERUSER_SCALE=$(SCALE) $(GO) test -run '^$$' -bench '^BenchmarkScaleLDAP$$' -benchtime 1x -timeout 30m ./ldapbackend/ ; \
	} 2>&1 | tee bench-scale.out | $(GO) run ./internal/cmd/benchtable

# memorybackend at a million users (issue 10, item 6): New, bytes per user,
# single writes (median and worst), Get beside a plain map, searches; each
# mode builds 1M users (a few minutes in all). BENCHMARKS.md reports it.
.PHONY: bench-mem-scale
bench-mem-scale:
	CUSTOMERUSER_SCALE=$${CUSTOMERUSER_SCALE:-1000000} $(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime=1x -timeout 60m ./memorybackend/
