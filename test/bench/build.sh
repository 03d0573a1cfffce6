#!/usr/bin/env bash
# Builds the load generator of `make bench` (test/bench/loadgen, Go with client-go) into a cache outside git keyed by
# its go.mod, go.sum, sources and this script; a second run with the same inputs reuses the binary. Prints the
# binary's path as its last line. The Go module cache already holds client-go from the control plane's build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/loadgen"
cache_root=${SUTURE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/suture/bench}
key=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go "$here/build.sh" | sha256sum | cut -c1-16)
out="$cache_root/$key/loadgen"
if [ -x "$out" ]; then
  echo "load generator cached in $out" >&2
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "go is not installed: the load generator is built from Go modules (Go >= 1.26)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
echo "building the load generator into $out…" >&2
(cd "$src" && go build -trimpath -ldflags="-s -w" -o "$out.partial" .) >&2
mv "$out.partial" "$out"
echo "built the load generator in $(( $(date +%s) - start ))s" >&2
echo "$out"
