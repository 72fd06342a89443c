//! Admin operations pages (product.md §9): `/admin/stats` (global counts and the all-symbol
//! analytics), `/admin/subscriptions` (plan/status/expiring filters, keyset pages),
//! `/admin/logs` (category/level/symbol/time filters, keyset pages) and `/admin/settings`
//! (global signal settings, retention, global ntfy topic, log level; the server's field errors
//! are shown next to each input).

use cl_api_types::{
    AdminStatsDto, GlobalSettingsDto, GlobalSettingsRequest, LogEntryDto, SubscriptionRowDto,
};
use leptos::prelude::*;

use crate::api::stats::{self as api, LogQuery, SubscriptionQuery};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::admin::AdminPage;
use crate::pages::analytics::analytics_view;
use crate::pages::filters::SelectFilter;

const PAGE: u32 = 50;

fn opts(words: &[&str]) -> Vec<(String, String)> {
    words
        .iter()
        .map(|w| ((*w).to_owned(), (*w).to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Stats
// ---------------------------------------------------------------------------------------------

fn stats_view(s: AdminStatsDto) -> AnyView {
    let u = s.users;
    let sub = s.subscriptions;
    let n = s.notifications;
    let w = s.window_days;
    let tile = |label: String, v: u64| {
        view! { <div class="stat-tile"><dt>{label}</dt><dd>{v}</dd></div> }
    };
    view! {
        <h2 class="section-title">"Users"</h2>
        <dl class="stat-tiles">
            {tile("Users".into(), u.total)}
            {tile("Active".into(), u.active)}
            {tile("Verified".into(), u.verified)}
            {tile("Admins".into(), u.admins)}
            {tile("2FA on".into(), u.totp_enabled)}
            {tile(format!("New in {w} days"), u.new_in_window)}
        </dl>
        <h2 class="section-title">"Subscriptions"</h2>
        <dl class="stat-tiles">
            {tile("Active pro".into(), sub.active_pro)}
            {tile("Active premium".into(), sub.active_premium)}
            {tile("Lifetime".into(), sub.active_lifetime)}
            {tile("Expired".into(), sub.expired)}
            {tile("Cancelled".into(), sub.cancelled)}
            {tile("Suspended".into(), sub.suspended)}
            {tile(format!("Expiring in {w} days"), sub.expiring_in_window)}
        </dl>
        <h2 class="section-title">"Notifications and errors"</h2>
        <dl class="stat-tiles">
            {tile("Queued".into(), n.queued)}
            {tile("Sent".into(), n.sent)}
            {tile("Failed".into(), n.failed)}
            {tile("Skipped".into(), n.skipped)}
            {tile("New errors".into(), s.errors_new)}
        </dl>
        <h2 class="section-title">"Patterns and signals (every symbol)"</h2>
        {analytics_view(s.analytics)}
    }
    .into_any()
}

/// `/admin/stats`.
#[component]
pub fn AdminStats() -> impl IntoView {
    set_page_title("Admin · Stats");
    let data = LocalResource::new(api::admin_stats);
    view! {
        <AdminPage title="Global stats">
            <div aria-live="polite">
                <Transition fallback=|| view! { <Loading text="Loading stats…" /> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(s) => stats_view(s),
                            Err(err) => view! { <ErrorBanner title="Could not load the stats" err=err /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminPage>
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

fn subscription_table(items: Vec<SubscriptionRowDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|s| {
            vec![
                Cell::text(format!("{} ({})", s.username, s.email)),
                Cell::text(s.plan),
                Cell::text(s.status),
                Cell::classed(format::short_datetime(s.starts_at), "nowrap"),
                Cell::classed(
                    s.expires_at
                        .map_or_else(|| "never".to_owned(), format::short_datetime),
                    "nowrap",
                ),
                Cell::text(s.provider.unwrap_or_else(|| "—".into())),
            ]
        })
        .collect();
    table(
        "admin-subscriptions",
        "Subscriptions, newest first",
        &[
            "User",
            "Plan",
            "Status",
            "Starts (UTC)",
            "Expires (UTC)",
            "Source",
        ],
        rows,
    )
}

/// `/admin/subscriptions`.
#[component]
pub fn AdminSubscriptions() -> impl IntoView {
    set_page_title("Admin · Subscriptions");
    let plan = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let days = RwSignal::new(String::new());
    let applied_days = RwSignal::new(String::new());
    let keyset = Keyset::new();
    let page = LocalResource::new(move || {
        let q = SubscriptionQuery {
            plan: plan.get(),
            status: status.get(),
            expiring_within_days: applied_days.get(),
        };
        let cursor = keyset.current();
        async move { api::subscriptions(&q, PAGE, cursor.as_deref()).await }
    });
    view! {
        <AdminPage title="Subscriptions">
            <form class="filters" role="search" aria-label="Filter subscriptions" on:submit=move |ev| {
                ev.prevent_default();
                applied_days.set(days.get_untracked());
                keyset.reset();
            }>
                <SelectFilter id="s-plan" label="Plan" any="Any plan" options=opts(&["pro", "premium", "lifetime"]) on_change=move |v: String| {
                    plan.set(v);
                    keyset.reset();
                } />
                <SelectFilter id="s-status" label="Status" any="Any status" options=opts(&["active", "expired", "cancelled", "suspended"]) on_change=move |v: String| {
                    status.set(v);
                    keyset.reset();
                } />
                <div class="field">
                    <label class="field-label" for="s-days">"Expiring within (days, 1–365)"</label>
                    <input id="s-days" class="input" type="number" min="1" max="365" inputmode="numeric" bind:value=days />
                </div>
                <button type="submit" class="btn btn-primary">"Apply"</button>
            </form>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading subscriptions…", empty: "No subscriptions match.", failure: "Could not load subscriptions" }
                rows=subscription_table
            />
        </AdminPage>
    }
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

const CATEGORIES: &[&str] = &[
    "fetch",
    "aggregate",
    "scan",
    "signal",
    "notify",
    "system",
    "error",
    "auth",
    "user",
    "trade",
    "payment",
    "backtest",
    "api",
    "admin",
    "csp",
];

/// `YYYY-MM-DDTHH:MM` (a `datetime-local` value, read as UTC) → UTC ms.
fn parse_local(v: &str) -> Option<i64> {
    let v = v.trim();
    let n = |r: std::ops::Range<usize>| v.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, m, d, hh, mm) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), then ms.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000)
}

fn log_table(items: Vec<LogEntryDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|l| {
            let level = format!("log-level log-{}", l.level);
            vec![
                Cell::classed(format::short_datetime(l.ts), "nowrap"),
                Cell::classed(l.level, &level),
                Cell::text(l.category),
                Cell::text(l.symbol.unwrap_or_default()),
                Cell::text(l.message),
            ]
        })
        .collect();
    table(
        "admin-logs",
        "Log rows, newest first",
        &["Time (UTC)", "Level", "Category", "Symbol", "Message"],
        rows,
    )
}

/// `/admin/logs`.
#[component]
pub fn AdminLogs() -> impl IntoView {
    set_page_title("Admin · Logs");
    let category = RwSignal::new(String::new());
    let level = RwSignal::new(String::new());
    let symbol = RwSignal::new(String::new());
    let since = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let applied = RwSignal::new(LogQuery::default());
    let keyset = Keyset::new();
    let apply = move || {
        applied.set(LogQuery {
            category: category.get_untracked(),
            level: level.get_untracked(),
            symbol: symbol.get_untracked().trim().to_uppercase(),
            since: parse_local(&since.get_untracked()),
            until: parse_local(&until.get_untracked()),
        });
        keyset.reset();
    };
    let page = LocalResource::new(move || {
        let q = applied.get();
        let cursor = keyset.current();
        async move { api::logs(&q, PAGE, cursor.as_deref()).await }
    });
    view! {
        <AdminPage title="Logs">
            <form class="filters" role="search" aria-label="Filter logs" on:submit=move |ev| {
                ev.prevent_default();
                apply();
            }>
                <SelectFilter id="l-category" label="Category" any="Any category" options=opts(CATEGORIES) on_change=move |v: String| {
                    category.set(v);
                    apply();
                } />
                <SelectFilter id="l-level" label="Level" any="Any level" options=opts(&["debug", "info", "warn", "error"]) on_change=move |v: String| {
                    level.set(v);
                    apply();
                } />
                <div class="field">
                    <label class="field-label" for="l-symbol">"Symbol"</label>
                    <input id="l-symbol" class="input" type="search" placeholder="BTC/USDT" maxlength="20" bind:value=symbol />
                </div>
                <div class="field">
                    <label class="field-label" for="l-since">"From (UTC)"</label>
                    <input id="l-since" class="input" type="datetime-local" bind:value=since />
                </div>
                <div class="field">
                    <label class="field-label" for="l-until">"Until (UTC)"</label>
                    <input id="l-until" class="input" type="datetime-local" bind:value=until />
                </div>
                <button type="submit" class="btn btn-primary">"Apply"</button>
            </form>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading logs…", empty: "No log rows match.", failure: "Could not load logs" }
                rows=log_table
            />
        </AdminPage>
    }
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/// The text inputs of the settings form, one per member.
#[derive(Clone, Copy)]
struct Inputs {
    min_confluence: RwSignal<String>,
    cooldown_hours: RwSignal<String>,
    default_rr: RwSignal<String>,
    min_risk_pct: RwSignal<String>,
    min_zone_pct: RwSignal<String>,
    require_htf: RwSignal<bool>,
    global_topic: RwSignal<String>,
    global_topic_enabled: RwSignal<bool>,
    log_level: RwSignal<String>,
    retention: [RwSignal<String>; 9],
    batch: RwSignal<String>,
}

const RETENTION: [(&str, &str); 9] = [
    ("retention_candles_1m_days", "1m candles"),
    ("retention_logs_days", "Logs"),
    ("retention_cron_runs_days", "Cron runs"),
    ("retention_notifications_days", "Notifications"),
    ("retention_ended_patterns_days", "Ended patterns"),
    ("retention_resolved_errors_days", "Resolved errors"),
    (
        "retention_sessions_tokens_days",
        "Expired sessions and tokens",
    ),
    ("retention_api_key_usage_days", "API key usage"),
    ("retention_webhook_events_days", "Webhook events"),
];

fn days_of(s: &GlobalSettingsDto) -> [Option<i64>; 9] {
    [
        s.retention_candles_1m_days,
        s.retention_logs_days,
        s.retention_cron_runs_days,
        s.retention_notifications_days,
        s.retention_ended_patterns_days,
        s.retention_resolved_errors_days,
        s.retention_sessions_tokens_days,
        s.retention_api_key_usage_days,
        s.retention_webhook_events_days,
    ]
}

impl Inputs {
    fn new() -> Self {
        let s = || RwSignal::new(String::new());
        Self {
            min_confluence: s(),
            cooldown_hours: s(),
            default_rr: s(),
            min_risk_pct: s(),
            min_zone_pct: s(),
            require_htf: RwSignal::new(true),
            global_topic: s(),
            global_topic_enabled: RwSignal::new(false),
            log_level: RwSignal::new("info".into()),
            retention: std::array::from_fn(|_| s()),
            batch: s(),
        }
    }

    fn load(self, s: &GlobalSettingsDto) {
        self.min_confluence.set(s.min_confluence.to_string());
        self.cooldown_hours.set(s.cooldown_hours.to_string());
        self.default_rr.set(s.default_rr.to_string());
        self.min_risk_pct.set(s.min_risk_pct.to_string());
        self.min_zone_pct.set(s.min_zone_pct.to_string());
        self.require_htf.set(s.require_htf);
        self.global_topic
            .set(s.global_topic.clone().unwrap_or_default());
        self.global_topic_enabled.set(s.global_topic_enabled);
        self.log_level.set(s.log_level.clone());
        for (slot, d) in self.retention.iter().zip(days_of(s)) {
            slot.set(d.map(|d| d.to_string()).unwrap_or_default());
        }
        self.batch.set(s.retention_batch_size.to_string());
    }

    /// The request; a number that does not parse is reported on its field (nothing is sent).
    fn request(self, errors: FormErrors) -> Option<GlobalSettingsRequest> {
        let int = |name: &str, v: RwSignal<String>| -> Option<i64> {
            let t = v.get_untracked();
            let r = t.trim().parse::<i64>().ok();
            if r.is_none() {
                errors.set_field(name, "Enter a whole number.");
            }
            r
        };
        let num = |name: &str, v: RwSignal<String>| -> Option<f64> {
            let t = v.get_untracked();
            let r = t.trim().parse::<f64>().ok().filter(|x| x.is_finite());
            if r.is_none() {
                errors.set_field(name, "Enter a number.");
            }
            r
        };
        // Blank retention = keep forever.
        let days = |name: &str, v: RwSignal<String>| -> Option<Option<i64>> {
            let t = v.get_untracked();
            if t.trim().is_empty() {
                return Some(None);
            }
            let r = t.trim().parse::<i64>().ok();
            if r.is_none() {
                errors.set_field(name, "Enter whole days, or leave blank to keep forever.");
            }
            r.map(Some)
        };
        let r: Vec<Option<Option<i64>>> = RETENTION
            .iter()
            .zip(self.retention)
            .map(|((name, _), v)| days(name, v))
            .collect();
        let topic = self.global_topic.get_untracked().trim().to_owned();
        let req = GlobalSettingsRequest {
            min_confluence: int("min_confluence", self.min_confluence),
            require_htf: Some(self.require_htf.get_untracked()),
            cooldown_hours: num("cooldown_hours", self.cooldown_hours),
            default_rr: num("default_rr", self.default_rr),
            min_risk_pct: num("min_risk_pct", self.min_risk_pct),
            min_zone_pct: num("min_zone_pct", self.min_zone_pct),
            global_topic: Some((!topic.is_empty()).then_some(topic)),
            global_topic_enabled: Some(self.global_topic_enabled.get_untracked()),
            log_level: Some(self.log_level.get_untracked()),
            retention_candles_1m_days: r[0],
            retention_logs_days: r[1],
            retention_cron_runs_days: r[2],
            retention_notifications_days: r[3],
            retention_ended_patterns_days: r[4],
            retention_resolved_errors_days: r[5],
            retention_sessions_tokens_days: r[6],
            retention_api_key_usage_days: r[7],
            retention_webhook_events_days: r[8],
            retention_batch_size: int("retention_batch_size", self.batch),
        };
        (!errors.has_field_errors()).then_some(req)
    }
}

fn retention_fields(inputs: Inputs, errors: FormErrors) -> impl IntoView {
    RETENTION
        .iter()
        .zip(inputs.retention)
        .map(|((name, label), value)| {
            view! {
                <Field id=format!("set-{name}") name=name label=label value=value errors=errors kind="number" inputmode="numeric" required=false />
            }
        })
        .collect_view()
}

/// `/admin/settings`.
#[component]
pub fn AdminSettings() -> impl IntoView {
    set_page_title("Admin · Settings");
    let inputs = Inputs::new();
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let updated = RwSignal::new(None::<i64>);
    let loaded = LocalResource::new(api::settings);
    Effect::new(move |_| {
        if let Some(Ok(s)) = loaded.get() {
            inputs.load(&s);
            updated.set(s.updated_at);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        saved.set(None);
        let Some(req) = inputs.request(errors) else {
            errors.form.set(Some(
                "Some values need fixing (see the fields below).".into(),
            ));
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::save_settings(&req).await {
                Ok(s) => {
                    inputs.load(&s);
                    updated.set(s.updated_at);
                    saved.set(Some("Settings saved.".into()));
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };
    view! {
        <AdminPage title="Global settings">
            <Transition fallback=|| view! { <Loading text="Loading settings…" /> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(_) => ().into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load the settings" err=err /> }.into_any(),
                    }
                })}
            </Transition>
            <p class="muted">{move || updated.get().map_or_else(
                || "Showing the defaults; never changed.".to_owned(),
                |t| format!("Last changed {} UTC.", format::short_datetime(t)),
            )}</p>
            <form class="settings-form" aria-label="Global settings" novalidate on:submit=submit>
                <FormAlert errors=errors />
                <FormSuccess message=saved />
                <fieldset class="form-section">
                    <legend>"Signal defaults"</legend>
                    <Field id="set-min-confluence" name="min_confluence" label="Minimum confluence (agreeing timeframes, 1–7)" value=inputs.min_confluence errors=errors kind="number" inputmode="numeric" />
                    <label class="check">
                        <input type="checkbox" prop:checked=move || inputs.require_htf.get() on:change=move |ev| inputs.require_htf.set(event_target_checked(&ev)) />
                        " Require 4h or 1d to agree"
                    </label>
                    <Field id="set-cooldown" name="cooldown_hours" label="Cooldown per symbol and direction (hours, 0–168)" value=inputs.cooldown_hours errors=errors kind="number" inputmode="decimal" />
                    <Field id="set-rr" name="default_rr" label="Default risk:reward for TP3 (0.5–20)" value=inputs.default_rr errors=errors kind="number" inputmode="decimal" />
                    <Field id="set-min-risk" name="min_risk_pct" label="Minimum risk (% of entry, 0–10)" value=inputs.min_risk_pct errors=errors kind="number" inputmode="decimal" />
                    <Field id="set-min-zone" name="min_zone_pct" label="Minimum zone size (%, 0–10)" value=inputs.min_zone_pct errors=errors kind="number" inputmode="decimal" />
                </fieldset>
                <fieldset class="form-section">
                    <legend>"Global ntfy topic"</legend>
                    <Field id="set-topic" name="global_topic" label="Topic (letters, digits, _ and -; blank for none)" value=inputs.global_topic errors=errors required=false maxlength=64 />
                    <label class="check">
                        <input type="checkbox" prop:checked=move || inputs.global_topic_enabled.get() on:change=move |ev| inputs.global_topic_enabled.set(event_target_checked(&ev)) />
                        " Send every signal to the global topic"
                    </label>
                    {move || errors.of("global_topic_enabled").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                </fieldset>
                <fieldset class="form-section">
                    <legend>"Log level"</legend>
                    <div class="form-field">
                        <label class="form-label" for="set-log-level">"Lowest level written"</label>
                        <select id="set-log-level" class="input" prop:value=move || inputs.log_level.get() on:change=move |ev| inputs.log_level.set(event_target_value(&ev))>
                            {["debug", "info", "warn", "error"].map(|l| view! { <option value=l>{l}</option> }).collect_view()}
                        </select>
                        {move || errors.of("log_level").map(|m| view! { <p class="field-error">{m}</p> })}
                    </div>
                </fieldset>
                <fieldset class="form-section">
                    <legend>"Retention (days; blank keeps forever)"</legend>
                    {retention_fields(inputs, errors)}
                    <Field id="set-batch" name="retention_batch_size" label="Cleanup batch size (rows, 1–5000)" value=inputs.batch errors=errors kind="number" inputmode="numeric" />
                </fieldset>
                <Submit label="Save settings" busy_label="Saving…" busy=busy />
            </form>
        </AdminPage>
    }
}
