#!/usr/bin/env bash
# ./run load [SECONDS]: a bounded load run (wrk from Debian, loopback only) against the local
# worker with the demo data: matrix, patterns, candles, API-key reads and login, with
# throughput, p50/p95/p99 and statuses per route, the 5xx count (goal 0), the matrix p99
# against its 20 ms goal, and a parallel guess storm on one account. Writes
# target/load-report.json (read by ./run bench). WORKER_OUT (crates/worker/<dir>, default build)
# and FRONTEND_DIST pick the worker build and the assets, so parallel builds stay apart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
secs="${1:-10}"

ensure_tools; ensure_dev_vars; apt_install wrk
worker="$ROOT/crates/worker/${WORKER_OUT:-build}/index.js"
[ -f "$worker" ] || build_worker
assets="${FRONTEND_DIST:-$ROOT/frontend/dist}"
mkdir -p "$assets"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tag="${WORKER_OUT:+-$WORKER_OUT}"
persist="$ROOT/target/wrangler-load$tag"; rm -rf "$persist"
log "local D1 with demo data and a premium account"
d1_migrate_local "$persist" && load_demo_data "$persist"
LOAD_PASSWORD="$(local_user "$persist" load@example.com --tier premium)"
export LOAD_EMAIL=load@example.com LOAD_PASSWORD

pid=""
cleanup() { [ -n "$pid" ] && kill -- -"$pid" 2>/dev/null; true; }
trap cleanup EXIT
setsid npx wrangler dev "$worker" --assets "$assets" --local --ip 127.0.0.1 --port "$port" --persist-to "$persist" \
  --var "APP_URL:http://127.0.0.1:$port" \
  > "$ROOT/target/load-wrangler$tag.log" 2>&1 &
pid=$!
for _ in $(seq 1 90); do curl -fsS "http://127.0.0.1:$port/api/v1/health/live" >/dev/null 2>&1 && break; sleep 1; done
log "load: ${secs}s per route, 64 connections (wrk), loopback"
node "$ROOT/tests/load/run.mjs" --url "http://127.0.0.1:$port" --seconds "$secs" --out "$ROOT/target/load-report$tag.json"
