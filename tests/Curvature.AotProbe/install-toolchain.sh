#!/usr/bin/env bash
# Installs what NativeAOT publishing needs on Debian 12 (a C linker driver and zlib's development files), for the AOT
# test. Idempotent: returns at once when clang or gcc and zlib's headers are present (the .NET 10 ILCompiler links
# with clang when it is installed and with gcc otherwise).
set -euo pipefail
if { command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } && [ -f /usr/include/zlib.h ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
