#!/usr/bin/env bash
# The bounded load run (scripts/load.sh: wrk against a local worker with demo data, loopback
# only) as a section of the bench report. $1 = output dir.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$ROOT/scripts/load.sh" "${BENCH_LOAD_SECONDS:-10}" > "$1/load.log" 2>&1 || {
  tail -n 20 "$1/load.log"; echo "load run failed (see $1/load.log)"; exit 1; }
# load.sh tags its report with WORKER_OUT (parallel builds keep apart): read that one.
python3 - "$ROOT/target/load-report${WORKER_OUT:+-$WORKER_OUT}.json" > "$1/load.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"## Load (wrk, {r['seconds']} s per route, loopback, {r['cores']} cores)")
print()
print("| route | clients | req/s | p50 ms | p95 ms | p99 ms | statuses |")
print("|---|---|---|---|---|---|---|")
for x in r["routes"]:
    st = ", ".join(f"{k}: {v}" for k, v in sorted(x["statuses"].items()))
    print(f"| {x['route']} | {x['connections']} | {x['rps']:.0f} | {x['p50_ms']:.1f} | {x['p95_ms']:.1f} | {x['p99_ms']:.1f} | {st} |")
print()
print(f"5xx: {r['server_errors']}. Matrix p99 {r['matrix_p99_ms']:.1f} ms (goal < {r['matrix_p99_goal_ms']} ms at 64 clients).")
storm = r["guess_storm"]
print(f"Guess storm (49 wrong passwords in parallel from 49 IPs, then the right one): {storm}; successes: {storm.get('200', 0)}.")
PY
cat "$1/load.md"
