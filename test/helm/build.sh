#!/usr/bin/env bash
# Builds Helm from its Go module (helm.sh/helm/v4, cmd/helm, pinned in go.mod) into a cache outside git keyed by
# go.mod/go.sum/build.sh, as test/controlplane/build.sh does for the control plane; a second run reuses it.
# Prints the path of the helm binary as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SUTURE_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/suture/helm}
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
out="$cache_root/$key"

if [ -x "$out/bin/helm" ]; then
  echo "helm cached in $out/bin" >&2
  echo "$out/bin/helm"
  exit 0
fi

command -v go >/dev/null || { echo "go is not installed: Helm is built from its Go module (Go >= 1.26)" >&2; exit 1; }
mkdir -p "$out"
tmp="$out/bin.partial"
rm -rf "$tmp" && mkdir -p "$tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
cd "$here"
version=$(awk '$1 == "helm.sh/helm/v4" {print $2}' go.mod)
echo "building helm $version from its Go module into $out (first time: a few minutes on 2 cores)" >&2
go mod download >&2
# Stamp the version as Helm's own Makefile does, so `helm version` says v4.x.y.
go build -trimpath -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version" -o "$tmp/helm" helm.sh/helm/v4/cmd/helm >&2
rm -rf "$out/bin" && mv "$tmp" "$out/bin"
echo "helm built in $(( $(date +%s) - start ))s: $out/bin/helm" >&2
echo "$out/bin/helm"
