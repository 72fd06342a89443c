-- CryptoLens Edge, D1 (SQLite) dialect. 0012: admin broadcast delivery (product.md §5, §9).
-- A broadcast moves queued → sending (its recipients are written once, as rows of
-- broadcast_deliveries) → done (counts summed from the rows). A due schedule becomes ONE
-- broadcast: the unique schedule_id makes that insert happen once. Each recipient topic gets
-- ONE delivery row per broadcast (unique (broadcast_id, topic)), claimed with a short lease
-- (claimed_until) by a conditional UPDATE before its send, so a double trigger never sends
-- twice; global-topic and custom-topic sends are rows too (user_id NULL).

ALTER TABLE broadcast_notifications ADD COLUMN status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'sending', 'done'));
ALTER TABLE broadcast_notifications ADD COLUMN schedule_id INTEGER
    REFERENCES scheduled_notifications (id) ON DELETE SET NULL;
-- Broadcasts finished by the older path (counts already set) are done.
UPDATE broadcast_notifications SET status = 'done'
WHERE recipients > 0 OR sent_count > 0 OR failed_count > 0;
CREATE UNIQUE INDEX broadcast_notifications_schedule_uq ON broadcast_notifications (schedule_id);
CREATE INDEX broadcast_notifications_status_idx ON broadcast_notifications (status, id);

CREATE TABLE broadcast_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    broadcast_id  INTEGER NOT NULL REFERENCES broadcast_notifications (id) ON DELETE CASCADE,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    topic         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER,
    error         TEXT,
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER
);
CREATE UNIQUE INDEX broadcast_deliveries_uq ON broadcast_deliveries (broadcast_id, topic);
CREATE INDEX broadcast_deliveries_status_idx ON broadcast_deliveries (broadcast_id, status);
