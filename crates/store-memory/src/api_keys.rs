//! The API-key port in memory: keys, IP rules, hourly usage; and the subscription lookup of
//! the tier policy over the billing tables.
//!
//! Every call checks ownership, uniqueness and quotas first and mutates inside one `RefCell`
//! borrow with no `.await` in between (atomic like the SQL statement or transaction).

use crate::MemoryStore;
use cl_app::policy::Subscription;
use cl_app::ports::api_keys::hour_start;
use cl_app::ports::api_keys::{
    policy_subscription, quota, validate_new_key, ApiKeyEdit, ApiKeyId, ApiKeyStatus, ApiKeyStore,
    IpRuleId, NewApiKey, NewIpRule, StoredApiKey, StoredIpRule, SubscriptionLookup, UsageBucket,
};
use cl_app::ports::{BillingStore, StoreError, UserId, UserStore};
use std::collections::BTreeMap;

/// The API-key tables.
#[derive(Debug, Default)]
pub(crate) struct ApiKeyState {
    keys: BTreeMap<ApiKeyId, StoredApiKey>,
    rules: BTreeMap<IpRuleId, StoredIpRule>,
    usage: BTreeMap<(ApiKeyId, i64), u64>,
    last_key: i64,
    last_rule: i64,
}

impl ApiKeyState {
    fn owned_mut(&mut self, user: UserId, id: ApiKeyId) -> Option<&mut StoredApiKey> {
        self.keys.get_mut(&id).filter(|k| k.user_id == user)
    }
}

impl ApiKeyStore for MemoryStore {
    async fn create_api_key(
        &self,
        new: &NewApiKey,
        max_active: u32,
    ) -> Result<StoredApiKey, StoreError> {
        validate_new_key(new)?;
        if self.user(new.user_id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        let mut st = self.api_keys.borrow_mut();
        if st.keys.values().any(|k| k.prefix == new.prefix) {
            return Err(StoreError::Conflict("api_keys.prefix"));
        }
        if st.keys.values().any(|k| k.key_hmac == new.key_hmac) {
            return Err(StoreError::Conflict("api_keys.key_hmac"));
        }
        let active = st
            .keys
            .values()
            .filter(|k| k.user_id == new.user_id && k.is_usable(new.created_at))
            .count();
        if u32::try_from(active).unwrap_or(u32::MAX) >= max_active {
            return Err(StoreError::Conflict(quota::API_KEYS));
        }
        st.last_key += 1;
        let key = StoredApiKey {
            id: ApiKeyId(st.last_key),
            user_id: new.user_id,
            name: new.name.clone(),
            prefix: new.prefix.clone(),
            key_hmac: new.key_hmac.clone(),
            last4: new.last4.clone(),
            scopes: new.scopes,
            status: ApiKeyStatus::Active,
            created_at: new.created_at,
            expires_at: new.expires_at,
            limits: new.limits,
            last_used_at: None,
            revoked_at: None,
        };
        st.keys.insert(key.id, key.clone());
        Ok(key)
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>, StoreError> {
        Ok(self
            .api_keys
            .borrow()
            .keys
            .values()
            .find(|k| k.prefix == prefix)
            .cloned())
    }

    async fn api_keys_of(&self, user: UserId) -> Result<Vec<StoredApiKey>, StoreError> {
        Ok(self
            .api_keys
            .borrow()
            .keys
            .values()
            .filter(|k| k.user_id == user)
            .cloned()
            .collect())
    }

    async fn api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<Option<StoredApiKey>, StoreError> {
        Ok(self
            .api_keys
            .borrow()
            .keys
            .get(&id)
            .filter(|k| k.user_id == user)
            .cloned())
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
            cl_app::ports::exact_int("api_keys.expires_at", e)?;
        }
        let mut st = self.api_keys.borrow_mut();
        let Some(key) = st
            .owned_mut(user, id)
            .filter(|k| k.status != ApiKeyStatus::Revoked)
        else {
            return Ok(None);
        };
        if let Some(name) = &edit.name {
            key.name.clone_from(name);
        }
        if let Some(scopes) = edit.scopes {
            key.scopes = scopes;
        }
        if let Some(expires_at) = edit.expires_at {
            key.expires_at = expires_at;
        }
        if let Some(limits) = edit.limits {
            key.limits = limits;
        }
        Ok(Some(key.clone()))
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut st = self.api_keys.borrow_mut();
        let Some(key) = st.owned_mut(user, id) else {
            return Ok(false);
        };
        if key.status != ApiKeyStatus::Revoked {
            key.status = ApiKeyStatus::Revoked;
            key.revoked_at = Some(now);
        }
        Ok(true)
    }

    async fn add_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: &NewIpRule,
        max: u32,
    ) -> Result<StoredIpRule, StoreError> {
        let mut st = self.api_keys.borrow_mut();
        if st.owned_mut(user, key).is_none() {
            return Err(StoreError::NotFound("api key"));
        }
        let n = st.rules.values().filter(|r| r.key_id == key).count();
        if u32::try_from(n).unwrap_or(u32::MAX) >= max {
            return Err(StoreError::Conflict(quota::IP_RULES));
        }
        st.last_rule += 1;
        let stored = StoredIpRule {
            id: IpRuleId(st.last_rule),
            key_id: key,
            action: rule.action,
            cidr: rule.cidr.clone(),
            created_at: rule.created_at,
        };
        st.rules.insert(stored.id, stored.clone());
        Ok(stored)
    }

    async fn ip_rules(&self, key: ApiKeyId) -> Result<Vec<StoredIpRule>, StoreError> {
        Ok(self
            .api_keys
            .borrow()
            .rules
            .values()
            .filter(|r| r.key_id == key)
            .cloned()
            .collect())
    }

    async fn delete_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: IpRuleId,
    ) -> Result<bool, StoreError> {
        let mut st = self.api_keys.borrow_mut();
        if st.owned_mut(user, key).is_none() {
            return Ok(false);
        }
        if st.rules.get(&rule).is_some_and(|r| r.key_id == key) {
            st.rules.remove(&rule);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn record_api_key_use(&self, key: ApiKeyId, now: i64) -> Result<(), StoreError> {
        let mut st = self.api_keys.borrow_mut();
        let Some(row) = st.keys.get_mut(&key) else {
            return Err(StoreError::NotFound("api key"));
        };
        row.last_used_at = Some(now);
        *st.usage.entry((key, hour_start(now))).or_insert(0) += 1;
        Ok(())
    }

    async fn api_key_usage(
        &self,
        key: ApiKeyId,
        since: i64,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        Ok(self
            .api_keys
            .borrow()
            .usage
            .range((key, since)..=(key, i64::MAX))
            .map(|((_, hour), n)| UsageBucket {
                hour_start: *hour,
                count: *n,
            })
            .collect())
    }
}

impl SubscriptionLookup for MemoryStore {
    async fn tier_subscription(&self, user: UserId) -> Result<Option<Subscription>, StoreError> {
        let Ok(id) = cl_billing::UserId::new(user.0) else {
            return Ok(None);
        };
        let Some(row) = self.subscription_of(id).await? else {
            return Ok(None);
        };
        let s = row.subscription;
        policy_subscription(s.plan.as_str(), s.status.as_str(), s.expires_at).map(Some)
    }
}
