//! API keys (product.md §3, §11.10) and the caller's effective access (§1).
//!
//! Design:
//! - [`ApiKeyService`] borrows its ports ([`ApiKeyStore`], [`SubscriptionLookup`],
//!   [`UserStore`], [`GateStore`]), the [`Clock`] and the pepper (`API_KEY_PEPPER`); every rule is enforced
//!   here or in one atomic store call, never in the HTTP layer.
//! - A key is `cle_<8-char lookup>_<32 random bytes, base64url>` (`cl_auth::tokens::ApiKey`).
//!   It is returned ONCE by [`ApiKeyService::create`]; the store keeps the lookup prefix,
//!   `HMAC-SHA256(pepper, key)` and the last four characters. Authentication finds the row by
//!   prefix, with its owner and the owner's subscription in the same read
//!   ([`GateStore::key_grant`]; the IP rules only for a key that has some), and compares the
//!   HMAC in constant time.
//! - Creation needs: a tier whose limits include API keys (premium, or an admin not viewing as
//!   a lower tier), a verified email, a re-authentication within 10 minutes, and fewer than
//!   the tier's active-key quota (10), counted atomically by the store. Admin-only scopes need
//!   an admin owner.
//! - [`ApiKeyService::authenticate`] refuses, with ONE error ([`KeyAuthError::Invalid`], a 401),
//!   a malformed, unknown, wrong, revoked or expired key, an address the key's IP rules refuse
//!   (deny wins; with allow rules only those match; rules but no client IP: refused), and an
//!   owner who is deactivated, unverified or no longer on a tier with API access. Admin-only
//!   scopes of a key whose owner is no longer an admin are dropped.
//! - A user's effective tier is computed in one place, `crate::policy::effective_access`, from
//!   the stored subscription: read with the credential by the gate (sessions and keys), or
//!   through [`caller_access`] elsewhere.

use std::net::IpAddr;

use cl_auth::net::{Cidr, IpRules};
use cl_auth::tokens::{ApiKey, TokenError};
use cl_auth::SecretString;

use crate::accounts::{Authenticated, FieldError};
use crate::policy::{effective_access, Access, Quota, Tier};
use crate::ports::api_keys::{
    hour_start, quota, ApiKeyEdit, ApiKeyId, ApiKeyStore, IpAction, IpRuleId, KeyLimits, NewApiKey,
    NewIpRule, ScopeSet, StoredApiKey, StoredIpRule, SubscriptionLookup, UsageBucket,
};
use crate::ports::gate::{GateStore, KeyGrant};
use crate::ports::{Clock, StoreError, StoredUser, UserId, UserStore};

/// IP rules per key.
pub const MAX_IP_RULES: u32 = 50;
/// Longest key name.
pub const MAX_NAME_CHARS: usize = 50;
/// Usage is shown for at most this many days back.
pub const USAGE_DAYS: i64 = 30;
/// Highest per-key limit an owner may set (per minute, hour or day).
pub const MAX_KEY_LIMIT: u32 = 1_000_000;
/// Active keys of an admin not viewing as a tier (the policy says unlimited; this bounds the
/// table).
pub const ADMIN_MAX_ACTIVE_KEYS: u32 = 100;

const DAY_MS: i64 = 86_400_000;

/// The effective access of a user at `now`: the plan of a valid subscription (grace rules in
/// `crate::policy`), admins unlimited unless `view_as`.
///
/// # Errors
/// Store failures.
pub async fn caller_access<S: SubscriptionLookup>(
    store: &S,
    user: &StoredUser,
    view_as: Option<Tier>,
    now: i64,
) -> Result<Access, StoreError> {
    let sub = store.tier_subscription(user.id).await?;
    Ok(effective_access(user.is_admin, view_as, sub.as_ref(), now))
}

/// The effective access of a session (its view-as included).
///
/// # Errors
/// Store failures.
pub async fn session_access<S: SubscriptionLookup>(
    store: &S,
    auth: &Authenticated,
    now: i64,
) -> Result<Access, StoreError> {
    caller_access(store, auth.user(), auth.session().view_as, now).await
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

fn field(errors: &mut Vec<FieldError>, field: &'static str, code: &'static str, message: &str) {
    errors.push(FieldError {
        field,
        code,
        message: message.to_owned(),
    });
}

/// A key name: trimmed, 1..=50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a name.
    ///
    /// # Errors
    /// One field error (`name`).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let bad = |code: &'static str, message: &str| FieldError {
            field: "name",
            code,
            message: message.to_owned(),
        };
        if name.is_empty() {
            return Err(bad("required", "Give the key a name."));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(bad("too_long", "At most 50 characters."));
        }
        if name.chars().any(char::is_control) {
            return Err(bad("invalid_format", "No control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a scope list: comma- or space-separated wire names, or `all`; at least one.
///
/// # Errors
/// One field error (`scopes`).
pub fn parse_scopes(raw: &str) -> Result<ScopeSet, FieldError> {
    let names: Vec<&str> = raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let bad = |code: &'static str, message: &str| FieldError {
        field: "scopes",
        code,
        message: message.to_owned(),
    };
    let set =
        ScopeSet::parse_request(&names).map_err(|_| bad("invalid_choice", "Unknown scope."))?;
    if set.is_empty() {
        return Err(bad("required", "Choose at least one scope."));
    }
    Ok(set)
}

/// Parses an optional expiry in UTC ms (a decimal string); it must lie in the future.
///
/// # Errors
/// One field error (`expires_at`).
pub fn parse_expiry(raw: &str, now: i64) -> Result<Option<i64>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "never" {
        return Ok(None);
    }
    let bad = |code: &'static str, message: &str| FieldError {
        field: "expires_at",
        code,
        message: message.to_owned(),
    };
    if raw.len() > 16 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "invalid_format",
            "UTC milliseconds, or empty for none.",
        ));
    }
    let ms: i64 = raw
        .parse()
        .map_err(|_| bad("invalid_format", "UTC milliseconds."))?;
    if ms <= now {
        return Err(bad("out_of_range", "The expiry must lie in the future."));
    }
    if ms > crate::ports::MAX_EXACT_INT {
        return Err(bad("out_of_range", "Too far in the future."));
    }
    Ok(Some(ms))
}

/// Parses one per-key limit (1..=[`MAX_KEY_LIMIT`]).
///
/// # Errors
/// One field error named `name`.
pub fn parse_limit(name: &'static str, raw: &str) -> Result<u32, FieldError> {
    let n = raw
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_KEY_LIMIT).contains(n));
    n.ok_or_else(|| FieldError {
        field: name,
        code: "out_of_range",
        message: format!("A whole number from 1 to {MAX_KEY_LIMIT}."),
    })
}

/// A validated new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    /// Name.
    pub name: KeyName,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Expiry.
    pub expires_at: Option<i64>,
}

/// A validated IP rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRuleRequest {
    /// Allow or deny.
    pub action: IpAction,
    /// The network.
    pub cidr: Cidr,
}

impl IpRuleRequest {
    /// Parses `action` and `cidr`.
    ///
    /// # Errors
    /// The field errors.
    pub fn parse(action: &str, cidr: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let action = IpAction::parse(action.trim())
            .map_err(|_| {
                field(
                    &mut errors,
                    "action",
                    "invalid_choice",
                    "`allow` or `deny`.",
                )
            })
            .ok();
        let cidr = Cidr::parse(cidr)
            .map_err(|_| {
                field(
                    &mut errors,
                    "cidr",
                    "invalid_format",
                    "An IPv4 or IPv6 address or network, e.g. 203.0.113.0/24.",
                )
            })
            .ok();
        match (action, cidr) {
            (Some(action), Some(cidr)) => Ok(Self { action, cidr }),
            _ => Err(errors),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Creating a key failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// The caller's tier has no API access (→ `tier_required`, premium).
    #[error("tier {0} required")]
    TierRequired(Tier),
    /// The email is not verified (→ `email_unverified`).
    #[error("email unverified")]
    EmailUnverified,
    /// No recent re-authentication (→ `reauth_required`).
    #[error("re-authentication required")]
    ReauthRequired,
    /// An admin-only scope for a non-admin (→ `validation_failed` on `scopes`).
    #[error("admin scope refused")]
    AdminScope,
    /// The active-key quota is used up (→ `quota_exceeded`).
    #[error("active key quota used up")]
    QuotaExceeded,
    /// Store failure.
    #[error(transparent)]
    Store(StoreError),
    /// Randomness or HMAC failure.
    #[error("token: {0}")]
    Token(#[from] TokenError),
}

impl From<StoreError> for CreateKeyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(k) if k == quota::API_KEYS => Self::QuotaExceeded,
            other => Self::Store(other),
        }
    }
}

/// Managing an existing key failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageKeyError {
    /// No such key (or rule) of this user (→ `not_found`; also for another user's id).
    #[error("not found")]
    NotFound,
    /// An admin-only scope for a non-admin (→ `validation_failed`).
    #[error("admin scope refused")]
    AdminScope,
    /// The key already has the maximum of IP rules (→ `quota_exceeded`).
    #[error("ip rule quota used up")]
    QuotaExceeded,
    /// Store failure.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ManageKeyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(k) if k == quota::IP_RULES => Self::QuotaExceeded,
            StoreError::NotFound(_) => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// Authenticating a presented key failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyAuthError {
    /// Any refusal (→ `unauthorized`): one variant, so the answer never tells why. The reason
    /// is for the security log only.
    #[error("invalid api key ({0})")]
    Invalid(&'static str),
    /// Store failure (→ 503/500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// A freshly created key: the secret is shown once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored row.
    pub key: StoredApiKey,
    /// The whole key, to show once.
    pub secret: SecretString,
}

/// An authenticated key: the row, its owner and the owner's access.
#[derive(Debug, Clone)]
pub struct KeyAuthenticated {
    /// The key.
    pub key: StoredApiKey,
    /// Its owner.
    pub user: StoredUser,
    /// The scopes in effect (admin-only ones dropped for a non-admin owner).
    pub scopes: ScopeSet,
    /// The owner's effective access.
    pub access: Access,
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

/// The API-key use cases over borrowed ports. Cheap to build per request.
pub struct ApiKeyService<'a, S, C> {
    store: &'a S,
    clock: &'a C,
    pepper: &'a SecretString,
}

impl<S, C> std::fmt::Debug for ApiKeyService<'_, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyService").finish_non_exhaustive()
    }
}

fn max_active(access: &Access) -> Option<u32> {
    match access.limits.api_keys {
        Quota::Limited(0) => None,
        Quota::Limited(n) => Some(n),
        Quota::Unlimited => Some(ADMIN_MAX_ACTIVE_KEYS),
    }
}

impl<'a, S, C> ApiKeyService<'a, S, C>
where
    S: ApiKeyStore + SubscriptionLookup + UserStore + GateStore,
    C: Clock,
{
    /// Builds the service.
    pub fn new(store: &'a S, clock: &'a C, pepper: &'a SecretString) -> Self {
        Self {
            store,
            clock,
            pepper,
        }
    }

    /// Creates a key for the session's user (rules in the module docs).
    ///
    /// # Errors
    /// [`CreateKeyError`].
    pub async fn create(
        &self,
        auth: &Authenticated,
        access: &Access,
        req: &KeyRequest,
    ) -> Result<CreatedKey, CreateKeyError> {
        let now = self.clock.now_ms();
        let Some(max) = max_active(access) else {
            return Err(CreateKeyError::TierRequired(Tier::Premium));
        };
        let user = auth.user();
        if !user.is_verified {
            return Err(CreateKeyError::EmailUnverified);
        }
        if !auth.reauth_is_fresh(now) {
            return Err(CreateKeyError::ReauthRequired);
        }
        if req.scopes.has_admin_scope() && !user.is_admin {
            return Err(CreateKeyError::AdminScope);
        }
        let key = ApiKey::generate()?;
        let new = NewApiKey {
            user_id: user.id,
            name: req.name.as_str().to_owned(),
            prefix: key.lookup().to_owned(),
            key_hmac: key.hash(self.pepper)?,
            last4: key.last4().to_owned(),
            scopes: req.scopes,
            created_at: now,
            expires_at: req.expires_at,
            limits: KeyLimits::default(),
        };
        let stored = self.store.create_api_key(&new, max).await?;
        Ok(CreatedKey {
            key: stored,
            secret: SecretString::new(key.expose_secret()),
        })
    }

    /// The user's keys (revoked ones included), oldest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list(&self, user: UserId) -> Result<Vec<StoredApiKey>, StoreError> {
        self.store.api_keys_of(user).await
    }

    /// One key of the user.
    ///
    /// # Errors
    /// [`ManageKeyError::NotFound`]; store failures.
    pub async fn get(&self, user: UserId, id: ApiKeyId) -> Result<StoredApiKey, ManageKeyError> {
        self.store
            .api_key(user, id)
            .await?
            .ok_or(ManageKeyError::NotFound)
    }

    /// Edits one of the user's keys (not a revoked one).
    ///
    /// # Errors
    /// [`ManageKeyError`].
    pub async fn edit(
        &self,
        user: &StoredUser,
        id: ApiKeyId,
        edit: &ApiKeyEdit,
    ) -> Result<StoredApiKey, ManageKeyError> {
        if edit.scopes.is_some_and(ScopeSet::has_admin_scope) && !user.is_admin {
            return Err(ManageKeyError::AdminScope);
        }
        self.store
            .edit_api_key(user.id, id, edit)
            .await?
            .ok_or(ManageKeyError::NotFound)
    }

    /// Revokes one of the user's keys; effective for the next request.
    ///
    /// # Errors
    /// [`ManageKeyError::NotFound`]; store failures.
    pub async fn revoke(&self, user: UserId, id: ApiKeyId) -> Result<(), ManageKeyError> {
        if self
            .store
            .revoke_api_key(user, id, self.clock.now_ms())
            .await?
        {
            Ok(())
        } else {
            Err(ManageKeyError::NotFound)
        }
    }

    /// The IP rules of one of the user's keys.
    ///
    /// # Errors
    /// [`ManageKeyError::NotFound`]; store failures.
    pub async fn ip_rules(
        &self,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<Vec<StoredIpRule>, ManageKeyError> {
        self.get(user, id).await?;
        Ok(self.store.ip_rules(id).await?)
    }

    /// Adds an IP rule to one of the user's keys.
    ///
    /// # Errors
    /// [`ManageKeyError`].
    pub async fn add_ip_rule(
        &self,
        user: UserId,
        id: ApiKeyId,
        rule: &IpRuleRequest,
    ) -> Result<StoredIpRule, ManageKeyError> {
        let new = NewIpRule {
            action: rule.action,
            cidr: rule.cidr.to_string(),
            created_at: self.clock.now_ms(),
        };
        Ok(self.store.add_ip_rule(user, id, &new, MAX_IP_RULES).await?)
    }

    /// Deletes an IP rule of one of the user's keys.
    ///
    /// # Errors
    /// [`ManageKeyError::NotFound`]; store failures.
    pub async fn delete_ip_rule(
        &self,
        user: UserId,
        id: ApiKeyId,
        rule: IpRuleId,
    ) -> Result<(), ManageKeyError> {
        if self.store.delete_ip_rule(user, id, rule).await? {
            Ok(())
        } else {
            Err(ManageKeyError::NotFound)
        }
    }

    /// The hourly usage of one of the user's keys over the last [`USAGE_DAYS`] days.
    ///
    /// # Errors
    /// [`ManageKeyError::NotFound`]; store failures.
    pub async fn usage(
        &self,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<Vec<UsageBucket>, ManageKeyError> {
        self.get(user, id).await?;
        let since = hour_start(self.clock.now_ms() - USAGE_DAYS * DAY_MS);
        Ok(self.store.api_key_usage(id, since).await?)
    }

    /// Authenticates a presented key from `client_ip` (rules in the module docs).
    ///
    /// # Errors
    /// [`KeyAuthError`].
    pub async fn authenticate(
        &self,
        presented: &str,
        client_ip: Option<IpAddr>,
    ) -> Result<KeyAuthenticated, KeyAuthError> {
        let now = self.clock.now_ms();
        let key =
            ApiKey::parse(presented.trim()).map_err(|_| KeyAuthError::Invalid("malformed"))?;
        // One read: key, owner and subscription (an owner row is never missing: the foreign
        // key deletes the keys with the user).
        let Some(KeyGrant {
            key: row,
            owner: user,
            subscription,
            has_ip_rules,
        }) = self.store.key_grant(key.lookup()).await?
        else {
            return Err(KeyAuthError::Invalid("unknown"));
        };
        if !key.verify(self.pepper, &row.key_hmac) {
            return Err(KeyAuthError::Invalid("mismatch"));
        }
        if !row.is_usable(now) {
            return Err(KeyAuthError::Invalid(
                if row.expires_at.is_some_and(|e| now >= e) {
                    "expired"
                } else {
                    "revoked"
                },
            ));
        }
        let rules = if has_ip_rules {
            self.store.ip_rules(row.id).await?
        } else {
            Vec::new()
        };
        if !rules.is_empty() {
            let Some(ip) = client_ip else {
                return Err(KeyAuthError::Invalid("ip_unknown"));
            };
            let allow: Vec<&str> = rules
                .iter()
                .filter(|r| r.action == IpAction::Allow)
                .map(|r| r.cidr.as_str())
                .collect();
            let deny: Vec<&str> = rules
                .iter()
                .filter(|r| r.action == IpAction::Deny)
                .map(|r| r.cidr.as_str())
                .collect();
            // A stored rule that no longer parses refuses the key (fail closed).
            let permitted = IpRules::parse(&allow, &deny).is_ok_and(|r| r.permits(ip));
            if !permitted {
                return Err(KeyAuthError::Invalid("ip_refused"));
            }
        }
        if user.id != row.user_id {
            return Err(KeyAuthError::Invalid("owner_gone"));
        }
        if !user.is_active || !user.is_verified {
            return Err(KeyAuthError::Invalid("owner_inactive"));
        }
        // Keys act with the owner's own tier; an admin's view-as belongs to a session.
        let access = effective_access(user.is_admin, None, subscription.as_ref(), now);
        if max_active(&access).is_none() {
            return Err(KeyAuthError::Invalid("owner_tier"));
        }
        let scopes = if user.is_admin {
            row.scopes
        } else {
            ScopeSet::of(
                &row.scopes
                    .iter()
                    .filter(|s| !s.is_admin_only())
                    .collect::<Vec<_>>(),
            )
        };
        Ok(KeyAuthenticated {
            key: row,
            user,
            scopes,
            access,
        })
    }

    /// Records one request of an authenticated key (hour bucket + last used).
    ///
    /// # Errors
    /// Store failures.
    pub async fn record_use(&self, key: ApiKeyId) -> Result<(), StoreError> {
        self.store
            .record_api_key_use(key, self.clock.now_ms())
            .await
    }
}
