//! The delivery port of admin broadcasts and scheduled notifications (product.md §5, §9;
//! migration 0012). The admin tables themselves are [`super::notification_admin`].
//!
//! Design (the "never sent twice" rules live in the statements, not in the caller):
//! - A due schedule becomes ONE broadcast ([`BroadcastDeliveryStore::start_schedule`]): the
//!   schedule's claim (`scheduled → sent`, compare-and-set on `send_at`) and the insert of its
//!   broadcast (unique `schedule_id`) happen in one atomic write, so a cancel either comes first
//!   (nothing is sent) or answers "no longer scheduled".
//! - A broadcast is `queued` until its recipients are written
//!   ([`BroadcastDeliveryStore::queue_deliveries`], insert-if-absent on `(broadcast, topic)`,
//!   so a retried expansion adds nothing twice), then `sending`
//!   ([`BroadcastDeliveryStore::mark_sending`], conditional), then `done`
//!   ([`BroadcastDeliveryStore::finish_broadcast`], once no row is queued).
//! - A delivery is claimed before its send ([`BroadcastDeliveryStore::claim_deliveries`]: a
//!   lease on the row, conditional on `queued` and no live lease) and finished by a
//!   conditional update. A failed try stays `queued` (error kept) until its last attempt.
//! - The pipeline's global-topic send of a signal is a broadcast too
//!   ([`BroadcastDeliveryStore::queue_signal_broadcast`], unique `signal_id`), so it follows
//!   the same rules and shows in the same admin list.

use super::notification_admin::{Audience, BroadcastId, NewBroadcast, NoticeContent, ScheduleId};
use super::{exact_int, SignalId, StoreError, UserId};
use crate::policy::Tier;

/// Most rows one write or claim handles (D1 binds at most 100 parameters; lists travel as JSON).
pub const MAX_DELIVERY_ROWS: usize = 100;

/// Id of a row of `broadcast_deliveries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(pub i64);

/// One recipient: a user's topic, or a bare topic (global or custom; no user).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Recipient {
    /// The user owning the topic.
    pub user: Option<UserId>,
    /// The ntfy topic (`[A-Za-z0-9_-]`, 1–64).
    pub topic: String,
}

/// Whether `t` is a storable ntfy topic.
pub fn topic_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// State of a broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastState {
    /// Recipients not written yet.
    Queued,
    /// Recipients written; deliveries going out.
    Sending,
    /// Every delivery finished.
    Done,
}

impl BroadcastState {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Done => "done",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        [Self::Queued, Self::Sending, Self::Done]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| cl_domain::UnknownVariant {
                kind: "broadcast status",
                value: s.chars().take(32).collect(),
            })
    }
}

/// A broadcast with work left (queued or sending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBroadcast {
    /// Id.
    pub id: BroadcastId,
    /// State (never `Done`).
    pub state: BroadcastState,
    /// Recipients.
    pub audience: Audience,
    /// Content.
    pub content: NoticeContent,
    /// The schedule it came from.
    pub schedule: Option<ScheduleId>,
    /// Creation time.
    pub created_at: i64,
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The row.
    pub id: DeliveryId,
    /// Topic.
    pub topic: String,
    /// Tries so far, this one included.
    pub attempts: u32,
}

/// How a delivery try ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Accepted by ntfy.
    Sent,
    /// Failed for good (last attempt or refused).
    Failed(String),
    /// Failed this time; stays queued for a later run (lease released).
    Retry(String),
}

/// A broadcast as the admin list shows it (counts live from the rows while sending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastSummary {
    /// Id.
    pub id: BroadcastId,
    /// State.
    pub state: BroadcastState,
    /// Recipients.
    pub audience: Audience,
    /// Title.
    pub title: String,
    /// The schedule it came from.
    pub schedule: Option<ScheduleId>,
    /// The signal it announces on the global topic (the pipeline's sends; admin ones `None`).
    pub signal: Option<SignalId>,
    /// Delivery rows.
    pub recipients: u32,
    /// Rows sent.
    pub sent: u32,
    /// Rows failed.
    pub failed: u32,
    /// Creation time.
    pub created_at: i64,
}

/// Longest stored delivery error.
pub const MAX_DELIVERY_ERROR: usize = 300;

/// The delivery tables of admin broadcasts.
#[allow(async_fn_in_trait)]
pub trait BroadcastDeliveryStore {
    /// Active, verified users with notifications on, by id; only `tier`'s users when given
    /// (the effective tier of product.md §1, admins premium). ONE statement.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn audience_users(
        &self,
        tier: Option<Tier>,
        now: i64,
    ) -> Result<Vec<Recipient>, StoreError>;

    /// Claims a due schedule (`scheduled`, `send_at = expected_send_at <= now` → `sent`) and
    /// creates its broadcast, atomically; the broadcast id for the one caller that wins.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn start_schedule(
        &self,
        id: ScheduleId,
        expected_send_at: i64,
        now: i64,
    ) -> Result<Option<BroadcastId>, StoreError>;

    /// Broadcasts that are queued or sending, oldest first, at most `limit`.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn open_broadcasts(&self, limit: u32) -> Result<Vec<OpenBroadcast>, StoreError>;

    /// Inserts the absent `(broadcast, topic)` rows as queued (at most
    /// [`MAX_DELIVERY_ROWS`]); returns how many were new.
    ///
    /// # Errors
    /// `Invalid`; `NotFound("broadcast")`; `Unavailable`.
    async fn queue_deliveries(
        &self,
        id: BroadcastId,
        recipients: &[Recipient],
        now: i64,
    ) -> Result<u64, StoreError>;

    /// `queued → sending`, recording the row count as recipients; false when not queued.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn mark_sending(&self, id: BroadcastId) -> Result<bool, StoreError>;

    /// Claims up to `limit` queued rows of a broadcast without a live lease (lease until
    /// `until`, one attempt counted), oldest first. ONE conditional statement.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn claim_deliveries(
        &self,
        id: BroadcastId,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Finishes a claimed try; false when the row is no longer queued.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn finish_delivery(
        &self,
        id: DeliveryId,
        result: &DeliveryResult,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// `sending → done` with the counts summed from the rows, when no row is queued; false
    /// otherwise.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn finish_broadcast(&self, id: BroadcastId) -> Result<bool, StoreError>;

    /// Queues the global-topic broadcast of a signal (the pipeline's firehose, migration 0013),
    /// insert-if-absent on the unique `signal_id`: its id when new, `None` when the signal
    /// already has one (a re-run or a double trigger adds nothing). ONE statement.
    ///
    /// # Errors
    /// `Invalid`; `NotFound("signal")`; `Unavailable`.
    async fn queue_signal_broadcast(
        &self,
        signal: SignalId,
        new: &NewBroadcast,
    ) -> Result<Option<BroadcastId>, StoreError>;

    /// The newest broadcasts first, at most `limit`.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn broadcast_summaries(&self, limit: u32) -> Result<Vec<BroadcastSummary>, StoreError>;
}

/// Checks a recipient list before any adapter writes it.
///
/// # Errors
/// [`StoreError::Invalid`].
pub fn check_recipients(recipients: &[Recipient], now: i64) -> Result<(), StoreError> {
    exact_int("created_at", now)?;
    if recipients.len() > MAX_DELIVERY_ROWS {
        return Err(StoreError::Invalid(
            "too many recipients in one write".into(),
        ));
    }
    for r in recipients {
        if !topic_ok(&r.topic) {
            return Err(StoreError::Invalid("topic not storable".into()));
        }
        if let Some(u) = r.user {
            exact_int("user id", u.0)?;
        }
    }
    Ok(())
}

/// The stored `(status, error)` of a try's result.
pub fn result_parts(r: &DeliveryResult) -> (&'static str, Option<String>) {
    let clip = |s: &str| s.chars().take(MAX_DELIVERY_ERROR).collect::<String>();
    match r {
        DeliveryResult::Sent => ("sent", None),
        DeliveryResult::Failed(e) => ("failed", Some(clip(e))),
        DeliveryResult::Retry(e) => ("queued", Some(clip(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_lists_are_checked() {
        assert!(topic_ok("cl_0123456789abcdef") && topic_ok("cryptolens-all"));
        assert!(!topic_ok("") && !topic_ok("a b") && !topic_ok(&"a".repeat(65)));
        let r = |t: &str| Recipient {
            user: None,
            topic: t.into(),
        };
        assert!(check_recipients(&[r("ok")], 1).is_ok());
        assert!(check_recipients(&[r("no/")], 1).is_err());
        assert!(check_recipients(&vec![r("a"); MAX_DELIVERY_ROWS + 1], 1).is_err());
        assert_eq!(
            BroadcastState::parse("sending"),
            Ok(BroadcastState::Sending)
        );
        assert!(BroadcastState::parse("x").is_err());
        assert_eq!(
            result_parts(&DeliveryResult::Retry("e".repeat(400)))
                .1
                .map(|e| e.len()),
            Some(MAX_DELIVERY_ERROR)
        );
    }
}
