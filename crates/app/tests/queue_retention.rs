//! Issue #7: the run queue and the broadcast deliveries under the cleanup job's retention
//! (finished rows older than the policy go, unfinished ones stay, counts in the run record),
//! and a queued run that needs the exchange while none is configured (failed ONCE with
//! `exchange_not_configured`; the other kinds still run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::clock::ManualClock;
use cl_app::cron::{CronStore, RunTrigger};
use cl_app::jobs::cleanup::{run_cleanup_job, CleanupConfig, CLEANUP_JOB};
use cl_app::jobs::{CandleSource, FetchFailure, Fetched, EXCHANGE_NOT_CONFIGURED};
use cl_app::ports::broadcast_delivery::{BroadcastDeliveryStore, DeliveryResult, Recipient};
use cl_app::ports::notification_admin::{
    Audience, NewBroadcast, NoticeBody, NoticeContent, NoticeTags, NoticeTitle,
    NotificationAdminStore,
};
use cl_app::ports::notifications::NotifyPriority;
use cl_app::ports::run_queue::{
    NewQueuedRun, QueueStatus, QueuedRunFinish, QueuedRunId, RunKind, RunQueueStore, RunSource,
};
use cl_app::ports::{NewSymbol, NewUser, SymbolId, SymbolStore, UserId, UserStore};
use cl_app::runs::{run_queued, DispatchConfig};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::Cell;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_709_251_200_000;
const OLD: i64 = NOW - 100 * DAY;

fn setup() -> (MemoryStore, UserId, SymbolId) {
    let s = MemoryStore::new();
    let user = block_on(s.create_user(&NewUser {
        email: Email::parse("admin@example.com").unwrap(),
        username: Username::parse("admin").unwrap(),
        password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$salt$hash".to_owned()),
        ntfy_topic: "cl_topic_admin".into(),
        created_at: 0,
    }))
    .unwrap()
    .id;
    let sym = block_on(s.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: NOW - 3 * DAY,
        created_at: 0,
    }))
    .unwrap()
    .id;
    (s, user, sym)
}

fn enqueue(s: &MemoryStore, kind: RunKind, sym: SymbolId, user: UserId, at: i64) -> QueuedRunId {
    block_on(s.enqueue_run(&NewQueuedRun {
        kind,
        symbol: Some(sym),
        tf: None,
        requested_by: Some(user),
        source: RunSource::Api,
        from_ms: (kind == RunKind::HistoricalFetch).then_some(NOW - 2 * DAY),
        created_at: at,
    }))
    .unwrap()
    .id
}

/// Claims the next run above `after` at `at` and finishes it `ok` (it must be `id`).
fn finish(s: &MemoryStore, after: Option<QueuedRunId>, id: QueuedRunId, at: i64) {
    let lease = at + 60_000;
    let run = block_on(s.claim_next_run(after, at, lease))
        .unwrap()
        .unwrap();
    assert_eq!(run.id, id);
    let done = QueuedRunFinish {
        status: QueueStatus::Ok,
        ended_at: at + 1,
        error: None,
        counts: Default::default(),
        cron_run: None,
        cursor: None,
    };
    assert!(block_on(s.finish_queued_run(id, lease, &done)).unwrap());
}

fn content() -> NoticeContent {
    NoticeContent {
        title: NoticeTitle::parse("Maintenance").unwrap(),
        body: NoticeBody::parse("Tonight").unwrap(),
        priority: NotifyPriority::new(4).unwrap(),
        tags: NoticeTags::parse("").unwrap(),
    }
}

#[test]
fn cleanup_deletes_finished_queue_runs_and_deliveries_and_keeps_unfinished_ones() {
    let (s, user, sym) = setup();
    // Runs: an old finished one (deleted), an old queued one and an old running one (kept),
    // a recent finished one (kept).
    let old_done = enqueue(&s, RunKind::Scan, sym, user, OLD);
    finish(&s, None, old_done, OLD);
    let old_running = enqueue(&s, RunKind::HistoricalFetch, sym, user, OLD);
    let claimed = block_on(s.claim_next_run(None, OLD, NOW + DAY))
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, old_running);
    let old_queued = enqueue(&s, RunKind::Fetch, sym, user, OLD);
    let recent = enqueue(&s, RunKind::Stats, sym, user, NOW - DAY);
    finish(&s, Some(old_queued), recent, NOW - DAY);

    // Deliveries of an old broadcast: one sent, one failed (deleted), one still queued (kept).
    let b = block_on(s.create_broadcast(&NewBroadcast {
        audience: Audience::All,
        template: None,
        content: content(),
        created_by: Some(user),
        created_at: OLD,
    }))
    .unwrap()
    .id;
    let to = |t: &str| Recipient {
        user: None,
        topic: t.into(),
    };
    assert_eq!(
        block_on(s.queue_deliveries(b, &[to("a"), to("b"), to("c")], OLD)).unwrap(),
        3
    );
    assert!(block_on(s.mark_sending(b)).unwrap());
    let rows = block_on(s.claim_deliveries(b, OLD, OLD + 60_000, 2)).unwrap();
    assert!(block_on(s.finish_delivery(rows[0].id, &DeliveryResult::Sent, OLD)).unwrap());
    let failed = DeliveryResult::Failed("HTTP 400".into());
    assert!(block_on(s.finish_delivery(rows[1].id, &failed, OLD)).unwrap());

    let clock = ManualClock::new(NOW);
    let (_, report) = block_on(run_cleanup_job(
        &s,
        &clock,
        &CleanupConfig::default(),
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!(report.counts.get("deleted.run_queue"), 1);
    assert_eq!(report.counts.get("deleted.broadcast_deliveries"), 2);
    assert!(block_on(s.queued_run(old_done)).unwrap().is_none());
    for kept in [old_running, old_queued, recent] {
        assert!(block_on(s.queued_run(kept)).unwrap().is_some(), "{kept:?}");
    }
    let left = &block_on(s.broadcast_summaries(10)).unwrap()[0];
    assert_eq!(left.recipients, 1, "the queued delivery stays");
    let runs = block_on(s.list_runs(CLEANUP_JOB, 1)).unwrap();
    let stored = runs[0].counts.clone().unwrap_or_default().to_json();
    assert!(stored.contains("\"deleted.run_queue\":1"), "{stored}");
    assert!(
        stored.contains("\"deleted.broadcast_deliveries\":2"),
        "{stored}"
    );

    // `null` on the governing settings keeps both forever.
    s.put_setting("retention.cron_runs_days", "null");
    s.put_setting("retention.notifications_days", "null");
    let (_, kept) = block_on(run_cleanup_job(
        &s,
        &ManualClock::new(NOW + 400 * DAY),
        &CleanupConfig::default(),
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!(kept.counts.get("deleted.run_queue"), 0);
    assert_eq!(kept.counts.get("deleted.broadcast_deliveries"), 0);
}

/// No exchange configured: any fetch would be a bug.
struct Unconfigured {
    calls: Cell<u32>,
}

impl CandleSource for Unconfigured {
    async fn fetch_since(
        &self,
        _symbol: &str,
        _last: Option<i64>,
        _start: i64,
        _now: i64,
        _pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        self.calls.set(self.calls.get() + 1);
        Err(FetchFailure {
            reason: EXCHANGE_NOT_CONFIGURED.into(),
            stops_upstream: true,
        })
    }

    fn configured(&self) -> bool {
        false
    }
}

#[test]
fn runs_that_need_the_exchange_fail_once_when_none_is_configured() {
    let (s, user, sym) = setup();
    let fetch = enqueue(&s, RunKind::Fetch, sym, user, NOW);
    let full = enqueue(&s, RunKind::FullCycle, sym, user, NOW);
    let historical = enqueue(&s, RunKind::HistoricalFetch, sym, user, NOW);
    let scan = enqueue(&s, RunKind::Scan, sym, user, NOW);
    let source = Unconfigured {
        calls: Cell::new(0),
    };
    let clock = ManualClock::new(NOW);
    let config = DispatchConfig::default();
    let notifier = ();
    let chunks = block_on(run_queued(&s, &source, &clock, &notifier, &config)).unwrap();
    assert_eq!(chunks.len(), 4);
    for id in [fetch, full, historical] {
        let run = block_on(s.queued_run(id)).unwrap().unwrap();
        assert_eq!(run.status, QueueStatus::Failed, "{id:?}");
        assert_eq!(run.error.as_deref(), Some(EXCHANGE_NOT_CONFIGURED));
        assert_eq!(run.attempts, 1, "failed at its first claim");
    }
    let scanned = block_on(s.queued_run(scan)).unwrap().unwrap();
    assert_eq!(scanned.status, QueueStatus::Ok, "a scan needs no exchange");
    assert_eq!(source.calls.get(), 0, "the exchange is never called");
    // The next ticks have nothing left to do (nothing to log).
    clock.set(NOW + 60_000);
    assert!(
        block_on(run_queued(&s, &source, &clock, &notifier, &config))
            .unwrap()
            .is_empty()
    );
}
