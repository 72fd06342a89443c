//! The portfolio ports' contract (portfolios, trades, tags, trade tags, journal entries),
//! written once over [`PortfolioStores`] and run by every adapter.
//!
//! Its own list ([`PortfolioCase`], [`run_portfolio_case`], [`portfolio_contract_tests!`]).
//! Pinned here: owner scoping everywhere (another user's rows are `NotFound` / absent), the
//! balance recomputed with every trade write (close, edit, delete), compare-and-set trade
//! writes on the status read, the state machine, quotas counted in the same transaction, and
//! failed writes leaving nothing behind.

use crate::fixtures::ok;
use cl_app::ports::{
    quota, JournalType, Mood, NewJournalEntry, NewPortfolio, NewTag, PortfolioCurrency,
    PortfolioEdit, PortfolioId, PortfolioStore, SignalId, StoreError, TagId, TradeId, TradeQuota,
    TradeRecord, TradeStatus, UserId, UserStore,
};
use cl_domain::levels::trade::Side;
use cl_domain::{PatternType, Timeframe};
use std::fmt::Debug;

/// Every port the portfolio contract needs.
pub trait PortfolioStores: PortfolioStore + UserStore {}
impl<T: PortfolioStore + UserStore> PortfolioStores for T {}

contract_cases! {
    "portfolio", PortfolioCase, run_portfolio_case, PortfolioStores;
    /// [`portfolios_are_scoped_by_owner`].
    PortfoliosAreScopedByOwner => portfolios_are_scoped_by_owner,
    /// [`trades_are_scoped_and_compare_and_set`].
    TradesAreScopedAndCompareAndSet => trades_are_scoped_and_compare_and_set,
    /// [`balance_follows_close_edit_and_delete`].
    BalanceFollowsCloseEditAndDelete => balance_follows_close_edit_and_delete,
    /// [`quotas_are_enforced`].
    QuotasAreEnforced => quotas_are_enforced,
    /// [`tags_are_per_user_and_links_scoped`].
    TagsArePerUserAndLinksScoped => tags_are_per_user_and_links_scoped,
    /// [`journal_is_capped_and_scoped`].
    JournalIsCappedAndScoped => journal_is_capped_and_scoped,
    /// [`deleting_a_portfolio_cascades`].
    DeletingAPortfolioCascades => deleting_a_portfolio_cascades,
    /// [`failed_writes_leave_nothing`].
    FailedWritesLeaveNothing => failed_writes_leave_nothing,
    /// [`large_timestamps_round_trip_exactly`].
    LargeTimestampsRoundTripExactly => large_timestamps_round_trip_exactly,
    /// [`journal_and_tags_are_edited_by_their_owner`].
    JournalAndTagsAreEditedByTheirOwner => journal_and_tags_are_edited_by_their_owner,
}

/// Runs every portfolio case, each on its own fresh store from `fresh`; returns how many ran.
pub async fn run_all_portfolio<S, F, Fut>(mut fresh: F) -> usize
where
    S: PortfolioStores,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    for case in PortfolioCase::ALL {
        let s = fresh().await;
        run_portfolio_case(*case, &s).await;
    }
    PortfolioCase::ALL.len()
}

/// Expands to one `#[test]` per [`PortfolioCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! portfolio_contract_tests {
    ($harness:path) => {
        $crate::portfolio_contract_tests!(@each $harness;
            portfolio_portfolios_are_scoped_by_owner => PortfoliosAreScopedByOwner,
            portfolio_trades_are_scoped_and_compare_and_set => TradesAreScopedAndCompareAndSet,
            portfolio_balance_follows_close_edit_and_delete => BalanceFollowsCloseEditAndDelete,
            portfolio_quotas_are_enforced => QuotasAreEnforced,
            portfolio_tags_are_per_user_and_links_scoped => TagsArePerUserAndLinksScoped,
            portfolio_journal_is_capped_and_scoped => JournalIsCappedAndScoped,
            portfolio_deleting_a_portfolio_cascades => DeletingAPortfolioCascades,
            portfolio_failed_writes_leave_nothing => FailedWritesLeaveNothing,
            portfolio_large_timestamps_round_trip_exactly => LargeTimestampsRoundTripExactly,
            portfolio_journal_and_tags_are_edited_by_their_owner => JournalAndTagsAreEditedByTheirOwner,
        );

        #[test]
        fn portfolio_contract_lists_every_case() {
            assert_eq!(
                $crate::portfolio::PortfolioCase::ALL.len(),
                10,
                "portfolio_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::portfolio::PortfolioCase::$variant);
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const T0: i64 = 1_704_067_200_000;
const DAY: i64 = 86_400_000;

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

async fn user<S: PortfolioStores>(s: &S, n: &str) -> UserId {
    crate::fixtures::user(s, n, T0).await
}

fn new_portfolio(user: UserId, name: &str, balance: f64) -> NewPortfolio {
    NewPortfolio {
        user_id: user,
        name: name.to_owned(),
        description: Some("swing".into()),
        initial_balance: balance,
        currency: PortfolioCurrency::Usdt,
        created_at: T0,
    }
}

async fn portfolio<S: PortfolioStores>(s: &S, user: UserId, balance: f64) -> PortfolioId {
    ok(
        s.create_portfolio(&new_portfolio(user, "Main", balance), 20)
            .await,
        "create_portfolio",
    )
    .id
}

const FREE: TradeQuota = TradeQuota {
    per_portfolio: 10_000,
    per_day: None,
    day_start: T0,
};

fn open_trade() -> TradeRecord {
    TradeRecord {
        symbol: "BTC/USDT".into(),
        side: Side::Long,
        tf: Some(Timeframe::H1),
        pattern_type: Some(PatternType::OrderBlock),
        signal_id: None,
        pattern_id: None,
        entry_price: 100.0,
        entry_time: Some(T0),
        quantity: 2.0,
        stop_loss: Some(95.0),
        take_profit: Some(120.0),
        risk_amount: Some(10.0),
        risk_percent: Some(0.1),
        fees: 0.0,
        exit_price: None,
        exit_time: None,
        setup_notes: Some("plan \"A\" — ok".into()),
        exit_notes: None,
        lessons: None,
        pnl_amount: None,
        pnl_percent: None,
        pnl_r: None,
        status: TradeStatus::Open,
    }
}

fn closed(r: &TradeRecord, pnl: f64) -> TradeRecord {
    TradeRecord {
        exit_price: Some(110.0),
        exit_time: Some(T0 + 1_000),
        pnl_amount: Some(pnl),
        pnl_percent: Some(pnl / 2.0),
        pnl_r: Some(pnl / 10.0),
        status: TradeStatus::Closed,
        ..r.clone()
    }
}

async fn balance<S: PortfolioStores>(s: &S, user: UserId, p: PortfolioId) -> f64 {
    ok(s.portfolio(user, p).await, "portfolio")
        .unwrap_or_else(|| panic!("portfolio {p} missing"))
        .current_balance
}

fn journal(content: &str) -> NewJournalEntry {
    NewJournalEntry {
        entry_type: JournalType::PreTrade,
        content: content.to_owned(),
        mood: Some(Mood::Confident),
        screenshots: vec![
            "https://img.example/a.png".into(),
            "https://img.example/q?x=\"1\"".into(),
        ],
        created_at: T0,
    }
}

fn not_found<T: Debug>(r: Result<T, StoreError>, what: &str) {
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{what}: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A portfolio round-trips for its owner; another user reads nothing and cannot edit or
/// delete it; the per-user count is enforced.
pub async fn portfolios_are_scoped_by_owner<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p = ok(
        s.create_portfolio(&new_portfolio(a, "Main", 1_000.0), 1)
            .await,
        "create",
    );
    assert_eq!((p.user_id, p.name.as_str()), (a, "Main"));
    assert_eq!((p.initial_balance, p.current_balance), (1_000.0, 1_000.0));
    assert_eq!(p.currency, PortfolioCurrency::Usdt);
    assert!(p.is_active);
    assert_eq!(ok(s.portfolio(a, p.id).await, "get"), Some(p.clone()));
    assert_eq!(ok(s.portfolios_of(a).await, "list"), vec![p.clone()]);
    assert!(ok(s.portfolio(b, p.id).await, "idor").is_none());
    assert!(ok(s.portfolios_of(b).await, "list b").is_empty());
    let edit = PortfolioEdit {
        name: "Hacked".into(),
        description: None,
        is_active: false,
    };
    not_found(s.edit_portfolio(b, p.id, &edit, T0).await, "edit by b");
    not_found(s.delete_portfolio(b, p.id).await, "delete by b");
    let edited = ok(s.edit_portfolio(a, p.id, &edit, T0 + 1).await, "edit");
    assert_eq!((edited.name.as_str(), edited.is_active), ("Hacked", false));

    let second = s
        .create_portfolio(&new_portfolio(a, "Second", 5.0), 1)
        .await;
    assert!(
        matches!(second, Err(StoreError::Conflict(q)) if q == quota::PORTFOLIOS),
        "{second:?}"
    );
    ok(
        s.create_portfolio(&new_portfolio(b, "Bob", 5.0), 1).await,
        "bob has his own count",
    );
    let long_name = new_portfolio(a, &"x".repeat(51), 5.0);
    assert!(matches!(
        s.create_portfolio(&long_name, 20).await,
        Err(StoreError::Invalid(_))
    ));
    not_found(
        s.create_portfolio(&new_portfolio(UserId(9_000_000), "Ghost", 5.0), 20)
            .await,
        "missing user",
    );
}

/// Trades are read and written only through their owner; writes are compare-and-set on the
/// status read and follow the state machine.
pub async fn trades_are_scoped_and_compare_and_set<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p = portfolio(s, a, 10_000.0).await;
    let pending = TradeRecord {
        status: TradeStatus::Pending,
        ..open_trade()
    };
    let t = ok(s.create_trade(a, p, &pending, FREE, T0).await, "create");
    assert_eq!((t.portfolio_id, &t.record), (p, &pending));
    assert_eq!(ok(s.trade(a, t.id).await, "get"), Some(t.clone()));
    assert!(ok(s.trade(b, t.id).await, "idor").is_none());
    not_found(s.trades_of(b, p).await, "trades_of by b");
    not_found(
        s.create_trade(b, p, &pending, FREE, T0).await,
        "create in a's portfolio",
    );
    not_found(
        s.save_trade(b, t.id, TradeStatus::Pending, &open_trade(), T0)
            .await,
        "save by b",
    );
    not_found(s.delete_trade(b, t.id, T0).await, "delete by b");

    let opened = ok(
        s.save_trade(a, t.id, TradeStatus::Pending, &open_trade(), T0 + 1)
            .await,
        "open",
    );
    assert_eq!(opened.record.status, TradeStatus::Open);
    assert_eq!(opened.updated_at, T0 + 1);
    // A second writer that read `pending` loses.
    let lost = s
        .save_trade(a, t.id, TradeStatus::Pending, &open_trade(), T0 + 2)
        .await;
    assert!(
        matches!(lost, Err(StoreError::Conflict(q)) if q == quota::TRADE_CHANGED),
        "{lost:?}"
    );
    // Disallowed moves.
    let back = TradeRecord {
        status: TradeStatus::Pending,
        ..open_trade()
    };
    assert!(matches!(
        s.save_trade(a, t.id, TradeStatus::Open, &back, T0).await,
        Err(StoreError::Invalid(_))
    ));
    let cancel = TradeRecord {
        status: TradeStatus::Cancelled,
        ..open_trade()
    };
    assert!(matches!(
        s.save_trade(a, t.id, TradeStatus::Open, &cancel, T0).await,
        Err(StoreError::Invalid(_))
    ));
    let no_pnl = TradeRecord {
        status: TradeStatus::Closed,
        ..open_trade()
    };
    assert!(matches!(
        s.save_trade(a, t.id, TradeStatus::Open, &no_pnl, T0).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        ok(s.trade(a, t.id).await, "get").map(|t| t.record.status),
        Some(TradeStatus::Open)
    );
    assert_eq!(ok(s.trades_of(a, p).await, "list").len(), 1);
}

/// The balance is `initial + Σ pnl of closed trades` after closing, editing a closed trade's
/// PnL, and deleting closed trades; other portfolios are untouched.
pub async fn balance_follows_close_edit_and_delete<S: PortfolioStores>(s: &S) {
    let a = user(s, "alice").await;
    let p = portfolio(s, a, 10_000.0).await;
    let other = ok(
        s.create_portfolio(&new_portfolio(a, "Other", 500.0), 20)
            .await,
        "other",
    )
    .id;
    let t1 = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "t1");
    let t2 = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "t2");
    ok(
        s.create_trade(a, other, &open_trade(), FREE, T0).await,
        "other trade",
    );
    assert!(
        close_to(balance(s, a, p).await, 10_000.0),
        "open trades do not count"
    );

    ok(
        s.save_trade(
            a,
            t1.id,
            TradeStatus::Open,
            &closed(&open_trade(), 18.5),
            T0,
        )
        .await,
        "close 1",
    );
    assert!(close_to(balance(s, a, p).await, 10_018.5));
    ok(
        s.save_trade(
            a,
            t2.id,
            TradeStatus::Open,
            &closed(&open_trade(), -40.25),
            T0,
        )
        .await,
        "close 2",
    );
    assert!(close_to(balance(s, a, p).await, 9_978.25));
    // Edit a closed trade's PnL (exit price / fees corrected).
    ok(
        s.save_trade(
            a,
            t1.id,
            TradeStatus::Closed,
            &closed(&open_trade(), 30.0),
            T0,
        )
        .await,
        "edit",
    );
    assert!(close_to(balance(s, a, p).await, 9_989.75));
    // Notes-only edit of a closed trade keeps the balance.
    let mut notes = closed(&open_trade(), 30.0);
    notes.lessons = Some("wait for the retest".into());
    ok(
        s.save_trade(a, t1.id, TradeStatus::Closed, &notes, T0)
            .await,
        "notes",
    );
    assert!(close_to(balance(s, a, p).await, 9_989.75));
    ok(s.delete_trade(a, t2.id, T0).await, "delete 2");
    assert!(close_to(balance(s, a, p).await, 10_030.0));
    ok(s.delete_trade(a, t1.id, T0).await, "delete 1");
    assert!(close_to(balance(s, a, p).await, 10_000.0));
    assert!(close_to(balance(s, a, other).await, 500.0));
    not_found(s.delete_trade(a, t1.id, T0).await, "deleted twice");
}

/// Trades per portfolio and per UTC day (all the user's portfolios, not other users').
pub async fn quotas_are_enforced<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p = portfolio(s, a, 1_000.0).await;
    let q = ok(
        s.create_portfolio(&new_portfolio(a, "Q", 1_000.0), 20)
            .await,
        "q",
    )
    .id;
    let pb = portfolio(s, b, 1_000.0).await;
    let day = TradeQuota {
        per_portfolio: 3,
        per_day: Some(2),
        day_start: T0,
    };
    ok(
        s.create_trade(a, p, &open_trade(), day, T0 - 1).await,
        "yesterday",
    );
    ok(
        s.create_trade(a, p, &open_trade(), day, T0 + 1).await,
        "today 1",
    );
    ok(
        s.create_trade(b, pb, &open_trade(), day, T0 + 1).await,
        "bob today",
    );
    ok(
        s.create_trade(a, q, &open_trade(), day, T0 + 2).await,
        "today 2, other portfolio",
    );
    let third = s.create_trade(a, q, &open_trade(), day, T0 + 3).await;
    assert!(
        matches!(third, Err(StoreError::Conflict(x)) if x == quota::TRADES_PER_DAY),
        "{third:?}"
    );
    assert_eq!(ok(s.trades_created_since(a, T0).await, "count"), 2);
    let tomorrow = TradeQuota {
        day_start: T0 + DAY,
        ..day
    };
    ok(
        s.create_trade(a, p, &open_trade(), tomorrow, T0 + DAY)
            .await,
        "tomorrow",
    );
    let full = s
        .create_trade(a, p, &open_trade(), tomorrow, T0 + DAY + 1)
        .await;
    assert!(
        matches!(full, Err(StoreError::Conflict(x)) if x == quota::TRADES),
        "{full:?}"
    );
    assert_eq!(ok(s.trades_of(a, p).await, "list").len(), 3);
}

/// Tag names are unique per user, capped, and links only join the user's own tags and
/// trades; deleting a tag removes its links.
pub async fn tags_are_per_user_and_links_scoped<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let tag = |u: UserId, n: &str| NewTag {
        user_id: u,
        name: n.to_owned(),
        color: "#00FF7f".into(),
        description: Some("d".into()),
        created_at: T0,
    };
    let t1 = ok(s.create_tag(&tag(a, "fomo"), 2).await, "tag");
    assert_eq!((t1.name.as_str(), t1.color.as_str()), ("fomo", "#00FF7f"));
    let dup = s.create_tag(&tag(a, "fomo"), 2).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(x)) if x == quota::TAG_NAME),
        "{dup:?}"
    );
    let tb = ok(
        s.create_tag(&tag(b, "fomo"), 2).await,
        "same name, other user",
    );
    let t2 = ok(s.create_tag(&tag(a, "a+"), 2).await, "second");
    let over = s.create_tag(&tag(a, "third"), 2).await;
    assert!(
        matches!(over, Err(StoreError::Conflict(x)) if x == quota::TAGS),
        "{over:?}"
    );
    let names: Vec<String> = ok(s.tags_of(a).await, "tags")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["a+", "fomo"]);

    let p = portfolio(s, a, 1_000.0).await;
    let tr = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "trade").id;
    ok(s.set_trade_tags(a, tr, &[t1.id, t2.id]).await, "link");
    // Bob's tag on Alice's trade, or Alice's tags on a trade Bob names: not found, unchanged.
    not_found(
        s.set_trade_tags(a, tr, &[t1.id, tb.id]).await,
        "foreign tag",
    );
    not_found(s.set_trade_tags(b, tr, &[tb.id]).await, "foreign trade");
    not_found(s.trade_tags_of(b, p).await, "foreign portfolio");
    let links = ok(s.trade_tags_of(a, p).await, "links");
    assert_eq!(links, vec![(tr, t1.id), (tr, t2.id)]);
    not_found(s.delete_tag(b, t1.id).await, "delete foreign tag");
    ok(s.delete_tag(a, t1.id).await, "delete tag");
    assert_eq!(ok(s.trade_tags_of(a, p).await, "links"), vec![(tr, t2.id)]);
    ok(s.set_trade_tags(a, tr, &[]).await, "clear");
    assert!(ok(s.trade_tags_of(a, p).await, "links").is_empty());
    let _ = TagId(0);
}

/// Journal entries round-trip, are capped per trade and scoped by owner.
pub async fn journal_is_capped_and_scoped<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p = portfolio(s, a, 1_000.0).await;
    let tr = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "trade").id;
    let e1 = ok(
        s.add_journal_entry(a, tr, &journal("first"), 2).await,
        "add",
    );
    assert_eq!((e1.trade_id, &e1.entry), (tr, &journal("first")));
    let plain = NewJournalEntry {
        mood: None,
        screenshots: Vec::new(),
        entry_type: JournalType::Lesson,
        ..journal("second")
    };
    ok(s.add_journal_entry(a, tr, &plain, 2).await, "add 2");
    let over = s.add_journal_entry(a, tr, &journal("third"), 2).await;
    assert!(
        matches!(over, Err(StoreError::Conflict(x)) if x == quota::JOURNAL),
        "{over:?}"
    );
    not_found(
        s.add_journal_entry(b, tr, &journal("bob"), 50).await,
        "add by b",
    );
    not_found(s.journal_of(b, tr).await, "read by b");
    not_found(s.delete_journal_entry(b, e1.id).await, "delete by b");
    let all = ok(s.journal_of(a, tr).await, "journal");
    assert_eq!(
        all.iter().map(|e| e.entry.clone()).collect::<Vec<_>>(),
        vec![journal("first"), plain]
    );
    ok(s.delete_journal_entry(a, e1.id).await, "delete");
    assert_eq!(ok(s.journal_of(a, tr).await, "journal").len(), 1);
}

/// One journal entry reads back for its owner only; an edit replaces its type, content, mood
/// and links in place (trade and creation time kept); a tag edit renames and recolours in
/// place, refuses another tag's name, and another user can neither read nor edit.
pub async fn journal_and_tags_are_edited_by_their_owner<S: PortfolioStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p = portfolio(s, a, 1_000.0).await;
    let tr = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "trade").id;
    let e = ok(
        s.add_journal_entry(a, tr, &journal("first"), 50).await,
        "add",
    );
    assert_eq!(ok(s.journal_entry(a, e.id).await, "read"), Some(e.clone()));
    assert_eq!(ok(s.journal_entry(b, e.id).await, "read by b"), None);
    let edit = NewJournalEntry {
        entry_type: JournalType::Lesson,
        content: "rewritten".into(),
        mood: Some(Mood::Fomo),
        screenshots: vec!["https://img.example/b.png".into()],
        created_at: T0 + 999,
    };
    not_found(s.edit_journal_entry(b, e.id, &edit).await, "edit by b");
    assert_eq!(
        ok(s.journal_entry(a, e.id).await, "unchanged"),
        Some(e.clone())
    );
    let got = ok(s.edit_journal_entry(a, e.id, &edit).await, "edit");
    assert_eq!((got.id, got.trade_id), (e.id, tr));
    assert_eq!(
        got.entry,
        NewJournalEntry {
            created_at: T0,
            ..edit.clone()
        }
    );
    assert_eq!(ok(s.journal_entry(a, e.id).await, "read back"), Some(got));
    let cleared = NewJournalEntry {
        mood: None,
        screenshots: Vec::new(),
        ..edit
    };
    let got = ok(s.edit_journal_entry(a, e.id, &cleared).await, "clear");
    assert_eq!((got.entry.mood, got.entry.screenshots.len()), (None, 0));

    let tag = |n: &str, c: &str| NewTag {
        user_id: a,
        name: n.to_owned(),
        color: c.to_owned(),
        description: None,
        created_at: T0,
    };
    let t1 = ok(s.create_tag(&tag("one", "#111111"), 100).await, "tag 1");
    ok(s.create_tag(&tag("two", "#222222"), 100).await, "tag 2");
    let renamed = ok(
        s.edit_tag(
            a,
            t1.id,
            &NewTag {
                description: Some("d".into()),
                ..tag("uno", "#AbCdEf")
            },
        )
        .await,
        "edit tag",
    );
    assert_eq!(
        (renamed.id, renamed.name.as_str(), renamed.color.as_str()),
        (t1.id, "uno", "#AbCdEf")
    );
    assert_eq!(
        (renamed.created_at, renamed.description.as_deref()),
        (T0, Some("d"))
    );
    let same = ok(
        s.edit_tag(a, t1.id, &tag("uno", "#000000")).await,
        "same name",
    );
    assert_eq!(same.color, "#000000");
    let taken = s.edit_tag(a, t1.id, &tag("two", "#000000")).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict(x)) if x == quota::TAG_NAME),
        "{taken:?}"
    );
    not_found(
        s.edit_tag(b, t1.id, &tag("bob", "#000000")).await,
        "edit by b",
    );
    let names: Vec<String> = ok(s.tags_of(a).await, "tags")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["two".to_owned(), "uno".to_owned()]);
}

/// Deleting a portfolio removes its trades, their links and journals.
pub async fn deleting_a_portfolio_cascades<S: PortfolioStores>(s: &S) {
    let a = user(s, "alice").await;
    let p = portfolio(s, a, 1_000.0).await;
    let tr = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "trade").id;
    ok(
        s.add_journal_entry(a, tr, &journal("x"), 50).await,
        "journal",
    );
    ok(s.delete_portfolio(a, p).await, "delete");
    assert!(ok(s.portfolio(a, p).await, "get").is_none());
    assert!(ok(s.trade(a, tr).await, "trade").is_none());
    not_found(s.journal_of(a, tr).await, "journal");
    not_found(s.delete_portfolio(a, p).await, "twice");
    assert_eq!(ok(s.trades_created_since(a, 0).await, "count"), 0);
    let _: TradeId = tr;
}

/// A refused write (missing linked signal, unstorable value, missing portfolio) leaves no
/// trade behind and the balance unchanged.
pub async fn failed_writes_leave_nothing<S: PortfolioStores>(s: &S) {
    let a = user(s, "alice").await;
    let p = portfolio(s, a, 1_000.0).await;
    let linked = TradeRecord {
        signal_id: Some(SignalId(9_000_000)),
        ..closed(&open_trade(), 50.0)
    };
    not_found(
        s.create_trade(a, p, &linked, FREE, T0).await,
        "missing signal",
    );
    let nan = TradeRecord {
        entry_price: f64::NAN,
        ..open_trade()
    };
    assert!(matches!(
        s.create_trade(a, p, &nan, FREE, T0).await,
        Err(StoreError::Invalid(_))
    ));
    let negative_fees = TradeRecord {
        fees: -1.0,
        ..open_trade()
    };
    assert!(matches!(
        s.create_trade(a, p, &negative_fees, FREE, T0).await,
        Err(StoreError::Invalid(_))
    ));
    not_found(
        s.create_trade(a, PortfolioId(9_000_000), &open_trade(), FREE, T0)
            .await,
        "no portfolio",
    );
    assert!(ok(s.trades_of(a, p).await, "list").is_empty());
    assert!(close_to(balance(s, a, p).await, 1_000.0));
    // A valid trade whose save fails (missing signal) keeps its old values and the balance.
    let t = ok(s.create_trade(a, p, &open_trade(), FREE, T0).await, "trade");
    not_found(
        s.save_trade(a, t.id, TradeStatus::Open, &linked, T0).await,
        "save with missing signal",
    );
    assert_eq!(
        ok(s.trade(a, t.id).await, "get").map(|t| t.record),
        Some(open_trade())
    );
    assert!(close_to(balance(s, a, p).await, 1_000.0));
}

/// Times above 2^31 and up to 2^53 round-trip exactly on every portfolio row (portfolio,
/// trade, journal entry, tag); a time beyond 2^53 is refused before anything is written.
pub async fn large_timestamps_round_trip_exactly<S: PortfolioStores>(s: &S) {
    const MAX: i64 = cl_app::ports::MAX_EXACT_INT;
    let (t31, t32) = ((1_i64 << 31) + 7, (1_i64 << 32) + 1);
    let a = user(s, "alice").await;
    let created = ok(
        s.create_portfolio(
            &NewPortfolio {
                created_at: t32,
                ..new_portfolio(a, "Big", 1_000.0)
            },
            20,
        )
        .await,
        "portfolio",
    );
    assert_eq!((created.created_at, created.updated_at), (t32, t32));
    let p = created.id;
    let record = TradeRecord {
        entry_time: Some(t31),
        ..open_trade()
    };
    let day = TradeQuota {
        per_portfolio: 10,
        per_day: Some(5),
        day_start: MAX - DAY,
    };
    let t = ok(s.create_trade(a, p, &record, day, MAX - 1).await, "trade");
    assert_eq!((t.created_at, t.updated_at), (MAX - 1, MAX - 1));
    assert_eq!(t.record.entry_time, Some(t31));
    let done = TradeRecord {
        exit_time: Some(MAX),
        ..closed(&record, 12.5)
    };
    let saved = ok(
        s.save_trade(a, t.id, TradeStatus::Open, &done, MAX).await,
        "close",
    );
    assert_eq!((saved.record.exit_time, saved.updated_at), (Some(MAX), MAX));
    assert_eq!(ok(s.trade(a, t.id).await, "read"), Some(saved.clone()));
    assert_eq!(ok(s.trades_created_since(a, MAX - DAY).await, "since"), 1);
    assert_eq!(ok(s.trades_created_since(a, MAX).await, "since max"), 0);
    let stored = ok(s.portfolio(a, p).await, "portfolio").expect("portfolio");
    assert_eq!(stored.updated_at, MAX);
    assert!(close_to(stored.current_balance, 1_012.5));
    let e = ok(
        s.add_journal_entry(
            a,
            t.id,
            &NewJournalEntry {
                created_at: MAX,
                ..journal("late")
            },
            50,
        )
        .await,
        "journal",
    );
    assert_eq!(e.entry.created_at, MAX);
    assert_eq!(
        ok(s.journal_of(a, t.id).await, "journal")
            .first()
            .map(|x| x.entry.created_at),
        Some(MAX)
    );
    let tag = ok(
        s.create_tag(
            &NewTag {
                user_id: a,
                name: "big".into(),
                color: "#123456".into(),
                description: None,
                created_at: t32,
            },
            10,
        )
        .await,
        "tag",
    );
    assert_eq!(tag.created_at, t32);

    // Beyond 2^53: refused, nothing written.
    let beyond = TradeRecord {
        exit_time: Some(MAX + 1),
        ..done.clone()
    };
    let r = s
        .save_trade(a, t.id, TradeStatus::Closed, &beyond, MAX)
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    let r = s
        .save_trade(a, t.id, TradeStatus::Closed, &done, MAX + 1)
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(ok(s.trade(a, t.id).await, "unchanged"), Some(saved));
    let r = s.create_trade(a, p, &record, day, MAX + 1).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(ok(s.trades_of(a, p).await, "list").len(), 1);
    let r = s
        .create_portfolio(
            &NewPortfolio {
                created_at: MAX + 1,
                ..new_portfolio(a, "Beyond", 5.0)
            },
            20,
        )
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(ok(s.portfolios_of(a).await, "portfolios").len(), 1);
}
