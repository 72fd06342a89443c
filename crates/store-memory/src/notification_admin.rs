//! The admin notification port in memory. Each operation checks first, then changes the state
//! under one `RefCell` borrow, so it is atomic like the SQL statement it stands for: the name
//! stays unique, a broadcast is marked once, a schedule is claimed by one caller.

use crate::MemoryStore;
use cl_app::ports::notification_admin::{
    check_page, page_of, BroadcastCounts, BroadcastId, NewBroadcast, NewSchedule, NoticeContent,
    NotificationAdminStore, ScheduleClaim, ScheduleId, ScheduleStatus, StoredBroadcast,
    StoredSchedule, StoredTemplate, TemplateId, TemplateName, TEMPLATE_NAME_KEY,
};
use cl_app::ports::{exact_int, Cursor, Page, PageRequest, StoreError, UserId, UserStore};
use std::collections::BTreeMap;

/// The admin notification tables.
#[derive(Debug, Default)]
pub(crate) struct NoticeAdminState {
    templates: BTreeMap<TemplateId, StoredTemplate>,
    broadcasts: BTreeMap<BroadcastId, StoredBroadcast>,
    schedules: BTreeMap<ScheduleId, StoredSchedule>,
    last_id: i64,
}

impl MemoryStore {
    /// Checks the references a broadcast or schedule makes.
    async fn notice_refs(
        &self,
        template: Option<TemplateId>,
        by: Option<UserId>,
    ) -> Result<(), StoreError> {
        if template.is_some_and(|t| !self.notice_admin.borrow().templates.contains_key(&t)) {
            return Err(StoreError::NotFound("template"));
        }
        if let Some(u) = by {
            if self.user(u).await?.is_none() {
                return Err(StoreError::NotFound("user"));
            }
        }
        Ok(())
    }
}

impl NotificationAdminStore for MemoryStore {
    async fn create_template(
        &self,
        name: &TemplateName,
        content: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        exact_int("created_at", now)?;
        let mut st = self.notice_admin.borrow_mut();
        if st.templates.values().any(|t| t.name == *name) {
            return Err(StoreError::Conflict(TEMPLATE_NAME_KEY));
        }
        st.last_id += 1;
        let row = StoredTemplate {
            id: TemplateId(st.last_id),
            name: name.clone(),
            content: content.clone(),
            created_at: now,
            updated_at: now,
        };
        st.templates.insert(row.id, row.clone());
        Ok(row)
    }

    async fn template(&self, id: TemplateId) -> Result<Option<StoredTemplate>, StoreError> {
        Ok(self.notice_admin.borrow().templates.get(&id).cloned())
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let mut v: Vec<StoredTemplate> = self
            .notice_admin
            .borrow()
            .templates
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        Ok(v)
    }

    async fn update_template(
        &self,
        id: TemplateId,
        name: &TemplateName,
        content: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError> {
        exact_int("updated_at", now)?;
        let mut st = self.notice_admin.borrow_mut();
        if st.templates.values().any(|t| t.name == *name && t.id != id) {
            return Err(StoreError::Conflict(TEMPLATE_NAME_KEY));
        }
        let row = st
            .templates
            .get_mut(&id)
            .ok_or(StoreError::NotFound("template"))?;
        row.name = name.clone();
        row.content = content.clone();
        row.updated_at = now;
        Ok(row.clone())
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        let mut st = self.notice_admin.borrow_mut();
        st.templates
            .remove(&id)
            .ok_or(StoreError::NotFound("template"))?;
        // ON DELETE SET NULL.
        for b in st.broadcasts.values_mut() {
            if b.new.template == Some(id) {
                b.new.template = None;
            }
        }
        for s in st.schedules.values_mut() {
            if s.new.template == Some(id) {
                s.new.template = None;
            }
        }
        Ok(())
    }

    async fn create_broadcast(&self, new: &NewBroadcast) -> Result<StoredBroadcast, StoreError> {
        new.validate()?;
        self.notice_refs(new.template, new.created_by).await?;
        let mut st = self.notice_admin.borrow_mut();
        st.last_id += 1;
        let row = StoredBroadcast {
            id: BroadcastId(st.last_id),
            new: new.clone(),
            counts: BroadcastCounts::default(),
        };
        st.broadcasts.insert(row.id, row.clone());
        Ok(row)
    }

    async fn broadcasts(&self, page: PageRequest) -> Result<Page<StoredBroadcast>, StoreError> {
        check_page(page)?;
        let st = self.notice_admin.borrow();
        let key = |b: &StoredBroadcast| (b.new.created_at, b.id.0);
        let mut v: Vec<StoredBroadcast> = st
            .broadcasts
            .values()
            .filter(|b| page.after.is_none_or(|c| key(b) < (c.ts, c.id)))
            .cloned()
            .collect();
        v.sort_by_key(|b| std::cmp::Reverse(key(b)));
        v.truncate(
            usize::try_from(page.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        Ok(page_of(v, page.limit, |b| Cursor {
            ts: b.new.created_at,
            id: b.id.0,
        }))
    }

    async fn mark_broadcast_sent(
        &self,
        id: BroadcastId,
        counts: BroadcastCounts,
    ) -> Result<bool, StoreError> {
        let mut st = self.notice_admin.borrow_mut();
        let row = st
            .broadcasts
            .get_mut(&id)
            .ok_or(StoreError::NotFound("broadcast"))?;
        if row.counts != BroadcastCounts::default() {
            return Ok(false);
        }
        row.counts = counts;
        Ok(true)
    }

    async fn create_schedule(&self, new: &NewSchedule) -> Result<StoredSchedule, StoreError> {
        new.validate()?;
        self.notice_refs(new.template, new.created_by).await?;
        let mut st = self.notice_admin.borrow_mut();
        st.last_id += 1;
        let row = StoredSchedule {
            id: ScheduleId(st.last_id),
            new: new.clone(),
            status: ScheduleStatus::Scheduled,
            sent_at: None,
        };
        st.schedules.insert(row.id, row.clone());
        Ok(row)
    }

    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        let mut v: Vec<StoredSchedule> = self
            .notice_admin
            .borrow()
            .schedules
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|s| (s.new.send_at, s.id));
        Ok(v)
    }

    async fn cancel_schedule(&self, id: ScheduleId) -> Result<bool, StoreError> {
        let mut st = self.notice_admin.borrow_mut();
        let row = st
            .schedules
            .get_mut(&id)
            .ok_or(StoreError::NotFound("schedule"))?;
        if row.status != ScheduleStatus::Scheduled {
            return Ok(false);
        }
        row.status = ScheduleStatus::Cancelled;
        Ok(true)
    }

    async fn due_schedules(&self, now: i64, limit: u32) -> Result<Vec<StoredSchedule>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let mut v: Vec<StoredSchedule> = self
            .schedules()
            .await?
            .into_iter()
            .filter(|s| s.status == ScheduleStatus::Scheduled && s.new.send_at <= now)
            .collect();
        v.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(v)
    }

    async fn claim_schedule(
        &self,
        id: ScheduleId,
        claim: ScheduleClaim,
    ) -> Result<bool, StoreError> {
        claim.validate()?;
        let mut st = self.notice_admin.borrow_mut();
        let Some(row) = st.schedules.get_mut(&id) else {
            return Ok(false);
        };
        if row.status != ScheduleStatus::Scheduled
            || row.new.send_at != claim.expected_send_at
            || row.new.send_at > claim.now
        {
            return Ok(false);
        }
        row.sent_at = Some(claim.now);
        match claim.next_send_at {
            Some(next) => row.new.send_at = next,
            None => row.status = ScheduleStatus::Sent,
        }
        Ok(true)
    }
}
