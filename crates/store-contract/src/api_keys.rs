//! The API-key port's contract (keys, IP rules, hourly usage, the subscription lookup),
//! written once over [`ApiKeyStores`] and run by every adapter (memory, Postgres, D1).
//!
//! Its own list ([`ApiKeyCase`], [`run_api_key_case`], [`api_key_contract_tests!`]).
//! Pinned here: owner scoping (another user's key is absent, not "forbidden"), the active-key
//! quota counted atomically with the insert (also for concurrent creations), revocation that
//! keeps its first time and stops edits, unique prefixes, IP rules with their own quota,
//! usage counted per UTC hour with `last_used_at`, and no subscription → `None`.

use cl_app::ports::admin::{AdminStore, NewAuditEntry};
use cl_app::ports::api_keys::{
    quota, ApiKeyEdit, ApiKeyStatus, ApiKeyStore, IpAction, IpRuleId, KeyLimits, NewApiKey,
    NewIpRule, Scope, ScopeSet, SubscriptionLookup,
};
use cl_app::ports::gate::GateStore;
use cl_app::ports::{BillingSubscription, NewUser, StoreError, UserId, UserStore};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use std::fmt::Debug;

/// Every port the API-key contract needs (the admin port sets a subscription for the gate's
/// read).
pub trait ApiKeyStores:
    ApiKeyStore + SubscriptionLookup + UserStore + GateStore + AdminStore
{
}
impl<T: ApiKeyStore + SubscriptionLookup + UserStore + GateStore + AdminStore> ApiKeyStores for T {}

macro_rules! api_key_cases {
    ($($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        /// One case of the API-key contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ApiKeyCase {
            $($(#[$m])* $variant,)+
        }

        impl ApiKeyCase {
            /// Every case, in the order [`run_all_api_keys`] runs them.
            pub const ALL: &'static [ApiKeyCase] = &[$(ApiKeyCase::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $(ApiKeyCase::$variant => stringify!($func),)+ }
            }
        }

        /// Runs one API-key case against a fresh store.
        pub async fn run_api_key_case<S: ApiKeyStores>(case: ApiKeyCase, s: &S) {
            match case { $(ApiKeyCase::$variant => $func(s).await,)+ }
        }
    };
}

api_key_cases! {
    /// [`api_keys_are_scoped_by_owner`].
    ScopedByOwner => api_keys_are_scoped_by_owner,
    /// [`api_key_quota_counts_usable_keys_atomically`].
    QuotaIsAtomic => api_key_quota_counts_usable_keys_atomically,
    /// [`api_keys_revoke_and_edit`].
    RevokeAndEdit => api_keys_revoke_and_edit,
    /// [`api_key_ip_rules_and_usage`].
    IpRulesAndUsage => api_key_ip_rules_and_usage,
    /// [`api_key_subscription_lookup`].
    SubscriptionLookupEmpty => api_key_subscription_lookup,
    /// [`key_grant_joins_owner_subscription_and_rules`].
    KeyGrantJoinsOwner => key_grant_joins_owner_subscription_and_rules,
}

/// Runs every API-key case, each on its own fresh store from `fresh`; returns how many ran.
pub async fn run_all_api_keys<S, F, Fut>(mut fresh: F) -> usize
where
    S: ApiKeyStores,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    for case in ApiKeyCase::ALL {
        let s = fresh().await;
        run_api_key_case(*case, &s).await;
    }
    ApiKeyCase::ALL.len()
}

/// Expands to one `#[test]` per [`ApiKeyCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! api_key_contract_tests {
    ($harness:path) => {
        $crate::api_key_contract_tests!(@each $harness;
            api_keys_scoped_by_owner => ScopedByOwner,
            api_keys_quota_is_atomic => QuotaIsAtomic,
            api_keys_revoke_and_edit => RevokeAndEdit,
            api_keys_ip_rules_and_usage => IpRulesAndUsage,
            api_keys_subscription_lookup => SubscriptionLookupEmpty,
            api_keys_key_grant_joins_owner => KeyGrantJoinsOwner,
        );

        #[test]
        fn api_key_contract_lists_every_case() {
            assert_eq!(
                $crate::api_keys::ApiKeyCase::ALL.len(),
                6,
                "api_key_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::api_keys::ApiKeyCase::$variant);
            }
        )+
    };
}

const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

async fn user<S: ApiKeyStores>(s: &S, n: &str) -> UserId {
    let new = NewUser {
        email: ok(Email::parse(&format!("{n}@example.com")), "email"),
        username: ok(Username::parse(n), "username"),
        password_hash: SecretString::new(format!("$pbkdf2-sha256$i=10,l=32$salt-{n}$hash")),
        ntfy_topic: format!("cl_topic_{n}"),
        created_at: T0,
    };
    ok(s.create_user(&new).await, "create_user").id
}

fn new_key(user: UserId, tag: &str, created_at: i64, expires_at: Option<i64>) -> NewApiKey {
    NewApiKey {
        user_id: user,
        name: format!("key {tag}"),
        prefix: format!("{tag:0>8}"),
        key_hmac: format!("{tag:0>64}"),
        last4: "abcd".into(),
        scopes: ScopeSet::of(&[Scope::ReadCandles, Scope::ReadMatrix]),
        created_at,
        expires_at,
        limits: KeyLimits::default(),
    }
}

/// Another user's key is absent for every owner-facing call; the prefix lookup finds it.
pub async fn api_keys_are_scoped_by_owner<S: ApiKeyStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let key = ok(
        s.create_api_key(&new_key(a, "a1", T0, None), 10).await,
        "create",
    );
    assert_eq!(key.user_id, a);
    assert_eq!(key.status, ApiKeyStatus::Active);
    assert_eq!(
        key.scopes,
        ScopeSet::of(&[Scope::ReadCandles, Scope::ReadMatrix])
    );
    assert_eq!(key.limits, KeyLimits::default());
    assert_eq!(key.last_used_at, None);
    let found = ok(s.api_key_by_prefix("000000a1").await, "by prefix");
    assert_eq!(found.as_ref(), Some(&key));
    assert_eq!(ok(s.api_key_by_prefix("nope0000").await, "unknown"), None);
    assert_eq!(ok(s.api_keys_of(a).await, "of a"), vec![key.clone()]);
    assert!(ok(s.api_keys_of(b).await, "of b").is_empty());
    assert_eq!(ok(s.api_key(a, key.id).await, "own"), Some(key.clone()));
    assert_eq!(ok(s.api_key(b, key.id).await, "other's"), None);
    assert!(!ok(s.revoke_api_key(b, key.id, T0).await, "revoke other's"));
    let edit = ApiKeyEdit {
        name: Some("stolen".into()),
        ..ApiKeyEdit::default()
    };
    assert_eq!(
        ok(s.edit_api_key(b, key.id, &edit).await, "edit other's"),
        None
    );
    let rule = NewIpRule {
        action: IpAction::Deny,
        cidr: "10.0.0.0/8".into(),
        created_at: T0,
    };
    assert!(matches!(
        s.add_ip_rule(b, key.id, &rule, 50).await,
        Err(StoreError::NotFound(_))
    ));
    let own = ok(s.add_ip_rule(a, key.id, &rule, 50).await, "own rule");
    assert!(!ok(
        s.delete_ip_rule(b, key.id, own.id).await,
        "delete other's"
    ));
    assert_eq!(ok(s.ip_rules(key.id).await, "rules").len(), 1);
    assert_eq!(ok(s.api_key(a, key.id).await, "unchanged"), Some(key));
    // Unique prefix and hash.
    let mut dup = new_key(b, "a1", T0, None);
    dup.key_hmac = "f".repeat(64);
    assert_eq!(
        s.create_api_key(&dup, 10).await.map(|_| ()),
        Err(StoreError::Conflict("api_keys.prefix"))
    );
}

/// The quota counts usable keys (active, not expired) and holds for concurrent creations.
pub async fn api_key_quota_counts_usable_keys_atomically<S: ApiKeyStores>(s: &S) {
    let a = user(s, "alice").await;
    let k1 = ok(s.create_api_key(&new_key(a, "q1", T0, None), 2).await, "1");
    // Expired by the second creation's time: not counted.
    ok(
        s.create_api_key(&new_key(a, "q2", T0, Some(T0 + 10)), 2)
            .await,
        "2",
    );
    ok(
        s.create_api_key(&new_key(a, "q3", T0 + 10, None), 2).await,
        "3",
    );
    assert_eq!(
        s.create_api_key(&new_key(a, "q4", T0 + 20, None), 2)
            .await
            .map(|_| ()),
        Err(StoreError::Conflict(quota::API_KEYS))
    );
    assert!(ok(s.revoke_api_key(a, k1.id, T0 + 30).await, "revoke"));
    ok(
        s.create_api_key(&new_key(a, "q5", T0 + 40, None), 2).await,
        "5",
    );
    assert_eq!(ok(s.api_keys_of(a).await, "list").len(), 4);

    let b = user(s, "bob").await;
    let (x, y) = futures_util::future::join(
        s.create_api_key(&new_key(b, "c1", T0, None), 1),
        s.create_api_key(&new_key(b, "c2", T0, None), 1),
    )
    .await;
    assert!(
        x.is_ok() ^ y.is_ok(),
        "exactly one concurrent creation passes a quota of 1"
    );
    let failed = if x.is_ok() { y } else { x };
    assert_eq!(
        failed.map(|_| ()),
        Err(StoreError::Conflict(quota::API_KEYS))
    );
}

/// Revocation is final and keeps its first time; edits apply field by field.
pub async fn api_keys_revoke_and_edit<S: ApiKeyStores>(s: &S) {
    let a = user(s, "alice").await;
    let key = ok(s.create_api_key(&new_key(a, "e1", T0, None), 10).await, "k");
    let edit = ApiKeyEdit {
        name: Some("renamed".into()),
        scopes: Some(ScopeSet::of(&[Scope::ReadSignals])),
        expires_at: Some(Some(T0 + HOUR)),
        limits: Some(KeyLimits {
            per_min: 5,
            per_hour: 50,
            per_day: 500,
        }),
    };
    let edited = ok(s.edit_api_key(a, key.id, &edit).await, "edit").expect("own key");
    assert_eq!(edited.name, "renamed");
    assert_eq!(edited.scopes, ScopeSet::of(&[Scope::ReadSignals]));
    assert_eq!(edited.expires_at, Some(T0 + HOUR));
    assert_eq!(edited.limits.per_day, 500);
    assert_eq!(edited.prefix, key.prefix, "the prefix never changes");
    let cleared = ok(
        s.edit_api_key(
            a,
            key.id,
            &ApiKeyEdit {
                expires_at: Some(None),
                ..ApiKeyEdit::default()
            },
        )
        .await,
        "clear expiry",
    )
    .expect("own key");
    assert_eq!(cleared.expires_at, None);
    assert_eq!(cleared.name, "renamed", "untouched fields stay");
    assert_eq!(ok(s.api_key(a, key.id).await, "read"), Some(cleared));

    assert!(ok(s.revoke_api_key(a, key.id, T0 + 5).await, "revoke"));
    assert!(ok(s.revoke_api_key(a, key.id, T0 + 9).await, "again"));
    let revoked = ok(s.api_key_by_prefix(&key.prefix).await, "read").expect("kept");
    assert_eq!(revoked.status, ApiKeyStatus::Revoked);
    assert_eq!(revoked.revoked_at, Some(T0 + 5));
    assert!(!revoked.is_usable(T0 + 10));
    assert_eq!(
        ok(s.edit_api_key(a, key.id, &edit).await, "edit revoked"),
        None
    );
    let too_long = ApiKeyEdit {
        name: Some("x".repeat(51)),
        ..ApiKeyEdit::default()
    };
    let other = ok(
        s.create_api_key(&new_key(a, "e2", T0, None), 10).await,
        "k2",
    );
    assert!(matches!(
        s.edit_api_key(a, other.id, &too_long).await,
        Err(StoreError::Invalid(_))
    ));
}

/// IP rules list oldest first with their own quota; usage counts per UTC hour.
pub async fn api_key_ip_rules_and_usage<S: ApiKeyStores>(s: &S) {
    let a = user(s, "alice").await;
    let key = ok(s.create_api_key(&new_key(a, "u1", T0, None), 10).await, "k");
    let rule = |action, cidr: &str| NewIpRule {
        action,
        cidr: cidr.into(),
        created_at: T0,
    };
    let r1 = ok(
        s.add_ip_rule(a, key.id, &rule(IpAction::Allow, "203.0.113.0/24"), 2)
            .await,
        "r1",
    );
    let r2 = ok(
        s.add_ip_rule(a, key.id, &rule(IpAction::Deny, "2001:db8::/32"), 2)
            .await,
        "r2",
    );
    assert_eq!(
        s.add_ip_rule(a, key.id, &rule(IpAction::Deny, "10.0.0.1/32"), 2)
            .await
            .map(|_| ()),
        Err(StoreError::Conflict(quota::IP_RULES))
    );
    let rules = ok(s.ip_rules(key.id).await, "rules");
    assert_eq!(rules.len(), 2);
    assert_eq!((rules[0].id, rules[0].action), (r1.id, IpAction::Allow));
    assert_eq!(rules[1].cidr, "2001:db8::/32");
    assert_eq!(rules[1].key_id, key.id);
    assert!(ok(s.delete_ip_rule(a, key.id, r1.id).await, "delete"));
    assert!(!ok(s.delete_ip_rule(a, key.id, r1.id).await, "twice"));
    assert!(!ok(
        s.delete_ip_rule(a, key.id, IpRuleId(r2.id.0 + 1000)).await,
        "unknown"
    ));
    assert_eq!(ok(s.ip_rules(key.id).await, "rules").len(), 1);

    let h = T0 - T0.rem_euclid(HOUR);
    for at in [h + 1, h + 2, h + HOUR + 5] {
        ok(s.record_api_key_use(key.id, at).await, "use");
    }
    let (x, y) = futures_util::future::join(
        s.record_api_key_use(key.id, h + 7),
        s.record_api_key_use(key.id, h + 8),
    )
    .await;
    ok(x, "concurrent use");
    ok(y, "concurrent use");
    let usage = ok(s.api_key_usage(key.id, h).await, "usage");
    assert_eq!(
        usage
            .iter()
            .map(|u| (u.hour_start, u.count))
            .collect::<Vec<_>>(),
        vec![(h, 4), (h + HOUR, 1)]
    );
    let later = ok(s.api_key_usage(key.id, h + 1).await, "since");
    assert_eq!(later.len(), 1);
    let row = ok(s.api_key(a, key.id).await, "read").expect("own");
    assert!(row.last_used_at.is_some_and(|t| t >= h + 7));
}

/// A user without a subscription row has none.
pub async fn api_key_subscription_lookup<S: ApiKeyStores>(s: &S) {
    let a = user(s, "alice").await;
    assert_eq!(ok(s.tier_subscription(a).await, "lookup"), None);
    assert_eq!(
        ok(s.tier_subscription(UserId(a.0 + 999)).await, "unknown"),
        None
    );
}

/// The gate's one read (`GateStore::key_grant`): the key by prefix with exactly the rows
/// `api_key_by_prefix` and `user` return, the owner's subscription as `tier_subscription`
/// reads it, whether the key has IP rules (another key's rules do not count), revoked keys
/// included (the caller decides), and `None` for an unknown prefix.
pub async fn key_grant_joins_owner_subscription_and_rules<S: ApiKeyStores>(s: &S) {
    use cl_billing::plan::Plan;
    use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};

    let a = user(s, "alice").await;
    let b = user(s, "bob").await;
    let ka = ok(
        s.create_api_key(&new_key(a, "ka", T0, None), 10).await,
        "ka",
    );
    let kb = ok(
        s.create_api_key(&new_key(b, "kb", T0, None), 10).await,
        "kb",
    );
    let grant = ok(s.key_grant(&ka.prefix).await, "grant").expect("ka");
    assert_eq!(grant.key, ka);
    assert_eq!(Some(grant.owner), ok(s.user(a).await, "owner"));
    assert_eq!(grant.subscription, None);
    assert!(!grant.has_ip_rules);

    let rule = NewIpRule {
        action: IpAction::Allow,
        cidr: "203.0.113.0/24".into(),
        created_at: T0,
    };
    ok(s.add_ip_rule(b, kb.id, &rule, 50).await, "rule on kb");
    let sub = BillingSubscription {
        user_id: ok(cl_billing::UserId::new(a.0), "uid"),
        plan: Plan::Lifetime,
        status: SubscriptionStatus::Active,
        starts_at: T0,
        expires_at: None,
        cancelled_at: None,
        provider: Some(SubscriptionSource::Admin),
        external_subscription_id: None,
    };
    let audit = NewAuditEntry {
        actor: None,
        action: "user.set_subscription".into(),
        target: format!("user:{}", a.0),
        details: None,
        ip: None,
        request_id: None,
        at: T0,
    };
    ok(s.set_subscription(&sub, T0, &audit).await, "subscribe");
    let grant = ok(s.key_grant(&ka.prefix).await, "grant again").expect("ka");
    assert_eq!(
        grant.subscription,
        ok(s.tier_subscription(a).await, "lookup"),
        "the same subscription as the lookup"
    );
    assert!(grant.subscription.is_some());
    assert!(!grant.has_ip_rules, "kb's rule is not ka's");
    let grant = ok(s.key_grant(&kb.prefix).await, "grant kb").expect("kb");
    assert!(grant.has_ip_rules);
    assert_eq!(grant.owner.id, b);
    assert_eq!(
        grant.subscription, None,
        "alice's subscription is not bob's"
    );

    assert!(ok(s.revoke_api_key(b, kb.id, T0 + 1).await, "revoke"));
    let grant = ok(s.key_grant(&kb.prefix).await, "revoked").expect("kb");
    assert_eq!(grant.key.status, ApiKeyStatus::Revoked);
    assert!(ok(s.key_grant("zzzzzzzz").await, "unknown").is_none());
}
