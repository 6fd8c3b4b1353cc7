#!/usr/bin/env bash
# `make demo`: simulated devices + a local mosquitto + gatewayd, and what a
# utility subscribed to the gateway's topics receives, decoded. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/debug
DEMO=.demo
BROKER_PORT=18830
SIM_PORT=15020
# Simulated time runs faster so the day's demand curve moves; the leak starts after LEAK_AFTER of wall time.
TIME_SCALE=${TIME_SCALE:-30}
LEAK_AFTER=${LEAK_AFTER:-60s}

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping the demo…"
  # gatewayd first, so it can publish status offline and commit its buffer.
  [ -n "${GATEWAYD_PID:-}" ] && kill -TERM "$GATEWAYD_PID" 2>/dev/null && wait "$GATEWAYD_PID" 2>/dev/null || true
  sleep 0.5  # let the viewer print the offline status
  # Each helper leads its own session: signal the whole group (the pipelines inside it too).
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "buffer kept in $DEMO/data (inspect with: $BIN/gatewayctl buffer stats --config configs/demo.toml)"
}
trap cleanup EXIT INT TERM

mkdir -p "$DEMO/data"
for p in $BROKER_PORT $SIM_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
    echo "port $p is already in use (a previous demo still running?) — stop it first"; exit 1
  fi
done

cat > "$DEMO/mosquitto.conf" <<CONF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
$( [ "$(id -u)" = 0 ] && echo "user root" )
CONF
# Broker, simulator and viewer run in sessions of their own, so Ctrl-C reaches only gatewayd
# and this script: the broker must outlive gatewayd to carry its `offline` status.
setsid mosquitto -c "$DEMO/mosquitto.conf" > "$DEMO/mosquitto.log" 2>&1 & pids+=($!)
# The simulator reads console commands on stdin; keep it open (sleep) so it never sees EOF.
setsid sh -c 'sleep infinity | "$0" "$@"' "$BIN/gateway-sim" modbus --tcp 127.0.0.1:$SIM_PORT --time-scale "$TIME_SCALE" --leak-after "$LEAK_AFTER" \
  > "$DEMO/sim.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do grep -q ready "$DEMO/sim.log" 2>/dev/null && break; sleep 0.1; done

echo "gatewayd demo — broker mqtt://127.0.0.1:$BROKER_PORT, simulator 127.0.0.1:$SIM_PORT (time ×$TIME_SCALE, leak after $LEAK_AFTER)"
echo "logs: $DEMO/gatewayd.log $DEMO/sim.log $DEMO/mosquitto.log — Ctrl-C stops everything"
echo
setsid sh -c "mosquitto_sub -h 127.0.0.1 -p $BROKER_PORT -q 1 -t 'demo/#' -v | python3 scripts/demo-view.py" & pids+=($!)
sleep 0.3
"$BIN/gatewayd" --config configs/demo.toml 2> "$DEMO/gatewayd.log" & GATEWAYD_PID=$!
wait "$GATEWAYD_PID"
