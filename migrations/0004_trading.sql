-- CryptoLens Edge, D1 (SQLite) dialect. 0004: portfolio, journal, backtests, optimizer and per-user
-- symbol preferences (product.md §7, §8, §10).

CREATE TABLE portfolios (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(name) <= 50),
    description     TEXT CHECK (length(description) <= 2000),
    initial_balance REAL NOT NULL CHECK (initial_balance > 0),
    current_balance REAL NOT NULL,
    currency        TEXT NOT NULL DEFAULT 'USD' CHECK (currency IN ('USD', 'USDT', 'EUR')),
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX portfolios_user_idx ON portfolios (user_id);

CREATE TABLE trades (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    portfolio_id   INTEGER NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    symbol         TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    tf             TEXT CHECK (tf IN ('1m', '5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    pattern_type   TEXT CHECK (pattern_type IN ('imbalance', 'order_block', 'liquidity_sweep')),
    signal_id      INTEGER REFERENCES signals (id) ON DELETE SET NULL,
    pattern_id     INTEGER REFERENCES patterns (id) ON DELETE SET NULL,
    entry_price    REAL NOT NULL,
    entry_time     INTEGER,
    quantity       REAL NOT NULL,
    stop_loss      REAL,
    take_profit    REAL,
    risk_amount    REAL,
    risk_percent   REAL,
    fees           REAL NOT NULL DEFAULT 0 CHECK (fees >= 0),
    exit_price     REAL,
    exit_time      INTEGER,
    setup_notes    TEXT CHECK (length(setup_notes) <= 2000),
    exit_notes     TEXT CHECK (length(exit_notes) <= 2000),
    lessons        TEXT CHECK (length(lessons) <= 2000),
    pnl_amount     REAL,
    pnl_percent    REAL,
    pnl_r          REAL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'open', 'closed', 'cancelled')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX trades_portfolio_status_idx ON trades (portfolio_id, status, entry_time);
CREATE INDEX trades_portfolio_created_idx ON trades (portfolio_id, created_at);

CREATE TABLE tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) <= 30),
    color       TEXT NOT NULL DEFAULT '#808080' CHECK (length(color) = 7),
    description TEXT CHECK (length(description) <= 200),
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX tags_user_name_uq ON tags (user_id, name);

CREATE TABLE trade_tags (
    trade_id INTEGER NOT NULL REFERENCES trades (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (trade_id, tag_id)
);

CREATE TABLE journal_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id    INTEGER NOT NULL REFERENCES trades (id) ON DELETE CASCADE,
    entry_type  TEXT NOT NULL CHECK (entry_type IN ('pre_trade', 'during', 'post_trade', 'lesson')),
    content     TEXT NOT NULL CHECK (length(content) <= 2000),
    mood        TEXT CHECK (mood IN ('confident', 'neutral', 'fearful', 'greedy', 'fomo', 'revenge')),
    -- JSON array of up to 5 https links.
    screenshots TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(screenshots)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX journal_entries_trade_idx ON journal_entries (trade_id);

CREATE TABLE backtests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT CHECK (length(name) <= 50),
    symbol_id    INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    tf           TEXT NOT NULL CHECK (tf IN ('5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    pattern_type TEXT NOT NULL CHECK (pattern_type IN ('imbalance', 'order_block', 'liquidity_sweep')),
    params       TEXT NOT NULL CHECK (json_valid(params)),
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress     REAL NOT NULL DEFAULT 0,
    cursor       TEXT CHECK (cursor IS NULL OR json_valid(cursor)),
    stats        TEXT CHECK (stats IS NULL OR json_valid(stats)),
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
);
CREATE INDEX backtests_user_created_idx ON backtests (user_id, created_at);

CREATE TABLE backtest_trades (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    backtest_id INTEGER NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    direction   TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    detected_at INTEGER NOT NULL,
    entry_time  INTEGER NOT NULL,
    entry_price REAL NOT NULL,
    exit_time   INTEGER,
    exit_price  REAL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('win', 'loss', 'inconclusive')),
    r           REAL NOT NULL
);
CREATE INDEX backtest_trades_backtest_idx ON backtest_trades (backtest_id);

CREATE TABLE optimization_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    grid        TEXT NOT NULL CHECK (json_valid(grid)),
    scope       TEXT NOT NULL CHECK (json_valid(scope)),
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress    REAL NOT NULL DEFAULT 0,
    cursor      TEXT CHECK (cursor IS NULL OR json_valid(cursor)),
    error       TEXT,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX optimization_jobs_status_idx ON optimization_jobs (status, created_at);

CREATE TABLE optimization_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           INTEGER NOT NULL REFERENCES optimization_jobs (id) ON DELETE CASCADE,
    symbol_id        INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    tf               TEXT NOT NULL CHECK (tf IN ('5m', '15m', '30m', '1h', '2h', '4h', '1d')),
    pattern_type     TEXT NOT NULL CHECK (pattern_type IN ('imbalance', 'order_block', 'liquidity_sweep')),
    params           TEXT NOT NULL CHECK (json_valid(params)),
    params_hash      TEXT NOT NULL,
    rr               REAL NOT NULL,
    sl_buffer_pct    REAL NOT NULL,
    tp_method        TEXT NOT NULL,
    entry_method     TEXT NOT NULL,
    min_zone_pct     REAL NOT NULL,
    overlap          REAL NOT NULL,
    expiry_mult      REAL NOT NULL,
    metrics          TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
    total_profit_pct REAL,
    win_rate         REAL,
    sharpe           REAL,
    trade_count      INTEGER NOT NULL DEFAULT 0,
    last_candle_ts   INTEGER,
    open_trades      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(open_trades)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX optimization_runs_uq ON optimization_runs (job_id, symbol_id, tf, pattern_type, params_hash);
CREATE INDEX optimization_runs_best_profit_idx ON optimization_runs (symbol_id, pattern_type, tf, total_profit_pct);
CREATE INDEX optimization_runs_best_winrate_idx ON optimization_runs (symbol_id, pattern_type, tf, win_rate);
CREATE INDEX optimization_runs_best_sharpe_idx ON optimization_runs (symbol_id, pattern_type, tf, sharpe);

CREATE TABLE user_symbol_preferences (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    symbol_id            INTEGER NOT NULL REFERENCES symbols (id) ON DELETE CASCADE,
    notify_enabled       INTEGER NOT NULL DEFAULT 1 CHECK (notify_enabled IN (0, 1)),
    custom_rr            REAL,
    custom_sl_buffer_pct REAL,
    custom_min_zone_pct  REAL,
    pattern_params       TEXT CHECK (pattern_params IS NULL OR json_valid(pattern_params)),
    params_source        TEXT CHECK (params_source IN ('manual', 'optimizer')),
    optimization_run_id  INTEGER REFERENCES optimization_runs (id) ON DELETE SET NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX user_symbol_preferences_uq ON user_symbol_preferences (user_id, symbol_id);
CREATE INDEX user_symbol_preferences_notify_idx ON user_symbol_preferences (symbol_id, notify_enabled);
