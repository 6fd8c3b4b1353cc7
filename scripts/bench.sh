#!/bin/sh
# `make bench`: builds gatewayd, gateway-sim, gatewayctl and gateway-bench in
# release mode and runs every benchmark suite; prints a table and writes
# bench/results.json. Extra arguments go to gateway-bench, e.g.
#   ./scripts/bench.sh --only drain steady --repeat 5 --steady-repeat 3
# BENCH_SCRATCH picks the build directory (default .build-bench, so a bench
# never disturbs a debug build in .build).
set -eu
cd "$(dirname "$0")/.."
SCRATCH="${BENCH_SCRATCH:-.build-bench}"
# Built exactly like the Debian package (`make deb`), so memory and startup
# are measured for what a box really runs.
BIN=$(./scripts/release-build.sh "$SCRATCH" gatewayd gateway-sim gatewayctl gateway-bench)
exec "$BIN/gateway-bench" --programs "$BIN" --output bench/results.json "$@"
