#!/usr/bin/env bash
# Installs the system packages the build and the tests need, only when one is missing.
set -euo pipefail

# chromium and chromium-driver: the dashboard's browser test (python-tests/test_dashboard.py).
# nats-server: the NATS request-reply tests and the benchmark's round-trip anchor.
packages=(libhiredis-dev zlib1g-dev redis-server redis-tools openssl pkg-config chromium chromium-driver nats-server)
missing=()
# The Python compatibility suite needs a python3 with venv; Debian splits it into a package.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then packages+=(python3 python3-venv); fi
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.x, e.g. /opt/swift/usr/bin)"; exit 1; }
