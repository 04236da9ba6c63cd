#!/usr/bin/env bash
# Builds a release binary and runs one replica on the embedded store (no Redis needed).
# Extra arguments go to `syft-proxy serve`, e.g. scripts/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product syft-proxy
exec .build/release/syft-proxy serve "$@"
