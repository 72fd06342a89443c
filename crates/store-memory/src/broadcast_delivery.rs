//! The broadcast delivery port in memory. The broadcast and schedule rows live in the admin
//! notification state (reached through its port); this module keeps what migration 0012 adds:
//! each broadcast's state and schedule, and the delivery rows. Each method checks first, then
//! changes the state with no `.await` in between, so it is atomic like its SQL statement.

use crate::MemoryStore;
use cl_app::policy::{Plan, Subscription, SubscriptionStatus, Tier};
use cl_app::ports::broadcast_delivery::{
    check_recipients, result_parts, BroadcastDeliveryStore, BroadcastState, BroadcastSummary,
    ClaimedDelivery, DeliveryId, DeliveryResult, OpenBroadcast, Recipient,
};
use cl_app::ports::notification_admin::{
    BroadcastCounts, BroadcastId, NewBroadcast, NotificationAdminStore, ScheduleClaim, ScheduleId,
    StoredBroadcast,
};
use cl_app::ports::notifications::{tier_of, NotificationStore};
use cl_app::ports::{exact_int, BillingStore, PageRequest, SignalId, SignalStore, StoreError};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Delivery {
    broadcast: BroadcastId,
    recipient: Recipient,
    status: &'static str,
    attempts: u32,
    claimed_until: Option<i64>,
    created_at: i64,
    sent_at: Option<i64>,
}

/// Migration 0012's columns and table.
#[derive(Debug, Default)]
pub(crate) struct BroadcastDeliveryState {
    state: BTreeMap<BroadcastId, BroadcastState>,
    schedule_of: BTreeMap<BroadcastId, ScheduleId>,
    signal_of: BTreeMap<SignalId, BroadcastId>,
    deliveries: BTreeMap<i64, Delivery>,
    last_id: i64,
}

impl BroadcastDeliveryState {
    /// Retention: finished rows (sent or failed) finished before `cutoff`, at most `batch`.
    pub(crate) fn purge(&mut self, cutoff: i64, batch: usize) -> u64 {
        let old: Vec<i64> = self
            .deliveries
            .iter()
            .filter(|(_, d)| d.status != "queued" && d.sent_at.unwrap_or(d.created_at) < cutoff)
            .take(batch)
            .map(|(k, _)| *k)
            .collect();
        for k in &old {
            self.deliveries.remove(k);
        }
        old.len() as u64
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

impl MemoryStore {
    async fn all_broadcasts(&self) -> Result<Vec<StoredBroadcast>, StoreError> {
        let page = PageRequest {
            limit: u32::MAX,
            after: None,
        };
        Ok(self.broadcasts(page).await?.items)
    }

    fn state_of(&self, id: BroadcastId) -> BroadcastState {
        self.broadcast_delivery
            .borrow()
            .state
            .get(&id)
            .copied()
            .unwrap_or(BroadcastState::Queued)
    }

    fn counts_of(&self, id: BroadcastId) -> (u32, u32, u32, u32) {
        let st = self.broadcast_delivery.borrow();
        let rows = st.deliveries.values().filter(|d| d.broadcast == id);
        let (mut all, mut sent, mut failed, mut queued) = (0u32, 0u32, 0u32, 0u32);
        for d in rows {
            all += 1;
            match d.status {
                "sent" => sent += 1,
                "failed" => failed += 1,
                _ => queued += 1,
            }
        }
        (all, sent, failed, queued)
    }
}

impl BroadcastDeliveryStore for MemoryStore {
    async fn audience_users(
        &self,
        tier: Option<Tier>,
        now: i64,
    ) -> Result<Vec<Recipient>, StoreError> {
        exact_int("now", now)?;
        let users: Vec<_> = self.accounts.borrow().users.values().cloned().collect();
        let mut out = Vec::new();
        for u in users {
            if !(u.is_active && u.is_verified) {
                continue;
            }
            let on = self
                .notification_settings(u.id)
                .await?
                .is_some_and(|s| s.prefs.enabled);
            if !on {
                continue;
            }
            if let Some(want) = tier {
                let bu = cl_billing::UserId::new(u.id.0)
                    .map_err(|e| StoreError::corrupt("users", Some(u.id.0), e))?;
                let sub = self.subscription_of(bu).await?;
                let t = tier_of(
                    u.is_admin,
                    sub.map(|s| policy_sub(&s.subscription)).as_ref(),
                    now,
                );
                if t != want {
                    continue;
                }
            }
            out.push(Recipient {
                user: Some(u.id),
                topic: u.ntfy_topic.clone(),
            });
        }
        out.sort();
        Ok(out)
    }

    async fn start_schedule(
        &self,
        id: ScheduleId,
        expected_send_at: i64,
        now: i64,
    ) -> Result<Option<BroadcastId>, StoreError> {
        let claim = ScheduleClaim {
            expected_send_at,
            now,
            next_send_at: None,
        };
        claim.validate()?;
        let Some(s) = self.schedules().await?.into_iter().find(|s| s.id == id) else {
            return Ok(None);
        };
        if !self.claim_schedule(id, claim).await? {
            return Ok(None);
        }
        let b = self
            .create_broadcast(&NewBroadcast {
                audience: s.new.audience,
                template: s.new.template,
                content: s.new.content,
                created_by: s.new.created_by,
                created_at: now,
            })
            .await?;
        self.broadcast_delivery
            .borrow_mut()
            .schedule_of
            .insert(b.id, id);
        Ok(Some(b.id))
    }

    async fn open_broadcasts(&self, limit: u32) -> Result<Vec<OpenBroadcast>, StoreError> {
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let mut all = self.all_broadcasts().await?;
        all.sort_by_key(|b| b.id);
        let st = self.broadcast_delivery.borrow();
        Ok(all
            .into_iter()
            .filter_map(|b| {
                let state = st
                    .state
                    .get(&b.id)
                    .copied()
                    .unwrap_or(BroadcastState::Queued);
                (state != BroadcastState::Done).then(|| OpenBroadcast {
                    id: b.id,
                    state,
                    audience: b.new.audience,
                    content: b.new.content,
                    schedule: st.schedule_of.get(&b.id).copied(),
                    created_at: b.new.created_at,
                })
            })
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }

    async fn queue_deliveries(
        &self,
        id: BroadcastId,
        recipients: &[Recipient],
        now: i64,
    ) -> Result<u64, StoreError> {
        check_recipients(recipients, now)?;
        if !self.all_broadcasts().await?.iter().any(|b| b.id == id) {
            return Err(StoreError::NotFound("broadcast"));
        }
        let mut st = self.broadcast_delivery.borrow_mut();
        let mut added = 0;
        for r in recipients {
            let exists = st
                .deliveries
                .values()
                .any(|d| d.broadcast == id && d.recipient.topic == r.topic);
            if exists {
                continue;
            }
            st.last_id += 1;
            let row = Delivery {
                broadcast: id,
                recipient: r.clone(),
                status: "queued",
                attempts: 0,
                claimed_until: None,
                created_at: now,
                sent_at: None,
            };
            let key = st.last_id;
            st.deliveries.insert(key, row);
            added += 1;
        }
        Ok(added)
    }

    async fn mark_sending(&self, id: BroadcastId) -> Result<bool, StoreError> {
        if self.state_of(id) != BroadcastState::Queued
            || !self.all_broadcasts().await?.iter().any(|b| b.id == id)
        {
            return Ok(false);
        }
        self.broadcast_delivery
            .borrow_mut()
            .state
            .insert(id, BroadcastState::Sending);
        Ok(true)
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
        let mut st = self.broadcast_delivery.borrow_mut();
        let mut out = Vec::new();
        for (&key, d) in &mut st.deliveries {
            if out.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            if d.broadcast == id && d.status == "queued" && d.claimed_until.is_none_or(|c| c <= now)
            {
                d.claimed_until = Some(until);
                d.attempts += 1;
                out.push(ClaimedDelivery {
                    id: DeliveryId(key),
                    topic: d.recipient.topic.clone(),
                    attempts: d.attempts,
                });
            }
        }
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        result: &DeliveryResult,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("sent_at", now)?;
        let (status, _error) = result_parts(result);
        let mut st = self.broadcast_delivery.borrow_mut();
        let Some(d) = st.deliveries.get_mut(&id.0) else {
            return Ok(false);
        };
        if d.status != "queued" {
            return Ok(false);
        }
        d.status = status;
        d.claimed_until = None;
        if status != "queued" {
            d.sent_at = Some(now);
        }
        Ok(true)
    }

    async fn finish_broadcast(&self, id: BroadcastId) -> Result<bool, StoreError> {
        if self.state_of(id) != BroadcastState::Sending {
            return Ok(false);
        }
        let (all, sent, failed, queued) = self.counts_of(id);
        if queued > 0 {
            return Ok(false);
        }
        self.mark_broadcast_sent(
            id,
            BroadcastCounts {
                recipients: all,
                sent,
                failed,
            },
        )
        .await?;
        self.broadcast_delivery
            .borrow_mut()
            .state
            .insert(id, BroadcastState::Done);
        Ok(true)
    }

    async fn queue_signal_broadcast(
        &self,
        signal: SignalId,
        new: &NewBroadcast,
    ) -> Result<Option<BroadcastId>, StoreError> {
        new.validate()?;
        if self.signal(signal).await?.is_none() {
            return Err(StoreError::NotFound("signal"));
        }
        if self
            .broadcast_delivery
            .borrow()
            .signal_of
            .contains_key(&signal)
        {
            return Ok(None);
        }
        let b = self.create_broadcast(new).await?;
        self.broadcast_delivery
            .borrow_mut()
            .signal_of
            .insert(signal, b.id);
        Ok(Some(b.id))
    }

    async fn broadcast_summaries(&self, limit: u32) -> Result<Vec<BroadcastSummary>, StoreError> {
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let mut all = self.all_broadcasts().await?;
        all.sort_by_key(|b| std::cmp::Reverse((b.new.created_at, b.id)));
        all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(all
            .into_iter()
            .map(|b| {
                let (recipients, sent, failed, _) = self.counts_of(b.id);
                BroadcastSummary {
                    id: b.id,
                    state: self.state_of(b.id),
                    title: b.new.content.title.as_str().to_owned(),
                    audience: b.new.audience,
                    schedule: self
                        .broadcast_delivery
                        .borrow()
                        .schedule_of
                        .get(&b.id)
                        .copied(),
                    signal: self
                        .broadcast_delivery
                        .borrow()
                        .signal_of
                        .iter()
                        .find(|(_, id)| **id == b.id)
                        .map(|(s, _)| *s),
                    recipients,
                    sent,
                    failed,
                    created_at: b.new.created_at,
                }
            })
            .collect())
    }
}
