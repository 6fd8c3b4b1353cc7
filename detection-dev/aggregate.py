#!/usr/bin/env python3
"""Sums per-scenario score.py lines (one JSON object per line) into one result."""
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
leaks = sum(r["leaks"] for r in rows); det = sum(r["detected"] for r in rows)
fa = sum(r["false_alarms"] for r in rows)
months = sum(r["false_alarms"] / r["false_alarms_per_month"] for r in rows if r["false_alarms_per_month"])
by = {}
for r in rows:
    for k, v in r["recall_by_type"].items():
        a, b = map(int, v.split("/")); d = by.setdefault(k, [0, 0]); d[0] += a; d[1] += b
clean = [r for r in rows if r["leaks"] == 0]
print(json.dumps({"scenarios": len(rows), "leaks": leaks, "detected": det,
                  "recall_by_type": {k: f"{a}/{b}" for k, (a, b) in sorted(by.items())},
                  "false_alarms": fa, "false_alarms_in_leak_free_scenarios": sum(r["false_alarms"] for r in clean),
                  "ttd_median_h_of_medians": statistics.median([r["ttd_median_h"] for r in rows if r["ttd_median_h"] is not None]) if det else None}))
