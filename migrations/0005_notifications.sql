-- CryptoLens Edge, D1 (SQLite) dialect. 0005: notifications (product.md §5, §9, §10).

CREATE TABLE user_notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    signal_id  INTEGER NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    status     TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    deliver_at INTEGER NOT NULL,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX user_notifications_uq ON user_notifications (user_id, signal_id);
CREATE INDEX user_notifications_due_idx ON user_notifications (status, deliver_at);
CREATE INDEX user_notifications_daily_cap_idx ON user_notifications (user_id, status, sent_at);

CREATE TABLE notification_templates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL CHECK (length(name) <= 50),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    priority   INTEGER NOT NULL DEFAULT 4 CHECK (priority BETWEEN 1 AND 5),
    tags       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX notification_templates_name_uq ON notification_templates (name);

CREATE TABLE broadcast_notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    audience    TEXT NOT NULL CHECK (audience IN ('all', 'free', 'pro', 'premium', 'topics')),
    topics      TEXT,
    template_id INTEGER REFERENCES notification_templates (id) ON DELETE SET NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 4 CHECK (priority BETWEEN 1 AND 5),
    tags        TEXT NOT NULL DEFAULT '',
    recipients  INTEGER NOT NULL DEFAULT 0,
    sent_count  INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX broadcast_notifications_created_idx ON broadcast_notifications (created_at);

CREATE TABLE scheduled_notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    send_at     INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'sent', 'cancelled', 'failed')),
    audience    TEXT NOT NULL CHECK (audience IN ('all', 'free', 'pro', 'premium', 'topics')),
    topics      TEXT,
    template_id INTEGER REFERENCES notification_templates (id) ON DELETE SET NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 4 CHECK (priority BETWEEN 1 AND 5),
    tags        TEXT NOT NULL DEFAULT '',
    broadcast_id INTEGER REFERENCES broadcast_notifications (id) ON DELETE SET NULL,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX scheduled_notifications_due_idx ON scheduled_notifications (status, send_at);

-- Channel deliveries outside the per-user fan-out: the global firehose topic, broadcasts,
-- scheduled sends and admin tests.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('firehose', 'broadcast', 'scheduled', 'test')),
    topic        TEXT NOT NULL,
    signal_id    INTEGER REFERENCES signals (id) ON DELETE SET NULL,
    broadcast_id INTEGER REFERENCES broadcast_notifications (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
CREATE INDEX notifications_status_idx ON notifications (status, created_at);
CREATE INDEX notifications_broadcast_idx ON notifications (broadcast_id);
