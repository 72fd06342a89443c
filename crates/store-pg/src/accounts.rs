//! The account ports over Postgres: users, sessions, one-time tokens, recovery codes and the
//! login lockout.
//!
//! Every port call is ONE statement, atomic by itself; the security-relevant ones are
//! conditional so that concurrent calls cannot both succeed:
//! - `reserve`: one `INSERT … ON CONFLICT DO UPDATE … WHERE <not locked>` computing the new
//!   lockout state with `CASE` expressions from the row it has locked (the rules come from
//!   `cl_auth::lockout::LOCKOUT_PARAMS` and `lock_duration_ms`, bound as parameters), so N
//!   parallel reservations are serialised on the row lock and at most 5 are allowed;
//! - `reserve_totp_attempt`: `UPDATE … SET totp_failures = totp_failures + 1 WHERE … <
//!   max RETURNING`;
//! - `promote_session` / `rotate_session`: `UPDATE … SET token_hash = $new WHERE token_hash =
//!   $old AND stage = …`: a concurrent second call re-checks the updated row and finds nothing;
//! - `consume_token`: `UPDATE … SET used_at WHERE used_at IS NULL AND expires_at > now AND
//!   NOT EXISTS (newer token of the same user and purpose) RETURNING`;
//! - `consume_recovery_code`, `record_totp_step`, `enable_totp`: compare-and-set updates.

use crate::{get, parse, PgStore};
use cl_app::policy::Tier;
use cl_app::ports::{
    exact_int, AuthTokenStore, ConsumedToken, LockoutStore, NewAuthToken, NewSession, NewUser,
    RecoveryCodeStore, SessionStage, SessionStore, StoreError, StoredSession, StoredUser,
    TokenPurpose, TotpColumns, UserId, UserStore,
};
use cl_auth::email::{Email, Username};
use cl_auth::lockout::{lock_duration_ms, LockoutState, Reservation, LOCKOUT_PARAMS};
use cl_auth::tokens::TokenHash;
use cl_auth::SecretString;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

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

const INSERT_USER: &str = "INSERT INTO users (email, username, password_hash, ntfy_topic, \
     created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING ";

/// The reserve-then-verify statement. `$1` acct_hash, `$2` now, `$3` max failures, `$4` reset
/// after, `$5` rapid-failure gap, `$6` rapid lock, `$7` lock durations by lock count (1-based).
/// The `DO UPDATE` runs only when the row is not locked; it then applies
/// `LockoutState::reserve` (reset after 12 h, count, lock on the 5th with doubling, 60 s lock
/// for a failure < 1 s after the previous one). A locked row is left untouched and reported
/// from the statement's snapshot.
const RESERVE: &str = "
WITH up AS (
    INSERT INTO auth_lockouts AS l (acct_hash, failures, last_failure_at, locked_until, lock_count)
    VALUES ($1, 1, $2, NULL, 0)
    ON CONFLICT (acct_hash) DO UPDATE SET
        failures = CASE
            WHEN (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                       THEN 0 ELSE l.failures END) + 1 >= $3 THEN 0
            ELSE (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                       THEN 0 ELSE l.failures END) + 1
        END,
        lock_count = (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                           THEN 0 ELSE l.lock_count END)
            + CASE
                WHEN (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                           THEN 0 ELSE l.failures END) + 1 >= $3 THEN 1
                ELSE 0
            END,
        locked_until = CASE
            WHEN (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                       THEN 0 ELSE l.failures END) + 1 >= $3
                THEN $2 + ($7::bigint[])[LEAST(
                    (CASE WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at >= $4
                          THEN 0 ELSE l.lock_count END) + 1,
                    cardinality($7::bigint[]))::int]
            WHEN l.last_failure_at IS NOT NULL AND $2 - l.last_failure_at < $5 THEN $2 + $6
            ELSE l.locked_until
        END,
        last_failure_at = $2
    WHERE l.locked_until IS NULL OR l.locked_until <= $2
    RETURNING 1
)
SELECT TRUE, NULL::bigint FROM up
UNION ALL
SELECT FALSE, s.locked_until FROM auth_lockouts s
WHERE s.acct_hash = $1 AND NOT EXISTS (SELECT 1 FROM up)";

fn user_row(row: &Row) -> Result<StoredUser, StoreError> {
    user_row_at(row, 0)
}

/// A user from the [`USER_COLS`] that start at column `at` (a joined row).
pub(crate) fn user_row_at(row: &Row, at: usize) -> Result<StoredUser, StoreError> {
    const T: &str = "users";
    let id: i64 = get(row, at, T)?;
    let email: &str = get(row, at + 1, T)?;
    let username: &str = get(row, at + 2, T)?;
    let hash: String = get(row, at + 3, T)?;
    Ok(StoredUser {
        id: UserId(id),
        email: parse(Email::parse(email), T, Some(id))?,
        username: parse(Username::parse(username), T, Some(id))?,
        password_hash: SecretString::new(hash),
        is_active: get(row, at + 4, T)?,
        is_verified: get(row, at + 5, T)?,
        is_admin: get(row, at + 6, T)?,
        must_change_password: get(row, at + 7, T)?,
        ntfy_topic: get(row, at + 8, T)?,
        totp: TotpColumns {
            secret_enc: get(row, at + 9, T)?,
            key_id: get(row, at + 10, T)?,
            enabled: get(row, at + 11, T)?,
            last_step: get(row, at + 12, T)?,
        },
        password_changed_at: get(row, at + 13, T)?,
        created_at: get(row, at + 14, T)?,
        last_login_at: get(row, at + 15, T)?,
    })
}

fn token_hash(hex: &str, table: &'static str) -> Result<TokenHash, StoreError> {
    parse(TokenHash::from_hex(hex), table, None)
}

pub(crate) fn session_row(row: &Row) -> Result<StoredSession, StoreError> {
    const T: &str = "sessions";
    let hash: &str = get(row, 0, T)?;
    let user: i64 = get(row, 1, T)?;
    let stage: &str = get(row, 2, T)?;
    let view_as: Option<&str> = get(row, 3, T)?;
    let failures: i64 = get(row, 4, T)?;
    Ok(StoredSession {
        token_hash: token_hash(hash, T)?,
        user_id: UserId(user),
        stage: parse(SessionStage::parse(stage), T, Some(user))?,
        view_as: view_as
            .map(|v| parse(Tier::parse(v), T, Some(user)))
            .transpose()?,
        totp_failures: parse(u32::try_from(failures), T, Some(user))?,
        created_at: get(row, 5, T)?,
        last_seen_at: get(row, 6, T)?,
        expires_at: get(row, 7, T)?,
        absolute_expires_at: get(row, 8, T)?,
        reauth_at: get(row, 9, T)?,
        ip: get(row, 10, T)?,
        user_agent: get(row, 11, T)?,
    })
}

fn lockout_row(row: &Row) -> Result<LockoutState, StoreError> {
    const T: &str = "auth_lockouts";
    let failures: i64 = get(row, 0, T)?;
    let lock_count: i64 = get(row, 3, T)?;
    Ok(LockoutState {
        failures: parse(u32::try_from(failures), T, None)?,
        last_failure_at: get(row, 1, T)?,
        locked_until: get(row, 2, T)?,
        lock_count: parse(u32::try_from(lock_count), T, None)?,
    })
}

fn found(rows: &[Row], what: &'static str) -> Result<(), StoreError> {
    if rows.is_empty() {
        Err(StoreError::NotFound(what))
    } else {
        Ok(())
    }
}

fn affected(rows: &[Row]) -> u64 {
    u64::try_from(rows.len()).unwrap_or(u64::MAX)
}

impl PgStore<'_> {
    async fn set_user_flag(
        &self,
        column_sql: &str,
        id: UserId,
        value: bool,
    ) -> Result<(), StoreError> {
        let rows = self
            .query(column_sql, &[(&id.0, Type::INT8), (&value, Type::BOOL)])
            .await?;
        found(&rows, "user")
    }
}

impl UserStore for PgStore<'_> {
    async fn create_user(&self, new: &NewUser) -> Result<StoredUser, StoreError> {
        new.validate()?;
        let sql = format!("{INSERT_USER}{USER_COLS}");
        let (email, username, hash) = (
            new.email.as_str(),
            new.username.as_str(),
            new.password_hash.expose_secret(),
        );
        let rows = self
            .query(
                &sql,
                &[
                    (&email, Type::TEXT),
                    (&username, Type::TEXT),
                    (&hash, Type::TEXT),
                    (&new.ntfy_topic, Type::TEXT),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(user_row)
            .unwrap_or(Err(StoreError::Unavailable(
                "insert returned no row".into(),
            )))
    }

    async fn user(&self, id: UserId) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let rows = self.query(&sql, &[(&id.0, Type::INT8)]).await?;
        rows.first().map(user_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1");
        let email = email.as_str();
        let rows = self.query(&sql, &[(&email, Type::TEXT)]).await?;
        rows.first().map(user_row).transpose()
    }

    async fn username_taken(&self, username: &Username) -> Result<bool, StoreError> {
        let username = username.as_str();
        let rows = self
            .query(
                "SELECT 1 FROM users WHERE lower(username) = lower($1)",
                &[(&username, Type::TEXT)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &SecretString,
        changed_at: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Some(t) = changed_at {
            exact_int("password_changed_at", t)?;
        }
        let hash = password_hash.expose_secret();
        let rows = self
            .query(
                "UPDATE users SET password_hash = $2, \
                 password_changed_at = COALESCE($3, password_changed_at), \
                 must_change_password = must_change_password AND $3::int8 IS NULL \
                 WHERE id = $1 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&hash, Type::TEXT),
                    (&changed_at, Type::INT8),
                ],
            )
            .await?;
        found(&rows, "user")
    }

    async fn set_verified(&self, id: UserId, verified: bool) -> Result<(), StoreError> {
        self.set_user_flag(
            "UPDATE users SET is_verified = $2 WHERE id = $1 RETURNING id",
            id,
            verified,
        )
        .await
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StoreError> {
        self.set_user_flag(
            "UPDATE users SET is_active = $2 WHERE id = $1 RETURNING id",
            id,
            active,
        )
        .await
    }

    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StoreError> {
        self.set_user_flag(
            "UPDATE users SET is_admin = $2 WHERE id = $1 RETURNING id",
            id,
            admin,
        )
        .await
    }

    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), StoreError> {
        let email = email.as_str();
        let rows = self
            .query(
                "UPDATE users SET email = $2 WHERE id = $1 RETURNING id",
                &[(&id.0, Type::INT8), (&email, Type::TEXT)],
            )
            .await?;
        found(&rows, "user")
    }

    async fn set_last_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        exact_int("last_login_at", at)?;
        let rows = self
            .query(
                "UPDATE users SET last_login_at = $2 WHERE id = $1 RETURNING id",
                &[(&id.0, Type::INT8), (&at, Type::INT8)],
            )
            .await?;
        found(&rows, "user")
    }

    async fn set_totp_secret(
        &self,
        id: UserId,
        secret_enc: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "UPDATE users SET totp_secret_enc = $2, totp_key_id = $3, totp_enabled = FALSE, \
                 totp_last_step = NULL WHERE id = $1 AND NOT totp_enabled RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&secret_enc, Type::TEXT),
                    (&key_id, Type::TEXT),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn enable_totp(
        &self,
        id: UserId,
        secret_enc: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        exact_int("totp step", step)?;
        let rows = self
            .query(
                "UPDATE users SET totp_enabled = TRUE, totp_last_step = $3 \
                 WHERE id = $1 AND NOT totp_enabled AND totp_secret_enc = $2 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&secret_enc, Type::TEXT),
                    (&step, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn record_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        exact_int("totp step", step)?;
        let rows = self
            .query(
                "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_enabled \
                 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
                &[(&id.0, Type::INT8), (&step, Type::INT8)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn clear_totp(&self, id: UserId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "UPDATE users SET totp_secret_enc = NULL, totp_key_id = NULL, \
                 totp_enabled = FALSE, totp_last_step = NULL WHERE id = $1 RETURNING id",
                &[(&id.0, Type::INT8)],
            )
            .await?;
        found(&rows, "user")
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM users WHERE id = $1 RETURNING id",
                &[(&id.0, Type::INT8)],
            )
            .await?;
        found(&rows, "user")
    }
}

impl SessionStore for PgStore<'_> {
    async fn create_session(&self, new: &NewSession) -> Result<(), StoreError> {
        new.validate()?;
        let hash = new.token_hash.to_hex();
        let stage = new.stage.as_str();
        let view_as = new.view_as.map(Tier::as_str);
        self.query(
            "INSERT INTO sessions (token_hash, user_id, csrf_secret, stage, view_as, created_at, \
             last_seen_at, expires_at, absolute_expires_at, reauth_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11)",
            &[
                (&hash, Type::TEXT),
                (&new.user_id.0, Type::INT8),
                (&CSRF_DERIVED, Type::TEXT),
                (&stage, Type::TEXT),
                (&view_as, Type::TEXT),
                (&new.created_at, Type::INT8),
                (&new.expires_at, Type::INT8),
                (&new.absolute_expires_at, Type::INT8),
                (&new.reauth_at, Type::INT8),
                (&new.ip, Type::TEXT),
                (&new.user_agent, Type::TEXT),
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<StoredSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE token_hash = $1");
        let hash = hash.to_hex();
        let rows = self.query(&sql, &[(&hash, Type::TEXT)]).await?;
        rows.first().map(session_row).transpose()
    }

    async fn touch_session(
        &self,
        hash: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        exact_int("expires_at", expires_at)?;
        let hash = hash.to_hex();
        let rows = self
            .query(
                "UPDATE sessions SET last_seen_at = $2, expires_at = $3 \
                 WHERE token_hash = $1 AND expires_at > $2 RETURNING 1",
                &[
                    (&hash, Type::TEXT),
                    (&now, Type::INT8),
                    (&expires_at, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn promote_session(
        &self,
        pending: &TokenHash,
        new: &TokenHash,
        now: i64,
        expires_at: i64,
        absolute_expires_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        exact_int("expires_at", expires_at)?;
        exact_int("absolute_expires_at", absolute_expires_at)?;
        let (old, new) = (pending.to_hex(), new.to_hex());
        let rows = self
            .query(
                "UPDATE sessions SET token_hash = $2, stage = 'full', totp_failures = 0, \
                 created_at = $3, last_seen_at = $3, reauth_at = $3, expires_at = $4, \
                 absolute_expires_at = $5 \
                 WHERE token_hash = $1 AND stage = 'pending_2fa' AND expires_at > $3 RETURNING 1",
                &[
                    (&old, Type::TEXT),
                    (&new, Type::TEXT),
                    (&now, Type::INT8),
                    (&expires_at, Type::INT8),
                    (&absolute_expires_at, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let (old, new) = (old.to_hex(), new.to_hex());
        let rows = self
            .query(
                "UPDATE sessions SET token_hash = $2, last_seen_at = $3 \
                 WHERE token_hash = $1 AND stage = 'full' AND expires_at > $3 RETURNING 1",
                &[(&old, Type::TEXT), (&new, Type::TEXT), (&now, Type::INT8)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn set_view_as(
        &self,
        hash: &TokenHash,
        view_as: Option<Tier>,
    ) -> Result<bool, StoreError> {
        let hash = hash.to_hex();
        let view_as = view_as.map(Tier::as_str);
        let rows = self
            .query(
                "UPDATE sessions SET view_as = $2 WHERE token_hash = $1 RETURNING 1",
                &[(&hash, Type::TEXT), (&view_as, Type::TEXT)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn set_reauth(&self, hash: &TokenHash, at: i64) -> Result<bool, StoreError> {
        exact_int("reauth_at", at)?;
        let hash = hash.to_hex();
        let rows = self
            .query(
                "UPDATE sessions SET reauth_at = $2 WHERE token_hash = $1 RETURNING 1",
                &[(&hash, Type::TEXT), (&at, Type::INT8)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn reserve_totp_attempt(
        &self,
        hash: &TokenHash,
        now: i64,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        exact_int("now", now)?;
        let hash = hash.to_hex();
        let max = i64::from(max);
        let rows = self
            .query(
                "UPDATE sessions SET totp_failures = totp_failures + 1 \
                 WHERE token_hash = $1 AND stage = 'pending_2fa' AND expires_at > $2 \
                 AND totp_failures < $3 RETURNING totp_failures",
                &[(&hash, Type::TEXT), (&now, Type::INT8), (&max, Type::INT8)],
            )
            .await?;
        match rows.first() {
            Some(row) => {
                let n: i64 = get(row, 0, "sessions")?;
                Ok(Some(parse(u32::try_from(n), "sessions", None)?))
            }
            None => Ok(None),
        }
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let hash = hash.to_hex();
        let rows = self
            .query(
                "DELETE FROM sessions WHERE token_hash = $1 RETURNING 1",
                &[(&hash, Type::TEXT)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let keep = keep.map(TokenHash::to_hex);
        let rows = self
            .query(
                "DELETE FROM sessions WHERE user_id = $1 \
                 AND ($2::text IS NULL OR token_hash <> $2) RETURNING 1",
                &[(&user.0, Type::INT8), (&keep, Type::TEXT)],
            )
            .await?;
        Ok(affected(&rows))
    }

    async fn user_sessions(&self, user: UserId) -> Result<Vec<StoredSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = $1 \
             ORDER BY last_seen_at DESC, token_hash COLLATE \"C\""
        );
        let rows = self.query(&sql, &[(&user.0, Type::INT8)]).await?;
        rows.iter().map(session_row).collect()
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        exact_int("now", now)?;
        let rows = self
            .query(
                "DELETE FROM sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1 \
                 RETURNING 1",
                &[(&now, Type::INT8)],
            )
            .await?;
        Ok(affected(&rows))
    }
}

impl AuthTokenStore for PgStore<'_> {
    async fn issue_token(&self, new: &NewAuthToken) -> Result<(), StoreError> {
        exact_int("created_at", new.created_at)?;
        exact_int("expires_at", new.expires_at)?;
        let purpose = new.purpose.as_str();
        let hash = new.token_hash.to_hex();
        let new_email = new.new_email.as_ref().map(Email::as_str);
        self.query(
            "WITH voided AS (DELETE FROM auth_tokens WHERE user_id = $3 AND purpose = $1) \
             INSERT INTO auth_tokens (purpose, token_hash, user_id, new_email, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&purpose, Type::TEXT),
                (&hash, Type::TEXT),
                (&new.user_id.0, Type::INT8),
                (&new_email, Type::TEXT),
                (&new.created_at, Type::INT8),
                (&new.expires_at, Type::INT8),
            ],
        )
        .await?;
        Ok(())
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        const T: &str = "auth_tokens";
        exact_int("now", now)?;
        let hash = hash.to_hex();
        let purpose_str = purpose.as_str();
        let rows = self
            .query(
                "UPDATE auth_tokens t SET used_at = $3 \
                 WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
                 AND t.expires_at > $3 AND NOT EXISTS (SELECT 1 FROM auth_tokens n \
                 WHERE n.user_id = t.user_id AND n.purpose = t.purpose AND n.id > t.id) \
                 RETURNING t.purpose, t.user_id, t.new_email, t.created_at",
                &[
                    (&hash, Type::TEXT),
                    (&purpose_str, Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let user: i64 = get(row, 1, T)?;
        let stored_purpose: &str = get(row, 0, T)?;
        let new_email: Option<&str> = get(row, 2, T)?;
        Ok(Some(ConsumedToken {
            purpose: parse(TokenPurpose::parse(stored_purpose), T, Some(user))?,
            user_id: UserId(user),
            new_email: new_email
                .map(|e| parse(Email::parse(e), T, Some(user)))
                .transpose()?,
            created_at: get(row, 3, T)?,
        }))
    }
}

impl RecoveryCodeStore for PgStore<'_> {
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        code_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        exact_int("now", now)?;
        self.query(
            "WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1) \
             INSERT INTO recovery_codes (user_id, code_hash, created_at) \
             SELECT $1, h, $3 FROM unnest($2::text[]) AS h",
            &[
                (&user.0, Type::INT8),
                (&code_hashes, Type::TEXT_ARRAY),
                (&now, Type::INT8),
            ],
        )
        .await?;
        Ok(())
    }

    async fn consume_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let rows = self
            .query(
                "UPDATE recovery_codes SET used_at = $3 WHERE used_at IS NULL AND id = \
                 (SELECT id FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 \
                 AND used_at IS NULL ORDER BY id LIMIT 1) RETURNING id",
                &[
                    (&user.0, Type::INT8),
                    (&code_hash, Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn remaining_recovery_codes(&self, user: UserId) -> Result<u32, StoreError> {
        let rows = self
            .query(
                "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                &[(&user.0, Type::INT8)],
            )
            .await?;
        let n: i64 = match rows.first() {
            Some(row) => get(row, 0, "recovery_codes")?,
            None => 0,
        };
        parse(u32::try_from(n), "recovery_codes", None)
    }
}

/// Lock durations indexed by lock count − 1, up to the cap (the SQL clamps the index).
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

impl LockoutStore for PgStore<'_> {
    async fn reserve(&self, acct_hash: &str, now: i64) -> Result<Reservation, StoreError> {
        const T: &str = "auth_lockouts";
        exact_int("now", now)?;
        let p = LOCKOUT_PARAMS;
        let max_failures = i64::from(p.max_failures);
        let durations = lock_durations();
        let rows = self
            .query(
                RESERVE,
                &[
                    (&acct_hash, Type::TEXT),
                    (&now, Type::INT8),
                    (&max_failures, Type::INT8),
                    (&p.reset_after_ms, Type::INT8),
                    (&p.rapid_failure_ms, Type::INT8),
                    (&p.rapid_lock_ms, Type::INT8),
                    (&durations, Type::INT8_ARRAY),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            // Locked by a row this statement's snapshot cannot see yet: still refused.
            return Ok(Reservation::Locked {
                retry_after_secs: 1,
            });
        };
        if get::<bool>(row, 0, T)? {
            return Ok(Reservation::Allowed);
        }
        let locked_until: Option<i64> = get(row, 1, T)?;
        let state = LockoutState {
            locked_until,
            ..LockoutState::default()
        };
        Ok(match state.check(now) {
            locked @ Reservation::Locked { .. } => locked,
            Reservation::Allowed => Reservation::Locked {
                retry_after_secs: 1,
            },
        })
    }

    async fn record_success(&self, acct_hash: &str) -> Result<(), StoreError> {
        self.query(
            "DELETE FROM auth_lockouts WHERE acct_hash = $1",
            &[(&acct_hash, Type::TEXT)],
        )
        .await?;
        Ok(())
    }

    async fn unlock(&self, acct_hash: &str) -> Result<(), StoreError> {
        self.record_success(acct_hash).await
    }

    async fn lockout_state(&self, acct_hash: &str) -> Result<Option<LockoutState>, StoreError> {
        let rows = self
            .query(
                "SELECT failures, last_failure_at, locked_until, lock_count \
                 FROM auth_lockouts WHERE acct_hash = $1",
                &[(&acct_hash, Type::TEXT)],
            )
            .await?;
        rows.first().map(lockout_row).transpose()
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
}
