#!/usr/bin/env bash
# Builds `cryptolens` for wasm32-wasip1 (release) and runs `cryptolens bench` under Node's
# node:wasi, so the wasm figures can be compared with the native `cryptolens bench`.
# Usage: scripts/bench-wasm.sh [bench options, e.g. --candles 1000000 --json]
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip1 >/dev/null
cargo build --release -p cryptolens-cli --target wasm32-wasip1
target_dir="${CARGO_TARGET_DIR:-target}"
wasm="$target_dir/wasm32-wasip1/release/cryptolens.wasm"
echo "wasm: $wasm ($(wc -c <"$wasm") bytes)" >&2
# node:wasi still prints an ExperimentalWarning on Node 20; it is noise here.
exec node --no-warnings scripts/run-wasi.mjs "$wasm" bench "$@"
