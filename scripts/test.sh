#!/usr/bin/env bash
# Runs every test: Swift unit, route, store, Redis client, end-to-end, client and
# three-replica cluster suites; the Python compatibility suite (the original package's client
# examples, the API contract and a schemathesis fuzz pass) against a live server; the
# deployment files' validation; and a smoke test of the compose topology as real processes.
# Tests that need Redis start their own redis-server on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

swift build --build-tests
swift test --skip-build

venv=.build/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r python-tests/requirements.txt
SYFT_PROXY_BIN="$PWD/.build/debug/syft-proxy" "$venv/bin/python" -m pytest -q python-tests

scripts/validate-deploy.sh
scripts/topology-smoke.sh
echo "all tests passed"
