//! The run queue's contract: runs recorded `queued` with their references checked, claimed
//! by ONE caller at a time (a live lease hides a run; an expired or released one is claimable
//! again), progress and finish written only under the claim's lease; and the keyset page of a
//! job's `cron_runs`. Its own list ([`RunQueueCase`], [`run_run_queue_case`],
//! [`run_queue_contract_tests!`]).

use cl_app::cron::{CronStore, RunCounts, RunFinish, RunStatus, RunTrigger};
use cl_app::jobs::maintenance::{MaintenanceStore, RetentionTarget};
use cl_app::ports::run_queue::{
    NewQueuedRun, QueueStatus, QueuedRunFinish, QueuedRunId, RunKind, RunProgress, RunQueueStore,
    RunSource,
};
use cl_app::ports::{
    Cursor, NewSymbol, NewUser, StoreError, SymbolId, SymbolStore, UserId, UserStore,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_domain::Timeframe;
use std::fmt::Debug;

/// Every port the contract needs.
pub trait RunQueueStores:
    RunQueueStore + UserStore + SymbolStore + CronStore + MaintenanceStore
{
}
impl<T: RunQueueStore + UserStore + SymbolStore + CronStore + MaintenanceStore> RunQueueStores
    for T
{
}

/// One case of the run-queue contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunQueueCase {
    /// [`run_queue_records_runs_with_their_references`].
    Records,
    /// [`run_queue_claims_each_run_once`].
    ClaimsOnce,
    /// [`run_queue_pages_cron_runs_by_keyset`].
    CronPages,
    /// [`run_queue_purges_finished_runs_by_age`].
    Purge,
}

impl RunQueueCase {
    /// Every case.
    pub const ALL: &'static [RunQueueCase] = &[
        Self::Records,
        Self::ClaimsOnce,
        Self::CronPages,
        Self::Purge,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Records => "run_queue_records_runs_with_their_references",
            Self::ClaimsOnce => "run_queue_claims_each_run_once",
            Self::CronPages => "run_queue_pages_cron_runs_by_keyset",
            Self::Purge => "run_queue_purges_finished_runs_by_age",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_run_queue_case<S: RunQueueStores>(case: RunQueueCase, s: &S) {
    match case {
        RunQueueCase::Records => run_queue_records_runs_with_their_references(s).await,
        RunQueueCase::ClaimsOnce => run_queue_claims_each_run_once(s).await,
        RunQueueCase::CronPages => run_queue_pages_cron_runs_by_keyset(s).await,
        RunQueueCase::Purge => run_queue_purges_finished_runs_by_age(s).await,
    }
}

/// Expands to one `#[test]` per [`RunQueueCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! run_queue_contract_tests {
    ($harness:path) => {
        #[test]
        fn run_queue_records_runs_with_their_references() {
            $harness($crate::run_queue::RunQueueCase::Records);
        }
        #[test]
        fn run_queue_claims_each_run_once() {
            $harness($crate::run_queue::RunQueueCase::ClaimsOnce);
        }
        #[test]
        fn run_queue_pages_cron_runs_by_keyset() {
            $harness($crate::run_queue::RunQueueCase::CronPages);
        }
        #[test]
        fn run_queue_purges_finished_runs_by_age() {
            $harness($crate::run_queue::RunQueueCase::Purge);
        }
    };
}

const T0: i64 = 1_704_067_200_000;

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

async fn user<S: RunQueueStores>(s: &S) -> UserId {
    let new = NewUser {
        email: ok(Email::parse("runs@example.com"), "email"),
        username: ok(Username::parse("runs"), "username"),
        password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$salt$hash".to_owned()),
        ntfy_topic: "cl_topic_runs".to_owned(),
        created_at: T0,
    };
    ok(s.create_user(&new).await, "create_user").id
}

async fn symbol<S: RunQueueStores>(s: &S) -> SymbolId {
    let new = NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: T0,
    };
    ok(s.add_symbol(&new).await, "symbol").id
}

fn ask(kind: RunKind, symbol: Option<SymbolId>, by: Option<UserId>, at: i64) -> NewQueuedRun {
    NewQueuedRun {
        kind,
        symbol,
        tf: symbol.map(|_| Timeframe::H1),
        requested_by: by,
        source: if by.is_some() {
            RunSource::Api
        } else {
            RunSource::Admin
        },
        from_ms: (kind == RunKind::HistoricalFetch).then_some(T0 - 86_400_000),
        created_at: at,
    }
}

/// Enqueue stores every field as `queued` (progress 0, no lease, no counts); unknown symbol
/// or user → `NotFound`, nothing stored; read back by id; unknown id → none.
pub async fn run_queue_records_runs_with_their_references<S: RunQueueStores>(s: &S) {
    let u = user(s).await;
    let sym = symbol(s).await;
    let a = ok(
        s.enqueue_run(&ask(RunKind::HistoricalFetch, Some(sym), Some(u), T0))
            .await,
        "enqueue",
    );
    assert_eq!(a.new, ask(RunKind::HistoricalFetch, Some(sym), Some(u), T0));
    assert_eq!(
        (a.status, a.progress, a.attempts, a.lease_until, a.cursor),
        (QueueStatus::Queued, 0, 0, None, None)
    );
    assert_eq!(
        (a.started_at, a.ended_at, a.error.clone(), a.counts.clone()),
        (None, None, None, None)
    );
    assert_eq!(ok(s.queued_run(a.id).await, "read"), Some(a.clone()));
    let b = ok(
        s.enqueue_run(&ask(RunKind::Stats, None, None, T0 + 1))
            .await,
        "b",
    );
    assert!(b.id > a.id, "ids follow the order");
    assert_eq!(
        s.enqueue_run(&ask(RunKind::Scan, Some(SymbolId(sym.0 + 99)), Some(u), T0))
            .await
            .map(|r| r.id),
        Err(StoreError::NotFound("symbol"))
    );
    assert_eq!(
        s.enqueue_run(&ask(RunKind::Scan, Some(sym), Some(UserId(u.0 + 99)), T0))
            .await
            .map(|r| r.id),
        Err(StoreError::NotFound("user"))
    );
    assert_eq!(
        ok(s.queued_run(QueuedRunId(b.id.0 + 50)).await, "missing"),
        None
    );
}

/// A claim takes the oldest claimable run above `after` (running, lease, attempts + 1,
/// `started_at` once); a live lease hides it, an expired one does not; progress and finish
/// only under the claim's lease (a stale lease → false, nothing written); a saved chunk
/// releases the lease so the run is claimable again; a finished run never is.
pub async fn run_queue_claims_each_run_once<S: RunQueueStores>(s: &S) {
    let u = user(s).await;
    let sym = symbol(s).await;
    let a = ok(
        s.enqueue_run(&ask(RunKind::Scan, Some(sym), Some(u), T0))
            .await,
        "a",
    );
    let b = ok(
        s.enqueue_run(&ask(RunKind::HistoricalFetch, Some(sym), None, T0))
            .await,
        "b",
    );
    let now = T0 + 1_000;
    let lease = now + 60_000;
    assert!(matches!(
        s.claim_next_run(None, now, now).await,
        Err(StoreError::Invalid(_))
    ));
    let first = ok(s.claim_next_run(None, now, lease).await, "claim").expect("a claimable");
    assert_eq!(first.id, a.id);
    assert_eq!(
        (
            first.status,
            first.lease_until,
            first.attempts,
            first.started_at
        ),
        (QueueStatus::Running, Some(lease), 1, Some(now))
    );
    let second = ok(s.claim_next_run(None, now, lease + 1).await, "claim 2").expect("b");
    assert_eq!(second.id, b.id, "a live lease hides a");
    assert_eq!(
        ok(s.claim_next_run(None, now, lease).await, "claim 3"),
        None
    );
    assert_eq!(
        ok(
            s.claim_next_run(Some(b.id), now + 999_999, now + 2_000_000)
                .await,
            "after"
        ),
        None
    );

    // Finish a under a stale lease: refused; under its lease: done.
    let mut counts = RunCounts {
        patterns: 3,
        ..RunCounts::default()
    };
    counts.add("aggregated", 7);
    let finish = QueuedRunFinish {
        status: QueueStatus::Ok,
        ended_at: now + 10,
        error: None,
        counts: counts.clone(),
        cron_run: None,
        cursor: None,
    };
    assert!(!ok(
        s.finish_queued_run(a.id, lease + 5, &finish).await,
        "stale"
    ));
    assert!(matches!(
        s.finish_queued_run(
            a.id,
            lease,
            &QueuedRunFinish {
                status: QueueStatus::Running,
                ..finish.clone()
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(ok(
        s.finish_queued_run(a.id, lease, &finish).await,
        "finish"
    ));
    let done = ok(s.queued_run(a.id).await, "read a").expect("a");
    assert_eq!(
        (
            done.status,
            done.progress,
            done.ended_at,
            done.lease_until,
            done.counts
        ),
        (
            QueueStatus::Ok,
            100,
            Some(now + 10),
            None,
            Some(counts.clone())
        )
    );
    assert!(!ok(
        s.finish_queued_run(a.id, lease, &finish).await,
        "twice"
    ));

    // b: a chunk saved under its lease releases it; the next claim continues it.
    let step = RunProgress {
        cursor: Some(T0 - 60_000),
        progress: 40,
        counts: counts.clone(),
        reset_attempts: true,
    };
    assert!(!ok(
        s.save_run_progress(b.id, lease, &step).await,
        "stale save"
    ));
    assert!(matches!(
        s.save_run_progress(
            b.id,
            lease + 1,
            &RunProgress {
                progress: 101,
                ..step.clone()
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(ok(
        s.save_run_progress(b.id, lease + 1, &step).await,
        "save"
    ));
    let saved = ok(s.queued_run(b.id).await, "read b").expect("b");
    assert_eq!(
        (
            saved.status,
            saved.cursor,
            saved.progress,
            saved.attempts,
            saved.lease_until
        ),
        (QueueStatus::Running, Some(T0 - 60_000), 40, 0, None)
    );
    let again = ok(
        s.claim_next_run(None, now + 5, now + 70_000).await,
        "reclaim",
    )
    .expect("b again");
    assert_eq!(
        (again.id, again.attempts, again.started_at),
        (b.id, 1, Some(now))
    );
    // Its lease expires without a save: claimable again, attempts counted.
    let late = now + 70_000;
    let expired = ok(s.claim_next_run(None, late, late + 1).await, "expired").expect("b");
    assert_eq!((expired.id, expired.attempts), (b.id, 2));
    let fail = QueuedRunFinish {
        status: QueueStatus::Failed,
        ended_at: late,
        error: Some("exchange: down".into()),
        counts: RunCounts::default(),
        cron_run: None,
        cursor: Some(T0 - 60_000),
    };
    assert!(ok(s.finish_queued_run(b.id, late + 1, &fail).await, "fail"));
    let failed = ok(s.queued_run(b.id).await, "read").expect("b");
    assert_eq!(
        (failed.status, failed.error, failed.progress),
        (QueueStatus::Failed, Some("exchange: down".into()), 40)
    );
    assert_eq!(
        ok(
            s.claim_next_run(None, late + 10_000_000, late + 10_000_001)
                .await,
            "none"
        ),
        None
    );
}

/// `cron_runs_page`: newest first by (started_at, id), strictly after the cursor; limit 0 →
/// `Invalid`; another job's runs never appear.
pub async fn run_queue_pages_cron_runs_by_keyset<S: RunQueueStores>(s: &S) {
    let mut ids = Vec::new();
    for (i, at) in [T0, T0, T0 + 5, T0 + 2].into_iter().enumerate() {
        let id = ok(s.start_run("stats", RunTrigger::Manual, at).await, "start");
        let finish = RunFinish {
            ended_at: at + 1,
            status: RunStatus::Ok,
            error: None,
            counts: RunCounts {
                symbols: i as u64,
                ..RunCounts::default()
            },
        };
        ok(s.finish_run(id, &finish).await, "finish");
        ids.push(id);
    }
    ok(
        s.start_run("cleanup", RunTrigger::Cron, T0 + 9).await,
        "other job",
    );
    let page = ok(s.cron_runs_page("stats", None, 2).await, "page 1");
    let got: Vec<_> = page.iter().map(|r| r.id).collect();
    assert_eq!(got, vec![ids[2], ids[3]], "newest first");
    let last = page.last().expect("row");
    let cursor = Cursor {
        ts: last.started_at,
        id: last.id.0,
    };
    let rest: Vec<_> = ok(s.cron_runs_page("stats", Some(cursor), 10).await, "page 2")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(rest, vec![ids[1], ids[0]], "ties by id desc");
    assert_eq!(page[0].counts.as_ref().map(|c| c.symbols), Some(2));
    assert!(matches!(
        s.cron_runs_page("stats", None, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Retention: finished runs (ok, partial, failed) that ended before the cutoff go, in
/// batches; queued and running runs stay whatever their age; a run ended at the cutoff stays.
pub async fn run_queue_purges_finished_runs_by_age<S: RunQueueStores>(s: &S) {
    let u = user(s).await;
    let sym = symbol(s).await;
    let cut = T0 + 10 * 86_400_000;
    let mut finished = Vec::new();
    for (k, (status, ended)) in [
        (QueueStatus::Ok, T0),
        (QueueStatus::Partial, T0 + 1),
        (QueueStatus::Failed, T0 + 2),
        (QueueStatus::Ok, cut),
    ]
    .into_iter()
    .enumerate()
    {
        let run = ok(
            s.enqueue_run(&ask(RunKind::Scan, Some(sym), Some(u), T0))
                .await,
            "enqueue",
        );
        let lease = T0 + 1_000 + i64::try_from(k).unwrap_or(0);
        let claimed = ok(s.claim_next_run(None, T0, lease).await, "claim").expect("claimable");
        assert_eq!(claimed.id, run.id);
        let done = QueuedRunFinish {
            status,
            ended_at: ended,
            error: None,
            counts: RunCounts::default(),
            cron_run: None,
            cursor: None,
        };
        assert!(ok(
            s.finish_queued_run(run.id, lease, &done).await,
            "finish"
        ));
        finished.push(run.id);
    }
    let queued = ok(
        s.enqueue_run(&ask(RunKind::Stats, None, None, T0)).await,
        "queued",
    );
    let running = ok(
        s.enqueue_run(&ask(RunKind::HistoricalFetch, Some(sym), None, T0))
            .await,
        "running",
    );
    let claimed = ok(
        s.claim_next_run(Some(queued.id), T0, cut + 1).await,
        "claim",
    )
    .expect("running");
    assert_eq!(claimed.id, running.id);

    assert_eq!(
        ok(s.purge(RetentionTarget::RunQueue, cut, 2).await, "batch"),
        2
    );
    assert_eq!(
        ok(s.purge(RetentionTarget::RunQueue, cut, 10).await, "rest"),
        1
    );
    assert_eq!(
        ok(s.purge(RetentionTarget::RunQueue, cut, 10).await, "again"),
        0
    );
    for id in &finished[..3] {
        assert_eq!(ok(s.queued_run(*id).await, "gone"), None);
    }
    for id in [finished[3], queued.id, running.id] {
        assert!(ok(s.queued_run(id).await, "kept").is_some(), "{id:?}");
    }
}
