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
SWIFT="${SWIFT:-swift}"
for product in gatewayd gateway-sim gatewayctl gateway-bench; do
  "$SWIFT" build -c release --scratch-path "$SCRATCH" --product "$product"
done
BIN="$("$SWIFT" build -c release --scratch-path "$SCRATCH" --show-bin-path)"
exec "$BIN/gateway-bench" --programs "$BIN" --output bench/results.json "$@"
