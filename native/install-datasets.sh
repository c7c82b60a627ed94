#!/usr/bin/env bash
# Installs the data sets the demo trains on, from Debian:
#   Fashion-MNIST (dataset-fashion-mnist, Debian main; the original gzip-compressed IDX files,
#   under /usr/share/datasets/fashion-mnist/)
# Idempotent and non-interactive; fast (no apt traffic) when everything is present.
set -euo pipefail

PACKAGES=(dataset-fashion-mnist)

have_all() {
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

if have_all; then
  echo "datasets: Fashion-MNIST already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

echo "datasets: installing ${PACKAGES[*]} (apt, about 31 MB)"
# Refresh the package lists only when apt does not know the package yet (a fresh image has no lists).
for p in "${PACKAGES[@]}"; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    $SUDO apt-get update -qq
    break
  fi
done
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

have_all || { echo "datasets: install did not complete" >&2; exit 1; }
echo "datasets: Fashion-MNIST installed"
