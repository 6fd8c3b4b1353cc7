#!/usr/bin/env python3
"""Turns `mosquitto_sub -v` lines from a gateway into what a utility would read."""
import json
import sys
import time

BOLD, RED, GREEN, DIM, RESET = "\033[1m", "\033[31m", "\033[32m", "\033[2m", "\033[0m"
if not sys.stdout.isatty():
    BOLD = RED = GREEN = DIM = RESET = ""


def hhmmss(ms):
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


for line in sys.stdin:
    topic, _, payload = line.rstrip("\n").partition(" ")
    try:
        msg = json.loads(payload)
    except ValueError:
        continue
    kind = topic.split("/")[2] if topic.count("/") >= 2 else topic
    if kind == "status":
        print(f"{BOLD}gateway {msg.get('gateway', '?')} is {msg['state']}{RESET} (store {msg.get('store', '')[:8]}…)")
    elif kind == "data":
        parts = []
        for r in msg["readings"]:
            v = r["value"]
            shown = "—" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
            q = "" if r["quality"] == "good" else f" [{r['quality']}]"
            parts.append(f"{r['point']}={shown}{(' ' + r['unit']) if r['unit'] else ''}{q}")
        first = msg["readings"][0]
        hist = " (backlog)" if msg.get("historical") else ""
        print(f"{DIM}{hhmmss(first['ts'])} seq {first['seq']:>6}{RESET} {msg['device']:<13}{hist} " + ", ".join(parts[:6])
              + (f" … +{len(parts) - 6}" if len(parts) > 6 else ""))
    elif kind == "alarms":
        colour = RED if msg.get("state") == "raised" else GREEN
        print(f"{colour}{BOLD}ALARM {msg.get('state', '').upper()}{RESET}{colour} {msg['device']} {msg.get('type')} "
              f"({msg.get('severity')}): {msg.get('message')}{RESET}")
    elif kind == "events":
        print(f"{BOLD}event{RESET} {msg['device']} {msg.get('point')} → {msg.get('state')}")
    elif kind == "gaps":
        print(f"{RED}gap announced: {msg.get('ranges')}{RESET}")
    sys.stdout.flush()
