//! [`AdminStore`] over Postgres.
//!
//! Atomicity: every write that carries an audit row is ONE statement — a data-modifying CTE
//! whose `INSERT INTO audit_log … SELECT … FROM <changed row>` only inserts when the change
//! matched a row — except the user flag change, which is one transaction: it first locks the
//! active admins (`FOR UPDATE`), so two admins demoting each other serialise and the second
//! sees that it would remove the last admin; then the guarded `UPDATE`, the session delete and
//! the audit insert.
//!
//! Filters are `($n IS NULL OR col = $n)` over typed parameters; nothing is formatted into the
//! SQL but parameter numbers and fixed column names.

use crate::rows::{returned, Keyset};
use crate::{get, parse, signal_row, symbol_row, PgStore};
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
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

type Param<'a> = (&'a (dyn ToSql + Sync), Type);

const AUDIT_COLS: &str = "actor_id, action, target, details, ip, request_id, at";

/// `INSERT INTO audit_log … SELECT <7 params from $first> FROM <from>`.
pub(crate) fn audit_from(first: usize, from: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO audit_log ({AUDIT_COLS}) SELECT {}, {}, {}, {}::text::jsonb, {}, {}, {} FROM {from}",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6)
    )
}

/// The owned values of an audit row, bound in [`AUDIT_COLS`] order.
pub(crate) struct AuditValues<'e> {
    actor: Option<i64>,
    e: &'e NewAuditEntry,
}

impl<'e> AuditValues<'e> {
    pub(crate) fn of(e: &'e NewAuditEntry) -> Result<Self, StoreError> {
        e.validate()?;
        Ok(Self {
            actor: e.actor.map(|a| a.0),
            e,
        })
    }

    /// The audit parameters ($1..$7) followed by the statement's own ($8 on).
    pub(crate) fn then<'p>(&'p self, own: &[Param<'p>]) -> Vec<Param<'p>> {
        let mut all = self.params().to_vec();
        all.extend_from_slice(own);
        all
    }

    pub(crate) fn params(&self) -> [Param<'_>; 7] {
        [
            (&self.actor, Type::INT8),
            (&self.e.action, Type::TEXT),
            (&self.e.target, Type::TEXT),
            (&self.e.details, Type::TEXT),
            (&self.e.ip, Type::TEXT),
            (&self.e.request_id, Type::TEXT),
            (&self.e.at, Type::INT8),
        ]
    }
}

const AUDIT_SELECT: &str = "\
SELECT id, actor_id, action, target, details::text, ip, request_id, at FROM audit_log
WHERE ($1::int8 IS NULL OR actor_id = $1) AND ($2::text IS NULL OR action = $2)
  AND ($3::text IS NULL OR target = $3) AND ($4::int8 IS NULL OR at >= $4)
  AND ($5::int8 IS NULL OR at < $5) AND ($6::int8 IS NULL OR (at, id) < ($6, $7))
ORDER BY at DESC, id DESC LIMIT $8";

const USER_SELECT: &str = "\
SELECT u.id, u.email, u.username, u.is_active, u.is_verified, u.is_admin, u.totp_enabled,
       u.created_at, u.last_login_at, s.plan, s.status, s.expires_at
FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id";

const ERROR_COLS: &str = "id, fingerprint, kind, source, message, first_seen, last_seen, \
occurrences, status, sample_request_id";

const RECORD_ERROR: &str = "\
INSERT INTO error_logs (fingerprint, kind, source, message, first_seen, last_seen, occurrences,
                        status, sample_request_id)
VALUES ($1, $2, $3, $4, $5, $5, 1, 'new', $6)
ON CONFLICT (fingerprint) DO UPDATE SET
    occurrences = error_logs.occurrences + 1,
    last_seen = GREATEST(error_logs.last_seen, excluded.last_seen),
    sample_request_id = excluded.sample_request_id,
    status = CASE WHEN error_logs.status = 'resolved' THEN 'new' ELSE error_logs.status END
RETURNING id";

const LOG_INSERT: &str = "\
INSERT INTO logs (ts, category, level, message, symbol, tf, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

const LOG_SELECT: &str = "\
SELECT id, ts, category, level, message, symbol, tf, request_id FROM logs
WHERE ($1::text IS NULL OR level = $1) AND ($2::text IS NULL OR category = $2)
  AND ($3::int8 IS NULL OR ts >= $3) AND ($4::int8 IS NULL OR ts < $4)
  AND ($5::int8 IS NULL OR (ts, id) < ($5, $6)) AND ($8::text IS NULL OR symbol = $8)
ORDER BY ts DESC, id DESC LIMIT $7";

const LOCK_ADMINS: &str = "SELECT id FROM users WHERE is_admin AND is_active FOR UPDATE";

/// Keeps at least one OTHER active admin when the change takes admin rights away.
const KEEP_AN_ADMIN: &str = "(NOT is_admin OR NOT is_active OR EXISTS (SELECT 1 FROM users o \
WHERE o.is_admin AND o.is_active AND o.id <> $1))";

const USER_EXISTS: &str = "SELECT id FROM users WHERE id = $1";

const DELETE_SESSIONS: &str = "\
WITH d AS (DELETE FROM sessions WHERE user_id = $1 RETURNING 1) SELECT count(*) FROM d";

fn audit_row(row: &Row) -> Result<StoredAuditEntry, StoreError> {
    const T: &str = "audit_log";
    let actor: Option<i64> = get(row, 1, T)?;
    Ok(StoredAuditEntry {
        id: get(row, 0, T)?,
        entry: NewAuditEntry {
            actor: actor.map(UserId),
            action: get(row, 2, T)?,
            target: get(row, 3, T)?,
            details: get(row, 4, T)?,
            ip: get(row, 5, T)?,
            request_id: get(row, 6, T)?,
            at: get(row, 7, T)?,
        },
    })
}

fn user_row(row: &Row) -> Result<AdminUserRow, StoreError> {
    const T: &str = "users";
    let id: i64 = get(row, 0, T)?;
    let email: &str = get(row, 1, T)?;
    let username: &str = get(row, 2, T)?;
    let plan: Option<&str> = get(row, 9, T)?;
    let status: Option<&str> = get(row, 10, T)?;
    let subscription = match (plan, status) {
        (Some(plan), Some(status)) => Some(SubscriptionSummary {
            plan: parse(Plan::parse(plan), T, Some(id))?,
            status: parse(SubscriptionStatus::parse(status), T, Some(id))?,
            expires_at: get(row, 11, T)?,
        }),
        _ => None,
    };
    Ok(AdminUserRow {
        id: UserId(id),
        email: parse(Email::parse(email), T, Some(id))?,
        username: parse(Username::parse(username), T, Some(id))?,
        is_active: get(row, 3, T)?,
        is_verified: get(row, 4, T)?,
        is_admin: get(row, 5, T)?,
        totp_enabled: get(row, 6, T)?,
        created_at: get(row, 7, T)?,
        last_login_at: get(row, 8, T)?,
        subscription,
    })
}

fn error_row(row: &Row) -> Result<StoredError, StoreError> {
    const T: &str = "error_logs";
    let id: i64 = get(row, 0, T)?;
    let status: &str = get(row, 8, T)?;
    Ok(StoredError {
        id,
        fingerprint: get(row, 1, T)?,
        kind: get(row, 2, T)?,
        source: get(row, 3, T)?,
        message: get(row, 4, T)?,
        first_seen: get(row, 5, T)?,
        last_seen: get(row, 6, T)?,
        occurrences: get(row, 7, T)?,
        status: parse(ErrorStatus::parse(status), T, Some(id))?,
        sample_request_id: get(row, 9, T)?,
    })
}

fn log_row(row: &Row) -> Result<StoredLogEntry, StoreError> {
    const T: &str = "logs";
    let id: i64 = get(row, 0, T)?;
    let category: &str = get(row, 2, T)?;
    let level: &str = get(row, 3, T)?;
    Ok(StoredLogEntry {
        id,
        entry: NewLogEntry {
            ts: get(row, 1, T)?,
            category: parse(LogCategory::parse(category), T, Some(id))?,
            level: parse(LogLevel::parse(level), T, Some(id))?,
            message: get(row, 4, T)?,
            symbol: get(row, 5, T)?,
            tf: get(row, 6, T)?,
            request_id: get(row, 7, T)?,
        },
    })
}

fn change_column(change: UserChange) -> (&'static str, bool) {
    match change {
        UserChange::Verified(v) => ("is_verified", v),
        UserChange::Active(v) => ("is_active", v),
        UserChange::Admin(v) => ("is_admin", v),
    }
}

impl AdminStore for PgStore<'_> {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let v = AuditValues::of(entry)?;
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7) RETURNING id"
        );
        let rows = self.query(&sql, &v.params()).await?;
        returned(
            &rows,
            |r| get(r, 0, "audit_log"),
            "audit insert returned nothing",
        )
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, StoreError> {
        validate_page(page)?;
        let actor = filter.actor.map(|a| a.0);
        let k = Keyset::of(page);
        let items = self
            .all(
                AUDIT_SELECT,
                &[
                    (&actor, Type::INT8),
                    (&filter.action, Type::TEXT),
                    (&filter.target, Type::TEXT),
                    (&filter.since, Type::INT8),
                    (&filter.until, Type::INT8),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                ],
                audit_row,
            )
            .await?;
        Ok(page_of(items, page.limit, |r| Cursor {
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
        let like = filter.search.as_deref().map(like_prefix);
        let k = Keyset::of(page);
        let sql = format!(
            "{USER_SELECT}
WHERE ($1::text IS NULL OR u.email LIKE $1 ESCAPE '\\' OR lower(u.username) LIKE $1 ESCAPE '\\')
  AND ($2::int8 IS NULL OR (u.created_at, u.id) < ($2, $3))
ORDER BY u.created_at DESC, u.id DESC LIMIT $4"
        );
        let items = self
            .all(
                &sql,
                &[
                    (&like, Type::TEXT),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                ],
                user_row,
            )
            .await?;
        Ok(page_of(items, page.limit, |r| Cursor {
            ts: r.created_at,
            id: r.id.0,
        }))
    }

    async fn admin_user(&self, id: UserId) -> Result<Option<AdminUserRow>, StoreError> {
        let sql = format!("{USER_SELECT} WHERE u.id = $1");
        self.opt(&sql, &[(&id.0, Type::INT8)], user_row).await
    }

    async fn change_user(
        &self,
        user: UserId,
        change: UserChange,
        audit: &NewAuditEntry,
    ) -> Result<ChangeOutcome, StoreError> {
        let v = AuditValues::of(audit)?;
        let (column, value) = change_column(change);
        let removes_admin = matches!(change, UserChange::Admin(false) | UserChange::Active(false));
        let guard = if removes_admin { KEEP_AN_ADMIN } else { "TRUE" };
        let update =
            format!("UPDATE users SET {column} = $2 WHERE id = $1 AND {guard} RETURNING id");
        let tx = self.begin().await?;
        let result = async {
            if removes_admin {
                tx.query(LOCK_ADMINS, &[]).await?;
            }
            let changed = tx
                .query(&update, &[(&user.0, Type::INT8), (&value, Type::BOOL)])
                .await?;
            if changed.is_empty() {
                let exists = tx.query(USER_EXISTS, &[(&user.0, Type::INT8)]).await?;
                return Ok(if exists.is_empty() {
                    ChangeOutcome::NotFound
                } else {
                    ChangeOutcome::LastAdmin
                });
            }
            let mut sessions_revoked = 0;
            if change.revokes_sessions() {
                let rows = tx.query(DELETE_SESSIONS, &[(&user.0, Type::INT8)]).await?;
                let n: i64 = rows.first().map_or(Ok(0), |r| get(r, 0, "sessions"))?;
                sessions_revoked = u64::try_from(n).unwrap_or(0);
            }
            let insert = format!(
                "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7)"
            );
            tx.query(&insert, &v.params()).await?;
            Ok(ChangeOutcome::Applied { sessions_revoked })
        }
        .await;
        match result {
            Ok(ChangeOutcome::Applied { sessions_revoked }) => {
                tx.commit().await?;
                Ok(ChangeOutcome::Applied { sessions_revoked })
            }
            other => {
                tx.rollback().await;
                other
            }
        }
    }

    async fn set_subscription(
        &self,
        sub: &BillingSubscription,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let v = AuditValues::of(audit)?;
        exact_int("now", now)?;
        let user = sub.user_id.get();
        let plan = sub.plan.as_str();
        let status = sub.status.as_str();
        let provider = sub.provider.map(|p| p.as_str());
        let sql = format!(
            "WITH s AS (
INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, cancelled_at, provider,
                           external_subscription_id, created_at, updated_at)
VALUES ($8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
ON CONFLICT (user_id) DO UPDATE SET plan = excluded.plan, status = excluded.status,
    starts_at = excluded.starts_at, expires_at = excluded.expires_at,
    cancelled_at = excluded.cancelled_at, provider = excluded.provider,
    external_subscription_id = excluded.external_subscription_id,
    updated_at = excluded.updated_at
RETURNING id) {}",
            audit_from(1, "s")
        );
        self.query(
            &sql,
            &v.then(&[
                (&user, Type::INT8),
                (&plan, Type::TEXT),
                (&status, Type::TEXT),
                (&sub.starts_at, Type::INT8),
                (&sub.expires_at, Type::INT8),
                (&sub.cancelled_at, Type::INT8),
                (&provider, Type::TEXT),
                (&sub.external_subscription_id, Type::TEXT),
                (&now, Type::INT8),
            ]),
        )
        .await
        .map(|_| ())
    }

    async fn add_symbol_audited(
        &self,
        new: &NewSymbol,
        audit: &NewAuditEntry,
    ) -> Result<StoredSymbol, StoreError> {
        new.validate()?;
        let v = AuditValues::of(audit)?;
        let sql = format!(
            "WITH s AS (
INSERT INTO symbols (symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at)
VALUES ($8, $9, $10, $11, $12, $13)
RETURNING id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at),
a AS ({}) SELECT * FROM s",
            audit_from(1, "s")
        );
        let rows = self
            .query(
                &sql,
                &v.then(&[
                    (&new.symbol, Type::TEXT),
                    (&new.exchange, Type::TEXT),
                    (&new.is_active, Type::BOOL),
                    (&new.notify_enabled, Type::BOOL),
                    (&new.fetch_start_ms, Type::INT8),
                    (&new.created_at, Type::INT8),
                ]),
            )
            .await?;
        returned(&rows, symbol_row, "symbol insert returned nothing")
    }

    async fn update_symbol(
        &self,
        id: SymbolId,
        patch: SymbolPatch,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSymbol>, StoreError> {
        let v = AuditValues::of(audit)?;
        if let Some(t) = patch.fetch_start_ms {
            exact_int("fetch_start_ms", t)?;
        }
        let sql = format!(
            "WITH s AS (UPDATE symbols SET is_active = COALESCE($9, is_active),
    notify_enabled = COALESCE($10, notify_enabled),
    fetch_start_date = COALESCE($11, fetch_start_date)
WHERE id = $8
RETURNING id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at),
a AS ({}) SELECT * FROM s",
            audit_from(1, "s")
        );
        self.opt(
            &sql,
            &v.then(&[
                (&id.0, Type::INT8),
                (&patch.is_active, Type::BOOL),
                (&patch.notify_enabled, Type::BOOL),
                (&patch.fetch_start_ms, Type::INT8),
            ]),
            symbol_row,
        )
        .await
    }

    async fn set_signal_status(
        &self,
        id: SignalId,
        status: SignalStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSignal>, StoreError> {
        let v = AuditValues::of(audit)?;
        let status = status.as_str();
        let sql = format!(
            "WITH s AS (UPDATE signals SET status = $9 WHERE id = $8
RETURNING id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
          confluence_score, timeframes_aligned, pattern_id, status, created_at, notified_at),
a AS ({}) SELECT * FROM s",
            audit_from(1, "s")
        );
        self.opt(
            &sql,
            &v.then(&[(&id.0, Type::INT8), (&status, Type::TEXT)]),
            signal_row,
        )
        .await
    }

    async fn record_error(&self, o: &ErrorOccurrence) -> Result<i64, StoreError> {
        o.validate()?;
        let rows = self
            .query(
                RECORD_ERROR,
                &[
                    (&o.fingerprint, Type::TEXT),
                    (&o.kind, Type::TEXT),
                    (&o.source, Type::TEXT),
                    (&o.message, Type::TEXT),
                    (&o.at, Type::INT8),
                    (&o.request_id, Type::TEXT),
                ],
            )
            .await?;
        returned(
            &rows,
            |r| get(r, 0, "error_logs"),
            "error upsert returned nothing",
        )
    }

    async fn errors(
        &self,
        status: Option<ErrorStatus>,
        page: PageRequest,
    ) -> Result<Page<StoredError>, StoreError> {
        validate_page(page)?;
        let status = status.map(ErrorStatus::as_str);
        let k = Keyset::of(page);
        let sql = format!(
            "SELECT {ERROR_COLS} FROM error_logs WHERE ($1::text IS NULL OR status = $1)
  AND ($2::int8 IS NULL OR (last_seen, id) < ($2, $3))
ORDER BY last_seen DESC, id DESC LIMIT $4"
        );
        let items = self
            .all(
                &sql,
                &[
                    (&status, Type::TEXT),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                ],
                error_row,
            )
            .await?;
        Ok(page_of(items, page.limit, |g| Cursor {
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
        let v = AuditValues::of(audit)?;
        let status = status.as_str();
        let sql = format!(
            "WITH s AS (UPDATE error_logs SET status = $9 WHERE id = $8 RETURNING {ERROR_COLS}),
a AS ({}) SELECT * FROM s",
            audit_from(1, "s")
        );
        self.opt(
            &sql,
            &v.then(&[(&id, Type::INT8), (&status, Type::TEXT)]),
            error_row,
        )
        .await
    }

    async fn append_log(&self, e: &NewLogEntry) -> Result<i64, StoreError> {
        exact_int("log ts", e.ts)?;
        let (category, level) = (e.category.as_str(), e.level.as_str());
        let rows = self
            .query(
                LOG_INSERT,
                &[
                    (&e.ts, Type::INT8),
                    (&category, Type::TEXT),
                    (&level, Type::TEXT),
                    (&e.message, Type::TEXT),
                    (&e.symbol, Type::TEXT),
                    (&e.tf, Type::TEXT),
                    (&e.request_id, Type::TEXT),
                ],
            )
            .await?;
        returned(&rows, |r| get(r, 0, "logs"), "log insert returned nothing")
    }

    async fn logs(
        &self,
        filter: &LogFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLogEntry>, StoreError> {
        validate_page(page)?;
        let level = filter.level.map(LogLevel::as_str);
        let category = filter.category.map(LogCategory::as_str);
        let k = Keyset::of(page);
        let items = self
            .all(
                LOG_SELECT,
                &[
                    (&level, Type::TEXT),
                    (&category, Type::TEXT),
                    (&filter.since, Type::INT8),
                    (&filter.until, Type::INT8),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                    (&filter.symbol, Type::TEXT),
                ],
                log_row,
            )
            .await?;
        Ok(page_of(items, page.limit, |r| Cursor {
            ts: r.entry.ts,
            id: r.id,
        }))
    }
}
