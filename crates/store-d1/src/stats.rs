//! [`StatsStore`] over D1. Reads are one statement each (the analytics counts one grouped
//! `UNION ALL`, the admin counts one row of aggregate sub-selects, the subscription list one
//! joined keyset page); the settings write is ONE `batch()` (one transaction): an upsert per
//! key plus the audit row.

use crate::admin::{audit_values, audit_where};
use crate::values::{int, opt_int, opt_text, read_int, read_opt_int, text};
use crate::{decode, D1Store};
use cl_app::jobs::maintenance::StatsEntry;
use cl_app::ports::admin::{page_of, validate_page, NewAuditEntry};
use cl_app::ports::stats::{
    validate_settings, AdminCounts, AdminSubscriptionRow, AnalyticsCounts, PatternCount,
    SettingRow, SignalCount, StatsStore, SubscriptionFilter,
};
use cl_app::ports::{Page, PageRequest, SignalStatus, StoreError, SymbolId, UserId};
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use serde::Deserialize;

const ANALYTICS: &str = "\
SELECT 'p' AS kind, symbol_id, tf, pattern_type, direction, status, count(*) AS n FROM patterns
GROUP BY symbol_id, tf, pattern_type, direction, status
UNION ALL
SELECT 's', symbol_id, NULL, NULL, NULL, status, count(*) FROM signals
GROUP BY symbol_id, status";

const CACHED: &str = "SELECT key, data, computed_at FROM stats_cache WHERE key = ?1";

const COUNTS: &str = "\
SELECT * FROM
(SELECT count(*) AS users,
        coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0) AS active,
        coalesce(sum(CASE WHEN is_verified THEN 1 ELSE 0 END), 0) AS verified,
        coalesce(sum(CASE WHEN is_admin THEN 1 ELSE 0 END), 0) AS admins,
        coalesce(sum(CASE WHEN totp_enabled THEN 1 ELSE 0 END), 0) AS totp,
        coalesce(sum(CASE WHEN created_at >= ?2 THEN 1 ELSE 0 END), 0) AS new_users
   FROM users),
(SELECT coalesce(sum(CASE WHEN status = 'active' AND plan = 'pro' THEN 1 ELSE 0 END), 0) AS pro,
        coalesce(sum(CASE WHEN status = 'active' AND plan = 'premium' THEN 1 ELSE 0 END), 0) AS premium,
        coalesce(sum(CASE WHEN status = 'active' AND plan = 'lifetime' THEN 1 ELSE 0 END), 0) AS lifetime,
        coalesce(sum(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS s_active,
        coalesce(sum(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0) AS s_expired,
        coalesce(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS s_cancelled,
        coalesce(sum(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END), 0) AS s_suspended,
        coalesce(sum(CASE WHEN status = 'active' AND expires_at >= ?1 AND expires_at < ?3
                          THEN 1 ELSE 0 END), 0) AS expiring
   FROM subscriptions),
(SELECT coalesce(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS n_queued,
        coalesce(sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0) AS n_sent,
        coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS n_failed,
        coalesce(sum(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END), 0) AS n_skipped
   FROM user_notifications),
(SELECT count(*) AS errors_new FROM error_logs WHERE status = 'new')";

const SUBSCRIPTIONS: &str = "\
SELECT s.id AS id, s.user_id AS user_id, u.email AS email, u.username AS username,
       s.plan AS plan, s.status AS status, s.starts_at AS starts_at, s.expires_at AS expires_at,
       s.provider AS provider, s.created_at AS created_at
FROM subscriptions s JOIN users u ON u.id = s.user_id
WHERE (?1 IS NULL OR s.plan = ?1) AND (?2 IS NULL OR s.status = ?2)
  AND (?3 IS NULL OR (s.expires_at >= ?3 AND s.expires_at < ?4))
  AND (?5 IS NULL OR s.created_at < ?5 OR (s.created_at = ?5 AND s.id < ?6))
ORDER BY s.created_at DESC, s.id DESC LIMIT ?7";

const SETTINGS: &str = "SELECT key, value, updated_at FROM settings ORDER BY key";

const PUT_SETTING: &str = "\
INSERT INTO settings (key, value, updated_at, updated_by)
VALUES (?1, ?2, ?3, (SELECT id FROM users WHERE id = ?4))
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
    updated_by = excluded.updated_by";

const T: &str = "stats";

#[derive(Debug, Deserialize)]
struct CountRow {
    kind: String,
    symbol_id: f64,
    tf: Option<String>,
    pattern_type: Option<String>,
    direction: Option<String>,
    status: String,
    n: f64,
}

#[derive(Debug, Deserialize)]
struct EntryRow {
    key: String,
    data: String,
    computed_at: f64,
}

#[derive(Debug, Deserialize)]
struct AdminRow {
    users: f64,
    active: f64,
    verified: f64,
    admins: f64,
    totp: f64,
    new_users: f64,
    pro: f64,
    premium: f64,
    lifetime: f64,
    s_active: f64,
    s_expired: f64,
    s_cancelled: f64,
    s_suspended: f64,
    expiring: f64,
    n_queued: f64,
    n_sent: f64,
    n_failed: f64,
    n_skipped: f64,
    errors_new: f64,
}

#[derive(Debug, Deserialize)]
struct SubRow {
    id: f64,
    user_id: f64,
    email: String,
    username: String,
    plan: String,
    status: String,
    starts_at: f64,
    expires_at: Option<f64>,
    provider: Option<String>,
    created_at: f64,
}

#[derive(Debug, Deserialize)]
struct SettingDbRow {
    key: String,
    value: String,
    updated_at: f64,
}

fn n(v: f64) -> Result<u64, StoreError> {
    Ok(u64::try_from(read_int(T, None, "count", v)?).unwrap_or(0))
}

fn word<V, E: std::fmt::Display>(table: &'static str, r: Result<V, E>) -> Result<V, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, None, e))
}

fn need(table: &'static str, v: Option<String>) -> Result<String, StoreError> {
    v.ok_or_else(|| StoreError::corrupt(table, None, "missing column"))
}

impl StatsStore for D1Store {
    async fn analytics_counts(&self) -> Result<AnalyticsCounts, StoreError> {
        let res = self.exec(self.stmt(ANALYTICS, &[])?, T).await?;
        let mut out = AnalyticsCounts::default();
        for r in decode::<CountRow>(T, &res)? {
            let symbol = SymbolId(read_int(T, None, "symbol_id", r.symbol_id)?);
            let count = n(r.n)?;
            if r.kind == "p" {
                const P: &str = "patterns";
                out.patterns.push(PatternCount {
                    symbol,
                    tf: word(P, Timeframe::parse(&need(P, r.tf)?))?,
                    pattern_type: word(P, PatternType::parse(&need(P, r.pattern_type)?))?,
                    direction: word(P, Direction::parse(&need(P, r.direction)?))?,
                    status: word(P, PatternStatus::parse(&r.status))?,
                    count,
                });
            } else {
                out.signals.push(SignalCount {
                    symbol,
                    status: word("signals", SignalStatus::parse(&r.status))?,
                    count,
                });
            }
        }
        Ok(out)
    }

    async fn cached_stats(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        let res = self.exec(self.stmt(CACHED, &[text(key)])?, T).await?;
        decode::<EntryRow>("stats_cache", &res)?
            .into_iter()
            .next()
            .map(|r| {
                Ok(StatsEntry {
                    computed_at: read_int("stats_cache", None, "computed_at", r.computed_at)?,
                    key: r.key,
                    data: r.data,
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
        let stmt = self.stmt(
            COUNTS,
            &[
                int("now", now)?,
                int("since", since)?,
                int("expiring before", expiring_before)?,
            ],
        )?;
        let res = self.exec(stmt, T).await?;
        let r = decode::<AdminRow>(T, &res)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::corrupt(T, None, "no counts row"))?;
        Ok(AdminCounts {
            users: n(r.users)?,
            users_active: n(r.active)?,
            users_verified: n(r.verified)?,
            admins: n(r.admins)?,
            users_totp: n(r.totp)?,
            users_new: n(r.new_users)?,
            active_by_plan: [n(r.pro)?, n(r.premium)?, n(r.lifetime)?],
            by_status: [
                n(r.s_active)?,
                n(r.s_expired)?,
                n(r.s_cancelled)?,
                n(r.s_suspended)?,
            ],
            expiring: n(r.expiring)?,
            notifications: [
                n(r.n_queued)?,
                n(r.n_sent)?,
                n(r.n_failed)?,
                n(r.n_skipped)?,
            ],
            errors_new: n(r.errors_new)?,
        })
    }

    async fn admin_subscriptions(
        &self,
        filter: &SubscriptionFilter,
        page: PageRequest,
    ) -> Result<Page<AdminSubscriptionRow>, StoreError> {
        validate_page(page)?;
        let stmt = self.stmt(
            SUBSCRIPTIONS,
            &[
                opt_text(filter.plan.map(Plan::as_str)),
                opt_text(filter.status.map(SubscriptionStatus::as_str)),
                opt_int("expiring from", filter.expiring.map(|e| e.0))?,
                opt_int("expiring to", filter.expiring.map(|e| e.1))?,
                opt_int("cursor ts", page.after.map(|c| c.ts))?,
                opt_int("cursor id", page.after.map(|c| c.id))?,
                int("limit", i64::from(page.limit) + 1)?,
            ],
        )?;
        let res = self.exec(stmt, T).await?;
        const S: &str = "subscriptions";
        let items = decode::<SubRow>(S, &res)?
            .into_iter()
            .map(|r| {
                let id = read_int(S, None, "id", r.id)?;
                Ok(AdminSubscriptionRow {
                    id,
                    user_id: UserId(read_int(S, Some(id), "user_id", r.user_id)?),
                    email: r.email,
                    username: r.username,
                    plan: word(S, Plan::parse(&r.plan))?,
                    status: word(S, SubscriptionStatus::parse(&r.status))?,
                    starts_at: read_int(S, Some(id), "starts_at", r.starts_at)?,
                    expires_at: read_opt_int(S, Some(id), "expires_at", r.expires_at)?,
                    provider: r.provider,
                    created_at: read_int(S, Some(id), "created_at", r.created_at)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(page_of(items, page.limit, AdminSubscriptionRow::cursor))
    }

    async fn settings(&self) -> Result<Vec<SettingRow>, StoreError> {
        let res = self.exec(self.stmt(SETTINGS, &[])?, T).await?;
        decode::<SettingDbRow>("settings", &res)?
            .into_iter()
            .map(|r| {
                Ok(SettingRow {
                    updated_at: read_int("settings", None, "updated_at", r.updated_at)?,
                    key: r.key,
                    value: r.value,
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
        let a = audit_values(audit)?;
        let mut stmts = Vec::with_capacity(values.len() + 1);
        for (k, v) in values {
            stmts.push(self.stmt(
                PUT_SETTING,
                &[text(k), text(v), int("now", now)?, int("actor", actor.0)?],
            )?);
        }
        stmts.push(self.stmt(&audit_where(1, "1"), &a)?);
        self.batch(stmts, "settings").await.map(|_| ())
    }
}
