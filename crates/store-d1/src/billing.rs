//! The billing ports over D1: payments, subscriptions, webhook events, expiry warnings, with
//! the conventions of the market ports (i64 bound as exact f64 after the 2^53 check, booleans
//! 0/1, rows converted once with `TryFrom`, errors classified once).
//!
//! `apply_webhook` is ONE `batch()` (one round trip, one transaction, rolled back as a whole
//! when a statement fails). A batch cannot branch on what an earlier statement found, so the
//! decision is made in SQL, on the state before any write, and carried by a marker:
//! 1. `SELECT EXISTS (event)` — tells a replay from a stale write afterwards;
//! 2. `INSERT INTO webhook_events … SELECT … WHERE <guard> ON CONFLICT DO NOTHING RETURNING
//!    id`, with the outcome set to the [`APPLYING`] marker. The guard: the payment row equals
//!    the one read, column by column, and its status may become the new one (`status = new OR
//!    rank(status) < rank(new)`: a status never moves backwards, in SQL too); the user's
//!    subscription equals the one read (or is absent when read absent);
//! 3. every write is guarded by `EXISTS (our event row with the marker)`, so it runs only when
//!    step 2 inserted: the payment `INSERT` (renewal; the event row then points at
//!    `max(payments.id)`, the row just inserted under AUTOINCREMENT) or `UPDATE … WHERE id AND
//!    rank guard`; the subscription `INSERT` or `UPDATE … WHERE user_id`;
//! 4. `UPDATE webhook_events SET outcome = <real outcome> WHERE … outcome = marker`.
//!
//! The marker never survives a batch (step 4 replaces it in the same transaction), so a
//! committed row never carries it; an outcome equal to the marker is refused (`Invalid`).
//! A unique violation of a write (a renewal row inserted concurrently, an external id taken)
//! fails the batch, rolled back whole, and answers `Stale`, as the Postgres adapter; a missing
//! user fails it with `NotFound`. D1 runs one statement (and one batch) at a time per
//! database, so no other write can interleave with the guard and the writes.

use crate::values::{flag, int, opt_int, opt_real, opt_text, read_flag, read_int, read_opt_int};
use crate::values::{real, text};
use crate::{changes, decode, D1Store};
use cl_app::ports::{
    exact_int, validate_new_payment, ApplyOutcome, BillingStore, BillingSubscription, Cursor,
    NewPayment, Page, PageRequest, PaymentId, PaymentRecord, PaymentStatus, Provider, StoreError,
    StoredPayment, StoredSubscription, StoredWebhookEvent, SubscriptionId, WarningKey,
    WebhookWrite,
};
use cl_billing::plan::{Offer, Plan};
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_billing::{Amount, Currency, UserId};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

/// The outcome an event row holds between steps 2 and 4 of `apply_webhook` (never committed).
pub(crate) const APPLYING: &str = "~applying";

const USER: &str = "user";

const PAYMENT_COLS: &str = "id, user_id, provider, external_id, plan, cycle, amount, currency, \
     crypto_currency, actually_paid, status, flagged, completed_at, provider_updated_at, \
     created_at, updated_at";

const SUBSCRIPTION_COLS: &str = "id, user_id, plan, status, starts_at, expires_at, \
     cancelled_at, provider, external_subscription_id, created_at, updated_at";

/// `rank(status)` of `cl_billing::PaymentStatus::rank`, as SQL over the stored column.
const RANK_SQL: &str = "(CASE status WHEN 'pending' THEN 0 WHEN 'failed' THEN 1 \
     WHEN 'expired' THEN 1 WHEN 'completed' THEN 2 WHEN 'refunded' THEN 3 END)";

/// Warning keys per `INSERT` (1 shared parameter + 3 per key, under D1's 100).
const WARNINGS_PER_STATEMENT: usize = 30;

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

fn parse<T, E: std::fmt::Display>(
    r: Result<T, E>,
    table: &'static str,
    id: Option<i64>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, id, e))
}

#[derive(Deserialize)]
struct PaymentRow {
    id: f64,
    user_id: f64,
    provider: String,
    external_id: Option<String>,
    plan: String,
    cycle: String,
    amount: f64,
    currency: String,
    crypto_currency: Option<String>,
    actually_paid: Option<f64>,
    status: String,
    flagged: f64,
    completed_at: Option<f64>,
    provider_updated_at: Option<f64>,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<PaymentRow> for StoredPayment {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> Result<Self, StoreError> {
        const T: &str = "payments";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let pid = parse(PaymentId::new(id), T, at)?;
        let user = read_int(T, at, "user_id", r.user_id)?;
        Ok(StoredPayment {
            id: pid,
            record: PaymentRecord {
                id: Some(pid),
                user_id: parse(UserId::new(user), T, at)?,
                provider: parse(Provider::parse(&r.provider), T, at)?,
                external_id: r.external_id,
                offer: parse(Offer::from_stored(&r.plan, &r.cycle), T, at)?,
                amount: parse(Amount::from_f64_units(r.amount), T, at)?,
                currency: parse(Currency::parse(&r.currency), T, at)?,
                crypto_currency: r.crypto_currency,
                actually_paid: r.actually_paid,
                status: parse(PaymentStatus::parse(&r.status), T, at)?,
                flagged: read_flag(T, at, "flagged", r.flagged)?,
                completed_at: read_opt_int(T, at, "completed_at", r.completed_at)?,
                last_event_at: read_opt_int(T, at, "provider_updated_at", r.provider_updated_at)?,
            },
            created_at: read_int(T, at, "created_at", r.created_at)?,
            updated_at: read_int(T, at, "updated_at", r.updated_at)?,
        })
    }
}

#[derive(Deserialize)]
struct SubscriptionRow {
    id: f64,
    user_id: f64,
    plan: String,
    status: String,
    starts_at: f64,
    expires_at: Option<f64>,
    cancelled_at: Option<f64>,
    provider: Option<String>,
    external_subscription_id: Option<String>,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<SubscriptionRow> for StoredSubscription {
    type Error = StoreError;

    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        const T: &str = "subscriptions";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let user = read_int(T, at, "user_id", r.user_id)?;
        Ok(StoredSubscription {
            id: parse(SubscriptionId::new(id), T, at)?,
            subscription: BillingSubscription {
                user_id: parse(UserId::new(user), T, at)?,
                plan: parse(Plan::parse(&r.plan), T, at)?,
                status: parse(SubscriptionStatus::parse(&r.status), T, at)?,
                starts_at: read_int(T, at, "starts_at", r.starts_at)?,
                expires_at: read_opt_int(T, at, "expires_at", r.expires_at)?,
                cancelled_at: read_opt_int(T, at, "cancelled_at", r.cancelled_at)?,
                provider: r
                    .provider
                    .map(|p| parse(SubscriptionSource::parse(&p), T, at))
                    .transpose()?,
                external_subscription_id: r.external_subscription_id,
            },
            created_at: read_int(T, at, "created_at", r.created_at)?,
            updated_at: read_int(T, at, "updated_at", r.updated_at)?,
        })
    }
}

#[derive(Deserialize)]
struct EventRow {
    provider: String,
    event_key: String,
    received_at: f64,
    payment_id: Option<f64>,
    outcome: String,
}

impl TryFrom<EventRow> for StoredWebhookEvent {
    type Error = StoreError;

    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        const T: &str = "webhook_events";
        let payment = read_opt_int(T, None, "payment_id", r.payment_id)?;
        Ok(StoredWebhookEvent {
            provider: parse(Provider::parse(&r.provider), T, None)?,
            event_key: r.event_key,
            received_at: read_int(T, None, "received_at", r.received_at)?,
            payment_id: payment
                .map(|p| parse(PaymentId::new(p), T, Some(p)))
                .transpose()?,
            outcome: r.outcome,
        })
    }
}

/// `EXISTS (…) AS found` or `RETURNING id AS found`.
#[derive(Deserialize)]
struct FoundRow {
    found: f64,
}

// ---------------------------------------------------------------------------------------------
// SQL building
// ---------------------------------------------------------------------------------------------

/// Numbered parameters (`?1`, `?2`, …) collected while a statement's text is built.
#[derive(Default)]
pub(crate) struct Params(pub(crate) Vec<JsValue>);

impl Params {
    /// Adds a value and returns its placeholder.
    pub(crate) fn p(&mut self, v: JsValue) -> String {
        self.0.push(v);
        format!("?{}", self.0.len())
    }
}

/// `EXISTS (the payment row equals `read`, and may become `next`)`.
fn payment_guard(
    ps: &mut Params,
    id: PaymentId,
    read: &PaymentRecord,
    next: Option<&PaymentRecord>,
) -> Result<String, StoreError> {
    let mut sql = format!(
        "EXISTS (SELECT 1 FROM payments WHERE id = {} AND user_id = {} AND provider = {} \
         AND external_id IS {} AND plan = {} AND cycle = {} AND amount = {} AND currency = {} \
         AND crypto_currency IS {} AND actually_paid IS {} AND status = {} AND flagged = {} \
         AND completed_at IS {} AND provider_updated_at IS {}",
        ps.p(int("payment id", id.get())?),
        ps.p(int("user id", read.user_id.get())?),
        ps.p(text(read.provider.as_str())),
        ps.p(opt_text(read.external_id.as_deref())),
        ps.p(text(read.offer.plan().as_str())),
        ps.p(text(read.offer.cycle_str())),
        ps.p(real("payments.amount", read.amount.as_f64_units())?),
        ps.p(text(read.currency.as_str())),
        ps.p(opt_text(read.crypto_currency.as_deref())),
        ps.p(opt_real("payments.actually_paid", read.actually_paid)?),
        ps.p(text(read.status.as_str())),
        ps.p(flag(read.flagged)),
        ps.p(opt_int("payments.completed_at", read.completed_at)?),
        ps.p(opt_int("payments.provider_updated_at", read.last_event_at)?),
    );
    if let Some(n) = next {
        sql.push_str(&format!(
            " AND (status = {} OR {RANK_SQL} < {})",
            ps.p(text(n.status.as_str())),
            ps.p(JsValue::from_f64(f64::from(n.status.rank())))
        ));
    }
    sql.push(')');
    Ok(sql)
}

/// `[NOT] EXISTS (the user's subscription equals `read`)`.
fn subscription_guard(
    ps: &mut Params,
    user: UserId,
    read: Option<&BillingSubscription>,
) -> Result<String, StoreError> {
    let u = ps.p(int("user id", user.get())?);
    let Some(s) = read else {
        return Ok(format!(
            "NOT EXISTS (SELECT 1 FROM subscriptions WHERE user_id = {u})"
        ));
    };
    Ok(format!(
        "EXISTS (SELECT 1 FROM subscriptions WHERE user_id = {u} AND plan = {} AND status = {} \
         AND starts_at = {} AND expires_at IS {} AND cancelled_at IS {} AND provider IS {} \
         AND external_subscription_id IS {})",
        ps.p(text(s.plan.as_str())),
        ps.p(text(s.status.as_str())),
        ps.p(int("subscriptions.starts_at", s.starts_at)?),
        ps.p(opt_int("subscriptions.expires_at", s.expires_at)?),
        ps.p(opt_int("subscriptions.cancelled_at", s.cancelled_at)?),
        ps.p(opt_text(s.provider.map(SubscriptionSource::as_str))),
        ps.p(opt_text(s.external_subscription_id.as_deref())),
    ))
}

/// `EXISTS (this event's row, still carrying the marker)`: true only inside the batch that
/// inserted it.
fn marked(ps: &mut Params, w: &WebhookWrite) -> String {
    format!(
        "EXISTS (SELECT 1 FROM webhook_events WHERE provider = {} AND event_key = {} \
         AND outcome = {})",
        ps.p(text(w.provider.as_str())),
        ps.p(text(&w.event_key)),
        ps.p(text(APPLYING)),
    )
}

/// The payment columns written by an event, bound in `ps`:
/// `(user_id, provider, external_id, plan, cycle, amount, currency, crypto_currency,
/// actually_paid, status, flagged, completed_at, provider_updated_at)`.
fn payment_values(ps: &mut Params, p: &PaymentRecord) -> Result<Vec<String>, StoreError> {
    Ok(vec![
        ps.p(int("user id", p.user_id.get())?),
        ps.p(text(p.provider.as_str())),
        ps.p(opt_text(p.external_id.as_deref())),
        ps.p(text(p.offer.plan().as_str())),
        ps.p(text(p.offer.cycle_str())),
        ps.p(real("payments.amount", p.amount.as_f64_units())?),
        ps.p(text(p.currency.as_str())),
        ps.p(opt_text(p.crypto_currency.as_deref())),
        ps.p(opt_real("payments.actually_paid", p.actually_paid)?),
        ps.p(text(p.status.as_str())),
        ps.p(flag(p.flagged)),
        ps.p(opt_int("payments.completed_at", p.completed_at)?),
        ps.p(opt_int("payments.provider_updated_at", p.last_event_at)?),
    ])
}

/// The subscription columns of an upsert, bound in `ps`: `(user_id, plan, status, starts_at,
/// expires_at, cancelled_at, provider, external_subscription_id)`.
fn subscription_values(
    ps: &mut Params,
    s: &BillingSubscription,
) -> Result<Vec<String>, StoreError> {
    Ok(vec![
        ps.p(int("user id", s.user_id.get())?),
        ps.p(text(s.plan.as_str())),
        ps.p(text(s.status.as_str())),
        ps.p(int("subscriptions.starts_at", s.starts_at)?),
        ps.p(opt_int("subscriptions.expires_at", s.expires_at)?),
        ps.p(opt_int("subscriptions.cancelled_at", s.cancelled_at)?),
        ps.p(opt_text(s.provider.map(SubscriptionSource::as_str))),
        ps.p(opt_text(s.external_subscription_id.as_deref())),
    ])
}

/// The statements of one `apply_webhook` batch, and where to read their answers.
struct ApplyPlan {
    stmts: Vec<D1PreparedStatement>,
    /// Index of the renewal `INSERT … RETURNING id`, if any.
    renewal: Option<usize>,
}

/// Index of the replay probe and of the guarded event insert in the batch.
const REPLAY_AT: usize = 0;
const EVENT_AT: usize = 1;

impl D1Store {
    fn apply_plan(&self, w: &WebhookWrite) -> Result<ApplyPlan, StoreError> {
        let mut stmts = Vec::with_capacity(6);

        // 1. Replay probe.
        stmts.push(self.stmt(
            "SELECT EXISTS (SELECT 1 FROM webhook_events WHERE provider = ?1 AND event_key = ?2) \
             AS found",
            &[text(w.provider.as_str()), text(&w.event_key)],
        )?);

        // 2. The event row, inserted only when the rows read are unchanged.
        let mut ps = Params::default();
        let head = format!(
            "INSERT INTO webhook_events (provider, event_key, received_at, payment_id, outcome) \
             SELECT {}, {}, {}, {}, {}",
            ps.p(text(w.provider.as_str())),
            ps.p(text(&w.event_key)),
            ps.p(int("webhook_events.received_at", w.received_at)?),
            ps.p(opt_int("payment id", w.payment_id.map(PaymentId::get))?),
            ps.p(text(APPLYING)),
        );
        let mut guards = Vec::new();
        if let Some(read) = &w.read_payment {
            // `validate` refused a read row without id unless no payment is written; a row
            // without id cannot be compared: the caller re-reads (stale), as Postgres.
            let Some(id) = read.id else {
                return Err(StoreError::Invalid("read payment without id".into()));
            };
            guards.push(payment_guard(&mut ps, id, read, w.payment.as_ref())?);
        }
        if let Some(user) = w.subscription_user {
            guards.push(subscription_guard(
                &mut ps,
                user,
                w.read_subscription.as_ref(),
            )?);
        }
        if guards.is_empty() {
            guards.push("1".to_string());
        }
        let sql = format!(
            "{head} WHERE {} ON CONFLICT (provider, event_key) DO NOTHING RETURNING id AS found",
            guards.join(" AND ")
        );
        stmts.push(self.stmt(&sql, &ps.0)?);

        // 3. The payment.
        let mut renewal = None;
        if let Some(p) = &w.payment {
            let mut ps = Params::default();
            match p.id {
                None => {
                    let v = payment_values(&mut ps, p)?;
                    let at = ps.p(int("webhook_events.received_at", w.received_at)?);
                    let m = marked(&mut ps, w);
                    let sql = format!(
                        "INSERT INTO payments (user_id, provider, external_id, plan, cycle, \
                         amount, currency, crypto_currency, actually_paid, status, flagged, \
                         completed_at, provider_updated_at, created_at, updated_at) \
                         SELECT {}, {at}, {at} WHERE {m} RETURNING id AS found",
                        v.join(", ")
                    );
                    renewal = Some(stmts.len());
                    stmts.push(self.stmt(&sql, &ps.0)?);
                    // The event points at the row just inserted (AUTOINCREMENT: the highest id).
                    let mut ps = Params::default();
                    let m = marked(&mut ps, w);
                    let sql = format!(
                        "UPDATE webhook_events SET payment_id = (SELECT max(id) FROM payments) \
                         WHERE provider = {} AND event_key = {} AND {m}",
                        ps.p(text(w.provider.as_str())),
                        ps.p(text(&w.event_key)),
                    );
                    stmts.push(self.stmt(&sql, &ps.0)?);
                }
                Some(id) => {
                    let ext = ps.p(opt_text(p.external_id.as_deref()));
                    let paid = ps.p(opt_real("payments.actually_paid", p.actually_paid)?);
                    let status = ps.p(text(p.status.as_str()));
                    let flagged = ps.p(flag(p.flagged));
                    let done = ps.p(opt_int("payments.completed_at", p.completed_at)?);
                    let event_at = ps.p(opt_int("payments.provider_updated_at", p.last_event_at)?);
                    let at = ps.p(int("webhook_events.received_at", w.received_at)?);
                    let pid = ps.p(int("payment id", id.get())?);
                    let rank = ps.p(JsValue::from_f64(f64::from(p.status.rank())));
                    let m = marked(&mut ps, w);
                    let sql = format!(
                        "UPDATE payments SET external_id = {ext}, actually_paid = {paid}, \
                         status = {status}, flagged = {flagged}, completed_at = {done}, \
                         provider_updated_at = {event_at}, updated_at = {at} \
                         WHERE id = {pid} AND (status = {status} OR {RANK_SQL} < {rank}) AND {m}"
                    );
                    stmts.push(self.stmt(&sql, &ps.0)?);
                }
            }
        }

        // 4. The subscription.
        if let Some(s) = &w.subscription {
            let mut ps = Params::default();
            let v = subscription_values(&mut ps, s)?;
            let at = ps.p(int("webhook_events.received_at", w.received_at)?);
            let m = marked(&mut ps, w);
            let sql = if w.read_subscription.is_none() {
                format!(
                    "INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, \
                     cancelled_at, provider, external_subscription_id, created_at, updated_at) \
                     SELECT {}, {at}, {at} WHERE {m}",
                    v.join(", ")
                )
            } else {
                format!(
                    "UPDATE subscriptions SET plan = {}, status = {}, starts_at = {}, \
                     expires_at = {}, cancelled_at = {}, provider = {}, \
                     external_subscription_id = {}, updated_at = {at} \
                     WHERE user_id = {} AND {m}",
                    v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[0]
                )
            };
            stmts.push(self.stmt(&sql, &ps.0)?);
        }

        // 5. The real outcome replaces the marker.
        stmts.push(self.stmt(
            "UPDATE webhook_events SET outcome = ?1 \
             WHERE provider = ?2 AND event_key = ?3 AND outcome = ?4",
            &[
                text(&w.outcome),
                text(w.provider.as_str()),
                text(&w.event_key),
                text(APPLYING),
            ],
        )?);
        Ok(ApplyPlan { stmts, renewal })
    }

    async fn event_exists(&self, w: &WebhookWrite) -> Result<bool, StoreError> {
        Ok(self
            .webhook_event(w.provider, &w.event_key)
            .await?
            .is_some())
    }

    async fn payments_where(
        &self,
        cond: &str,
        params: &[JsValue],
    ) -> Result<Option<StoredPayment>, StoreError> {
        let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE {cond}");
        let stmt = self.stmt(&sql, params)?;
        self.opt_row::<PaymentRow, StoredPayment>("payments", stmt, USER)
            .await
    }
}

fn found(table: &'static str, res: &worker::D1Result) -> Result<Option<i64>, StoreError> {
    decode::<FoundRow>(table, res)?
        .first()
        .map(|r| read_int(table, None, "id", r.found))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Port
// ---------------------------------------------------------------------------------------------

impl BillingStore for D1Store {
    async fn create_payment(&self, new: &NewPayment) -> Result<PaymentId, StoreError> {
        validate_new_payment(new)?;
        let coin = new.crypto_currency.map(|c| c.provider_code());
        let stmt = self.stmt(
            "INSERT INTO payments (user_id, provider, plan, cycle, amount, currency, \
             crypto_currency, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id AS found",
            &[
                int("user id", new.user_id.get())?,
                text(new.provider.as_str()),
                text(new.offer.plan().as_str()),
                text(new.offer.cycle_str()),
                real("payments.amount", new.amount.as_f64_units())?,
                text(new.currency.as_str()),
                opt_text(coin.as_deref()),
                text(new.status.as_str()),
                int("payments.created_at", new.created_at)?,
            ],
        )?;
        let res = self.exec(stmt, USER).await?;
        let id = found("payments", &res)?.ok_or(StoreError::NotFound("payment"))?;
        parse(PaymentId::new(id), "payments", Some(id))
    }

    async fn payment_by_id(&self, id: PaymentId) -> Result<Option<StoredPayment>, StoreError> {
        self.payments_where("id = ?1", &[int("payment id", id.get())?])
            .await
    }

    async fn payment_by_external_id(
        &self,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError> {
        self.payments_where(
            "provider = ?1 AND external_id = ?2",
            &[text(provider.as_str()), text(external_id)],
        )
        .await
    }

    async fn payment(
        &self,
        id: PaymentId,
        user: UserId,
    ) -> Result<Option<StoredPayment>, StoreError> {
        self.payments_where(
            "id = ?1 AND user_id = ?2",
            &[int("payment id", id.get())?, int("user id", user.get())?],
        )
        .await
    }

    async fn payments_of(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError> {
        page.validate()?;
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE user_id = ?1 \
             AND (?2 IS NULL OR (created_at, id) < (?2, ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        );
        let stmt = self.stmt(
            &sql,
            &[
                int("user id", user.get())?,
                opt_int("cursor time", page.after.map(|c| c.ts))?,
                opt_int("cursor id", page.after.map(|c| c.id))?,
                // One row more than the page tells whether a next page exists.
                JsValue::from_f64(f64::from(page.limit) + 1.0),
            ],
        )?;
        let mut items = self
            .rows::<PaymentRow, StoredPayment>("payments", stmt, USER)
            .await?;
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|p| Cursor {
                ts: p.created_at,
                id: p.id.get(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn subscription_of(
        &self,
        user: UserId,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE user_id = ?1");
        let stmt = self.stmt(&sql, &[int("user id", user.get())?])?;
        self.opt_row::<SubscriptionRow, StoredSubscription>("subscriptions", stmt, USER)
            .await
    }

    async fn apply_webhook(&self, write: &WebhookWrite) -> Result<ApplyOutcome, StoreError> {
        write.validate()?;
        if write.outcome == APPLYING {
            return Err(StoreError::Invalid(
                "the webhook outcome is a reserved word".into(),
            ));
        }
        if write.read_payment.as_ref().is_some_and(|p| p.id.is_none()) {
            // A read row without id cannot be compared (Postgres: stale after the replay check).
            return Ok(if self.event_exists(write).await? {
                ApplyOutcome::Replay
            } else {
                ApplyOutcome::Stale
            });
        }
        let plan = self.apply_plan(write)?;
        // A foreign key failing in the writes names the user (payments and subscriptions
        // refer to it); an event alone can only miss its payment.
        let missing = if write.payment.is_some() || write.subscription.is_some() {
            USER
        } else {
            "payment"
        };
        let results = match self.batch(plan.stmts, missing).await {
            Ok(r) => r,
            // A unique key of a write taken in between (renewal row, external id): the rows
            // the decision was computed from are gone; nothing was written.
            Err(StoreError::Conflict(_)) => return Ok(ApplyOutcome::Stale),
            Err(e) => return Err(e),
        };
        let short = || StoreError::Unavailable("d1 batch returned fewer results".into());
        let replay = results.get(REPLAY_AT).ok_or_else(short)?;
        let inserted = results.get(EVENT_AT).ok_or_else(short)?;
        if found("webhook_events", inserted)?.is_none() {
            let was_there = found("webhook_events", replay)?.is_some_and(|v| v != 0);
            return Ok(if was_there {
                ApplyOutcome::Replay
            } else {
                ApplyOutcome::Stale
            });
        }
        let payment_id = match plan.renewal {
            Some(at) => {
                let res = results.get(at).ok_or_else(short)?;
                let id = found("payments", res)?.ok_or_else(|| {
                    StoreError::Unavailable("renewal insert returned no id".into())
                })?;
                Some(parse(PaymentId::new(id), "payments", Some(id))?)
            }
            None => write
                .payment
                .as_ref()
                .and_then(|p| p.id)
                .or(write.payment_id),
        };
        Ok(ApplyOutcome::Applied { payment_id })
    }

    async fn webhook_event(
        &self,
        provider: Provider,
        event_key: &str,
    ) -> Result<Option<StoredWebhookEvent>, StoreError> {
        let stmt = self.stmt(
            "SELECT provider, event_key, received_at, payment_id, outcome \
             FROM webhook_events WHERE provider = ?1 AND event_key = ?2",
            &[text(provider.as_str()), text(event_key)],
        )?;
        self.opt_row::<EventRow, StoredWebhookEvent>("webhook_events", stmt, USER)
            .await
    }

    async fn expire_subscriptions(&self, now: i64) -> Result<u64, StoreError> {
        let stmt = self.stmt(
            "UPDATE subscriptions SET status = 'expired', updated_at = ?1 \
             WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at < ?1",
            &[int("now", now)?],
        )?;
        changes(&self.exec(stmt, USER).await?)
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
             WHERE status IN ('active', 'cancelled') AND expires_at > ?1 AND expires_at <= ?2 \
             ORDER BY expires_at, id"
        );
        let stmt = self.stmt(&sql, &[int("now", now)?, int("until", until)?])?;
        self.rows::<SubscriptionRow, StoredSubscription>("subscriptions", stmt, USER)
            .await
    }

    async fn record_expiry_warnings(
        &self,
        send: &WarningKey,
        record: &[WarningKey],
        sent_at: i64,
    ) -> Result<bool, StoreError> {
        let at = int("expiry_warnings.sent_at", sent_at)?;
        let key = |k: &WarningKey| -> Result<[JsValue; 3], StoreError> {
            Ok([
                int("subscription id", k.subscription_id.get())?,
                int("expiry_warnings.expires_at", k.expires_at)?,
                int("expiry_warnings.days_before", k.days_before)?,
            ])
        };
        // One batch (one transaction): `send` first, alone, so its RETURNING tells whether it
        // is new; then every other key (an existing key is left alone).
        let mut stmts = Vec::with_capacity(1 + record.len().div_ceil(WARNINGS_PER_STATEMENT));
        let mut params = vec![at.clone()];
        params.extend(key(send)?);
        stmts.push(self.stmt(
            "INSERT INTO expiry_warnings (subscription_id, expires_at, days_before, sent_at) \
             VALUES (?2, ?3, ?4, ?1) \
             ON CONFLICT (subscription_id, expires_at, days_before) DO NOTHING \
             RETURNING id AS found",
            &params,
        )?);
        for chunk in record.chunks(WARNINGS_PER_STATEMENT) {
            let mut ps = Params::default();
            let at = ps.p(at.clone());
            let mut rows = Vec::with_capacity(chunk.len());
            for k in chunk {
                let [s, e, d] = key(k)?;
                rows.push(format!("({}, {}, {}, {at})", ps.p(s), ps.p(e), ps.p(d)));
            }
            let sql = format!(
                "INSERT INTO expiry_warnings (subscription_id, expires_at, days_before, sent_at) \
                 VALUES {} ON CONFLICT (subscription_id, expires_at, days_before) DO NOTHING",
                rows.join(", ")
            );
            stmts.push(self.stmt(&sql, &ps.0)?);
        }
        let results = self.batch(stmts, "subscription").await?;
        let first = results
            .first()
            .ok_or_else(|| StoreError::Unavailable("d1 batch returned no result".into()))?;
        Ok(found("expiry_warnings", first)?.is_some())
    }
}
