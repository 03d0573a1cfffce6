#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from the Go modules pinned in go.mod, into a
# cache outside git keyed by the pinned versions; a second run with the same go.mod/go.sum/build.sh reuses it.
# Prints the directory holding the binaries as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SUTURE_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/suture/controlplane}
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
out="$cache_root/$key"
bins=(etcd kube-apiserver kube-controller-manager kubectl)

complete() { for b in "${bins[@]}"; do [ -x "$out/bin/$b" ] || return 1; done; }

if complete; then
  echo "control plane binaries cached in $out/bin" >&2
  echo "$out/bin"
  exit 0
fi

command -v go >/dev/null || { echo "go is not installed: the control plane is built from Go modules (Go >= 1.26)" >&2; exit 1; }
mkdir -p "$out"
tmp="$out/bin.partial"
rm -rf "$tmp" && mkdir -p "$tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
cd "$here"
echo "building the control plane from Go modules into $out (first time: about 15-25 minutes on 2 cores)" >&2
echo "  downloading modules…" >&2
go mod download >&2
# One package at a time so progress is visible; the Go build cache shares the common packages between them.
# Stamp the Kubernetes version, as upstream's build does, so clients see v1.x.y and not v0.0.0-master.
kver=$(awk '$1 == "k8s.io/kubernetes" {print $2}' go.mod)
kminor=$(echo "$kver" | cut -d. -f2)
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$kver -X $p.gitMajor=1 -X $p.gitMinor=$kminor -X $p.gitTreeState=clean"
done
build() { # name package
  local t0; t0=$(date +%s)
  echo "  building $1…" >&2
  go build -trimpath -ldflags="$ldflags" -o "$tmp/$1" "$2" >&2
  echo "  built $1 in $(( $(date +%s) - t0 ))s" >&2
}
build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl k8s.io/kubernetes/cmd/kubectl
rm -rf "$out/bin" && mv "$tmp" "$out/bin"
echo "control plane built in $(( $(date +%s) - start ))s: $out/bin" >&2
echo "$out/bin"
