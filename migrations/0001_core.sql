-- CryptoLens Edge, D1 (SQLite) dialect. 0001: accounts and authentication (product.md §10, §11).
-- One logical schema with migrations/postgres/0001_core.sql: same tables, same columns.
-- Conventions: ids INTEGER PRIMARY KEY AUTOINCREMENT; times INTEGER UTC milliseconds; money/prices REAL;
-- enums TEXT + CHECK; ciphertexts TEXT (base64); lists TEXT (comma-separated); JSON as TEXT checked with json_valid.

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    email                 TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    username              TEXT NOT NULL CHECK (length(username) BETWEEN 3 AND 30),
    password_hash         TEXT NOT NULL,
    is_active             INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_verified           INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    is_admin              INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    must_change_password  INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    ntfy_topic            TEXT NOT NULL,
    totp_secret_enc       TEXT,
    totp_key_id           TEXT,
    totp_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    totp_last_step        INTEGER,
    notify_enabled        INTEGER NOT NULL DEFAULT 1 CHECK (notify_enabled IN (0, 1)),
    notify_directions     TEXT NOT NULL DEFAULT 'both' CHECK (notify_directions IN ('both', 'long', 'short')),
    notify_min_confluence INTEGER NOT NULL DEFAULT 2 CHECK (notify_min_confluence BETWEEN 1 AND 7),
    notify_priority       INTEGER NOT NULL DEFAULT 4 CHECK (notify_priority BETWEEN 1 AND 5),
    quiet_start_min       INTEGER CHECK (quiet_start_min BETWEEN 0 AND 1439),
    quiet_end_min         INTEGER CHECK (quiet_end_min BETWEEN 0 AND 1439),
    timezone              TEXT NOT NULL DEFAULT 'UTC',
    risk_per_trade        REAL,
    default_rr            REAL,
    password_changed_at   INTEGER,
    created_at            INTEGER NOT NULL,
    last_login_at         INTEGER
);
CREATE UNIQUE INDEX users_email_uq ON users (email);
CREATE UNIQUE INDEX users_username_lower_uq ON users (lower(username));
CREATE UNIQUE INDEX users_ntfy_topic_uq ON users (ntfy_topic);
CREATE INDEX users_notify_idx ON users (is_active, is_verified, notify_enabled);

CREATE TABLE auth_lockouts (
    acct_hash       TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER,
    locked_until    INTEGER,
    lock_count      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash          TEXT PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_secret         TEXT NOT NULL,
    stage               TEXT NOT NULL CHECK (stage IN ('pending_2fa', 'full')),
    view_as             TEXT CHECK (view_as IN ('free', 'pro', 'premium')),
    totp_failures       INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    reauth_at           INTEGER,
    ip                  TEXT,
    user_agent          TEXT CHECK (length(user_agent) <= 200)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE auth_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    token_hash TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE UNIQUE INDEX auth_tokens_hash_uq ON auth_tokens (token_hash);
CREATE INDEX auth_tokens_user_purpose_idx ON auth_tokens (user_id, purpose);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (length(name) <= 50),
    prefix       TEXT NOT NULL,
    key_hmac     TEXT NOT NULL,
    last4        TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'expired', 'revoked')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    per_min      INTEGER NOT NULL DEFAULT 60,
    per_hour     INTEGER NOT NULL DEFAULT 1000,
    per_day      INTEGER NOT NULL DEFAULT 10000,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_keys_prefix_uq ON api_keys (prefix);
CREATE UNIQUE INDEX api_keys_hmac_uq ON api_keys (key_hmac);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE api_key_ip_rules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id     INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    action     TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    cidr       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_key_ip_rules_key_idx ON api_key_ip_rules (key_id);

CREATE TABLE api_key_usage (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id        INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hour_start    INTEGER NOT NULL,
    request_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_key_usage_key_hour_uq ON api_key_usage (key_id, hour_start);

CREATE TABLE exchange_credentials (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exchange       TEXT NOT NULL,
    label          TEXT NOT NULL,
    api_key_enc    TEXT NOT NULL,
    api_secret_enc TEXT NOT NULL,
    passphrase_enc TEXT,
    enc_key_id     TEXT NOT NULL,
    last4          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX exchange_credentials_uq ON exchange_credentials (user_id, exchange, label);
