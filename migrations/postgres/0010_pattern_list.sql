-- CryptoLens Edge, PostgreSQL dialect. 0010: indexes of the paged pattern list
-- (PatternStore::list_patterns, GET /api/v1/patterns): newest first by (detected_at, id),
-- keyset-paged, for one status (the API always names one), optionally one symbol. Status +
-- symbol + TF is served by patterns_matrix_idx, no status by patterns_recent_idx. The walk
-- stops after limit + 1 rows instead of sorting every row of the status.

CREATE INDEX patterns_status_recent_idx ON patterns (status, detected_at DESC, id DESC);
CREATE INDEX patterns_status_symbol_recent_idx ON patterns (status, symbol_id, detected_at DESC, id DESC);
