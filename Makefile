# otelkinesis — every command a contributor or CI needs. Requires Go 1.26 and Node 20 with npm.
#
#   make demo     telemetry into a local Kinesis (kinesalite) and back out; no AWS account
#   make test     go vet + every test (race detector on) of every module against real Kinesis peers
#   make bench    the benchmark suites, -count=10, results under bench/results/, charts in bench/charts/
#   make fuzz     each fuzz target for FUZZTIME (default 20s)
#   make lint     gofmt and go vet
#   make peers-up / peers-down   run the Kinesis peers by hand (then: . .peers/dev/env)

SHELL := /bin/bash
GO ?= go
PEERS := testdata/peers/peers.sh
TEST_TIMEOUT ?= 12m
FUZZTIME ?= 20s
BENCHCOUNT ?= 10
BENCH ?= .

# Packages of the library module, the separate benchmark/cross-check module, and the
# separate module registering kinesis with OpenTelemetry's contrib autoexport.
MODULES := . bench autoexport

.PHONY: all test demo bench bench-charts fuzz lint peers peers-up peers-down clean

all: test

peers:
	@$(PEERS) install

# Starts kinesalite and kinesis-local on 127.0.0.1, runs vet and every test of each module
# with the endpoints in the environment, and stops the peers by PID on every exit path.
# An interrupt (INT or TERM) ends the recipe with 130 or 143, never 0, once the command
# running then has returned; the EXIT trap stops the peers on the way out.
test: peers
	@set -uo pipefail; dir=.peers/test; \
	trap '$(PEERS) down '"$$dir" EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(PEERS) up "$$dir" || exit 1; \
	. "$$dir/env"; export OTELKINESIS_REQUIRE_PEERS=1; \
	for m in $(MODULES); do \
	  [ -f "$$m/go.mod" ] || continue; \
	  echo "== go vet ($$m)"; (cd "$$m" && $(GO) vet ./...) || exit 1; \
	  echo "== go test -race ($$m)"; (cd "$$m" && $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...) || exit 1; \
	done

# The front door: a service ships traces, metrics and logs through otelkinesis into a
# local kinesalite; the demo reads them back; `otelkinesis tail` and `stats` show them;
# then the trace-context propagation scenario runs. Stops kinesalite on every exit path.
demo: peers
	@set -uo pipefail; dir=.peers/demo; \
	trap '$(PEERS) down '"$$dir" EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(PEERS) up "$$dir" kinesalite >/dev/null || exit 1; \
	. "$$dir/env"; ep="$$OTELKINESIS_KINESALITE_ENDPOINT"; \
	$(GO) build -o "$$dir/otelkinesis" ./cmd/otelkinesis || exit 1; \
	echo "== the checkout service: traces, metrics and logs through otelkinesis"; \
	$(GO) run ./examples/demo -endpoint "$$ep" -stream otelkinesis-demo || exit 1; \
	echo; echo "== otelkinesis tail --from trim_horizon --follow=false otelkinesis-demo   (first 24 lines)"; \
	"$$dir/otelkinesis" tail --endpoint "$$ep" --from trim_horizon --follow=false otelkinesis-demo >"$$dir/tail.txt" || exit 1; \
	head -n 24 "$$dir/tail.txt"; echo "   ... $$(wc -l <"$$dir/tail.txt") lines in all"; \
	echo; echo "== otelkinesis stats --from trim_horizon otelkinesis-demo"; \
	"$$dir/otelkinesis" stats --endpoint "$$ep" --from trim_horizon otelkinesis-demo || exit 1; \
	echo; echo "== trace context across Kinesis, business partition keys kept (examples/propagation)"; \
	$(GO) run ./examples/propagation -endpoint "$$ep" -events 40 -groups 4 || exit 1

# The library's own benchmarks, then the side-by-side suite of bench/ (span export against
# otlptracehttp and the Collector's awskinesisexporter, per-byte work alone and as a share
# of the export's CPU profile, aggregation peers, shard capacity, memory, trace locality),
# raw output under bench/results/ (benchstat reads it), then bench-charts. The charts are
# a line of their own, the only one `make -n bench` runs (GNU make runs a line that names
# $(MAKE) even with -n). BENCHCOUNT runs of each CPU benchmark; the capacity and memory
# ones are single long runs, repeated CAPCOUNT and MEMCOUNT times.
CAPCOUNT ?= 5
MEMCOUNT ?= 3
bench: peers
	@set -uo pipefail; root=$$(pwd); dir=.peers/bench; mkdir -p bench/results; \
	trap 'cd "$$root" && $(PEERS) down '"$$dir" EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(PEERS) up "$$dir" || exit 1; . "$$dir/env"; \
	run() { out=$$root/bench/results/$$1.txt; shift; echo "== $$* > $$out"; "$$@" | tee "$$out" || exit 1; }; \
	run library $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=$(BENCHCOUNT) -timeout 60m ./...; \
	run peers $(GO) -C bench test -run '^$$' -bench '^Benchmark(SpanExport|Aggregate|Deaggregate)$$' -benchmem -count=$(BENCHCOUNT) -timeout 60m .; \
	run perbyte $(GO) -C bench test -run '^$$' -bench '^BenchmarkPerByteWork$$' -benchmem -count=$(BENCHCOUNT) -timeout 30m .; \
	run pershare $(GO) -C bench test -run '^$$' -bench '^BenchmarkPerByteShare$$' -benchtime=6000x -benchmem -count=$(BENCHCOUNT) -timeout 60m .; \
	run byshard $(GO) -C bench test -run '^$$' -bench '^BenchmarkSpanExportByShard$$' -benchmem -count=$(BENCHCOUNT) -timeout 60m .; \
	run aggsize $(GO) -C bench test -run '^$$' -bench '^BenchmarkSpanExportAggregateSize$$' -benchmem -count=$(BENCHCOUNT) -timeout 60m .; \
	run capacity $(GO) -C bench test -run '^$$' -bench ShardCapacity -benchtime=1x -count=$(CAPCOUNT) -timeout 30m .; \
	run memory $(GO) -C bench test -run '^$$' -bench Memory -benchtime=1x -count=$(MEMCOUNT) -timeout 30m .; \
	run locality $(GO) -C bench test -run TestTraceLocality -v -count=1 .
	@$(MAKE) --no-print-directory bench-charts

# Charts (SVG) and tables of bench/results/*.txt into bench/charts/, which BENCHMARKS.md
# shows, with a copy of the raw output and a benchstat summary of each file in
# bench/charts/data/.
bench-charts:
	@set -euo pipefail; cd bench; mkdir -p charts/data; \
	for f in $$(ls results/*.txt | grep -v '\.stat\.txt$$'); do \
	  cp "$$f" charts/data/; \
	  $(GO) run golang.org/x/perf/cmd/benchstat@latest "$$f" > "charts/data/$$(basename "$${f%.txt}").stat.txt" || true; \
	done; \
	$(GO) run ./cmd/benchreport -out charts $$(ls results/*.txt | grep -v '\.stat\.txt$$')

# Runs every Fuzz target of the library module for FUZZTIME each.
fuzz:
	@set -euo pipefail; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	  done; \
	done

lint:
	@set -euo pipefail; \
	bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi; \
	for m in $(MODULES); do [ -f "$$m/go.mod" ] && (cd "$$m" && $(GO) vet ./...); done; true

peers-up: peers
	@$(PEERS) up .peers/dev && echo "now: . .peers/dev/env"

peers-down:
	@$(PEERS) down .peers/dev

clean:
	@for d in .peers/*/; do [ -d "$$d" ] && $(PEERS) down "$$d"; done; rm -rf .peers bench/results
