//! The subscriptions job over the memory store: lapsed subscriptions expire, each expiry
//! warning is mailed once (re-runs and double triggers send nothing new), the run is recorded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::clock::ManualClock;
use cl_app::cron::{CronStore, RunStatus, RunTrigger};
use cl_app::jobs::subscriptions::{run_subscriptions_job, PARAM_DAYS_BEFORE, SUBSCRIPTIONS_JOB};
use cl_app::jobs::JobOutcome;
use cl_app::ports::{
    BillingStore, BillingSubscription, Mail, MailError, MailKind, Mailer, NewUser, UserStore,
    WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_billing::{Provider, UserId};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::RefCell;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_709_251_200_000;

#[derive(Default)]
struct Outbox(RefCell<Vec<(String, String)>>);

impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        assert_eq!(mail.kind, MailKind::SubscriptionExpiring);
        let days = mail
            .param(PARAM_DAYS_BEFORE)
            .map(|d| d.expose_secret().to_owned())
            .unwrap_or_default();
        self.0
            .borrow_mut()
            .push((mail.to.as_str().to_owned(), days));
        Ok(())
    }
}

fn user(s: &MemoryStore, n: &str, expires_at: i64, status: SubscriptionStatus) {
    let id = block_on(s.create_user(&NewUser {
        email: Email::parse(&format!("{n}@example.com")).unwrap(),
        username: Username::parse(n).unwrap(),
        password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$salt$hash"),
        ntfy_topic: format!("cl_topic_{n}"),
        created_at: 0,
    }))
    .unwrap()
    .id;
    let uid = UserId::new(id.0).unwrap();
    let sub = BillingSubscription {
        user_id: uid,
        plan: Plan::Pro,
        status,
        starts_at: 0,
        expires_at: Some(expires_at),
        cancelled_at: None,
        provider: Some(SubscriptionSource::LemonSqueezy),
        external_subscription_id: None,
    };
    block_on(s.apply_webhook(&WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: format!("seed-{n}"),
        received_at: 0,
        outcome: "activated".into(),
        payment_id: None,
        read_payment: None,
        payment: None,
        subscription_user: Some(uid),
        read_subscription: None,
        subscription: Some(sub),
    }))
    .unwrap();
}

#[test]
fn warnings_are_mailed_once_and_lapsed_subscriptions_expire() {
    let s = MemoryStore::new();
    user(&s, "ann", NOW + 2 * DAY, SubscriptionStatus::Active); // 3-day warning due
    user(&s, "ben", NOW + 6 * DAY, SubscriptionStatus::Cancelled); // 7-day warning due
    user(&s, "cat", NOW + 9 * DAY, SubscriptionStatus::Active); // none yet
    user(&s, "dan", NOW - 4 * DAY, SubscriptionStatus::Active); // past grace → expired
    let outbox = Outbox::default();
    let clock = ManualClock::new(NOW);
    let (outcome, report) =
        block_on(run_subscriptions_job(&s, &outbox, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Ok));
    assert_eq!(report.counts.get("expired"), 1);
    assert_eq!(report.counts.get("warnings_sent"), 2);
    let mut sent = outbox.0.borrow().clone();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("ann@example.com".to_owned(), "3".to_owned()),
            ("ben@example.com".to_owned(), "7".to_owned())
        ]
    );
    // A re-run (or a second trigger an hour later) sends nothing new.
    clock.set(NOW + 3_600_000);
    let (_, again) =
        block_on(run_subscriptions_job(&s, &outbox, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(again.counts.get("warnings_sent"), 0);
    assert_eq!(outbox.0.borrow().len(), 2);
    // A day later ann crosses the 1-day threshold: one more mail.
    clock.set(NOW + DAY + 1);
    block_on(run_subscriptions_job(&s, &outbox, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outbox.0.borrow().len(), 3);
    assert_eq!(outbox.0.borrow()[2], ("ann@example.com".into(), "1".into()));
    let runs = block_on(s.list_runs(SUBSCRIPTIONS_JOB, 10)).unwrap();
    assert_eq!(runs.len(), 3);
}
