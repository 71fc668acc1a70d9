# veilsign — every target works on a fresh machine with any Go >= 1.21: the go command
# fetches the pinned toolchain itself because GOTOOLCHAIN is exported here.
export GOTOOLCHAIN := go1.27.3
GO ?= go
FUZZTIME ?= 5s

.PHONY: test demo wasm jstest e2e bench lint fuzz soak vuln

## test: vet, unit, interop, package (WASM in Node) and short fuzz tests (CI runs this)
test: lint
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory jstest
	# 12 s: the time includes replaying the seed corpus for coverage, which takes FuzzPrepare
	# and FuzzVerify (875 and 1,125 seeds) 5-10 s; at 3 s they never fuzzed at all.
	$(MAKE) --no-print-directory fuzz FUZZTIME=12s

## lint: formatting, go vet (native and js/wasm), TypeScript type check
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm
	cd js && npm ci --no-audit --no-fund && npm run typecheck

## wasm: the WASM core and the npm package into js/dist
wasm:
	cd js && npm ci --no-audit --no-fund && npm run build

## jstest: the npm package against the real WASM and a real relay (node --test)
jstest:
	cd js && npm ci --no-audit --no-fund && npm test

## fuzz: every fuzz target for FUZZTIME each (FUZZPARALLEL=n to share the machine), then the executions per target
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) tools/fuzz.sh

## vuln: govulncheck (native, js/wasm, bench/) against the pinned Go vulnerability database
vuln:
	GO=$(GO) tools/vuln.sh

## demo: the demo portal and the relay with the itsme simulator, a dev TSA and demo tokens
demo:
	cd js && npm ci --no-audit --no-fund && npm run build && npm run build:demo
	@echo "Open the URL below in Chromium; the itsme simulator's phone is beside the document."
	$(GO) run ./relay serve --demo --addr 127.0.0.1:8080 --store sqlite:$${TMPDIR:-/tmp}/veilsign-demo.db

## e2e: the demo in Debian's Chromium through Playwright (itsme, pen, TAN; privacy proof)
e2e:
	cd js && npm ci --no-audit --no-fund && npm run build && npm run e2e

## bench: speed and memory against one SHA-256 pass and the peers (bench/results.md)
bench:
	cd bench && ./run.sh

## soak: the long runs (bounded): every fuzz target for SOAKTIME, the whole malformed set
## natively and in WASM, the relay fault and restart tests SOAKCOUNT times; a summary at the end
SOAKTIME ?= 10m
SOAKCOUNT ?= 5
soak:
	GO=$(GO) SOAKTIME=$(SOAKTIME) SOAKCOUNT=$(SOAKCOUNT) tools/soak.sh
