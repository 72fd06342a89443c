#!/usr/bin/env python3
"""Renders target/bench-report.md from the JSON files ./run bench wrote."""
import json
import os
import sys

# The Python/numpy predecessor on this kind of machine (issue #4): raw, candles/s.
PREDECESSOR = {"imbalance": 4.0e6, "order_block": 0.93e6, "liquidity_sweep": 0.19e6}
PREDECESSOR_PASS = 0.45e6  # one detector pass, raw, overall
PREDECESSOR_PIPELINE = 3000.0  # 1m candles/s, store + aggregate + detect + levels + status


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mps(x):
    return f"{x / 1e6:,.2f} M/s"


def main(out):
    lines = ["# CryptoLens Edge benchmark report", ""]
    lines.append(f"Machine: {os.cpu_count()} cores (shared; figures are noisy, compare ratios within this run).")
    lines.append("")
    native, wasm = load(out, "detect-native.json"), load(out, "detect-wasm.json")
    if native:
        lines.append(f"## Detection ({native['candles']:,} generated 1m candles, best of {native['runs']})")
        lines.append("")
        lines.append("| stage | mode | native | wasm (Node) | wasm/native | vs predecessor (native) |")
        lines.append("|---|---|---|---|---|---|")
        wasm_by = {}
        for r in (wasm or {}).get("results", []):
            wasm_by[(r["stage"], r.get("timeframe"), r.get("mode"))] = r
        for r in native["results"]:
            key = (r["stage"], r.get("timeframe"), r.get("mode"))
            w = wasm_by.get(key)
            name = r["stage"] + (f" {r['timeframe']}" if r.get("timeframe") else "")
            ratio = f"{w['candles_per_sec'] / r['candles_per_sec']:.2f}" if w else "n/a"
            base = PREDECESSOR.get(r["stage"]) if r.get("mode") == "raw" else None
            vs = f"{r['candles_per_sec'] / base:,.0f}×" if base else ""
            lines.append(
                f"| {name} | {r.get('mode') or ''} | {mps(r['candles_per_sec'])} | "
                f"{mps(w['candles_per_sec']) if w else 'n/a'} | {ratio} | {vs} |"
            )
        lines.append("")
        lines.append(
            f"Predecessor: about {PREDECESSOR_PASS / 1e6:.2f} M candles/s per raw detector pass "
            "(imbalance 4.0, order_block 0.93, liquidity_sweep 0.19 M/s); goal ≥ 50×."
        )
        lines.append("")
    replay = load(out, "replay.json")
    if replay:
        lines.append("## Replay (the live pipeline in-process)")
        lines.append("")
        lines.append("| case | candles | runs | candles/s | vs predecessor (3,000/s) |")
        lines.append("|---|---|---|---|---|")
        for r in replay.get("results", []):
            lines.append(
                # `cryptolens bench-replay --json` names each row's `mode` (one run, minute by minute).
                f"| {r.get('mode', r.get('case', ''))} | {r['candles']:,} | {r['runs']:,} | {r['candles_per_sec']:,.0f} | "
                f"{r['candles_per_sec'] / PREDECESSOR_PIPELINE:,.0f}× |"
            )
        lines.append("")
    for name in sorted(os.listdir(out)):
        if name.endswith(".md"):
            with open(os.path.join(out, name)) as f:
                lines.append(f.read().rstrip())
                lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])
