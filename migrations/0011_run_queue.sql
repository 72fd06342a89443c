-- CryptoLens Edge, D1 (SQLite) dialect. 0011: the run queue (product.md §3 `POST /scan`,
-- `/scan/run`, `/fetch`; §9 quick actions, historical fetch). A request only RECORDS a run
-- here (`queued`); the every-minute dispatch job claims it with ONE conditional
-- `UPDATE … WHERE id = (oldest claimable) AND (still claimable) RETURNING`, so a double trigger
-- never runs a chunk twice. `lease_until` identifies the holder; a chunked run (historical
-- fetch, every active symbol) saves `cursor`/`progress` and clears the lease between ticks.

CREATE TABLE run_queue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('scan', 'full_cycle', 'fetch', 'stats', 'cleanup',
                     'db_health', 'historical_fetch')),
    symbol_id    INTEGER REFERENCES symbols (id) ON DELETE CASCADE,
    tf           TEXT CHECK (tf IS NULL OR tf IN ('1m', '5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    requested_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    source       TEXT NOT NULL CHECK (source IN ('api', 'admin')),
    from_ms      INTEGER,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'ok', 'partial', 'failed')),
    cursor       INTEGER,
    progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    error        TEXT,
    counts       TEXT CHECK (counts IS NULL OR json_valid(counts)),
    cron_run_id  INTEGER REFERENCES cron_runs (id) ON DELETE SET NULL
);
CREATE INDEX run_queue_status_id_idx ON run_queue (status, id);
CREATE INDEX run_queue_requested_by_idx ON run_queue (requested_by, id);
