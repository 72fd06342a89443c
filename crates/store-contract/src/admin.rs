//! The admin port's contract ([`AdminStore`]), written once and run by every adapter
//! (memory, Postgres, D1).
//!
//! Its own list ([`AdminCase`], [`run_admin_case`], [`admin_contract_tests!`]). Pinned here:
//! the audit log pages newest first under every filter; the user list searches by email or
//! username prefix (wildcards taken literally) and carries the subscription summary; every
//! admin write lands together with its audit row, or neither does; deactivation and privilege
//! changes delete the user's sessions; the last active admin cannot be demoted or
//! deactivated; error occurrences group by fingerprint; logs filter by level, category and
//! time.

use crate::fixtures::ok;
use cl_app::ports::admin::{
    AdminStore, AuditFilter, ChangeOutcome, ErrorOccurrence, ErrorStatus, LogCategory, LogFilter,
    LogLevel, NewAuditEntry, NewLogEntry, SymbolPatch, UserChange, UserFilter,
};
use cl_app::ports::{
    BillingStore, BillingSubscription, NewSession, NewSignal, NewSymbol, PageRequest, SessionStage,
    SessionStore, SignalId, SignalStatus, SignalStore, StoreError, SymbolId, SymbolStore, UserId,
    UserStore,
};
use cl_auth::tokens::SessionToken;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_domain::{Direction, Timeframe};
use std::fmt::Debug;

/// Every port the admin contract needs.
pub trait AdminStores:
    AdminStore + UserStore + SessionStore + SymbolStore + SignalStore + BillingStore
{
}
impl<T: AdminStore + UserStore + SessionStore + SymbolStore + SignalStore + BillingStore>
    AdminStores for T
{
}

contract_cases! {
    "admin", AdminCase, run_admin_case, AdminStores;
    /// [`admin_audit_pages_and_filters`].
    AuditPagesAndFilters => admin_audit_pages_and_filters,
    /// [`admin_user_list_searches_with_subscriptions`].
    UserListSearches => admin_user_list_searches_with_subscriptions,
    /// [`admin_user_changes_are_audited_and_revoke_sessions`].
    UserChanges => admin_user_changes_are_audited_and_revoke_sessions,
    /// [`admin_last_admin_is_kept`].
    LastAdminKept => admin_last_admin_is_kept,
    /// [`admin_symbols_signals_and_subscriptions`].
    SymbolsSignalsSubscriptions => admin_symbols_signals_and_subscriptions,
    /// [`admin_errors_group_by_fingerprint`].
    ErrorsGroup => admin_errors_group_by_fingerprint,
    /// [`admin_logs_filter`].
    LogsFilter => admin_logs_filter,
}

/// Expands to one `#[test]` per [`AdminCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! admin_contract_tests {
    ($harness:path) => {
        $crate::admin_contract_tests!(@each $harness;
            admin_audit_pages_and_filters => AuditPagesAndFilters,
            admin_user_list_searches => UserListSearches,
            admin_user_changes => UserChanges,
            admin_last_admin_kept => LastAdminKept,
            admin_symbols_signals_subscriptions => SymbolsSignalsSubscriptions,
            admin_errors_group => ErrorsGroup,
            admin_logs_filter => LogsFilter,
        );

        #[test]
        fn admin_contract_lists_every_case() {
            assert_eq!($crate::admin::AdminCase::ALL.len(), 7, "admin_contract_tests! is missing a case");
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::admin::AdminCase::$variant);
            }
        )+
    };
}

const T0: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

async fn user<S: AdminStores>(s: &S, n: &str, at: i64) -> UserId {
    crate::fixtures::user(s, n, at).await
}

async fn admin<S: AdminStores>(s: &S, n: &str) -> UserId {
    let id = user(s, n, T0).await;
    ok(s.set_admin(id, true).await, "set_admin");
    id
}

async fn session<S: AdminStores>(s: &S, u: UserId) {
    let hash = ok(SessionToken::generate(), "token").hash();
    let new = NewSession {
        token_hash: hash,
        user_id: u,
        stage: SessionStage::Full,
        view_as: None,
        created_at: T0,
        expires_at: T0 + 7 * DAY,
        absolute_expires_at: T0 + 30 * DAY,
        reauth_at: None,
        ip: None,
        user_agent: None,
    };
    ok(s.create_session(&new).await, "create_session");
}

fn audit(actor: Option<UserId>, action: &str, target: &str, at: i64) -> NewAuditEntry {
    NewAuditEntry {
        actor,
        action: action.into(),
        target: target.into(),
        details: Some("{\"k\":1}".into()),
        ip: Some("203.0.113.9".into()),
        request_id: Some("req-contract-1".into()),
        at,
    }
}

fn page(limit: u32) -> PageRequest {
    PageRequest { limit, after: None }
}

async fn audit_count<S: AdminStores>(s: &S) -> usize {
    ok(
        s.audit_log(&AuditFilter::default(), page(500)).await,
        "audit_log",
    )
    .items
    .len()
}

/// The audit log: newest first with ties by id, keyset pages, every filter, bad input refused.
pub async fn admin_audit_pages_and_filters<S: AdminStores>(s: &S) {
    let a = admin(s, "alice").await;
    let b = admin(s, "bob").await;
    for i in 0..5 {
        let actor = if i % 2 == 0 { a } else { b };
        let action = if i < 3 { "user.verify" } else { "symbol.add" };
        let e = audit(
            Some(actor),
            action,
            &format!("user:{i}"),
            T0 + (i / 2) * 1000,
        );
        ok(s.append_audit(&e).await, "append");
    }
    let first = ok(
        s.audit_log(&AuditFilter::default(), page(2)).await,
        "page 1",
    );
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].entry.target, "user:4", "newest first");
    assert_eq!(first.items[1].entry.target, "user:3", "ties by id desc");
    let details = first.items[0].entry.details.clone().unwrap_or_default();
    assert_eq!(
        details.replace(' ', ""),
        "{\"k\":1}",
        "details kept (jsonb may respace)"
    );
    assert_eq!(
        first.items[0].entry.request_id.as_deref(),
        Some("req-contract-1")
    );
    let next = PageRequest {
        limit: 2,
        after: first.next,
    };
    let second = ok(s.audit_log(&AuditFilter::default(), next).await, "page 2");
    let targets: Vec<&str> = second
        .items
        .iter()
        .map(|r| r.entry.target.as_str())
        .collect();
    assert_eq!(targets, ["user:2", "user:1"]);
    let third = ok(
        s.audit_log(
            &AuditFilter::default(),
            PageRequest {
                limit: 2,
                after: second.next,
            },
        )
        .await,
        "page 3",
    );
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next, None, "no cursor on the last page");

    let by_actor = AuditFilter {
        actor: Some(b),
        ..AuditFilter::default()
    };
    let rows = ok(s.audit_log(&by_actor, page(10)).await, "actor").items;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.entry.actor == Some(b)));
    let by_action = AuditFilter {
        action: Some("symbol.add".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        ok(s.audit_log(&by_action, page(10)).await, "action")
            .items
            .len(),
        2
    );
    let by_target = AuditFilter {
        target: Some("user:0".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        ok(s.audit_log(&by_target, page(10)).await, "target")
            .items
            .len(),
        1
    );
    let by_time = AuditFilter {
        since: Some(T0 + 1000),
        until: Some(T0 + 2000),
        ..AuditFilter::default()
    };
    let rows = ok(s.audit_log(&by_time, page(10)).await, "time").items;
    let targets: Vec<&str> = rows.iter().map(|r| r.entry.target.as_str()).collect();
    assert_eq!(
        targets,
        ["user:3", "user:2"],
        "since inclusive, until exclusive"
    );

    let mut bad = audit(Some(a), "has space", "user:1", T0);
    assert!(matches!(
        s.append_audit(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    bad.action = "ok".into();
    bad.details = Some("not json".into());
    assert!(s.append_audit(&bad).await.is_err(), "details must be JSON");
    assert!(matches!(
        s.audit_log(&AuditFilter::default(), page(0)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(audit_count(s).await, 5, "refused rows are not written");
}

/// The user list: newest first, prefix search on email and username with wildcards taken
/// literally, the subscription summary joined in.
pub async fn admin_user_list_searches_with_subscriptions<S: AdminStores>(s: &S) {
    let ann = user(s, "ann_x", T0).await;
    let _ = user(s, "annabel", T0 + 1).await;
    let _ = user(s, "bert", T0 + 2).await;
    let _ = user(s, "annxy", T0 + 3).await;
    let sub = BillingSubscription {
        user_id: ok(cl_billing::UserId::new(ann.0), "uid"),
        plan: Plan::Premium,
        status: SubscriptionStatus::Active,
        starts_at: T0,
        expires_at: Some(T0 + 30 * DAY),
        cancelled_at: None,
        provider: Some(SubscriptionSource::Admin),
        external_subscription_id: None,
    };
    ok(
        s.set_subscription(
            &sub,
            T0,
            &audit(None, "user.set_subscription", "user:1", T0),
        )
        .await,
        "set_subscription",
    );

    let all = ok(s.admin_users(&UserFilter::default(), page(3)).await, "all");
    let names: Vec<&str> = all.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["annxy", "bert", "annabel"], "newest first");
    let rest = ok(
        s.admin_users(
            &UserFilter::default(),
            PageRequest {
                limit: 3,
                after: all.next,
            },
        )
        .await,
        "page 2",
    );
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
    let row = &rest.items[0];
    assert_eq!(row.id, ann);
    let summary = row.subscription.expect("subscription summary");
    assert_eq!(summary.plan, Plan::Premium);
    assert_eq!(summary.status, SubscriptionStatus::Active);
    assert_eq!(summary.expires_at, Some(T0 + 30 * DAY));
    assert!(all.items.iter().all(|u| u.subscription.is_none()));

    let search = |q: &str| UserFilter {
        search: Some(q.into()),
    };
    let hits = ok(s.admin_users(&search("ann"), page(10)).await, "ann").items;
    assert_eq!(hits.len(), 3);
    let hits = ok(s.admin_users(&search("ann_"), page(10)).await, "literal _").items;
    let names: Vec<&str> = hits.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ann_x"], "`_` is not a wildcard");
    let hits = ok(s.admin_users(&search("bert@"), page(10)).await, "email").items;
    assert_eq!(hits.len(), 1, "email prefix");
    let hits = ok(s.admin_users(&search("%"), page(10)).await, "literal %").items;
    assert!(hits.is_empty(), "`%` is not a wildcard");

    let one = ok(s.admin_user(ann).await, "admin_user").expect("row");
    assert_eq!(one.email.as_str(), "ann_x@example.com");
    assert!(one.subscription.is_some());
    assert_eq!(ok(s.admin_user(UserId(999_999)).await, "ghost"), None);
}

/// Flag changes land with their audit row; deactivation and privilege changes delete the
/// user's sessions; verification keeps them; an unknown user writes nothing.
pub async fn admin_user_changes_are_audited_and_revoke_sessions<S: AdminStores>(s: &S) {
    let a = admin(s, "root").await;
    let u = user(s, "carol", T0).await;
    session(s, u).await;
    session(s, u).await;
    session(s, a).await;
    let act = |action: &str| audit(Some(a), action, &format!("user:{}", u.0), T0 + 5);

    let out = ok(
        s.change_user(u, UserChange::Verified(true), &act("user.verify"))
            .await,
        "verify",
    );
    assert_eq!(
        out,
        ChangeOutcome::Applied {
            sessions_revoked: 0
        }
    );
    assert!(ok(s.user(u).await, "user").expect("u").is_verified);
    assert_eq!(ok(s.user_sessions(u).await, "sessions").len(), 2);

    let out = ok(
        s.change_user(u, UserChange::Admin(true), &act("user.make_admin"))
            .await,
        "make admin",
    );
    assert_eq!(
        out,
        ChangeOutcome::Applied {
            sessions_revoked: 2
        }
    );
    assert!(ok(s.user(u).await, "user").expect("u").is_admin);
    assert!(ok(s.user_sessions(u).await, "sessions").is_empty());
    assert_eq!(
        ok(s.user_sessions(a).await, "admin sessions").len(),
        1,
        "others keep theirs"
    );

    session(s, u).await;
    let out = ok(
        s.change_user(u, UserChange::Active(false), &act("user.deactivate"))
            .await,
        "deactivate",
    );
    assert_eq!(
        out,
        ChangeOutcome::Applied {
            sessions_revoked: 1
        }
    );
    let row = ok(s.user(u).await, "user").expect("u");
    assert!(!row.is_active);
    assert!(ok(s.user_sessions(u).await, "sessions").is_empty());

    let out = ok(
        s.change_user(
            UserId(999_999),
            UserChange::Active(false),
            &act("user.deactivate"),
        )
        .await,
        "ghost",
    );
    assert_eq!(out, ChangeOutcome::NotFound);
    let mut bad = act("user.verify");
    bad.target = String::new();
    assert!(s
        .change_user(u, UserChange::Verified(false), &bad)
        .await
        .is_err());
    assert!(
        ok(s.user(u).await, "user").expect("u").is_verified,
        "refused → unchanged"
    );

    let rows = ok(
        s.audit_log(&AuditFilter::default(), page(10)).await,
        "audit",
    )
    .items;
    let actions: Vec<&str> = rows.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["user.deactivate", "user.make_admin", "user.verify"]
    );
    assert!(rows.iter().all(|r| r.entry.actor == Some(a)));
}

/// The last active admin can be neither demoted nor deactivated; with a second admin both
/// work, and the refused attempts are not audited.
pub async fn admin_last_admin_is_kept<S: AdminStores>(s: &S) {
    let a = admin(s, "solo").await;
    let act = |action: &str| audit(Some(a), action, "user:1", T0);
    assert_eq!(
        ok(
            s.change_user(a, UserChange::Admin(false), &act("user.revoke_admin"))
                .await,
            "demote"
        ),
        ChangeOutcome::LastAdmin
    );
    assert_eq!(
        ok(
            s.change_user(a, UserChange::Active(false), &act("user.deactivate"))
                .await,
            "off"
        ),
        ChangeOutcome::LastAdmin
    );
    assert!(ok(s.user(a).await, "user").expect("a").is_admin);
    assert_eq!(audit_count(s).await, 0, "refusals are not audited");

    let b = admin(s, "duo").await;
    assert!(matches!(
        ok(
            s.change_user(a, UserChange::Admin(false), &act("user.revoke_admin"))
                .await,
            "demote"
        ),
        ChangeOutcome::Applied { .. }
    ));
    assert_eq!(
        ok(
            s.change_user(b, UserChange::Active(false), &act("user.deactivate"))
                .await,
            "b off"
        ),
        ChangeOutcome::LastAdmin,
        "b is now the only admin"
    );
    // A deactivated admin does not count as a remaining admin.
    ok(s.set_admin(a, true).await, "a admin again");
    ok(s.set_active(a, false).await, "a inactive");
    assert_eq!(
        ok(
            s.change_user(b, UserChange::Admin(false), &act("user.revoke_admin"))
                .await,
            "b"
        ),
        ChangeOutcome::LastAdmin
    );
    assert_eq!(audit_count(s).await, 1);
}

/// Symbols are added and patched with their audit rows; a signal's status is overridden with
/// its audit row; unknown ids write nothing; a subscription upsert keeps one row per user.
pub async fn admin_symbols_signals_and_subscriptions<S: AdminStores>(s: &S) {
    let a = admin(s, "ops").await;
    let new = NewSymbol {
        symbol: "SOL/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 1_704_067_200_000,
        created_at: T0,
    };
    let sol = ok(
        s.add_symbol_audited(&new, &audit(Some(a), "symbol.add", "symbol:SOL/USDT", T0))
            .await,
        "add",
    );
    assert!(matches!(
        s.add_symbol_audited(&new, &audit(Some(a), "symbol.add", "symbol:SOL/USDT", T0))
            .await,
        Err(StoreError::Conflict("symbols.symbol"))
    ));
    assert_eq!(audit_count(s).await, 1, "a conflict is not audited");

    let patch = SymbolPatch {
        is_active: Some(false),
        notify_enabled: None,
        fetch_start_ms: Some(1_710_000_000_000),
    };
    let row = ok(
        s.update_symbol(
            sol.id,
            patch,
            &audit(Some(a), "symbol.update", "symbol:1", T0),
        )
        .await,
        "patch",
    )
    .expect("symbol");
    assert!(!row.is_active);
    assert!(row.notify_enabled, "untouched column kept");
    assert_eq!(row.fetch_start_ms, 1_710_000_000_000);
    let listed = ok(s.list_symbols(false).await, "list");
    assert_eq!(listed[0], row);
    assert_eq!(
        ok(
            s.update_symbol(
                SymbolId(999_999),
                patch,
                &audit(Some(a), "symbol.update", "symbol:x", T0)
            )
            .await,
            "ghost"
        ),
        None
    );

    let sig = NewSignal {
        symbol: sol.id,
        direction: Direction::Bullish,
        entry: 10.0,
        stop_loss: 9.0,
        tp1: 11.0,
        tp2: 12.0,
        tp3: 13.0,
        risk_reward: 1.0,
        confluence_score: 3,
        timeframes_aligned: vec![Timeframe::H1],
        pattern_id: None,
        created_at: T0,
    };
    let id = ok(s.insert_signal(&sig, 0).await, "signal").expect("inserted");
    let out = ok(
        s.set_signal_status(
            id,
            SignalStatus::Cancelled,
            &audit(Some(a), "signal.set_status", "signal:1", T0),
        )
        .await,
        "override",
    )
    .expect("signal");
    assert_eq!(out.status, SignalStatus::Cancelled);
    assert_eq!(
        ok(s.signal(id).await, "read").expect("sig").status,
        SignalStatus::Cancelled
    );
    assert_eq!(
        ok(
            s.set_signal_status(
                SignalId(999_999),
                SignalStatus::Closed,
                &audit(Some(a), "signal.set_status", "signal:x", T0)
            )
            .await,
            "ghost"
        ),
        None
    );
    assert_eq!(audit_count(s).await, 3, "add, patch, override");

    let uid = ok(cl_billing::UserId::new(a.0), "uid");
    let mut sub = BillingSubscription {
        user_id: uid,
        plan: Plan::Pro,
        status: SubscriptionStatus::Active,
        starts_at: T0,
        expires_at: Some(T0 + DAY),
        cancelled_at: None,
        provider: Some(SubscriptionSource::Admin),
        external_subscription_id: None,
    };
    let act = audit(Some(a), "user.set_subscription", "user:1", T0);
    ok(s.set_subscription(&sub, T0, &act).await, "first");
    sub.plan = Plan::Lifetime;
    sub.expires_at = None;
    ok(s.set_subscription(&sub, T0 + 1, &act).await, "second");
    let stored = ok(s.subscription_of(uid).await, "read").expect("row");
    assert_eq!(stored.subscription, sub);
    let ghost = BillingSubscription {
        user_id: ok(cl_billing::UserId::new(999_999), "uid"),
        ..sub.clone()
    };
    assert!(matches!(
        s.set_subscription(&ghost, T0, &act).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audit_count(s).await, 5, "a failed upsert is not audited");
}

fn occurrence(fp: char, at: i64, req: &str) -> ErrorOccurrence {
    ErrorOccurrence {
        fingerprint: fp.to_string().repeat(64),
        kind: "internal_error".into(),
        source: "/api/v1/matrix".into(),
        message: "store unavailable".into(),
        request_id: Some(req.into()),
        at,
    }
}

/// Occurrences group by fingerprint (count, first/last seen, latest request id); status
/// changes are audited; a resolved group that recurs is new again.
pub async fn admin_errors_group_by_fingerprint<S: AdminStores>(s: &S) {
    let a = admin(s, "triage").await;
    let g1 = ok(s.record_error(&occurrence('a', T0, "r1")).await, "first");
    let again = ok(
        s.record_error(&occurrence('a', T0 + 10, "r2")).await,
        "repeat",
    );
    assert_eq!(g1, again, "same group");
    let g2 = ok(
        s.record_error(&occurrence('b', T0 + 5, "r3")).await,
        "other",
    );
    assert_ne!(g1, g2);
    let list = ok(s.errors(None, page(10)).await, "list").items;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, g1, "most recently seen first");
    assert_eq!(list[0].occurrences, 2);
    assert_eq!((list[0].first_seen, list[0].last_seen), (T0, T0 + 10));
    assert_eq!(list[0].sample_request_id.as_deref(), Some("r2"));
    assert_eq!(list[0].status, ErrorStatus::New);

    let act = audit(Some(a), "error.resolve", "error:1", T0);
    let row = ok(
        s.set_error_status(g1, ErrorStatus::Resolved, &act).await,
        "resolve",
    )
    .expect("group");
    assert_eq!(row.status, ErrorStatus::Resolved);
    let resolved = ok(
        s.errors(Some(ErrorStatus::Resolved), page(10)).await,
        "filter",
    )
    .items;
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        ok(
            s.set_error_status(999_999, ErrorStatus::Acknowledged, &act)
                .await,
            "ghost"
        ),
        None
    );
    assert_eq!(audit_count(s).await, 1);
    ok(
        s.record_error(&occurrence('a', T0 + 20, "r4")).await,
        "recurs",
    );
    let back = ok(s.errors(Some(ErrorStatus::New), page(10)).await, "new").items;
    assert_eq!(back.len(), 2, "a resolved group that recurs is new again");
    let first = ok(s.errors(None, page(1)).await, "page");
    assert_eq!(first.items.len(), 1);
    let next = ok(
        s.errors(
            None,
            PageRequest {
                limit: 1,
                after: first.next,
            },
        )
        .await,
        "page 2",
    );
    assert_eq!(next.items[0].id, g2);
    let mut bad = occurrence('c', T0, "r5");
    bad.fingerprint = "short".into();
    assert!(matches!(
        s.record_error(&bad).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Logs page newest first and filter by level, category and time.
pub async fn admin_logs_filter<S: AdminStores>(s: &S) {
    let rows = [
        (T0, LogCategory::Fetch, LogLevel::Info),
        (T0 + 1, LogCategory::Fetch, LogLevel::Error),
        (T0 + 2, LogCategory::Auth, LogLevel::Warn),
        (T0 + 3, LogCategory::Admin, LogLevel::Info),
    ];
    for (ts, category, level) in rows {
        let e = NewLogEntry {
            ts,
            category,
            level,
            message: format!("m{ts}"),
            symbol: Some("BTC/USDT".into()),
            tf: Some("1h".into()),
            request_id: None,
        };
        ok(s.append_log(&e).await, "append_log");
    }
    let all = ok(s.logs(&LogFilter::default(), page(3)).await, "all");
    assert_eq!(all.items[0].entry.ts, T0 + 3);
    assert_eq!(all.items[0].entry.symbol.as_deref(), Some("BTC/USDT"));
    assert!(all.next.is_some());
    let f = LogFilter {
        category: Some(LogCategory::Fetch),
        ..LogFilter::default()
    };
    assert_eq!(ok(s.logs(&f, page(10)).await, "cat").items.len(), 2);
    let f = LogFilter {
        level: Some(LogLevel::Info),
        ..LogFilter::default()
    };
    assert_eq!(ok(s.logs(&f, page(10)).await, "level").items.len(), 2);
    let f = LogFilter {
        since: Some(T0 + 1),
        until: Some(T0 + 3),
        ..LogFilter::default()
    };
    let hits = ok(s.logs(&f, page(10)).await, "time").items;
    let ts: Vec<i64> = hits.iter().map(|r| r.entry.ts).collect();
    assert_eq!(ts, [T0 + 2, T0 + 1]);

    // The symbol filter is exact.
    let eth = NewLogEntry {
        ts: T0 - 1,
        category: LogCategory::Scan,
        level: LogLevel::Debug,
        message: "eth".into(),
        symbol: Some("ETH/USDT".into()),
        tf: None,
        request_id: None,
    };
    ok(s.append_log(&eth).await, "append eth");
    let f = LogFilter {
        symbol: Some("ETH/USDT".into()),
        ..LogFilter::default()
    };
    let hits = ok(s.logs(&f, page(10)).await, "symbol").items;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].entry.message, "eth");
    let f = LogFilter {
        symbol: Some("BTC/USDT".into()),
        level: Some(LogLevel::Info),
        ..LogFilter::default()
    };
    assert_eq!(ok(s.logs(&f, page(10)).await, "btc info").items.len(), 2);
}
