#!/usr/bin/env bash
# Matrix query p50/p99 on D1 and Postgres (through the built worker). $1 = output dir.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
url="$(bash "$ROOT/scripts/pg.sh" start | sed 's/^DATABASE_URL=//')"
node "$ROOT/tests/bench/matrix.mjs" "$url" > "$1/matrix.md"
cat "$1/matrix.md"
