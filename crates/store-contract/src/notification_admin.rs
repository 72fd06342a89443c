//! The admin notification port's contract: templates CRUD with a unique name, broadcasts
//! queued then marked once and listed newest first in keyset pages, schedules due by time and
//! claimed by one caller (with repeat), cancel once. Its own list
//! ([`NotificationAdminCase`], [`run_notification_admin_case`],
//! [`notification_admin_contract_tests!`]).

use crate::fixtures::ok;
use cl_app::ports::notification_admin::{
    Audience, BroadcastCounts, BroadcastId, NewBroadcast, NewSchedule, NoticeBody, NoticeContent,
    NoticeTags, NoticeTitle, NotificationAdminStore, ScheduleClaim, ScheduleId, ScheduleStatus,
    TemplateId, TemplateName, TEMPLATE_NAME_KEY,
};
use cl_app::ports::notifications::NotifyPriority;
use cl_app::ports::{Cursor, PageRequest, StoreError, UserId, UserStore, MAX_EXACT_INT};
use std::fmt::Debug;

/// Every port the contract needs.
pub trait NotificationAdminStores: NotificationAdminStore + UserStore {}
impl<T: NotificationAdminStore + UserStore> NotificationAdminStores for T {}

/// One case of the admin notification contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationAdminCase {
    /// [`templates_crud_with_a_unique_name`].
    TemplatesCrud,
    /// [`broadcasts_page_newest_first_and_mark_once`].
    BroadcastsMarkOnce,
    /// [`schedules_are_claimed_once`].
    SchedulesClaimedOnce,
}

impl NotificationAdminCase {
    /// Every case.
    pub const ALL: &'static [NotificationAdminCase] = &[
        Self::TemplatesCrud,
        Self::BroadcastsMarkOnce,
        Self::SchedulesClaimedOnce,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TemplatesCrud => "templates_crud_with_a_unique_name",
            Self::BroadcastsMarkOnce => "broadcasts_page_newest_first_and_mark_once",
            Self::SchedulesClaimedOnce => "schedules_are_claimed_once",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_notification_admin_case<S: NotificationAdminStores>(
    case: NotificationAdminCase,
    s: &S,
) {
    match case {
        NotificationAdminCase::TemplatesCrud => templates_crud_with_a_unique_name(s).await,
        NotificationAdminCase::BroadcastsMarkOnce => {
            broadcasts_page_newest_first_and_mark_once(s).await;
        }
        NotificationAdminCase::SchedulesClaimedOnce => schedules_are_claimed_once(s).await,
    }
}

/// Expands to one `#[test]` per [`NotificationAdminCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! notification_admin_contract_tests {
    ($harness:path) => {
        #[test]
        fn templates_crud_with_a_unique_name() {
            $harness($crate::notification_admin::NotificationAdminCase::TemplatesCrud);
        }
        #[test]
        fn broadcasts_page_newest_first_and_mark_once() {
            $harness($crate::notification_admin::NotificationAdminCase::BroadcastsMarkOnce);
        }
        #[test]
        fn schedules_are_claimed_once() {
            $harness($crate::notification_admin::NotificationAdminCase::SchedulesClaimedOnce);
        }
    };
}

const T0: i64 = 1_704_067_200_000;
const MIN: i64 = 60_000;

async fn admin<S: NotificationAdminStores>(s: &S) -> UserId {
    crate::fixtures::user(s, "root", T0).await
}

fn name(n: &str) -> TemplateName {
    ok(TemplateName::parse(n), "name")
}

fn content(title: &str, priority: i64) -> NoticeContent {
    NoticeContent {
        title: ok(NoticeTitle::parse(title), "title"),
        body: ok(NoticeBody::parse("Line one\nline two — ünïcode"), "body"),
        priority: ok(NotifyPriority::new(priority), "priority"),
        tags: ok(NoticeTags::parse("rocket,warning"), "tags"),
    }
}

fn broadcast(
    audience: Audience,
    template: Option<TemplateId>,
    by: Option<UserId>,
    at: i64,
) -> NewBroadcast {
    NewBroadcast {
        audience,
        template,
        content: content("Maintenance", 3),
        created_by: by,
        created_at: at,
    }
}

fn schedule(send_at: i64, by: Option<UserId>) -> NewSchedule {
    NewSchedule {
        send_at,
        audience: Audience::Topics("cl_aaaaaaaaaaaaaaaa,cl_bbbbbbbbbbbbbbbb".into()),
        template: None,
        content: content("Weekly digest", 2),
        created_by: by,
        created_at: T0,
    }
}

/// Create (every field round-trips), a duplicate name is `Conflict(TEMPLATE_NAME_KEY)` and
/// writes nothing, the list is by name, update renames (not onto another's name) and bumps
/// `updated_at`, delete answers `NotFound` the second time and un-links broadcasts.
pub async fn templates_crud_with_a_unique_name<S: NotificationAdminStores>(s: &S) {
    let b = ok(
        s.create_template(&name("outage"), &content("Outage", 5), T0)
            .await,
        "b",
    );
    assert_eq!(b.name.as_str(), "outage");
    assert_eq!(b.content, content("Outage", 5));
    assert_eq!((b.created_at, b.updated_at), (T0, T0));
    let a = ok(
        s.create_template(&name("a-welcome"), &content("Welcome", 1), T0 + 1)
            .await,
        "a",
    );
    assert_eq!(
        s.create_template(&name("outage"), &content("Other", 2), T0 + 2)
            .await,
        Err(StoreError::Conflict(TEMPLATE_NAME_KEY))
    );
    let names: Vec<_> = ok(s.templates().await, "list")
        .into_iter()
        .map(|t| t.name.as_str().to_owned())
        .collect();
    assert_eq!(names, vec!["a-welcome", "outage"], "by name, no duplicate");
    assert_eq!(ok(s.template(b.id).await, "read"), Some(b.clone()));
    assert_eq!(
        ok(s.template(TemplateId(b.id.0 + 999)).await, "missing"),
        None
    );

    assert_eq!(
        s.update_template(a.id, &name("outage"), &content("x", 1), T0 + 3)
            .await,
        Err(StoreError::Conflict(TEMPLATE_NAME_KEY))
    );
    let a2 = ok(
        s.update_template(a.id, &name("welcome"), &content("Hello", 4), T0 + 4)
            .await,
        "rename",
    );
    assert_eq!(
        (a2.id, a2.name.as_str(), a2.created_at, a2.updated_at),
        (a.id, "welcome", T0 + 1, T0 + 4)
    );
    assert_eq!(ok(s.template(a.id).await, "reread"), Some(a2.clone()));
    assert_eq!(
        s.update_template(TemplateId(a.id.0 + 999), &name("zz"), &content("x", 1), T0)
            .await
            .map(|t| t.id),
        Err(StoreError::NotFound("template"))
    );

    let sent = ok(
        s.create_broadcast(&broadcast(Audience::All, Some(b.id), None, T0 + 5))
            .await,
        "broadcast",
    );
    ok(s.delete_template(b.id).await, "delete");
    assert_eq!(
        s.delete_template(b.id).await,
        Err(StoreError::NotFound("template"))
    );
    assert_eq!(ok(s.template(b.id).await, "gone"), None);
    let page = ok(
        s.broadcasts(PageRequest {
            limit: 5,
            after: None,
        })
        .await,
        "broadcasts",
    );
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, sent.id);
    assert_eq!(page.items[0].new.template, None, "the link is cleared");
    assert_eq!(
        page.items[0].new.content, sent.new.content,
        "the copy stays"
    );
}

/// A broadcast is created queued (counts 0) with every field round-tripping; unknown template
/// or admin is `NotFound` and writes nothing; the list is newest first (ties by id desc) in
/// keyset pages; the first mark stores the counts, a second mark is a no-op (`false`).
pub async fn broadcasts_page_newest_first_and_mark_once<S: NotificationAdminStores>(s: &S) {
    let root = admin(s).await;
    let t = ok(
        s.create_template(&name("t"), &content("T", 4), T0).await,
        "template",
    );
    let plan = [
        (Audience::All, T0),
        (Audience::Premium, T0 + MIN),
        (Audience::Topics("cl_0123456789abcdef".into()), T0 + MIN),
        (Audience::Free, T0 + 2 * MIN),
        (Audience::Pro, T0 - MIN),
    ];
    let mut ids = Vec::new();
    for (aud, at) in &plan {
        let new = broadcast(aud.clone(), Some(t.id), Some(root), *at);
        let row = ok(s.create_broadcast(&new).await, "create");
        assert_eq!(row.new, new);
        assert_eq!(row.counts, BroadcastCounts::default(), "queued");
        ids.push(row.id);
    }
    assert_eq!(
        s.create_broadcast(&broadcast(
            Audience::All,
            Some(TemplateId(t.id.0 + 999)),
            None,
            T0
        ))
        .await
        .map(|b| b.id),
        Err(StoreError::NotFound("template"))
    );
    assert_eq!(
        s.create_broadcast(&broadcast(
            Audience::All,
            None,
            Some(UserId(root.0 + 999)),
            T0
        ))
        .await
        .map(|b| b.id),
        Err(StoreError::NotFound("user"))
    );
    assert!(matches!(
        s.create_broadcast(&broadcast(Audience::All, None, None, MAX_EXACT_INT + 1))
            .await,
        Err(StoreError::Invalid(_))
    ));

    let want = vec![ids[3], ids[2], ids[1], ids[0], ids[4]];
    let mut got = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..5 {
        let page = ok(s.broadcasts(PageRequest { limit: 2, after }).await, "page");
        got.extend(page.items.iter().map(|b| b.id));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(
        got, want,
        "newest first, ties by id desc, nothing twice or lost"
    );
    assert!(matches!(
        s.broadcasts(PageRequest {
            limit: 0,
            after: None
        })
        .await,
        Err(StoreError::Invalid(_))
    ));

    let counts = BroadcastCounts {
        recipients: 7,
        sent: 6,
        failed: 1,
    };
    assert_eq!(s.mark_broadcast_sent(ids[0], counts).await, Ok(true));
    let again = BroadcastCounts {
        recipients: 9,
        sent: 9,
        failed: 0,
    };
    assert_eq!(
        s.mark_broadcast_sent(ids[0], again).await,
        Ok(false),
        "a second mark is a no-op"
    );
    assert_eq!(
        s.mark_broadcast_sent(BroadcastId(ids[4].0 + 999), counts)
            .await,
        Err(StoreError::NotFound("broadcast"))
    );
    let page = ok(
        s.broadcasts(PageRequest {
            limit: 10,
            after: None,
        })
        .await,
        "all",
    );
    assert_eq!(page.next, None);
    let marked = page.items.iter().find(|b| b.id == ids[0]).expect("listed");
    assert_eq!(marked.counts, counts, "the first mark's counts stay");
    let other = page.items.iter().find(|b| b.id == ids[1]).expect("listed");
    assert_eq!(other.counts, BroadcastCounts::default());
}

/// `due(now)` is the scheduled rows with `send_at <= now`, oldest first, capped by `limit`;
/// a claim is compare-and-set on the `send_at` read: one of two claims wins, a stale one
/// loses; a repeat keeps the row scheduled at its next time; cancel works once and a
/// cancelled row is never due.
pub async fn schedules_are_claimed_once<S: NotificationAdminStores>(s: &S) {
    let root = admin(s).await;
    let late = ok(
        s.create_schedule(&schedule(T0 + 60 * MIN, Some(root)))
            .await,
        "late",
    );
    let first = ok(s.create_schedule(&schedule(T0, None)).await, "first");
    let second = ok(
        s.create_schedule(&schedule(T0 + 5 * MIN, None)).await,
        "second",
    );
    let gone = ok(
        s.create_schedule(&schedule(T0 + MIN, None)).await,
        "cancelled",
    );
    assert_eq!(first.new, schedule(T0, None), "fields round-trip");
    assert_eq!(
        (first.status, first.sent_at),
        (ScheduleStatus::Scheduled, None)
    );
    assert_eq!(
        s.create_schedule(&schedule(T0, Some(UserId(root.0 + 999))))
            .await
            .map(|x| x.id),
        Err(StoreError::NotFound("user"))
    );

    assert_eq!(s.cancel_schedule(gone.id).await, Ok(true));
    assert_eq!(s.cancel_schedule(gone.id).await, Ok(false), "cancel once");
    assert_eq!(
        s.cancel_schedule(ScheduleId(late.id.0 + 999)).await,
        Err(StoreError::NotFound("schedule"))
    );

    let now = T0 + 10 * MIN;
    let due: Vec<_> = ok(s.due_schedules(now, 10).await, "due")
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(
        due,
        vec![first.id, second.id],
        "oldest first, no cancelled, no future"
    );
    assert_eq!(ok(s.due_schedules(now, 1).await, "one").len(), 1);
    assert!(matches!(
        s.due_schedules(now, 0).await,
        Err(StoreError::Invalid(_))
    ));

    let once = ScheduleClaim {
        expected_send_at: T0,
        now,
        next_send_at: None,
    };
    assert_eq!(s.claim_schedule(first.id, once).await, Ok(true));
    assert_eq!(
        s.claim_schedule(first.id, once).await,
        Ok(false),
        "the second run does not take it"
    );
    let stale = ScheduleClaim {
        expected_send_at: T0,
        now,
        next_send_at: None,
    };
    assert_eq!(
        s.claim_schedule(second.id, stale).await,
        Ok(false),
        "stale send_at"
    );
    let early = ScheduleClaim {
        expected_send_at: T0 + 60 * MIN,
        now,
        next_send_at: None,
    };
    assert_eq!(s.claim_schedule(late.id, early).await, Ok(false), "not due");
    let cancelled = ScheduleClaim {
        expected_send_at: T0 + MIN,
        now,
        next_send_at: None,
    };
    assert_eq!(s.claim_schedule(gone.id, cancelled).await, Ok(false));

    let day = 24 * 60 * MIN;
    let repeat = ScheduleClaim {
        expected_send_at: T0 + 5 * MIN,
        now,
        next_send_at: Some(T0 + 5 * MIN + day),
    };
    assert_eq!(s.claim_schedule(second.id, repeat).await, Ok(true));
    assert_eq!(s.claim_schedule(second.id, repeat).await, Ok(false));
    assert!(matches!(
        s.claim_schedule(
            second.id,
            ScheduleClaim {
                expected_send_at: T0 + 5 * MIN + day,
                now,
                next_send_at: Some(T0),
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        ok(s.due_schedules(now, 10).await, "after").len(),
        0,
        "claimed rows are no longer due"
    );

    let all = ok(s.schedules().await, "list");
    let by_id = |id| all.iter().find(|x| x.id == id).expect("listed");
    assert_eq!(
        (by_id(first.id).status, by_id(first.id).sent_at),
        (ScheduleStatus::Sent, Some(now))
    );
    let rep = by_id(second.id);
    assert_eq!(
        (rep.status, rep.new.send_at, rep.sent_at),
        (ScheduleStatus::Scheduled, T0 + 5 * MIN + day, Some(now))
    );
    assert_eq!(by_id(gone.id).status, ScheduleStatus::Cancelled);
    assert_eq!(by_id(late.id).new.created_by, Some(root));
    let order: Vec<_> = all.iter().map(|x| x.id).collect();
    assert_eq!(
        order,
        vec![first.id, gone.id, late.id, second.id],
        "by send_at"
    );
    let next_day: Vec<_> = ok(s.due_schedules(T0 + 5 * MIN + day, 10).await, "next day")
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(next_day, vec![late.id, second.id]);
}
