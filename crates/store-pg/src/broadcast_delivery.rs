//! [`BroadcastDeliveryStore`] over Postgres (migration 0012). Every call is ONE statement:
//! - the audience is one `SELECT` with the tier rule of the eligibility query (same CASE);
//! - a schedule starts with one `WITH claimed AS (UPDATE … RETURNING …) INSERT … SELECT`: the
//!   claim and the broadcast commit together, and the row lock serialises a concurrent cancel;
//! - recipients are one `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING`;
//! - claims are `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` with a lease column,
//!   finishes conditional on `status = 'queued'`.

use crate::rows::limit_of;
use crate::PgStore;
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
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

const T: &str = "broadcast_notifications";

const AUDIENCE: &str = "\
SELECT u.id, u.ntfy_topic FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
WHERE u.is_active AND u.is_verified AND u.notify_enabled
  AND ($2::TEXT IS NULL OR $2 = CASE WHEN u.is_admin THEN 'premium'
         WHEN s.id IS NULL THEN 'free'
         WHEN (s.status IN ('active', 'expired')
                 AND (s.expires_at IS NULL OR $1 <= s.expires_at + 259200000))
           OR (s.status = 'cancelled' AND (s.expires_at IS NULL OR $1 <= s.expires_at))
           THEN CASE s.plan WHEN 'pro' THEN 'pro' ELSE 'premium' END
         ELSE 'free' END)
ORDER BY u.id";

const START: &str = "\
WITH claimed AS (
  UPDATE scheduled_notifications SET status = 'sent', sent_at = $3
  WHERE id = $1 AND status = 'scheduled' AND send_at = $2 AND send_at <= $3
  RETURNING id, audience, topics, template_id, title, body, priority, tags, created_by)
INSERT INTO broadcast_notifications (audience, topics, template_id, title, body, priority, tags,
    created_by, created_at, schedule_id)
SELECT audience, topics, template_id, title, body, priority, tags, created_by, $3, id FROM claimed
ON CONFLICT (schedule_id) DO NOTHING
RETURNING id";

const SIGNAL_BROADCAST: &str = "\
INSERT INTO broadcast_notifications (audience, topics, title, body, priority, tags, created_by,
    created_at, signal_id)
VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)
ON CONFLICT (signal_id) DO NOTHING
RETURNING id";

const OPEN: &str = "\
SELECT id, status, audience, topics, title, body, priority, tags, schedule_id, created_at
FROM broadcast_notifications WHERE status IN ('queued', 'sending') ORDER BY id LIMIT $1";

const QUEUE: &str = "\
INSERT INTO broadcast_deliveries (broadcast_id, user_id, topic, created_at)
SELECT $1, r.user_id, r.topic, $4 FROM unnest($2::BIGINT[], $3::TEXT[]) AS r (user_id, topic)
ON CONFLICT (broadcast_id, topic) DO NOTHING";

const MARK_SENDING: &str = "\
UPDATE broadcast_notifications SET status = 'sending',
    recipients = (SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = $1)
WHERE id = $1 AND status = 'queued' RETURNING id";

const CLAIM: &str = "\
UPDATE broadcast_deliveries SET claimed_until = $3, attempts = attempts + 1
WHERE id IN (SELECT id FROM broadcast_deliveries
    WHERE broadcast_id = $1 AND status = 'queued' AND (claimed_until IS NULL OR claimed_until <= $2)
    ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
  AND status = 'queued' AND (claimed_until IS NULL OR claimed_until <= $2)
RETURNING id, topic, attempts";

const FINISH: &str = "\
UPDATE broadcast_deliveries SET status = $2, error = $3, claimed_until = NULL,
    sent_at = CASE WHEN $2 = 'queued' THEN sent_at ELSE $4 END
WHERE id = $1 AND status = 'queued' RETURNING id";

const FINISH_BROADCAST: &str = "\
UPDATE broadcast_notifications b SET status = 'done',
    recipients = (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id),
    sent_count = (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'sent'),
    failed_count = (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'failed')
WHERE b.id = $1 AND b.status = 'sending'
  AND NOT EXISTS (SELECT 1 FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'queued')
RETURNING b.id";

const SUMMARIES: &str = "\
SELECT b.id, b.status, b.audience, b.topics, b.title, b.schedule_id, b.signal_id, b.created_at,
    (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) AS n_all,
    (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'sent') AS n_sent,
    (SELECT count(*) FROM broadcast_deliveries d
        WHERE d.broadcast_id = b.id AND d.status = 'failed') AS n_failed
FROM broadcast_notifications b ORDER BY b.created_at DESC, b.id DESC LIMIT $1";

fn get<'r, V: FromSql<'r>>(row: &'r Row, col: &str) -> Result<V, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(T, row.try_get::<_, i64>("id").ok(), e))
}

fn bad<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::corrupt(T, None, e)
}

fn audience(row: &Row) -> Result<Audience, StoreError> {
    let word: String = get(row, "audience")?;
    let topics: Option<String> = get(row, "topics")?;
    Audience::parse(&word, topics.as_deref()).map_err(bad)
}

fn state(row: &Row) -> Result<BroadcastState, StoreError> {
    let s: String = get(row, "status")?;
    BroadcastState::parse(&s).map_err(bad)
}

fn count(row: &Row, col: &str) -> Result<u32, StoreError> {
    let v: i64 = get(row, col)?;
    u32::try_from(v).map_err(bad)
}

fn open_row(row: &Row) -> Result<OpenBroadcast, StoreError> {
    let title: String = get(row, "title")?;
    let body: String = get(row, "body")?;
    let tags: String = get(row, "tags")?;
    Ok(OpenBroadcast {
        id: BroadcastId(get(row, "id")?),
        state: state(row)?,
        audience: audience(row)?,
        content: NoticeContent {
            title: NoticeTitle::parse(&title).map_err(bad)?,
            body: NoticeBody::parse(&body).map_err(bad)?,
            priority: NotifyPriority::new(get(row, "priority")?).map_err(bad)?,
            tags: NoticeTags::parse(&tags).map_err(bad)?,
        },
        schedule: get::<Option<i64>>(row, "schedule_id")?.map(ScheduleId),
        created_at: get(row, "created_at")?,
    })
}

impl BroadcastDeliveryStore for PgStore<'_> {
    async fn audience_users(
        &self,
        tier: Option<Tier>,
        now: i64,
    ) -> Result<Vec<Recipient>, StoreError> {
        exact_int("now", now)?;
        let tier = tier.map(Tier::as_str);
        let rows = self
            .query(AUDIENCE, &[(&now, Type::INT8), (&tier, Type::TEXT)])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Recipient {
                    user: Some(UserId(get(r, "id")?)),
                    topic: get(r, "ntfy_topic")?,
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
        let rows = self
            .query(
                START,
                &[
                    (&id.0, Type::INT8),
                    (&expected_send_at, Type::INT8),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(|r| get::<i64>(r, "id").map(BroadcastId))
            .transpose()
    }

    async fn open_broadcasts(&self, limit: u32) -> Result<Vec<OpenBroadcast>, StoreError> {
        let limit = limit_of(limit)?;
        self.all(OPEN, &[(&limit, Type::INT8)], open_row).await
    }

    async fn queue_deliveries(
        &self,
        id: BroadcastId,
        recipients: &[Recipient],
        now: i64,
    ) -> Result<u64, StoreError> {
        check_recipients(recipients, now)?;
        let users: Vec<Option<i64>> = recipients.iter().map(|r| r.user.map(|u| u.0)).collect();
        let topics: Vec<String> = recipients.iter().map(|r| r.topic.clone()).collect();
        let result = self
            .query(
                &format!("{QUEUE} RETURNING id"),
                &[
                    (&id.0, Type::INT8),
                    (&users, Type::INT8_ARRAY),
                    (&topics, Type::TEXT_ARRAY),
                    (&now, Type::INT8),
                ],
            )
            .await;
        match result {
            Ok(rows) => Ok(rows.len() as u64),
            Err(StoreError::NotFound(_)) => Err(StoreError::NotFound("broadcast")),
            Err(e) => Err(e),
        }
    }

    async fn mark_sending(&self, id: BroadcastId) -> Result<bool, StoreError> {
        let rows = self.query(MARK_SENDING, &[(&id.0, Type::INT8)]).await?;
        Ok(!rows.is_empty())
    }

    async fn claim_deliveries(
        &self,
        id: BroadcastId,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        exact_int("now", now)?;
        exact_int("claimed_until", until)?;
        let limit = limit_of(limit)?;
        let rows = self
            .query(
                CLAIM,
                &[
                    (&id.0, Type::INT8),
                    (&now, Type::INT8),
                    (&until, Type::INT8),
                    (&limit, Type::INT8),
                ],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(ClaimedDelivery {
                    id: DeliveryId(get(r, "id")?),
                    topic: get(r, "topic")?,
                    attempts: count(r, "attempts")?,
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
        exact_int("sent_at", now)?;
        let (status, error) = result_parts(result);
        let rows = self
            .query(
                FINISH,
                &[
                    (&id.0, Type::INT8),
                    (&status, Type::TEXT),
                    (&error, Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn finish_broadcast(&self, id: BroadcastId) -> Result<bool, StoreError> {
        let rows = self.query(FINISH_BROADCAST, &[(&id.0, Type::INT8)]).await?;
        Ok(!rows.is_empty())
    }

    async fn queue_signal_broadcast(
        &self,
        signal: SignalId,
        new: &NewBroadcast,
    ) -> Result<Option<BroadcastId>, StoreError> {
        new.validate()?;
        exact_int("signal id", signal.0)?;
        let c = &new.content;
        let priority = i64::from(c.priority.get());
        let rows = self
            .query(
                SIGNAL_BROADCAST,
                &[
                    (&new.audience.as_str(), Type::TEXT),
                    (&new.audience.topics(), Type::TEXT),
                    (&c.title.as_str(), Type::TEXT),
                    (&c.body.as_str(), Type::TEXT),
                    (&priority, Type::INT8),
                    (&c.tags.as_str(), Type::TEXT),
                    (&new.created_at, Type::INT8),
                    (&signal.0, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(|r| get::<i64>(r, "id").map(BroadcastId))
            .transpose()
    }

    async fn broadcast_summaries(&self, limit: u32) -> Result<Vec<BroadcastSummary>, StoreError> {
        let limit = limit_of(limit)?;
        let rows = self.query(SUMMARIES, &[(&limit, Type::INT8)]).await?;
        rows.iter()
            .map(|r| {
                Ok(BroadcastSummary {
                    id: BroadcastId(get(r, "id")?),
                    state: state(r)?,
                    audience: audience(r)?,
                    title: get(r, "title")?,
                    schedule: get::<Option<i64>>(r, "schedule_id")?.map(ScheduleId),
                    signal: get::<Option<i64>>(r, "signal_id")?.map(SignalId),
                    recipients: count(r, "n_all")?,
                    sent: count(r, "n_sent")?,
                    failed: count(r, "n_failed")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }
}
