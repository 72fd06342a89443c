#!/usr/bin/env bash
# ./run dev: set everything up on a fresh machine, then serve the app on 127.0.0.1:8787
# with local D1 and KV (state in .wrangler/state), demo data, and the frontend.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
# --fake-exchange: serve klines from the local fake exchange (tests/fakes), so the cron path
# runs end to end offline: trigger it with http://127.0.0.1:$PORT/__scheduled?cron=*+*+*+*+*
FAKE_EXCHANGE=0
for arg in "$@"; do [ "$arg" = "--fake-exchange" ] && FAKE_EXCHANGE=1; done

phase "tools"; ensure_tools; phase_done
phase "frontend"; build_frontend; phase_done
phase "worker"; build_worker; phase_done
ensure_dev_vars
phase "local D1: migrations and demo data"
d1_migrate_local "$ROOT/.wrangler/state"
load_demo_data "$ROOT/.wrangler/state"
# The demo admin gets a fresh random one-time password on every start (no seeded account has
# a known password, product.md §11); it is printed once below, never stored in clear.
ADMIN_SQL="$ROOT/target/demo/admin.sql"; mkdir -p "$(dirname "$ADMIN_SQL")"
ADMIN_LOGIN="$(cargo run --quiet -p cryptolens-cli -- create-user --email admin@example.com \
  --admin --tier premium --sql-out "$ADMIN_SQL")"
npx wrangler d1 execute DB --local --persist-to "$ROOT/.wrangler/state" --file "$ADMIN_SQL" >/dev/null
rm -f "$ADMIN_SQL"
phase_done

EXTRA=()
if [ "$FAKE_EXCHANGE" = 1 ]; then
  FAKE_LOG="$ROOT/target/fake-exchange.log"; mkdir -p "$ROOT/target"
  # The week after the demo data (which ends 2024-06-01T00:00Z), so ticks continue it; every
  # demo symbol (the fake knows only BTC and ETH by default, and answered the others 400).
  node "$ROOT/tests/fakes/exchange.mjs" --port 0 --start 1717200000000 --end 1717804800000 \
    --symbols BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT,BNBUSDT \
    > "$FAKE_LOG" 2>&1 &
  FAKE_PID=$!; trap 'kill $FAKE_PID 2>/dev/null' EXIT
  for _ in $(seq 1 50); do grep -qo 'http://127.0.0.1:[0-9]*' "$FAKE_LOG" && break; sleep 0.2; done
  FAKE_URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$FAKE_LOG" | head -n1)"
  log "fake exchange on $FAKE_URL"
  EXTRA=(--var "EXCHANGE_BASE_URL:$FAKE_URL")
fi

log "CryptoLens Edge is starting on http://127.0.0.1:$PORT  (Ctrl-C to stop)"
log "sign in at http://127.0.0.1:$PORT/login as the demo admin (one-time password, shown once):"
printf '    %s\n' "$ADMIN_LOGIN" >&2
npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$ROOT/.wrangler/state" \
  --test-scheduled "${EXTRA[@]}"
