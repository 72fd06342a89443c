-- CryptoLens Edge, D1 (SQLite) dialect. 0003: market data and detection (product.md §4, §10;
-- detection.md §4, §6, §7). The pipeline's hot tables.

CREATE TABLE symbols (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol           TEXT NOT NULL CHECK (length(symbol) BETWEEN 3 AND 20),
    exchange         TEXT NOT NULL DEFAULT 'binance',
    is_active        INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    notify_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (notify_enabled IN (0, 1)),
    -- UTC ms of the first 1m candle to fetch (default 2024-01-01T00:00:00Z).
    fetch_start_date INTEGER NOT NULL DEFAULT 1704067200000,
    last_1m_ts       INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX symbols_symbol_uq ON symbols (symbol);

CREATE TABLE known_gaps (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol_id      INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    tf             TEXT NOT NULL CHECK (tf IN ('1m', '5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    gap_start      INTEGER NOT NULL,
    gap_end        INTEGER NOT NULL,
    missing        INTEGER NOT NULL,
    reason         TEXT,
    verified_empty INTEGER NOT NULL DEFAULT 0 CHECK (verified_empty IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK (gap_end >= gap_start)
);
CREATE UNIQUE INDEX known_gaps_uq ON known_gaps (symbol_id, tf, gap_start);

-- Candles: the OPEN time `ts` is part of the key, so the fetch/aggregate upsert is idempotent.
CREATE TABLE candles (
    symbol_id   INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    tf          TEXT NOT NULL CHECK (tf IN ('1m', '5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    ts          INTEGER NOT NULL,
    open        REAL NOT NULL,
    high        REAL NOT NULL,
    low         REAL NOT NULL,
    close       REAL NOT NULL,
    volume      REAL NOT NULL,
    verified_at INTEGER,
    PRIMARY KEY (symbol_id, tf, ts)
);

CREATE TABLE patterns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol_id    INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    tf           TEXT NOT NULL CHECK (tf IN ('1m', '5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    pattern_type TEXT NOT NULL CHECK (pattern_type IN ('imbalance', 'order_block', 'liquidity_sweep')),
    direction    TEXT NOT NULL CHECK (direction IN ('bullish', 'bearish')),
    zone_low     REAL NOT NULL,
    zone_high    REAL NOT NULL,
    swept_level  REAL,
    detected_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'filled', 'invalidated', 'expired')),
    filled_at    INTEGER,
    fill_pct     REAL NOT NULL DEFAULT 0,
    entry        REAL NOT NULL,
    stop_loss    REAL NOT NULL,
    tp1          REAL NOT NULL,
    tp2          REAL NOT NULL,
    tp3          REAL NOT NULL,
    risk         REAL NOT NULL,
    rr1          REAL NOT NULL,
    rr2          REAL NOT NULL,
    rr3          REAL NOT NULL,
    created_at   INTEGER NOT NULL,
    CHECK (zone_low <= zone_high)
);
-- Insert-if-absent key (detection.md §4.4; direction included, fixed).
CREATE UNIQUE INDEX patterns_key_uq ON patterns (symbol_id, tf, pattern_type, direction, detected_at);
-- Matrix and confluence votes: latest active pattern per (symbol, tf), ties by id.
CREATE INDEX patterns_matrix_idx ON patterns (status, symbol_id, tf, detected_at DESC, id DESC);
-- Live dedup against active patterns of the same symbol, tf, type and direction.
CREATE INDEX patterns_dedup_idx ON patterns (symbol_id, tf, pattern_type, direction, status);
-- Expiry sweep.
CREATE INDEX patterns_expiry_idx ON patterns (status, expires_at);
-- Newest-first keyset lists.
CREATE INDEX patterns_recent_idx ON patterns (detected_at DESC, id DESC);

CREATE TABLE signals (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol_id          INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    direction          TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    entry              REAL NOT NULL,
    stop_loss          REAL NOT NULL,
    tp1                REAL NOT NULL,
    tp2                REAL NOT NULL,
    tp3                REAL NOT NULL,
    risk_reward        REAL NOT NULL,
    confluence_score   INTEGER NOT NULL CHECK (confluence_score BETWEEN 0 AND 7),
    -- Comma-separated timeframes that agreed, e.g. '5m,1h,4h'.
    timeframes_aligned TEXT NOT NULL,
    pattern_id         INTEGER REFERENCES patterns (id) ON DELETE SET NULL,
    status             TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'notified', 'triggered', 'closed', 'expired', 'cancelled')),
    created_at         INTEGER NOT NULL,
    notified_at        INTEGER
);
-- Cooldown guard of the signal insert.
CREATE INDEX signals_cooldown_idx ON signals (symbol_id, direction, created_at);
CREATE INDEX signals_recent_idx ON signals (created_at DESC, id DESC);
CREATE INDEX signals_status_idx ON signals (status);
