//! The billing ports in memory: payments, subscriptions, webhook events, expiry warnings.
//!
//! `apply_webhook` checks everything (replay, unchanged rows, status order, unique keys, the
//! users referred to) before the first mutation and then mutates inside one `RefCell` borrow
//! with no `.await` in between, so it is all-or-nothing like the SQL transaction.

use crate::MemoryStore;
use cl_app::ports::{
    exact_int, validate_new_payment, ApplyOutcome, BillingStore, BillingSubscription, NewPayment,
    Page, PageRequest, PaymentId, PaymentRecord, Provider, StoreError, StoredPayment,
    StoredSubscription, StoredWebhookEvent, SubscriptionId, UserStore, WarningKey, WebhookWrite,
};
use cl_app::ports::{Cursor, UserId};
use cl_billing::subscription::SubscriptionStatus;
use std::collections::{BTreeMap, BTreeSet};

/// The billing tables.
#[derive(Debug, Default)]
pub(crate) struct BillingState {
    payments: BTreeMap<i64, StoredPayment>,
    last_payment_id: i64,
    /// Keyed by user id.
    pub(crate) subscriptions: BTreeMap<i64, StoredSubscription>,
    pub(crate) last_subscription_id: i64,
    events: BTreeMap<(&'static str, String), StoredWebhookEvent>,
    warnings: BTreeSet<(i64, i64, i64)>,
}

fn corrupt_id(what: &'static str) -> StoreError {
    StoreError::corrupt("payments", None, what)
}

impl BillingState {
    fn external_taken(&self, provider: Provider, external_id: &str, except: Option<i64>) -> bool {
        self.payments.values().any(|p| {
            p.record.provider == provider
                && p.record.external_id.as_deref() == Some(external_id)
                && Some(p.id.get()) != except
        })
    }
}

impl MemoryStore {
    async fn require_billing_user(&self, user: cl_billing::UserId) -> Result<(), StoreError> {
        match self.user(UserId(user.get())).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound("user")),
        }
    }
}

impl BillingStore for MemoryStore {
    async fn create_payment(&self, new: &NewPayment) -> Result<PaymentId, StoreError> {
        validate_new_payment(new)?;
        self.require_billing_user(new.user_id).await?;
        let mut st = self.billing.borrow_mut();
        let id = PaymentId::new(st.last_payment_id + 1).map_err(|_| corrupt_id("id space"))?;
        st.last_payment_id += 1;
        st.payments.insert(
            id.get(),
            StoredPayment {
                id,
                record: new.clone().into_record(id),
                created_at: new.created_at,
                updated_at: new.created_at,
            },
        );
        Ok(id)
    }

    async fn payment_by_id(&self, id: PaymentId) -> Result<Option<StoredPayment>, StoreError> {
        Ok(self.billing.borrow().payments.get(&id.get()).cloned())
    }

    async fn payment_by_external_id(
        &self,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError> {
        Ok(self
            .billing
            .borrow()
            .payments
            .values()
            .find(|p| {
                p.record.provider == provider
                    && p.record.external_id.as_deref() == Some(external_id)
            })
            .cloned())
    }

    async fn payment(
        &self,
        id: PaymentId,
        user: cl_billing::UserId,
    ) -> Result<Option<StoredPayment>, StoreError> {
        Ok(self
            .billing
            .borrow()
            .payments
            .get(&id.get())
            .filter(|p| p.record.user_id == user)
            .cloned())
    }

    async fn payments_of(
        &self,
        user: cl_billing::UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError> {
        page.validate()?;
        let st = self.billing.borrow();
        let mut rows: Vec<&StoredPayment> = st
            .payments
            .values()
            .filter(|p| p.record.user_id == user)
            .filter(|p| {
                page.after
                    .is_none_or(|c| c.is_before(p.created_at, p.id.get()))
            })
            .collect();
        rows.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id.get())));
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next = (rows.len() > limit)
            .then(|| rows.get(limit.saturating_sub(1)))
            .flatten()
            .map(|p| Cursor {
                ts: p.created_at,
                id: p.id.get(),
            });
        Ok(Page {
            items: rows.into_iter().take(limit).cloned().collect(),
            next,
        })
    }

    async fn subscription_of(
        &self,
        user: cl_billing::UserId,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        Ok(self
            .billing
            .borrow()
            .subscriptions
            .get(&user.get())
            .cloned())
    }

    async fn apply_webhook(&self, write: &WebhookWrite) -> Result<ApplyOutcome, StoreError> {
        write.validate()?;
        // Foreign keys, checked before the first mutation.
        if let Some(p) = write.payment.as_ref().filter(|p| p.id.is_none()) {
            self.require_billing_user(p.user_id).await?;
        }
        if let Some(s) = &write.subscription {
            self.require_billing_user(s.user_id).await?;
        }
        let mut st = self.billing.borrow_mut();
        let key = (write.provider.as_str(), write.event_key.clone());
        if st.events.contains_key(&key) {
            return Ok(ApplyOutcome::Replay);
        }
        if let Some(read) = &write.read_payment {
            let stored = read.id.and_then(|id| st.payments.get(&id.get()));
            if stored.map(|p| &p.record) != Some(read) {
                return Ok(ApplyOutcome::Stale);
            }
        }
        if let Some(user) = write.subscription_user {
            let stored = st.subscriptions.get(&user.get()).map(|s| &s.subscription);
            if stored != write.read_subscription.as_ref() {
                return Ok(ApplyOutcome::Stale);
            }
        }
        if let Some(p) = &write.payment {
            if let Some(ext) = &p.external_id {
                if st.external_taken(p.provider, ext, p.id.map(PaymentId::get)) {
                    return Ok(ApplyOutcome::Stale);
                }
            }
            if let Some(id) = p.id {
                if !st.payments.contains_key(&id.get()) {
                    return Err(StoreError::NotFound("payment"));
                }
            }
        }
        let new_payment_id = match write.payment.as_ref().filter(|p| p.id.is_none()) {
            Some(_) => {
                Some(PaymentId::new(st.last_payment_id + 1).map_err(|_| corrupt_id("id space"))?)
            }
            None => None,
        };
        let new_sub_id = match (&write.subscription, write.read_subscription.is_none()) {
            (Some(_), true) => Some(
                SubscriptionId::new(st.last_subscription_id + 1)
                    .map_err(|_| StoreError::corrupt("subscriptions", None, "id space"))?,
            ),
            _ => None,
        };

        // Every check passed: mutate.
        let now = write.received_at;
        let mut payment_id = write.payment_id;
        if let Some(p) = &write.payment {
            match (p.id, new_payment_id) {
                (Some(id), _) => {
                    if let Some(row) = st.payments.get_mut(&id.get()) {
                        row.record = p.clone();
                        row.updated_at = now;
                    }
                    payment_id = Some(id);
                }
                (None, Some(id)) => {
                    st.last_payment_id = id.get();
                    st.payments.insert(
                        id.get(),
                        StoredPayment {
                            id,
                            record: PaymentRecord {
                                id: Some(id),
                                ..p.clone()
                            },
                            created_at: now,
                            updated_at: now,
                        },
                    );
                    payment_id = Some(id);
                }
                (None, None) => {}
            }
        }
        if let Some(s) = &write.subscription {
            match st.subscriptions.get_mut(&s.user_id.get()) {
                Some(row) => {
                    row.subscription = s.clone();
                    row.updated_at = now;
                }
                None => {
                    if let Some(id) = new_sub_id {
                        st.last_subscription_id = id.get();
                        st.subscriptions.insert(
                            s.user_id.get(),
                            StoredSubscription {
                                id,
                                subscription: s.clone(),
                                created_at: now,
                                updated_at: now,
                            },
                        );
                    }
                }
            }
        }
        st.events.insert(
            key,
            StoredWebhookEvent {
                provider: write.provider,
                event_key: write.event_key.clone(),
                received_at: now,
                payment_id,
                outcome: write.outcome.clone(),
            },
        );
        Ok(ApplyOutcome::Applied { payment_id })
    }

    async fn webhook_event(
        &self,
        provider: Provider,
        event_key: &str,
    ) -> Result<Option<StoredWebhookEvent>, StoreError> {
        Ok(self
            .billing
            .borrow()
            .events
            .get(&(provider.as_str(), event_key.to_owned()))
            .cloned())
    }

    async fn expire_subscriptions(&self, now: i64) -> Result<u64, StoreError> {
        exact_int("now", now)?;
        let mut st = self.billing.borrow_mut();
        let mut n = 0;
        for row in st.subscriptions.values_mut() {
            let s = &mut row.subscription;
            if s.status == SubscriptionStatus::Active && s.expires_at.is_some_and(|e| e < now) {
                s.status = SubscriptionStatus::Expired;
                row.updated_at = now;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn subscriptions_expiring(
        &self,
        now: i64,
        within_ms: i64,
    ) -> Result<Vec<StoredSubscription>, StoreError> {
        exact_int("now", now)?;
        exact_int("within", within_ms)?;
        let until = now.saturating_add(within_ms);
        Ok(self
            .billing
            .borrow()
            .subscriptions
            .values()
            .filter(|row| {
                let s: &BillingSubscription = &row.subscription;
                matches!(
                    s.status,
                    SubscriptionStatus::Active | SubscriptionStatus::Cancelled
                ) && s.expires_at.is_some_and(|e| now < e && e <= until)
            })
            .cloned()
            .collect())
    }

    async fn record_expiry_warnings(
        &self,
        send: &WarningKey,
        record: &[WarningKey],
        sent_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("expiry_warnings.sent_at", sent_at)?;
        let mut st = self.billing.borrow_mut();
        let keys: Vec<&WarningKey> = std::iter::once(send).chain(record).collect();
        for k in &keys {
            exact_int("expiry_warnings.expires_at", k.expires_at)?;
            if !matches!(k.days_before, 1 | 3 | 7) {
                return Err(StoreError::Invalid("expiry_warnings.days_before".into()));
            }
            if !st.subscriptions.values().any(|s| s.id == k.subscription_id) {
                return Err(StoreError::NotFound("subscription"));
            }
        }
        let key = |k: &WarningKey| (k.subscription_id.get(), k.expires_at, k.days_before);
        let fresh = !st.warnings.contains(&key(send));
        for k in keys {
            st.warnings.insert(key(k));
        }
        Ok(fresh)
    }
}
