#!/usr/bin/env bash
# ./run bench: every benchmark in the repo, then target/bench-report.md.
# Throughput is compared as ratios within one run (the machine is shared and noisy).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/target/bench"; rm -rf "$OUT"; mkdir -p "$OUT"
CANDLES="${BENCH_CANDLES:-1000000}"

phase "build (perf profile: opt-level 3, thin LTO)"
cargo build --profile perf -p cryptolens-cli --quiet
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/perf/cryptolens"
phase_done

phase "detection, native ($CANDLES candles)"
"$BIN" bench --candles "$CANDLES" --json > "$OUT/detect-native.json"
phase_done

phase "detection, wasm32-wasip1 under Node ($CANDLES candles)"
bash "$ROOT/scripts/bench-wasm.sh" --candles "$CANDLES" --json > "$OUT/detect-wasm.json"
phase_done

if "$BIN" help 2>/dev/null | grep -q "bench-replay"; then
  phase "replay: 14 days of 1m candles, one run and minute by minute"
  "$BIN" bench-replay --json > "$OUT/replay.json"
  phase_done
fi

for extra in "$ROOT"/scripts/bench.d/*.sh; do
  [ -e "$extra" ] || continue
  phase "$(basename "$extra" .sh)"
  bash "$extra" "$OUT"
  phase_done
done

python3 "$ROOT/scripts/bench_report.py" "$OUT" > "$ROOT/target/bench-report.md"
cat "$ROOT/target/bench-report.md"
echo; echo "written: target/bench-report.md"
