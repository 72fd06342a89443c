#!/usr/bin/env bash
# Builds the Leptos CSR web app into frontend/dist/ (served by the worker as static assets).
#
#   cargo (wasm-release profile, wasm32; the four apps: cl-frontend, cl-account, cl-trading,
#   cl-admin)
#   -> wasm-bindgen --target web -> wasm-opt -Oz (npm binaryen) -> copy frontend/public/*
#   -> print each wasm's size (raw / gzip / brotli); exit 1 if one is over 400 KiB brotli.
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
log "cargo build -p cl-frontend --bins --profile $PROFILE --target $TRIPLE (RUSTFLAGS: $RUSTFLAGS)"
cargo build -p cl-frontend --bins --profile "$PROFILE" --target "$TRIPLE"

log "fresh $DIST"
rm -rf "$DIST"
mkdir -p "$PKG"

# Four apps (docs/decisions.md, "frontend split"): <cargo bin> <output name>. The user app
# is pkg/app.js + pkg/app_bg.wasm (index.html); account, trading and admin are
# pkg/<name>.js + pkg/<name>_bg.wasm (<name>.html). The worker serves each app's page for its
# paths (cl_api_types::spa).
APPS=("cl-frontend app" "cl-account account" "cl-trading trading" "cl-admin admin")
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
[ -x "$WASM_OPT" ] || warn "node_modules/.bin/wasm-opt missing (run npm ci); shipping the wasm without wasm-opt"
for app in "${APPS[@]}"; do
  read -r bin out <<<"$app"
  wasm_in=""
  for name in "${bin//-/_}" "$bin"; do
    if [ -f "$TARGET_DIR/$TRIPLE/$PROFILE/$name.wasm" ]; then
      wasm_in="$TARGET_DIR/$TRIPLE/$PROFILE/$name.wasm"
      break
    fi
  done
  [ -n "$wasm_in" ] || die "no $bin wasm under $TARGET_DIR/$TRIPLE/$PROFILE"
  log "wasm-bindgen $cli_version ($wasm_in -> pkg/$out)"
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$PKG" --out-name "$out" "$wasm_in"
  if [ -x "$WASM_OPT" ]; then
    log "wasm-opt -Oz pkg/${out}_bg.wasm ($("$WASM_OPT" --version))"
    "$WASM_OPT" -Oz "$PKG/${out}_bg.wasm" -o "$PKG/${out}_bg.opt.wasm"
    mv "$PKG/${out}_bg.opt.wasm" "$PKG/${out}_bg.wasm"
  fi
done

log "copy frontend/public/"
cp -R "$ROOT/frontend/public/." "$DIST/"

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
brotli_size() {
  if python3 -c 'import brotli' >/dev/null 2>&1; then
    python3 -c 'import brotli, sys; print(len(brotli.compress(open(sys.argv[1], "rb").read(), quality=11)))' "$1"
  elif command -v brotli >/dev/null 2>&1; then
    brotli -q 11 -c "$1" | wc -c
  elif command -v node >/dev/null 2>&1; then
    # Node's zlib has brotli built in (quality 11 = the maximum, like brotli -q 11).
    node -e 'const z = require("zlib"), fs = require("fs");
      const out = z.brotliCompressSync(fs.readFileSync(process.argv[1]),
        { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } });
      console.log(out.length);' "$1" 2>/dev/null || true
  fi
}

# Sizes of what the browser downloads, per app.
over=""
for app in "${APPS[@]}"; do
  read -r _ out <<<"$app"
  wasm="$PKG/${out}_bg.wasm"
  raw=$(wc -c <"$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  br="$(brotli_size "$wasm")"
  br_text="n/a (no python3 brotli, brotli CLI or node)"
  if [ -n "$br" ]; then br_text="$br B ($(kib "$br"))"; fi
  js_raw=$(wc -c <"$PKG/$out.js")
  js_gz=$(gzip -9 -c "$PKG/$out.js" | wc -c)
  printf 'wasm %-16s raw %s B (%s) | gzip %s B (%s) | brotli %s\n' "${out}_bg.wasm:" \
    "$raw" "$(kib "$raw")" "$gz" "$(kib "$gz")" "$br_text"
  printf 'glue %-16s raw %s B (%s) | gzip %s B (%s)\n' "$out.js:" \
    "$js_raw" "$(kib "$js_raw")" "$js_gz" "$(kib "$js_gz")"
  if [ -n "$br" ] && [ "$br" -gt "$BUDGET_BROTLI" ]; then
    over="$over ${out}_bg.wasm=$(kib "$br")"
  fi
done
log "done: $DIST"
# Issue #9: every wasm a browser downloads stays within the budget (docs/decisions.md,
# "Frontend size"). Over it, trim or move pages into another app (cl_api_types::spa).
if [ -n "$over" ]; then
  die "over the $(kib "$BUDGET_BROTLI") brotli budget:$over"
fi
if [ -z "$(brotli_size "$PKG/app_bg.wasm")" ]; then
  die "cannot measure brotli sizes (needs python3 brotli, the brotli CLI or node)"
fi
