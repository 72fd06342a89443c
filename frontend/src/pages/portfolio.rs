//! The portfolio pages (product.md §7, pro and above): `/portfolio` (list + create),
//! `/portfolio/:id` (balance, stats, equity curve, trades with filters and keyset pages),
//! `/portfolio/:id/trades/new` and `/trades/new` (manual form, or prefilled from
//! `?pattern=ID` / `?signal=ID`), `/trades/:id` (state changes, edit, journal, tags) and
//! `/tags`.
//!
//! Every figure with a sign (PnL, R) carries an arrow and an explicit `+`/`−` besides its
//! colour class, so it reads without colour. Server field errors show inline through
//! [`FormErrors`]; `tier_required` renders the upgrade prompt (see [`Failure`]).

use cl_api_types::{
    JournalEntryDto, JournalRequest, PortfolioCreateRequest, PortfolioDto, PortfolioStatsDto,
    TagDto, TagRequest, TradeCloseRequest, TradeCreateRequest, TradeDto, TradePatchRequest,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::portfolio::{self as pf, TradeQuery, TradeSource};
use crate::api::ApiError;
use crate::components::chart::equity::EquityCurve;
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::page::SignedInPage;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::filters::{SelectFilter, SymbolFilter};
use crate::session::RequireSession;

/// Trades per page.
const PAGE: u32 = 50;

/// `(class, text)` of a signed amount: an arrow and an explicit sign besides the colour.
pub(crate) fn signed(v: f64) -> (&'static str, String) {
    if v > 0.0 {
        ("pnl-pos", format!("▲ +{}", format::price(v)))
    } else if v < 0.0 {
        ("pnl-neg", format!("▼ −{}", format::price(-v)))
    } else {
        ("pnl-flat", String::from("· 0"))
    }
}

/// A finite number from a form input (`None` for blank or junk).
pub(crate) fn number(raw: &str) -> Option<f64> {
    raw.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `None` for blank, `Some(trimmed)` otherwise.
fn text(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// An optional number field: blank → `Ok(None)`, junk → a field error.
fn opt_number(errors: FormErrors, field: &str, raw: &str) -> Option<f64> {
    if raw.trim().is_empty() {
        return None;
    }
    let v = number(raw);
    if v.is_none() {
        errors.set_field(field, "Enter a number.");
    }
    v
}

/// A required number field.
fn req_number(errors: FormErrors, field: &str, raw: &str) -> f64 {
    match number(raw) {
        Some(v) => v,
        None => {
            errors.set_field(field, "Enter a number.");
            0.0
        }
    }
}

fn side_parts(dir: &str) -> (bool, &'static str) {
    if dir == "short" {
        (false, "▼ SHORT")
    } else {
        (true, "▲ LONG")
    }
}

/// A `levels-grid` definition list of `(term, value)`.
pub(crate) fn grid(rows: Vec<(&'static str, AnyView)>) -> AnyView {
    view! {
        <dl class="levels-grid">
            {rows.into_iter().map(|(t, v)| view! { <div><dt>{t}</dt><dd>{v}</dd></div> }).collect_view()}
        </dl>
    }
    .into_any()
}

/// A value with classes (and a test id when non-empty).
pub(crate) fn val(text: impl Into<String>, class: &str, testid: &'static str) -> AnyView {
    let testid = (!testid.is_empty()).then_some(testid);
    view! { <span class=class.to_owned() data-testid=testid>{text.into()}</span> }.into_any()
}

/// Plain text as a grid value.
pub(crate) fn t(text: impl Into<String>) -> AnyView {
    text.into().into_any()
}

/// A labelled `<select>` over `(value, label)` options, bound to `value`.
#[component]
pub(crate) fn Choice(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    options: Vec<(&'static str, &'static str)>,
    value: RwSignal<String>,
    errors: FormErrors,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let error = move || errors.of(name);
    let err_id2 = err_id.clone();
    view! {
        <div class="form-field" class:has-error=move || error().is_some()>
            <label class="form-label" for=id>{label}</label>
            <select
                id=id
                name=name
                class="select"
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| err_id2.clone())
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {options
                    .into_iter()
                    .map(|(v, l)| view! { <option value=v selected=move || value.get() == v>{l}</option> })
                    .collect_view()}
            </select>
            {move || error().map(|m| view! { <p class="field-error" id=err_id.clone()><span aria-hidden="true">"✕ "</span>{m}</p> })}
        </div>
    }
}

/// A labelled `<textarea>` bound to `value`, with its inline error.
#[component]
pub(crate) fn TextArea(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    errors: FormErrors,
    #[prop(default = false)] required: bool,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let err_id2 = err_id.clone();
    let error = move || errors.of(name);
    view! {
        <div class="form-field" class:has-error=move || error().is_some()>
            <label class="form-label" for=id>{label}</label>
            <textarea
                id=id
                name=name
                class="input textarea"
                rows="3"
                maxlength="2000"
                required=required
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| err_id2.clone())
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
            {move || error().map(|m| view! { <p class="field-error" id=err_id.clone()><span aria-hidden="true">"✕ "</span>{m}</p> })}
        </div>
    }
}

// ----- /portfolio -------------------------------------------------------------------------

/// `/portfolio`: my portfolios and the create form.
#[component]
pub fn Portfolios() -> impl IntoView {
    set_page_title("Portfolio");
    view! {
        <SignedInPage eyebrow="Portfolio" title="Your portfolios" lead="Track paper or real trades, journal them and see your equity curve.">
            <PortfolioList />
        </SignedInPage>
    }
}

#[component]
fn PortfolioList() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.track();
        pf::list()
    });
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading your portfolios…" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) => view! {
                        {if items.is_empty() {
                            view! { <p class="empty-state">"No portfolios yet. Create your first one below."</p> }.into_any()
                        } else {
                            portfolio_table(items)
                        }}
                        <CreatePortfolio />
                        <p class="pf-links"><A href="/tags">"Manage tags"</A></p>
                    }
                    .into_any(),
                    Err(err) => view! { <ErrorBanner title="Could not load your portfolios" err=err /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn portfolio_table(items: Vec<PortfolioDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|p| {
            let (class, change) = signed(p.current_balance - p.initial_balance);
            vec![
                Cell::link(format!("/portfolio/{}", p.id), p.name),
                Cell::num(format!(
                    "{} {}",
                    format::price(p.current_balance),
                    p.currency
                )),
                Cell::classed(change, &format!("num {class}")),
                Cell::text(if p.is_active { "active" } else { "archived" }),
                Cell::classed(format::short_datetime(p.created_at), "nowrap"),
            ]
        })
        .collect();
    table(
        "portfolio-table",
        "Your portfolios",
        &["Name", "Balance", "Change", "Status", "Created (UTC)"],
        rows,
    )
}

#[component]
fn CreatePortfolio() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let balance = RwSignal::new(String::from("10000"));
    let currency = RwSignal::new(String::from("USD"));
    let description = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let initial_balance = req_number(errors, "initial_balance", &balance.get_untracked());
        if errors.has_field_errors() {
            return;
        }
        let body = PortfolioCreateRequest {
            name: name.get_untracked().trim().to_owned(),
            description: text(&description.get_untracked()),
            initial_balance,
            currency: Some(currency.get_untracked()),
        };
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match pf::create(&body).await {
                Ok(p) => navigate(&format!("/portfolio/{}", p.id), Default::default()),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel pf-create" aria-labelledby="pf-create-title">
            <h2 id="pf-create-title" class="panel-title">"New portfolio"</h2>
            <form class="settings-form" on:submit=submit novalidate>
                <FormAlert errors=errors />
                <Field id="pf-name" name="name" label="Name" value=name errors=errors maxlength=50 />
                <Field id="pf-balance" name="initial_balance" label="Starting balance" value=balance errors=errors inputmode="decimal" />
                <Choice id="pf-currency" name="currency" label="Currency" options=vec![("USD", "USD"), ("USDT", "USDT"), ("EUR", "EUR")] value=currency errors=errors />
                <Field id="pf-desc" name="description" label="Description (optional)" value=description errors=errors required=false maxlength=2000 />
                <div class="form-actions">
                    <Submit label="Create portfolio" busy_label="Creating…" busy=busy />
                </div>
            </form>
        </section>
    }
}

// ----- /portfolio/:id ---------------------------------------------------------------------

fn id_param(key: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(key).and_then(|s| s.parse::<i64>().ok()))
}

/// `/portfolio/:id`: balance, stats, equity curve and trades.
#[component]
pub fn PortfolioDetail() -> impl IntoView {
    set_page_title("Portfolio");
    let id = id_param("id");
    view! {
        <div class="page container detail-page">
            <p class="back-link"><A href="/portfolio">"← All portfolios"</A></p>
            <RequireSession>
                {move || match id.get() {
                    Some(id) => view! { <PortfolioView id=id /> }.into_any(),
                    None => view! { <h1>"Portfolio not found"</h1><p class="empty-state">"That is not a portfolio id."</p> }.into_any(),
                }}
            </RequireSession>
        </div>
    }
}

#[component]
fn PortfolioView(id: i64) -> impl IntoView {
    let data = LocalResource::new(move || async move {
        let p = pf::get(id).await?;
        let s = pf::stats(id).await?;
        Ok::<_, ApiError>((p, s))
    });
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading the portfolio…" /> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((p, s)) => {
                        set_page_title(&p.name);
                        view! {
                            <header class="page-header page-header-tight">
                                <p class="eyebrow">{format!("Portfolio · {}", p.currency)}</p>
                                <h1>{p.name.clone()}</h1>
                                {p.description.clone().map(|d| view! { <p class="lead">{d}</p> })}
                                <p class="cta-row">
                                    <A href=format!("/portfolio/{id}/trades/new") attr:class="btn btn-primary">"New trade"</A>
                                    <A href="/tags" attr:class="btn btn-ghost">"Tags"</A>
                                </p>
                            </header>
                            {stats_panel(&p, &s)}
                            <EquityPanel s=s />
                        }
                        .into_any()
                    }
                    Err(err) => view! { <h1>"Portfolio"</h1><ErrorBanner title="Could not load the portfolio" err=err /> }.into_any(),
                }
            })}
        </Suspense>
        <TradesPanel id=id />
    }
}

fn stats_panel(p: &PortfolioDto, s: &PortfolioStatsDto) -> AnyView {
    let (pnl_class, pnl) = signed(s.total_pnl);
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| {
        t(v.map(f).unwrap_or_else(|| String::from("—")))
    };
    let trade = |x: Option<cl_api_types::TradePnlDto>| match x {
        Some(b) => {
            let (c, text) = signed(b.pnl);
            view! { <A href=format!("/trades/{}", b.trade_id)>{val(text, c, "")}</A> }.into_any()
        }
        None => t("—"),
    };
    let groups = s
        .by_direction
        .iter()
        .map(|g| {
            let (c, text) = signed(g.total_pnl);
            view! { <li>{format!("{}: {} trades, {} wins · ", g.key, g.count, g.wins)}{val(text, c, "")}</li> }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="stats-title">
            <h2 id="stats-title" class="panel-title">"Balance and statistics"</h2>
            {grid(vec![
                ("Balance", val(format!("{} {}", format::price(s.current_balance), p.currency), "pf-balance", "")),
                ("Starting balance", t(format::price(p.initial_balance))),
                ("Total PnL", val(pnl, pnl_class, "total-pnl")),
                ("Closed trades", t(s.count.to_string())),
                ("Win rate", opt(s.win_rate, &format::percent)),
                ("Average R", opt(s.avg_r, &|v| format!("{v:+.2} R"))),
                ("Profit factor", opt(s.profit_factor, &|v| format!("{v:.2}"))),
                ("Max drawdown", t(format!("{} ({})", format::price(s.max_drawdown), format::percent(s.max_drawdown_pct)))),
                ("Best trade", trade(s.best)),
                ("Worst trade", trade(s.worst)),
            ])}
            <ul class="pf-groups" aria-label="By direction">{groups}</ul>
        </section>
    }
    .into_any()
}

#[component]
fn EquityPanel(s: PortfolioStatsDto) -> impl IntoView {
    let points: Vec<(i64, f64)> = s.equity_curve.iter().map(|p| (p.at, p.equity)).collect();
    view! {
        <section class="panel equity-panel" aria-labelledby="equity-title">
            <h2 id="equity-title" class="panel-title">"Equity curve"</h2>
            <EquityCurve
                points=points
                label="Equity curve: balance after each closed trade"
                empty="The curve starts with your first closed trade."
            />
        </section>
    }
}

#[component]
fn TradesPanel(id: i64) -> impl IntoView {
    let query = RwSignal::new(TradeQuery::default());
    let keyset = Keyset::new();
    let set = move |f: fn(&mut TradeQuery, String)| {
        move |v: String| {
            query.update(|q| f(q, v));
            keyset.reset();
        }
    };
    let page = LocalResource::new(move || {
        let q = query.get();
        let cursor = keyset.current();
        async move { pf::trades(id, &q, PAGE, cursor.as_deref()).await }
    });
    let statuses = ["pending", "open", "closed", "cancelled"]
        .map(|s| (s.to_owned(), s.to_owned()))
        .to_vec();
    let dirs = ["long", "short"]
        .map(|s| (s.to_owned(), s.to_owned()))
        .to_vec();
    view! {
        <section class="panel" aria-labelledby="trades-title">
            <h2 id="trades-title" class="panel-title">"Trades"</h2>
            <form class="filters" aria-label="Trade filters" on:submit=|ev| ev.prevent_default()>
                <SelectFilter id="t-status" label="Status" any="Any status" options=statuses on_change=set(|q, v| q.status = v) />
                <SymbolFilter id="t-symbol" on_change=set(|q, v| q.symbol = v) />
                <SelectFilter id="t-direction" label="Direction" any="Both directions" options=dirs on_change=set(|q, v| q.direction = v) />
            </form>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading trades…", empty: "No trades match. Create one from a pattern on the chart, a signal, or by hand.", failure: "Could not load trades" }
                rows=trade_table
            />
        </section>
    }
}

fn trade_table(items: Vec<TradeDto>) -> AnyView {
    let dash = || String::from("—");
    let rows = items
        .into_iter()
        .map(|t| {
            let (long, dir) = side_parts(&t.direction);
            let (pc, pnl) = t.pnl_amount.map(signed).unwrap_or(("", dash()));
            vec![
                Cell::link(
                    format!("/trades/{}", t.id),
                    format!("{} #{}", t.symbol, t.id),
                ),
                Cell::view(
                    "",
                    val(
                        dir,
                        if long {
                            "dir-badge dir-long"
                        } else {
                            "dir-badge dir-short"
                        },
                        "",
                    ),
                ),
                Cell::view(
                    "",
                    val(
                        t.status.clone(),
                        &format!("trade-status ts-{}", t.status),
                        "",
                    ),
                ),
                Cell::num(format::price(t.entry_price)),
                Cell::num(t.exit_price.map(format::price).unwrap_or_else(dash)),
                Cell::num(format::price(t.quantity)),
                Cell::classed(pnl, &format!("num {pc}")),
                Cell::num(t.pnl_r.map(|r| format!("{r:+.2}")).unwrap_or_else(dash)),
                Cell::classed(format::short_datetime(t.created_at), "nowrap"),
            ]
        })
        .collect();
    table(
        "trades-table",
        "Trades, newest first",
        &[
            "Trade",
            "Direction",
            "Status",
            "Entry",
            "Exit",
            "Qty",
            "PnL",
            "R",
            "Created (UTC)",
        ],
        rows,
    )
}

// ----- new trade -------------------------------------------------------------------------

/// `/portfolio/:id/trades/new` and `/trades/new` (`?pattern=ID` or `?signal=ID` prefill).
#[component]
pub fn TradeNew() -> impl IntoView {
    set_page_title("New trade");
    let id = id_param("id");
    let query = use_query_map();
    let source = Memo::new(move |_| {
        let q = query.read();
        let num = |k: &str| q.get(k).and_then(|s| s.parse::<i64>().ok());
        num("pattern")
            .map(TradeSource::Pattern)
            .or_else(|| num("signal").map(TradeSource::Signal))
    });
    view! {
        <div class="page container detail-page">
            <p class="back-link">
                {move || match id.get() {
                    Some(id) => view! { <A href=format!("/portfolio/{id}")>"← Back to the portfolio"</A> }.into_any(),
                    None => view! { <A href="/portfolio">"← All portfolios"</A> }.into_any(),
                }}
            </p>
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Portfolio"</p>
                <h1>"New trade"</h1>
            </header>
            <RequireSession>
                {move || match source.get() {
                    Some(src) => view! { <FromSource portfolio=id.get() source=src /> }.into_any(),
                    None => match id.get() {
                        Some(pid) => view! { <ManualTrade portfolio=pid /> }.into_any(),
                        None => view! { <p class="empty-state">"Open a portfolio to add a trade to it."</p> }.into_any(),
                    },
                }}
            </RequireSession>
        </div>
    }
}

/// A pending trade with the pattern's or signal's levels, into a chosen portfolio.
#[component]
fn FromSource(portfolio: Option<i64>, source: TradeSource) -> impl IntoView {
    let list = LocalResource::new(pf::list);
    let chosen = RwSignal::new(portfolio.map(|p| p.to_string()).unwrap_or_default());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let what = match source {
        TradeSource::Pattern(id) => format!("pattern #{id}"),
        TradeSource::Signal(id) => format!("signal #{id}"),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let Ok(pid) = chosen.get_untracked().parse::<i64>() else {
            errors.set_field("portfolio_id", "Choose a portfolio.");
            return;
        };
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match pf::create_from(pid, source).await {
                Ok(t) => navigate(&format!("/trades/{}", t.id), Default::default()),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading your portfolios…" /> }>
            {move || {
                let submit = submit.clone();
                let what = what.clone();
                Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! {
                            <p class="empty-state">"You have no portfolio yet. "<A href="/portfolio">"Create one first"</A>"."</p>
                        }
                        .into_any(),
                        Ok(items) => {
                            if chosen.get_untracked().is_empty() {
                                if let Some(first) = items.first() {
                                    chosen.set(first.id.to_string());
                                }
                            }
                            view! {
                                <section class="panel">
                                    <p>{format!("A pending trade with the entry, stop loss and take profit of {what}.")}</p>
                                    <form class="settings-form" on:submit=submit>
                                        <FormAlert errors=errors />
                                        // The source's levels are not inputs here: list what the server refused.
                                        <ul class="field-error">{move || errors.fields.get().into_iter().filter(|f| f.field != "portfolio_id").map(|f| view! { <li>{format!("{}: {}", f.field.replace('_', " "), f.message)}</li> }).collect_view()}</ul>
                                        <div class="form-field" class:has-error=move || errors.of("portfolio_id").is_some()>
                                            <label class="form-label" for="fs-portfolio">"Portfolio"</label>
                                            <select id="fs-portfolio" class="select" prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                                                {items.into_iter().map(|p| {
                                                    let v = p.id.to_string();
                                                    let v2 = v.clone();
                                                    view! { <option value=v selected=move || chosen.get() == v2>{p.name}</option> }
                                                }).collect_view()}
                                            </select>
                                            {move || errors.of("portfolio_id").map(|m| view! { <p class="field-error">{m}</p> })}
                                        </div>
                                        <div class="form-actions">
                                            <Submit label="Create the trade" busy_label="Creating…" busy=busy />
                                        </div>
                                    </form>
                                </section>
                            }
                            .into_any()
                        }
                        Err(err) => view! { <ErrorBanner title="Could not load your portfolios" err=err /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn ManualTrade(portfolio: i64) -> impl IntoView {
    let symbol = RwSignal::new(String::from("BTC/USDT"));
    let direction = RwSignal::new(String::from("long"));
    let tf = RwSignal::new(String::new());
    let entry = RwSignal::new(String::new());
    let qty = RwSignal::new(String::new());
    let sl = RwSignal::new(String::new());
    let tp = RwSignal::new(String::new());
    let fees = RwSignal::new(String::new());
    let status = RwSignal::new(String::from("pending"));
    let notes = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let body = TradeCreateRequest {
            symbol: symbol.get_untracked().trim().to_uppercase(),
            direction: direction.get_untracked(),
            tf: text(&tf.get_untracked()),
            pattern_type: None,
            entry_price: req_number(errors, "entry_price", &entry.get_untracked()),
            entry_time: None,
            quantity: req_number(errors, "quantity", &qty.get_untracked()),
            stop_loss: opt_number(errors, "stop_loss", &sl.get_untracked()),
            take_profit: opt_number(errors, "take_profit", &tp.get_untracked()),
            risk_amount: None,
            fees: opt_number(errors, "fees", &fees.get_untracked()),
            setup_notes: text(&notes.get_untracked()),
            lessons: None,
            status: Some(status.get_untracked()),
        };
        if errors.has_field_errors() {
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match pf::create_trade(portfolio, &body).await {
                Ok(t) => navigate(&format!("/trades/{}", t.id), Default::default()),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel">
            <form class="settings-form trade-form" on:submit=submit novalidate>
                <FormAlert errors=errors />
                <Field id="t-symbol" name="symbol" label="Symbol" value=symbol errors=errors hint="e.g. BTC/USDT" />
                <Choice id="t-direction" name="direction" label="Direction" options=vec![("long", "▲ Long"), ("short", "▼ Short")] value=direction errors=errors />
                <Choice id="t-tf" name="tf" label="Timeframe (optional)" options=vec![("", "—"), ("5m", "5m"), ("15m", "15m"), ("30m", "30m"), ("1h", "1h"), ("2h", "2h"), ("4h", "4h"), ("1d", "1d")] value=tf errors=errors />
                <Field id="t-entry" name="entry_price" label="Entry price" value=entry errors=errors inputmode="decimal" />
                <Field id="t-qty" name="quantity" label="Quantity" value=qty errors=errors inputmode="decimal" />
                <Field id="t-sl" name="stop_loss" label="Stop loss (optional)" value=sl errors=errors inputmode="decimal" required=false />
                <Field id="t-tp" name="take_profit" label="Take profit (optional)" value=tp errors=errors inputmode="decimal" required=false />
                <Field id="t-fees" name="fees" label="Fees (optional)" value=fees errors=errors inputmode="decimal" required=false />
                <Choice id="t-status" name="status" label="State" options=vec![("pending", "Pending (not entered yet)"), ("open", "Open (entered now)")] value=status errors=errors />
                <TextArea id="t-notes" name="setup_notes" label="Setup notes (optional)" value=notes errors=errors />
                <div class="form-actions">
                    <Submit label="Add the trade" busy_label="Adding…" busy=busy />
                </div>
            </form>
        </section>
    }
}

// ----- /trades/:id ------------------------------------------------------------------------

/// `/trades/:id`: the trade, its state changes, edit form, journal and tags.
#[component]
pub fn TradeDetail() -> impl IntoView {
    set_page_title("Trade");
    let id = id_param("id");
    view! {
        <div class="page container detail-page">
            <RequireSession>
                {move || match id.get() {
                    Some(id) => view! { <TradeView id=id /> }.into_any(),
                    None => view! { <h1>"Trade not found"</h1><p class="empty-state">"That is not a trade id."</p> }.into_any(),
                }}
            </RequireSession>
        </div>
    }
}

#[component]
fn TradeView(id: i64) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let trade = LocalResource::new(move || {
        version.track();
        pf::trade(id)
    });
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading the trade…" /> }>
            {move || Suspend::new(async move {
                match trade.await {
                    Ok(t) => view! { <TradeBody t=t version=version /> }.into_any(),
                    Err(err) => view! { <h1>"Trade"</h1><ErrorBanner title="Could not load the trade" err=err /> }.into_any(),
                }
            })}
        </Suspense>
        <JournalPanel id=id />
        <TradeTagsPanel id=id />
    }
}

#[component]
fn TradeBody(t: TradeDto, version: RwSignal<u32>) -> impl IntoView {
    set_page_title(&format!("Trade #{} {}", t.id, t.symbol));
    let (long, dir) = side_parts(&t.direction);
    let dash = || String::from("—");
    let opt_price = move |v: Option<f64>| v.map(format::price).unwrap_or_else(dash);
    let pnl = t.pnl_amount.map(signed);
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let id = t.id;
    let portfolio = t.portfolio_id;
    let act = move |label: &'static str| {
        let navigate = navigate.clone();
        move |_| {
            errors.clear();
            busy.set(true);
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                let res = match label {
                    "open" => pf::open_trade(id).await.map(|_| ()),
                    "market" => pf::close_at_market(id).await.map(|_| ()),
                    "cancel" => pf::cancel_trade(id).await.map(|_| ()),
                    _ => pf::delete_trade(id).await.map(|_| ()),
                };
                busy.set(false);
                match res {
                    Ok(()) if label == "delete" => {
                        navigate(&format!("/portfolio/{portfolio}"), Default::default())
                    }
                    Ok(()) => version.update(|v| *v += 1),
                    Err(err) => errors.show(&err),
                }
            });
        }
    };
    let status = t.status.clone();
    view! {
        <p class="back-link"><A href=format!("/portfolio/{portfolio}")>"← Back to the portfolio"</A></p>
        <header class="page-header page-header-tight">
            <p class="eyebrow">{format!("Trade #{} · {}", t.id, t.status)}</p>
            <h1>
                <span class="dir-badge dir-badge-lg" class:dir-long=long class:dir-short=!long>{dir}</span>
                " "
                {t.symbol.clone()}
            </h1>
            <p class="lead">
                {t.tf.clone().map(|tf| format!("{tf} · "))}
                {t.pattern_type.clone().map(|p| format!("{p} · "))}
                {t.pattern_id.map(|p| format!("from pattern #{p} · "))}
                {t.signal_id.map(|s| format!("from signal #{s} · "))}
                {format!("created {}", format::datetime(t.created_at))}
            </p>
        </header>
        <div class="detail-grid">
            <section class="panel" aria-labelledby="trade-levels">
                <h2 id="trade-levels" class="panel-title">"Position"</h2>
                {grid(vec![
                    ("Status", val(t.status.clone(), &format!("trade-status ts-{}", t.status), "trade-status")),
                    ("Entry", val(format::price(t.entry_price), "lv-entry", "")),
                    ("Quantity", self::t(format::price(t.quantity))),
                    ("Stop loss", val(opt_price(t.stop_loss), "lv-stop", "")),
                    ("Take profit", val(opt_price(t.take_profit), "lv-target", "")),
                    ("Risk", self::t(format!("{}{}", opt_price(t.risk_amount), t.risk_percent.map(|p| format!(" ({})", format::percent(p))).unwrap_or_default()))),
                    ("Fees", self::t(format::price(t.fees))),
                    ("Entered", self::t(t.entry_time.map(format::datetime).unwrap_or_else(dash))),
                    ("Exit", self::t(opt_price(t.exit_price))),
                    ("Exited", self::t(t.exit_time.map(format::datetime).unwrap_or_else(dash))),
                    ("PnL", val(pnl.clone().map(|p| p.1).unwrap_or_else(dash), pnl.as_ref().map(|p| p.0).unwrap_or(""), "trade-pnl")),
                    ("PnL %", self::t(t.pnl_percent.map(|p| format!("{p:+.2} %")).unwrap_or_else(dash))),
                    ("R multiple", self::t(t.pnl_r.map(|r| format!("{r:+.2} R")).unwrap_or_else(dash))),
                ])}
                {t.setup_notes.clone().map(|n| view! { <h3 class="panel-title panel-title-sub">"Setup notes"</h3><p class="pre-wrap">{n}</p> })}
                {t.exit_notes.clone().map(|n| view! { <h3 class="panel-title panel-title-sub">"Exit notes"</h3><p class="pre-wrap">{n}</p> })}
                {t.lessons.clone().map(|n| view! { <h3 class="panel-title panel-title-sub">"Lessons"</h3><p class="pre-wrap">{n}</p> })}
            </section>
            <section class="panel" aria-labelledby="trade-actions">
                <h2 id="trade-actions" class="panel-title">"Actions"</h2>
                <FormAlert errors=errors />
                <div class="cta-row trade-actions">
                    {(status == "pending").then(|| view! {
                        <button type="button" class="btn btn-primary" disabled=move || busy.get() on:click=act("open")>"Open now"</button>
                        <button type="button" class="btn btn-ghost" disabled=move || busy.get() on:click=act("cancel")>"Cancel"</button>
                    })}
                    {(status == "open").then(|| view! {
                        <button type="button" class="btn btn-ghost" disabled=move || busy.get() on:click=act("market")>"Close at market"</button>
                    })}
                    {(status != "open").then(|| view! {
                        <button type="button" class="btn btn-danger-ghost" disabled=move || busy.get() on:click=act("delete")>"Delete"</button>
                    })}
                </div>
                {(status == "open").then(|| view! { <CloseForm t=t.clone() version=version /> })}
                {(status != "cancelled").then(|| view! { <EditForm t=t.clone() version=version /> })}
            </section>
        </div>
    }
}

#[component]
fn CloseForm(t: TradeDto, version: RwSignal<u32>) -> impl IntoView {
    let exit = RwSignal::new(t.take_profit.map(|v| v.to_string()).unwrap_or_default());
    let fees = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let id = t.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let body = TradeCloseRequest {
            exit_price: req_number(errors, "exit_price", &exit.get_untracked()),
            exit_time: None,
            fees: opt_number(errors, "fees", &fees.get_untracked()),
            exit_notes: text(&notes.get_untracked()),
            lessons: None,
        };
        if errors.has_field_errors() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match pf::close_trade(id, &body).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="settings-form" on:submit=submit novalidate aria-labelledby="close-title">
            <h3 id="close-title" class="panel-title panel-title-sub">"Close the trade"</h3>
            <FormAlert errors=errors />
            <Field id="c-exit" name="exit_price" label="Exit price" value=exit errors=errors inputmode="decimal" />
            <Field id="c-fees" name="fees" label="Total fees (optional)" value=fees errors=errors inputmode="decimal" required=false />
            <TextArea id="c-notes" name="exit_notes" label="Exit notes (optional)" value=notes errors=errors />
            <div class="form-actions">
                <Submit label="Close the trade" busy_label="Closing…" busy=busy />
            </div>
        </form>
    }
}

#[component]
fn EditForm(t: TradeDto, version: RwSignal<u32>) -> impl IntoView {
    let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let sl = RwSignal::new(show(t.stop_loss));
    let tp = RwSignal::new(show(t.take_profit));
    let setup = RwSignal::new(t.setup_notes.clone().unwrap_or_default());
    let lessons = RwSignal::new(t.lessons.clone().unwrap_or_default());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let id = t.id;
    let closed = t.status == "closed";
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        saved.set(None);
        let mut body = TradePatchRequest {
            setup_notes: Some(setup.get_untracked()),
            lessons: Some(lessons.get_untracked()),
            ..Default::default()
        };
        if !closed {
            body.stop_loss = opt_number(errors, "stop_loss", &sl.get_untracked());
            body.take_profit = opt_number(errors, "take_profit", &tp.get_untracked());
        }
        if errors.has_field_errors() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match pf::edit_trade(id, &body).await {
                Ok(_) => {
                    saved.set(Some(String::from("Saved.")));
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="settings-form" on:submit=submit novalidate aria-labelledby="edit-title">
            <h3 id="edit-title" class="panel-title panel-title-sub">"Edit"</h3>
            <FormAlert errors=errors />
            <FormSuccess message=saved />
            {(!closed).then(|| view! {
                <Field id="e-sl" name="stop_loss" label="Stop loss" value=sl errors=errors inputmode="decimal" required=false />
                <Field id="e-tp" name="take_profit" label="Take profit" value=tp errors=errors inputmode="decimal" required=false />
            })}
            <TextArea id="e-setup" name="setup_notes" label="Setup notes" value=setup errors=errors />
            <TextArea id="e-lessons" name="lessons" label="Lessons" value=lessons errors=errors />
            <div class="form-actions">
                <Submit label="Save" busy_label="Saving…" busy=busy class="btn btn-ghost" />
            </div>
        </form>
    }
}

const MOODS: [(&str, &str); 7] = [
    ("", "—"),
    ("confident", "Confident"),
    ("neutral", "Neutral"),
    ("fearful", "Fearful"),
    ("greedy", "Greedy"),
    ("fomo", "FOMO"),
    ("revenge", "Revenge"),
];

#[component]
fn JournalPanel(id: i64) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let entries = LocalResource::new(move || {
        version.track();
        pf::journal(id)
    });
    let kind = RwSignal::new(String::from("pre_trade"));
    let mood = RwSignal::new(String::new());
    let content = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let body = JournalRequest {
            entry_type: kind.get_untracked(),
            content: content.get_untracked(),
            mood: text(&mood.get_untracked()),
            screenshots: None,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match pf::add_journal(id, &body).await {
                Ok(_) => {
                    content.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    let remove = move |entry: i64| {
        leptos::task::spawn_local(async move {
            match pf::delete_journal(entry).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="journal-title">
            <h2 id="journal-title" class="panel-title">"Journal"</h2>
            <Suspense fallback=|| view! { <Loading text="Loading the journal…" /> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No journal entries yet."</p> }.into_any(),
                        Ok(list) => view! { <JournalList list=list remove=remove /> }.into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load the journal" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
            <form class="settings-form" on:submit=submit novalidate aria-label="Add a journal entry">
                <FormAlert errors=errors />
                <Choice id="j-type" name="entry_type" label="Kind" options=vec![("pre_trade", "Before the trade"), ("during", "During"), ("post_trade", "After the trade"), ("lesson", "Lesson")] value=kind errors=errors />
                <Choice id="j-mood" name="mood" label="Mood" options=MOODS.to_vec() value=mood errors=errors />
                <TextArea id="j-content" name="content" label="Entry" value=content errors=errors required=true />
                <div class="form-actions">
                    <Submit label="Add the entry" busy_label="Adding…" busy=busy class="btn btn-ghost" />
                </div>
            </form>
        </section>
    }
}

#[component]
fn JournalList(list: Vec<JournalEntryDto>, remove: impl Fn(i64) + Copy + 'static) -> impl IntoView {
    view! {
        <ol class="journal-list">
            {list.into_iter().map(|e| {
                let id = e.id;
                let mood = e.mood.clone().map(|m| format!(" · mood: {m}"));
                view! {
                    <li class="journal-entry">
                        <p class="journal-meta muted">
                            {format!("{} · {}", e.entry_type.replace('_', " "), format::datetime(e.created_at))}
                            {mood}
                        </p>
                        <p class="pre-wrap">{e.content.clone()}</p>
                        {(!e.screenshots.is_empty()).then(|| view! {
                            <ul class="journal-links">
                                {e.screenshots.iter().map(|s| view! { <li><a href=s.clone() rel="noopener noreferrer nofollow" target="_blank">{s.clone()}</a></li> }).collect_view()}
                            </ul>
                        })}
                        <button type="button" class="btn btn-danger-ghost btn-sm" on:click=move |_| remove(id)>
                            "Delete"<span class="sr-only">{format!(" journal entry {id}")}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
fn TradeTagsPanel(id: i64) -> impl IntoView {
    let data = LocalResource::new(move || async move {
        let all = pf::tags().await?;
        let on = pf::trade_tags(id).await?;
        Ok::<_, ApiError>((all, on.tag_ids))
    });
    view! {
        <section class="panel" aria-labelledby="tags-title">
            <h2 id="tags-title" class="panel-title">"Tags"</h2>
            <Suspense fallback=|| view! { <Loading text="Loading tags…" /> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((all, _)) if all.is_empty() => view! {
                            <p class="empty-state">"No tags yet. "<A href="/tags">"Create tags"</A>" to group your trades."</p>
                        }
                        .into_any(),
                        Ok((all, on)) => view! { <TagPicker id=id all=all on=on /> }.into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load tags" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TagPicker(id: i64, all: Vec<TagDto>, on: Vec<i64>) -> impl IntoView {
    let chosen = RwSignal::new(on);
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        saved.set(None);
        busy.set(true);
        let ids = chosen.get_untracked();
        leptos::task::spawn_local(async move {
            match pf::set_trade_tags(id, ids).await {
                Ok(_) => saved.set(Some(String::from("Tags saved."))),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="settings-form" on:submit=submit>
            <FormAlert errors=errors />
            <FormSuccess message=saved />
            <fieldset class="tag-set">
                <legend class="sr-only">"Tags of this trade"</legend>
                {all.into_iter().map(|t| {
                    let tid = t.id;
                    let input_id = format!("tag-{tid}");
                    let label_for = input_id.clone();
                    view! {
                        <label class="form-check tag-check" for=label_for>
                            <input
                                id=input_id
                                type="checkbox"
                                class="checkbox"
                                prop:checked=move || chosen.with(|c| c.contains(&tid))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| *x != tid);
                                        if on { c.push(tid); }
                                    });
                                }
                            />
                            <span class="tag-swatch" style:background-color=t.color.clone() aria-hidden="true"></span>
                            {t.name}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <div class="form-actions">
                <Submit label="Save tags" busy_label="Saving…" busy=busy class="btn btn-ghost" />
            </div>
        </form>
    }
}

// ----- /tags ------------------------------------------------------------------------------

/// `/tags`: create and delete tags.
#[component]
pub fn Tags() -> impl IntoView {
    set_page_title("Tags");
    view! {
        <SignedInPage eyebrow="Portfolio" title="Tags" lead="Label trades (e.g. “A+ setup”, “news”) to compare them in the statistics." back=("/portfolio", "← Portfolios")>
            <TagManager />
        </SignedInPage>
    }
}

#[component]
fn TagManager() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.track();
        pf::tags()
    });
    let name = RwSignal::new(String::new());
    let color = RwSignal::new(String::from("#3b82f6"));
    let description = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let body = TagRequest {
            name: name.get_untracked().trim().to_owned(),
            color: Some(color.get_untracked()),
            description: text(&description.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match pf::create_tag(&body).await {
                Ok(_) => {
                    name.set(String::new());
                    description.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    let remove = move |id: i64| {
        leptos::task::spawn_local(async move {
            match pf::delete_tag(id).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <Suspense fallback=|| view! { <Loading text="Loading tags…" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(tags) if tags.is_empty() => view! { <p class="empty-state">"No tags yet."</p> }.into_any(),
                    Ok(tags) => view! {
                        <ul class="tag-list">
                            {tags.into_iter().map(|t| {
                                let id = t.id;
                                view! {
                                    <li class="tag-item">
                                        <span class="tag-swatch" style:background-color=t.color.clone() aria-hidden="true"></span>
                                        <span class="tag-name">{t.name.clone()}</span>
                                        <span class="muted small">{t.color.clone()}</span>
                                        {t.description.clone().map(|d| view! { <span class="muted small">{d}</span> })}
                                        <button type="button" class="btn btn-danger-ghost btn-sm" on:click=move |_| remove(id)>
                                            "Delete"<span class="sr-only">{format!(" tag {}", t.name)}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(err) => view! { <ErrorBanner title="Could not load tags" err=err /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel" aria-labelledby="tag-create-title">
            <h2 id="tag-create-title" class="panel-title">"New tag"</h2>
            <form class="settings-form" on:submit=submit novalidate>
                <FormAlert errors=errors />
                <Field id="tag-name" name="name" label="Name" value=name errors=errors maxlength=30 />
                <Field id="tag-color" name="color" label="Colour" kind="color" value=color errors=errors />
                <Field id="tag-desc" name="description" label="Description (optional)" value=description errors=errors required=false maxlength=200 />
                <div class="form-actions">
                    <Submit label="Create tag" busy_label="Creating…" busy=busy />
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_amounts_carry_an_arrow_and_a_sign_besides_the_colour() {
        assert_eq!(signed(12.5), ("pnl-pos", String::from("▲ +12.5000")));
        assert_eq!(signed(-3.0), ("pnl-neg", String::from("▼ −3.0000")));
        assert_eq!(signed(0.0), ("pnl-flat", String::from("· 0")));
    }

    #[test]
    fn numbers_from_inputs() {
        assert_eq!(number(" 42.5 "), Some(42.5));
        assert_eq!(number(""), None);
        assert_eq!(number("abc"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("inf"), None);
    }
}
