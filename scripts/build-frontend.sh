#!/usr/bin/env bash
# Builds the Leptos CSR web app into frontend/dist/ (served by the worker as static assets).
#
#   cargo (wasm-release profile, wasm32) -> wasm-bindgen --target web -> wasm-opt -Oz (npm binaryen)
#   -> copy frontend/public/* -> print the wasm size (raw / gzip / brotli).
#
# Needs: the wasm32-unknown-unknown target, `wasm-bindgen` on PATH with the same version as the
# wasm-bindgen crate in Cargo.lock, and `npm ci` (for node_modules/.bin/wasm-opt; optional).
# Respects CARGO_TARGET_DIR (default: target/). Idempotent: dist/ is rebuilt from scratch.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
PROFILE=wasm-release
TRIPLE=wasm32-unknown-unknown
# FRONTEND_DIST keeps parallel builds apart (wrangler dev --assets DIR serves another one).
DIST="${FRONTEND_DIST:-$ROOT/frontend/dist}"
PKG="$DIST/pkg"
BUDGET_BROTLI=$((400 * 1024))

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

command -v wasm-bindgen >/dev/null 2>&1 \
  || die "wasm-bindgen not on PATH (cargo install wasm-bindgen-cli --version <the version in Cargo.lock>)"

# The CLI must match the crate exactly, or the generated glue will not load.
lock_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
cli_version="$(wasm-bindgen --version | awk '{ print $2 }')"
if [ -n "$lock_version" ] && [ "$lock_version" != "$cli_version" ]; then
  die "wasm-bindgen CLI $cli_version != wasm-bindgen crate $lock_version in Cargo.lock"
fi

# Leptos' `erase_components` type-erases every component's view (what cargo-leptos does for
# dev builds): about 70 KiB less brotli wasm, same behaviour. RUSTFLAGS replaces the target's
# rustflags of .cargo/config.toml, so the getrandom backend flag is repeated here.
export RUSTFLAGS="${RUSTFLAGS:-} --cfg getrandom_backend=\"wasm_js\" --cfg erase_components"
log "cargo build -p cl-frontend --profile $PROFILE --target $TRIPLE (RUSTFLAGS: $RUSTFLAGS)"
cargo build -p cl-frontend --profile "$PROFILE" --target "$TRIPLE"

WASM_IN=""
for name in cl_frontend cl-frontend; do
  if [ -f "$TARGET_DIR/$TRIPLE/$PROFILE/$name.wasm" ]; then
    WASM_IN="$TARGET_DIR/$TRIPLE/$PROFILE/$name.wasm"
    break
  fi
done
[ -n "$WASM_IN" ] || die "no cl-frontend wasm under $TARGET_DIR/$TRIPLE/$PROFILE"

log "fresh $DIST"
rm -rf "$DIST"
mkdir -p "$PKG"

log "wasm-bindgen $cli_version ($WASM_IN)"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$PKG" --out-name app "$WASM_IN"

WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  log "wasm-opt -Oz ($("$WASM_OPT" --version))"
  "$WASM_OPT" -Oz "$PKG/app_bg.wasm" -o "$PKG/app_bg.opt.wasm"
  mv "$PKG/app_bg.opt.wasm" "$PKG/app_bg.wasm"
else
  warn "node_modules/.bin/wasm-opt missing (run npm ci); shipping the wasm without wasm-opt"
fi

log "copy frontend/public/"
cp -R "$ROOT/frontend/public/." "$DIST/"

# Sizes of what the browser downloads.
WASM_OUT="$PKG/app_bg.wasm"
raw=$(wc -c <"$WASM_OUT")
gz=$(gzip -9 -c "$WASM_OUT" | wc -c)
br=""
if python3 -c 'import brotli' >/dev/null 2>&1; then
  br=$(python3 -c 'import brotli, sys; print(len(brotli.compress(open(sys.argv[1], "rb").read(), quality=11)))' "$WASM_OUT")
elif command -v brotli >/dev/null 2>&1; then
  br=$(brotli -q 11 -c "$WASM_OUT" | wc -c)
elif command -v node >/dev/null 2>&1; then
  # Node's zlib has brotli built in (quality 11 = the maximum, like brotli -q 11).
  br=$(node -e 'const z = require("zlib"), fs = require("fs");
    const out = z.brotliCompressSync(fs.readFileSync(process.argv[1]),
      { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } });
    console.log(out.length);' "$WASM_OUT" 2>/dev/null || true)
fi
js_raw=$(wc -c <"$PKG/app.js")
js_gz=$(gzip -9 -c "$PKG/app.js" | wc -c)

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
br_text="n/a (no python3 brotli, brotli CLI or node)"
if [ -n "$br" ]; then br_text="$br B ($(kib "$br"))"; fi
echo "wasm app_bg.wasm: raw $raw B ($(kib "$raw")) | gzip $gz B ($(kib "$gz")) | brotli $br_text"
echo "glue app.js:      raw $js_raw B ($(kib "$js_raw")) | gzip $js_gz B ($(kib "$js_gz"))"
if [ -n "$br" ] && [ "$br" -gt "$BUDGET_BROTLI" ]; then
  warn "wasm is $(kib "$br") brotli, over the $(kib "$BUDGET_BROTLI") budget"
fi
log "done: $DIST"
