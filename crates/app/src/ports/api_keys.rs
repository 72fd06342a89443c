//! The API-key port (product.md §3, §11.10): keys, their IP/CIDR rules and hourly usage, plus
//! the one subscription read the access policy needs ([`SubscriptionLookup`]).
//!
//! Design:
//! - A key row never holds the key: only its public lookup prefix, `HMAC-SHA256(pepper, key)`
//!   (hex) and the last four characters. Hashing and comparing are the service's job
//!   (`crate::api_keys`); the store only finds a row by prefix.
//! - Every owner-facing call takes the owner's [`UserId`] and matches it in the statement, so
//!   another user's key is simply absent (`None` / `false` / `NotFound`): no IDOR by id.
//! - The active-key quota is checked in the same statement (D1) or transaction under the
//!   owner's row lock (Postgres) as the insert, so parallel creations cannot pass it; a full
//!   quota is `Conflict(quota::API_KEYS)`.
//! - Scopes are a [`ScopeSet`] (a bit set over [`Scope`]), stored as a comma-separated list of
//!   the wire names, like every list column of the schema.

use super::{StoreError, UserId};
use crate::policy::Subscription;
use cl_domain::UnknownVariant;
use std::fmt;

/// `Conflict` keys of this port.
pub mod quota {
    /// The owner already has the maximum of active keys.
    pub const API_KEYS: &str = "quota.api_keys";
    /// The key already has the maximum of IP rules.
    pub const IP_RULES: &str = "quota.api_key_ip_rules";
}

/// Id of a row of `api_keys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKeyId(pub i64);

/// Id of a row of `api_key_ip_rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRuleId(pub i64);

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An API-key scope (product.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `read:symbols`
    ReadSymbols,
    /// `read:candles`
    ReadCandles,
    /// `read:patterns`
    ReadPatterns,
    /// `read:signals`
    ReadSignals,
    /// `read:matrix`
    ReadMatrix,
    /// `read:portfolio`
    ReadPortfolio,
    /// `write:portfolio`
    WritePortfolio,
    /// `write:backtest`
    WriteBacktest,
    /// `write:scan`
    WriteScan,
    /// `write:fetch`
    WriteFetch,
    /// `admin:scheduler` (admin keys only)
    AdminScheduler,
    /// `admin:metrics` (admin keys only)
    AdminMetrics,
}

impl Scope {
    /// Every scope, in bit order.
    pub const ALL: [Scope; 12] = [
        Self::ReadSymbols,
        Self::ReadCandles,
        Self::ReadPatterns,
        Self::ReadSignals,
        Self::ReadMatrix,
        Self::ReadPortfolio,
        Self::WritePortfolio,
        Self::WriteBacktest,
        Self::WriteScan,
        Self::WriteFetch,
        Self::AdminScheduler,
        Self::AdminMetrics,
    ];

    /// The wire name, e.g. `read:candles`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadSymbols => "read:symbols",
            Self::ReadCandles => "read:candles",
            Self::ReadPatterns => "read:patterns",
            Self::ReadSignals => "read:signals",
            Self::ReadMatrix => "read:matrix",
            Self::ReadPortfolio => "read:portfolio",
            Self::WritePortfolio => "write:portfolio",
            Self::WriteBacktest => "write:backtest",
            Self::WriteScan => "write:scan",
            Self::WriteFetch => "write:fetch",
            Self::AdminScheduler => "admin:scheduler",
            Self::AdminMetrics => "admin:metrics",
        }
    }

    /// Parses a wire name (`all` is not a scope: see [`ScopeSet::parse_request`]).
    ///
    /// # Errors
    /// [`UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "scope",
                value: s.chars().take(32).collect(),
            })
    }

    /// Whether only an admin's key may hold it.
    pub const fn is_admin_only(self) -> bool {
        matches!(self, Self::AdminScheduler | Self::AdminMetrics)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ScopeSet(u16);

impl ScopeSet {
    /// No scope.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// The set of the listed scopes.
    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    /// `all`: every scope that is not admin-only.
    pub fn all_non_admin() -> Self {
        Self::of(
            &Scope::ALL
                .into_iter()
                .filter(|s| !s.is_admin_only())
                .collect::<Vec<_>>(),
        )
    }

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `required` is in the set.
    pub fn contains_all(self, required: &[Scope]) -> bool {
        required.iter().all(|s| self.contains(*s))
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether an admin-only scope is in the set.
    pub fn has_admin_scope(self) -> bool {
        self.iter().any(Scope::is_admin_only)
    }

    /// The scopes, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The wire names, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// The stored form: comma-separated wire names.
    pub fn to_stored(self) -> String {
        self.names().join(",")
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown name.
    pub fn from_stored(s: &str) -> Result<Self, UnknownVariant> {
        let mut set = Self::EMPTY;
        for name in s.split(',').filter(|n| !n.is_empty()) {
            set.0 |= Scope::parse(name)?.bit();
        }
        Ok(set)
    }

    /// Parses a request's list: wire names, or `all` for every non-admin scope.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown name.
    pub fn parse_request<A: AsRef<str>>(names: &[A]) -> Result<Self, UnknownVariant> {
        let mut set = Self::EMPTY;
        for name in names {
            let name = name.as_ref();
            if name == "all" {
                set.0 |= Self::all_non_admin().0;
            } else {
                set.0 |= Scope::parse(name)?.bit();
            }
        }
        Ok(set)
    }
}

/// `api_keys.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyStatus {
    /// Usable.
    Active,
    /// Switched off (not used by this version; treated as unusable).
    Inactive,
    /// Marked expired (expiry is also checked by time).
    Expired,
    /// Revoked by its owner; final.
    Revoked,
}

impl ApiKeyStatus {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "expired" => Ok(Self::Expired),
            "revoked" => Ok(Self::Revoked),
            _ => Err(UnknownVariant {
                kind: "api key status",
                value: s.chars().take(32).collect(),
            }),
        }
    }
}

/// Per-key request limits (owner-adjustable; `api_keys.per_min/per_hour/per_day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimits {
    /// Requests per minute.
    pub per_min: u32,
    /// Requests per hour.
    pub per_hour: u32,
    /// Requests per day.
    pub per_day: u32,
}

impl Default for KeyLimits {
    fn default() -> Self {
        Self {
            per_min: 60,
            per_hour: 1_000,
            per_day: 10_000,
        }
    }
}

/// A key to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Owner.
    pub user_id: UserId,
    /// Display name (≤ 50 characters).
    pub name: String,
    /// The public lookup prefix (unique).
    pub prefix: String,
    /// Hex HMAC-SHA256(pepper, key) (unique).
    pub key_hmac: String,
    /// Last four characters of the key.
    pub last4: String,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Creation time; also "now" for the active-key count.
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Request limits.
    pub limits: KeyLimits,
}

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Owner.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Public lookup prefix.
    pub prefix: String,
    /// Hex HMAC of the key.
    pub key_hmac: String,
    /// Last four characters.
    pub last4: String,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Status.
    pub status: ApiKeyStatus,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Request limits.
    pub limits: KeyLimits,
    /// Last successful use.
    pub last_used_at: Option<i64>,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

impl StoredApiKey {
    /// Whether the key can authenticate at `now`: active and not past its expiry.
    pub fn is_usable(&self, now: i64) -> bool {
        self.status == ApiKeyStatus::Active && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// An owner's edit of a key; `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeyEdit {
    /// New name.
    pub name: Option<String>,
    /// New scopes.
    pub scopes: Option<ScopeSet>,
    /// New expiry (`Some(None)` clears it).
    pub expires_at: Option<Option<i64>>,
    /// New limits.
    pub limits: Option<KeyLimits>,
}

/// Whether an IP rule allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpAction {
    /// Only matching addresses may use the key (when any allow rule exists).
    Allow,
    /// Matching addresses may not use the key.
    Deny,
}

impl IpAction {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "allow" => Ok(Self::Allow),
            "deny" => Ok(Self::Deny),
            _ => Err(UnknownVariant {
                kind: "ip rule action",
                value: s.chars().take(32).collect(),
            }),
        }
    }
}

/// An IP rule to store; `cidr` is canonical (validated by the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIpRule {
    /// Allow or deny.
    pub action: IpAction,
    /// CIDR (`a.b.c.d/n` or IPv6), canonical text.
    pub cidr: String,
    /// Creation time.
    pub created_at: i64,
}

/// A stored IP rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIpRule {
    /// Id.
    pub id: IpRuleId,
    /// The key.
    pub key_id: ApiKeyId,
    /// Allow or deny.
    pub action: IpAction,
    /// CIDR text.
    pub cidr: String,
    /// Creation time.
    pub created_at: i64,
}

/// One hour of a key's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageBucket {
    /// Start of the UTC hour, ms.
    pub hour_start: i64,
    /// Requests in that hour.
    pub count: u64,
}

/// Start of the UTC hour holding `ts`.
pub const fn hour_start(ts: i64) -> i64 {
    ts - ts.rem_euclid(3_600_000)
}

/// Checks the fields every adapter refuses the same way (`Invalid`, nothing written).
///
/// # Errors
/// [`StoreError::Invalid`].
pub fn validate_new_key(new: &NewApiKey) -> Result<(), StoreError> {
    if new.name.chars().count() > 50 {
        return Err(StoreError::Invalid("api key name too long".into()));
    }
    super::exact_int("api_keys.created_at", new.created_at)?;
    if let Some(e) = new.expires_at {
        super::exact_int("api_keys.expires_at", e)?;
    }
    Ok(())
}

/// The API-key port.
#[allow(async_fn_in_trait)]
pub trait ApiKeyStore {
    /// Stores a key unless the owner already has `max_active` usable keys (status `active`,
    /// not expired at `new.created_at`), counted atomically with the insert.
    ///
    /// # Errors
    /// `Conflict(quota::API_KEYS)`; `Conflict("api_keys.prefix")` / `("api_keys.key_hmac")`;
    /// `NotFound("user")`; `Invalid`.
    async fn create_api_key(
        &self,
        new: &NewApiKey,
        max_active: u32,
    ) -> Result<StoredApiKey, StoreError>;

    /// The key with this public prefix, whoever owns it (authentication).
    ///
    /// # Errors
    /// Store failures.
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>, StoreError>;

    /// The owner's keys, oldest first (revoked ones included).
    ///
    /// # Errors
    /// Store failures.
    async fn api_keys_of(&self, user: UserId) -> Result<Vec<StoredApiKey>, StoreError>;

    /// One key of the owner.
    ///
    /// # Errors
    /// Store failures.
    async fn api_key(&self, user: UserId, id: ApiKeyId)
        -> Result<Option<StoredApiKey>, StoreError>;

    /// Applies an edit to one of the owner's keys that is not revoked; `None` when there is
    /// no such key.
    ///
    /// # Errors
    /// `Invalid`; store failures.
    async fn edit_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        edit: &ApiKeyEdit,
    ) -> Result<Option<StoredApiKey>, StoreError>;

    /// Revokes one of the owner's keys (idempotent: the first revocation time stays);
    /// `false` when there is no such key.
    ///
    /// # Errors
    /// Store failures.
    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Adds an IP rule to one of the owner's keys, unless it has `max` rules already.
    ///
    /// # Errors
    /// `NotFound("api key")`; `Conflict(quota::IP_RULES)`; store failures.
    async fn add_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: &NewIpRule,
        max: u32,
    ) -> Result<StoredIpRule, StoreError>;

    /// The rules of a key, oldest first (authentication and listing; the caller checks the
    /// owner first when listing).
    ///
    /// # Errors
    /// Store failures.
    async fn ip_rules(&self, key: ApiKeyId) -> Result<Vec<StoredIpRule>, StoreError>;

    /// Deletes a rule of one of the owner's keys; `false` when there is no such rule.
    ///
    /// # Errors
    /// Store failures.
    async fn delete_ip_rule(
        &self,
        user: UserId,
        key: ApiKeyId,
        rule: IpRuleId,
    ) -> Result<bool, StoreError>;

    /// Counts one request in the key's hour bucket of `now` and sets `last_used_at = now`,
    /// atomically.
    ///
    /// # Errors
    /// Store failures.
    async fn record_api_key_use(&self, key: ApiKeyId, now: i64) -> Result<(), StoreError>;

    /// The key's usage buckets with `hour_start >= since`, oldest first.
    ///
    /// # Errors
    /// Store failures.
    async fn api_key_usage(
        &self,
        key: ApiKeyId,
        since: i64,
    ) -> Result<Vec<UsageBucket>, StoreError>;
}

/// The subscription fields the tier policy reads, for one user.
#[allow(async_fn_in_trait)]
pub trait SubscriptionLookup {
    /// The user's subscription (plan, status, expiry), if any.
    ///
    /// # Errors
    /// Store failures; `Corrupt` for an unknown stored plan or status.
    async fn tier_subscription(&self, user: UserId) -> Result<Option<Subscription>, StoreError>;
}

/// Parses stored subscription words into the policy's row (adapters share this).
///
/// # Errors
/// `Corrupt` for an unknown plan or status.
pub fn policy_subscription(
    plan: &str,
    status: &str,
    expires_at: Option<i64>,
) -> Result<Subscription, StoreError> {
    use crate::policy::{Plan, SubscriptionStatus};
    let plan = match plan {
        "pro" => Plan::Pro,
        "premium" => Plan::Premium,
        "lifetime" => Plan::Lifetime,
        other => return Err(StoreError::corrupt("subscriptions", None, other)),
    };
    let status = match status {
        "active" => SubscriptionStatus::Active,
        "expired" => SubscriptionStatus::Expired,
        "cancelled" => SubscriptionStatus::Cancelled,
        "suspended" => SubscriptionStatus::Suspended,
        other => return Err(StoreError::corrupt("subscriptions", None, other)),
    };
    Ok(Subscription {
        plan,
        status,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_round_trip_and_all_excludes_admin_scopes() {
        let all = ScopeSet::parse_request(&["all"]).unwrap();
        assert!(all.contains(Scope::ReadMatrix) && all.contains(Scope::WriteFetch));
        assert!(!all.has_admin_scope());
        assert_eq!(ScopeSet::from_stored(&all.to_stored()), Ok(all));
        assert_eq!(ScopeSet::from_stored(""), Ok(ScopeSet::EMPTY));
        assert!(ScopeSet::parse_request(&["read:nope"]).is_err());
        let s = ScopeSet::of(&[Scope::ReadCandles, Scope::ReadPatterns]);
        assert_eq!(s.to_stored(), "read:candles,read:patterns");
        assert!(s.contains_all(&[Scope::ReadCandles]));
        assert!(!s.contains_all(&[Scope::ReadCandles, Scope::ReadMatrix]));
    }

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_start(3_600_000 * 5 + 17), 3_600_000 * 5);
        assert_eq!(hour_start(3_600_000 * 5), 3_600_000 * 5);
    }
}
