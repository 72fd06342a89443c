//! `/settings/notifications` (product.md §2, §5): the ntfy topic (show, regenerate), on/off,
//! directions, minimum confluence, quiet hours (UTC) and priority. The per-symbol toggles are
//! `/settings/symbols`' alone; a card here links to them.

use cl_api_types::{NotificationPrefsDto, NotificationPrefsRequest};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::form::{FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::pages::settings::SettingsFrame;

/// `/settings/notifications`.
#[component]
pub fn SettingsNotifications() -> impl IntoView {
    set_page_title("Notification settings");
    let prefs = LocalResource::new(api::notify::prefs);
    view! {
        <SettingsFrame title="Notifications">
            <Suspense fallback=|| view! { <Loading text="Loading your preferences…" /> }>
                {move || Suspend::new(async move {
                    match prefs.await {
                        Ok(p) => {
                            view! {
                                <div class="settings-grid">
                                    <PrefsForm prefs=p.clone() />
                                    <TopicCard topic=p.topic />
                                    <SymbolsLink />
                                </div>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <ErrorBanner title="Could not load your preferences" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </SettingsFrame>
    }
}

/// `HH:MM` of a UTC minute of the day.
fn hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// The UTC minute of the day of an `HH:MM` input value.
fn minutes(value: &str) -> Option<i64> {
    let (h, m) = value.split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

#[component]
fn PrefsForm(prefs: NotificationPrefsDto) -> impl IntoView {
    let enabled = RwSignal::new(prefs.enabled);
    let directions = RwSignal::new(prefs.directions.clone());
    let confluence = RwSignal::new(prefs.min_confluence.to_string());
    let priority = RwSignal::new(prefs.priority.to_string());
    let quiet = RwSignal::new(prefs.quiet_start_min.is_some());
    let quiet_start = RwSignal::new(hhmm(prefs.quiet_start_min.unwrap_or(22 * 60)));
    let quiet_end = RwSignal::new(hhmm(prefs.quiet_end_min.unwrap_or(7 * 60)));
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        saved.set(None);
        let (start, end) = if quiet.get_untracked() {
            (
                minutes(&quiet_start.get_untracked()),
                minutes(&quiet_end.get_untracked()),
            )
        } else {
            (None, None)
        };
        if quiet.get_untracked() && (start.is_none() || end.is_none()) {
            errors.set_field("quiet_start_min", "Enter both times as HH:MM.");
            return;
        }
        let body = NotificationPrefsRequest {
            enabled: enabled.get_untracked(),
            directions: directions.get_untracked(),
            min_confluence: confluence.get_untracked().parse().unwrap_or(0),
            priority: priority.get_untracked().parse().unwrap_or(0),
            quiet_start_min: start,
            quiet_end_min: end,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::notify::save_prefs(&body).await;
            busy.set(false);
            match result {
                Ok(_) => saved.set(Some(String::from("Preferences saved."))),
                Err(err) => errors.show(&err),
            }
        });
    };
    let field_error = move |field: &'static str| {
        move || {
            errors.of(field).map(
                |m| view! { <p class="field-error"><span aria-hidden="true">"✕ "</span>{m}</p> },
            )
        }
    };
    view! {
        <section class="panel settings-card" aria-labelledby="prefs-title">
            <h2 id="prefs-title" class="panel-title">"Signal notifications"</h2>
            <FormAlert errors=errors />
            <FormSuccess message=saved />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <div class="form-field form-check">
                    <input id="n-enabled" type="checkbox" class="checkbox" bind:checked=enabled />
                    <label for="n-enabled">"Send me a push notification for new confluence signals"</label>
                </div>
                <div class="form-field">
                    <label class="form-label" for="n-directions">"Directions"</label>
                    <select id="n-directions" class="select" bind:value=directions>
                        <option value="both">"▲▼ long and short"</option>
                        <option value="long">"▲ long only"</option>
                        <option value="short">"▼ short only"</option>
                    </select>
                    {field_error("directions")}
                </div>
                <div class="form-field">
                    <label class="form-label" for="n-confluence">"Minimum confluence (timeframes aligned, 1–7)"</label>
                    <select id="n-confluence" class="select" bind:value=confluence>
                        {(1..=7).map(|n| view! { <option value=n.to_string()>{format!("{n} of 7")}</option> }).collect_view()}
                    </select>
                    {field_error("min_confluence")}
                </div>
                <div class="form-field">
                    <label class="form-label" for="n-priority">"Priority"</label>
                    <select id="n-priority" class="select" bind:value=priority>
                        <option value="1">"1 · min"</option>
                        <option value="2">"2 · low"</option>
                        <option value="3">"3 · default"</option>
                        <option value="4">"4 · high"</option>
                        <option value="5">"5 · urgent"</option>
                    </select>
                    {field_error("priority")}
                </div>
                <fieldset class="quiet-hours">
                    <legend class="form-label">"Quiet hours (UTC)"</legend>
                    <div class="form-field form-check">
                        <input id="n-quiet" type="checkbox" class="checkbox" bind:checked=quiet />
                        <label for="n-quiet">"Hold notifications during quiet hours"</label>
                    </div>
                    <div class="quiet-times">
                        <div class="form-field">
                            <label class="form-label" for="n-quiet-start">"From"</label>
                            <input id="n-quiet-start" type="time" class="input" disabled=move || !quiet.get() bind:value=quiet_start />
                        </div>
                        <div class="form-field">
                            <label class="form-label" for="n-quiet-end">"Until"</label>
                            <input id="n-quiet-end" type="time" class="input" disabled=move || !quiet.get() bind:value=quiet_end />
                        </div>
                    </div>
                    {field_error("quiet_start_min")}
                    {field_error("quiet_end_min")}
                </fieldset>
                <Submit label="Save preferences" busy_label="Saving…" busy=busy />
            </form>
        </section>
    }
}

#[component]
fn TopicCard(topic: String) -> impl IntoView {
    let topic = RwSignal::new(topic);
    let confirm = RwSignal::new(false);
    let errors = FormErrors::new();
    let note = RwSignal::new(None::<String>);
    let regenerate = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        errors.clear();
        leptos::task::spawn_local(async move {
            match api::notify::regenerate_topic().await {
                Ok(t) => {
                    topic.set(t.topic);
                    confirm.set(false);
                    note.set(Some(String::from(
                        "New topic created; subscribe to it in the ntfy app.",
                    )));
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="topic-title">
            <h2 id="topic-title" class="panel-title">"Your ntfy topic"</h2>
            <p class="muted small">"Subscribe to this topic in the ntfy app (ntfy.sh) to receive the notifications. Keep it private."</p>
            <code class="topic-name">{move || topic.get()}</code>
            <FormAlert errors=errors />
            <FormSuccess message=note />
            <p class="form-actions topic-actions">
                <button type="button" class="btn btn-ghost btn-sm" on:click=regenerate>
                    {move || if confirm.get() { "Confirm: replace the topic" } else { "Regenerate topic" }}
                </button>
            </p>
        </section>
    }
}

/// The per-symbol toggles live on `/settings/symbols` alone (one control per setting): this
/// card only points there.
#[component]
fn SymbolsLink() -> impl IntoView {
    view! {
        <section class="panel settings-card" aria-labelledby="symbols-title">
            <h2 id="symbols-title" class="panel-title">"Symbols"</h2>
            <p class="muted">"Which symbols notify you is chosen per symbol in the symbol settings, next to whether the admins notify that symbol at all."</p>
            <p class="form-actions">
                <A href="/settings/symbols" attr:class="btn btn-ghost btn-sm">"Choose your symbols →"</A>
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::{hhmm, minutes};

    #[test]
    fn quiet_hours_round_trip_through_hh_mm() {
        assert_eq!(hhmm(0), "00:00");
        assert_eq!(hhmm(1439), "23:59");
        assert_eq!(minutes("22:30"), Some(1350));
        assert_eq!(minutes(&hhmm(425)), Some(425));
        assert_eq!(minutes("24:00"), None);
        assert_eq!(minutes("7"), None);
    }
}
