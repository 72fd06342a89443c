//! The `subscriptions` job (product.md §4, 06:00): marks `active` subscriptions past their
//! expiry (and grace) `expired`, then sends the expiry warnings due 7, 3 and 1 days before
//! expiry through the [`Mailer`] port.
//!
//! Each warning is recorded first (`expiry_warnings`, unique on `(subscription, expires_at,
//! days_before)`, `BillingStore::record_expiry_warnings`) and sent only when that record was
//! new, so a re-run or a double trigger never mails twice; a missed 7-day warning is never sent
//! after the 3-day one (`cl_billing::subscription::due_expiry_warning`). A mail the provider
//! refuses is counted (`mail_failed`) and makes the run `partial`; it is not retried (at most
//! once, by design of the unique key).

use super::runner::{begin, finish, Begin, JobReport};
use super::JobOutcome;
use crate::cron::{CronStore, RunCounts, RunStatus, RunTrigger};
use crate::ports::{BillingStore, Clock, Mail, MailKind, Mailer, StoreError, UserId, UserStore};
use cl_auth::SecretString;
use cl_billing::subscription::due_expiry_warning;

/// The job's name in `cron_jobs`.
pub const SUBSCRIPTIONS_JOB: &str = "subscriptions";
/// Mail parameter: 7, 3 or 1.
pub const PARAM_DAYS_BEFORE: &str = "days_before";
/// Mail parameter: the expiry (UTC ms).
pub const PARAM_EXPIRES_AT: &str = "expires_at";
/// Mail parameter: the plan.
pub const PARAM_PLAN: &str = "plan";
/// Warnings look this far ahead.
const HORIZON_MS: i64 = 7 * 86_400_000;

/// Runs the subscriptions job once.
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping; the work's errors fail the recorded run.
pub async fn run_subscriptions_job<S, M, C>(
    store: &S,
    mailer: &M,
    clock: &C,
    trigger: RunTrigger,
) -> Result<(JobOutcome, JobReport), StoreError>
where
    S: BillingStore + UserStore + CronStore,
    M: Mailer,
    C: Clock,
{
    let run = match begin(store, clock, SUBSCRIPTIONS_JOB, 120_000, trigger).await? {
        Begin::Run(run) => run,
        Begin::Done(outcome, report) => return Ok((outcome, report)),
    };
    let mut counts = RunCounts::default();
    let work = warn_and_expire(store, mailer, run.started(), &mut counts).await;
    let (status, error) = match work {
        Ok(failures) if failures.is_empty() => (RunStatus::Ok, None),
        Ok(failures) => (RunStatus::Partial, Some(failures.join("; "))),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    finish(store, clock, run, status, error, counts).await
}

async fn warn_and_expire<S, M>(
    store: &S,
    mailer: &M,
    now: i64,
    counts: &mut RunCounts,
) -> Result<Vec<String>, StoreError>
where
    S: BillingStore + UserStore,
    M: Mailer,
{
    counts.add("expired", store.expire_subscriptions(now).await?);
    counts.add("warnings_sent", 0);
    let mut failures = Vec::new();
    for row in store.subscriptions_expiring(now, HORIZON_MS).await? {
        let Some(due) = due_expiry_warning(row.id, &row.subscription, now) else {
            continue;
        };
        if !store
            .record_expiry_warnings(&due.send, &due.record, now)
            .await?
        {
            continue;
        }
        let sub = &row.subscription;
        let Some(user) = store.user(UserId(sub.user_id.get())).await? else {
            continue;
        };
        let mail = Mail {
            kind: MailKind::SubscriptionExpiring,
            to: user.email,
            params: vec![
                (
                    PARAM_DAYS_BEFORE,
                    SecretString::new(due.send.days_before.to_string()),
                ),
                (
                    PARAM_EXPIRES_AT,
                    SecretString::new(due.send.expires_at.to_string()),
                ),
                (PARAM_PLAN, SecretString::new(sub.plan.as_str())),
            ],
        };
        match mailer.send(&mail).await {
            Ok(()) => counts.add("warnings_sent", 1),
            Err(e) => {
                counts.add("mail_failed", 1);
                failures.push(format!("subscription {}: {e}", row.id));
            }
        }
    }
    Ok(failures)
}
