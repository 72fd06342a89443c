#!/usr/bin/env bash
# A throwaway PostgreSQL for the store-pg tests, on 127.0.0.1 only.
#
#   scripts/pg.sh start   install PostgreSQL (Debian) if missing, initdb a temp cluster, start it
#                         on a free loopback port, create user/db, write the URL to target/pg/url
#                         and print `DATABASE_URL=...`. Already running → prints the URL again.
#   scripts/pg.sh stop    stop the cluster and remove its data dir. Not running → no-op.
#   scripts/pg.sh url     print the URL of the running cluster (exit 1 when none).
#
# Both commands are idempotent. Postgres refuses to run as root, so when invoked as root the
# server runs as the `postgres` system user (created by the Debian package) via runuser.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$ROOT/target/pg"
URL_FILE="$STATE_DIR/url"
DATA_FILE="$STATE_DIR/datadir"
DB_USER="cryptolens"
DB_PASS="cryptolens_test"
DB_NAME="cryptolens_test"

log() { printf 'pg.sh: %s\n' "$*" >&2; }

find_bin_dir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

ensure_installed() {
    if find_bin_dir >/dev/null; then
        return 0
    fi
    log "PostgreSQL not found; installing from Debian (apt-get install -y postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    find_bin_dir >/dev/null || { log "PostgreSQL install failed"; exit 1; }
}

# Runs a command as the unprivileged server user when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

is_running() {
    [ -f "$DATA_FILE" ] || return 1
    local data bin
    data="$(cat "$DATA_FILE")"
    [ -d "$data" ] || return 1
    bin="$(find_bin_dir)" || return 1
    as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

cmd_start() {
    ensure_installed
    if is_running && [ -f "$URL_FILE" ]; then
        log "already running"
        printf 'DATABASE_URL=%s\n' "$(cat "$URL_FILE")"
        return 0
    fi
    # A stale state dir (e.g. after a reboot) is cleaned first.
    cmd_stop >/dev/null 2>&1 || true

    local bin data port
    bin="$(find_bin_dir)"
    mkdir -p "$STATE_DIR"
    data="$(mktemp -d /tmp/cl-pg.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres: "$data"
    fi
    chmod 700 "$data"
    printf '%s\n' "$data" >"$DATA_FILE"

    local pwfile="$data.pw"
    printf '%s\n' "$DB_PASS" >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg "$bin/initdb" -D "$data/db" -U "$DB_USER" --pwfile="$pwfile" -A scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 \
        || { cat "$data.initdb.log" >&2; rm -f "$pwfile"; exit 1; }
    rm -f "$pwfile"

    port="$(free_port)"
    as_pg "$bin/pg_ctl" -D "$data/db" -l "$data/db/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null
    printf '%s\n' "$data/db" >"$DATA_FILE"

    PGPASSWORD="$DB_PASS" "$bin/psql" -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 -qc \
        "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null

    local url="postgres://$DB_USER:$DB_PASS@127.0.0.1:$port/$DB_NAME"
    printf '%s\n' "$url" >"$URL_FILE"
    log "started on 127.0.0.1:$port (data $data)"
    printf 'DATABASE_URL=%s\n' "$url"
}

cmd_stop() {
    local data bin
    if [ -f "$DATA_FILE" ]; then
        data="$(cat "$DATA_FILE")"
        if bin="$(find_bin_dir)" && [ -d "$data" ]; then
            as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        fi
        # $data is <tmp>/db (or <tmp> before initdb finished); remove the whole temp dir.
        case "$data" in
            /tmp/cl-pg.*/db) rm -rf "$(dirname "$data")" "$(dirname "$data").initdb.log" ;;
            /tmp/cl-pg.*) rm -rf "$data" "$data.initdb.log" ;;
        esac
    fi
    rm -f "$DATA_FILE" "$URL_FILE"
    log "stopped"
}

cmd_url() {
    if is_running && [ -f "$URL_FILE" ]; then
        cat "$URL_FILE"
    else
        exit 1
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
