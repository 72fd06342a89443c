#!/usr/bin/env bash
# Builds the test-only D1 contract worker (tests/d1-contract) into tests/d1-contract/build/
# (git-ignored), for tests/worker/d1-contract.test.mjs.
#
#   tests/d1-contract/build.sh            # --dev: the default, compiles much faster (see README.md)
#   tests/d1-contract/build.sh --release  # the production profile (lto, opt-level s, wasm-opt)
#
# Offline-safe: worker-build uses the wasm-bindgen CLI on PATH (same version as the pinned
# library) and the npm binaryen's wasm-opt instead of downloading them (docs: edge-stack.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-wasm-bindgen}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$root/node_modules/.bin/wasm-opt}"
profile="${1:---dev}"
case "$profile" in
  --dev | --release) ;;
  *) echo "usage: $0 [--dev|--release]" >&2; exit 2 ;;
esac
# D1_CONTRACT_OUT (relative to tests/d1-contract, default build) keeps parallel builds apart;
# the test file reads the same variable.
out="${D1_CONTRACT_OUT:-build}"
cd "$here"
worker-build "$profile" --out-dir "$out"
test -f "$out/index.js"
