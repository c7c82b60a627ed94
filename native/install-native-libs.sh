#!/usr/bin/env bash
# Installs the native BLAS/LAPACK providers Curvature binds at run time:
#   OpenBLAS  (libopenblas0-pthread, Debian main)
#   Intel MKL (libmkl-rt, Debian non-free; MKL 2020.4 on bookworm)
# and python3 (Debian main), which the build runs to make TorchSharp's native library loadable on
# Debian 12 (native/torchsharp/weaken_glibcxx_requirement.py) and the TorchSharp tests use to check it.
# Idempotent and non-interactive; fast (no apt traffic) when everything is present.
# The system's default BLAS/LAPACK alternatives are recorded first and restored afterwards.
set -euo pipefail

PACKAGES=(libopenblas0-pthread libmkl-rt python3)
SOURCES_FILE=/etc/apt/sources.list.d/curvature-non-free.sources

have_all() {
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

if have_all; then
  echo "native: OpenBLAS, MKL and python3 already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Our own sources entry for the non-free component, built from the mirror the system already uses
# (so no host is hard-coded here and a mirror/snapshot setup keeps working).
if [ ! -f "$SOURCES_FILE" ]; then
  uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  fi
  if [ -z "$uri" ]; then
    echo "native: cannot find the Debian mirror in the apt sources" >&2
    exit 1
  fi
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  $SUDO tee "$SOURCES_FILE" >/dev/null <<SRC
# Added by Curvature's native/install-native-libs.sh: Intel MKL (libmkl-rt) lives in non-free.
Types: deb
URIs: $uri
Suites: $codename
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

# Remember the default BLAS/LAPACK alternatives so installing MKL/OpenBLAS leaves them alone.
declare -A before
alts=$(update-alternatives --get-selections 2>/dev/null | awk '/^lib(blas|lapack)\.so/ {print $1" "$2" "$3}') || true
while read -r name mode value; do
  [ -n "${name:-}" ] && before["$name"]="$mode $value"
done <<< "$alts"

echo "native: installing ${PACKAGES[*]} (apt)"
$SUDO apt-get update -qq
# MKL's debconf question (make MKL the default BLAS?) is answered "no".
echo "libmkl-rt libmkl-rt/use-as-default-blas-lapack boolean false" | $SUDO debconf-set-selections || true
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

for name in "${!before[@]}"; do
  read -r mode value <<< "${before[$name]}"
  now=$(update-alternatives --query "$name" 2>/dev/null | awk '/^Value:/ {print $2}')
  if [ "$mode" = "manual" ] && [ "$now" != "$value" ]; then
    $SUDO update-alternatives --set "$name" "$value" >/dev/null
  elif [ "$mode" = "auto" ]; then
    $SUDO update-alternatives --auto "$name" >/dev/null 2>&1 || true
  fi
done

have_all || { echo "native: install did not complete" >&2; exit 1; }
echo "native: OpenBLAS, MKL and python3 installed"
