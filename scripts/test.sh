#!/usr/bin/env bash
# Runs every test: Swift unit, route, store, Redis client, end-to-end, client and
# three-replica cluster suites; the Python compatibility suite (the original package's client
# examples, the API contract and a schemathesis fuzz pass) against a live server; the
# deployment files' validation; and a smoke test of the compose topology as real processes.
# Tests that need Redis start their own redis-server on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# swift-format's lint rules (.swift-format) must pass. Its layout findings are left out: the
# code's layout (a trailing closure or collection argument hugging the call) is not one the
# pretty printer produces, and reflowing every file is a separate change.
lint=$(swift format lint --recursive --parallel Sources Tests examples 2>&1 \
    | grep -vE '\[(Indentation|AddLines|RemoveLine|LineLength|Spacing|TrailingComma)\]' || true)
if [ -n "$lint" ]; then echo "$lint"; echo "swift format lint found the above"; exit 1; fi

swift build --build-tests
# One test at a time: several suites start proxies, redis-servers and hundreds of requests, and
# in parallel their timing checks would measure the machine's load instead of the code (about
# two minutes serial).
swift test --skip-build --no-parallel

venv=.build/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r python-tests/requirements.txt
SYFT_PROXY_BIN="$PWD/.build/debug/syft-proxy" "$venv/bin/python" -m pytest -q python-tests

scripts/validate-deploy.sh
scripts/topology-smoke.sh
echo "all tests passed"
