#!/usr/bin/env bash
# ./run dev: set everything up on a fresh machine, then serve the app on 127.0.0.1:8787
# with local D1 and KV (state in .wrangler/state), demo data, and the frontend.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${PORT:-8787}"

phase "tools"; ensure_tools; phase_done
phase "frontend"; build_frontend; phase_done
phase "worker"; build_worker; phase_done
ensure_dev_vars
phase "local D1: migrations and demo data"
d1_migrate_local "$ROOT/.wrangler/state"
load_demo_data "$ROOT/.wrangler/state"
phase_done

log "CryptoLens Edge is starting on http://127.0.0.1:$PORT  (Ctrl-C to stop)"
exec npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$ROOT/.wrangler/state" --test-scheduled
