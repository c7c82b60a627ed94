#!/usr/bin/env bash
# Installs the benchmark peers that come from Debian: PyTorch CPU (python3-torch, with python3-numpy),
# used by native/baseline/torch_bench.py. Idempotent and non-interactive; fast when already present.
# If the package does not exist in the configured apt sources, prints why and exits 0, so the Bench
# task skips the PyTorch peer instead of failing. The default BLAS/LAPACK alternatives are recorded
# first and restored afterwards (PyTorch then runs on whatever libblas.so.3 the system selected).
set -euo pipefail

PACKAGE=python3-torch

if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "install ok installed"; then
  echo "peers: $PACKAGE already installed ($(dpkg-query -W -f='${Version}' "$PACKAGE"))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

candidate=$(apt-cache policy "$PACKAGE" 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
  $SUDO apt-get update -qq || true
  candidate=$(apt-cache policy "$PACKAGE" 2>/dev/null | awk '/Candidate:/ {print $2}')
fi
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
  echo "peers: $PACKAGE is not available from the configured apt sources; the PyTorch peer will be skipped"
  exit 0
fi

declare -A before
alts=$(update-alternatives --get-selections 2>/dev/null | awk '/^lib(blas|lapack)/ {print $1" "$2" "$3}') || true
while read -r name mode value; do
  [ -n "${name:-}" ] && before["$name"]="$mode $value"
done <<< "$alts"

echo "peers: installing $PACKAGE $candidate (apt, large: about 240 packages)"
if ! $SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" python3-numpy >/dev/null; then
  echo "peers: installing $PACKAGE failed; the PyTorch peer will be skipped"
  exit 0
fi

for name in "${!before[@]}"; do
  read -r mode value <<< "${before[$name]}"
  now=$(update-alternatives --query "$name" 2>/dev/null | awk '/^Value:/ {print $2}')
  if [ "$mode" = "manual" ] && [ "$now" != "$value" ]; then
    $SUDO update-alternatives --set "$name" "$value" >/dev/null
  elif [ "$mode" = "auto" ]; then
    $SUDO update-alternatives --auto "$name" >/dev/null 2>&1 || true
  fi
done
echo "peers: $PACKAGE installed"
