//! The API-key port over D1: keys, IP rules, hourly usage, and the subscription lookup of the
//! tier policy, with the conventions of the other D1 ports (exact f64 integers, rows converted
//! once with `TryFrom`, errors classified once).
//!
//! Atomicity: every quota is checked inside the inserting statement (`INSERT … SELECT … WHERE
//! (SELECT count(*) …) < max`), which D1 runs as one unit, so concurrent creations cannot
//! both pass it; when no row comes back, one read tells a missing key from a full quota. The
//! usage bucket and `last_used_at` are written in one `batch()` (one transaction), the bucket
//! as an atomic `ON CONFLICT DO UPDATE SET request_count = request_count + 1`.

use crate::values::{count, flag, int, opt_int, opt_text, read_int, read_opt_int, text};
use crate::{decode, D1Store};
use cl_app::policy::Subscription;
use cl_app::ports::api_keys::{
    hour_start, policy_subscription, quota, validate_new_key, ApiKeyEdit, ApiKeyId, ApiKeyStatus,
    ApiKeyStore, IpAction, IpRuleId, KeyLimits, NewApiKey, NewIpRule, ScopeSet, StoredApiKey,
    StoredIpRule, SubscriptionLookup, UsageBucket,
};
use cl_app::ports::{StoreError, UserId};
use serde::Deserialize;

const USER: &str = "user";
const KEY: &str = "api key";

pub(crate) const KEY_COLS: &str =
    "id, user_id, name, prefix, key_hmac, last4, scopes, status, created_at, \
     expires_at, per_min, per_hour, per_day, last_used_at, revoked_at";

const RULE_COLS: &str = "id, key_id, action, cidr, created_at";

#[derive(Deserialize)]
pub(crate) struct KeyRow {
    id: f64,
    user_id: f64,
    name: String,
    prefix: String,
    key_hmac: String,
    last4: String,
    scopes: String,
    status: String,
    created_at: f64,
    expires_at: Option<f64>,
    per_min: f64,
    per_hour: f64,
    per_day: f64,
    last_used_at: Option<f64>,
    revoked_at: Option<f64>,
}

fn corrupt<E: std::fmt::Display>(table: &'static str, id: i64) -> impl Fn(E) -> StoreError {
    move |e| StoreError::corrupt(table, Some(id), e)
}

fn small(table: &'static str, id: i64, what: &'static str, v: f64) -> Result<u32, StoreError> {
    u32::try_from(read_int(table, Some(id), what, v)?).map_err(corrupt(table, id))
}

impl TryFrom<KeyRow> for StoredApiKey {
    type Error = StoreError;

    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        const T: &str = "api_keys";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredApiKey {
            id: ApiKeyId(id),
            user_id: UserId(read_int(T, at, "user_id", r.user_id)?),
            name: r.name,
            prefix: r.prefix,
            key_hmac: r.key_hmac,
            last4: r.last4,
            scopes: ScopeSet::from_stored(&r.scopes).map_err(corrupt(T, id))?,
            status: ApiKeyStatus::parse(&r.status).map_err(corrupt(T, id))?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            expires_at: read_opt_int(T, at, "expires_at", r.expires_at)?,
            limits: KeyLimits {
                per_min: small(T, id, "per_min", r.per_min)?,
                per_hour: small(T, id, "per_hour", r.per_hour)?,
                per_day: small(T, id, "per_day", r.per_day)?,
            },
            last_used_at: read_opt_int(T, at, "last_used_at", r.last_used_at)?,
            revoked_at: read_opt_int(T, at, "revoked_at", r.revoked_at)?,
        })
    }
}

#[derive(Deserialize)]
struct RuleRow {
    id: f64,
    key_id: f64,
    action: String,
    cidr: String,
    created_at: f64,
}

impl TryFrom<RuleRow> for StoredIpRule {
    type Error = StoreError;

    fn try_from(r: RuleRow) -> Result<Self, StoreError> {
        const T: &str = "api_key_ip_rules";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredIpRule {
            id: IpRuleId(id),
            key_id: ApiKeyId(read_int(T, at, "key_id", r.key_id)?),
            action: IpAction::parse(&r.action).map_err(corrupt(T, id))?,
            cidr: r.cidr,
            created_at: read_int(T, at, "created_at", r.created_at)?,
        })
    }
}

#[derive(Deserialize)]
struct UsageRow {
    hour_start: f64,
    request_count: f64,
}

impl TryFrom<UsageRow> for UsageBucket {
    type Error = StoreError;

    fn try_from(r: UsageRow) -> Result<Self, StoreError> {
        const T: &str = "api_key_usage";
        let n = read_int(T, None, "request_count", r.request_count)?;
        Ok(UsageBucket {
            hour_start: read_int(T, None, "hour_start", r.hour_start)?,
            count: u64::try_from(n).map_err(|e| StoreError::corrupt(T, None, e))?,
        })
    }
}

#[derive(Deserialize)]
struct SubscriptionRow {
    plan: String,
    status: String,
    expires_at: Option<f64>,
}

#[derive(Deserialize)]
struct IdRow {
    #[allow(dead_code)] // Reason: only the number of returned rows matters.
    id: f64,
}

impl D1Store {
    async fn one_key(
        &self,
        sql: &str,
        params: &[worker::wasm_bindgen::JsValue],
        missing: &'static str,
    ) -> Result<Option<StoredApiKey>, StoreError> {
        let stmt = self.stmt(sql, params)?;
        Ok(self
            .rows::<KeyRow, StoredApiKey>("api_keys", stmt, missing)
            .await?
            .into_iter()
            .next())
    }

    async fn ids(
        &self,
        sql: &str,
        params: &[worker::wasm_bindgen::JsValue],
    ) -> Result<usize, StoreError> {
        let stmt = self.stmt(sql, params)?;
        let res = self.exec(stmt, KEY).await?;
        Ok(decode::<IdRow>("api_keys", &res)?.len())
    }
}

impl ApiKeyStore for D1Store {
    async fn create_api_key(
        &self,
        new: &NewApiKey,
        max_active: u32,
    ) -> Result<StoredApiKey, StoreError> {
        validate_new_key(new)?;
        let sql = format!(
            "INSERT INTO api_keys (user_id, name, prefix, key_hmac, last4, scopes, status, \
             created_at, expires_at, per_min, per_hour, per_day) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8, ?9, ?10, ?11 \
             WHERE (SELECT count(*) FROM api_keys WHERE user_id = ?1 AND status = 'active' \
             AND (expires_at IS NULL OR expires_at > ?7)) < ?12 \
             RETURNING {KEY_COLS}"
        );
        let inserted = self
            .one_key(
                &sql,
                &[
                    int("user id", new.user_id.0)?,
                    text(&new.name),
                    text(&new.prefix),
                    text(&new.key_hmac),
                    text(&new.last4),
                    text(&new.scopes.to_stored()),
                    int("created_at", new.created_at)?,
                    opt_int("expires_at", new.expires_at)?,
                    count(new.limits.per_min),
                    count(new.limits.per_hour),
                    count(new.limits.per_day),
                    count(max_active),
                ],
                USER,
            )
            .await?;
        inserted.ok_or(StoreError::Conflict(quota::API_KEYS))
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = ?1");
        self.one_key(&sql, &[text(prefix)], KEY).await
    }

    async fn api_keys_of(&self, user: UserId) -> Result<Vec<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE user_id = ?1 ORDER BY id");
        let stmt = self.stmt(&sql, &[int("user id", user.0)?])?;
        self.rows::<KeyRow, StoredApiKey>("api_keys", stmt, KEY)
            .await
    }

    async fn api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<Option<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1 AND user_id = ?2");
        self.one_key(&sql, &[int("key id", id.0)?, int("user id", user.0)?], KEY)
            .await
    }

    async fn edit_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        edit: &ApiKeyEdit,
    ) -> Result<Option<StoredApiKey>, StoreError> {
        if edit.name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            return Err(StoreError::Invalid("api key name too long".into()));
        }
        let sql = format!(
            "UPDATE api_keys SET name = COALESCE(?3, name), scopes = COALESCE(?4, scopes), \
             expires_at = CASE WHEN ?5 = 1 THEN ?6 ELSE expires_at END, \
             per_min = COALESCE(?7, per_min), per_hour = COALESCE(?8, per_hour), \
             per_day = COALESCE(?9, per_day) \
             WHERE id = ?1 AND user_id = ?2 AND status <> 'revoked' RETURNING {KEY_COLS}"
        );
        let scopes = edit.scopes.map(ScopeSet::to_stored);
        let lim = |f: fn(&KeyLimits) -> u32| {
            edit.limits
                .as_ref()
                .map_or(worker::wasm_bindgen::JsValue::NULL, |l| count(f(l)))
        };
        self.one_key(
            &sql,
            &[
                int("key id", id.0)?,
                int("user id", user.0)?,
                opt_text(edit.name.as_deref()),
                opt_text(scopes.as_deref()),
                flag(edit.expires_at.is_some()),
                opt_int("expires_at", edit.expires_at.flatten())?,
                lim(|l| l.per_min),
                lim(|l| l.per_hour),
                lim(|l| l.per_day),
            ],
            KEY,
        )
        .await
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .ids(
                "UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?3) \
                 WHERE id = ?1 AND user_id = ?2 RETURNING id",
                &[
                    int("key id", id.0)?,
                    int("user id", user.0)?,
                    int("revoked_at", now)?,
                ],
            )
            .await?;
        Ok(n > 0)
    }

    async fn add_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: &NewIpRule,
        max: u32,
    ) -> Result<StoredIpRule, StoreError> {
        let sql = format!(
            "INSERT INTO api_key_ip_rules (key_id, action, cidr, created_at) \
             SELECT ?1, ?2, ?3, ?4 \
             WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1 AND user_id = ?5) \
             AND (SELECT count(*) FROM api_key_ip_rules WHERE key_id = ?1) < ?6 \
             RETURNING {RULE_COLS}"
        );
        let stmt = self.stmt(
            &sql,
            &[
                int("key id", key.0)?,
                text(rule.action.as_str()),
                text(&rule.cidr),
                int("created_at", rule.created_at)?,
                int("user id", user.0)?,
                count(max),
            ],
        )?;
        let inserted = self
            .rows::<RuleRow, StoredIpRule>("api_key_ip_rules", stmt, KEY)
            .await?
            .into_iter()
            .next();
        match inserted {
            Some(r) => Ok(r),
            None if self.api_key(user, key).await?.is_none() => Err(StoreError::NotFound(KEY)),
            None => Err(StoreError::Conflict(quota::IP_RULES)),
        }
    }

    async fn ip_rules(&self, key: ApiKeyId) -> Result<Vec<StoredIpRule>, StoreError> {
        let sql = format!("SELECT {RULE_COLS} FROM api_key_ip_rules WHERE key_id = ?1 ORDER BY id");
        let stmt = self.stmt(&sql, &[int("key id", key.0)?])?;
        self.rows::<RuleRow, StoredIpRule>("api_key_ip_rules", stmt, KEY)
            .await
    }

    async fn delete_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: IpRuleId,
    ) -> Result<bool, StoreError> {
        let n = self
            .ids(
                "DELETE FROM api_key_ip_rules WHERE id = ?1 AND key_id = ?2 \
                 AND key_id IN (SELECT id FROM api_keys WHERE user_id = ?3) RETURNING id",
                &[
                    int("rule id", rule.0)?,
                    int("key id", key.0)?,
                    int("user id", user.0)?,
                ],
            )
            .await?;
        Ok(n > 0)
    }

    async fn record_api_key_use(&self, key: ApiKeyId, now: i64) -> Result<(), StoreError> {
        let touch = self.stmt(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
            &[int("key id", key.0)?, int("last_used_at", now)?],
        )?;
        // A missing key fails the bucket's foreign key: the batch rolls back as a whole.
        let bucket = self.stmt(
            "INSERT INTO api_key_usage (key_id, hour_start, request_count) VALUES (?1, ?2, 1) \
             ON CONFLICT (key_id, hour_start) DO UPDATE SET request_count = request_count + 1",
            &[int("key id", key.0)?, int("hour_start", hour_start(now))?],
        )?;
        self.batch(vec![touch, bucket], KEY).await?;
        Ok(())
    }

    async fn api_key_usage(
        &self,
        key: ApiKeyId,
        since: i64,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        let stmt = self.stmt(
            "SELECT hour_start, request_count FROM api_key_usage \
             WHERE key_id = ?1 AND hour_start >= ?2 ORDER BY hour_start",
            &[int("key id", key.0)?, int("since", since)?],
        )?;
        self.rows::<UsageRow, UsageBucket>("api_key_usage", stmt, KEY)
            .await
    }
}

impl SubscriptionLookup for D1Store {
    async fn tier_subscription(&self, user: UserId) -> Result<Option<Subscription>, StoreError> {
        let stmt = self.stmt(
            "SELECT plan, status, expires_at FROM subscriptions WHERE user_id = ?1",
            &[int("user id", user.0)?],
        )?;
        let res = self.exec(stmt, USER).await?;
        let Some(row) = decode::<SubscriptionRow>("subscriptions", &res)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let expires = read_opt_int("subscriptions", None, "expires_at", row.expires_at)?;
        policy_subscription(&row.plan, &row.status, expires).map(Some)
    }
}
