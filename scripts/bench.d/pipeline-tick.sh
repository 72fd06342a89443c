#!/usr/bin/env bash
# One scheduled pipeline tick for 100 symbols × 8 TFs through the built worker (workerd, local
# D1/KV, fake exchange): wall time and D1 round trips per tick. $1 = output dir.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
node "$ROOT/tests/bench/pipeline-tick.mjs" > "$1/pipeline-tick.md"
cat "$1/pipeline-tick.md"
