#!/usr/bin/env bash
# veilsign benchmark harness: writes bench/results.md and bench/results.json.
#   ./run.sh          full run (1/10/50/100 MB, 5 signatures on 50 MB, relay load; ≤ 10 min)
#   ./run.sh --smoke  1 MB only, short relay run, timings not enforced (CI, < 1 min)
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")"
mode=()
[ "${1:-}" = "--smoke" ] && mode=(-smoke)
mkdir -p out
# Bench-only npm peers (@signpdf/*, hash-wasm, @libpdf/core, zgapdfsigner, playwright-core, esbuild), pinned in package-lock.json.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The browser rows measure the npm package in ../js/dist: (re)build it when it is missing or
# older than its sources.
if [ ! -f ../js/dist/veilsign-worker.js ] || [ -n "$(find ../wasm ../pdfcore ../js/src ../go.mod -newer ../js/dist/veilsign-worker.js -print -quit)" ]; then
  (cd ../js && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi
go build -o out/bench ./cmd/bench
exec ./out/bench -out out -results . -repo .. "${mode[@]}"
