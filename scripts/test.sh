#!/usr/bin/env bash
# ./run test: every check and test, against real parts (workerd, PostgreSQL, Chromium).
# Prints each phase with its time and ends with one line: "total: N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

LOGS="$ROOT/target/test-logs"; rm -rf "$LOGS"; mkdir -p "$LOGS"
PASSED=0; FAILED=0; FAILED_PHASES=()
T0=$(date +%s)
STARTED_PIDS=()

cleanup() {
  for pid in "${STARTED_PIDS[@]:-}"; do [ -n "$pid" ] && kill -- -"$pid" 2>/dev/null; done
  bash "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

count_cargo() { # sums "test result: ... N passed; M failed" lines of a cargo test log
  awk '/^test result:/ { for (i=1;i<=NF;i++) { if ($(i+1) ~ /^passed/) p+=$i; if ($(i+1) ~ /^failed/) f+=$i } }
       END { printf "%d %d\n", p, f }' "$1"
}
count_node() { awk '/^# pass / {p+=$3} /^# fail / {f+=$3} END { printf "%d %d\n", p, f }' "$1"; }
count_playwright() {
  awk '/^ +[0-9]+ passed/ {p+=$1} /^ +[0-9]+ failed/ {f+=$1} /^ +[0-9]+ flaky/ {f+=$1} END { printf "%d %d\n", p, f }' "$1"
}

# check NAME CMD...: a pass/fail step (fmt, clippy, builds) that counts as one test.
check() {
  local name="$1"; shift
  phase "$name"
  if "$@" > "$LOGS/$name.log" 2>&1; then
    PASSED=$((PASSED + 1)); phase_done
  else
    FAILED=$((FAILED + 1)); FAILED_PHASES+=("$name")
    tail -n 60 "$LOGS/$name.log"; echo "    FAILED: $name (full log: $LOGS/$name.log)"
  fi
}

# suite NAME COUNTER CMD...: a test runner whose own counts are added to the totals.
suite() {
  local name="$1" counter="$2"; shift 2
  phase "$name"
  "$@" > "$LOGS/$name.log" 2>&1; local rc=$?
  read -r p f < <("$counter" "$LOGS/$name.log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # a crash before any result is a failure
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "    no tests ran in $name"; fi
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  if [ "$f" -ne 0 ]; then
    FAILED_PHASES+=("$name"); tail -n 80 "$LOGS/$name.log"
  fi
  printf '    %s: %d passed, %d failed\n' "$name" "$p" "$f"; phase_done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------
phase "tools"
ensure_tools
apt_install chromium
ensure_dev_vars
phase_done

HOST_EXCLUDES=(--exclude cl-worker --exclude cl-frontend --exclude cl-d1-contract)
WASM_CRATES=(-p cl-domain -p cl-api-types -p cl-api -p cl-auth -p cl-app -p cl-worker -p cl-frontend
             -p cl-store-d1 -p cl-d1-contract -p cl-outbound -p cl-billing)

check fmt cargo fmt --all --check
ensure_cargo_deny && ensure_advisory_db
check deny-policy cargo deny --locked check licenses bans sources
check deny-advisories cargo deny --offline --locked check advisories
check clippy-host cargo clippy --workspace "${HOST_EXCLUDES[@]}" --all-targets --locked -- -D warnings
check clippy-wasm32 cargo clippy --target wasm32-unknown-unknown "${WASM_CRATES[@]}" --locked -- -D warnings

phase "postgres"
if DATABASE_URL_LINE=$(bash "$ROOT/scripts/pg.sh" start 2>"$LOGS/pg.log"); then
  export DATABASE_URL="${DATABASE_URL_LINE#DATABASE_URL=}"
  echo "    PostgreSQL up on loopback"
else
  cat "$LOGS/pg.log"; FAILED=$((FAILED + 1)); FAILED_PHASES+=("postgres")
fi
phase_done

suite host-tests count_cargo cargo test --workspace "${HOST_EXCLUDES[@]}" --locked

check build-frontend bash "$ROOT/scripts/build-frontend.sh"
check build-worker build_worker
check build-d1-contract bash "$ROOT/tests/d1-contract/build.sh"
check build-cli cargo build -p cryptolens-cli --locked   # the cron-vs-replay test runs it
grep -E "wasm:|bytes" "$LOGS/build-worker.log" "$LOGS/build-frontend.log" 2>/dev/null | sed 's/^/    /'

# The fakes' own tests first (they pin the providers' signature vectors the workerd tests use).
suite worker-tests count_node node --test --test-concurrency=1 "$ROOT"/tests/fakes/*.test.mjs \
  "$ROOT"/tests/worker/*.test.mjs

# Browser tests drive Debian's Chromium against the real `wrangler dev` (command 1's server).
phase "start wrangler dev"
PORT=$(free_port); PERSIST="$ROOT/target/wrangler-e2e"; rm -rf "$PERSIST"
# e2e_user EMAIL VAR [create-user options]: a verified account with a random one-time password,
# exported as VAR_EMAIL / VAR_PASSWORD for the browser specs (tests/browser/auth.cjs).
e2e_user() {
  local email="$1" var="$2" password; shift 2
  password="$(local_user "$PERSIST" "$email" "$@")" \
    && export "${var}_EMAIL=$email" "${var}_PASSWORD=$password"
}
{ d1_migrate_local "$PERSIST" && load_demo_data "$PERSIST" \
    && e2e_user admin@example.com E2E --admin --tier premium \
    && e2e_user premium@example.com E2E_PREMIUM --tier premium \
    && e2e_user free@example.com E2E_FREE --tier free \
    && e2e_user fresh@example.com E2E_FRESH --forced-change --tier pro; } > "$LOGS/e2e-data.log" 2>&1 \
  || { tail -n 30 "$LOGS/e2e-data.log"; FAILED=$((FAILED + 1)); FAILED_PHASES+=("e2e-data"); }
# The mail fake receives the verification and reset mails; the account journeys read the
# tokens from it (MAIL_URL). APP_URL must be this server's origin for the CSRF origin check.
MAIL_KEY="e2e-mail-$RANDOM$RANDOM"
setsid node "$ROOT/tests/fakes/mail.mjs" --port 0 --api-key "$MAIL_KEY" > "$LOGS/mail-fake.log" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 1 50); do grep -qo 'http://127.0.0.1:[0-9]*' "$LOGS/mail-fake.log" && break; sleep 0.2; done
MAIL_URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$LOGS/mail-fake.log" | head -n1)"
setsid npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST" \
  --var "APP_URL:http://127.0.0.1:$PORT" --var "MAIL_BASE_URL:$MAIL_URL" --var "MAIL_API_KEY:$MAIL_KEY" \
  > "$LOGS/wrangler-dev.log" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 1 90); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/health/live" >/dev/null 2>&1 && break; sleep 1
done
phase_done
suite browser-tests count_playwright env BASE_URL="http://127.0.0.1:$PORT" MAIL_URL="$MAIL_URL" \
  npx playwright test -c "$ROOT/tests/browser/playwright.config.cjs" --reporter=list

# A short schemathesis run against the same worker, signed in with an API key of the premium
# user: every generated request gets a documented, schema-conformant, non-5xx answer
# (`./run api-fuzz` runs longer).
check api-schema env ST_EMAIL="${E2E_PREMIUM_EMAIL:-}" ST_PASSWORD="${E2E_PREMIUM_PASSWORD:-}" \
  bash "$ROOT/scripts/schemathesis.sh" --url "http://127.0.0.1:$PORT" 30

# ---------------------------------------------------------------------------------------
echo
echo "total time: $(( $(date +%s) - T0 ))s; logs in target/test-logs/"
[ ${#FAILED_PHASES[@]} -gt 0 ] && echo "failed phases: ${FAILED_PHASES[*]}"
echo "total: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
