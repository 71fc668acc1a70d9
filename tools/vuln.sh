#!/usr/bin/env bash
# govulncheck over the module (native, and js/wasm for ./wasm) and over bench/, against a
# local copy of the Go vulnerability database. vuln.go.dev is not reachable from every build
# machine, but the module proxy is, and it serves the database's source as the module
# golang.org/x/vulndb; vulndb/ turns its data/osv into the layout `-db file://` reads. The
# database version is pinned here with its checksum, like any dependency, and govulncheck
# by tools/go.mod; bump both on purpose, not by accident.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
GO=${GO:-go}
version=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
want_sum=${VULNDB_SUM:-h1:mfngRv0Yoh0VApsXKEN82CjD99kl7mtparN3bs3JnqI=}
db=${VULNDB_DIR:-${TMPDIR:-/tmp}/veilsign-vulndb-$version}

field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p"; }
info=$("$GO" mod download -json "golang.org/x/vulndb@$version")
sum=$(field Sum <<<"$info")
src=$(field Dir <<<"$info")
if [ "$sum" != "$want_sum" ]; then
  echo "golang.org/x/vulndb@$version has checksum $sum, not the pinned $want_sum" >&2
  exit 1
fi
"$GO" vet ./... && "$GO" test -count=1 ./vulndb >/dev/null
# db.json is written last: its presence means a complete database from an earlier run.
if [ ! -f "$db/index/db.json" ]; then
  "$GO" run ./vulndb -version "$version" -osv "$src/data/osv" -out "$db"
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# Built natively once: `go tool` under GOOS=js would build the scanner itself for js.
"$GO" build -o "$bin/govulncheck" golang.org/x/vuln/cmd/govulncheck
scan() {
  echo "govulncheck $* (database golang.org/x/vulndb@$version)"
  "$bin/govulncheck" -db "file://$db" "$@"
}
scan -C .. ./...
GOOS=js GOARCH=wasm scan -C .. ./wasm
scan -C ../bench ./...
