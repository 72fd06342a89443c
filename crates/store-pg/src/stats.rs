//! [`StatsStore`] over Postgres. Every method is ONE statement: the analytics counts are one
//! grouped `UNION ALL`, the admin counts one row of aggregate sub-selects, the subscription
//! list one joined keyset page, and the settings write one statement whose CTE upserts the
//! keys (`unnest` arrays) and whose outer `INSERT` appends the audit row (atomic by itself).

use crate::admin::{audit_from, AuditValues};
use crate::rows::Keyset;
use crate::{get, parse, PgStore};
use cl_app::jobs::maintenance::StatsEntry;
use cl_app::ports::admin::{page_of, validate_page, NewAuditEntry};
use cl_app::ports::stats::{
    validate_settings, AdminCounts, AdminSubscriptionRow, AnalyticsCounts, PatternCount,
    SettingRow, SignalCount, StatsStore, SubscriptionFilter,
};
use cl_app::ports::{exact_int, Page, PageRequest, SignalStatus, StoreError, SymbolId, UserId};
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use tokio_postgres::types::Type;

const ANALYTICS: &str = "\
SELECT 'p', symbol_id, tf, pattern_type, direction, status, count(*) FROM patterns
GROUP BY symbol_id, tf, pattern_type, direction, status
UNION ALL
SELECT 's', symbol_id, NULL, NULL, NULL, status, count(*) FROM signals
GROUP BY symbol_id, status";

const CACHED: &str = "SELECT key, data::text, computed_at FROM stats_cache WHERE key = $1";

const COUNTS: &str = "\
SELECT u.*, s.*, n.*, e.* FROM
(SELECT count(*),
        coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN is_verified THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN is_admin THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN totp_enabled THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0)
   FROM users) u,
(SELECT coalesce(sum(CASE WHEN status = 'active' AND plan = 'pro' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'active' AND plan = 'premium' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'active' AND plan = 'lifetime' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'active' AND expires_at >= $1 AND expires_at < $3
                          THEN 1 ELSE 0 END), 0)
   FROM subscriptions) s,
(SELECT coalesce(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END), 0)
   FROM user_notifications) n,
(SELECT count(*) FROM error_logs WHERE status = 'new') e";

const SUBSCRIPTIONS: &str = "\
SELECT s.id, s.user_id, u.email, u.username, s.plan, s.status, s.starts_at, s.expires_at,
       s.provider, s.created_at
FROM subscriptions s JOIN users u ON u.id = s.user_id
WHERE ($1::text IS NULL OR s.plan = $1) AND ($2::text IS NULL OR s.status = $2)
  AND ($3::int8 IS NULL OR (s.expires_at >= $3 AND s.expires_at < $4))
  AND ($5::int8 IS NULL OR (s.created_at, s.id) < ($5, $6))
ORDER BY s.created_at DESC, s.id DESC LIMIT $7";

const SETTINGS: &str = "SELECT key, value::text, updated_at FROM settings ORDER BY key";

const T: &str = "stats";

fn n(r: &tokio_postgres::Row, i: usize) -> Result<u64, StoreError> {
    // `sum` of integers is numeric in Postgres; cast once here by reading i64 or numeric text.
    let v: i64 = get(r, i, T)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

impl StatsStore for PgStore<'_> {
    async fn analytics_counts(&self) -> Result<AnalyticsCounts, StoreError> {
        let rows = self.query(ANALYTICS, &[]).await?;
        let mut out = AnalyticsCounts::default();
        for r in &rows {
            let kind: String = get(r, 0, T)?;
            let symbol = SymbolId(get(r, 1, T)?);
            let status: String = get(r, 5, T)?;
            let count = n(r, 6)?;
            if kind == "p" {
                let tf: String = get(r, 2, T)?;
                let ty: String = get(r, 3, T)?;
                let dir: String = get(r, 4, T)?;
                out.patterns.push(PatternCount {
                    symbol,
                    tf: parse(Timeframe::parse(&tf), "patterns", None)?,
                    pattern_type: parse(PatternType::parse(&ty), "patterns", None)?,
                    direction: parse(Direction::parse(&dir), "patterns", None)?,
                    status: parse(PatternStatus::parse(&status), "patterns", None)?,
                    count,
                });
            } else {
                out.signals.push(SignalCount {
                    symbol,
                    status: parse(SignalStatus::parse(&status), "signals", None)?,
                    count,
                });
            }
        }
        Ok(out)
    }

    async fn cached_stats(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        let rows = self.query(CACHED, &[(&key, Type::TEXT)]).await?;
        rows.first()
            .map(|r| {
                Ok(StatsEntry {
                    key: get(r, 0, "stats_cache")?,
                    data: get(r, 1, "stats_cache")?,
                    computed_at: get(r, 2, "stats_cache")?,
                })
            })
            .transpose()
    }

    async fn admin_counts(
        &self,
        now: i64,
        since: i64,
        expiring_before: i64,
    ) -> Result<AdminCounts, StoreError> {
        exact_int("now", now)?;
        exact_int("since", since)?;
        exact_int("expiring before", expiring_before)?;
        let rows = self
            .query(
                COUNTS,
                &[
                    (&now, Type::INT8),
                    (&since, Type::INT8),
                    (&expiring_before, Type::INT8),
                ],
            )
            .await?;
        let r = rows
            .first()
            .ok_or_else(|| StoreError::corrupt(T, None, "no counts row"))?;
        Ok(AdminCounts {
            users: n(r, 0)?,
            users_active: n(r, 1)?,
            users_verified: n(r, 2)?,
            admins: n(r, 3)?,
            users_totp: n(r, 4)?,
            users_new: n(r, 5)?,
            active_by_plan: [n(r, 6)?, n(r, 7)?, n(r, 8)?],
            by_status: [n(r, 9)?, n(r, 10)?, n(r, 11)?, n(r, 12)?],
            expiring: n(r, 13)?,
            notifications: [n(r, 14)?, n(r, 15)?, n(r, 16)?, n(r, 17)?],
            errors_new: n(r, 18)?,
        })
    }

    async fn admin_subscriptions(
        &self,
        filter: &SubscriptionFilter,
        page: PageRequest,
    ) -> Result<Page<AdminSubscriptionRow>, StoreError> {
        validate_page(page)?;
        let plan = filter.plan.map(Plan::as_str);
        let status = filter.status.map(SubscriptionStatus::as_str);
        let (from, to) = match filter.expiring {
            Some((f, t)) => (
                Some(exact_int("expiring from", f)?),
                Some(exact_int("expiring to", t)?),
            ),
            None => (None, None),
        };
        let k = Keyset::of(page);
        let rows = self
            .query(
                SUBSCRIPTIONS,
                &[
                    (&plan, Type::TEXT),
                    (&status, Type::TEXT),
                    (&from, Type::INT8),
                    (&to, Type::INT8),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                ],
            )
            .await?;
        const S: &str = "subscriptions";
        let items = rows
            .iter()
            .map(|r| {
                let id: i64 = get(r, 0, S)?;
                let plan: String = get(r, 4, S)?;
                let status: String = get(r, 5, S)?;
                Ok(AdminSubscriptionRow {
                    id,
                    user_id: UserId(get(r, 1, S)?),
                    email: get(r, 2, S)?,
                    username: get(r, 3, S)?,
                    plan: parse(Plan::parse(&plan), S, Some(id))?,
                    status: parse(SubscriptionStatus::parse(&status), S, Some(id))?,
                    starts_at: get(r, 6, S)?,
                    expires_at: get(r, 7, S)?,
                    provider: get(r, 8, S)?,
                    created_at: get(r, 9, S)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(page_of(items, page.limit, AdminSubscriptionRow::cursor))
    }

    async fn settings(&self) -> Result<Vec<SettingRow>, StoreError> {
        let rows = self.query(SETTINGS, &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(SettingRow {
                    key: get(r, 0, "settings")?,
                    value: get(r, 1, "settings")?,
                    updated_at: get(r, 2, "settings")?,
                })
            })
            .collect()
    }

    async fn put_settings(
        &self,
        values: &[(String, String)],
        actor: UserId,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        validate_settings(values)?;
        let v = AuditValues::of(audit)?;
        exact_int("now", now)?;
        let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        let vals: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
        let sql = format!(
            "WITH s AS (
INSERT INTO settings (key, value, updated_at, updated_by)
SELECT k, v::jsonb, $10, (SELECT id FROM users WHERE id = $11)
FROM unnest($8::text[], $9::text[]) AS u(k, v)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
    updated_by = excluded.updated_by
RETURNING 1) {}",
            audit_from(1, "(SELECT 1 FROM s LIMIT 1) AS one")
        );
        self.query(
            &sql,
            &v.then(&[
                (&keys, Type::TEXT_ARRAY),
                (&vals, Type::TEXT_ARRAY),
                (&now, Type::INT8),
                (&actor.0, Type::INT8),
            ]),
        )
        .await
        .map(|_| ())
    }
}
