//! [`AdminStore`] over D1.
//!
//! Atomicity: every audited write is ONE `batch()` (one transaction). The audit insert (and,
//! for flag changes, the session delete) is an `INSERT … SELECT … WHERE EXISTS (<the changed
//! row now holds the new value>)`, so it only lands when the change did; a failing statement
//! rolls the whole batch back. The "keep one active admin" guard is inside the `UPDATE`'s
//! `WHERE`; D1 serialises writes, so two admins demoting each other cannot both pass it.

use crate::rows::{SignalRow, SymbolRow};
use crate::values::{count, flag, int, opt_int, opt_text, read_flag, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::ports::admin::{
    like_prefix, page_of, validate_page, AdminStore, AdminUserRow, AuditFilter, ChangeOutcome,
    ErrorOccurrence, ErrorStatus, LogCategory, LogFilter, LogLevel, NewAuditEntry, NewLogEntry,
    StoredAuditEntry, StoredError, StoredLogEntry, SubscriptionSummary, SymbolPatch, UserChange,
    UserFilter,
};
use cl_app::ports::{
    exact_int, BillingSubscription, Cursor, NewSymbol, Page, PageRequest, SignalId, SignalStatus,
    StoreError, StoredSignal, StoredSymbol, SymbolId, UserId,
};
use cl_auth::email::{Email, Username};
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

const AUDIT: &str = "audit_log";
const USER: &str = "user";

/// `INSERT INTO audit_log … SELECT ?first.. WHERE <cond>` (7 parameters from `first`).
pub(crate) fn audit_where(first: usize, cond: &str) -> String {
    let p = |i: usize| format!("?{}", first + i);
    format!(
        "INSERT INTO audit_log (actor_id, action, target, details, ip, request_id, at) \
SELECT {}, {}, {}, {}, {}, {}, {} WHERE {cond}",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6)
    )
}

pub(crate) fn audit_values(e: &NewAuditEntry) -> Result<Vec<JsValue>, StoreError> {
    e.validate()?;
    Ok(vec![
        opt_int("actor", e.actor.map(|a| a.0))?,
        text(&e.action),
        text(&e.target),
        opt_text(e.details.as_deref()),
        opt_text(e.ip.as_deref()),
        opt_text(e.request_id.as_deref()),
        int("audit at", e.at)?,
    ])
}

fn with(mut head: Vec<JsValue>, tail: Vec<JsValue>) -> Vec<JsValue> {
    head.extend(tail);
    head
}

fn cursor(page: PageRequest) -> Result<(JsValue, JsValue), StoreError> {
    Ok((
        opt_int("cursor ts", page.after.map(|c| c.ts))?,
        opt_int("cursor id", page.after.map(|c| c.id))?,
    ))
}

fn fetch_limit(page: PageRequest) -> JsValue {
    count(page.limit.saturating_add(1))
}

const AUDIT_SELECT: &str = "\
SELECT id, actor_id, action, target, details, ip, request_id, at FROM audit_log
WHERE (?1 IS NULL OR actor_id = ?1) AND (?2 IS NULL OR action = ?2)
  AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR at >= ?4)
  AND (?5 IS NULL OR at < ?5) AND (?6 IS NULL OR (at, id) < (?6, ?7))
ORDER BY at DESC, id DESC LIMIT ?8";

const USER_SELECT: &str = "\
SELECT u.id AS id, u.email AS email, u.username AS username, u.is_active AS is_active,
       u.is_verified AS is_verified, u.is_admin AS is_admin, u.totp_enabled AS totp_enabled,
       u.created_at AS created_at, u.last_login_at AS last_login_at, s.plan AS plan,
       s.status AS status, s.expires_at AS expires_at
FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id";

const ERROR_COLS: &str = "id, fingerprint, kind, source, message, first_seen, last_seen, \
occurrences, status, sample_request_id";

const RECORD_ERROR: &str = "\
INSERT INTO error_logs (fingerprint, kind, source, message, first_seen, last_seen, occurrences,
                        status, sample_request_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, 'new', ?6)
ON CONFLICT (fingerprint) DO UPDATE SET
    occurrences = occurrences + 1,
    last_seen = MAX(last_seen, excluded.last_seen),
    sample_request_id = excluded.sample_request_id,
    status = CASE WHEN status = 'resolved' THEN 'new' ELSE status END
RETURNING id";

const LOG_SELECT: &str = "\
SELECT id, ts, category, level, message, symbol, tf, request_id FROM logs
WHERE (?1 IS NULL OR level = ?1) AND (?2 IS NULL OR category = ?2)
  AND (?3 IS NULL OR ts >= ?3) AND (?4 IS NULL OR ts < ?4)
  AND (?5 IS NULL OR (ts, id) < (?5, ?6)) AND (?8 IS NULL OR symbol = ?8)
ORDER BY ts DESC, id DESC LIMIT ?7";

/// Keeps at least one OTHER active admin when the change takes admin rights away.
const KEEP_AN_ADMIN: &str = "(is_admin = 0 OR is_active = 0 OR EXISTS (SELECT 1 FROM users o \
WHERE o.is_admin = 1 AND o.is_active = 1 AND o.id <> ?1))";

#[derive(Debug, Deserialize)]
struct AuditRow {
    id: f64,
    actor_id: Option<f64>,
    action: String,
    target: String,
    details: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
    at: f64,
}

impl TryFrom<AuditRow> for StoredAuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let id = read_int(AUDIT, None, "id", r.id)?;
        Ok(Self {
            id,
            entry: NewAuditEntry {
                actor: read_opt_int(AUDIT, Some(id), "actor_id", r.actor_id)?.map(UserId),
                action: r.action,
                target: r.target,
                details: r.details,
                ip: r.ip,
                request_id: r.request_id,
                at: read_int(AUDIT, Some(id), "at", r.at)?,
            },
        })
    }
}

#[derive(Debug, Deserialize)]
struct UserRow {
    id: f64,
    email: String,
    username: String,
    is_active: f64,
    is_verified: f64,
    is_admin: f64,
    totp_enabled: f64,
    created_at: f64,
    last_login_at: Option<f64>,
    plan: Option<String>,
    status: Option<String>,
    expires_at: Option<f64>,
}

impl TryFrom<UserRow> for AdminUserRow {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        const T: &str = "users";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt(T, at, e);
        let subscription = match (r.plan.as_deref(), r.status.as_deref()) {
            (Some(plan), Some(status)) => Some(SubscriptionSummary {
                plan: Plan::parse(plan).map_err(|e| bad(&e))?,
                status: SubscriptionStatus::parse(status).map_err(|e| bad(&e))?,
                expires_at: read_opt_int(T, at, "expires_at", r.expires_at)?,
            }),
            _ => None,
        };
        Ok(Self {
            id: UserId(id),
            email: Email::parse(&r.email).map_err(|e| bad(&e))?,
            username: Username::parse(&r.username).map_err(|e| bad(&e))?,
            is_active: read_flag(T, at, "is_active", r.is_active)?,
            is_verified: read_flag(T, at, "is_verified", r.is_verified)?,
            is_admin: read_flag(T, at, "is_admin", r.is_admin)?,
            totp_enabled: read_flag(T, at, "totp_enabled", r.totp_enabled)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            last_login_at: read_opt_int(T, at, "last_login_at", r.last_login_at)?,
            subscription,
        })
    }
}

#[derive(Debug, Deserialize)]
struct ErrorRow {
    id: f64,
    fingerprint: String,
    kind: String,
    source: String,
    message: String,
    first_seen: f64,
    last_seen: f64,
    occurrences: f64,
    status: String,
    sample_request_id: Option<String>,
}

impl TryFrom<ErrorRow> for StoredError {
    type Error = StoreError;

    fn try_from(r: ErrorRow) -> Result<Self, StoreError> {
        const T: &str = "error_logs";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(Self {
            id,
            fingerprint: r.fingerprint,
            kind: r.kind,
            source: r.source,
            message: r.message,
            first_seen: read_int(T, at, "first_seen", r.first_seen)?,
            last_seen: read_int(T, at, "last_seen", r.last_seen)?,
            occurrences: read_int(T, at, "occurrences", r.occurrences)?,
            status: ErrorStatus::parse(&r.status).map_err(|e| StoreError::corrupt(T, at, e))?,
            sample_request_id: r.sample_request_id,
        })
    }
}

#[derive(Debug, Deserialize)]
struct LogRow {
    id: f64,
    ts: f64,
    category: String,
    level: String,
    message: String,
    symbol: Option<String>,
    tf: Option<String>,
    request_id: Option<String>,
}

impl TryFrom<LogRow> for StoredLogEntry {
    type Error = StoreError;

    fn try_from(r: LogRow) -> Result<Self, StoreError> {
        const T: &str = "logs";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let bad = |e: cl_domain::UnknownVariant| StoreError::corrupt(T, at, e);
        Ok(Self {
            id,
            entry: NewLogEntry {
                ts: read_int(T, at, "ts", r.ts)?,
                category: LogCategory::parse(&r.category).map_err(bad)?,
                level: LogLevel::parse(&r.level).map_err(bad)?,
                message: r.message,
                symbol: r.symbol,
                tf: r.tf,
                request_id: r.request_id,
            },
        })
    }
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: f64,
}

fn change_column(change: UserChange) -> (&'static str, bool) {
    match change {
        UserChange::Verified(v) => ("is_verified", v),
        UserChange::Active(v) => ("is_active", v),
        UserChange::Admin(v) => ("is_admin", v),
    }
}

impl D1Store {
    /// Runs an audited batch whose FIRST statement returns the changed row(s).
    async fn audited_rows<R, T>(
        &self,
        table: &'static str,
        stmts: Vec<worker::D1PreparedStatement>,
        missing: &'static str,
    ) -> Result<Option<T>, StoreError>
    where
        R: serde::de::DeserializeOwned,
        T: TryFrom<R, Error = StoreError>,
    {
        let results = self.batch(stmts, missing).await?;
        let first = results
            .first()
            .ok_or_else(|| StoreError::Unavailable("d1 batch returned no result".into()))?;
        decode::<R>(table, first)?
            .into_iter()
            .next()
            .map(T::try_from)
            .transpose()
    }
}

impl AdminStore for D1Store {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let stmt = self.stmt(
            "INSERT INTO audit_log (actor_id, action, target, details, ip, request_id, at) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            &audit_values(entry)?,
        )?;
        let res = self.exec(stmt, USER).await?;
        let row = decode::<IdOnly>(AUDIT, &res)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("audit insert returned nothing".into()))?;
        read_int(AUDIT, None, "id", row.id)
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, StoreError> {
        validate_page(page)?;
        let (cts, cid) = cursor(page)?;
        let stmt = self.stmt(
            AUDIT_SELECT,
            &[
                opt_int("actor", filter.actor.map(|a| a.0))?,
                opt_text(filter.action.as_deref()),
                opt_text(filter.target.as_deref()),
                opt_int("since", filter.since)?,
                opt_int("until", filter.until)?,
                cts,
                cid,
                fetch_limit(page),
            ],
        )?;
        let rows = self
            .rows::<AuditRow, StoredAuditEntry>(AUDIT, stmt, USER)
            .await?;
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.entry.at,
            id: r.id,
        }))
    }

    async fn admin_users(
        &self,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<AdminUserRow>, StoreError> {
        validate_page(page)?;
        let (cts, cid) = cursor(page)?;
        let like = filter.search.as_deref().map(like_prefix);
        // SQLite's LIKE ignores ASCII case; the search prefix is lower-case anyway.
        let sql = format!(
            "{USER_SELECT}
WHERE (?1 IS NULL OR u.email LIKE ?1 ESCAPE '\\' OR lower(u.username) LIKE ?1 ESCAPE '\\')
  AND (?2 IS NULL OR (u.created_at, u.id) < (?2, ?3))
ORDER BY u.created_at DESC, u.id DESC LIMIT ?4"
        );
        let stmt = self.stmt(
            &sql,
            &[opt_text(like.as_deref()), cts, cid, fetch_limit(page)],
        )?;
        let rows = self
            .rows::<UserRow, AdminUserRow>("users", stmt, USER)
            .await?;
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.created_at,
            id: r.id.0,
        }))
    }

    async fn admin_user(&self, id: UserId) -> Result<Option<AdminUserRow>, StoreError> {
        let sql = format!("{USER_SELECT} WHERE u.id = ?1");
        let stmt = self.stmt(&sql, &[int("user id", id.0)?])?;
        let rows = self
            .rows::<UserRow, AdminUserRow>("users", stmt, USER)
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn change_user(
        &self,
        user: UserId,
        change: UserChange,
        audit: &NewAuditEntry,
    ) -> Result<ChangeOutcome, StoreError> {
        let a = audit_values(audit)?;
        let (column, value) = change_column(change);
        let removes_admin = matches!(change, UserChange::Admin(false) | UserChange::Active(false));
        let guard = if removes_admin { KEEP_AN_ADMIN } else { "1" };
        let key = || -> Result<Vec<JsValue>, StoreError> {
            Ok(vec![int("user id", user.0)?, flag(value)])
        };
        // "The change happened": the row now holds the new value (the guard kept it otherwise).
        let applied = format!("EXISTS (SELECT 1 FROM users WHERE id = ?1 AND {column} = ?2)");
        let mut stmts = vec![self.stmt(
            &format!("UPDATE users SET {column} = ?2 WHERE id = ?1 AND {guard}"),
            &key()?,
        )?];
        if change.revokes_sessions() {
            stmts.push(self.stmt(
                &format!("DELETE FROM sessions WHERE user_id = ?1 AND {applied}"),
                &key()?,
            )?);
        }
        stmts.push(self.stmt(&audit_where(3, &applied), &with(key()?, a))?);
        stmts.push(self.stmt(
            "SELECT id FROM users WHERE id = ?1",
            &[int("user id", user.0)?],
        )?);
        let results = self.batch(stmts, USER).await?;
        let short = || StoreError::Unavailable("d1 batch returned fewer results".into());
        let updated = changes(results.first().ok_or_else(short)?)?;
        if updated == 0 {
            let exists = !decode::<IdOnly>("users", results.last().ok_or_else(short)?)?.is_empty();
            return Ok(if exists {
                ChangeOutcome::LastAdmin
            } else {
                ChangeOutcome::NotFound
            });
        }
        let sessions_revoked = if change.revokes_sessions() {
            changes(results.get(1).ok_or_else(short)?)?
        } else {
            0
        };
        Ok(ChangeOutcome::Applied { sessions_revoked })
    }

    async fn set_subscription(
        &self,
        sub: &BillingSubscription,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let a = audit_values(audit)?;
        let upsert = self.stmt(
            "INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, cancelled_at,
    provider, external_subscription_id, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
ON CONFLICT (user_id) DO UPDATE SET plan = excluded.plan, status = excluded.status,
    starts_at = excluded.starts_at, expires_at = excluded.expires_at,
    cancelled_at = excluded.cancelled_at, provider = excluded.provider,
    external_subscription_id = excluded.external_subscription_id,
    updated_at = excluded.updated_at",
            &[
                int("user id", sub.user_id.get())?,
                text(sub.plan.as_str()),
                text(sub.status.as_str()),
                int("starts_at", sub.starts_at)?,
                opt_int("expires_at", sub.expires_at)?,
                opt_int("cancelled_at", sub.cancelled_at)?,
                opt_text(sub.provider.map(|p| p.as_str())),
                opt_text(sub.external_subscription_id.as_deref()),
                int("now", now)?,
            ],
        )?;
        let audit = self.stmt(&audit_where(1, "1"), &a)?;
        self.batch(vec![upsert, audit], USER).await.map(|_| ())
    }

    async fn add_symbol_audited(
        &self,
        new: &NewSymbol,
        audit: &NewAuditEntry,
    ) -> Result<StoredSymbol, StoreError> {
        new.validate()?;
        let a = audit_values(audit)?;
        let insert = self.stmt(
            crate::sql::INSERT_SYMBOL,
            &[
                text(&new.symbol),
                text(&new.exchange),
                flag(new.is_active),
                flag(new.notify_enabled),
                int("fetch_start_ms", new.fetch_start_ms)?,
                int("created_at", new.created_at)?,
            ],
        )?;
        let audit = self.stmt(&audit_where(1, "1"), &a)?;
        self.audited_rows::<SymbolRow, StoredSymbol>("symbols", vec![insert, audit], "symbol")
            .await?
            .ok_or_else(|| StoreError::Unavailable("symbol insert returned nothing".into()))
    }

    async fn update_symbol(
        &self,
        id: SymbolId,
        patch: SymbolPatch,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSymbol>, StoreError> {
        let a = audit_values(audit)?;
        let key = int("symbol id", id.0)?;
        let update = self.stmt(
            "UPDATE symbols SET is_active = COALESCE(?2, is_active),
    notify_enabled = COALESCE(?3, notify_enabled),
    fetch_start_date = COALESCE(?4, fetch_start_date)
WHERE id = ?1
RETURNING id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at",
            &[
                key.clone(),
                patch.is_active.map_or(JsValue::NULL, flag),
                patch.notify_enabled.map_or(JsValue::NULL, flag),
                opt_int("fetch_start_ms", patch.fetch_start_ms)?,
            ],
        )?;
        let audit = self.stmt(
            &audit_where(2, "EXISTS (SELECT 1 FROM symbols WHERE id = ?1)"),
            &with(vec![key], a),
        )?;
        self.audited_rows::<SymbolRow, StoredSymbol>("symbols", vec![update, audit], "symbol")
            .await
    }

    async fn set_signal_status(
        &self,
        id: SignalId,
        status: SignalStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSignal>, StoreError> {
        let a = audit_values(audit)?;
        let key = int("signal id", id.0)?;
        let update = self.stmt(
            "UPDATE signals SET status = ?2 WHERE id = ?1
RETURNING id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
          confluence_score, timeframes_aligned, pattern_id, status, created_at, notified_at",
            &[key.clone(), text(status.as_str())],
        )?;
        let audit = self.stmt(
            &audit_where(2, "EXISTS (SELECT 1 FROM signals WHERE id = ?1)"),
            &with(vec![key], a),
        )?;
        self.audited_rows::<SignalRow, StoredSignal>("signals", vec![update, audit], "signal")
            .await
    }

    async fn record_error(&self, o: &ErrorOccurrence) -> Result<i64, StoreError> {
        o.validate()?;
        let stmt = self.stmt(
            RECORD_ERROR,
            &[
                text(&o.fingerprint),
                text(&o.kind),
                text(&o.source),
                text(&o.message),
                int("error at", o.at)?,
                opt_text(o.request_id.as_deref()),
            ],
        )?;
        let res = self.exec(stmt, USER).await?;
        let row = decode::<IdOnly>("error_logs", &res)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("error upsert returned nothing".into()))?;
        read_int("error_logs", None, "id", row.id)
    }

    async fn errors(
        &self,
        status: Option<ErrorStatus>,
        page: PageRequest,
    ) -> Result<Page<StoredError>, StoreError> {
        validate_page(page)?;
        let (cts, cid) = cursor(page)?;
        let sql = format!(
            "SELECT {ERROR_COLS} FROM error_logs WHERE (?1 IS NULL OR status = ?1)
  AND (?2 IS NULL OR (last_seen, id) < (?2, ?3))
ORDER BY last_seen DESC, id DESC LIMIT ?4"
        );
        let stmt = self.stmt(
            &sql,
            &[
                opt_text(status.map(ErrorStatus::as_str)),
                cts,
                cid,
                fetch_limit(page),
            ],
        )?;
        let rows = self
            .rows::<ErrorRow, StoredError>("error_logs", stmt, USER)
            .await?;
        Ok(page_of(rows, page.limit, |g| Cursor {
            ts: g.last_seen,
            id: g.id,
        }))
    }

    async fn set_error_status(
        &self,
        id: i64,
        status: ErrorStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredError>, StoreError> {
        let a = audit_values(audit)?;
        let key = int("error id", id)?;
        let update = self.stmt(
            &format!("UPDATE error_logs SET status = ?2 WHERE id = ?1 RETURNING {ERROR_COLS}"),
            &[key.clone(), text(status.as_str())],
        )?;
        let audit = self.stmt(
            &audit_where(2, "EXISTS (SELECT 1 FROM error_logs WHERE id = ?1)"),
            &with(vec![key], a),
        )?;
        self.audited_rows::<ErrorRow, StoredError>("error_logs", vec![update, audit], USER)
            .await
    }

    async fn append_log(&self, e: &NewLogEntry) -> Result<i64, StoreError> {
        exact_int("log ts", e.ts)?;
        let stmt = self.stmt(
            "INSERT INTO logs (ts, category, level, message, symbol, tf, request_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            &[
                int("log ts", e.ts)?,
                text(e.category.as_str()),
                text(e.level.as_str()),
                text(&e.message),
                opt_text(e.symbol.as_deref()),
                opt_text(e.tf.as_deref()),
                opt_text(e.request_id.as_deref()),
            ],
        )?;
        let res = self.exec(stmt, USER).await?;
        let row = decode::<IdOnly>("logs", &res)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("log insert returned nothing".into()))?;
        read_int("logs", None, "id", row.id)
    }

    async fn logs(
        &self,
        filter: &LogFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLogEntry>, StoreError> {
        validate_page(page)?;
        let (cts, cid) = cursor(page)?;
        let stmt = self.stmt(
            LOG_SELECT,
            &[
                opt_text(filter.level.map(LogLevel::as_str)),
                opt_text(filter.category.map(LogCategory::as_str)),
                opt_int("since", filter.since)?,
                opt_int("until", filter.until)?,
                cts,
                cid,
                fetch_limit(page),
                opt_text(filter.symbol.as_deref()),
            ],
        )?;
        let rows = self
            .rows::<LogRow, StoredLogEntry>("logs", stmt, USER)
            .await?;
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.entry.ts,
            id: r.id,
        }))
    }
}
