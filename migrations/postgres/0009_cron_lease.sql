-- CryptoLens Edge, PostgreSQL dialect. 0009: the scheduler's lease (product.md §4). A run
-- takes its job's lease with ONE atomic statement, `UPDATE cron_jobs SET lease_until = $1
-- WHERE name = $2 AND is_enabled AND (lease_until IS NULL OR lease_until <= now)`: concurrent
-- updates of the row re-check the condition after the row lock, so only one run wins. NULL:
-- never taken or released.

ALTER TABLE cron_jobs ADD COLUMN lease_until BIGINT;
