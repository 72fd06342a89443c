-- CryptoLens Edge, D1 (SQLite) dialect. 0009: the scheduler's lease (product.md §4). A run
-- takes its job's lease with ONE atomic statement, `UPDATE cron_jobs SET lease_until = ?
-- WHERE name = ? AND is_enabled = 1 AND (lease_until IS NULL OR lease_until <= now)`, so two
-- triggers of the same minute (two isolates) can never both run the job. NULL: never taken
-- or released. KV may cache it in front (eventually consistent), never instead.

ALTER TABLE cron_jobs ADD COLUMN lease_until INTEGER;
