//! [`BroadcastDeliveryStore`] over D1 (migration 0012). Each call is one statement or one
//! `batch()` (one serialised transaction):
//! - the audience is one `SELECT` with the tier rule of the eligibility query (same CASE);
//! - a schedule starts with ONE batch: the conditional claim `UPDATE`, then the broadcast
//!   `INSERT … SELECT` from the row only when it was just claimed (`sent_at = now`), with the
//!   unique `schedule_id` as the second guard; the claim's `meta.changes` says who won;
//! - recipients travel as ONE JSON parameter read with `json_each` (insert-if-absent on
//!   `(broadcast_id, topic)`), so the SQL is constant and the 100-parameter limit does not apply;
//! - a claim is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`, finishes are
//!   conditional on `status = 'queued'`.

use crate::values::{int, opt_text, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::policy::Tier;
use cl_app::ports::broadcast_delivery::{
    check_recipients, result_parts, BroadcastDeliveryStore, BroadcastState, BroadcastSummary,
    ClaimedDelivery, DeliveryId, DeliveryResult, OpenBroadcast, Recipient,
};
use cl_app::ports::notification_admin::{
    Audience, BroadcastId, NewBroadcast, NoticeBody, NoticeContent, NoticeTags, NoticeTitle,
    ScheduleClaim, ScheduleId,
};
use cl_app::ports::notifications::NotifyPriority;
use cl_app::ports::{exact_int, SignalId, StoreError, UserId};
use serde::Deserialize;

const BT: &str = "broadcast_notifications";
const DT: &str = "broadcast_deliveries";

const AUDIENCE: &str = "\
SELECT u.id AS id, u.ntfy_topic AS ntfy_topic FROM users u
LEFT JOIN subscriptions s ON s.user_id = u.id
WHERE u.is_active = 1 AND u.is_verified = 1 AND u.notify_enabled = 1
  AND (?2 IS NULL OR ?2 = CASE WHEN u.is_admin = 1 THEN 'premium'
         WHEN s.id IS NULL THEN 'free'
         WHEN (s.status IN ('active', 'expired')
                 AND (s.expires_at IS NULL OR ?1 <= s.expires_at + 259200000))
           OR (s.status = 'cancelled' AND (s.expires_at IS NULL OR ?1 <= s.expires_at))
           THEN CASE s.plan WHEN 'pro' THEN 'pro' ELSE 'premium' END
         ELSE 'free' END)
ORDER BY u.id";

const CLAIM_SCHEDULE: &str = "\
UPDATE scheduled_notifications SET status = 'sent', sent_at = ?3
WHERE id = ?1 AND status = 'scheduled' AND send_at = ?2 AND send_at <= ?3";

const SCHEDULE_BROADCAST: &str = "\
INSERT INTO broadcast_notifications (audience, topics, template_id, title, body, priority, tags,
    created_by, created_at, schedule_id)
SELECT audience, topics, template_id, title, body, priority, tags, created_by, ?2, id
FROM scheduled_notifications WHERE id = ?1 AND status = 'sent' AND sent_at = ?2
ON CONFLICT (schedule_id) DO NOTHING
RETURNING id";

const SIGNAL_BROADCAST: &str = "\
INSERT INTO broadcast_notifications (audience, topics, title, body, priority, tags, created_by,
    created_at, signal_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)
ON CONFLICT (signal_id) DO NOTHING
RETURNING id";

const OPEN: &str = "\
SELECT id, status, audience, topics, title, body, priority, tags, schedule_id, created_at
FROM broadcast_notifications WHERE status IN ('queued', 'sending') ORDER BY id LIMIT ?1";

/// `?2` = `[[user|null, topic], …]`.
const QUEUE: &str = "\
INSERT INTO broadcast_deliveries (broadcast_id, user_id, topic, created_at)
SELECT ?1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), ?3 FROM json_each(?2) j
WHERE true
ON CONFLICT (broadcast_id, topic) DO NOTHING";

const MARK_SENDING: &str = "\
UPDATE broadcast_notifications SET status = 'sending',
    recipients = (SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ?1)
WHERE id = ?1 AND status = 'queued'";

const CLAIM: &str = "\
UPDATE broadcast_deliveries SET claimed_until = ?3, attempts = attempts + 1
WHERE id IN (SELECT id FROM broadcast_deliveries
    WHERE broadcast_id = ?1 AND status = 'queued' AND (claimed_until IS NULL OR claimed_until <= ?2)
    ORDER BY id LIMIT ?4)
RETURNING id, topic, attempts";

const FINISH: &str = "\
UPDATE broadcast_deliveries SET status = ?2, error = ?3, claimed_until = NULL,
    sent_at = CASE WHEN ?2 = 'queued' THEN sent_at ELSE ?4 END
WHERE id = ?1 AND status = 'queued'";

const FINISH_BROADCAST: &str = "\
UPDATE broadcast_notifications SET status = 'done',
    recipients = (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = ?1),
    sent_count = (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = ?1 AND d.status = 'sent'),
    failed_count = (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = ?1 AND d.status = 'failed')
WHERE id = ?1 AND status = 'sending'
  AND NOT EXISTS (SELECT 1 FROM broadcast_deliveries d
        WHERE d.broadcast_id = ?1 AND d.status = 'queued')";

const SUMMARIES: &str = "\
SELECT b.id AS id, b.status AS status, b.audience AS audience, b.topics AS topics,
    b.title AS title, b.schedule_id AS schedule_id, b.signal_id AS signal_id,
    b.created_at AS created_at,
    (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) AS n_all,
    (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'sent') AS n_sent,
    (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'failed') AS n_failed
FROM broadcast_notifications b ORDER BY b.created_at DESC, b.id DESC LIMIT ?1";

#[derive(Deserialize)]
struct AudienceRow {
    id: f64,
    ntfy_topic: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: f64,
}

#[derive(Deserialize)]
struct OpenRow {
    id: f64,
    status: String,
    audience: String,
    topics: Option<String>,
    title: String,
    body: String,
    priority: f64,
    tags: String,
    schedule_id: Option<f64>,
    created_at: f64,
}

#[derive(Deserialize)]
struct ClaimRow {
    id: f64,
    topic: String,
    attempts: f64,
}

#[derive(Deserialize)]
struct SummaryRow {
    id: f64,
    status: String,
    audience: String,
    topics: Option<String>,
    title: String,
    schedule_id: Option<f64>,
    signal_id: Option<f64>,
    created_at: f64,
    n_all: f64,
    n_sent: f64,
    n_failed: f64,
}

fn bad<E: std::fmt::Display>(table: &'static str, id: i64) -> impl Fn(E) -> StoreError {
    move |e| StoreError::corrupt(table, Some(id), e)
}

fn n(table: &'static str, id: i64, what: &'static str, v: f64) -> Result<u32, StoreError> {
    u32::try_from(read_int(table, Some(id), what, v)?).map_err(bad(table, id))
}

fn limit_of(limit: u32) -> Result<u32, StoreError> {
    if limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    Ok(limit.min(1000))
}

impl TryFrom<OpenRow> for OpenBroadcast {
    type Error = StoreError;

    fn try_from(r: OpenRow) -> Result<Self, StoreError> {
        let id = read_int(BT, None, "id", r.id)?;
        Ok(OpenBroadcast {
            id: BroadcastId(id),
            state: BroadcastState::parse(&r.status).map_err(bad(BT, id))?,
            audience: Audience::parse(&r.audience, r.topics.as_deref()).map_err(bad(BT, id))?,
            content: NoticeContent {
                title: NoticeTitle::parse(&r.title).map_err(bad(BT, id))?,
                body: NoticeBody::parse(&r.body).map_err(bad(BT, id))?,
                priority: NotifyPriority::new(read_int(BT, Some(id), "priority", r.priority)?)
                    .map_err(bad(BT, id))?,
                tags: NoticeTags::parse(&r.tags).map_err(bad(BT, id))?,
            },
            schedule: read_opt_int(BT, Some(id), "schedule_id", r.schedule_id)?.map(ScheduleId),
            created_at: read_int(BT, Some(id), "created_at", r.created_at)?,
        })
    }
}

impl TryFrom<SummaryRow> for BroadcastSummary {
    type Error = StoreError;

    fn try_from(r: SummaryRow) -> Result<Self, StoreError> {
        let id = read_int(BT, None, "id", r.id)?;
        Ok(BroadcastSummary {
            id: BroadcastId(id),
            state: BroadcastState::parse(&r.status).map_err(bad(BT, id))?,
            audience: Audience::parse(&r.audience, r.topics.as_deref()).map_err(bad(BT, id))?,
            title: r.title,
            schedule: read_opt_int(BT, Some(id), "schedule_id", r.schedule_id)?.map(ScheduleId),
            signal: read_opt_int(BT, Some(id), "signal_id", r.signal_id)?.map(SignalId),
            recipients: n(BT, id, "recipients", r.n_all)?,
            sent: n(BT, id, "sent", r.n_sent)?,
            failed: n(BT, id, "failed", r.n_failed)?,
            created_at: read_int(BT, Some(id), "created_at", r.created_at)?,
        })
    }
}

impl BroadcastDeliveryStore for D1Store {
    async fn audience_users(
        &self,
        tier: Option<Tier>,
        now: i64,
    ) -> Result<Vec<Recipient>, StoreError> {
        let stmt = self.stmt(
            AUDIENCE,
            &[int("now", now)?, opt_text(tier.map(Tier::as_str))],
        )?;
        let res = self.exec(stmt, "user").await?;
        decode::<AudienceRow>("users", &res)?
            .into_iter()
            .map(|r| {
                Ok(Recipient {
                    user: Some(UserId(read_int("users", None, "id", r.id)?)),
                    topic: r.ntfy_topic,
                })
            })
            .collect()
    }

    async fn start_schedule(
        &self,
        id: ScheduleId,
        expected_send_at: i64,
        now: i64,
    ) -> Result<Option<BroadcastId>, StoreError> {
        ScheduleClaim {
            expected_send_at,
            now,
            next_send_at: None,
        }
        .validate()?;
        let claim = self.stmt(
            CLAIM_SCHEDULE,
            &[
                int("schedule id", id.0)?,
                int("send_at", expected_send_at)?,
                int("now", now)?,
            ],
        )?;
        let insert = self.stmt(
            SCHEDULE_BROADCAST,
            &[int("schedule id", id.0)?, int("now", now)?],
        )?;
        let res = self.batch(vec![claim, insert], "schedule").await?;
        let (Some(claimed), Some(inserted)) = (res.first(), res.get(1)) else {
            return Err(StoreError::Unavailable("d1 batch without results".into()));
        };
        if changes(claimed)? == 0 {
            return Ok(None);
        }
        decode::<IdRow>(BT, inserted)?
            .first()
            .map(|r| read_int(BT, None, "id", r.id).map(BroadcastId))
            .transpose()
    }

    async fn open_broadcasts(&self, limit: u32) -> Result<Vec<OpenBroadcast>, StoreError> {
        let stmt = self.stmt(OPEN, &[crate::values::count(limit_of(limit)?)])?;
        self.rows::<OpenRow, OpenBroadcast>(BT, stmt, "broadcast")
            .await
    }

    async fn queue_deliveries(
        &self,
        id: BroadcastId,
        recipients: &[Recipient],
        now: i64,
    ) -> Result<u64, StoreError> {
        check_recipients(recipients, now)?;
        if recipients.is_empty() {
            return Ok(0);
        }
        // Topics are `[A-Za-z0-9_-]` (checked above): no escaping is needed.
        let items: Vec<String> = recipients
            .iter()
            .map(|r| {
                let user = r
                    .user
                    .map_or_else(|| "null".to_owned(), |u| u.0.to_string());
                format!("[{user},\"{}\"]", r.topic)
            })
            .collect();
        let json = format!("[{}]", items.join(","));
        let stmt = self.stmt(
            QUEUE,
            &[int("broadcast id", id.0)?, text(&json), int("now", now)?],
        )?;
        let res = self.exec(stmt, "broadcast").await?;
        changes(&res)
    }

    async fn mark_sending(&self, id: BroadcastId) -> Result<bool, StoreError> {
        let stmt = self.stmt(MARK_SENDING, &[int("broadcast id", id.0)?])?;
        Ok(changes(&self.exec(stmt, "broadcast").await?)? > 0)
    }

    async fn claim_deliveries(
        &self,
        id: BroadcastId,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        exact_int("now", now)?;
        let stmt = self.stmt(
            CLAIM,
            &[
                int("broadcast id", id.0)?,
                int("now", now)?,
                int("claimed_until", until)?,
                crate::values::count(limit_of(limit)?),
            ],
        )?;
        let res = self.exec(stmt, "broadcast").await?;
        let mut out = decode::<ClaimRow>(DT, &res)?
            .into_iter()
            .map(|r| {
                let id = read_int(DT, None, "id", r.id)?;
                Ok(ClaimedDelivery {
                    id: DeliveryId(id),
                    topic: r.topic,
                    attempts: n(DT, id, "attempts", r.attempts)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        result: &DeliveryResult,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (status, error) = result_parts(result);
        let stmt = self.stmt(
            FINISH,
            &[
                int("delivery id", id.0)?,
                text(status),
                opt_text(error.as_deref()),
                int("sent_at", now)?,
            ],
        )?;
        Ok(changes(&self.exec(stmt, "delivery").await?)? > 0)
    }

    async fn finish_broadcast(&self, id: BroadcastId) -> Result<bool, StoreError> {
        let stmt = self.stmt(FINISH_BROADCAST, &[int("broadcast id", id.0)?])?;
        Ok(changes(&self.exec(stmt, "broadcast").await?)? > 0)
    }

    async fn queue_signal_broadcast(
        &self,
        signal: SignalId,
        new: &NewBroadcast,
    ) -> Result<Option<BroadcastId>, StoreError> {
        new.validate()?;
        let c = &new.content;
        let stmt = self.stmt(
            SIGNAL_BROADCAST,
            &[
                text(new.audience.as_str()),
                opt_text(new.audience.topics()),
                text(c.title.as_str()),
                text(c.body.as_str()),
                crate::values::count(u32::from(c.priority.get())),
                text(c.tags.as_str()),
                int("created_at", new.created_at)?,
                int("signal id", signal.0)?,
            ],
        )?;
        let res = self.exec(stmt, "signal").await?;
        decode::<IdRow>(BT, &res)?
            .first()
            .map(|r| read_int(BT, None, "id", r.id).map(BroadcastId))
            .transpose()
    }

    async fn broadcast_summaries(&self, limit: u32) -> Result<Vec<BroadcastSummary>, StoreError> {
        let stmt = self.stmt(SUMMARIES, &[crate::values::count(limit_of(limit)?)])?;
        self.rows::<SummaryRow, BroadcastSummary>(BT, stmt, "broadcast")
            .await
    }
}
