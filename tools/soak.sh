#!/usr/bin/env bash
# The long runs of issue 8, bounded in time and count, with a summary at the end:
#   1. every fuzz target for SOAKTIME (tools/fuzz.sh);
#   2. the whole malformed set (the large cases too) natively and through the WASM build;
#   3. the relay's fault tests SOAKCOUNT times over: 10,000 hostile frames with real pen
#      signatures, the rate limits, slow clients, and the relay restarted (in process, and
#      killed with SIGKILL) while an approval waits.
# Every step runs even when one before it failed; the script fails if any did.
#
#   SOAKTIME=10m SOAKCOUNT=5 FUZZPARALLEL=1 tools/soak.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
GO=${GO:-go}
soaktime=${SOAKTIME:-10m}
count=${SOAKCOUNT:-5}
logs=$(mktemp -d "${TMPDIR:-/tmp}/veilsign-soak-XXXXXX")
echo "soak: SOAKTIME=$soaktime SOAKCOUNT=$count, logs in $logs"

results=()
failed=0
# step NAME CMD…: runs CMD with its output in a log (and on the terminal), records the outcome.
step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name"
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  local status=ok
  if [ "$rc" -ne 0 ]; then
    status=FAIL
    failed=1
  fi
  results+=("$(printf '%-4s %-10s %ss' "$status" "$name" $((SECONDS - start)))")
}

step fuzz env GO="$GO" FUZZTIME="$soaktime" FUZZLOG="$logs/fuzz" tools/fuzz.sh
step malformed "$GO" test -count=1 -timeout 60m -run '^TestMalformed$' -v ./pdfcore
step wasm bash -c "cd js && npm ci --no-audit --no-fund && npm run build && VEILSIGN_MALFORMED=full node --test test/malformed.test.mjs"
# The relay tests have fixed sizes (no count or environment knob): -count repeats them.
step relay "$GO" test -count="$count" -timeout 60m -v \
  -run '^(TestHostileFramesWithRealSigning|TestRateLimitsHold|TestSlowClientsReaped|TestRestartWhileAwaitingApproval|TestRelayKilledWhileAwaitingApproval)$' \
  ./relay/internal/server

echo
echo "soak summary (logs in $logs):"
printf '  %s\n' "${results[@]}"
sed -n '/^fuzz summary/,$p' "$logs/fuzz.log"
grep -h -A4 'malformed files in' "$logs/malformed.log" | sed 's/^ *malformed_test.go:[0-9]*: /  native: /'
grep -h -A4 'malformed files through WASM' "$logs/wasm.log" | sed 's/^# /  /'
hostile=$(grep -o 'hostile frames sent [0-9]*' "$logs/relay.log" | awk '{s += $4} END {print s + 0}')
signed=$(grep -o 'real pen signatures: [0-9]* made, [0-9]* verified' "$logs/relay.log" | awk '{m += $4; v += $6} END {print m + 0, "made,", v + 0, "verified"}')
echo "  relay: $hostile hostile frames in $(grep -c 'hostile frames sent' "$logs/relay.log") runs; pen signatures alongside: $signed"
for t in TestRateLimitsHold TestSlowClientsReaped TestRestartWhileAwaitingApproval TestRelayKilledWhileAwaitingApproval TestHostileFramesWithRealSigning; do
  echo "  relay: $t passed $(grep -c -- "--- PASS: $t " "$logs/relay.log") of $count, failed $(grep -c -- "--- FAIL: $t " "$logs/relay.log"), skipped $(grep -c -- "--- SKIP: $t " "$logs/relay.log")"
done
exit $failed
