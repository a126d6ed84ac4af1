#!/usr/bin/env bash
# Installs the Debian 12 packages s0 builds and tests with, skipping those already present.
set -euo pipefail
packages=(build-essential cmake pkg-config libopenblas-openmp-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
          libutf8proc-dev libgtest-dev libbenchmark-dev bubblewrap libseccomp-dev libcpp-httplib-dev libdnnl-dev
          python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
