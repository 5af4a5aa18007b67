# Ringhook. `make run` serves the console; `make test` runs every test.
GO      ?= go
PKGS    := ./...
export GOFLAGS := -buildvcs=false

.PHONY: run build test check generate check-generated check-imports check-tidy check-templ-fmt vet lint fmt bench console-bench reliability fuzz

run: build ## serve the console (private PostgreSQL when DATABASE_URL is unset)
	@# The binary itself, not go run: go run exits 1 after Ctrl-C, which
	@# make reports as an error; ringhook shuts down cleanly and exits 0.
	./bin/ringhook serve

build:
	$(GO) build -o bin/ringhook ./cmd/ringhook

generate:
	$(GO) tool templ generate

test: check ## every test, against real PostgreSQL and Chromium
	$(GO) test -count=1 -timeout 15m $(PKGS)

check: check-generated fmt check-templ-fmt check-tidy vet lint check-imports

check-generated: ## *_templ.go must match the generator (a fresh clone checks the committed files)
	@before=$$(git ls-files -co --exclude-standard '*_templ.go' | sort | xargs sha256sum); \
	$(GO) tool templ generate >/dev/null; \
	after=$$(git ls-files -co --exclude-standard '*_templ.go' | sort | xargs sha256sum); \
	[ "$$before" = "$$after" ] || { echo "*_templ.go was stale: regenerated now; commit the result"; exit 1; }

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

check-tidy: ## go.mod and go.sum say exactly what the code imports
	@$(GO) mod tidy -diff

check-templ-fmt:
	@$(GO) tool templ fmt -fail . >/dev/null 2>&1 || { $(GO) tool templ fmt -fail .; echo "templ files need formatting: go tool templ fmt ."; exit 1; }

vet:
	$(GO) vet $(PKGS)

lint: ## staticcheck, pinned as a tool in go.mod (honnef.co/go/tools v0.8.2)
	$(GO) tool staticcheck $(PKGS)

check-imports: ## the layer rules of docs/architecture.md
	@$(GO) run ./cmd/checkimports

bench: ## delivery throughput and latency, with the command that made them (BENCH_FLAGS="--events 2000" to vary)
	$(GO) run ./cmd/ringhook bench $(BENCH_FLAGS)

# Not part of `make bench` (seeding takes minutes): point DATABASE_URL at a
# database of its own; it seeds that once and reuses it on later runs.
console-bench: ## p50/p99 of every console page and API list on a seeded database (CONSOLE_BENCH_FLAGS="--deliveries 10000000")
	$(GO) run ./cmd/ringhook console-bench $(CONSOLE_BENCH_FLAGS)

reliability: ## kill -9, PostgreSQL restart/stop, 3 processes, isolation, hostile input: one table (RELIABILITY_FLAGS="--short" for CI's form)
	$(GO) run ./cmd/ringhook reliability $(RELIABILITY_FLAGS)

fuzz:
	$(GO) test ./models/catalog -run '^$$' -fuzz FuzzNormalize -fuzztime 30s
	$(GO) test ./web/dispatch/payload -run '^$$' -fuzz FuzzEncodeForm -fuzztime 30s
	$(GO) test ./handlers -run '^$$' -fuzz FuzzEndpoints -fuzztime 3m -parallel 1 # its ~1000 seeds take a minute to baseline
	$(GO) test ./web/dispatch/payload -run '^$$' -fuzz FuzzRender -fuzztime 30s
