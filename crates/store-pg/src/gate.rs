//! The gate's reads over Postgres: each credential with its owner and the owner's
//! subscription in ONE joined statement (columns in the order of the row readers of
//! `accounts` and `api_keys`, the user's after the credential's).

use crate::accounts::{session_row, user_row_at, SESSION_COLS, USER_COLS};
use crate::api_keys::{key_row, KEY_COLS};
use crate::{get, PgStore};
use cl_app::policy::Subscription;
use cl_app::ports::api_keys::policy_subscription;
use cl_app::ports::gate::{GateStore, KeyGrant, SessionGrant};
use cl_app::ports::StoreError;
use cl_auth::tokens::TokenHash;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

/// Columns of the session read: `SESSION_COLS`, then `USER_COLS`, then the subscription.
const SESSION_USER_AT: usize = 12;
/// Columns of the key read: `KEY_COLS`, then `USER_COLS`, then the subscription, then the
/// rules flag.
const KEY_USER_AT: usize = 15;
/// `USER_COLS` has 16 columns.
const USER_WIDTH: usize = 16;

/// `cols` with every column qualified by `alias`.
fn qualified(alias: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subscription columns (plan, status, expires_at) at `at`, NULL when the user has none.
fn subscription_at(row: &Row, at: usize) -> Result<Option<Subscription>, StoreError> {
    const T: &str = "subscriptions";
    let plan: Option<&str> = get(row, at, T)?;
    let Some(plan) = plan else {
        return Ok(None);
    };
    let status: &str = get(row, at + 1, T)?;
    policy_subscription(plan, status, get(row, at + 2, T)?).map(Some)
}

impl GateStore for PgStore<'_> {
    async fn session_grant(&self, hash: &TokenHash) -> Result<Option<SessionGrant>, StoreError> {
        let sql = format!(
            "SELECT {}, {}, b.plan, b.status, b.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN subscriptions b ON b.user_id = s.user_id \
             WHERE s.token_hash = $1",
            qualified("s", SESSION_COLS),
            qualified("u", USER_COLS),
        );
        let hash = hash.to_hex();
        let rows = self.query(&sql, &[(&hash, Type::TEXT)]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(SessionGrant {
            session: session_row(row)?,
            user: user_row_at(row, SESSION_USER_AT)?,
            subscription: subscription_at(row, SESSION_USER_AT + USER_WIDTH)?,
        }))
    }

    async fn key_grant(&self, prefix: &str) -> Result<Option<KeyGrant>, StoreError> {
        let sql = format!(
            "SELECT {}, {}, b.plan, b.status, b.expires_at, \
             EXISTS (SELECT 1 FROM api_key_ip_rules r WHERE r.key_id = k.id) \
             FROM api_keys k JOIN users u ON u.id = k.user_id \
             LEFT JOIN subscriptions b ON b.user_id = k.user_id \
             WHERE k.prefix = $1",
            qualified("k", KEY_COLS),
            qualified("u", USER_COLS),
        );
        let rows = self.query(&sql, &[(&prefix, Type::TEXT)]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let sub_at = KEY_USER_AT + USER_WIDTH;
        Ok(Some(KeyGrant {
            key: key_row(row)?,
            owner: user_row_at(row, KEY_USER_AT)?,
            subscription: subscription_at(row, sub_at)?,
            has_ip_rules: get(row, sub_at + 3, "api_key_ip_rules")?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_offsets_match_the_column_lists() {
        let n = |cols: &str| cols.split(',').count();
        assert_eq!(n(SESSION_COLS), SESSION_USER_AT);
        assert_eq!(n(KEY_COLS), KEY_USER_AT);
        assert_eq!(n(USER_COLS), USER_WIDTH);
        assert_eq!(qualified("u", "id, email"), "u.id, u.email");
    }
}
