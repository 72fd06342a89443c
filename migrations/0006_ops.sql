-- CryptoLens Edge, D1 (SQLite) dialect. 0006: settings, caches, scheduler, logs, errors, audit
-- (product.md §4, §9, §12).

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE stats_cache (
    key         TEXT PRIMARY KEY,
    data        TEXT NOT NULL CHECK (json_valid(data)),
    computed_at INTEGER NOT NULL
);

CREATE TABLE cron_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    schedule    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (is_enabled IN (0, 1)),
    -- Per-job resume state (e.g. per-symbol cursors), JSON.
    cursor      TEXT CHECK (cursor IS NULL OR json_valid(cursor)),
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX cron_jobs_name_uq ON cron_jobs (name);

CREATE TABLE cron_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES cron_jobs (id) ON DELETE CASCADE,
    trigger     TEXT NOT NULL DEFAULT 'cron' CHECK (trigger IN ('cron', 'manual')),
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    duration_ms INTEGER,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'ok', 'partial', 'failed', 'skipped')),
    error       TEXT,
    counts      TEXT CHECK (counts IS NULL OR json_valid(counts))
);
CREATE INDEX cron_runs_job_started_idx ON cron_runs (job_id, started_at DESC);
CREATE INDEX cron_runs_started_idx ON cron_runs (started_at);

CREATE TABLE logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         INTEGER NOT NULL,
    category   TEXT NOT NULL CHECK (category IN ('fetch', 'aggregate', 'scan', 'signal', 'notify', 'system',
                   'error', 'auth', 'user', 'trade', 'payment', 'backtest', 'api', 'admin', 'csp')),
    level      TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message    TEXT NOT NULL,
    symbol     TEXT,
    tf         TEXT,
    details    TEXT CHECK (details IS NULL OR json_valid(details)),
    request_id TEXT
);
CREATE INDEX logs_ts_idx ON logs (ts DESC);
CREATE INDEX logs_category_level_ts_idx ON logs (category, level, ts);

CREATE TABLE error_logs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint       TEXT NOT NULL,
    kind              TEXT NOT NULL,
    source            TEXT NOT NULL,
    message           TEXT NOT NULL,
    first_seen        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    occurrences       INTEGER NOT NULL DEFAULT 1,
    status            TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'resolved', 'ignored')),
    sample_request_id TEXT,
    sample            TEXT CHECK (sample IS NULL OR json_valid(sample)),
    last_alert_at     INTEGER
);
CREATE UNIQUE INDEX error_logs_fingerprint_uq ON error_logs (fingerprint);
CREATE INDEX error_logs_status_last_seen_idx ON error_logs (status, last_seen);

-- Append-only: no job deletes from it (product.md §11.23).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    details    TEXT CHECK (details IS NULL OR json_valid(details)),
    ip         TEXT,
    request_id TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target);
