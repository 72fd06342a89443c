#!/usr/bin/env bash
# ./run fuzz [SECONDS] [TARGET...]: runs each cargo-fuzz target (fuzz/fuzz_targets) for a
# bounded time (default 60 s each). Not part of ./run test: fuzzing is open-ended. A crash
# leaves its input in fuzz/artifacts/<target>/; turn it into a regression test next to the
# code it broke, then fix the code.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"

CARGO_FUZZ_VERSION="0.13.2"
secs="${1:-60}"; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(candle_input klines webhooks api_request)

ensure_rust
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io (one-off)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

# libFuzzer's instrumentation flags are nightly-only; the pinned stable toolchain accepts them
# for this crate alone. No sanitizer: the workspace forbids `unsafe`, so the failures worth
# finding are panics, 500s and broken invariants, which the targets assert.
export RUSTC_BOOTSTRAP=1
status=0
for t in "${targets[@]}"; do
  phase "fuzz $t (${secs}s)"
  mkdir -p "corpus/$t"
  if cargo fuzz run -s none "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 \
       > "$ROOT/target/fuzz-$t.log" 2>&1; then
    grep -E "^Done|stat::number_of_executed_units" "$ROOT/target/fuzz-$t.log" | sed 's/^/    /'
  else
    status=1
    tail -n 40 "$ROOT/target/fuzz-$t.log"
    echo "    CRASH in $t: input saved under fuzz/artifacts/$t/"
  fi
  phase_done
done
exit $status
