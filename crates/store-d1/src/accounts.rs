//! The account ports over D1: users, sessions, one-time tokens, recovery codes and the login
//! lockout, with the conventions of the market ports (every i64 bound as an exact f64 after
//! the 2^53 check, booleans 0/1, rows converted once with `TryFrom`, errors classified once).
//!
//! Atomicity: D1 runs the statements of one database one at a time, so every single statement
//! is atomic; the security-relevant ones are conditional so that concurrent calls cannot both
//! succeed (the same statements as the Postgres adapter, in SQLite dialect):
//! - `reserve`: ONE `INSERT … ON CONFLICT (acct_hash) DO UPDATE SET <new state as CASE
//!   expressions over the stored row> WHERE <not locked> RETURNING`; every rule value is bound
//!   from `cl_auth::lockout` (`LOCKOUT_PARAMS`, `lock_duration_ms` as a `CASE` on the lock
//!   count), so the SQL holds no constant of its own. It is sent in one `batch()` with a read of
//!   `locked_until`, which reports the lock when the `DO UPDATE` did not run (SQLite has no
//!   data-modifying CTE to do that inside the statement, as Postgres does);
//! - `reserve_totp_attempt`: `UPDATE … SET totp_failures = totp_failures + 1 WHERE … < max
//!   RETURNING`;
//! - `promote_session` / `rotate_session`: `UPDATE … SET token_hash = new WHERE token_hash = old
//!   AND stage = …`;
//! - `consume_token`: `UPDATE … SET used_at WHERE used_at IS NULL AND expires_at > now AND NOT
//!   EXISTS (newer token of the same user and purpose) RETURNING`;
//! - `issue_token` and `replace_recovery_codes`: delete + insert in one `batch()` (one
//!   transaction);
//! - `consume_recovery_code`, `record_totp_step`, `enable_totp`: compare-and-set updates.

use crate::values::{flag, int, opt_int, opt_text, read_flag, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::policy::Tier;
use cl_app::ports::{
    AuthTokenStore, ConsumedToken, LockoutStore, NewAuthToken, NewSession, NewUser,
    RecoveryCodeStore, SessionStage, SessionStore, StoreError, StoredSession, StoredUser,
    TokenPurpose, TotpColumns, UserId, UserStore,
};
use cl_auth::email::{Email, Username};
use cl_auth::lockout::{lock_duration_ms, LockoutState, Reservation, LOCKOUT_PARAMS};
use cl_auth::tokens::TokenHash;
use cl_auth::SecretString;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

/// What a failed foreign key refers to in the account statements.
const USER: &str = "user";

pub(crate) const USER_COLS: &str =
    "id, email, username, password_hash, is_active, is_verified, is_admin, \
     must_change_password, ntfy_topic, totp_secret_enc, totp_key_id, totp_enabled, \
     totp_last_step, password_changed_at, created_at, last_login_at";

pub(crate) const SESSION_COLS: &str =
    "token_hash, user_id, stage, view_as, totp_failures, created_at, \
     last_seen_at, expires_at, absolute_expires_at, reauth_at, ip, user_agent";

/// `sessions.csrf_secret` is NOT NULL, but CSRF tokens are derived from the session id
/// (docs/security-primitives.md): the column records the derivation instead of a secret.
const CSRF_DERIVED: &str = "derived:v1";

/// Recovery codes per `INSERT` (2 shared parameters + 1 per code, under D1's 100).
const CODES_PER_STATEMENT: usize = 90;

// ---------------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------------

/// Whether the stored count resets (12 h since the last failure). `?2` now, `?4` reset after.
const RESET: &str = "(last_failure_at IS NOT NULL AND ?2 - last_failure_at >= ?4)";

/// The reserve-then-verify upsert. `?1` acct_hash, `?2` now, `?3` max failures, `?4` reset
/// after, `?5` rapid-failure gap, `?6` rapid lock, `?7…` lock durations by lock count
/// (1-based; the last one is the cap and also answers every higher count). The `DO UPDATE`
/// runs only when the row is not locked (`locked_until <= now`); it then applies
/// `LockoutState::reserve`: reset after 12 h, count, lock on the 5th failure with doubling
/// (the count back to 0), a 60 s lock for a failure < 1 s after the previous one. In SQLite
/// every `SET` expression reads the row as it was before the update, like Postgres.
fn reserve_sql(durations: usize) -> String {
    let failures = format!("((CASE WHEN {RESET} THEN 0 ELSE failures END) + 1)");
    let lock_count = format!("(CASE WHEN {RESET} THEN 0 ELSE lock_count END)");
    let mut duration = format!("CASE {lock_count} + 1");
    for n in 1..durations {
        duration.push_str(&format!(" WHEN {n} THEN ?{}", 6 + n));
    }
    duration.push_str(&format!(" ELSE ?{} END", 6 + durations.max(1)));
    format!(
        "INSERT INTO auth_lockouts (acct_hash, failures, last_failure_at, locked_until, \
         lock_count) VALUES (?1, 1, ?2, NULL, 0) \
         ON CONFLICT (acct_hash) DO UPDATE SET \
         failures = CASE WHEN {failures} >= ?3 THEN 0 ELSE {failures} END, \
         lock_count = {lock_count} + CASE WHEN {failures} >= ?3 THEN 1 ELSE 0 END, \
         locked_until = CASE \
             WHEN {failures} >= ?3 THEN ?2 + ({duration}) \
             WHEN last_failure_at IS NOT NULL AND ?2 - last_failure_at < ?5 THEN ?2 + ?6 \
             ELSE locked_until END, \
         last_failure_at = ?2 \
         WHERE locked_until IS NULL OR locked_until <= ?2 \
         RETURNING 1 AS found"
    )
}

const LOCKOUT_STATE: &str = "SELECT failures, last_failure_at, locked_until, lock_count \
     FROM auth_lockouts WHERE acct_hash = ?1";

/// Lock durations indexed by lock count − 1, up to the cap (the SQL answers the last one for
/// every higher count).
fn lock_durations() -> Vec<i64> {
    let mut out = Vec::new();
    for n in 1..=32u32 {
        let d = lock_duration_ms(n);
        out.push(d);
        if d >= LOCKOUT_PARAMS.max_lock_ms {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

fn parse<T, E: std::fmt::Display>(
    r: Result<T, E>,
    table: &'static str,
    id: Option<i64>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, id, e))
}

fn small(
    table: &'static str,
    id: Option<i64>,
    what: &'static str,
    v: f64,
) -> Result<u32, StoreError> {
    parse(u32::try_from(read_int(table, id, what, v)?), table, id)
}

#[derive(Deserialize)]
struct UserRow {
    id: f64,
    email: String,
    username: String,
    password_hash: String,
    is_active: f64,
    is_verified: f64,
    is_admin: f64,
    must_change_password: f64,
    ntfy_topic: String,
    totp_secret_enc: Option<String>,
    totp_key_id: Option<String>,
    totp_enabled: f64,
    totp_last_step: Option<f64>,
    password_changed_at: Option<f64>,
    created_at: f64,
    last_login_at: Option<f64>,
}

impl TryFrom<UserRow> for StoredUser {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        const T: &str = "users";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredUser {
            id: UserId(id),
            email: parse(Email::parse(&r.email), T, at)?,
            username: parse(Username::parse(&r.username), T, at)?,
            password_hash: SecretString::new(r.password_hash),
            is_active: read_flag(T, at, "is_active", r.is_active)?,
            is_verified: read_flag(T, at, "is_verified", r.is_verified)?,
            is_admin: read_flag(T, at, "is_admin", r.is_admin)?,
            must_change_password: read_flag(T, at, "must_change_password", r.must_change_password)?,
            ntfy_topic: r.ntfy_topic,
            totp: TotpColumns {
                secret_enc: r.totp_secret_enc,
                key_id: r.totp_key_id,
                enabled: read_flag(T, at, "totp_enabled", r.totp_enabled)?,
                last_step: read_opt_int(T, at, "totp_last_step", r.totp_last_step)?,
            },
            password_changed_at: read_opt_int(T, at, "password_changed_at", r.password_changed_at)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            last_login_at: read_opt_int(T, at, "last_login_at", r.last_login_at)?,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct SessionRow {
    token_hash: String,
    user_id: f64,
    stage: String,
    view_as: Option<String>,
    totp_failures: f64,
    created_at: f64,
    last_seen_at: f64,
    expires_at: f64,
    absolute_expires_at: f64,
    reauth_at: Option<f64>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl TryFrom<SessionRow> for StoredSession {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        const T: &str = "sessions";
        let user = read_int(T, None, "user_id", r.user_id)?;
        let at = Some(user);
        Ok(StoredSession {
            token_hash: parse(TokenHash::from_hex(&r.token_hash), T, at)?,
            user_id: UserId(user),
            stage: parse(SessionStage::parse(&r.stage), T, at)?,
            view_as: r
                .view_as
                .map(|v| parse(Tier::parse(&v), T, at))
                .transpose()?,
            totp_failures: small(T, at, "totp_failures", r.totp_failures)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            last_seen_at: read_int(T, at, "last_seen_at", r.last_seen_at)?,
            expires_at: read_int(T, at, "expires_at", r.expires_at)?,
            absolute_expires_at: read_int(T, at, "absolute_expires_at", r.absolute_expires_at)?,
            reauth_at: read_opt_int(T, at, "reauth_at", r.reauth_at)?,
            ip: r.ip,
            user_agent: r.user_agent,
        })
    }
}

/// The [`USER_COLS`] of a joined row, each aliased `u_<column>` (`crate::gate`): the
/// credential's own `id` and `created_at` keep their names.
#[derive(Deserialize)]
pub(crate) struct OwnerRow {
    u_id: f64,
    u_email: String,
    u_username: String,
    u_password_hash: String,
    u_is_active: f64,
    u_is_verified: f64,
    u_is_admin: f64,
    u_must_change_password: f64,
    u_ntfy_topic: String,
    u_totp_secret_enc: Option<String>,
    u_totp_key_id: Option<String>,
    u_totp_enabled: f64,
    u_totp_last_step: Option<f64>,
    u_password_changed_at: Option<f64>,
    u_created_at: f64,
    u_last_login_at: Option<f64>,
}

impl TryFrom<OwnerRow> for StoredUser {
    type Error = StoreError;

    fn try_from(r: OwnerRow) -> Result<Self, StoreError> {
        StoredUser::try_from(UserRow {
            id: r.u_id,
            email: r.u_email,
            username: r.u_username,
            password_hash: r.u_password_hash,
            is_active: r.u_is_active,
            is_verified: r.u_is_verified,
            is_admin: r.u_is_admin,
            must_change_password: r.u_must_change_password,
            ntfy_topic: r.u_ntfy_topic,
            totp_secret_enc: r.u_totp_secret_enc,
            totp_key_id: r.u_totp_key_id,
            totp_enabled: r.u_totp_enabled,
            totp_last_step: r.u_totp_last_step,
            password_changed_at: r.u_password_changed_at,
            created_at: r.u_created_at,
            last_login_at: r.u_last_login_at,
        })
    }
}

#[derive(Deserialize)]
struct TokenRow {
    purpose: String,
    user_id: f64,
    new_email: Option<String>,
    created_at: f64,
}

impl TryFrom<TokenRow> for ConsumedToken {
    type Error = StoreError;

    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        const T: &str = "auth_tokens";
        let user = read_int(T, None, "user_id", r.user_id)?;
        let at = Some(user);
        Ok(ConsumedToken {
            purpose: parse(TokenPurpose::parse(&r.purpose), T, at)?,
            user_id: UserId(user),
            new_email: r
                .new_email
                .map(|e| parse(Email::parse(&e), T, at))
                .transpose()?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
        })
    }
}

#[derive(Deserialize)]
struct LockoutRow {
    failures: f64,
    last_failure_at: Option<f64>,
    locked_until: Option<f64>,
    lock_count: f64,
}

impl TryFrom<LockoutRow> for LockoutState {
    type Error = StoreError;

    fn try_from(r: LockoutRow) -> Result<Self, StoreError> {
        const T: &str = "auth_lockouts";
        Ok(LockoutState {
            failures: small(T, None, "failures", r.failures)?,
            last_failure_at: read_opt_int(T, None, "last_failure_at", r.last_failure_at)?,
            locked_until: read_opt_int(T, None, "locked_until", r.locked_until)?,
            lock_count: small(T, None, "lock_count", r.lock_count)?,
        })
    }
}

/// A single counter (`… AS n`).
#[derive(Deserialize)]
struct CountRow {
    n: f64,
}

/// Any row (`RETURNING 1 AS found`).
#[derive(Deserialize)]
struct AnyRow {
    #[allow(dead_code)] // Reason: only the presence of the row matters.
    found: f64,
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

impl D1Store {
    /// Runs one statement; whether it returned (or changed) at least one row.
    async fn any_row(&self, sql: &str, params: &[JsValue]) -> Result<bool, StoreError> {
        let stmt = self.stmt(sql, params)?;
        let res = self.exec(stmt, USER).await?;
        Ok(!decode::<AnyRow>("accounts", &res)?.is_empty())
    }

    /// Runs one statement that must address an existing user (`NotFound("user")` otherwise).
    async fn user_update(&self, sql: &str, params: &[JsValue]) -> Result<(), StoreError> {
        if self.any_row(sql, params).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(USER))
        }
    }

    async fn one_user(
        &self,
        sql: &str,
        params: &[JsValue],
    ) -> Result<Option<StoredUser>, StoreError> {
        let stmt = self.stmt(sql, params)?;
        Ok(self
            .rows::<UserRow, StoredUser>("users", stmt, USER)
            .await?
            .into_iter()
            .next())
    }
}

fn hex(hash: &TokenHash) -> JsValue {
    text(&hash.to_hex())
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

impl UserStore for D1Store {
    async fn create_user(&self, new: &NewUser) -> Result<StoredUser, StoreError> {
        new.validate()?;
        let sql = format!(
            "INSERT INTO users (email, username, password_hash, ntfy_topic, created_at, \
             password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING {USER_COLS}"
        );
        self.one_user(
            &sql,
            &[
                text(new.email.as_str()),
                text(new.username.as_str()),
                text(new.password_hash.expose_secret()),
                text(&new.ntfy_topic),
                int("created_at", new.created_at)?,
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Unavailable("user insert returned no row".into()))
    }

    async fn user(&self, id: UserId) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?1");
        self.one_user(&sql, &[int("user id", id.0)?]).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE email = ?1");
        self.one_user(&sql, &[text(email.as_str())]).await
    }

    async fn username_taken(&self, username: &Username) -> Result<bool, StoreError> {
        self.any_row(
            "SELECT 1 AS found FROM users WHERE lower(username) = lower(?1)",
            &[text(username.as_str())],
        )
        .await
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &SecretString,
        changed_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET password_hash = ?2, \
             password_changed_at = COALESCE(?3, password_changed_at), \
             must_change_password = CASE WHEN ?3 IS NULL THEN must_change_password ELSE 0 END \
             WHERE id = ?1 RETURNING 1 AS found",
            &[
                int("user id", id.0)?,
                text(password_hash.expose_secret()),
                opt_int("password_changed_at", changed_at)?,
            ],
        )
        .await
    }

    async fn set_verified(&self, id: UserId, verified: bool) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET is_verified = ?2 WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?, flag(verified)],
        )
        .await
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET is_active = ?2 WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?, flag(active)],
        )
        .await
    }

    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET is_admin = ?2 WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?, flag(admin)],
        )
        .await
    }

    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET email = ?2 WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?, text(email.as_str())],
        )
        .await
    }

    async fn set_last_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET last_login_at = ?2 WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?, int("last_login_at", at)?],
        )
        .await
    }

    async fn set_totp_secret(
        &self,
        id: UserId,
        secret_enc: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE users SET totp_secret_enc = ?2, totp_key_id = ?3, totp_enabled = 0, \
             totp_last_step = NULL WHERE id = ?1 AND totp_enabled = 0 RETURNING 1 AS found",
            &[int("user id", id.0)?, text(secret_enc), text(key_id)],
        )
        .await
    }

    async fn enable_totp(
        &self,
        id: UserId,
        secret_enc: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE users SET totp_enabled = 1, totp_last_step = ?3 \
             WHERE id = ?1 AND totp_enabled = 0 AND totp_secret_enc = ?2 RETURNING 1 AS found",
            &[
                int("user id", id.0)?,
                text(secret_enc),
                int("totp step", step)?,
            ],
        )
        .await
    }

    async fn record_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_enabled = 1 \
             AND (totp_last_step IS NULL OR totp_last_step < ?2) RETURNING 1 AS found",
            &[int("user id", id.0)?, int("totp step", step)?],
        )
        .await
    }

    async fn clear_totp(&self, id: UserId) -> Result<(), StoreError> {
        self.user_update(
            "UPDATE users SET totp_enabled = 0, totp_secret_enc = NULL, totp_key_id = NULL, \
             totp_last_step = NULL WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?],
        )
        .await
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        self.user_update(
            "DELETE FROM users WHERE id = ?1 RETURNING 1 AS found",
            &[int("user id", id.0)?],
        )
        .await
    }
}

impl SessionStore for D1Store {
    async fn create_session(&self, new: &NewSession) -> Result<(), StoreError> {
        new.validate()?;
        let stmt = self.stmt(
            "INSERT INTO sessions (token_hash, user_id, csrf_secret, stage, view_as, created_at, \
             last_seen_at, expires_at, absolute_expires_at, reauth_at, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11)",
            &[
                hex(&new.token_hash),
                int("user id", new.user_id.0)?,
                text(CSRF_DERIVED),
                text(new.stage.as_str()),
                opt_text(new.view_as.map(Tier::as_str)),
                int("created_at", new.created_at)?,
                int("expires_at", new.expires_at)?,
                int("absolute_expires_at", new.absolute_expires_at)?,
                opt_int("reauth_at", new.reauth_at)?,
                opt_text(new.ip.as_deref()),
                opt_text(new.user_agent.as_deref()),
            ],
        )?;
        self.exec(stmt, USER).await.map(|_| ())
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<StoredSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE token_hash = ?1");
        let stmt = self.stmt(&sql, &[hex(hash)])?;
        Ok(self
            .rows::<SessionRow, StoredSession>("sessions", stmt, USER)
            .await?
            .into_iter()
            .next())
    }

    async fn touch_session(
        &self,
        hash: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 \
             WHERE token_hash = ?1 AND expires_at > ?2 RETURNING 1 AS found",
            &[hex(hash), int("now", now)?, int("expires_at", expires_at)?],
        )
        .await
    }

    async fn promote_session(
        &self,
        pending: &TokenHash,
        new: &TokenHash,
        now: i64,
        expires_at: i64,
        absolute_expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE sessions SET token_hash = ?2, stage = 'full', totp_failures = 0, \
             created_at = ?3, last_seen_at = ?3, reauth_at = ?3, expires_at = ?4, \
             absolute_expires_at = ?5 \
             WHERE token_hash = ?1 AND stage = 'pending_2fa' AND expires_at > ?3 \
             RETURNING 1 AS found",
            &[
                hex(pending),
                hex(new),
                int("now", now)?,
                int("expires_at", expires_at)?,
                int("absolute_expires_at", absolute_expires_at)?,
            ],
        )
        .await
    }

    async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE sessions SET token_hash = ?2, last_seen_at = ?3 \
             WHERE token_hash = ?1 AND stage = 'full' AND expires_at > ?3 RETURNING 1 AS found",
            &[hex(old), hex(new), int("now", now)?],
        )
        .await
    }

    async fn set_view_as(
        &self,
        hash: &TokenHash,
        view_as: Option<Tier>,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE sessions SET view_as = ?2 WHERE token_hash = ?1 RETURNING 1 AS found",
            &[hex(hash), opt_text(view_as.map(Tier::as_str))],
        )
        .await
    }

    async fn set_reauth(&self, hash: &TokenHash, at: i64) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE sessions SET reauth_at = ?2 WHERE token_hash = ?1 RETURNING 1 AS found",
            &[hex(hash), int("reauth_at", at)?],
        )
        .await
    }

    async fn reserve_totp_attempt(
        &self,
        hash: &TokenHash,
        now: i64,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        const T: &str = "sessions";
        let stmt = self.stmt(
            "UPDATE sessions SET totp_failures = totp_failures + 1 \
             WHERE token_hash = ?1 AND stage = 'pending_2fa' AND expires_at > ?2 \
             AND totp_failures < ?3 RETURNING totp_failures AS n",
            &[
                hex(hash),
                int("now", now)?,
                JsValue::from_f64(f64::from(max)),
            ],
        )?;
        let res = self.exec(stmt, USER).await?;
        decode::<CountRow>(T, &res)?
            .first()
            .map(|r| small(T, None, "totp_failures", r.n))
            .transpose()
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.any_row(
            "DELETE FROM sessions WHERE token_hash = ?1 RETURNING 1 AS found",
            &[hex(hash)],
        )
        .await
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let stmt = self.stmt(
            "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash <> ?2)",
            &[
                int("user id", user.0)?,
                opt_text(keep.map(TokenHash::to_hex).as_deref()),
            ],
        )?;
        changes(&self.exec(stmt, USER).await?)
    }

    async fn user_sessions(&self, user: UserId) -> Result<Vec<StoredSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = ?1 \
             ORDER BY last_seen_at DESC, token_hash"
        );
        let stmt = self.stmt(&sql, &[int("user id", user.0)?])?;
        self.rows::<SessionRow, StoredSession>("sessions", stmt, USER)
            .await
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let stmt = self.stmt(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR absolute_expires_at <= ?1",
            &[int("now", now)?],
        )?;
        changes(&self.exec(stmt, USER).await?)
    }
}

impl AuthTokenStore for D1Store {
    async fn issue_token(&self, new: &NewAuthToken) -> Result<(), StoreError> {
        let user = int("user id", new.user_id.0)?;
        let purpose = text(new.purpose.as_str());
        let delete = self.stmt(
            "DELETE FROM auth_tokens WHERE user_id = ?1 AND purpose = ?2",
            &[user.clone(), purpose.clone()],
        )?;
        let insert = self.stmt(
            "INSERT INTO auth_tokens (purpose, token_hash, user_id, new_email, created_at, \
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                purpose,
                hex(&new.token_hash),
                user,
                opt_text(new.new_email.as_ref().map(Email::as_str)),
                int("created_at", new.created_at)?,
                int("expires_at", new.expires_at)?,
            ],
        )?;
        // One batch = one transaction: the older tokens go only if the new one is stored.
        self.batch(vec![delete, insert], USER).await.map(|_| ())
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let stmt = self.stmt(
            "UPDATE auth_tokens AS t SET used_at = ?3 \
             WHERE t.token_hash = ?1 AND t.purpose = ?2 AND t.used_at IS NULL \
             AND t.expires_at > ?3 AND NOT EXISTS (SELECT 1 FROM auth_tokens n \
             WHERE n.user_id = t.user_id AND n.purpose = t.purpose AND n.id > t.id) \
             RETURNING purpose, user_id, new_email, created_at",
            &[hex(hash), text(purpose.as_str()), int("now", now)?],
        )?;
        Ok(self
            .rows::<TokenRow, ConsumedToken>("auth_tokens", stmt, USER)
            .await?
            .into_iter()
            .next())
    }
}

impl RecoveryCodeStore for D1Store {
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        code_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let uid = int("user id", user.0)?;
        let at = int("now", now)?;
        let mut stmts = vec![self.stmt(
            "DELETE FROM recovery_codes WHERE user_id = ?1",
            std::slice::from_ref(&uid),
        )?];
        for chunk in code_hashes.chunks(CODES_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(?1, ?{}, ?2)", i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES {}",
                rows.join(", ")
            );
            let mut params = Vec::with_capacity(2 + chunk.len());
            params.push(uid.clone());
            params.push(at.clone());
            params.extend(chunk.iter().map(|h| text(h)));
            stmts.push(self.stmt(&sql, &params)?);
        }
        // One batch = one transaction: the old set goes only if the new one is stored.
        self.batch(stmts, USER).await.map(|_| ())
    }

    async fn consume_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.any_row(
            "UPDATE recovery_codes SET used_at = ?3 WHERE used_at IS NULL AND id = \
             (SELECT id FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2 \
             AND used_at IS NULL ORDER BY id LIMIT 1) RETURNING 1 AS found",
            &[int("user id", user.0)?, text(code_hash), int("now", now)?],
        )
        .await
    }

    async fn remaining_recovery_codes(&self, user: UserId) -> Result<u32, StoreError> {
        const T: &str = "recovery_codes";
        let stmt = self.stmt(
            "SELECT count(*) AS n FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            &[int("user id", user.0)?],
        )?;
        let res = self.exec(stmt, USER).await?;
        match decode::<CountRow>(T, &res)?.first() {
            Some(r) => small(T, None, "count", r.n),
            None => Ok(0),
        }
    }
}

impl LockoutStore for D1Store {
    async fn reserve(&self, acct_hash: &str, now: i64) -> Result<Reservation, StoreError> {
        const T: &str = "auth_lockouts";
        let p = LOCKOUT_PARAMS;
        let durations = lock_durations();
        let mut params = vec![
            text(acct_hash),
            int("now", now)?,
            JsValue::from_f64(f64::from(p.max_failures)),
            int("reset_after_ms", p.reset_after_ms)?,
            int("rapid_failure_ms", p.rapid_failure_ms)?,
            int("rapid_lock_ms", p.rapid_lock_ms)?,
        ];
        for d in &durations {
            params.push(int("lock duration", *d)?);
        }
        let upsert = self.stmt(&reserve_sql(durations.len()), &params)?;
        let state = self.stmt(LOCKOUT_STATE, &[text(acct_hash)])?;
        // One round trip, one transaction: the upsert decides (atomically, as one statement);
        // the read reports the lock when the upsert left a locked row alone.
        let results = self.batch(vec![upsert, state], USER).await?;
        let (Some(up), Some(read)) = (results.first(), results.get(1)) else {
            return Err(StoreError::Unavailable(
                "d1 batch returned fewer results than statements".into(),
            ));
        };
        if !decode::<AnyRow>(T, up)?.is_empty() {
            return Ok(Reservation::Allowed);
        }
        let locked_until = match decode::<LockoutRow>(T, read)?.into_iter().next() {
            Some(row) => LockoutState::try_from(row)?.locked_until,
            None => None,
        };
        let state = LockoutState {
            locked_until,
            ..LockoutState::default()
        };
        Ok(match state.check(now) {
            locked @ Reservation::Locked { .. } => locked,
            // Not locked, yet the upsert did not run: refuse (fail closed).
            Reservation::Allowed => Reservation::Locked {
                retry_after_secs: 1,
            },
        })
    }

    async fn record_success(&self, acct_hash: &str) -> Result<(), StoreError> {
        let stmt = self.stmt(
            "DELETE FROM auth_lockouts WHERE acct_hash = ?1",
            &[text(acct_hash)],
        )?;
        self.exec(stmt, USER).await.map(|_| ())
    }

    async fn unlock(&self, acct_hash: &str) -> Result<(), StoreError> {
        self.record_success(acct_hash).await
    }

    async fn lockout_state(&self, acct_hash: &str) -> Result<Option<LockoutState>, StoreError> {
        let stmt = self.stmt(LOCKOUT_STATE, &[text(acct_hash)])?;
        Ok(self
            .rows::<LockoutRow, LockoutState>("auth_lockouts", stmt, USER)
            .await?
            .into_iter()
            .next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_durations_double_from_fifteen_minutes_up_to_the_cap() {
        let d = lock_durations();
        assert_eq!(d[0], 15 * 60_000);
        assert_eq!(d[1], 30 * 60_000);
        assert_eq!(d.last().copied(), Some(LOCKOUT_PARAMS.max_lock_ms));
        assert!(d.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn the_reserve_statement_binds_every_duration_and_no_constant() {
        let n = lock_durations().len();
        let sql = reserve_sql(n);
        for k in 1..=6 + n {
            assert!(sql.contains(&format!("?{k}")), "?{k} missing");
        }
        assert!(!sql.contains(&format!("?{}", 7 + n)));
        assert!(!sql.contains("900000"), "durations are bound, not inlined");
        assert!(sql.contains("ON CONFLICT (acct_hash) DO UPDATE"));
        assert!(sql.contains("WHERE locked_until IS NULL OR locked_until <= ?2"));
    }
}
