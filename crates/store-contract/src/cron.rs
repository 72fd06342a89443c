//! Contract cases of [`CronStore`]: the lease is exclusive (even for concurrent claims), the
//! run history records status, error, counts and duration, and switches and cursors persist.
//! Every store starts with the seeded jobs of `migrations/0007_seed.sql`.

use crate::{ok, Store};
use cl_app::cron::{RunCounts, RunFinish, RunStatus, RunTrigger};
use cl_app::ports::StoreError;

const JOB: &str = "pipeline";

/// The lease: one holder at a time (also for two concurrent claims); it ends at
/// `lease_until`, on release by its holder, and is refused for a disabled or unknown job.
pub async fn cron_lease_is_exclusive<S: Store>(s: &S) {
    let job = ok(s.cron_job(JOB).await, "job").unwrap_or_else(|| panic!("pipeline is seeded"));
    assert!(job.enabled, "seeded enabled");
    assert_eq!(job.lease_until, None);

    let (a, b) = futures_util::future::join(
        s.claim_lease(JOB, 1_000, 61_000),
        s.claim_lease(JOB, 1_000, 61_000),
    )
    .await;
    let (a, b) = (ok(a, "claim a"), ok(b, "claim b"));
    assert!(a ^ b, "exactly one concurrent claim wins ({a}, {b})");
    assert!(!ok(
        s.claim_lease(JOB, 60_999, 120_000).await,
        "claim while held"
    ));
    assert_eq!(
        ok(s.cron_job(JOB).await, "job").and_then(|j| j.lease_until),
        Some(61_000)
    );
    // Expired at exactly lease_until.
    assert!(ok(
        s.claim_lease(JOB, 61_000, 121_000).await,
        "claim after expiry"
    ));
    // Releasing someone else's lease does nothing.
    ok(s.release_lease(JOB, 61_000).await, "release stale");
    assert!(!ok(s.claim_lease(JOB, 62_000, 122_000).await, "still held"));
    ok(s.release_lease(JOB, 121_000).await, "release");
    assert_eq!(
        ok(s.cron_job(JOB).await, "job").and_then(|j| j.lease_until),
        None
    );
    assert!(matches!(
        s.claim_lease(JOB, 5_000, 5_000).await,
        Err(StoreError::Invalid(_))
    ));

    ok(s.set_job_enabled(JOB, false, 9).await, "disable");
    assert!(!ok(s.cron_job(JOB).await, "job").is_some_and(|j| j.enabled));
    assert!(!ok(
        s.claim_lease(JOB, 200_000, 260_000).await,
        "claim disabled"
    ));
    ok(s.set_job_enabled(JOB, true, 10).await, "enable");
    assert!(ok(
        s.claim_lease(JOB, 200_000, 260_000).await,
        "claim enabled"
    ));

    assert!(!ok(s.claim_lease("no-such-job", 1, 2).await, "unknown job"));
    assert_eq!(ok(s.cron_job("no-such-job").await, "unknown"), None);
    assert_eq!(
        s.set_job_enabled("no-such-job", true, 1).await,
        Err(StoreError::NotFound("cron job"))
    );
}

/// Runs: started `running`, finished with status, error, counts and duration; listed newest
/// first; cursors replace and clear.
pub async fn cron_runs_record_history<S: Store>(s: &S) {
    let first = ok(s.start_run(JOB, RunTrigger::Cron, 1_000).await, "start 1");
    let second = ok(s.start_run(JOB, RunTrigger::Manual, 2_000).await, "start 2");
    let other = ok(
        s.start_run("stats", RunTrigger::Cron, 3_000).await,
        "start other",
    );
    assert_ne!(first, second);
    let mut counts = RunCounts {
        symbols: 3,
        candles: 120,
        patterns: 7,
        signals: 1,
        bad_rows: 1,
        gaps: 2,
        abandoned: 0,
        queries: 41,
        wall_ms: 512,
        ..RunCounts::default()
    };
    counts.add("deleted.candles_1m", 5_000);
    ok(
        s.finish_run(
            first,
            &RunFinish {
                ended_at: 1_500,
                status: RunStatus::Partial,
                error: Some("time budget spent".into()),
                counts: counts.clone(),
            },
        )
        .await,
        "finish",
    );
    let runs = ok(s.list_runs(JOB, 10).await, "list");
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second, first]
    );
    let (newest, done) = (&runs[0], &runs[1]);
    assert_eq!(newest.status, RunStatus::Running);
    assert_eq!(newest.trigger, RunTrigger::Manual);
    assert_eq!((newest.ended_at, newest.counts.clone()), (None, None));
    assert_eq!(done.job, JOB);
    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!(
        (done.started_at, done.ended_at, done.duration_ms),
        (1_000, Some(1_500), Some(500))
    );
    assert_eq!(done.error.as_deref(), Some("time budget spent"));
    assert_eq!(done.counts, Some(counts));
    assert_eq!(ok(s.list_runs(JOB, 1).await, "limit").len(), 1);
    assert_eq!(ok(s.list_runs("stats", 10).await, "stats")[0].id, other);

    let running = RunFinish {
        ended_at: 3,
        status: RunStatus::Running,
        error: None,
        counts: RunCounts::default(),
    };
    assert!(matches!(
        s.finish_run(second, &running).await,
        Err(StoreError::Invalid(_))
    ));
    let missing = cl_app::cron::CronRunId(second.0 + 1_000);
    let skipped = RunFinish {
        status: RunStatus::Skipped,
        ..running
    };
    assert_eq!(
        s.finish_run(missing, &skipped).await,
        Err(StoreError::NotFound("cron run"))
    );
    assert_eq!(
        s.start_run("no-such-job", RunTrigger::Cron, 1).await,
        Err(StoreError::NotFound("cron job"))
    );

    ok(
        s.set_cursor(JOB, Some("{\"next_symbol\":12}"), 5).await,
        "cursor",
    );
    let cursor = ok(s.cron_job(JOB).await, "job").and_then(|j| j.cursor);
    let compact: Option<String> =
        cursor.map(|c| c.chars().filter(|c| !c.is_whitespace()).collect());
    assert_eq!(compact.as_deref(), Some("{\"next_symbol\":12}"));
    ok(s.set_cursor(JOB, None, 6).await, "clear cursor");
    assert_eq!(
        ok(s.cron_job(JOB).await, "job").and_then(|j| j.cursor),
        None
    );
    assert_eq!(
        s.set_cursor("no-such-job", None, 1).await,
        Err(StoreError::NotFound("cron job"))
    );
}
