//! Host tests of the admin notification use cases (`cl_app::notify_admin`) on the memory store
//! with a recording sender: audience counts by tier and the global topic, placeholders checked
//! at save time and filled at send time, audit rows, and the dispatch step — a broadcast sent
//! once across ticks, a due schedule sent once, a cancelled one never, an outage deferring the
//! rest to the next tick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::notify::{NotificationSender, OutgoingMessage, SendFailure};
use cl_app::notify_admin::{
    audience_count, cancel_schedule, queue_admin_test, queue_broadcast, save_template, schedule,
    send_broadcasts, AdminActor, AudienceChoice, BroadcastBudget, ContentInput, NotifyAdminError,
    SendRequest,
};
use cl_app::policy::Tier;
use cl_app::ports::admin::{AdminStore, AuditFilter};
use cl_app::ports::broadcast_delivery::{BroadcastDeliveryStore, BroadcastState};
use cl_app::ports::notification_admin::NotificationAdminStore;
use cl_app::ports::{
    ApplyOutcome, BillingStore, BillingSubscription, NewUser, PageRequest, Provider, UserId,
    UserStore, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::{Cell, RefCell};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;
const MIN: i64 = 60_000;

#[derive(Default)]
struct Recorder {
    sent: RefCell<Vec<OutgoingMessage>>,
    /// 0 = accept, 1 = fail, 2 = unavailable.
    mode: Cell<u8>,
}

impl NotificationSender for Recorder {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendFailure> {
        match self.mode.get() {
            1 => Err(SendFailure::Failed("upstream answered 500".into())),
            2 => Err(SendFailure::Unavailable("breaker open".into())),
            _ => {
                self.sent.borrow_mut().push(message.clone());
                Ok(())
            }
        }
    }
}

impl Recorder {
    fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.sent.borrow().iter().map(|m| m.topic.clone()).collect();
        t.sort();
        t
    }
}

fn topic(n: u32) -> String {
    format!("cl_{n:016x}")
}

async fn user(s: &MemoryStore, n: u32, plan: Option<Plan>) -> UserId {
    let name = format!("user{n}");
    let id = s
        .create_user(&NewUser {
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            username: Username::parse(&name).unwrap(),
            password_hash: SecretString::new(String::from("$pbkdf2-sha256$i=10,l=32$salt$hash")),
            ntfy_topic: topic(n),
            created_at: T0,
        })
        .await
        .unwrap()
        .id;
    s.set_verified(id, true).await.unwrap();
    if let Some(plan) = plan {
        let bu = cl_billing::UserId::new(id.0).unwrap();
        let w = WebhookWrite {
            provider: Provider::LemonSqueezy,
            event_key: format!("seed-{n}"),
            received_at: T0,
            outcome: "seeded".into(),
            payment_id: None,
            read_payment: None,
            payment: None,
            subscription_user: Some(bu),
            read_subscription: None,
            subscription: Some(BillingSubscription {
                user_id: bu,
                plan,
                status: SubscriptionStatus::Active,
                starts_at: T0 - 86_400_000,
                expires_at: Some(T0 + 30 * 86_400_000),
                cancelled_at: None,
                provider: Some(SubscriptionSource::LemonSqueezy),
                external_subscription_id: None,
            }),
        };
        assert!(matches!(
            s.apply_webhook(&w).await.unwrap(),
            ApplyOutcome::Applied { .. }
        ));
    }
    id
}

struct World {
    s: MemoryStore,
    admin: AdminActor,
}

async fn world() -> World {
    let s = MemoryStore::new();
    let admin = user(&s, 100, None).await;
    s.set_admin(admin, true).await.unwrap();
    user(&s, 1, Some(Plan::Premium)).await;
    user(&s, 2, Some(Plan::Pro)).await;
    user(&s, 3, None).await;
    World {
        s,
        admin: AdminActor {
            user: admin,
            ip: Some("203.0.113.9".into()),
            request_id: "req-1".into(),
        },
    }
}

fn request(audience: AudienceChoice, title: &str) -> SendRequest {
    SendRequest {
        audience,
        content: ContentInput::parse(title, "Hello from {app} to {topic}", 4, &["bell".into()])
            .unwrap()
            .0,
        template: None,
    }
}

async fn audit_actions(s: &MemoryStore) -> Vec<String> {
    let page = PageRequest {
        limit: 100,
        after: None,
    };
    let mut v: Vec<String> = s
        .audit_log(&AuditFilter::default(), page)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    v.reverse();
    v
}

#[test]
fn audience_counts_follow_the_tiers_and_the_global_topic() {
    block_on(async {
        let w = world().await;
        let n = |c: AudienceChoice| {
            let s = &w.s;
            async move { audience_count(s, &c, None, T0).await }
        };
        // The admin counts as premium.
        assert_eq!(n(AudienceChoice::All).await, Ok(4));
        assert_eq!(n(AudienceChoice::Tier(Tier::Premium)).await, Ok(2));
        assert_eq!(n(AudienceChoice::Tier(Tier::Pro)).await, Ok(1));
        assert_eq!(n(AudienceChoice::Tier(Tier::Free)).await, Ok(1));
        assert_eq!(
            n(AudienceChoice::Topics(vec!["a".into(), "b".into()])).await,
            Ok(2)
        );
        assert_eq!(
            n(AudienceChoice::Global).await,
            Err(NotifyAdminError::NoGlobalTopic)
        );
        w.s.put_setting("notify.global_topic", "\"cryptolens-all\"");
        assert_eq!(n(AudienceChoice::Global).await, Ok(1));
    });
}

#[test]
fn templates_refuse_unknown_placeholders_and_write_nothing() {
    block_on(async {
        let w = world().await;
        let bad = ContentInput::parse("Hi {user}", "ok", 4, &[]);
        let e = save_template(&w.s, &w.admin, None, "welcome", bad, T0)
            .await
            .unwrap_err();
        let NotifyAdminError::Invalid(issues) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (issues[0].field, issues[0].code),
            ("title", "unknown_placeholder")
        );
        assert!(w.s.templates().await.unwrap().is_empty());
        assert!(audit_actions(&w.s).await.is_empty());

        let good = ContentInput::parse("Hi from {app}", "on {date}", 3, &[]);
        let t = save_template(&w.s, &w.admin, None, "welcome", good.clone(), T0)
            .await
            .unwrap();
        assert_eq!(
            save_template(&w.s, &w.admin, None, "welcome", good, T0).await,
            Err(NotifyAdminError::NameTaken)
        );
        assert_eq!(t.name.as_str(), "welcome");
        assert_eq!(audit_actions(&w.s).await, ["notify.template_create"]);
    });
}

#[test]
fn a_broadcast_is_sent_once_with_placeholders_filled_and_recorded() {
    block_on(async {
        let w = world().await;
        let ntfy = Recorder::default();
        let req = request(AudienceChoice::Tier(Tier::Premium), "News {date}");
        let id = queue_broadcast(&w.s, &w.admin, &req, None, T0)
            .await
            .unwrap();
        assert!(ntfy.sent.borrow().is_empty(), "a request never sends");
        let r = send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + MIN).await;
        assert_eq!((r.sent, r.finished), (2, 1), "{r:?}");
        assert_eq!(ntfy.topics(), [topic(1), topic(100)]);
        let first = ntfy.sent.borrow()[0].clone();
        assert_eq!(first.title, "News 01/01/2024");
        assert!(first.body.starts_with("Hello from CryptoLens Edge to cl_"));
        assert_eq!(
            (first.priority, first.tags.clone()),
            (4, vec!["bell".into()])
        );

        // Two more ticks (a double trigger): nothing more.
        send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 2 * MIN).await;
        send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 2 * MIN).await;
        assert_eq!(ntfy.sent.borrow().len(), 2);
        let sums = w.s.broadcast_summaries(10).await.unwrap();
        assert_eq!(sums[0].id, id);
        assert_eq!(
            (sums[0].state, sums[0].recipients, sums[0].sent),
            (BroadcastState::Done, 2, 2)
        );
        assert_eq!(audit_actions(&w.s).await, ["notify.broadcast"]);
    });
}

#[test]
fn the_global_topic_is_a_recorded_recipient() {
    block_on(async {
        let w = world().await;
        w.s.put_setting("notify.global_topic", "\"cryptolens-all\"");
        let ntfy = Recorder::default();
        queue_broadcast(
            &w.s,
            &w.admin,
            &request(AudienceChoice::Global, "G"),
            None,
            T0,
        )
        .await
        .unwrap();
        send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0).await;
        assert_eq!(ntfy.topics(), ["cryptolens-all"]);
        let sums = w.s.broadcast_summaries(10).await.unwrap();
        assert_eq!((sums[0].recipients, sums[0].sent), (1, 1));
    });
}

#[test]
fn a_schedule_goes_out_once_when_due_and_a_cancelled_one_never() {
    block_on(async {
        let w = world().await;
        let ntfy = Recorder::default();
        let req = request(AudienceChoice::Tier(Tier::Pro), "Later");
        assert!(matches!(
            schedule(&w.s, &w.admin, &req, T0 + 30_000, None, T0).await,
            Err(NotifyAdminError::Invalid(_))
        ));
        let keep = schedule(&w.s, &w.admin, &req, T0 + 5 * MIN, None, T0)
            .await
            .unwrap();
        let drop = schedule(&w.s, &w.admin, &req, T0 + 5 * MIN, None, T0)
            .await
            .unwrap();
        cancel_schedule(&w.s, &w.admin, drop.id, T0).await.unwrap();
        assert_eq!(
            cancel_schedule(&w.s, &w.admin, drop.id, T0).await,
            Err(NotifyAdminError::NotScheduled)
        );

        send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 4 * MIN).await;
        assert!(ntfy.sent.borrow().is_empty(), "not before its time");
        let r = send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 5 * MIN).await;
        assert_eq!((r.schedules_started, r.sent), (1, 1), "{r:?}");
        send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 6 * MIN).await;
        assert_eq!(
            ntfy.topics(),
            [topic(2)],
            "once, and never the cancelled one"
        );
        assert_eq!(
            cancel_schedule(&w.s, &w.admin, keep.id, T0 + 7 * MIN).await,
            Err(NotifyAdminError::NotScheduled)
        );
        assert_eq!(
            audit_actions(&w.s).await,
            [
                "notify.schedule",
                "notify.schedule",
                "notify.schedule_cancel"
            ]
        );
    });
}

#[test]
fn an_outage_leaves_the_rest_pending_for_the_next_tick() {
    block_on(async {
        let w = world().await;
        let ntfy = Recorder::default();
        queue_broadcast(
            &w.s,
            &w.admin,
            &request(AudienceChoice::All, "All"),
            None,
            T0,
        )
        .await
        .unwrap();
        ntfy.mode.set(2);
        let r = send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0).await;
        assert_eq!((r.sent, r.failed), (0, 0));
        assert_eq!(r.deferred, 4, "{r:?}");
        // A failing (not just unavailable) channel also defers, up to the last attempt.
        ntfy.mode.set(1);
        let r = send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + MIN).await;
        assert_eq!((r.sent, r.failed), (0, 0), "{r:?}");
        ntfy.mode.set(0);
        let r = send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + 2 * MIN).await;
        assert_eq!((r.sent, r.finished), (4, 1), "{r:?}");
        assert_eq!(ntfy.sent.borrow().len(), 4);
    });
}

#[test]
fn a_delivery_fails_for_good_after_its_last_attempt() {
    block_on(async {
        let w = world().await;
        let ntfy = Recorder::default();
        let req = request(AudienceChoice::Topics(vec!["only-one".into()]), "T");
        queue_broadcast(&w.s, &w.admin, &req, None, T0)
            .await
            .unwrap();
        ntfy.mode.set(1);
        for m in 0..3 {
            send_broadcasts(&w.s, &ntfy, BroadcastBudget::default(), T0 + m * MIN).await;
        }
        let sums = w.s.broadcast_summaries(10).await.unwrap();
        assert_eq!(
            (sums[0].state, sums[0].failed, sums[0].sent),
            (BroadcastState::Done, 1, 0)
        );
    });
}

#[test]
fn the_admin_test_goes_to_a_topic_or_the_global_topic() {
    block_on(async {
        let w = world().await;
        assert!(matches!(
            queue_admin_test(&w.s, &w.admin, Some("bad topic"), None, T0).await,
            Err(NotifyAdminError::Invalid(_))
        ));
        assert_eq!(
            queue_admin_test(&w.s, &w.admin, None, None, T0).await,
            Err(NotifyAdminError::NoGlobalTopic)
        );
        assert_eq!(
            queue_admin_test(&w.s, &w.admin, None, Some("fallback_topic"), T0).await,
            Ok("fallback_topic".into())
        );
        assert_eq!(
            queue_admin_test(&w.s, &w.admin, Some("mine"), None, T0).await,
            Ok("mine".into())
        );
        assert_eq!(audit_actions(&w.s).await, ["notify.test", "notify.test"]);
    });
}
