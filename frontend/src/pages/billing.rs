//! Billing pages (product.md §6): `/settings/billing` (plan, expiry, payment history),
//! `/upgrade` (checkout: provider, plan, cycle, coin → the provider's hosted page) and
//! `/payments/:id` (status, "check now").

use cl_api_types::{CheckoutRequest, PaymentDto, SubscriptionDto};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::billing;
use crate::components::form::{FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::page::SignedInPage;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::portfolio::{grid, t, val, Choice};
use crate::session::RequireSession;

/// Payments per page.
const PAGE: u32 = 20;

/// `(class, text)` of a payment status: a symbol and the word besides the colour.
fn payment_status(status: &str) -> (&'static str, String) {
    let (class, mark) = match status {
        "completed" => ("pay-ok", "✓"),
        "pending" => ("pay-pending", "…"),
        "refunded" => ("pay-neutral", "↺"),
        _ => ("pay-bad", "✕"),
    };
    (class, format!("{mark} {status}"))
}

/// The human name of a provider.
fn provider_name(p: &str) -> &'static str {
    match p {
        "lemonsqueezy" => "Card (LemonSqueezy)",
        "nowpayments" => "Crypto (NOWPayments)",
        _ => "Other",
    }
}

/// `/settings/billing`.
#[component]
pub fn SettingsBilling() -> impl IntoView {
    set_page_title("Billing");
    view! {
        <SignedInPage eyebrow="Settings" title="Subscription and payments" back=("/settings", "← Settings")>
            <SubscriptionPanel />
            <PaymentHistory />
        </SignedInPage>
    }
}

#[component]
fn SubscriptionPanel() -> impl IntoView {
    let sub = LocalResource::new(billing::subscription);
    view! {
        <section class="panel" aria-labelledby="sub-title">
            <h2 id="sub-title" class="panel-title">"Your plan"</h2>
            <Suspense fallback=|| view! { <Loading text="Loading your plan…" /> }>
                {move || Suspend::new(async move {
                    match sub.await {
                        Ok(s) => view! { <SubscriptionView s=s /> }.into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load your plan" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SubscriptionView(s: SubscriptionDto) -> impl IntoView {
    let dash = || String::from("—");
    let upgradeable = s.plan.as_deref() != Some("lifetime");
    view! {
        {grid(vec![
            ("Tier now", val(s.tier.clone(), "badge-tier", "tier")),
            ("Plan", t(s.plan.clone().unwrap_or_else(|| String::from("none (free)")))),
            ("Status", t(format!("{}{}", s.status.clone().unwrap_or_else(dash), if s.in_grace { " · in the 3-day grace period" } else { "" }))),
            ("Started", t(s.starts_at.map(format::datetime).unwrap_or_else(dash))),
            ("Expires", t(match (s.plan.as_deref(), s.expires_at) {
                (Some("lifetime"), _) => String::from("never (lifetime)"),
                (_, Some(at)) => format::datetime(at),
                _ => dash(),
            })),
            ("Access until", t(s.access_until.map(format::datetime).unwrap_or_else(dash))),
            ("Paid with", t(s.provider.as_deref().map(provider_name).unwrap_or("—"))),
        ])}
        {upgradeable.then(|| view! {
            <p class="cta-row"><A href="/upgrade" attr:class="btn btn-primary">{if s.valid && s.plan.is_some() { "Renew or change plan" } else { "Upgrade" }}</A></p>
        })}
    }
}

#[component]
fn PaymentHistory() -> impl IntoView {
    let keyset = Keyset::new();
    let page = LocalResource::new(move || {
        let cursor = keyset.current();
        async move { billing::payments(PAGE, cursor.as_deref()).await }
    });
    view! {
        <section class="panel" aria-labelledby="pay-title">
            <h2 id="pay-title" class="panel-title">"Payment history"</h2>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading payments…", empty: "No payments yet.", failure: "Could not load payments" }
                rows=payment_table
            />
        </section>
    }
}

fn payment_table(items: Vec<PaymentDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|p| {
            let (class, status) = payment_status(&p.status);
            let flag = if p.flagged {
                " ⚑ support will contact you"
            } else {
                ""
            };
            vec![
                Cell::link(format!("/payments/{}", p.id), format!("#{}", p.id)),
                Cell::text(format!("{} · {}", p.plan, p.cycle)),
                Cell::num(format!("{:.2} {}", p.amount, p.currency)),
                Cell::text(provider_name(&p.provider)),
                Cell::classed(format!("{status}{flag}"), class),
                Cell::classed(format::short_datetime(p.created_at), "nowrap"),
            ]
        })
        .collect();
    table(
        "payments-table",
        "Payments, newest first",
        &[
            "Payment",
            "Plan",
            "Amount",
            "Method",
            "Status",
            "Date (UTC)",
        ],
        rows,
    )
}

/// `/upgrade`: the checkout form.
#[component]
pub fn Upgrade() -> impl IntoView {
    set_page_title("Upgrade");
    let query = use_query_map();
    let initial_plan = query
        .read_untracked()
        .get("plan")
        .filter(|p| matches!(p.as_str(), "pro" | "premium" | "lifetime"))
        .unwrap_or_else(|| String::from("premium"));
    let provider = RwSignal::new(String::from("lemonsqueezy"));
    let plan = RwSignal::new(initial_plan);
    let cycle = RwSignal::new(String::from("monthly"));
    let coin = RwSignal::new(String::from("BTC"));
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let crypto = move || provider.get() == "nowpayments";
    let lifetime = move || plan.get() == "lifetime";
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let is_crypto = provider.get_untracked() == "nowpayments";
        let is_lifetime = plan.get_untracked() == "lifetime";
        let body = CheckoutRequest {
            provider: provider.get_untracked(),
            plan: plan.get_untracked(),
            cycle: (!is_lifetime).then(|| cycle.get_untracked()),
            crypto: is_crypto.then(|| coin.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match billing::checkout(&body).await {
                // The provider's hosted page is another origin: a full navigation.
                Ok(started) => {
                    if window().location().set_href(&started.url).is_err() {
                        errors
                            .form
                            .set(Some(String::from("Could not open the payment page.")));
                        busy.set(false);
                    }
                }
                Err(err) => {
                    errors.show(&err);
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <div class="page container detail-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Upgrade"</p>
                <h1>"Choose your plan"</h1>
                <p class="lead">"Pay by card through LemonSqueezy or in crypto through NOWPayments. "<A href="/pricing">"Compare plans"</A>"."</p>
            </header>
            <RequireSession>
                <section class="panel">
                    <form class="settings-form checkout-form" on:submit=submit novalidate>
                        <FormAlert errors=errors />
                        <Choice id="co-plan" name="plan" label="Plan" options=vec![("pro", "Pro"), ("premium", "Premium"), ("lifetime", "Lifetime (one payment)")] value=plan errors=errors />
                        <Show when=move || !lifetime()>
                            <Choice id="co-cycle" name="cycle" label="Billing cycle" options=vec![("monthly", "Monthly"), ("yearly", "Yearly")] value=cycle errors=errors />
                        </Show>
                        <Choice id="co-provider" name="provider" label="Payment method" options=vec![("lemonsqueezy", "Card (LemonSqueezy)"), ("nowpayments", "Crypto (NOWPayments)")] value=provider errors=errors />
                        <Show when=crypto>
                            <Choice id="co-coin" name="crypto" label="Coin" options=vec![("BTC", "Bitcoin (BTC)"), ("ETH", "Ether (ETH)"), ("USDT", "Tether (USDT)"), ("LTC", "Litecoin (LTC)"), ("DOGE", "Dogecoin (DOGE)")] value=coin errors=errors />
                        </Show>
                        <div class="form-actions">
                            <Submit label="Continue to payment" busy_label="Opening the payment page…" busy=busy />
                        </div>
                        <p class="field-hint">"You will be sent to the provider's page. Your plan starts as soon as the payment is confirmed; "<A href="/settings/billing">"see your payments"</A>"."</p>
                    </form>
                </section>
            </RequireSession>
        </div>
    }
}

/// `/payments/:id`: a payment's status and a "check now" button.
#[component]
pub fn PaymentDetail() -> impl IntoView {
    set_page_title("Payment");
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    view! {
        <div class="page container detail-page">
            <p class="back-link"><A href="/settings/billing">"← Subscription and payments"</A></p>
            <RequireSession>
                {move || match id.get() {
                    Some(id) => view! { <PaymentView id=id /> }.into_any(),
                    None => view! { <h1>"Payment not found"</h1><p class="empty-state">"That is not a payment id."</p> }.into_any(),
                }}
            </RequireSession>
        </div>
    }
}

#[component]
fn PaymentView(id: i64) -> impl IntoView {
    let current = RwSignal::new(None::<PaymentDto>);
    let loaded = LocalResource::new(move || billing::payment(id));
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let note = RwSignal::new(None::<String>);
    let check = move |_| {
        errors.clear();
        note.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            match billing::check(id).await {
                Ok(c) => {
                    note.set(Some(if c.checked {
                        format!("Checked with the provider: {}.", c.payment.status)
                    } else {
                        format!(
                            "Status: {} (the provider reports changes to us by itself).",
                            c.payment.status
                        )
                    }));
                    current.set(Some(c.payment));
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading the payment…" /> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(p) => {
                        if current.get_untracked().is_none() {
                            current.set(Some(p));
                        }
                        view! {
                            {move || current.get().map(|p| view! { <PaymentBody p=p /> })}
                            <FormAlert errors=errors />
                            <FormSuccess message=note />
                            <p class="cta-row">
                                <button type="button" class="btn btn-primary" disabled=move || busy.get() on:click=check>
                                    {move || if busy.get() { "Checking…" } else { "Check now" }}
                                </button>
                            </p>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <h1>"Payment"</h1><ErrorBanner title="Could not load the payment" err=err /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PaymentBody(p: PaymentDto) -> impl IntoView {
    let (class, status) = payment_status(&p.status);
    view! {
        <header class="page-header page-header-tight">
            <p class="eyebrow">{format!("Payment #{}", p.id)}</p>
            <h1>{val(status, class, "payment-status")}</h1>
        </header>
        <section class="panel">
            {{
                let mut rows = vec![
                    ("Plan", t(format!("{} · {}", p.plan, p.cycle))),
                    ("Amount", t(format!("{:.2} {}", p.amount, p.currency))),
                    ("Method", t(provider_name(&p.provider))),
                ];
                if let Some(c) = &p.crypto_currency {
                    rows.push(("Coin", t(c.to_uppercase())));
                }
                if let Some(a) = p.actually_paid {
                    rows.push(("Received so far", t(a.to_string())));
                }
                rows.push(("Started", t(format::datetime(p.created_at))));
                rows.push(("Completed", t(p.completed_at.map(format::datetime).unwrap_or_else(|| String::from("—")))));
                grid(rows)
            }}
            {p.flagged.then(|| view! { <p class="form-note">"⚑ This payment needs a human look (e.g. under- or double-paid); support will contact you."</p> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::payment_status;

    #[test]
    fn payment_states_read_without_colour() {
        assert_eq!(payment_status("completed").1, "✓ completed");
        assert_eq!(
            payment_status("expired"),
            ("pay-bad", String::from("✕ expired"))
        );
        assert_eq!(payment_status("pending").0, "pay-pending");
    }
}
