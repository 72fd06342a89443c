//! In-memory [`StatsStore`]: counts over the store's maps, the subscription list joined with
//! the users map, the settings map shared with the maintenance port (plus its `updated_at`
//! here). Validation happens before any mutation, so a refused write changes nothing.

use crate::MemoryStore;
use cl_app::jobs::maintenance::StatsEntry;
use cl_app::ports::admin::{page_of, validate_page, ErrorStatus, NewAuditEntry};
use cl_app::ports::stats::{
    validate_settings, AdminCounts, AdminSubscriptionRow, AnalyticsCounts, PatternCount,
    SettingRow, SignalCount, StatsStore, SubscriptionFilter,
};
use cl_app::ports::{exact_int, Page, PageRequest, StoreError, UserId};
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use std::collections::BTreeMap;

/// `settings.updated_at` by key (the values live in the maintenance state).
#[derive(Debug, Default)]
pub(crate) struct StatsState {
    updated_at: BTreeMap<String, i64>,
}

const fn plan_index(p: Plan) -> usize {
    match p {
        Plan::Pro => 0,
        Plan::Premium => 1,
        Plan::Lifetime => 2,
    }
}

const fn status_index(s: SubscriptionStatus) -> usize {
    match s {
        SubscriptionStatus::Active => 0,
        SubscriptionStatus::Expired => 1,
        SubscriptionStatus::Cancelled => 2,
        SubscriptionStatus::Suspended => 3,
    }
}

impl StatsStore for MemoryStore {
    async fn analytics_counts(&self) -> Result<AnalyticsCounts, StoreError> {
        let st = self.state.borrow();
        let mut patterns: BTreeMap<_, u64> = BTreeMap::new();
        for p in st.patterns.values() {
            let key = (
                p.symbol,
                p.tf,
                p.pattern_type.as_str(),
                p.direction.as_str(),
                p.status.as_str(),
            );
            *patterns.entry(key).or_default() += 1;
        }
        let mut signals: BTreeMap<_, u64> = BTreeMap::new();
        for x in st.signals.values() {
            *signals.entry((x.symbol, x.status.as_str())).or_default() += 1;
        }
        let find = |ty: &str, dir: &str, status: &str| {
            let ty = cl_domain::PatternType::ALL
                .iter()
                .find(|t| t.as_str() == ty);
            let dir = cl_domain::Direction::ALL.iter().find(|d| d.as_str() == dir);
            let status = cl_domain::PatternStatus::ALL
                .iter()
                .find(|s| s.as_str() == status);
            ty.zip(dir).zip(status).map(|((t, d), s)| (*t, *d, *s))
        };
        Ok(AnalyticsCounts {
            patterns: patterns
                .into_iter()
                .filter_map(|((symbol, tf, ty, dir, status), count)| {
                    find(ty, dir, status).map(|(pattern_type, direction, status)| PatternCount {
                        symbol,
                        tf,
                        pattern_type,
                        direction,
                        status,
                        count,
                    })
                })
                .collect(),
            signals: signals
                .into_iter()
                .filter_map(|((symbol, status), count)| {
                    cl_app::ports::SignalStatus::ALL
                        .iter()
                        .find(|s| s.as_str() == status)
                        .map(|status| SignalCount {
                            symbol,
                            status: *status,
                            count,
                        })
                })
                .collect(),
        })
    }

    async fn cached_stats(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        Ok(self.maintenance.borrow().stats.get(key).cloned())
    }

    async fn admin_counts(
        &self,
        now: i64,
        since: i64,
        expiring_before: i64,
    ) -> Result<AdminCounts, StoreError> {
        exact_int("now", now)?;
        exact_int("since", since)?;
        exact_int("expiring before", expiring_before)?;
        let mut c = AdminCounts::default();
        for u in self.accounts.borrow().users.values() {
            c.users += 1;
            c.users_active += u64::from(u.is_active);
            c.users_verified += u64::from(u.is_verified);
            c.admins += u64::from(u.is_admin);
            c.users_totp += u64::from(u.totp.enabled);
            c.users_new += u64::from(u.created_at >= since);
        }
        for s in self.billing.borrow().subscriptions.values() {
            let sub = &s.subscription;
            c.by_status[status_index(sub.status)] += 1;
            if sub.status == SubscriptionStatus::Active {
                c.active_by_plan[plan_index(sub.plan)] += 1;
                c.expiring += u64::from(
                    sub.expires_at
                        .is_some_and(|e| e >= now && e < expiring_before),
                );
            }
        }
        c.notifications = self.notifications.borrow().status_counts();
        c.errors_new = self
            .admin
            .borrow()
            .errors
            .values()
            .filter(|e| e.status == ErrorStatus::New)
            .count() as u64;
        Ok(c)
    }

    async fn admin_subscriptions(
        &self,
        filter: &SubscriptionFilter,
        page: PageRequest,
    ) -> Result<Page<AdminSubscriptionRow>, StoreError> {
        validate_page(page)?;
        if let Some((from, to)) = filter.expiring {
            exact_int("expiring from", from)?;
            exact_int("expiring to", to)?;
        }
        let accounts = self.accounts.borrow();
        let billing = self.billing.borrow();
        let mut rows: Vec<AdminSubscriptionRow> = billing
            .subscriptions
            .values()
            .filter(|s| {
                let sub = &s.subscription;
                filter.plan.is_none_or(|p| sub.plan == p)
                    && filter.status.is_none_or(|st| sub.status == st)
                    && filter.expiring.is_none_or(|(from, to)| {
                        sub.expires_at.is_some_and(|e| e >= from && e < to)
                    })
                    && page
                        .after
                        .is_none_or(|c| (s.created_at, s.id.get()) < (c.ts, c.id))
            })
            .filter_map(|s| {
                let sub = &s.subscription;
                let user = accounts.users.get(&UserId(sub.user_id.get()))?;
                Some(AdminSubscriptionRow {
                    id: s.id.get(),
                    user_id: user.id,
                    email: user.email.as_str().to_owned(),
                    username: user.username.as_str().to_owned(),
                    plan: sub.plan,
                    status: sub.status,
                    starts_at: sub.starts_at,
                    expires_at: sub.expires_at,
                    provider: sub.provider.map(|p| p.as_str().to_owned()),
                    created_at: s.created_at,
                })
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        rows.truncate(
            usize::try_from(page.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        Ok(page_of(rows, page.limit, AdminSubscriptionRow::cursor))
    }

    async fn settings(&self) -> Result<Vec<SettingRow>, StoreError> {
        let m = self.maintenance.borrow();
        let times = self.stats.borrow();
        Ok(m.settings
            .iter()
            .map(|(k, v)| SettingRow {
                key: k.clone(),
                value: v.clone(),
                updated_at: times.updated_at.get(k).copied().unwrap_or(0),
            })
            .collect())
    }

    async fn put_settings(
        &self,
        values: &[(String, String)],
        actor: UserId,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        validate_settings(values)?;
        audit.validate()?;
        exact_int("now", now)?;
        // `updated_by` is informational here; the SQL stores keep it in the row.
        let _ = actor;
        let mut m = self.maintenance.borrow_mut();
        let mut times = self.stats.borrow_mut();
        for (k, v) in values {
            m.settings.insert(k.clone(), v.clone());
            times.updated_at.insert(k.clone(), now);
        }
        self.admin.borrow_mut().push_audit(audit);
        Ok(())
    }
}
