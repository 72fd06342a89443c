-- CryptoLens Edge, Postgres dialect. 0007: seed rows. The scheduled jobs of product.md §4 and
-- the default settings (detection.md §6 signal defaults, §4 retention policy, §9 admin
-- settings). Idempotent: re-running inserts nothing. No accounts are seeded (§11.18).

INSERT INTO cron_jobs (name, schedule, description, is_enabled, updated_at) VALUES
    ('pipeline',      '* * * * *',   'fetch, aggregate, detect, status, signals, notify, expiry, matrix cache', TRUE, 0),
    ('dispatch',      '* * * * *',   'due delayed/scheduled notifications; continue chunked backtests, optimizer, historical fetches', TRUE, 0),
    ('stats',         '*/5 * * * *', 'recompute the stats cache', TRUE, 0),
    ('gaps',          '0 * * * *',   'refetch missing 1m ranges of the last 48 h; record confirmed-empty ranges', TRUE, 0),
    ('db-health',     '0 3 * * *',   'gap scan, bucket alignment, OHLC sanity, continuity, re-aggregation', TRUE, 0),
    ('cleanup',       '0 3 * * *',   'retention deletes in batches of at most 5000 rows (after db-health)', TRUE, 0),
    ('subscriptions', '0 6 * * *',   'expire subscriptions; expiry warnings 7, 3 and 1 days before', TRUE, 0)
ON CONFLICT (name) DO NOTHING;

INSERT INTO settings (key, value, updated_at) VALUES
    ('signal.min_confluence',        '3',            0),
    ('signal.require_htf',           'true',         0),
    ('signal.cooldown_hours',        '4',            0),
    ('signal.default_rr',            '3',            0),
    ('signal.min_risk_pct',          '0.5',          0),
    ('detection.min_zone_pct',       '0.15',         0),
    ('symbols.fetch_start_date',     '"2024-01-01"', 0),
    ('notify.global_topic',          'null',         0),
    ('notify.global_topic_enabled',  'false',        0),
    ('log.level',                    '"info"',       0),
    ('retention.candles_1m_days',             '30',   0),
    ('retention.candles_higher_days',         'null', 0),
    ('retention.payments_days',               'null', 0),
    ('retention.audit_log_days',              'null', 0),
    ('retention.logs_days',                   '30',   0),
    ('retention.cron_runs_days',              '30',   0),
    ('retention.notifications_days',          '90',   0),
    ('retention.ended_patterns_days',         '365',  0),
    ('retention.resolved_errors_days',        '90',   0),
    ('retention.sessions_tokens_days',        '1',    0),
    ('retention.api_key_usage_days',          '90',   0),
    ('retention.webhook_events_days',         '180',  0),
    ('retention.batch_size',                  '5000', 0)
ON CONFLICT (key) DO NOTHING;
