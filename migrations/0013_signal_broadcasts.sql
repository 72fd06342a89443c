-- CryptoLens Edge, D1 (SQLite) dialect. 0013: the pipeline's global-topic sends as broadcasts
-- (product.md §5 "an optional global topic receives every signal"). Each signal sent to the
-- global topic becomes ONE broadcast (audience `topics` = the topic, resolved from the
-- `notify.global_topic` setting when the signal is fanned out) with its delivery row in
-- broadcast_deliveries, so it is claimed, retried and recorded like an admin broadcast. The
-- unique signal_id makes that insert happen once per signal (a re-run adds nothing).

ALTER TABLE broadcast_notifications ADD COLUMN signal_id INTEGER
    REFERENCES signals (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX broadcast_notifications_signal_uq ON broadcast_notifications (signal_id);
