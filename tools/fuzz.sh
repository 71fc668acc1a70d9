#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, for FUZZTIME each, and prints
# the executions per target at the end. A failing target does not stop the others (a soak
# should report every crasher of the night); the script fails if any did. The crasher is in
# the package's testdata/fuzz/<Target>/, where `go test` replays it from then on.
#
# New coverage is minimized for FUZZMINIMIZETIME (1s): longer minimizing costs executions.
#
#   FUZZTIME=10m FUZZPARALLEL=1 FUZZLOG=dir tools/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
GO=${GO:-go}
time=${FUZZTIME:-5s}
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")
logs=${FUZZLOG:-$(mktemp -d)}
mkdir -p "$logs"

summary=()
failed=0
while read -r pkg dir; do
  for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
    log="$logs/$(basename "$pkg")-$t.log"
    echo "fuzz $pkg $t ($time)"
    start=$SECONDS
    "$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$time" -fuzzminimizetime "${FUZZMINIMIZETIME:-1s}" "${par[@]}" "$pkg" >"$log" 2>&1
    rc=$?
    # The last progress line carries the total: "fuzz: elapsed: 5m0s, execs: 123 (…/sec), …".
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    status=ok
    if [ $rc -ne 0 ]; then
      status=FAIL
      failed=1
      tail -30 "$log"
    fi
    summary+=("$(printf '%-4s %-16s %-48s %12s execs in %ss' "$status" "$t" "$pkg" "${execs:-0}" $((SECONDS - start)))")
  done
done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo "fuzz summary (FUZZTIME=$time${FUZZPARALLEL:+, -parallel $FUZZPARALLEL}; logs in $logs):"
printf '  %s\n' "${summary[@]}"
exit $failed
