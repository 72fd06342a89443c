#!/usr/bin/env bash
# Shared set-up for ./run: every step is idempotent and skipped when already done.
# Only crates.io, npm, Debian apt and PyPI are reachable here; nothing below downloads
# a release binary from anywhere else.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# No telemetry, no update checks, no Request.cf fetch, no browser downloads.
export WRANGLER_SEND_METRICS=false
export WRANGLER_SEND_ERROR_REPORTS=false
export WRANGLER_HIDE_BANNER=true
export CLOUDFLARE_CF_FETCH_ENABLED=false
export NO_UPDATE_NOTIFIER=1
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CARGO_TERM_COLOR=never
export PATH="$HOME/.cargo/bin:$PATH"

WASM_BINDGEN_VERSION="$(sed -n '/^name = "wasm-bindgen"$/{n;s/version = "\(.*\)"/\1/p;}' "$ROOT/Cargo.lock" | head -n1)"
WORKER_BUILD_VERSION="0.8.7"
export WASM_BINDGEN_BIN=wasm-bindgen
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"

PHASE_START=0
log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
phase() { PHASE_NAME="$1"; PHASE_START=$(date +%s); log "$1"; }
phase_done() { printf '    (%s: %ss)\n' "$PHASE_NAME" "$(( $(date +%s) - PHASE_START ))"; }

apt_updated=0
apt_install() {
  # apt_install PKG... : installs Debian packages that are missing.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (one-off, ~3-5 min)"
    # --locked fails on this registry mirror (a locked webpki-roots is absent).
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
  fi
  if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
    log "installing worker-build $WORKER_BUILD_VERSION from crates.io (one-off, ~5 min)"
    cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --quiet
  fi
}

ensure_node() {
  command -v node >/dev/null || apt_install nodejs npm
  # npm ci only when the installed tree is older than the lockfile.
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] \
     || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_tools() { ensure_rust; ensure_node; }

CARGO_DENY_VERSION="0.20.2"
ensure_cargo_deny() {
  if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION from crates.io (one-off, ~5 min)"
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --quiet
  fi
}

# cargo-deny wants the advisory DB as a git checkout named by its URL hash; the network can't
# reach it, so the read-only RustSec snapshot in ../shared/advisory-db becomes that checkout.
ensure_advisory_db() {
  local snapshot="$ROOT/../shared/advisory-db"
  local d="$ROOT/target/advisory-db/advisory-db-3157b0e258782691"
  [ -d "$d/.git" ] && return 0
  [ -d "$snapshot" ] || { echo "advisory snapshot missing: $snapshot" >&2; return 1; }
  mkdir -p "$ROOT/target/advisory-db" && cp -r "$snapshot" "$d" && chmod -R u+w "$d"
  git -C "$d" init -q && git -C "$d" add -A
  GIT_COMMITTER_DATE="2026-08-21T08:28:40+02:00" git -C "$d" -c user.name=snapshot \
    -c user.email=snapshot@localhost commit -qm snapshot
}

# Writes .dev.vars with fresh random secrets when it is missing: no default secret exists.
# Non-secret local settings every .dev.vars needs; appended to an older file that lacks them.
DEV_SETTINGS='LEMONSQUEEZY_STORE_ID="1"
LEMONSQUEEZY_VARIANTS="pro_monthly:1001,pro_yearly:1002,premium_monthly:1003,premium_yearly:1004,lifetime:1005"
LEMONSQUEEZY_TEST_MODE="true"
LIFETIME_PRICE_USD="999"'

# The secrets a local run generates (each 32 random bytes, hex).
DEV_SECRETS="SESSION_KEY API_KEY_PEPPER TOTP_ENCRYPTION_KEY CREDENTIALS_ENCRYPTION_KEY LEMONSQUEEZY_WEBHOOK_SECRET NOWPAYMENTS_IPN_SECRET LEMONSQUEEZY_API_KEY NOWPAYMENTS_API_KEY"

ensure_dev_vars() {
  local f="$ROOT/.dev.vars"
  local rnd
  rnd() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  if [ -f "$f" ]; then
    # An older file gains what it lacks: the settings, and a fresh secret for each secret
    # that became required since it was written (never a default value).
    local line name
    while IFS= read -r line; do
      grep -q "^${line%%=*}=" "$f" || printf '%s\n' "$line" >> "$f"
    done <<< "$DEV_SETTINGS"
    for name in $DEV_SECRETS; do
      grep -q "^$name=" "$f" || printf '%s="%s"\n' "$name" "$(rnd)" >> "$f"
    done
    return 0
  fi
  log "generating .dev.vars with fresh random secrets"
  umask 077
  cat > "$f" <<VARS
ENVIRONMENT="development"
APP_URL="http://127.0.0.1:8787"
SESSION_KEY="$(rnd)"
API_KEY_PEPPER="$(rnd)"
TOTP_ENCRYPTION_KEY="$(rnd)"
CREDENTIALS_ENCRYPTION_KEY="$(rnd)"
LEMONSQUEEZY_WEBHOOK_SECRET="$(rnd)"
NOWPAYMENTS_IPN_SECRET="$(rnd)"
# Provider API keys: replace with the keys the providers issue to use real checkouts.
LEMONSQUEEZY_API_KEY="$(rnd)"
NOWPAYMENTS_API_KEY="$(rnd)"
# Checkout settings of the local fakes (variant ids of a test store).
$DEV_SETTINGS
VARS
}

build_worker() {
  log "building the worker (worker-build --release)"
  # WORKER_OUT (relative to crates/worker, default build) keeps parallel builds apart; the
  # worker tests read the same variable.
  local out="${WORKER_OUT:-build}"
  (cd "$ROOT/crates/worker" && worker-build --release --out-dir "$out")
  local wasm="$ROOT/crates/worker/$out/index_bg.wasm"
  [ -f "$wasm" ] || wasm="$(ls "$ROOT/crates/worker/$out"/*.wasm | head -n1)"
  printf '    worker wasm: %s bytes raw, %s bytes gzip\n' "$(wc -c < "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
}

build_frontend() {
  log "building the frontend (cargo + wasm-bindgen + wasm-opt)"
  bash "$ROOT/scripts/build-frontend.sh"
}

# Deterministic demo data (symbols, candles on every TF, patterns, signals), generated by
# the same pipeline the cron job runs (`cryptolens demo-sql`) and loaded idempotently.
load_demo_data() {
  # load_demo_data PERSIST_DIR
  local sql="$ROOT/target/demo/demo.sql"
  if [ ! -s "$sql" ]; then
    mkdir -p "$(dirname "$sql")"
    (cd "$ROOT" && cargo run --quiet -p cryptolens-cli -- demo-sql --out "$sql.tmp") && mv "$sql.tmp" "$sql"
  fi
  (cd "$ROOT" && npx wrangler d1 execute DB --local --persist-to "$1" --file "$sql" >/dev/null)
}

# local_user PERSIST_DIR EMAIL [--forced-change] [create-user options]: creates (or resets) a
# verified test account in the local D1 with a random password (`cryptolens create-user`) and
# prints that password on stdout. The SQL file never holds the password, only its hash.
# Test fixtures sign in with it as is (`--no-forced-change`), unless --forced-change keeps the
# first-login password change every real account gets.
local_user() {
  local persist="$1" email="$2" sql out forced=(--no-forced-change); shift 2
  if [ "${1:-}" = --forced-change ]; then forced=(); shift; fi
  sql="$(mktemp "$ROOT/target/local-user.XXXXXX.sql")"
  out="$(cd "$ROOT" && cargo run --quiet -p cryptolens-cli -- create-user --email "$email" --sql-out "$sql" "${forced[@]}" "$@")" \
    && (cd "$ROOT" && npx wrangler d1 execute DB --local --persist-to "$persist" --file "$sql" >/dev/null) \
    || { rm -f "$sql"; return 1; }
  rm -f "$sql"
  sed -n 's/^password: //p' <<<"$out"
}

d1_migrate_local() {
  # d1_migrate_local PERSIST_DIR
  (cd "$ROOT" && npx wrangler d1 migrations apply DB --local --persist-to "$1" >/dev/null)
}
