//! The gate's reads over D1: each credential with its owner and the owner's subscription in
//! ONE joined statement (one round trip). The credential's columns keep their names, the
//! owner's are aliased `u_<column>` and the subscription's `b_<column>`, so each part is
//! decoded from the same row objects by its own row type.

use crate::accounts::{OwnerRow, SessionRow, SESSION_COLS, USER_COLS};
use crate::api_keys::{KeyRow, KEY_COLS};
use crate::values::{read_flag, read_opt_int, text};
use crate::{decode, D1Store};
use cl_app::policy::Subscription;
use cl_app::ports::api_keys::{policy_subscription, StoredApiKey};
use cl_app::ports::gate::{GateStore, KeyGrant, SessionGrant};
use cl_app::ports::{StoreError, StoredSession, StoredUser};
use cl_auth::tokens::TokenHash;
use serde::Deserialize;
use worker::D1Result;

/// What a failed statement refers to.
const GATE: &str = "credential";

/// `cols` qualified by `alias`, each renamed `<prefix><column>` when `prefix` is given.
fn select_list(alias: &str, cols: &str, prefix: Option<&str>) -> String {
    cols.split(',')
        .map(|c| {
            let c = c.trim();
            match prefix {
                Some(p) => format!("{alias}.{c} AS {p}{c}"),
                None => format!("{alias}.{c}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subscription columns of a joined row (all NULL: the owner has none).
#[derive(Deserialize)]
struct PlanRow {
    b_plan: Option<String>,
    b_status: Option<String>,
    b_expires_at: Option<f64>,
}

impl PlanRow {
    fn subscription(self) -> Result<Option<Subscription>, StoreError> {
        const T: &str = "subscriptions";
        match (self.b_plan, self.b_status) {
            (Some(plan), Some(status)) => {
                let expires = read_opt_int(T, None, "expires_at", self.b_expires_at)?;
                policy_subscription(&plan, &status, expires).map(Some)
            }
            (None, None) => Ok(None),
            _ => Err(StoreError::corrupt(T, None, "plan or status missing")),
        }
    }
}

#[derive(Deserialize)]
struct RulesFlag {
    has_ip_rules: f64,
}

/// The first row of `res` decoded as `R` and converted into `T` (`None`: no row).
fn first<R, T>(table: &'static str, res: &D1Result) -> Result<Option<T>, StoreError>
where
    R: serde::de::DeserializeOwned,
    T: TryFrom<R, Error = StoreError>,
{
    decode::<R>(table, res)?
        .into_iter()
        .next()
        .map(T::try_from)
        .transpose()
}

fn plan(res: &D1Result) -> Result<Option<Subscription>, StoreError> {
    match decode::<PlanRow>("subscriptions", res)?.into_iter().next() {
        Some(p) => p.subscription(),
        None => Ok(None),
    }
}

impl GateStore for D1Store {
    async fn session_grant(&self, hash: &TokenHash) -> Result<Option<SessionGrant>, StoreError> {
        let sql = format!(
            "SELECT {}, {}, b.plan AS b_plan, b.status AS b_status, b.expires_at AS b_expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN subscriptions b ON b.user_id = s.user_id \
             WHERE s.token_hash = ?1",
            select_list("s", SESSION_COLS, None),
            select_list("u", USER_COLS, Some("u_")),
        );
        let stmt = self.stmt(&sql, &[text(&hash.to_hex())])?;
        let res = self.exec(stmt, GATE).await?;
        let Some(session) = first::<SessionRow, StoredSession>("sessions", &res)? else {
            return Ok(None);
        };
        let Some(user) = first::<OwnerRow, StoredUser>("users", &res)? else {
            return Ok(None);
        };
        Ok(Some(SessionGrant {
            session,
            user,
            subscription: plan(&res)?,
        }))
    }

    async fn key_grant(&self, prefix: &str) -> Result<Option<KeyGrant>, StoreError> {
        let sql = format!(
            "SELECT {}, {}, b.plan AS b_plan, b.status AS b_status, b.expires_at AS b_expires_at, \
             EXISTS (SELECT 1 FROM api_key_ip_rules r WHERE r.key_id = k.id) AS has_ip_rules \
             FROM api_keys k JOIN users u ON u.id = k.user_id \
             LEFT JOIN subscriptions b ON b.user_id = k.user_id \
             WHERE k.prefix = ?1",
            select_list("k", KEY_COLS, None),
            select_list("u", USER_COLS, Some("u_")),
        );
        let stmt = self.stmt(&sql, &[text(prefix)])?;
        let res = self.exec(stmt, GATE).await?;
        let Some(key) = first::<KeyRow, StoredApiKey>("api_keys", &res)? else {
            return Ok(None);
        };
        let Some(owner) = first::<OwnerRow, StoredUser>("users", &res)? else {
            return Ok(None);
        };
        let flag = decode::<RulesFlag>("api_key_ip_rules", &res)?
            .into_iter()
            .next()
            .map_or(0.0, |f| f.has_ip_rules);
        Ok(Some(KeyGrant {
            key,
            owner,
            subscription: plan(&res)?,
            has_ip_rules: read_flag("api_key_ip_rules", None, "has_ip_rules", flag)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_columns_are_aliased_and_the_credentials_are_not() {
        assert_eq!(select_list("s", "a, b", None), "s.a, s.b");
        assert_eq!(
            select_list("u", "id, created_at", Some("u_")),
            "u.id AS u_id, u.created_at AS u_created_at"
        );
    }
}
