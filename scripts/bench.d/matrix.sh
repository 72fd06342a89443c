#!/usr/bin/env bash
# Matrix query p50/p99 on D1 and Postgres (through the built worker). $1 = output dir.
# Builds the worker first (release, WORKER_OUT honoured; SKIP_BUILD=1 reuses an existing build)
# so the figures are the current code's;
# the frontend is built only when frontend/dist is missing (the worker serves it as assets).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
[ -d "$ROOT/frontend/dist" ] || build_frontend
# SKIP_BUILD=1 reuses an existing build (as tests/browser's e2e runner does).
if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f "$ROOT/crates/worker/${WORKER_OUT:-build}/index.js" ]; then
  build_worker
fi
url="$(bash "$ROOT/scripts/pg.sh" start | sed 's/^DATABASE_URL=//')"
node "$ROOT/tests/bench/matrix.mjs" "$url" > "$1/matrix.md"
cat "$1/matrix.md"
