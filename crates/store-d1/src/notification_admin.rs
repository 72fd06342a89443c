//! [`NotificationAdminStore`] over D1. Each write is one statement (or one `batch()`, which
//! D1 runs as one serialised transaction): the unique index keeps template names unique, the
//! broadcast mark is `UPDATE … WHERE` all counts are 0 batched with an existence probe, the
//! schedule claim `UPDATE … WHERE status = 'scheduled' AND send_at = ?expected AND send_at <=
//! ?now` read through `meta.changes`, so only one caller sees a change. Integers go through
//! the exact-int helpers of [`crate::values`].

use crate::rows::FoundRow;
use crate::values::{count, int, opt_int, opt_text, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::ports::notification_admin::{
    check_page, page_of, Audience, BroadcastCounts, BroadcastId, NewBroadcast, NewSchedule,
    NoticeBody, NoticeContent, NoticeError, NoticeTags, NoticeTitle, NotificationAdminStore,
    ScheduleClaim, ScheduleId, ScheduleStatus, StoredBroadcast, StoredSchedule, StoredTemplate,
    TemplateId, TemplateName, TEMPLATE_NAME_KEY,
};
use cl_app::ports::notifications::NotifyPriority;
use cl_app::ports::{exact_int, Cursor, Page, PageRequest, StoreError, UserId, MAX_EXACT_INT};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

const TT: &str = "notification_templates";
const BT: &str = "broadcast_notifications";
const ST: &str = "scheduled_notifications";

const TEMPLATE_COLS: &str = "id, name, title, body, priority, tags, created_at, updated_at";
const BROADCAST_COLS: &str = "id, audience, topics, template_id, title, body, priority, tags, \
recipients, sent_count, failed_count, created_by, created_at";
const SCHEDULE_COLS: &str = "id, send_at, status, audience, topics, template_id, title, body, \
priority, tags, created_by, created_at, sent_at";

fn content(
    table: &'static str,
    id: Option<i64>,
    title: &str,
    body: &str,
    priority: f64,
    tags: &str,
) -> Result<NoticeContent, StoreError> {
    let bad = |e: NoticeError| StoreError::corrupt(table, id, e);
    Ok(NoticeContent {
        title: NoticeTitle::parse(title).map_err(bad)?,
        body: NoticeBody::parse(body).map_err(bad)?,
        priority: NotifyPriority::new(read_int(table, id, "priority", priority)?)
            .map_err(|e| StoreError::corrupt(table, id, e))?,
        tags: NoticeTags::parse(tags).map_err(bad)?,
    })
}

fn audience(
    table: &'static str,
    id: Option<i64>,
    word: &str,
    topics: Option<&str>,
) -> Result<Audience, StoreError> {
    Audience::parse(word, topics).map_err(|e| StoreError::corrupt(table, id, e))
}

#[derive(Deserialize)]
struct TemplateRow {
    id: f64,
    name: String,
    title: String,
    body: String,
    priority: f64,
    tags: String,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<TemplateRow> for StoredTemplate {
    type Error = StoreError;

    fn try_from(r: TemplateRow) -> Result<Self, StoreError> {
        let id = read_int(TT, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredTemplate {
            id: TemplateId(id),
            name: TemplateName::parse(&r.name).map_err(|e| StoreError::corrupt(TT, at, e))?,
            content: content(TT, at, &r.title, &r.body, r.priority, &r.tags)?,
            created_at: read_int(TT, at, "created_at", r.created_at)?,
            updated_at: read_int(TT, at, "updated_at", r.updated_at)?,
        })
    }
}

#[derive(Deserialize)]
struct BroadcastRow {
    id: f64,
    audience: String,
    topics: Option<String>,
    template_id: Option<f64>,
    title: String,
    body: String,
    priority: f64,
    tags: String,
    recipients: f64,
    sent_count: f64,
    failed_count: f64,
    created_by: Option<f64>,
    created_at: f64,
}

fn read_count(
    table: &'static str,
    id: Option<i64>,
    what: &'static str,
    v: f64,
) -> Result<u32, StoreError> {
    u32::try_from(read_int(table, id, what, v)?).map_err(|e| StoreError::corrupt(table, id, e))
}

impl TryFrom<BroadcastRow> for StoredBroadcast {
    type Error = StoreError;

    fn try_from(r: BroadcastRow) -> Result<Self, StoreError> {
        let id = read_int(BT, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredBroadcast {
            id: BroadcastId(id),
            new: NewBroadcast {
                audience: audience(BT, at, &r.audience, r.topics.as_deref())?,
                template: read_opt_int(BT, at, "template_id", r.template_id)?.map(TemplateId),
                content: content(BT, at, &r.title, &r.body, r.priority, &r.tags)?,
                created_by: read_opt_int(BT, at, "created_by", r.created_by)?.map(UserId),
                created_at: read_int(BT, at, "created_at", r.created_at)?,
            },
            counts: BroadcastCounts {
                recipients: read_count(BT, at, "recipients", r.recipients)?,
                sent: read_count(BT, at, "sent_count", r.sent_count)?,
                failed: read_count(BT, at, "failed_count", r.failed_count)?,
            },
        })
    }
}

#[derive(Deserialize)]
struct ScheduleRow {
    id: f64,
    send_at: f64,
    status: String,
    audience: String,
    topics: Option<String>,
    template_id: Option<f64>,
    title: String,
    body: String,
    priority: f64,
    tags: String,
    created_by: Option<f64>,
    created_at: f64,
    sent_at: Option<f64>,
}

impl TryFrom<ScheduleRow> for StoredSchedule {
    type Error = StoreError;

    fn try_from(r: ScheduleRow) -> Result<Self, StoreError> {
        let id = read_int(ST, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredSchedule {
            id: ScheduleId(id),
            new: NewSchedule {
                send_at: read_int(ST, at, "send_at", r.send_at)?,
                audience: audience(ST, at, &r.audience, r.topics.as_deref())?,
                template: read_opt_int(ST, at, "template_id", r.template_id)?.map(TemplateId),
                content: content(ST, at, &r.title, &r.body, r.priority, &r.tags)?,
                created_by: read_opt_int(ST, at, "created_by", r.created_by)?.map(UserId),
                created_at: read_int(ST, at, "created_at", r.created_at)?,
            },
            status: ScheduleStatus::parse(&r.status).map_err(|e| StoreError::corrupt(ST, at, e))?,
            sent_at: read_opt_int(ST, at, "sent_at", r.sent_at)?,
        })
    }
}

fn name_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict(TEMPLATE_NAME_KEY),
        other => other,
    }
}

fn short() -> StoreError {
    StoreError::Unavailable("d1 returned fewer results".into())
}

fn content_args(c: &NoticeContent) -> [JsValue; 4] {
    [
        text(c.title.as_str()),
        text(c.body.as_str()),
        count(u32::from(c.priority.get())),
        text(c.tags.as_str()),
    ]
}

impl D1Store {
    /// Names the missing reference after a foreign key failed.
    async fn missing_notice_ref(&self, template: Option<TemplateId>) -> StoreError {
        let Some(t) = template else {
            return StoreError::NotFound("user");
        };
        let probe = async {
            let stmt = self.stmt(
                "SELECT EXISTS (SELECT 1 FROM notification_templates WHERE id = ?1) AS found",
                &[int("template id", t.0)?],
            )?;
            let res = self.exec(stmt, "template").await?;
            Ok::<bool, StoreError>(
                decode::<FoundRow>(TT, &res)?
                    .first()
                    .is_some_and(|r| r.found != 0.0),
            )
        };
        match probe.await {
            Ok(true) => StoreError::NotFound("user"),
            Ok(false) => StoreError::NotFound("template"),
            Err(e) => e,
        }
    }

    /// One statement that answers one row.
    async fn one_row<R, T>(
        &self,
        table: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> Result<T, StoreError>
    where
        R: serde::de::DeserializeOwned,
        T: TryFrom<R, Error = StoreError>,
    {
        let stmt = self.stmt(sql, args)?;
        self.opt_row::<R, T>(table, stmt, "template")
            .await?
            .ok_or_else(short)
    }

    /// A conditional update batched with an existence probe: `Ok(changed)`, or
    /// `NotFound(missing)` when the row does not exist.
    pub(crate) async fn update_once(
        &self,
        update: &str,
        probe_table: &'static str,
        args: &[JsValue],
        missing: &'static str,
    ) -> Result<bool, StoreError> {
        let probe = format!("SELECT EXISTS (SELECT 1 FROM {probe_table} WHERE id = ?1) AS found");
        let id = args.first().cloned().unwrap_or(JsValue::NULL);
        let results = self
            .batch(
                vec![self.stmt(update, args)?, self.stmt(&probe, &[id])?],
                missing,
            )
            .await?;
        let found = decode::<FoundRow>(probe_table, results.get(1).ok_or_else(short)?)?
            .first()
            .is_some_and(|r| r.found != 0.0);
        if !found {
            return Err(StoreError::NotFound(missing));
        }
        Ok(changes(results.first().ok_or_else(short)?)? > 0)
    }
}

impl NotificationAdminStore for D1Store {
    async fn create_template(
        &self,
        name: &TemplateName,
        c: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        let mut args = vec![text(name.as_str())];
        args.extend(content_args(c));
        args.push(int("created_at", now)?);
        self.one_row::<TemplateRow, StoredTemplate>(
            TT,
            &format!(
                "INSERT INTO notification_templates \
                 (name, title, body, priority, tags, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {TEMPLATE_COLS}"
            ),
            &args,
        )
        .await
        .map_err(name_conflict)
    }

    async fn template(&self, id: TemplateId) -> Result<Option<StoredTemplate>, StoreError> {
        let stmt = self.stmt(
            &format!("SELECT {TEMPLATE_COLS} FROM notification_templates WHERE id = ?1"),
            &[int("template id", id.0)?],
        )?;
        self.opt_row::<TemplateRow, StoredTemplate>(TT, stmt, "template")
            .await
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let stmt = self.stmt(
            &format!("SELECT {TEMPLATE_COLS} FROM notification_templates ORDER BY name"),
            &[],
        )?;
        self.rows::<TemplateRow, StoredTemplate>(TT, stmt, "template")
            .await
    }

    async fn update_template(
        &self,
        id: TemplateId,
        name: &TemplateName,
        c: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        let mut args = vec![int("template id", id.0)?, text(name.as_str())];
        args.extend(content_args(c));
        args.push(int("updated_at", now)?);
        let stmt = self.stmt(
            &format!(
                "UPDATE notification_templates SET name = ?2, title = ?3, body = ?4, \
                 priority = ?5, tags = ?6, updated_at = ?7 WHERE id = ?1 \
                 RETURNING {TEMPLATE_COLS}"
            ),
            &args,
        )?;
        self.rows::<TemplateRow, StoredTemplate>(TT, stmt, "template")
            .await
            .map_err(name_conflict)?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound("template"))
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        let stmt = self.stmt(
            "DELETE FROM notification_templates WHERE id = ?1",
            &[int("template id", id.0)?],
        )?;
        if changes(&self.exec(stmt, "template").await?)? == 0 {
            return Err(StoreError::NotFound("template"));
        }
        Ok(())
    }

    async fn create_broadcast(&self, new: &NewBroadcast) -> Result<StoredBroadcast, StoreError> {
        new.validate()?;
        let mut args = vec![
            text(new.audience.as_str()),
            opt_text(new.audience.topics()),
            opt_int("template id", new.template.map(|t| t.0))?,
        ];
        args.extend(content_args(&new.content));
        args.push(opt_int("user id", new.created_by.map(|u| u.0))?);
        args.push(int("created_at", new.created_at)?);
        let result = self
            .one_row::<BroadcastRow, StoredBroadcast>(
                BT,
                &format!(
                    "INSERT INTO broadcast_notifications (audience, topics, template_id, title, \
                     body, priority, tags, created_by, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING {BROADCAST_COLS}"
                ),
                &args,
            )
            .await;
        match result {
            Err(StoreError::NotFound(_)) => Err(self.missing_notice_ref(new.template).await),
            other => other,
        }
    }

    async fn broadcasts(&self, page: PageRequest) -> Result<Page<StoredBroadcast>, StoreError> {
        check_page(page)?;
        // Without a cursor, start above every stored value (all are within 2^53).
        let (ts, id) = page
            .after
            .map_or((MAX_EXACT_INT, MAX_EXACT_INT), |c| (c.ts, c.id));
        let stmt = self.stmt(
            &format!(
                "SELECT {BROADCAST_COLS} FROM broadcast_notifications \
                 WHERE created_at < ?1 OR (created_at = ?1 AND id < ?2) \
                 ORDER BY created_at DESC, id DESC LIMIT ?3"
            ),
            &[
                int("cursor ts", ts)?,
                int("cursor id", id)?,
                count(page.limit.saturating_add(1)),
            ],
        )?;
        let items = self
            .rows::<BroadcastRow, StoredBroadcast>(BT, stmt, "broadcast")
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
        self.update_once(
            "UPDATE broadcast_notifications \
             SET recipients = ?2, sent_count = ?3, failed_count = ?4 \
             WHERE id = ?1 AND recipients = 0 AND sent_count = 0 AND failed_count = 0",
            BT,
            &[
                int("broadcast id", id.0)?,
                count(counts.recipients),
                count(counts.sent),
                count(counts.failed),
            ],
            "broadcast",
        )
        .await
    }

    async fn create_schedule(&self, new: &NewSchedule) -> Result<StoredSchedule, StoreError> {
        new.validate()?;
        let mut args = vec![
            int("send_at", new.send_at)?,
            text(new.audience.as_str()),
            opt_text(new.audience.topics()),
            opt_int("template id", new.template.map(|t| t.0))?,
        ];
        args.extend(content_args(&new.content));
        args.push(opt_int("user id", new.created_by.map(|u| u.0))?);
        args.push(int("created_at", new.created_at)?);
        let result = self
            .one_row::<ScheduleRow, StoredSchedule>(
                ST,
                &format!(
                    "INSERT INTO scheduled_notifications (send_at, status, audience, topics, \
                     template_id, title, body, priority, tags, created_by, created_at) \
                     VALUES (?1, 'scheduled', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     RETURNING {SCHEDULE_COLS}"
                ),
                &args,
            )
            .await;
        match result {
            Err(StoreError::NotFound(_)) => Err(self.missing_notice_ref(new.template).await),
            other => other,
        }
    }

    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        let stmt = self.stmt(
            &format!("SELECT {SCHEDULE_COLS} FROM scheduled_notifications ORDER BY send_at, id"),
            &[],
        )?;
        self.rows::<ScheduleRow, StoredSchedule>(ST, stmt, "schedule")
            .await
    }

    async fn cancel_schedule(&self, id: ScheduleId) -> Result<bool, StoreError> {
        self.update_once(
            "UPDATE scheduled_notifications SET status = 'cancelled' \
             WHERE id = ?1 AND status = 'scheduled'",
            ST,
            &[int("schedule id", id.0)?],
            "schedule",
        )
        .await
    }

    async fn due_schedules(&self, now: i64, limit: u32) -> Result<Vec<StoredSchedule>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let stmt = self.stmt(
            &format!(
                "SELECT {SCHEDULE_COLS} FROM scheduled_notifications \
                 WHERE status = 'scheduled' AND send_at <= ?1 ORDER BY send_at, id LIMIT ?2"
            ),
            &[int("now", now)?, count(limit)],
        )?;
        self.rows::<ScheduleRow, StoredSchedule>(ST, stmt, "schedule")
            .await
    }

    async fn claim_schedule(
        &self,
        id: ScheduleId,
        claim: ScheduleClaim,
    ) -> Result<bool, StoreError> {
        claim.validate()?;
        let stmt = self.stmt(
            "UPDATE scheduled_notifications SET sent_at = ?3, \
             send_at = COALESCE(?4, send_at), \
             status = CASE WHEN ?4 IS NULL THEN 'sent' ELSE 'scheduled' END \
             WHERE id = ?1 AND status = 'scheduled' AND send_at = ?2 AND send_at <= ?3",
            &[
                int("schedule id", id.0)?,
                int("send_at", claim.expected_send_at)?,
                int("now", claim.now)?,
                opt_int("send_at", claim.next_send_at)?,
            ],
        )?;
        Ok(changes(&self.exec(stmt, "schedule").await?)? > 0)
    }
}
