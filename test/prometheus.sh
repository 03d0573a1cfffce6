#!/usr/bin/env bash
# Makes sure a Prometheus server is on PATH for the integration tests (metric conditions are tested against a real
# one): Debian's `prometheus` package, installed with apt-get when missing (as root, or through sudo). Prints the
# binary's path as its last line.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  command -v prometheus
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "prometheus is not installed and there is no apt-get: install Prometheus (2.x or 3.x) so that 'prometheus' is on PATH" >&2
  exit 1
}
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "prometheus is not installed: run 'apt-get install prometheus' as root" >&2; exit 1; }
  sudo=(sudo)
fi
echo "installing Debian's prometheus package (the integration tests start a real Prometheus)…" >&2
"${sudo[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >&2
command -v prometheus
