//! The admin ports in memory (audit log, admin user list, user flag changes, symbol
//! administration, signal override, error tracker, logs).
//!
//! Each write validates everything first, then mutates with no `.await` between the check and
//! the last mutation, so the change and its audit row land together or not at all, like the
//! SQL stores' transaction or batch.

use crate::MemoryStore;
use cl_app::ports::admin::{
    page_of, validate_page, AdminStore, AdminUserRow, AuditFilter, ChangeOutcome, ErrorOccurrence,
    ErrorStatus, LogFilter, NewAuditEntry, NewLogEntry, StoredAuditEntry, StoredError,
    StoredLogEntry, SubscriptionSummary, SymbolPatch, UserChange, UserFilter,
};
use cl_app::ports::{
    exact_int, BillingSubscription, Cursor, NewSymbol, Page, PageRequest, SignalId, SignalStatus,
    StoreError, StoredSignal, StoredSubscription, StoredSymbol, StoredUser, SubscriptionId,
    SymbolId, SymbolStore, UserId,
};
use std::collections::BTreeMap;

/// The admin tables.
#[derive(Debug, Default)]
pub(crate) struct AdminState {
    audit: BTreeMap<i64, StoredAuditEntry>,
    pub(crate) errors: BTreeMap<i64, StoredError>,
    logs: BTreeMap<i64, StoredLogEntry>,
    last_audit_id: i64,
    last_error_id: i64,
    last_log_id: i64,
}

impl AdminState {
    pub(crate) fn push_audit(&mut self, entry: &NewAuditEntry) -> i64 {
        self.last_audit_id += 1;
        let id = self.last_audit_id;
        self.audit.insert(
            id,
            StoredAuditEntry {
                id,
                entry: entry.clone(),
            },
        );
        id
    }
}

fn in_range(t: i64, since: Option<i64>, until: Option<i64>) -> bool {
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)
}

fn after(page: PageRequest, ts: i64, id: i64) -> bool {
    page.after.is_none_or(|c| c.is_before(ts, id))
}

/// Newest first by `(ts, id)`, the rows after the cursor, `limit + 1` of them.
fn newest<T: Clone>(rows: impl Iterator<Item = (i64, i64, T)>, page: PageRequest) -> Vec<T> {
    let mut v: Vec<(i64, i64, T)> = rows.filter(|(ts, id, _)| after(page, *ts, *id)).collect();
    v.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    v.into_iter()
        .take(
            usize::try_from(page.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        )
        .map(|(_, _, t)| t)
        .collect()
}

fn summary(sub: Option<&StoredSubscription>) -> Option<SubscriptionSummary> {
    sub.map(|s| SubscriptionSummary {
        plan: s.subscription.plan,
        status: s.subscription.status,
        expires_at: s.subscription.expires_at,
    })
}

impl MemoryStore {
    fn admin_row(&self, u: &StoredUser) -> AdminUserRow {
        let billing = self.billing.borrow();
        AdminUserRow {
            id: u.id,
            email: u.email.clone(),
            username: u.username.clone(),
            is_active: u.is_active,
            is_verified: u.is_verified,
            is_admin: u.is_admin,
            totp_enabled: u.totp.enabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            subscription: summary(billing.subscriptions.get(&u.id.0)),
        }
    }
}

impl AdminStore for MemoryStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        entry.validate()?;
        Ok(self.admin.borrow_mut().push_audit(entry))
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, StoreError> {
        validate_page(page)?;
        let st = self.admin.borrow();
        let rows = st.audit.values().filter(|r| {
            let e = &r.entry;
            filter.actor.is_none_or(|a| e.actor == Some(a))
                && filter.action.as_ref().is_none_or(|a| *a == e.action)
                && filter.target.as_ref().is_none_or(|t| *t == e.target)
                && in_range(e.at, filter.since, filter.until)
        });
        let rows = newest(rows.map(|r| (r.entry.at, r.id, r.clone())), page);
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.entry.at,
            id: r.id,
        }))
    }

    async fn admin_users(
        &self,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<AdminUserRow>, StoreError> {
        validate_page(page)?;
        let users: Vec<StoredUser> = self.accounts.borrow().users.values().cloned().collect();
        let rows = users.iter().filter(|u| {
            filter.search.as_ref().is_none_or(|q| {
                u.email.as_str().starts_with(q.as_str())
                    || u.username.as_str().to_lowercase().starts_with(q.as_str())
            })
        });
        let rows = newest(
            rows.map(|u| (u.created_at, u.id.0, self.admin_row(u))),
            page,
        );
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.created_at,
            id: r.id.0,
        }))
    }

    async fn admin_user(&self, id: UserId) -> Result<Option<AdminUserRow>, StoreError> {
        let user = self.accounts.borrow().users.get(&id).cloned();
        Ok(user.map(|u| self.admin_row(&u)))
    }

    async fn change_user(
        &self,
        user: UserId,
        change: UserChange,
        audit: &NewAuditEntry,
    ) -> Result<ChangeOutcome, StoreError> {
        audit.validate()?;
        {
            let mut acc = self.accounts.borrow_mut();
            let other_admins = acc
                .users
                .values()
                .filter(|u| u.id != user && u.is_admin && u.is_active)
                .count();
            let Some(u) = acc.users.get_mut(&user) else {
                return Ok(ChangeOutcome::NotFound);
            };
            let removes_admin = u.is_admin
                && u.is_active
                && matches!(change, UserChange::Admin(false) | UserChange::Active(false));
            if removes_admin && other_admins == 0 {
                return Ok(ChangeOutcome::LastAdmin);
            }
            match change {
                UserChange::Verified(v) => u.is_verified = v,
                UserChange::Active(v) => u.is_active = v,
                UserChange::Admin(v) => u.is_admin = v,
            }
        }
        self.admin.borrow_mut().push_audit(audit);
        let sessions_revoked = if change.revokes_sessions() {
            cl_app::ports::SessionStore::delete_user_sessions(self, user, None).await?
        } else {
            0
        };
        Ok(ChangeOutcome::Applied { sessions_revoked })
    }

    async fn set_subscription(
        &self,
        sub: &BillingSubscription,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        audit.validate()?;
        exact_int("now", now)?;
        exact_int("starts_at", sub.starts_at)?;
        if let Some(t) = sub.expires_at {
            exact_int("expires_at", t)?;
        }
        let uid = sub.user_id.get();
        if !self.accounts.borrow().users.contains_key(&UserId(uid)) {
            return Err(StoreError::NotFound("user"));
        }
        let mut b = self.billing.borrow_mut();
        let (id, created_at) = match b.subscriptions.get(&uid) {
            Some(s) => (s.id, s.created_at),
            None => {
                let id = SubscriptionId::new(b.last_subscription_id + 1)
                    .map_err(|e| StoreError::corrupt("subscriptions", None, e))?;
                b.last_subscription_id += 1;
                (id, now)
            }
        };
        b.subscriptions.insert(
            uid,
            StoredSubscription {
                id,
                subscription: sub.clone(),
                created_at,
                updated_at: now,
            },
        );
        drop(b);
        self.admin.borrow_mut().push_audit(audit);
        Ok(())
    }

    async fn add_symbol_audited(
        &self,
        new: &NewSymbol,
        audit: &NewAuditEntry,
    ) -> Result<StoredSymbol, StoreError> {
        audit.validate()?;
        let row = self.add_symbol(new).await?;
        self.admin.borrow_mut().push_audit(audit);
        Ok(row)
    }

    async fn update_symbol(
        &self,
        id: SymbolId,
        patch: SymbolPatch,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSymbol>, StoreError> {
        audit.validate()?;
        if let Some(t) = patch.fetch_start_ms {
            exact_int("fetch_start_ms", t)?;
        }
        let mut st = self.state.borrow_mut();
        let Some(row) = st.symbols.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(v) = patch.is_active {
            row.is_active = v;
        }
        if let Some(v) = patch.notify_enabled {
            row.notify_enabled = v;
        }
        if let Some(v) = patch.fetch_start_ms {
            row.fetch_start_ms = v;
        }
        let out = row.clone();
        drop(st);
        self.admin.borrow_mut().push_audit(audit);
        Ok(Some(out))
    }

    async fn set_signal_status(
        &self,
        id: SignalId,
        status: SignalStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSignal>, StoreError> {
        audit.validate()?;
        let mut st = self.state.borrow_mut();
        let Some(row) = st.signals.get_mut(&id) else {
            return Ok(None);
        };
        row.status = status;
        let out = row.clone();
        drop(st);
        self.admin.borrow_mut().push_audit(audit);
        Ok(Some(out))
    }

    async fn record_error(&self, o: &ErrorOccurrence) -> Result<i64, StoreError> {
        o.validate()?;
        let mut st = self.admin.borrow_mut();
        if let Some(g) = st
            .errors
            .values_mut()
            .find(|g| g.fingerprint == o.fingerprint)
        {
            g.occurrences += 1;
            g.last_seen = g.last_seen.max(o.at);
            g.sample_request_id.clone_from(&o.request_id);
            if g.status == ErrorStatus::Resolved {
                g.status = ErrorStatus::New;
            }
            return Ok(g.id);
        }
        st.last_error_id += 1;
        let id = st.last_error_id;
        st.errors.insert(
            id,
            StoredError {
                id,
                fingerprint: o.fingerprint.clone(),
                kind: o.kind.clone(),
                source: o.source.clone(),
                message: o.message.clone(),
                first_seen: o.at,
                last_seen: o.at,
                occurrences: 1,
                status: ErrorStatus::New,
                sample_request_id: o.request_id.clone(),
            },
        );
        Ok(id)
    }

    async fn errors(
        &self,
        status: Option<ErrorStatus>,
        page: PageRequest,
    ) -> Result<Page<StoredError>, StoreError> {
        validate_page(page)?;
        let st = self.admin.borrow();
        let rows = st
            .errors
            .values()
            .filter(|g| status.is_none_or(|s| g.status == s))
            .map(|g| (g.last_seen, g.id, g.clone()));
        let rows = newest(rows, page);
        Ok(page_of(rows, page.limit, |g| Cursor {
            ts: g.last_seen,
            id: g.id,
        }))
    }

    async fn set_error_status(
        &self,
        id: i64,
        status: ErrorStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredError>, StoreError> {
        audit.validate()?;
        let mut st = self.admin.borrow_mut();
        let Some(g) = st.errors.get_mut(&id) else {
            return Ok(None);
        };
        g.status = status;
        let out = g.clone();
        st.push_audit(audit);
        Ok(Some(out))
    }

    async fn append_log(&self, entry: &NewLogEntry) -> Result<i64, StoreError> {
        exact_int("log ts", entry.ts)?;
        let mut st = self.admin.borrow_mut();
        st.last_log_id += 1;
        let id = st.last_log_id;
        st.logs.insert(
            id,
            StoredLogEntry {
                id,
                entry: entry.clone(),
            },
        );
        Ok(id)
    }

    async fn logs(
        &self,
        filter: &LogFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLogEntry>, StoreError> {
        validate_page(page)?;
        let st = self.admin.borrow();
        let rows = st
            .logs
            .values()
            .filter(|r| {
                let e = &r.entry;
                filter.level.is_none_or(|l| e.level == l)
                    && filter.category.is_none_or(|c| e.category == c)
                    && in_range(e.ts, filter.since, filter.until)
                    && filter
                        .symbol
                        .as_ref()
                        .is_none_or(|s| e.symbol.as_ref() == Some(s))
            })
            .map(|r| (r.entry.ts, r.id, r.clone()));
        let rows = newest(rows, page);
        Ok(page_of(rows, page.limit, |r| Cursor {
            ts: r.entry.ts,
            id: r.id,
        }))
    }
}
