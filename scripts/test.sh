#!/usr/bin/env bash
# Runs every test: Swift unit, route, store and end-to-end suites, then the Python
# compatibility suite (the original package's client examples) against a live server.
# Tests that need Redis start their own redis-server on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

swift build --build-tests
swift test --skip-build

if [ -d tests/python ]; then
  venv=.build/python-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  SYFT_PROXY_BIN="$PWD/.build/debug/syft-proxy" "$venv/bin/python" -m pytest -q tests/python
fi
echo "all tests passed"
