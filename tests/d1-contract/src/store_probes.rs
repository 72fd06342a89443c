//! `POST /probe/one-call`: what single port calls of the billing, portfolio and pattern-list
//! adapters cost on D1 — round trips (calls to D1; a `batch()` is one) and statements — so the
//! Node test can pin "one batch" / "one statement" where the design promises it.

use crate::{failure, reply, store};
use cl_app::ports::{
    BillingStore, NewPortfolio, NewUser, PageRequest, PatternFilter, PatternStore,
    PortfolioCurrency, PortfolioStore, Provider, StoreError, TradeQuota, TradeRecord, TradeStatus,
    UserStore, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::checkout::NewPayment;
use cl_billing::plan::{BillingCycle, Offer, Plan};
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_billing::{Amount, Currency, PaymentStatus};
use cl_domain::levels::trade::Side;
use cl_store_d1::D1Store;
use serde_json::json;
use worker::{Env, Response, Result};

const T0: i64 = 1_700_000_000_000;

fn err(what: &str, e: impl std::fmt::Debug) -> Result<Response> {
    failure(500, &format!("{what}: {e:?}"))
}

/// Runs `f` and answers the `(round trips, statements)` it cost.
async fn cost<T, F: std::future::Future<Output = std::result::Result<T, StoreError>>>(
    s: &D1Store,
    f: F,
) -> std::result::Result<(T, u64, u64), StoreError> {
    let (rt, st) = (s.round_trips(), s.statements());
    let v = f.await?;
    Ok((v, s.round_trips() - rt, s.statements() - st))
}

/// See the module docs.
pub(crate) async fn one_call(env: &Env) -> Result<Response> {
    let s = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    let new_user = NewUser {
        email: match Email::parse("probe@example.com") {
            Ok(e) => e,
            Err(e) => return err("email", e),
        },
        username: match Username::parse("probe") {
            Ok(u) => u,
            Err(e) => return err("username", e),
        },
        password_hash: SecretString::new(String::from("$pbkdf2-sha256$i=10,l=32$salt$hash")),
        ntfy_topic: "cl_topic_probe".into(),
        created_at: T0,
    };
    let uid = match s.create_user(&new_user).await {
        Ok(u) => u.id,
        Err(e) => return err("create_user", e),
    };
    let buyer = match cl_billing::UserId::new(uid.0) {
        Ok(u) => u,
        Err(e) => return err("user id", e),
    };
    let (offer, amount) = match (
        Offer::new(Plan::Pro, Some(BillingCycle::Monthly)),
        Amount::from_units(19),
    ) {
        (Ok(o), Ok(a)) => (o, a),
        (o, a) => return err("offer", (o.err(), a.err())),
    };
    let pay = NewPayment {
        user_id: buyer,
        provider: Provider::LemonSqueezy,
        offer,
        amount,
        currency: Currency::USD,
        crypto_currency: None,
        status: PaymentStatus::Pending,
        created_at: T0,
    };
    let id = match s.create_payment(&pay).await {
        Ok(id) => id,
        Err(e) => return err("create_payment", e),
    };
    let read = pay.into_record(id);
    let write = WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: "probe-1".into(),
        received_at: T0 + 1,
        outcome: "activated".into(),
        payment_id: Some(id),
        read_payment: Some(read.clone()),
        payment: Some(cl_app::ports::PaymentRecord {
            status: PaymentStatus::Completed,
            external_id: Some("order-1".into()),
            completed_at: Some(T0 + 1),
            last_event_at: Some(T0 + 1),
            ..read
        }),
        subscription_user: Some(buyer),
        read_subscription: None,
        subscription: Some(cl_app::ports::BillingSubscription {
            user_id: buyer,
            plan: Plan::Pro,
            status: SubscriptionStatus::Active,
            starts_at: T0,
            expires_at: Some(T0 + 30 * 86_400_000),
            cancelled_at: None,
            provider: Some(SubscriptionSource::LemonSqueezy),
            external_subscription_id: None,
        }),
    };
    let apply = match cost(&s, s.apply_webhook(&write)).await {
        Ok((outcome, rt, st)) => {
            json!({ "outcome": format!("{outcome:?}"), "round_trips": rt, "statements": st })
        }
        Err(e) => return err("apply_webhook", e),
    };
    let replay = match cost(&s, s.apply_webhook(&write)).await {
        Ok((outcome, rt, st)) => {
            json!({ "outcome": format!("{outcome:?}"), "round_trips": rt, "statements": st })
        }
        Err(e) => return err("apply_webhook replay", e),
    };

    let portfolio = NewPortfolio {
        user_id: uid,
        name: "Probe".into(),
        description: None,
        initial_balance: 1_000.0,
        currency: PortfolioCurrency::Usd,
        created_at: T0,
    };
    let pid = match s.create_portfolio(&portfolio, 5).await {
        Ok(p) => p.id,
        Err(e) => return err("create_portfolio", e),
    };
    let trade = TradeRecord {
        symbol: "BTC/USDT".into(),
        side: Side::Long,
        tf: None,
        pattern_type: None,
        signal_id: None,
        pattern_id: None,
        entry_price: 100.0,
        entry_time: Some(T0),
        quantity: 1.0,
        stop_loss: None,
        take_profit: None,
        risk_amount: None,
        risk_percent: None,
        fees: 0.0,
        exit_price: None,
        exit_time: None,
        setup_notes: None,
        exit_notes: None,
        lessons: None,
        pnl_amount: None,
        pnl_percent: None,
        pnl_r: None,
        status: TradeStatus::Open,
    };
    let quota = TradeQuota {
        per_portfolio: 10,
        per_day: Some(10),
        day_start: T0,
    };
    let (tid, create_trade) = match cost(&s, s.create_trade(uid, pid, &trade, quota, T0)).await {
        Ok((t, rt, st)) => (t.id, json!({ "round_trips": rt, "statements": st })),
        Err(e) => return err("create_trade", e),
    };
    let closed = TradeRecord {
        status: TradeStatus::Closed,
        exit_price: Some(110.0),
        exit_time: Some(T0 + 1),
        pnl_amount: Some(10.0),
        ..trade
    };
    let save_trade = match cost(
        &s,
        s.save_trade(uid, tid, TradeStatus::Open, &closed, T0 + 1),
    )
    .await
    {
        Ok((_, rt, st)) => json!({ "round_trips": rt, "statements": st }),
        Err(e) => return err("save_trade", e),
    };
    let page = PageRequest {
        limit: 10,
        after: None,
    };
    let list = match cost(&s, s.list_patterns(&PatternFilter::default(), page)).await {
        Ok((_, rt, st)) => json!({ "round_trips": rt, "statements": st }),
        Err(e) => return err("list_patterns", e),
    };
    reply(
        200,
        &json!({
            "ok": true,
            "apply_webhook": apply,
            "apply_webhook_replay": replay,
            "create_trade": create_trade,
            "save_trade": save_trade,
            "list_patterns": list,
        }),
    )
}
