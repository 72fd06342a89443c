//! The account ports' contract (users, sessions, one-time tokens, recovery codes, lockouts),
//! written once over [`AccountStores`] and run by every adapter.
//!
//! It is a list of its own ([`AccountCase`], [`run_account_case`], [`account_contract_tests!`])
//! rather than more variants of [`crate::Case`], so that an adapter that does not implement
//! the account ports yet (D1, at the time of writing) keeps compiling its market contract; an
//! adapter runs both lists once it implements both sets of ports.
//!
//! The security rules that need atomicity are checked here, with concurrent futures joined on
//! one store: the lockout reservation (≤ 5 allowed), TOTP attempts on a pending login,
//! session promotion, token and recovery-code consumption.

use cl_app::policy::Tier;
use cl_app::ports::{
    AccountStores, NewAuthToken, NewSession, NewUser, SessionStage, StoreError, TokenPurpose,
    UserId,
};
use cl_auth::email::{Email, Username};
use cl_auth::lockout::{LockoutState, Reservation};
use cl_auth::tokens::{OneTimeToken, SessionToken, TokenHash};
use cl_auth::SecretString;
use futures_util::future::join_all;
use std::fmt::Debug;

macro_rules! account_cases {
    ($($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        /// One case of the account contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AccountCase {
            $($(#[$m])* $variant,)+
        }

        impl AccountCase {
            /// Every case, in the order [`run_all_accounts`] runs them.
            pub const ALL: &'static [AccountCase] = &[$(AccountCase::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $(AccountCase::$variant => stringify!($func),)+ }
            }
        }

        /// Runs one account case against a fresh store.
        pub async fn run_account_case<S: AccountStores>(case: AccountCase, s: &S) {
            match case { $(AccountCase::$variant => $func(s).await,)+ }
        }
    };
}

account_cases! {
    /// [`users_round_trip_with_unique_keys`].
    UsersRoundTripWithUniqueKeys => users_round_trip_with_unique_keys,
    /// [`totp_columns_are_compare_and_set`].
    TotpColumnsAreCompareAndSet => totp_columns_are_compare_and_set,
    /// [`sessions_lifecycle`].
    SessionsLifecycle => sessions_lifecycle,
    /// [`sessions_promote_and_rotate_once`].
    SessionsPromoteAndRotateOnce => sessions_promote_and_rotate_once,
    /// [`totp_attempts_are_capped_per_pending_login`].
    TotpAttemptsAreCappedPerPendingLogin => totp_attempts_are_capped_per_pending_login,
    /// [`tokens_are_single_use_and_the_newest_wins`].
    TokensAreSingleUseAndTheNewestWins => tokens_are_single_use_and_the_newest_wins,
    /// [`recovery_codes_are_single_use`].
    RecoveryCodesAreSingleUse => recovery_codes_are_single_use,
    /// [`lockout_reserve_follows_the_rule`].
    LockoutReserveFollowsTheRule => lockout_reserve_follows_the_rule,
    /// [`lockout_reserve_is_atomic`].
    LockoutReserveIsAtomic => lockout_reserve_is_atomic,
    /// [`deleting_a_user_cascades`].
    DeletingAUserCascades => deleting_a_user_cascades,
    /// [`session_grant_joins_user_and_subscription`].
    SessionGrantJoinsUserAndSubscription => session_grant_joins_user_and_subscription,
}

/// Runs every account case, each on its own fresh store from `fresh`; returns how many ran.
pub async fn run_all_accounts<S, F, Fut>(mut fresh: F) -> usize
where
    S: AccountStores,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    for case in AccountCase::ALL {
        let s = fresh().await;
        run_account_case(*case, &s).await;
    }
    AccountCase::ALL.len()
}

/// Expands to one `#[test]` per [`AccountCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! account_contract_tests {
    ($harness:path) => {
        $crate::account_contract_tests!(@each $harness;
            accounts_users_round_trip_with_unique_keys => UsersRoundTripWithUniqueKeys,
            accounts_totp_columns_are_compare_and_set => TotpColumnsAreCompareAndSet,
            accounts_sessions_lifecycle => SessionsLifecycle,
            accounts_sessions_promote_and_rotate_once => SessionsPromoteAndRotateOnce,
            accounts_totp_attempts_are_capped_per_pending_login => TotpAttemptsAreCappedPerPendingLogin,
            accounts_tokens_are_single_use_and_the_newest_wins => TokensAreSingleUseAndTheNewestWins,
            accounts_recovery_codes_are_single_use => RecoveryCodesAreSingleUse,
            accounts_lockout_reserve_follows_the_rule => LockoutReserveFollowsTheRule,
            accounts_lockout_reserve_is_atomic => LockoutReserveIsAtomic,
            accounts_deleting_a_user_cascades => DeletingAUserCascades,
            accounts_session_grant_joins_user_and_subscription => SessionGrantJoinsUserAndSubscription,
        );

        #[test]
        fn account_contract_lists_every_case() {
            assert_eq!(
                $crate::accounts::AccountCase::ALL.len(),
                11,
                "account_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::accounts::AccountCase::$variant);
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const T0: i64 = 1_700_000_000_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn email(s: &str) -> Email {
    ok(Email::parse(s), "fixture email")
}

fn new_user(n: &str) -> NewUser {
    NewUser {
        email: email(&format!("{n}@example.com")),
        username: ok(Username::parse(n), "fixture username"),
        password_hash: SecretString::new(format!("$pbkdf2-sha256$i=10,l=32$salt-{n}$hash")),
        ntfy_topic: format!("cl_topic_{n}"),
        created_at: T0,
    }
}

async fn user<S: AccountStores>(s: &S, n: &str) -> UserId {
    ok(s.create_user(&new_user(n)).await, "create_user").id
}

fn hash() -> TokenHash {
    ok(SessionToken::generate(), "token").hash()
}

fn session(user: UserId, stage: SessionStage, hash: TokenHash, at: i64) -> NewSession {
    NewSession {
        token_hash: hash,
        user_id: user,
        stage,
        view_as: None,
        created_at: at,
        expires_at: at + 7 * DAY,
        absolute_expires_at: at + 30 * DAY,
        reauth_at: Some(at),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (contract)".into()),
    }
}

fn token(user: UserId, purpose: TokenPurpose, expires_at: i64) -> (OneTimeToken, NewAuthToken) {
    let t = ok(OneTimeToken::generate(), "token");
    let row = NewAuthToken {
        purpose,
        token_hash: t.hash(),
        user_id: user,
        new_email: (purpose == TokenPurpose::ChangeEmail).then(|| email("new@example.com")),
        created_at: T0,
        expires_at,
    };
    (t, row)
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Users: every column round-trips; email, username (case-insensitively) and ntfy topic are
/// unique keys with named conflicts; updates address one row and report a missing one.
pub async fn users_round_trip_with_unique_keys<S: AccountStores>(s: &S) {
    let alice = ok(s.create_user(&new_user("alice")).await, "create");
    assert!(alice.is_active && !alice.is_verified && !alice.is_admin);
    assert!(!alice.totp.enabled && alice.totp.secret_enc.is_none());
    assert_eq!(alice.password_changed_at, Some(T0));
    assert_eq!(alice.ntfy_topic, "cl_topic_alice");
    assert_eq!(ok(s.user(alice.id).await, "user"), Some(alice.clone()));
    assert_eq!(
        ok(
            s.user_by_email(&email("alice@example.com")).await,
            "by email"
        ),
        Some(alice.clone())
    );
    assert_eq!(
        ok(s.user_by_email(&email("x@example.com")).await, "by email"),
        None
    );

    let mut dup = new_user("bob");
    dup.email = email("alice@example.com");
    assert_eq!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("users.email"))
    );
    let mut dup = new_user("carol");
    dup.username = ok(Username::parse("ALICE"), "username");
    assert_eq!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("users.username"))
    );
    let mut dup = new_user("dave");
    dup.ntfy_topic = "cl_topic_alice".into();
    assert_eq!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("users.ntfy_topic"))
    );
    assert!(ok(
        s.username_taken(&ok(Username::parse("Alice"), "u")).await,
        "taken"
    ));
    assert!(!ok(
        s.username_taken(&ok(Username::parse("bob"), "u")).await,
        "taken"
    ));

    let new_hash = SecretString::new("$pbkdf2-sha256$i=20,l=32$x$y");
    ok(s.set_password(alice.id, &new_hash, None).await, "rehash");
    let row = ok(s.user(alice.id).await, "user").expect("row");
    assert_eq!(row.password_hash, new_hash);
    assert_eq!(
        row.password_changed_at,
        Some(T0),
        "a rehash keeps the change time"
    );
    ok(
        s.set_password(alice.id, &new_hash, Some(T0 + DAY)).await,
        "change",
    );
    ok(s.set_verified(alice.id, true).await, "verified");
    ok(s.set_admin(alice.id, true).await, "admin");
    ok(s.set_active(alice.id, false).await, "active");
    ok(s.set_last_login(alice.id, T0 + 2 * DAY).await, "last login");
    let row = ok(s.user(alice.id).await, "user").expect("row");
    assert_eq!(row.password_changed_at, Some(T0 + DAY));
    assert!(row.is_verified && row.is_admin && !row.is_active);
    assert_eq!(row.last_login_at, Some(T0 + 2 * DAY));

    let bob = user(s, "bob").await;
    assert_eq!(
        s.set_email(bob, &email("alice@example.com")).await,
        Err(StoreError::Conflict("users.email"))
    );
    ok(
        s.set_email(bob, &email("bobby@example.com")).await,
        "set_email",
    );
    assert!(ok(
        s.user_by_email(&email("bobby@example.com")).await,
        "by email"
    )
    .is_some());

    let ghost = UserId(alice.id.0 + bob.0 + 1_000);
    assert_eq!(
        s.set_verified(ghost, true).await,
        Err(StoreError::NotFound("user"))
    );
    assert_eq!(
        s.set_password(ghost, &new_hash, None).await,
        Err(StoreError::NotFound("user"))
    );
    assert_eq!(
        s.delete_user(ghost).await,
        Err(StoreError::NotFound("user"))
    );
}

/// TOTP columns: a secret is stored only while 2FA is off, 2FA turns on only against the
/// secret that was checked, steps move strictly forward, clearing forgets everything.
pub async fn totp_columns_are_compare_and_set<S: AccountStores>(s: &S) {
    let u = user(s, "tina").await;
    assert!(!ok(s.record_totp_step(u, 10).await, "step while off"));
    assert!(ok(
        s.set_totp_secret(u, "v1.k1.sealed-a", "k1").await,
        "setup a"
    ));
    assert!(ok(
        s.set_totp_secret(u, "v1.k1.sealed-b", "k1").await,
        "setup b"
    ));
    assert!(!ok(
        s.enable_totp(u, "v1.k1.sealed-a", 100).await,
        "stale secret"
    ));
    assert!(ok(s.enable_totp(u, "v1.k1.sealed-b", 100).await, "enable"));
    assert!(!ok(
        s.enable_totp(u, "v1.k1.sealed-b", 101).await,
        "already on"
    ));
    assert!(!ok(
        s.set_totp_secret(u, "v1.k1.sealed-c", "k1").await,
        "setup while on"
    ));
    let row = ok(s.user(u).await, "user").expect("row");
    assert_eq!(row.totp.secret_enc.as_deref(), Some("v1.k1.sealed-b"));
    assert_eq!(row.totp.key_id.as_deref(), Some("k1"));
    assert!(row.totp.enabled);
    assert_eq!(row.totp.last_step, Some(100));

    assert!(!ok(s.record_totp_step(u, 100).await, "same step"));
    assert!(!ok(s.record_totp_step(u, 99).await, "older step"));
    assert!(ok(s.record_totp_step(u, 101).await, "next step"));
    // Two requests with the same code: one wins.
    let both = join_all([s.record_totp_step(u, 103), s.record_totp_step(u, 103)]).await;
    assert_eq!(both.iter().filter(|r| matches!(r, Ok(true))).count(), 1);

    ok(s.clear_totp(u).await, "clear");
    let row = ok(s.user(u).await, "user").expect("row");
    assert!(!row.totp.enabled);
    assert_eq!(row.totp.secret_enc, None);
    assert_eq!(row.totp.key_id, None);
    assert_eq!(row.totp.last_step, None);
    assert_eq!(
        s.clear_totp(UserId(u.0 + 1_000)).await,
        Err(StoreError::NotFound("user"))
    );
}

/// Sessions: create, read, touch only while alive, view-as and re-auth marks, deletion of
/// one, of all but one, of the expired; a user's list is most recently used first.
pub async fn sessions_lifecycle<S: AccountStores>(s: &S) {
    let u = user(s, "sue").await;
    let other = user(s, "tom").await;
    let (a, b, c) = (hash(), hash(), hash());
    assert_eq!(
        s.create_session(&session(
            UserId(u.0 + other.0 + 9),
            SessionStage::Full,
            a,
            T0
        ))
        .await,
        Err(StoreError::NotFound("user"))
    );
    let new_a = session(u, SessionStage::Full, a, T0);
    ok(s.create_session(&new_a).await, "create a");
    assert!(s.create_session(&new_a).await.is_err(), "duplicate hash");
    ok(
        s.create_session(&session(u, SessionStage::Full, b, T0 + MIN))
            .await,
        "create b",
    );
    ok(
        s.create_session(&session(other, SessionStage::Full, c, T0))
            .await,
        "create c",
    );
    let mut too_long = session(u, SessionStage::Full, hash(), T0);
    too_long.user_agent = Some("x".repeat(201));
    assert!(matches!(
        s.create_session(&too_long).await,
        Err(StoreError::Invalid(_))
    ));

    let row = ok(s.session(&a).await, "session").expect("row");
    assert_eq!(row.token_hash, a);
    assert_eq!(row.user_id, u);
    assert_eq!(row.stage, SessionStage::Full);
    assert_eq!((row.created_at, row.last_seen_at), (T0, T0));
    assert_eq!(
        (row.expires_at, row.absolute_expires_at),
        (T0 + 7 * DAY, T0 + 30 * DAY)
    );
    assert_eq!(row.reauth_at, Some(T0));
    assert_eq!(row.totp_failures, 0);
    assert_eq!(row.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(row.user_agent.as_deref(), Some("Mozilla/5.0 (contract)"));
    assert_eq!(row.view_as, None);

    assert!(ok(
        s.touch_session(&a, T0 + DAY, T0 + 8 * DAY).await,
        "touch"
    ));
    let row = ok(s.session(&a).await, "session").expect("row");
    assert_eq!((row.last_seen_at, row.expires_at), (T0 + DAY, T0 + 8 * DAY));
    assert!(!ok(
        s.touch_session(&a, T0 + 8 * DAY, T0 + 9 * DAY).await,
        "touch expired"
    ));
    assert!(ok(s.set_view_as(&a, Some(Tier::Pro)).await, "view as"));
    assert!(ok(s.set_reauth(&a, T0 + 2 * DAY).await, "reauth"));
    let row = ok(s.session(&a).await, "session").expect("row");
    assert_eq!(
        (row.view_as, row.reauth_at),
        (Some(Tier::Pro), Some(T0 + 2 * DAY))
    );
    assert!(ok(s.set_view_as(&a, None).await, "view as off"));
    assert_eq!(
        ok(s.session(&a).await, "session").expect("row").view_as,
        None
    );

    let list = ok(s.user_sessions(u).await, "list");
    assert_eq!(
        list.iter().map(|x| x.token_hash).collect::<Vec<_>>(),
        vec![a, b]
    );

    assert_eq!(
        ok(s.delete_user_sessions(u, Some(&b)).await, "all but b"),
        1
    );
    assert_eq!(ok(s.user_sessions(u).await, "list").len(), 1);
    assert!(ok(s.session(&c).await, "other user").is_some());
    assert!(ok(s.delete_session(&b).await, "delete b"));
    assert!(!ok(s.delete_session(&b).await, "delete b again"));
    assert!(!ok(
        s.set_reauth(&b, T0).await,
        "reauth on a deleted session"
    ));

    ok(
        s.create_session(&session(u, SessionStage::Full, a, T0))
            .await,
        "recreate a",
    );
    assert_eq!(
        ok(
            s.delete_expired_sessions(T0 + 7 * DAY - 1).await,
            "none yet"
        ),
        0
    );
    assert_eq!(
        ok(s.delete_expired_sessions(T0 + 7 * DAY).await, "expired"),
        2
    );
    assert_eq!(
        ok(s.delete_user_sessions(other, None).await, "none left"),
        0
    );
}

/// A pending 2FA session is promoted once to a full session under a new id; a full session
/// rotates once; expired or wrong-stage sessions do neither.
pub async fn sessions_promote_and_rotate_once<S: AccountStores>(s: &S) {
    let u = user(s, "uma").await;
    let pending = hash();
    let mut p = session(u, SessionStage::Pending2fa, pending, T0);
    p.expires_at = T0 + 10 * MIN;
    p.absolute_expires_at = T0 + 10 * MIN;
    p.reauth_at = None;
    ok(s.create_session(&p).await, "pending");
    assert!(ok(s.reserve_totp_attempt(&pending, T0, 5).await, "attempt").is_some());
    assert!(!ok(
        s.rotate_session(&pending, &hash(), T0).await,
        "rotate a pending session"
    ));

    let (x, y) = (hash(), hash());
    let now = T0 + MIN;
    let both = join_all([
        s.promote_session(&pending, &x, now, now + 7 * DAY, now + 30 * DAY),
        s.promote_session(&pending, &y, now, now + 7 * DAY, now + 30 * DAY),
    ])
    .await;
    assert_eq!(both.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
    let winner = if matches!(both[0], Ok(true)) { x } else { y };
    assert!(ok(s.session(&pending).await, "old id").is_none());
    let row = ok(s.session(&winner).await, "new id").expect("row");
    assert_eq!(row.stage, SessionStage::Full);
    assert_eq!(row.totp_failures, 0);
    assert_eq!(
        (row.created_at, row.last_seen_at, row.reauth_at),
        (now, now, Some(now))
    );
    assert_eq!(
        (row.expires_at, row.absolute_expires_at),
        (now + 7 * DAY, now + 30 * DAY)
    );
    assert!(!ok(
        s.promote_session(&winner, &hash(), now, now + DAY, now + DAY)
            .await,
        "promote a full session"
    ));

    let z = hash();
    assert!(ok(s.rotate_session(&winner, &z, now + SEC).await, "rotate"));
    assert!(!ok(
        s.rotate_session(&winner, &hash(), now + SEC).await,
        "rotate again"
    ));
    let row = ok(s.session(&z).await, "rotated").expect("row");
    assert_eq!(
        (row.created_at, row.last_seen_at, row.reauth_at),
        (now, now + SEC, Some(now))
    );
    assert!(!ok(
        s.rotate_session(&z, &hash(), now + 7 * DAY).await,
        "rotate expired"
    ));

    let late = hash();
    let mut p = session(u, SessionStage::Pending2fa, late, T0);
    p.expires_at = T0 + 10 * MIN;
    ok(s.create_session(&p).await, "pending");
    assert!(!ok(
        s.promote_session(&late, &hash(), T0 + 10 * MIN, T0 + DAY, T0 + DAY)
            .await,
        "promote expired"
    ));
}

/// At most `max` TOTP checks per pending login, even when requested concurrently.
pub async fn totp_attempts_are_capped_per_pending_login<S: AccountStores>(s: &S) {
    let u = user(s, "vic").await;
    let pending = hash();
    let mut p = session(u, SessionStage::Pending2fa, pending, T0);
    p.expires_at = T0 + 10 * MIN;
    ok(s.create_session(&p).await, "pending");
    let tries = join_all((0..10).map(|_| s.reserve_totp_attempt(&pending, T0, 5))).await;
    let mut granted: Vec<u32> = tries.into_iter().filter_map(|r| ok(r, "attempt")).collect();
    granted.sort_unstable();
    assert_eq!(granted, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        ok(s.session(&pending).await, "row")
            .expect("row")
            .totp_failures,
        5
    );

    let full = hash();
    ok(
        s.create_session(&session(u, SessionStage::Full, full, T0))
            .await,
        "full",
    );
    assert_eq!(ok(s.reserve_totp_attempt(&full, T0, 5).await, "full"), None);
    let other = hash();
    ok(s.create_session(&p_with(u, other)).await, "pending 2");
    assert_eq!(
        ok(
            s.reserve_totp_attempt(&other, T0 + 10 * MIN, 5).await,
            "expired"
        ),
        None
    );
    assert_eq!(
        ok(s.reserve_totp_attempt(&hash(), T0, 5).await, "unknown"),
        None
    );
}

fn p_with(u: UserId, h: TokenHash) -> NewSession {
    let mut p = session(u, SessionStage::Pending2fa, h, T0);
    p.expires_at = T0 + 10 * MIN;
    p.absolute_expires_at = T0 + 10 * MIN;
    p
}

/// One-time tokens: consumed once, only for their purpose, only before expiry, only while
/// they are the newest of their user and purpose.
pub async fn tokens_are_single_use_and_the_newest_wins<S: AccountStores>(s: &S) {
    let u = user(s, "walt").await;
    let (t, row) = token(u, TokenPurpose::ResetPassword, T0 + HOUR);
    ok(s.issue_token(&row).await, "issue");
    assert_eq!(
        ok(
            s.consume_token(&t.hash(), TokenPurpose::VerifyEmail, T0)
                .await,
            "wrong purpose"
        ),
        None
    );
    let both = join_all([
        s.consume_token(&t.hash(), TokenPurpose::ResetPassword, T0),
        s.consume_token(&t.hash(), TokenPurpose::ResetPassword, T0),
    ])
    .await;
    let won: Vec<_> = both.into_iter().filter_map(|r| ok(r, "consume")).collect();
    assert_eq!(won.len(), 1, "single use under concurrency");
    assert_eq!(won[0].user_id, u);
    assert_eq!(won[0].purpose, TokenPurpose::ResetPassword);
    assert_eq!(won[0].created_at, T0);
    assert_eq!(won[0].new_email, None);

    let (old, old_row) = token(u, TokenPurpose::ResetPassword, T0 + HOUR);
    ok(s.issue_token(&old_row).await, "older");
    let (new, new_row) = token(u, TokenPurpose::ResetPassword, T0 + HOUR);
    ok(s.issue_token(&new_row).await, "newer");
    let (verify, verify_row) = token(u, TokenPurpose::VerifyEmail, T0 + DAY);
    ok(s.issue_token(&verify_row).await, "another purpose");
    assert_eq!(
        ok(
            s.consume_token(&old.hash(), TokenPurpose::ResetPassword, T0)
                .await,
            "older"
        ),
        None
    );
    assert_eq!(
        ok(
            s.consume_token(&new.hash(), TokenPurpose::ResetPassword, T0 + HOUR)
                .await,
            "expired"
        ),
        None
    );
    assert!(ok(
        s.consume_token(&new.hash(), TokenPurpose::ResetPassword, T0 + HOUR - 1)
            .await,
        "c"
    )
    .is_some());
    assert!(ok(
        s.consume_token(&verify.hash(), TokenPurpose::VerifyEmail, T0)
            .await,
        "v"
    )
    .is_some());

    let (change, change_row) = token(u, TokenPurpose::ChangeEmail, T0 + DAY);
    ok(s.issue_token(&change_row).await, "change");
    let consumed = ok(
        s.consume_token(&change.hash(), TokenPurpose::ChangeEmail, T0)
            .await,
        "c",
    );
    assert_eq!(
        consumed.and_then(|c| c.new_email),
        Some(email("new@example.com"))
    );

    let (_, ghost_row) = token(UserId(u.0 + 1_000), TokenPurpose::VerifyEmail, T0 + DAY);
    assert_eq!(
        s.issue_token(&ghost_row).await,
        Err(StoreError::NotFound("user"))
    );
}

/// Recovery codes: replaced as a set, each consumed once (also concurrently), counted.
pub async fn recovery_codes_are_single_use<S: AccountStores>(s: &S) {
    let u = user(s, "xena").await;
    let other = user(s, "yuri").await;
    let codes: Vec<String> = (0..10).map(|i| format!("{i:064x}")).collect();
    ok(s.replace_recovery_codes(u, &codes, T0).await, "replace");
    ok(
        s.replace_recovery_codes(other, &codes[..2], T0).await,
        "other user",
    );
    assert_eq!(ok(s.remaining_recovery_codes(u).await, "count"), 10);
    let both = join_all([
        s.consume_recovery_code(u, &codes[0], T0),
        s.consume_recovery_code(u, &codes[0], T0),
    ])
    .await;
    assert_eq!(both.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
    assert!(!ok(s.consume_recovery_code(u, "ff", T0).await, "unknown"));
    assert_eq!(ok(s.remaining_recovery_codes(u).await, "count"), 9);
    assert_eq!(ok(s.remaining_recovery_codes(other).await, "other"), 2);

    let fresh: Vec<String> = (10..20).map(|i| format!("{i:064x}")).collect();
    ok(s.replace_recovery_codes(u, &fresh, T0).await, "regenerate");
    assert!(!ok(
        s.consume_recovery_code(u, &codes[1], T0).await,
        "old code"
    ));
    assert!(ok(
        s.consume_recovery_code(u, &fresh[1], T0).await,
        "new code"
    ));
    ok(s.replace_recovery_codes(u, &[], T0).await, "delete all");
    assert_eq!(ok(s.remaining_recovery_codes(u).await, "count"), 0);
    assert_eq!(ok(s.remaining_recovery_codes(other).await, "other"), 2);
}

/// The stored lockout follows `cl_auth::lockout::LockoutState::reserve` step by step: 5
/// failures lock 15 min, locks double, failures while locked are ignored, < 1 s → 60 s, the
/// count resets 12 h after the last failure, success and unlock reset everything.
pub async fn lockout_reserve_follows_the_rule<S: AccountStores>(s: &S) {
    let key = "acct-rule";
    let mut model = LockoutState::default();
    let mut t = T0;
    // Five spaced failures (lock 1), three while locked, five after it (lock 2, doubled),
    // a rapid pair, waiting out its 60 s lock, then 12 h of silence.
    let script: Vec<i64> = [
        vec![2 * SEC; 5],
        vec![MIN; 3],
        vec![15 * MIN],
        vec![2 * SEC; 4],
        vec![31 * MIN, 500, SEC, MIN, 12 * HOUR, 2 * SEC],
    ]
    .concat();
    for gap in script {
        t += gap;
        let expected = model.reserve(t);
        let got = ok(s.reserve(key, t).await, "reserve");
        assert_eq!(got, expected, "at +{} ms", t - T0);
        assert_eq!(
            ok(s.lockout_state(key).await, "state"),
            Some(model),
            "at +{} ms",
            t - T0
        );
    }
    ok(s.record_success(key).await, "success");
    assert_eq!(
        ok(s.lockout_state(key).await, "state").unwrap_or_default(),
        LockoutState::default()
    );

    for i in 0..5 {
        ok(s.reserve(key, t + DAY + i * 2 * SEC).await, "reserve");
    }
    assert!(matches!(
        ok(s.reserve(key, t + DAY + 10 * SEC).await, "locked"),
        Reservation::Locked { retry_after_secs } if retry_after_secs > 800
    ));
    ok(s.unlock(key).await, "unlock");
    assert_eq!(
        ok(s.reserve(key, t + DAY + 11 * SEC).await, "unlocked"),
        Reservation::Allowed
    );
    assert_eq!(ok(s.lockout_state("acct-never").await, "none"), None);
}

/// Fifty concurrent reservations on one account: at most 5 are allowed (exactly 2 at one
/// instant, because of the 1 s rule).
pub async fn lockout_reserve_is_atomic<S: AccountStores>(s: &S) {
    let same = join_all((0..50).map(|_| s.reserve("acct-race-a", T0))).await;
    let allowed = same
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Allowed)))
        .count();
    assert_eq!(allowed, 2);
    let spread = join_all((0..50).map(|i| s.reserve("acct-race-b", T0 + i * 2 * SEC))).await;
    let allowed = spread
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Allowed)))
        .count();
    assert!((1..=5).contains(&allowed), "{allowed} allowed");
    let state = ok(s.lockout_state("acct-race-b").await, "state").expect("row");
    assert!(state.locked_until.is_some());
}

/// Deleting a user removes its sessions, tokens and codes, and nobody else's.
pub async fn deleting_a_user_cascades<S: AccountStores>(s: &S) {
    let u = user(s, "zed").await;
    let keep = user(s, "amy").await;
    let (a, b) = (hash(), hash());
    ok(
        s.create_session(&session(u, SessionStage::Full, a, T0))
            .await,
        "session",
    );
    ok(
        s.create_session(&session(keep, SessionStage::Full, b, T0))
            .await,
        "session",
    );
    let (t, row) = token(u, TokenPurpose::VerifyEmail, T0 + DAY);
    ok(s.issue_token(&row).await, "token");
    ok(
        s.replace_recovery_codes(u, &["aa".to_string()], T0).await,
        "codes",
    );
    ok(s.delete_user(u).await, "delete");
    assert_eq!(ok(s.user(u).await, "user"), None);
    assert!(ok(s.session(&a).await, "session").is_none());
    assert!(ok(s.session(&b).await, "session").is_some());
    assert_eq!(
        ok(
            s.consume_token(&t.hash(), TokenPurpose::VerifyEmail, T0)
                .await,
            "t"
        ),
        None
    );
    assert_eq!(ok(s.remaining_recovery_codes(u).await, "codes"), 0);
    assert_eq!(ok(s.user_sessions(u).await, "list").len(), 0);
}

/// The gate's one read (`GateStore::session_grant`): the session with exactly the rows
/// `session` and `user` return and the owner's subscription (none → `None`), expired and
/// pending sessions included (the caller decides), later changes to the user and the
/// subscription seen, another user's subscription never joined in, and `None` for an unknown
/// or deleted session.
pub async fn session_grant_joins_user_and_subscription<S: AccountStores>(s: &S) {
    use cl_app::policy::{Plan as PolicyPlan, Subscription, SubscriptionStatus as PolicyStatus};
    use cl_app::ports::admin::NewAuditEntry;
    use cl_app::ports::BillingSubscription;
    use cl_billing::plan::Plan;
    use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};

    let u = user(s, "gina").await;
    let other = user(s, "hank").await;
    let (a, b) = (hash(), hash());
    ok(
        s.create_session(&session(u, SessionStage::Full, a, T0))
            .await,
        "create a",
    );
    let mut pending = session(other, SessionStage::Pending2fa, b, T0 - 8 * DAY);
    pending.view_as = Some(Tier::Pro);
    ok(s.create_session(&pending).await, "create b");

    let grant = ok(s.session_grant(&a).await, "grant a").expect("session a");
    assert_eq!(Some(grant.session), ok(s.session(&a).await, "session a"));
    assert_eq!(Some(grant.user), ok(s.user(u).await, "user"));
    assert_eq!(grant.subscription, None, "no subscription row");

    let sub = BillingSubscription {
        user_id: ok(cl_billing::UserId::new(u.0), "uid"),
        plan: Plan::Premium,
        status: SubscriptionStatus::Active,
        starts_at: T0,
        expires_at: Some(T0 + 30 * DAY),
        cancelled_at: None,
        provider: Some(SubscriptionSource::Admin),
        external_subscription_id: None,
    };
    let audit = NewAuditEntry {
        actor: None,
        action: "user.set_subscription".into(),
        target: format!("user:{}", u.0),
        details: None,
        ip: None,
        request_id: None,
        at: T0,
    };
    ok(s.set_subscription(&sub, T0, &audit).await, "subscribe");
    ok(s.set_active(u, false).await, "deactivate");
    let grant = ok(s.session_grant(&a).await, "grant a again").expect("session a");
    assert_eq!(
        grant.subscription,
        Some(Subscription {
            plan: PolicyPlan::Premium,
            status: PolicyStatus::Active,
            expires_at: Some(T0 + 30 * DAY),
        })
    );
    assert!(!grant.user.is_active, "the user's current row");

    // The other user's expired pending session: its own user, no subscription of gina's.
    let grant = ok(s.session_grant(&b).await, "grant b").expect("session b");
    assert_eq!(grant.session.stage, SessionStage::Pending2fa);
    assert_eq!(grant.session.view_as, Some(Tier::Pro));
    assert!(
        grant.session.expires_at < T0,
        "expired sessions are returned"
    );
    assert_eq!(grant.user.id, other);
    assert_eq!(grant.subscription, None);

    assert!(ok(s.session_grant(&hash()).await, "unknown").is_none());
    ok(s.delete_session(&a).await, "delete a");
    assert!(ok(s.session_grant(&a).await, "deleted").is_none());
}
