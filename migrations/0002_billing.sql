-- CryptoLens Edge, D1 (SQLite) dialect. 0002: subscriptions and payments (product.md §6, §10).

CREATE TABLE subscriptions (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id                  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan                     TEXT NOT NULL CHECK (plan IN ('pro', 'premium', 'lifetime')),
    status                   TEXT NOT NULL CHECK (status IN ('active', 'expired', 'cancelled', 'suspended')),
    starts_at                INTEGER NOT NULL,
    expires_at               INTEGER,
    cancelled_at             INTEGER,
    provider                 TEXT CHECK (provider IN ('lemonsqueezy', 'nowpayments', 'admin')),
    external_subscription_id TEXT,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_user_uq ON subscriptions (user_id);
CREATE INDEX subscriptions_status_expires_idx ON subscriptions (status, expires_at);

CREATE TABLE payments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('lemonsqueezy', 'nowpayments')),
    external_id     TEXT,
    plan            TEXT NOT NULL CHECK (plan IN ('pro', 'premium', 'lifetime')),
    cycle           TEXT NOT NULL CHECK (cycle IN ('monthly', 'yearly', 'lifetime')),
    amount          REAL NOT NULL CHECK (amount >= 0),
    currency        TEXT NOT NULL,
    crypto_currency TEXT,
    crypto_amount   REAL,
    actually_paid   REAL,
    pay_address     TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'completed', 'failed', 'refunded', 'expired')),
    flagged         INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    completed_at    INTEGER,
    expires_at      INTEGER
);
CREATE UNIQUE INDEX payments_provider_external_uq ON payments (provider, external_id);
CREATE INDEX payments_user_created_idx ON payments (user_id, created_at);

CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider    TEXT NOT NULL CHECK (provider IN ('lemonsqueezy', 'nowpayments')),
    event_key   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    payment_id  INTEGER REFERENCES payments (id) ON DELETE SET NULL,
    outcome     TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_events_provider_key_uq ON webhook_events (provider, event_key);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);

CREATE TABLE expiry_warnings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL,
    days_before     INTEGER NOT NULL CHECK (days_before IN (1, 3, 7)),
    sent_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX expiry_warnings_uq ON expiry_warnings (subscription_id, expires_at, days_before);
