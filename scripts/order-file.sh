#!/bin/sh
# Regenerates packaging/gatewayd.order, the functions gatewayd runs, which the
# box build (scripts/release-build.sh) lays side by side to keep its resident
# code small. Runs the steady-state bench rig under callgrind (valgrind), so it
# takes a few minutes. Commit the result with the change that made it stale.
set -eu
cd "$(dirname "$0")/.."
BIN=$(./scripts/release-build.sh "${BENCH_SCRATCH:-.build-bench}" gatewayd gateway-sim gateway-bench)
exec "$BIN/gateway-bench" --programs "$BIN" --write-order-file packaging/gatewayd.order "$@"
