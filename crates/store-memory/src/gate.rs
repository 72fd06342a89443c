//! The gate's reads over the memory store: the same rows the separate ports return, read
//! together (one borrow per table, nothing held across an await).

use crate::MemoryStore;
use cl_app::ports::api_keys::{ApiKeyStore, SubscriptionLookup};
use cl_app::ports::gate::{GateStore, KeyGrant, SessionGrant};
use cl_app::ports::{SessionStore, StoreError, UserStore};
use cl_auth::tokens::TokenHash;

impl GateStore for MemoryStore {
    async fn session_grant(&self, hash: &TokenHash) -> Result<Option<SessionGrant>, StoreError> {
        let Some(session) = self.session(hash).await? else {
            return Ok(None);
        };
        let Some(user) = self.user(session.user_id).await? else {
            return Ok(None);
        };
        let subscription = self.tier_subscription(user.id).await?;
        Ok(Some(SessionGrant {
            session,
            user,
            subscription,
        }))
    }

    async fn key_grant(&self, prefix: &str) -> Result<Option<KeyGrant>, StoreError> {
        let Some(key) = self.api_key_by_prefix(prefix).await? else {
            return Ok(None);
        };
        let Some(owner) = self.user(key.user_id).await? else {
            return Ok(None);
        };
        let subscription = self.tier_subscription(owner.id).await?;
        let has_ip_rules = !self.ip_rules(key.id).await?.is_empty();
        Ok(Some(KeyGrant {
            key,
            owner,
            subscription,
            has_ip_rules,
        }))
    }
}
