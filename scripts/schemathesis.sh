#!/usr/bin/env bash
# ./run api-fuzz [SECONDS]: schemathesis (from PyPI, pinned, in a local venv) generates
# requests from /api/v1/openapi.json and checks every answer against the document: no 5xx,
# documented status codes, content types, headers and response schemas, and invalid input
# rejected. Against a local worker only (127.0.0.1).
#
#   scripts/schemathesis.sh [SECONDS]                 starts its own wrangler dev with demo data
#   scripts/schemathesis.sh --url http://127.0.0.1:P  uses a running worker (./run test does
#                                                      this with a short budget)
# Authenticated routes: with ST_EMAIL/ST_PASSWORD (a premium account; the standalone mode
# creates one) every request carries a fresh API key of scope `all`, so the reads are fuzzed
# past the gate; session-only routes still answer 401, as documented.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

SCHEMATHESIS_VERSION="4.32.5"
VENV="$ROOT/target/venv-schemathesis"
url=""; secs=120
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    *) secs="$1"; shift ;;
  esac
done

if [ "$("$VENV/bin/st" --version 2>/dev/null | awk '{print $3}')" != "$SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into target/venv-schemathesis (one-off)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

pid=""
cleanup() { [ -n "$pid" ] && kill -- -"$pid" 2>/dev/null; true; }
trap cleanup EXIT
if [ -z "$url" ]; then
  ensure_tools; ensure_dev_vars
  [ -f "$ROOT/crates/worker/${WORKER_OUT:-build}/index.js" ] || build_worker
  mkdir -p "$ROOT/frontend/dist"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  persist="$ROOT/target/wrangler-schemathesis"; rm -rf "$persist"
  d1_migrate_local "$persist" && load_demo_data "$persist"
  ST_PASSWORD="$(local_user "$persist" fuzz@example.com --tier premium)"
  export ST_EMAIL=fuzz@example.com ST_PASSWORD
  setsid npx wrangler dev --local --ip 127.0.0.1 --port "$port" --persist-to "$persist" \
  --var "APP_URL:http://127.0.0.1:$port" \
    > "$ROOT/target/schemathesis-wrangler.log" 2>&1 &
  pid=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 90); do curl -fsS "$url/api/v1/health/live" >/dev/null 2>&1 && break; sleep 1; done
fi
case "$url" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "refusing non-local URL $url" >&2; exit 2 ;; esac

args=(run "$url/api/v1/openapi.json" --url "$url"
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection
  --max-time "$secs" --workers 1 --seed 20261127 --no-color
  # Under the API key's 10/s, so the answers are the routes' own rather than 429s.
  --rate-limit 8/s
  --suppress-health-check too_slow,filter_too_much
  # The CSP sink reads `application/csp-report`, not JSON: its document says so, but
  # generated bodies are JSON; it is covered by its own tests.
  --exclude-path /api/v1/csp-report)
if [ -n "${ST_EMAIL:-}" ]; then
  key="$(LOAD_EMAIL="$ST_EMAIL" LOAD_PASSWORD="$ST_PASSWORD" node "$ROOT/tests/tools/api-key.mjs" --url "$url" --name schemathesis --per-min 1000)"
  args+=(-H "X-API-Key: $key")
fi
# The key's own per-minute limit is raised (default 60/min would answer most cases with a
# documented 429); the 8/s rate stays under the per-key 10/s and the per-IP limit.
"$VENV/bin/st" "${args[@]}"
