//! The billing ports over Postgres: payments, subscriptions, webhook events, expiry warnings.
//!
//! `apply_webhook` is ONE transaction:
//! 1. `INSERT INTO webhook_events … ON CONFLICT (provider, event_key) DO NOTHING RETURNING id`
//!    — no row: a replay (a concurrent duplicate waits on the unique index, then sees the
//!    committed row) → `ROLLBACK`, [`ApplyOutcome::Replay`];
//! 2. `SELECT … FOR NO KEY UPDATE` of the payment and of the user's subscription that the
//!    decision was computed from; any difference → `ROLLBACK`, [`ApplyOutcome::Stale`] (the
//!    service decides again). A subscription expected absent is INSERTed without `ON CONFLICT`, so a concurrent
//!    first insert fails on `subscriptions_user_uq` → stale as well; same for a renewal row on
//!    `payments_provider_external_uq`;
//! 3. the payment: `INSERT … RETURNING id` (renewal; the event row then points at it) or
//!    `UPDATE … WHERE id = $1 AND (status = $new OR rank(status) < rank($new))` — a status
//!    never moves backwards even if the caller asks; 0 rows → `ROLLBACK`, `Invalid`;
//! 4. the subscription: `INSERT` or `UPDATE … WHERE user_id`.
//!
//! Any error in between rolls the whole unit back (event row included).
//!
//! The row locks are `FOR NO KEY UPDATE`, not `FOR UPDATE`: the event row's foreign key to
//! `payments` takes a `KEY SHARE` lock on the payment, which `FOR UPDATE` would wait for, so
//! two events of one payment arriving together would deadlock (found by the two-connection
//! test); `NO KEY UPDATE` only serialises the writers.

use crate::rows::Keyset;
use crate::{get, parse, PgStore};
use cl_app::ports::admin::page_of;
use cl_app::ports::{
    exact_int, validate_new_payment, ApplyOutcome, BillingStore, BillingSubscription, Cursor,
    NewPayment, Page, PageRequest, PaymentId, PaymentRecord, PaymentStatus, Provider, StoreError,
    StoredPayment, StoredSubscription, StoredWebhookEvent, SubscriptionId, WarningKey,
    WebhookWrite,
};
use cl_billing::plan::{Offer, Plan};
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_billing::{Amount, Currency, UserId};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const PAYMENT_COLS: &str = "id, user_id, provider, external_id, plan, cycle, amount, currency, \
     crypto_currency, actually_paid, status, flagged, completed_at, provider_updated_at, \
     created_at, updated_at";

const SUBSCRIPTION_COLS: &str = "id, user_id, plan, status, starts_at, expires_at, \
     cancelled_at, provider, external_subscription_id, created_at, updated_at";

/// `rank(status)` of `cl_billing::PaymentStatus::rank`, as SQL over the stored column.
const RANK_SQL: &str = "(CASE status WHEN 'pending' THEN 0 WHEN 'failed' THEN 1 \
     WHEN 'expired' THEN 1 WHEN 'completed' THEN 2 WHEN 'refunded' THEN 3 END)";

fn payment_row(row: &Row) -> Result<StoredPayment, StoreError> {
    const T: &str = "payments";
    let id: i64 = get(row, 0, T)?;
    let pid = parse(PaymentId::new(id), T, Some(id))?;
    let user: i64 = get(row, 1, T)?;
    let provider: &str = get(row, 2, T)?;
    let plan: &str = get(row, 4, T)?;
    let cycle: &str = get(row, 5, T)?;
    let amount: f64 = get(row, 6, T)?;
    let currency: &str = get(row, 7, T)?;
    let status: &str = get(row, 10, T)?;
    Ok(StoredPayment {
        id: pid,
        record: PaymentRecord {
            id: Some(pid),
            user_id: parse(UserId::new(user), T, Some(id))?,
            provider: parse(Provider::parse(provider), T, Some(id))?,
            external_id: get(row, 3, T)?,
            offer: parse(Offer::from_stored(plan, cycle), T, Some(id))?,
            amount: parse(Amount::from_f64_units(amount), T, Some(id))?,
            currency: parse(Currency::parse(currency), T, Some(id))?,
            crypto_currency: get(row, 8, T)?,
            actually_paid: get(row, 9, T)?,
            status: parse(PaymentStatus::parse(status), T, Some(id))?,
            flagged: get(row, 11, T)?,
            completed_at: get(row, 12, T)?,
            last_event_at: get(row, 13, T)?,
        },
        created_at: get(row, 14, T)?,
        updated_at: get(row, 15, T)?,
    })
}

fn subscription_row(row: &Row) -> Result<StoredSubscription, StoreError> {
    const T: &str = "subscriptions";
    let id: i64 = get(row, 0, T)?;
    let user: i64 = get(row, 1, T)?;
    let plan: &str = get(row, 2, T)?;
    let status: &str = get(row, 3, T)?;
    let provider: Option<&str> = get(row, 7, T)?;
    Ok(StoredSubscription {
        id: parse(SubscriptionId::new(id), T, Some(id))?,
        subscription: BillingSubscription {
            user_id: parse(UserId::new(user), T, Some(id))?,
            plan: parse(Plan::parse(plan), T, Some(id))?,
            status: parse(SubscriptionStatus::parse(status), T, Some(id))?,
            starts_at: get(row, 4, T)?,
            expires_at: get(row, 5, T)?,
            cancelled_at: get(row, 6, T)?,
            provider: provider
                .map(|p| parse(SubscriptionSource::parse(p), T, Some(id)))
                .transpose()?,
            external_subscription_id: get(row, 8, T)?,
        },
        created_at: get(row, 9, T)?,
        updated_at: get(row, 10, T)?,
    })
}

fn event_row(row: &Row) -> Result<StoredWebhookEvent, StoreError> {
    const T: &str = "webhook_events";
    let provider: &str = get(row, 0, T)?;
    let payment: Option<i64> = get(row, 3, T)?;
    Ok(StoredWebhookEvent {
        provider: parse(Provider::parse(provider), T, None)?,
        event_key: get(row, 1, T)?,
        received_at: get(row, 2, T)?,
        payment_id: payment
            .map(|p| parse(PaymentId::new(p), T, Some(p)))
            .transpose()?,
        outcome: get(row, 4, T)?,
    })
}

/// Column values of a payment record, owned, in `INSERT`/`UPDATE` order.
struct PaymentValues {
    user_id: i64,
    provider: &'static str,
    external_id: Option<String>,
    plan: &'static str,
    cycle: &'static str,
    amount: f64,
    currency: String,
    crypto_currency: Option<String>,
    actually_paid: Option<f64>,
    status: &'static str,
    rank: i64,
    flagged: bool,
    completed_at: Option<i64>,
    provider_updated_at: Option<i64>,
}

impl PaymentValues {
    fn of(p: &PaymentRecord) -> Self {
        Self {
            user_id: p.user_id.get(),
            provider: p.provider.as_str(),
            external_id: p.external_id.clone(),
            plan: p.offer.plan().as_str(),
            cycle: p.offer.cycle_str(),
            amount: p.amount.as_f64_units(),
            currency: p.currency.as_str().to_owned(),
            crypto_currency: p.crypto_currency.clone(),
            actually_paid: p.actually_paid,
            status: p.status.as_str(),
            rank: i64::from(p.status.rank()),
            flagged: p.flagged,
            completed_at: p.completed_at,
            provider_updated_at: p.last_event_at,
        }
    }
}

struct SubscriptionValues {
    user_id: i64,
    plan: &'static str,
    status: &'static str,
    starts_at: i64,
    expires_at: Option<i64>,
    cancelled_at: Option<i64>,
    provider: Option<&'static str>,
    external_subscription_id: Option<String>,
}

impl SubscriptionValues {
    fn of(s: &BillingSubscription) -> Self {
        Self {
            user_id: s.user_id.get(),
            plan: s.plan.as_str(),
            status: s.status.as_str(),
            starts_at: s.starts_at,
            expires_at: s.expires_at,
            cancelled_at: s.cancelled_at,
            provider: s.provider.map(SubscriptionSource::as_str),
            external_subscription_id: s.external_subscription_id.clone(),
        }
    }
}

const INSERT_EVENT: &str = "INSERT INTO webhook_events (provider, event_key, received_at, \
     payment_id, outcome) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (provider, event_key) DO NOTHING RETURNING id";

impl BillingStore for PgStore<'_> {
    async fn create_payment(&self, new: &NewPayment) -> Result<PaymentId, StoreError> {
        validate_new_payment(new)?;
        let (user, provider, plan, cycle) = (
            new.user_id.get(),
            new.provider.as_str(),
            new.offer.plan().as_str(),
            new.offer.cycle_str(),
        );
        let amount = new.amount.as_f64_units();
        let currency = new.currency.as_str();
        let coin = new.crypto_currency.map(|c| c.provider_code());
        let status = new.status.as_str();
        let rows = self
            .query(
                "INSERT INTO payments (user_id, provider, plan, cycle, amount, currency, \
                 crypto_currency, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                &[
                    (&user, Type::INT8),
                    (&provider, Type::TEXT),
                    (&plan, Type::TEXT),
                    (&cycle, Type::TEXT),
                    (&amount, Type::FLOAT8),
                    (&currency, Type::TEXT),
                    (&coin, Type::TEXT),
                    (&status, Type::TEXT),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await?;
        let row = rows.first().ok_or(StoreError::NotFound("payment"))?;
        let id: i64 = get(row, 0, "payments")?;
        parse(PaymentId::new(id), "payments", Some(id))
    }

    async fn payment_by_id(&self, id: PaymentId) -> Result<Option<StoredPayment>, StoreError> {
        let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE id = $1");
        self.opt(&sql, &[(&id.get(), Type::INT8)], payment_row)
            .await
    }

    async fn payment_by_external_id(
        &self,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError> {
        let sql =
            format!("SELECT {PAYMENT_COLS} FROM payments WHERE provider = $1 AND external_id = $2");
        let provider = provider.as_str();
        self.opt(
            &sql,
            &[(&provider, Type::TEXT), (&external_id, Type::TEXT)],
            payment_row,
        )
        .await
    }

    async fn payment(
        &self,
        id: PaymentId,
        user: UserId,
    ) -> Result<Option<StoredPayment>, StoreError> {
        let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE id = $1 AND user_id = $2");
        self.opt(
            &sql,
            &[(&id.get(), Type::INT8), (&user.get(), Type::INT8)],
            payment_row,
        )
        .await
    }

    async fn payments_of(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError> {
        page.validate()?;
        let k = Keyset::of(page);
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE user_id = $1 \
             AND ($2::bigint IS NULL OR (created_at, id) < ($2, $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows = self
            .query(
                &sql,
                &[
                    (&user.get(), Type::INT8),
                    (&k.ts, Type::INT8),
                    (&k.id, Type::INT8),
                    (&k.fetch, Type::INT8),
                ],
            )
            .await?;
        let items = rows
            .iter()
            .map(payment_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, page.limit, |p| Cursor {
            ts: p.created_at,
            id: p.id.get(),
        }))
    }

    async fn subscription_of(
        &self,
        user: UserId,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE user_id = $1");
        self.opt(&sql, &[(&user.get(), Type::INT8)], subscription_row)
            .await
    }

    async fn apply_webhook(&self, write: &WebhookWrite) -> Result<ApplyOutcome, StoreError> {
        write.validate()?;
        let tx = self.begin().await?;
        match apply_in(&tx, write).await {
            Ok(ApplyOutcome::Applied { payment_id }) => {
                tx.commit().await?;
                Ok(ApplyOutcome::Applied { payment_id })
            }
            Ok(other) => {
                tx.rollback().await;
                Ok(other)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn webhook_event(
        &self,
        provider: Provider,
        event_key: &str,
    ) -> Result<Option<StoredWebhookEvent>, StoreError> {
        let provider = provider.as_str();
        self.opt(
            "SELECT provider, event_key, received_at, payment_id, outcome \
                 FROM webhook_events WHERE provider = $1 AND event_key = $2",
            &[(&provider, Type::TEXT), (&event_key, Type::TEXT)],
            event_row,
        )
        .await
    }

    async fn expire_subscriptions(&self, now: i64) -> Result<u64, StoreError> {
        exact_int("now", now)?;
        let rows = self
            .query(
                "UPDATE subscriptions SET status = 'expired', updated_at = $1 \
                 WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at < $1 \
                 RETURNING id",
                &[(&now, Type::INT8)],
            )
            .await?;
        Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
    }

    async fn subscriptions_expiring(
        &self,
        now: i64,
        within_ms: i64,
    ) -> Result<Vec<StoredSubscription>, StoreError> {
        exact_int("now", now)?;
        exact_int("within", within_ms)?;
        let until = now.saturating_add(within_ms);
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions \
             WHERE status IN ('active', 'cancelled') AND expires_at > $1 AND expires_at <= $2 \
             ORDER BY expires_at, id"
        );
        self.all(
            &sql,
            &[(&now, Type::INT8), (&until, Type::INT8)],
            subscription_row,
        )
        .await
    }

    async fn record_expiry_warnings(
        &self,
        send: &WarningKey,
        record: &[WarningKey],
        sent_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("expiry_warnings.sent_at", sent_at)?;
        let keys: Vec<&WarningKey> = std::iter::once(send).chain(record).collect();
        let mut subs = Vec::with_capacity(keys.len());
        let mut expiries = Vec::with_capacity(keys.len());
        let mut days = Vec::with_capacity(keys.len());
        for k in keys {
            subs.push(k.subscription_id.get());
            expiries.push(exact_int("expiry_warnings.expires_at", k.expires_at)?);
            days.push(k.days_before);
        }
        // One statement: insert every key (existing ones are left alone) and report whether
        // the `send` key (element 1) was among the new rows.
        let rows = self
            .query(
                "WITH ins AS ( \
                   INSERT INTO expiry_warnings (subscription_id, expires_at, days_before, sent_at) \
                   SELECT DISTINCT s, e, d, $4 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(s, e, d) \
                   ON CONFLICT (subscription_id, expires_at, days_before) DO NOTHING \
                   RETURNING subscription_id, expires_at, days_before) \
                 SELECT count(*) FROM ins WHERE subscription_id = $1[1] AND expires_at = $2[1] \
                   AND days_before = $3[1]",
                &[
                    (&subs, Type::INT8_ARRAY),
                    (&expiries, Type::INT8_ARRAY),
                    (&days, Type::INT8_ARRAY),
                    (&sent_at, Type::INT8),
                ],
            )
            .await?;
        let n: i64 = match rows.first() {
            Some(r) => get(r, 0, "expiry_warnings")?,
            None => 0,
        };
        Ok(n > 0)
    }
}

async fn apply_in(
    tx: &crate::Tx<'_, '_>,
    write: &WebhookWrite,
) -> Result<ApplyOutcome, StoreError> {
    let provider = write.provider.as_str();
    let event_payment = write.payment_id.map(PaymentId::get);
    let inserted = tx
        .query(
            INSERT_EVENT,
            &[
                (&provider, Type::TEXT),
                (&write.event_key, Type::TEXT),
                (&write.received_at, Type::INT8),
                (&event_payment, Type::INT8),
                (&write.outcome, Type::TEXT),
            ],
        )
        .await?;
    let Some(event_row) = inserted.first() else {
        return Ok(ApplyOutcome::Replay);
    };
    let event_id: i64 = get(event_row, 0, "webhook_events")?;

    if let Some(read) = &write.read_payment {
        let Some(id) = read.id else {
            return Ok(ApplyOutcome::Stale);
        };
        let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE id = $1 FOR NO KEY UPDATE");
        let rows = tx.query(&sql, &[(&id.get(), Type::INT8)]).await?;
        let stored = rows.first().map(payment_row).transpose()?;
        if stored.as_ref().map(|p| &p.record) != Some(read) {
            return Ok(ApplyOutcome::Stale);
        }
    }
    if let Some(user) = write.subscription_user {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE user_id = $1 FOR NO KEY UPDATE"
        );
        let rows = tx.query(&sql, &[(&user.get(), Type::INT8)]).await?;
        let stored = rows.first().map(subscription_row).transpose()?;
        if stored.as_ref().map(|s| &s.subscription) != write.read_subscription.as_ref() {
            return Ok(ApplyOutcome::Stale);
        }
    }

    let mut payment_id = write.payment_id;
    if let Some(p) = &write.payment {
        let v = PaymentValues::of(p);
        match p.id {
            None => {
                let rows = match tx
                    .query(
                        "INSERT INTO payments (user_id, provider, external_id, plan, cycle, \
                         amount, currency, crypto_currency, actually_paid, status, flagged, \
                         completed_at, provider_updated_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                         RETURNING id",
                        &[
                            (&v.user_id, Type::INT8),
                            (&v.provider, Type::TEXT),
                            (&v.external_id, Type::TEXT),
                            (&v.plan, Type::TEXT),
                            (&v.cycle, Type::TEXT),
                            (&v.amount, Type::FLOAT8),
                            (&v.currency, Type::TEXT),
                            (&v.crypto_currency, Type::TEXT),
                            (&v.actually_paid, Type::FLOAT8),
                            (&v.status, Type::TEXT),
                            (&v.flagged, Type::BOOL),
                            (&v.completed_at, Type::INT8),
                            (&v.provider_updated_at, Type::INT8),
                            (&write.received_at, Type::INT8),
                        ],
                    )
                    .await
                {
                    Ok(rows) => rows,
                    // A concurrent event inserted the same renewal row first.
                    Err(StoreError::Conflict(_)) => return Ok(ApplyOutcome::Stale),
                    Err(e) => return Err(e),
                };
                let row = rows.first().ok_or(StoreError::NotFound("payment"))?;
                let id: i64 = get(row, 0, "payments")?;
                let new_id = parse(PaymentId::new(id), "payments", Some(id))?;
                tx.query(
                    "UPDATE webhook_events SET payment_id = $2 WHERE id = $1",
                    &[(&event_id, Type::INT8), (&id, Type::INT8)],
                )
                .await?;
                payment_id = Some(new_id);
            }
            Some(id) => {
                let sql = format!(
                    "UPDATE payments SET external_id = $2, actually_paid = $3, status = $4, \
                     flagged = $5, completed_at = $6, provider_updated_at = $7, updated_at = $8 \
                     WHERE id = $1 AND (status = $4 OR {RANK_SQL} < $9) RETURNING id"
                );
                let rows = match tx
                    .query(
                        &sql,
                        &[
                            (&id.get(), Type::INT8),
                            (&v.external_id, Type::TEXT),
                            (&v.actually_paid, Type::FLOAT8),
                            (&v.status, Type::TEXT),
                            (&v.flagged, Type::BOOL),
                            (&v.completed_at, Type::INT8),
                            (&v.provider_updated_at, Type::INT8),
                            (&write.received_at, Type::INT8),
                            (&v.rank, Type::INT8),
                        ],
                    )
                    .await
                {
                    Ok(rows) => rows,
                    Err(StoreError::Conflict(_)) => return Ok(ApplyOutcome::Stale),
                    Err(e) => return Err(e),
                };
                if rows.is_empty() {
                    return Err(StoreError::Invalid(format!(
                        "payment {id} may not move back to {}",
                        v.status
                    )));
                }
                payment_id = Some(id);
            }
        }
    }

    if let Some(s) = &write.subscription {
        let v = SubscriptionValues::of(s);
        let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 9] = [
            (&v.user_id, Type::INT8),
            (&v.plan, Type::TEXT),
            (&v.status, Type::TEXT),
            (&v.starts_at, Type::INT8),
            (&v.expires_at, Type::INT8),
            (&v.cancelled_at, Type::INT8),
            (&v.provider, Type::TEXT),
            (&v.external_subscription_id, Type::TEXT),
            (&write.received_at, Type::INT8),
        ];
        let result = if write.read_subscription.is_none() {
            tx.query(
                "INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, \
                 cancelled_at, provider, external_subscription_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                &params,
            )
            .await
        } else {
            tx.query(
                "UPDATE subscriptions SET plan = $2, status = $3, starts_at = $4, \
                 expires_at = $5, cancelled_at = $6, provider = $7, \
                 external_subscription_id = $8, updated_at = $9 WHERE user_id = $1 RETURNING id",
                &params,
            )
            .await
        };
        match result {
            Ok(rows) if rows.is_empty() => return Ok(ApplyOutcome::Stale),
            Ok(_) => {}
            // A concurrent first subscription of the same user.
            Err(StoreError::Conflict(_)) => return Ok(ApplyOutcome::Stale),
            Err(e) => return Err(e),
        }
    }
    Ok(ApplyOutcome::Applied { payment_id })
}
