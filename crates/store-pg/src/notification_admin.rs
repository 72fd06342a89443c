//! [`NotificationAdminStore`] over Postgres. Every write is one statement: the unique index
//! keeps template names unique, the broadcast mark is `UPDATE … WHERE` all counts are 0, the
//! schedule claim `UPDATE … WHERE status = 'scheduled' AND send_at = $expected AND send_at <=
//! $now`, so concurrent callers are serialised by the row lock and only one sees a change.
//! A failed foreign key is named by one probe after the failure.

use crate::rows::{limit_of, named as get, returned};
use crate::{Param, PgStore};
use cl_app::ports::notification_admin::{
    check_page, page_of, Audience, BroadcastCounts, BroadcastId, NewBroadcast, NewSchedule,
    NoticeBody, NoticeContent, NoticeTags, NoticeTitle, NotificationAdminStore, ScheduleClaim,
    ScheduleId, ScheduleStatus, StoredBroadcast, StoredSchedule, StoredTemplate, TemplateId,
    TemplateName, TEMPLATE_NAME_KEY,
};
use cl_app::ports::notifications::NotifyPriority;
use cl_app::ports::{exact_int, Cursor, Page, PageRequest, StoreError, UserId};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const TEMPLATE_COLS: &str = "id, name, title, body, priority, tags, created_at, updated_at";
const BROADCAST_COLS: &str = "id, audience, topics, template_id, title, body, priority, tags, \
recipients, sent_count, failed_count, created_by, created_at";
const SCHEDULE_COLS: &str = "id, send_at, status, audience, topics, template_id, title, body, \
priority, tags, created_by, created_at, sent_at";

fn content(row: &Row, table: &'static str) -> Result<NoticeContent, StoreError> {
    let bad =
        |e: cl_app::ports::notification_admin::NoticeError| StoreError::corrupt(table, None, e);
    let title: String = get(row, table, "title")?;
    let body: String = get(row, table, "body")?;
    let tags: String = get(row, table, "tags")?;
    Ok(NoticeContent {
        title: NoticeTitle::parse(&title).map_err(bad)?,
        body: NoticeBody::parse(&body).map_err(bad)?,
        priority: NotifyPriority::new(get(row, table, "priority")?)
            .map_err(|e| StoreError::corrupt(table, None, e))?,
        tags: NoticeTags::parse(&tags).map_err(bad)?,
    })
}

fn audience(row: &Row, table: &'static str) -> Result<Audience, StoreError> {
    let word: String = get(row, table, "audience")?;
    let topics: Option<String> = get(row, table, "topics")?;
    Audience::parse(&word, topics.as_deref()).map_err(|e| StoreError::corrupt(table, None, e))
}

fn template_row(row: &Row) -> Result<StoredTemplate, StoreError> {
    const T: &str = "notification_templates";
    let name: String = get(row, T, "name")?;
    Ok(StoredTemplate {
        id: TemplateId(get(row, T, "id")?),
        name: TemplateName::parse(&name).map_err(|e| StoreError::corrupt(T, None, e))?,
        content: content(row, T)?,
        created_at: get(row, T, "created_at")?,
        updated_at: get(row, T, "updated_at")?,
    })
}

fn count(row: &Row, table: &'static str, col: &str) -> Result<u32, StoreError> {
    let v: i64 = get(row, table, col)?;
    u32::try_from(v).map_err(|e| StoreError::corrupt(table, None, e))
}

fn broadcast_row(row: &Row) -> Result<StoredBroadcast, StoreError> {
    const T: &str = "broadcast_notifications";
    Ok(StoredBroadcast {
        id: BroadcastId(get(row, T, "id")?),
        new: NewBroadcast {
            audience: audience(row, T)?,
            template: get::<Option<i64>>(row, T, "template_id")?.map(TemplateId),
            content: content(row, T)?,
            created_by: get::<Option<i64>>(row, T, "created_by")?.map(UserId),
            created_at: get(row, T, "created_at")?,
        },
        counts: BroadcastCounts {
            recipients: count(row, T, "recipients")?,
            sent: count(row, T, "sent_count")?,
            failed: count(row, T, "failed_count")?,
        },
    })
}

fn schedule_row(row: &Row) -> Result<StoredSchedule, StoreError> {
    const T: &str = "scheduled_notifications";
    let status: String = get(row, T, "status")?;
    Ok(StoredSchedule {
        id: ScheduleId(get(row, T, "id")?),
        new: NewSchedule {
            send_at: get(row, T, "send_at")?,
            audience: audience(row, T)?,
            template: get::<Option<i64>>(row, T, "template_id")?.map(TemplateId),
            content: content(row, T)?,
            created_by: get::<Option<i64>>(row, T, "created_by")?.map(UserId),
            created_at: get(row, T, "created_at")?,
        },
        status: ScheduleStatus::parse(&status).map_err(|e| StoreError::corrupt(T, None, e))?,
        sent_at: get(row, T, "sent_at")?,
    })
}

fn name_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict(TEMPLATE_NAME_KEY),
        other => other,
    }
}

impl PgStore<'_> {
    /// Inserts one notice row (broadcast or schedule) and reads it back; a foreign-key failure
    /// names the missing template or author.
    async fn insert_notice<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        template: Option<TemplateId>,
        f: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.query(sql, params).await {
            Ok(rows) => returned(&rows, f, "insert returned no row"),
            Err(StoreError::NotFound(_)) => Err(self.missing_notice_ref(template).await),
            Err(e) => Err(e),
        }
    }

    /// Names the missing reference after a foreign key failed.
    async fn missing_notice_ref(&self, template: Option<TemplateId>) -> StoreError {
        if let Some(t) = template {
            match self
                .query(
                    "SELECT 1 FROM notification_templates WHERE id = $1",
                    &[(&t.0, Type::INT8)],
                )
                .await
            {
                Ok(rows) if rows.is_empty() => return StoreError::NotFound("template"),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
        StoreError::NotFound("user")
    }
}

impl NotificationAdminStore for PgStore<'_> {
    async fn create_template(
        &self,
        name: &TemplateName,
        c: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        exact_int("created_at", now)?;
        let priority = i64::from(c.priority.get());
        let rows = self
            .query(
                &format!(
                    "INSERT INTO notification_templates \
                     (name, title, body, priority, tags, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {TEMPLATE_COLS}"
                ),
                &[
                    (&name.as_str(), Type::TEXT),
                    (&c.title.as_str(), Type::TEXT),
                    (&c.body.as_str(), Type::TEXT),
                    (&priority, Type::INT8),
                    (&c.tags.as_str(), Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await
            .map_err(name_conflict)?;
        returned(&rows, template_row, "insert returned no row")
    }

    async fn template(&self, id: TemplateId) -> Result<Option<StoredTemplate>, StoreError> {
        self.opt(
            &format!("SELECT {TEMPLATE_COLS} FROM notification_templates WHERE id = $1"),
            &[(&id.0, Type::INT8)],
            template_row,
        )
        .await
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        // COLLATE "C": byte order, as SQLite and the memory store compare.
        self.all(
            &format!(
                "SELECT {TEMPLATE_COLS} FROM notification_templates ORDER BY name COLLATE \"C\""
            ),
            &[],
            template_row,
        )
        .await
    }

    async fn update_template(
        &self,
        id: TemplateId,
        name: &TemplateName,
        c: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        exact_int("updated_at", now)?;
        let priority = i64::from(c.priority.get());
        let rows = self
            .query(
                &format!(
                    "UPDATE notification_templates SET name = $2, title = $3, body = $4, \
                     priority = $5, tags = $6, updated_at = $7 WHERE id = $1 \
                     RETURNING {TEMPLATE_COLS}"
                ),
                &[
                    (&id.0, Type::INT8),
                    (&name.as_str(), Type::TEXT),
                    (&c.title.as_str(), Type::TEXT),
                    (&c.body.as_str(), Type::TEXT),
                    (&priority, Type::INT8),
                    (&c.tags.as_str(), Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await
            .map_err(name_conflict)?;
        rows.first()
            .map(template_row)
            .unwrap_or(Err(StoreError::NotFound("template")))
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM notification_templates WHERE id = $1 RETURNING id",
                &[(&id.0, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("template"));
        }
        Ok(())
    }

    async fn create_broadcast(&self, new: &NewBroadcast) -> Result<StoredBroadcast, StoreError> {
        new.validate()?;
        let c = &new.content;
        let priority = i64::from(c.priority.get());
        let template = new.template.map(|t| t.0);
        let by = new.created_by.map(|u| u.0);
        self.insert_notice(
            &format!(
                "INSERT INTO broadcast_notifications (audience, topics, template_id, title, \
                     body, priority, tags, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {BROADCAST_COLS}"
            ),
            &[
                (&new.audience.as_str(), Type::TEXT),
                (&new.audience.topics(), Type::TEXT),
                (&template, Type::INT8),
                (&c.title.as_str(), Type::TEXT),
                (&c.body.as_str(), Type::TEXT),
                (&priority, Type::INT8),
                (&c.tags.as_str(), Type::TEXT),
                (&by, Type::INT8),
                (&new.created_at, Type::INT8),
            ],
            new.template,
            broadcast_row,
        )
        .await
    }

    async fn broadcasts(&self, page: PageRequest) -> Result<Page<StoredBroadcast>, StoreError> {
        check_page(page)?;
        let (ts, id) = page.after.map_or((i64::MAX, i64::MAX), |c| (c.ts, c.id));
        let take = i64::from(page.limit) + 1;
        let items = self
            .all(
                &format!(
                    "SELECT {BROADCAST_COLS} FROM broadcast_notifications \
                     WHERE (created_at, id) < ($1, $2) \
                     ORDER BY created_at DESC, id DESC LIMIT $3"
                ),
                &[(&ts, Type::INT8), (&id, Type::INT8), (&take, Type::INT8)],
                broadcast_row,
            )
            .await?;
        Ok(page_of(items, page.limit, |b| Cursor {
            ts: b.new.created_at,
            id: b.id.0,
        }))
    }

    async fn mark_broadcast_sent(
        &self,
        id: BroadcastId,
        counts: BroadcastCounts,
    ) -> Result<bool, StoreError> {
        let (r, s, f) = (
            i64::from(counts.recipients),
            i64::from(counts.sent),
            i64::from(counts.failed),
        );
        // One statement: the update if still queued, else whether the row exists.
        self.guarded_update(
            "UPDATE broadcast_notifications \
             SET recipients = $2, sent_count = $3, failed_count = $4 \
             WHERE id = $1 AND recipients = 0 AND sent_count = 0 AND failed_count = 0",
            "broadcast_notifications",
            "broadcast",
            &[
                (&id.0, Type::INT8),
                (&r, Type::INT8),
                (&s, Type::INT8),
                (&f, Type::INT8),
            ],
        )
        .await
    }

    async fn create_schedule(&self, new: &NewSchedule) -> Result<StoredSchedule, StoreError> {
        new.validate()?;
        let c = &new.content;
        let priority = i64::from(c.priority.get());
        let template = new.template.map(|t| t.0);
        let by = new.created_by.map(|u| u.0);
        self.insert_notice(
            &format!(
                "INSERT INTO scheduled_notifications (send_at, status, audience, topics, \
                     template_id, title, body, priority, tags, created_by, created_at) \
                     VALUES ($1, 'scheduled', $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     RETURNING {SCHEDULE_COLS}"
            ),
            &[
                (&new.send_at, Type::INT8),
                (&new.audience.as_str(), Type::TEXT),
                (&new.audience.topics(), Type::TEXT),
                (&template, Type::INT8),
                (&c.title.as_str(), Type::TEXT),
                (&c.body.as_str(), Type::TEXT),
                (&priority, Type::INT8),
                (&c.tags.as_str(), Type::TEXT),
                (&by, Type::INT8),
                (&new.created_at, Type::INT8),
            ],
            new.template,
            schedule_row,
        )
        .await
    }

    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        self.all(
            &format!("SELECT {SCHEDULE_COLS} FROM scheduled_notifications ORDER BY send_at, id"),
            &[],
            schedule_row,
        )
        .await
    }

    async fn cancel_schedule(&self, id: ScheduleId) -> Result<bool, StoreError> {
        self.guarded_update(
            "UPDATE scheduled_notifications SET status = 'cancelled' \
             WHERE id = $1 AND status = 'scheduled'",
            "scheduled_notifications",
            "schedule",
            &[(&id.0, Type::INT8)],
        )
        .await
    }

    async fn due_schedules(&self, now: i64, limit: u32) -> Result<Vec<StoredSchedule>, StoreError> {
        exact_int("now", now)?;
        let limit = limit_of(limit)?;
        self.all(
            &format!(
                "SELECT {SCHEDULE_COLS} FROM scheduled_notifications \
                 WHERE status = 'scheduled' AND send_at <= $1 ORDER BY send_at, id LIMIT $2"
            ),
            &[(&now, Type::INT8), (&limit, Type::INT8)],
            schedule_row,
        )
        .await
    }

    async fn claim_schedule(
        &self,
        id: ScheduleId,
        claim: ScheduleClaim,
    ) -> Result<bool, StoreError> {
        claim.validate()?;
        let rows = self
            .query(
                "UPDATE scheduled_notifications SET sent_at = $3, \
                 send_at = COALESCE($4, send_at), \
                 status = CASE WHEN $4::BIGINT IS NULL THEN 'sent' ELSE 'scheduled' END \
                 WHERE id = $1 AND status = 'scheduled' AND send_at = $2 AND send_at <= $3 \
                 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&claim.expected_send_at, Type::INT8),
                    (&claim.now, Type::INT8),
                    (&claim.next_send_at, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
