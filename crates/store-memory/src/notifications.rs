//! The notification ports in memory: preferences and per-symbol toggles, the eligibility
//! rules evaluated in code (the same rules the SQL adapters put in one statement, pinned by
//! the contract), and delivery rows with conditional status changes.
//!
//! Each method validates first, reads what it needs (users, subscriptions), then mutates inside
//! one `RefCell` borrow with no `.await` in between, so it is atomic like one SQL statement.

use crate::MemoryStore;
use cl_app::policy::{Plan, Subscription, SubscriptionStatus, Tier};
use cl_app::ports::notifications::{
    tier_of, utc_day_start, ChannelMessage, ChannelMessageId, DeliveryOutcome, DeliveryStatus,
    DueNotification, EligibilityQuery, EligibleUser, NewChannelMessage, NewUserNotification,
    NotificationPrefs, NotificationSettings, NotificationStore, NotifyContext, NotifyPriority,
    NtfyTopic, StoredUserNotification, SymbolNotifyPref, UserNotificationId, MAX_DELIVERY_BATCH,
};
use cl_app::ports::{
    exact_int, BillingStore, CandleStore, PatternStore, SignalId, SignalStatus, SignalStore,
    StoreError, StoredUser, SymbolId, UserId,
};
use cl_domain::Timeframe;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Row {
    stored: StoredUserNotification,
}

/// The notification tables (prefs of `users` live here too; the topic lives in the user row).
#[derive(Debug, Default)]
pub(crate) struct NotifyState {
    prefs: BTreeMap<UserId, NotificationPrefs>,
    symbol_prefs: BTreeMap<(UserId, SymbolId), bool>,
    rows: BTreeMap<i64, Row>,
    last_id: i64,
    /// `notifications`: (row, status, created_at).
    channel: BTreeMap<i64, (NewChannelMessage, DeliveryStatus, i64)>,
    last_channel_id: i64,
}

impl NotifyState {
    /// User notifications by status: queued, sent, failed, skipped (the admin stats).
    pub(crate) fn status_counts(&self) -> [u64; 4] {
        let mut out = [0; 4];
        for r in self.rows.values() {
            let i = match r.stored.status {
                DeliveryStatus::Queued => 0,
                DeliveryStatus::Sent => 1,
                DeliveryStatus::Failed => 2,
                DeliveryStatus::Skipped => 3,
            };
            out[i] += 1;
        }
        out
    }
}

fn policy_sub(s: &cl_app::ports::BillingSubscription) -> Subscription {
    use cl_billing::plan::Plan as P;
    use cl_billing::subscription::SubscriptionStatus as S;
    Subscription {
        plan: match s.plan {
            P::Pro => Plan::Pro,
            P::Premium => Plan::Premium,
            P::Lifetime => Plan::Lifetime,
        },
        status: match s.status {
            S::Active => SubscriptionStatus::Active,
            S::Expired => SubscriptionStatus::Expired,
            S::Cancelled => SubscriptionStatus::Cancelled,
            S::Suspended => SubscriptionStatus::Suspended,
        },
        expires_at: s.expires_at,
    }
}

fn topic_of(u: &StoredUser) -> Result<NtfyTopic, StoreError> {
    NtfyTopic::parse(&u.ntfy_topic).map_err(|e| StoreError::corrupt("users", Some(u.id.0), e))
}

impl MemoryStore {
    fn users_snapshot(&self) -> Vec<StoredUser> {
        self.accounts.borrow().users.values().cloned().collect()
    }

    async fn tier(&self, u: &StoredUser, now: i64) -> Result<Tier, StoreError> {
        let bu = cl_billing::UserId::new(u.id.0)
            .map_err(|e| StoreError::corrupt("users", Some(u.id.0), e))?;
        let sub = self.subscription_of(bu).await?;
        Ok(tier_of(
            u.is_admin,
            sub.map(|s| policy_sub(&s.subscription)).as_ref(),
            now,
        ))
    }

    fn sent_since_now(&self, user: UserId, since: i64) -> u32 {
        let n = self
            .notifications
            .borrow()
            .rows
            .values()
            .filter(|r| {
                r.stored.user == user
                    && r.stored.status == DeliveryStatus::Sent
                    && r.stored.sent_at.is_some_and(|t| t >= since)
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn prefs_of(&self, user: UserId) -> NotificationPrefs {
        self.notifications
            .borrow()
            .prefs
            .get(&user)
            .copied()
            .unwrap_or_default()
    }
}

impl NotificationStore for MemoryStore {
    async fn notification_settings(
        &self,
        user: UserId,
    ) -> Result<Option<NotificationSettings>, StoreError> {
        let Some(u) = self.accounts.borrow().users.get(&user).cloned() else {
            return Ok(None);
        };
        Ok(Some(NotificationSettings {
            topic: topic_of(&u)?,
            prefs: self.prefs_of(user),
        }))
    }

    async fn set_notification_prefs(
        &self,
        user: UserId,
        prefs: &NotificationPrefs,
    ) -> Result<(), StoreError> {
        if !self.accounts.borrow().users.contains_key(&user) {
            return Err(StoreError::NotFound("user"));
        }
        self.notifications.borrow_mut().prefs.insert(user, *prefs);
        Ok(())
    }

    async fn set_topic(&self, user: UserId, topic: &NtfyTopic) -> Result<(), StoreError> {
        let mut acc = self.accounts.borrow_mut();
        if acc
            .users
            .values()
            .any(|u| u.id != user && u.ntfy_topic == topic.as_str())
        {
            return Err(StoreError::Conflict("users.ntfy_topic"));
        }
        let u = acc
            .users
            .get_mut(&user)
            .ok_or(StoreError::NotFound("user"))?;
        u.ntfy_topic = topic.as_str().to_owned();
        Ok(())
    }

    async fn symbol_prefs(&self, user: UserId) -> Result<Vec<SymbolNotifyPref>, StoreError> {
        Ok(self
            .notifications
            .borrow()
            .symbol_prefs
            .iter()
            .filter(|((u, _), _)| *u == user)
            .map(|((_, symbol), notify)| SymbolNotifyPref {
                symbol: *symbol,
                notify: *notify,
            })
            .collect())
    }

    async fn set_symbol_notify(
        &self,
        user: UserId,
        symbol: SymbolId,
        notify: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        exact_int("now", now)?;
        if !self.accounts.borrow().users.contains_key(&user) {
            return Err(StoreError::NotFound("user"));
        }
        self.state.borrow().symbol_exists(symbol)?;
        self.notifications
            .borrow_mut()
            .symbol_prefs
            .insert((user, symbol), notify);
        Ok(())
    }

    async fn eligible_users(&self, q: &EligibilityQuery) -> Result<Vec<EligibleUser>, StoreError> {
        q.validate()?;
        let symbol_on = self
            .state
            .borrow()
            .symbols
            .get(&q.symbol)
            .is_some_and(|s| s.notify_enabled);
        if !symbol_on {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for u in self.users_snapshot() {
            if !(u.is_active && u.is_verified) {
                continue;
            }
            let p = self.prefs_of(u.id);
            let muted = self
                .notifications
                .borrow()
                .symbol_prefs
                .get(&(u.id, q.symbol))
                == Some(&false);
            if !p.enabled
                || muted
                || !p.directions.allows(q.direction)
                || q.confluence < p.min_confluence.get()
                || p.quiet.is_some_and(|h| h.contains(q.signal_minute))
            {
                continue;
            }
            let tier = self.tier(&u, q.now).await?;
            let sent_today = self.sent_since_now(u.id, q.day_start);
            if !q.rule(tier).allows_another(sent_today) {
                continue;
            }
            out.push(EligibleUser {
                user: u.id,
                topic: topic_of(&u)?,
                priority: p.priority,
                tier,
                sent_today,
            });
        }
        Ok(out)
    }

    async fn eligible_users_many(
        &self,
        qs: &[EligibilityQuery],
    ) -> Result<Vec<Vec<EligibleUser>>, StoreError> {
        EligibilityQuery::validate_many(qs)?;
        let mut out = Vec::with_capacity(qs.len());
        for q in qs {
            out.push(self.eligible_users(q).await?);
        }
        Ok(out)
    }

    async fn notify_contexts(&self, ids: &[SignalId]) -> Result<Vec<NotifyContext>, StoreError> {
        let mut ids = ids.to_vec();
        for id in &ids {
            exact_int("signal id", id.0)?;
        }
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(signal) = SignalStore::signal(self, id).await? else {
                continue;
            };
            let pattern = match signal.pattern_id {
                Some(p) => PatternStore::pattern(self, p).await?,
                None => None,
            };
            let Some(pattern) = pattern else {
                continue;
            };
            let name = self
                .state
                .borrow()
                .symbols
                .get(&signal.symbol)
                .map(|s| s.symbol.clone());
            let Some(symbol) = name else {
                continue;
            };
            let last = self.last_candles(signal.symbol, Timeframe::M1, 1).await?;
            out.push(NotifyContext {
                symbol,
                pattern_type: pattern.pattern_type,
                pattern_tf: pattern.tf,
                last_close: last.last().map(cl_domain::Candle::close),
                signal,
            });
        }
        Ok(out)
    }

    async fn queue_notifications(&self, rows: &[NewUserNotification]) -> Result<u64, StoreError> {
        for r in rows {
            exact_int("deliver_at", r.deliver_at)?;
            exact_int("created_at", r.created_at)?;
            if !self.accounts.borrow().users.contains_key(&r.user) {
                return Err(StoreError::NotFound("user"));
            }
            if !self.state.borrow().signals.contains_key(&r.signal) {
                return Err(StoreError::NotFound("signal"));
            }
        }
        let mut st = self.notifications.borrow_mut();
        let mut added = 0;
        for r in rows {
            let exists = st
                .rows
                .values()
                .any(|x| x.stored.user == r.user && x.stored.signal == r.signal);
            if exists {
                continue;
            }
            st.last_id += 1;
            let id = st.last_id;
            st.rows.insert(
                id,
                Row {
                    stored: StoredUserNotification {
                        id: UserNotificationId(id),
                        user: r.user,
                        signal: r.signal,
                        status: DeliveryStatus::Queued,
                        deliver_at: r.deliver_at,
                        sent_at: None,
                        attempts: 0,
                        error: None,
                    },
                },
            );
            added += 1;
        }
        Ok(added)
    }

    async fn due_notifications(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let mut due: Vec<StoredUserNotification> = self
            .notifications
            .borrow()
            .rows
            .values()
            .filter(|r| r.stored.status == DeliveryStatus::Queued && r.stored.deliver_at <= now)
            .map(|r| r.stored.clone())
            .collect();
        due.sort_by_key(|r| (r.deliver_at, r.id));
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let day = utc_day_start(now);
        let mut out = Vec::with_capacity(due.len());
        for r in due {
            let Some(u) = self.accounts.borrow().users.get(&r.user).cloned() else {
                continue;
            };
            let status = self
                .state
                .borrow()
                .signals
                .get(&r.signal)
                .map_or(SignalStatus::Cancelled, |s| s.status);
            let p = self.prefs_of(u.id);
            out.push(DueNotification {
                id: r.id,
                user: r.user,
                signal: r.signal,
                signal_status: status,
                topic: topic_of(&u)?,
                priority: p.priority,
                enabled: p.enabled && u.is_active && u.is_verified,
                tier: self.tier(&u, now).await?,
                sent_today: self.sent_since_now(u.id, day),
            });
        }
        Ok(out)
    }

    async fn claim_notifications(
        &self,
        ids: &[UserNotificationId],
        now: i64,
        until: i64,
    ) -> Result<Vec<UserNotificationId>, StoreError> {
        exact_int("now", now)?;
        exact_int("until", until)?;
        if ids.len() > MAX_DELIVERY_BATCH as usize {
            return Err(StoreError::Invalid("too many ids".into()));
        }
        let mut st = self.notifications.borrow_mut();
        let mut claimed = Vec::new();
        for id in ids {
            if let Some(r) = st.rows.get_mut(&id.0) {
                if r.stored.status == DeliveryStatus::Queued && r.stored.deliver_at <= now {
                    r.stored.deliver_at = until;
                    r.stored.attempts = r.stored.attempts.saturating_add(1);
                    claimed.push(*id);
                }
            }
        }
        claimed.sort();
        claimed.dedup();
        Ok(claimed)
    }

    async fn finish_notification(
        &self,
        id: UserNotificationId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, at, error) = outcome.parts();
        exact_int("at", at)?;
        let mut st = self.notifications.borrow_mut();
        let Some(r) = st.rows.get_mut(&id.0) else {
            return Ok(false);
        };
        if r.stored.status != DeliveryStatus::Queued {
            return Ok(false);
        }
        r.stored.status = status;
        r.stored.error = error;
        if status == DeliveryStatus::Sent {
            r.stored.sent_at = Some(at);
        }
        Ok(true)
    }

    async fn mark_signal_notified(&self, signal: SignalId, at: i64) -> Result<bool, StoreError> {
        exact_int("at", at)?;
        let mut st = self.state.borrow_mut();
        match st.signals.get_mut(&signal) {
            Some(s) if s.status == SignalStatus::Pending => {
                s.status = SignalStatus::Notified;
                s.notified_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn notifications_of_signal(
        &self,
        signal: SignalId,
    ) -> Result<Vec<StoredUserNotification>, StoreError> {
        let mut rows: Vec<_> = self
            .notifications
            .borrow()
            .rows
            .values()
            .filter(|r| r.stored.signal == signal)
            .map(|r| r.stored.clone())
            .collect();
        rows.sort_by_key(|r| r.user);
        Ok(rows)
    }

    async fn sent_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        exact_int("since", since)?;
        Ok(self.sent_since_now(user, since))
    }

    async fn queue_channel(&self, new: &NewChannelMessage) -> Result<ChannelMessageId, StoreError> {
        new.validate()?;
        let mut st = self.notifications.borrow_mut();
        st.last_channel_id += 1;
        let id = ChannelMessageId(st.last_channel_id);
        st.channel
            .insert(id.0, (new.clone(), DeliveryStatus::Queued, new.created_at));
        Ok(id)
    }

    async fn due_channel(&self, now: i64, limit: u32) -> Result<Vec<ChannelMessage>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let due: Vec<(i64, NewChannelMessage)> = self
            .notifications
            .borrow()
            .channel
            .iter()
            .filter(|(_, (_, status, at))| *status == DeliveryStatus::Queued && *at <= now)
            .map(|(id, (m, _, _))| (*id, m.clone()))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for (id, m) in due {
            let owner = self
                .accounts
                .borrow()
                .users
                .values()
                .find(|u| u.ntfy_topic == m.topic)
                .map(|u| u.id);
            let priority = match owner {
                Some(user) => self.prefs_of(user).priority,
                None => NotifyPriority::new(3)
                    .map_err(|e| StoreError::corrupt("notifications", Some(id), e))?,
            };
            out.push(ChannelMessage {
                id: ChannelMessageId(id),
                kind: m.kind,
                topic: m.topic,
                title: m.title,
                created_at: m.created_at,
                priority,
            });
        }
        Ok(out)
    }

    async fn finish_channel(
        &self,
        id: ChannelMessageId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, at, _) = outcome.parts();
        exact_int("at", at)?;
        let mut st = self.notifications.borrow_mut();
        match st.channel.get_mut(&id.0) {
            Some((_, s, _)) if *s == DeliveryStatus::Queued => {
                *s = status;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
