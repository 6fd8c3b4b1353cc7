#!/bin/sh
# Scores a detector config on the leak-dev data: ltown-2018, its leak-free twin, and (with --hanoi) the 20 Hanoi scenarios.
# (TUNE=path/to/a/driver taking CSV CONFIG OUT replaces gatewayctl while iterating)
# usage: detection-dev/tune.sh CONFIG_LTOWN [CONFIG_HANOI]   (run from the repo root after building gatewayctl in release)
set -e
CTL=${CTL:-.build-detect2/release/gatewayctl}
DATA=${DATA:-../shared/leak-dev}
OUT=${OUT:-/tmp/detect-tune}
mkdir -p "$OUT"
for set in ltown-2018 ltown-2018-noleaks; do
  if [ -n "$TUNE" ]; then "$TUNE" "$DATA/$set/readings.csv.gz" "$1" "$OUT/$set.jsonl" 2>"$OUT/$set.err" &
  else "$CTL" detect --replay "$DATA/$set/readings.csv.gz" --config "$1" --output "$OUT/$set.jsonl" 2>"$OUT/$set.err" & fi
done
wait
for set in ltown-2018 ltown-2018-noleaks; do
  printf '%s ' "$set"; python3 "$DATA/score.py" "$OUT/$set.jsonl" "$DATA/$set/leaks.csv" "$DATA/$set/readings.csv.gz"
done
if [ -n "$2" ]; then
  for i in $(seq 1 20); do
    if [ -n "$TUNE" ]; then "$TUNE" "$DATA/hanoi/scenario-$i/readings.csv.gz" "$2" "$OUT/hanoi-$i.jsonl" 2>/dev/null
    else "$CTL" detect --replay "$DATA/hanoi/scenario-$i/readings.csv.gz" --config "$2" --output "$OUT/hanoi-$i.jsonl" 2>/dev/null; fi
    python3 "$DATA/score.py" "$OUT/hanoi-$i.jsonl" "$DATA/hanoi/scenario-$i/leaks.csv" "$DATA/hanoi/scenario-$i/readings.csv.gz"
  done > "$OUT/hanoi.scores"
  python3 "$(dirname "$0")/aggregate.py" "$OUT/hanoi.scores"
fi
