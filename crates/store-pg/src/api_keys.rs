//! The API-key port over Postgres: keys, IP rules, hourly usage, and the subscription lookup
//! of the tier policy.
//!
//! Ownership is part of every owner-facing statement (`WHERE user_id = $user`), so another
//! user's key is simply not found. The active-key quota is counted in one transaction after
//! locking the owner's `users` row `FOR NO KEY UPDATE` (as the portfolio quotas), so
//! concurrent creations are serialised; the IP-rule quota locks the key row the same way. The
//! usage bucket is one `INSERT … ON CONFLICT DO UPDATE` (atomic increment) in the same
//! transaction as `last_used_at`.

use crate::{get, parse, PgStore, Tx};
use cl_app::policy::Subscription;
use cl_app::ports::api_keys::{
    hour_start, policy_subscription, quota, validate_new_key, ApiKeyEdit, ApiKeyId, ApiKeyStatus,
    ApiKeyStore, IpAction, IpRuleId, KeyLimits, NewApiKey, NewIpRule, ScopeSet, StoredApiKey,
    StoredIpRule, SubscriptionLookup, UsageBucket,
};
use cl_app::ports::{exact_int, StoreError, UserId};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

pub(crate) const KEY_COLS: &str =
    "id, user_id, name, prefix, key_hmac, last4, scopes, status, created_at, \
     expires_at, per_min, per_hour, per_day, last_used_at, revoked_at";

const RULE_COLS: &str = "id, key_id, action, cidr, created_at";

fn limit(row: &Row, idx: usize, id: i64) -> Result<u32, StoreError> {
    let v: i64 = get(row, idx, "api_keys")?;
    parse(u32::try_from(v), "api_keys", Some(id))
}

pub(crate) fn key_row(row: &Row) -> Result<StoredApiKey, StoreError> {
    const T: &str = "api_keys";
    let id: i64 = get(row, 0, T)?;
    let scopes: &str = get(row, 6, T)?;
    let status: &str = get(row, 7, T)?;
    Ok(StoredApiKey {
        id: ApiKeyId(id),
        user_id: UserId(get(row, 1, T)?),
        name: get(row, 2, T)?,
        prefix: get(row, 3, T)?,
        key_hmac: get(row, 4, T)?,
        last4: get(row, 5, T)?,
        scopes: parse(ScopeSet::from_stored(scopes), T, Some(id))?,
        status: parse(ApiKeyStatus::parse(status), T, Some(id))?,
        created_at: get(row, 8, T)?,
        expires_at: get(row, 9, T)?,
        limits: KeyLimits {
            per_min: limit(row, 10, id)?,
            per_hour: limit(row, 11, id)?,
            per_day: limit(row, 12, id)?,
        },
        last_used_at: get(row, 13, T)?,
        revoked_at: get(row, 14, T)?,
    })
}

fn rule_row(row: &Row) -> Result<StoredIpRule, StoreError> {
    const T: &str = "api_key_ip_rules";
    let id: i64 = get(row, 0, T)?;
    let action: &str = get(row, 2, T)?;
    Ok(StoredIpRule {
        id: IpRuleId(id),
        key_id: ApiKeyId(get(row, 1, T)?),
        action: parse(IpAction::parse(action), T, Some(id))?,
        cidr: get(row, 3, T)?,
        created_at: get(row, 4, T)?,
    })
}

fn count_of(rows: &[Row], table: &'static str) -> Result<i64, StoreError> {
    rows.first()
        .map(|r| get::<i64>(r, 0, table))
        .transpose()?
        .ok_or_else(|| StoreError::Unavailable(format!("count over {table} returned no row")))
}

async fn finish<T>(tx: Tx<'_, '_>, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

async fn create_in(tx: &Tx<'_, '_>, new: &NewApiKey, max: u32) -> Result<StoredApiKey, StoreError> {
    let user = new.user_id.0;
    if tx
        .query(
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            &[(&user, Type::INT8)],
        )
        .await?
        .is_empty()
    {
        return Err(StoreError::NotFound("user"));
    }
    let rows = tx
        .query(
            "SELECT count(*) FROM api_keys WHERE user_id = $1 AND status = 'active' \
             AND (expires_at IS NULL OR expires_at > $2)",
            &[(&user, Type::INT8), (&new.created_at, Type::INT8)],
        )
        .await?;
    if count_of(&rows, "api_keys")? >= i64::from(max) {
        return Err(StoreError::Conflict(quota::API_KEYS));
    }
    let sql = format!(
        "INSERT INTO api_keys (user_id, name, prefix, key_hmac, last4, scopes, status, \
         created_at, expires_at, per_min, per_hour, per_day) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $11) RETURNING {KEY_COLS}"
    );
    let scopes = new.scopes.to_stored();
    let (pm, ph, pd) = (
        i64::from(new.limits.per_min),
        i64::from(new.limits.per_hour),
        i64::from(new.limits.per_day),
    );
    let rows = tx
        .query(
            &sql,
            &[
                (&user, Type::INT8),
                (&new.name, Type::TEXT),
                (&new.prefix, Type::TEXT),
                (&new.key_hmac, Type::TEXT),
                (&new.last4, Type::TEXT),
                (&scopes, Type::TEXT),
                (&new.created_at, Type::INT8),
                (&new.expires_at, Type::INT8),
                (&pm, Type::INT8),
                (&ph, Type::INT8),
                (&pd, Type::INT8),
            ],
        )
        .await?;
    rows.first()
        .map(key_row)
        .transpose()?
        .ok_or(StoreError::NotFound("api key"))
}

async fn add_rule_in(
    tx: &Tx<'_, '_>,
    user: UserId,
    key: ApiKeyId,
    rule: &NewIpRule,
    max: u32,
) -> Result<StoredIpRule, StoreError> {
    if tx
        .query(
            "SELECT id FROM api_keys WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE",
            &[(&key.0, Type::INT8), (&user.0, Type::INT8)],
        )
        .await?
        .is_empty()
    {
        return Err(StoreError::NotFound("api key"));
    }
    let rows = tx
        .query(
            "SELECT count(*) FROM api_key_ip_rules WHERE key_id = $1",
            &[(&key.0, Type::INT8)],
        )
        .await?;
    if count_of(&rows, "api_key_ip_rules")? >= i64::from(max) {
        return Err(StoreError::Conflict(quota::IP_RULES));
    }
    let sql = format!(
        "INSERT INTO api_key_ip_rules (key_id, action, cidr, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING {RULE_COLS}"
    );
    let action = rule.action.as_str();
    let rows = tx
        .query(
            &sql,
            &[
                (&key.0, Type::INT8),
                (&action, Type::TEXT),
                (&rule.cidr, Type::TEXT),
                (&rule.created_at, Type::INT8),
            ],
        )
        .await?;
    rows.first()
        .map(rule_row)
        .transpose()?
        .ok_or(StoreError::NotFound("api key ip rule"))
}

impl ApiKeyStore for PgStore<'_> {
    async fn create_api_key(
        &self,
        new: &NewApiKey,
        max_active: u32,
    ) -> Result<StoredApiKey, StoreError> {
        validate_new_key(new)?;
        let tx = self.begin().await?;
        let result = create_in(&tx, new, max_active).await;
        finish(tx, result).await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = $1");
        self.opt(&sql, &[(&prefix, Type::TEXT)], key_row).await
    }

    async fn api_keys_of(&self, user: UserId) -> Result<Vec<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE user_id = $1 ORDER BY id");
        self.all(&sql, &[(&user.0, Type::INT8)], key_row).await
    }

    async fn api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<Option<StoredApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1 AND user_id = $2");
        self.opt(&sql, &[(&id.0, Type::INT8), (&user.0, Type::INT8)], key_row)
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
        if let Some(Some(e)) = edit.expires_at {
            exact_int("api_keys.expires_at", e)?;
        }
        let scopes = edit.scopes.map(ScopeSet::to_stored);
        let set_expiry = edit.expires_at.is_some();
        let expiry = edit.expires_at.flatten();
        let limits = edit.limits.map(|l| {
            (
                i64::from(l.per_min),
                i64::from(l.per_hour),
                i64::from(l.per_day),
            )
        });
        let (pm, ph, pd) = (
            limits.map(|l| l.0),
            limits.map(|l| l.1),
            limits.map(|l| l.2),
        );
        let sql = format!(
            "UPDATE api_keys SET name = COALESCE($3, name), scopes = COALESCE($4, scopes), \
             expires_at = CASE WHEN $5 THEN $6 ELSE expires_at END, \
             per_min = COALESCE($7, per_min), per_hour = COALESCE($8, per_hour), \
             per_day = COALESCE($9, per_day) \
             WHERE id = $1 AND user_id = $2 AND status <> 'revoked' RETURNING {KEY_COLS}"
        );
        self.opt(
            &sql,
            &[
                (&id.0, Type::INT8),
                (&user.0, Type::INT8),
                (&edit.name, Type::TEXT),
                (&scopes, Type::TEXT),
                (&set_expiry, Type::BOOL),
                (&expiry, Type::INT8),
                (&pm, Type::INT8),
                (&ph, Type::INT8),
                (&pd, Type::INT8),
            ],
            key_row,
        )
        .await
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, $3) \
                 WHERE id = $1 AND user_id = $2 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&user.0, Type::INT8),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn add_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: &NewIpRule,
        max: u32,
    ) -> Result<StoredIpRule, StoreError> {
        exact_int("api_key_ip_rules.created_at", rule.created_at)?;
        let tx = self.begin().await?;
        let result = add_rule_in(&tx, user, key, rule, max).await;
        finish(tx, result).await
    }

    async fn ip_rules(&self, key: ApiKeyId) -> Result<Vec<StoredIpRule>, StoreError> {
        let sql = format!("SELECT {RULE_COLS} FROM api_key_ip_rules WHERE key_id = $1 ORDER BY id");
        self.all(&sql, &[(&key.0, Type::INT8)], rule_row).await
    }

    async fn delete_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: IpRuleId,
    ) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "DELETE FROM api_key_ip_rules r USING api_keys k \
                 WHERE r.id = $1 AND r.key_id = $2 AND k.id = r.key_id AND k.user_id = $3 \
                 RETURNING r.id",
                &[
                    (&rule.0, Type::INT8),
                    (&key.0, Type::INT8),
                    (&user.0, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn record_api_key_use(&self, key: ApiKeyId, now: i64) -> Result<(), StoreError> {
        exact_int("api_keys.last_used_at", now)?;
        let hour = hour_start(now);
        // One statement: the CTE's update and the upsert commit together.
        let rows = self
            .query(
                "WITH touched AS (UPDATE api_keys SET last_used_at = $2 WHERE id = $1 RETURNING id) \
                 INSERT INTO api_key_usage (key_id, hour_start, request_count) \
                 SELECT id, $3, 1 FROM touched \
                 ON CONFLICT (key_id, hour_start) \
                 DO UPDATE SET request_count = api_key_usage.request_count + 1 \
                 RETURNING key_id",
                &[(&key.0, Type::INT8), (&now, Type::INT8), (&hour, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
            Err(StoreError::NotFound("api key"))
        } else {
            Ok(())
        }
    }

    async fn api_key_usage(
        &self,
        key: ApiKeyId,
        since: i64,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        let rows = self
            .query(
                "SELECT hour_start, request_count FROM api_key_usage \
                 WHERE key_id = $1 AND hour_start >= $2 ORDER BY hour_start",
                &[(&key.0, Type::INT8), (&since, Type::INT8)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = get(r, 1, "api_key_usage")?;
                Ok(UsageBucket {
                    hour_start: get(r, 0, "api_key_usage")?,
                    count: parse(u64::try_from(n), "api_key_usage", Some(key.0))?,
                })
            })
            .collect()
    }
}

impl SubscriptionLookup for PgStore<'_> {
    async fn tier_subscription(&self, user: UserId) -> Result<Option<Subscription>, StoreError> {
        let rows = self
            .query(
                "SELECT plan, status, expires_at FROM subscriptions WHERE user_id = $1",
                &[(&user.0, Type::INT8)],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        const T: &str = "subscriptions";
        let plan: &str = get(row, 0, T)?;
        let status: &str = get(row, 1, T)?;
        policy_subscription(plan, status, get(row, 2, T)?).map(Some)
    }
}
