//! `/settings/trading` (product.md §2, §8): risk per trade % and the default R:R (pro and
//! premium; the free tier sees the upgrade prompt instead of the form), saved with the
//! server's field errors shown inline, and the optimizer-tuned params an admin applied to the
//! caller, read-only, with a reset to the defaults (any tier).

use cl_api_types::{TradingPrefsDto, TradingPrefsRequest, TunedParamsDto};
use leptos::prelude::*;

use crate::api::{optimizer, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell};
use crate::components::status::UpgradePrompt;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::settings::SettingsFrame;

/// `/settings/trading`.
#[component]
pub fn SettingsTrading() -> impl IntoView {
    set_page_title("Trading preferences");
    let prefs = RwSignal::new(None::<Result<TradingPrefsDto, ApiError>>);
    leptos::task::spawn_local(async move { prefs.set(Some(optimizer::trading().await)) });
    view! {
        <SettingsFrame title="Trading preferences">
            {move || match prefs.get() {
                None => view! { <Loading text="Loading your trading preferences…" /> }.into_any(),
                Some(Err(err)) => view! { <ErrorBanner title="Could not load your trading preferences" err=err /> }.into_any(),
                Some(Ok(p)) => {
                    // Saves update the panels in place (rebuilding them from `prefs` dropped
                    // their "Saved." messages): the tuned list follows every answer.
                    let tuned = RwSignal::new(p.tuned.clone());
                    let follow = Callback::new(move |d: TradingPrefsDto| tuned.set(d.tuned));
                    view! {
                        <div class="settings-grid">
                            <RiskForm prefs=p on_saved=follow />
                            <TunedPanel tuned=tuned on_reset=follow />
                        </div>
                    }
                    .into_any()
                }
            }}
        </SettingsFrame>
    }
}

/// `""` → `None` (the default), else the number; `Err` when it is not one.
fn parse_opt(raw: &str) -> Result<Option<f64>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or(())
}

fn shown(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

#[component]
fn RiskForm(prefs: TradingPrefsDto, on_saved: Callback<TradingPrefsDto>) -> impl IntoView {
    if !prefs.editable {
        return view! {
            <UpgradePrompt message="Risk per trade and the default R:R are part of the Pro and Premium plans." />
        }
        .into_any();
    }
    let risk = RwSignal::new(shown(prefs.risk_per_trade_pct));
    let rr = RwSignal::new(shown(prefs.default_rr));
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let send = move |body: TradingPrefsRequest, message: &'static str| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = optimizer::save_trading(&body).await;
            busy.set(false);
            match result {
                Ok(d) => {
                    risk.set(shown(d.risk_per_trade_pct));
                    rr.set(shown(d.default_rr));
                    done.set(Some(message.to_owned()));
                    on_saved.run(d);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let r = parse_opt(&risk.get_untracked());
        let d = parse_opt(&rr.get_untracked());
        if r.is_err() {
            errors.set_field(
                "risk_per_trade_pct",
                "Enter a number, or leave it empty for the default.",
            );
        }
        if d.is_err() {
            errors.set_field(
                "default_rr",
                "Enter a number, or leave it empty for the default.",
            );
        }
        if let (Ok(risk_per_trade_pct), Ok(default_rr)) = (r, d) {
            send(
                TradingPrefsRequest {
                    risk_per_trade_pct,
                    default_rr,
                },
                "Saved.",
            );
        }
    };
    let reset = move |_| {
        errors.clear();
        done.set(None);
        send(TradingPrefsRequest::default(), "Back to the defaults.");
    };
    let risk_hint = "0.1 to 10 %, at most 2 decimals; empty = the default (1 %)";
    let rr_hint = "0.5 to 10, at most 2 decimals; empty = the default (3)";
    view! {
        <section class="panel settings-card" aria-labelledby="risk-title">
            <h2 id="risk-title" class="panel-title">"Risk"</h2>
            <p class="muted small">
                {format!(
                    "Defaults: {} % per trade, R:R {}.",
                    prefs.default_risk_per_trade_pct, prefs.default_default_rr
                )}
            </p>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <Field id="trading-risk" name="risk_per_trade_pct" label="Risk per trade (%)" hint=risk_hint value=risk errors=errors inputmode="decimal" required=false maxlength=12 />
                <Field id="trading-rr" name="default_rr" label="Default R:R" hint=rr_hint value=rr errors=errors inputmode="decimal" required=false maxlength=12 />
                <p class="form-actions">
                    <Submit label="Save" busy_label="Saving…" busy=busy />
                    " "
                    <button type="button" class="btn btn-ghost" disabled=move || busy.get() on:click=reset>"Reset to defaults"</button>
                </p>
            </form>
        </section>
    }
    .into_any()
}

fn tuned_rows(list: &[TunedParamsDto]) -> Vec<Vec<Cell>> {
    list.iter()
        .flat_map(|t| {
            t.entries.iter().map(move |e| {
                vec![
                    Cell::text(t.symbol.clone()),
                    Cell::text(format!("{} · {}", e.pattern_type.replace('_', " "), e.tf)),
                    Cell::num(format!("{}", e.rr)),
                    Cell::num(format!("{} %", e.sl_buffer_pct)),
                    Cell::num(format!("× {}", e.expiry_multiplier)),
                    Cell::num(e.trade_count.to_string()),
                    Cell::text(format!(
                        "job {} · {}",
                        t.job_id,
                        format::datetime(t.updated_at)
                    )),
                ]
            })
        })
        .collect()
}

#[component]
fn TunedPanel(
    tuned: RwSignal<Vec<TunedParamsDto>>,
    on_reset: Callback<TradingPrefsDto>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let reset = move |_| {
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = optimizer::reset_tuned().await;
            busy.set(false);
            match result {
                Ok(d) => {
                    done.set(Some("Tuned params removed: the defaults apply.".to_owned()));
                    on_reset.run(d);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="tuned-title">
            <h2 id="tuned-title" class="panel-title">"Tuned parameters"</h2>
            <p class="muted small">"Chosen by the optimizer and applied by an administrator. Read-only."</p>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            {move || if tuned.with(Vec::is_empty) {
                view! { <p class="empty-state">"No tuned parameters: the defaults apply."</p> }.into_any()
            } else {
                view! {
                    {table(
                        "tuned-table",
                        "Tuned parameters by symbol, pattern type and timeframe",
                        &["Symbol", "Pattern · TF", "R:R", "SL buffer", "Expiry", "Trades", "Source"],
                        tuned.with(|t| tuned_rows(t)),
                    )}
                    <p class="form-actions">
                        <button type="button" class="btn btn-ghost" disabled=move || busy.get() on:click=reset>
                            "Reset to defaults"
                        </button>
                    </p>
                }
                .into_any()
            }}
        </section>
    }
}
