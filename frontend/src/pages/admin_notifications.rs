//! `/admin/notifications` (product.md §9 "Notifications"): templates (list, create, edit,
//! delete), a broadcast form with the audience count previewed and a confirmation step, the
//! scheduled list with cancel, recent broadcasts with their delivery counts, and the ntfy test
//! send. Requests only queue: the every-minute dispatch job sends.
//!
//! Every form shows the server's field errors inline (the `Field` component and `FormErrors`);
//! states are words, never colour alone; no inline styles (strict CSP).

use cl_api_types::{
    BroadcastDto, BroadcastRequest, NoticeTemplateDto, NoticeTemplateRequest, ScheduleDto,
    ScheduleRequest,
};
use leptos::prelude::*;

use crate::api::{notify_admin as api, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell, ListText, ResourceList};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::admin::{show_failure, AdminPage};

/// Placeholders the server accepts.
const PLACEHOLDER_HINT: &str = "Placeholders: {app}, {date}, {time}, {topic}.";

/// The shared content of a template, broadcast or schedule form.
#[derive(Clone, Copy)]
struct Content {
    title: RwSignal<String>,
    message: RwSignal<String>,
    priority: RwSignal<String>,
    tags: RwSignal<String>,
}

impl Content {
    fn new() -> Self {
        Self {
            title: RwSignal::new(String::new()),
            message: RwSignal::new(String::new()),
            priority: RwSignal::new(String::from("3")),
            tags: RwSignal::new(String::new()),
        }
    }
    fn fill(self, t: &NoticeTemplateDto) {
        self.title.set(t.title.clone());
        self.message.set(t.message.clone());
        self.priority.set(t.priority.to_string());
        self.tags.set(t.tags.join(", "));
    }
    fn priority(self) -> i64 {
        self.priority.get_untracked().parse().unwrap_or(3)
    }
    fn tags(self) -> Vec<String> {
        split_list(&self.tags.get_untracked())
    }
}

/// A comma- or space-separated list, trimmed, empties dropped.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `YYYY-MM-DD` → UTC midnight in ms (month 1–12, day 1–31).
fn date_to_ms(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d) * 86_400_000)
}

/// `YYYY-MM-DDTHH:MM` (an `<input type="datetime-local">` value, read as UTC) → ms.
fn local_to_ms(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once('T')?;
    let (h, m) = time.split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.get(..2).unwrap_or(m).parse().ok()?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(date_to_ms(date)? + (h * 60 + m) * 60_000)
}

/// The title, message, priority and tags inputs.
#[component]
fn ContentFields(prefix: &'static str, content: Content, errors: FormErrors) -> impl IntoView {
    let msg_id = format!("{prefix}-message");
    let msg_err = move || errors.of("message");
    view! {
        <Field id=format!("{prefix}-title") name="title" label="Title" value=content.title errors=errors maxlength=100 hint=PLACEHOLDER_HINT />
        <div class="form-field" class:has-error=move || msg_err().is_some()>
            <label class="form-label" for=msg_id.clone()>"Message"</label>
            <textarea id=msg_id.clone() name="message" class="input textarea" rows="4" maxlength="1000" required
                aria-invalid=move || msg_err().map(|_| "true")
                prop:value=move || content.message.get()
                on:input=move |ev| content.message.set(event_target_value(&ev))></textarea>
            {move || msg_err().map(|m| view! { <p class="field-error"><span aria-hidden="true">"✕ "</span>{m}</p> })}
        </div>
        <div class="form-field">
            <label class="form-label" for=format!("{prefix}-priority")>"Priority"</label>
            <select id=format!("{prefix}-priority") class="select" bind:value=content.priority>
                <option value="1">"1 · min"</option>
                <option value="2">"2 · low"</option>
                <option value="3">"3 · default"</option>
                <option value="4">"4 · high"</option>
                <option value="5">"5 · urgent"</option>
            </select>
            {move || errors.of("priority").map(|m| view! { <p class="field-error">{m}</p> })}
        </div>
        <Field id=format!("{prefix}-tags") name="tags" label="Tags (comma separated, optional)" value=content.tags errors=errors required=false />
    }
}

/// `/admin/notifications`.
#[component]
pub fn AdminNotifications() -> impl IntoView {
    set_page_title("Admin · Notifications");
    let version = RwSignal::new(0_u32);
    let templates = LocalResource::new(move || {
        version.track();
        api::templates()
    });
    let chosen: RwSignal<Option<NoticeTemplateDto>> = RwSignal::new(None);
    view! {
        <AdminPage title="Notifications">
            <section class="panel" aria-labelledby="tpl-heading">
                <h2 id="tpl-heading" class="panel-title">"Templates"</h2>
                <Transition fallback=|| view! { <Loading text="Loading templates…" /> }>
                    {move || Suspend::new(async move {
                        match templates.await {
                            Ok(list) => template_list(list, chosen, version),
                            Err(e) => view! { <ErrorBanner title="Templates could not be loaded" err=e /> }.into_any(),
                        }
                    })}
                </Transition>
                <TemplateForm chosen=chosen version=version />
            </section>
            <BroadcastForm templates=templates version=version />
            <Schedules version=version />
            <Broadcasts version=version />
            <TestSend />
        </AdminPage>
    }
}

fn template_list(
    list: Vec<NoticeTemplateDto>,
    chosen: RwSignal<Option<NoticeTemplateDto>>,
    version: RwSignal<u32>,
) -> AnyView {
    if list.is_empty() {
        return view! { <p class="empty-state">"No templates yet. Create one below."</p> }
            .into_any();
    }
    let rows = list
        .into_iter()
        .map(|t| {
            let edit = t.clone();
            let id = t.id;
            let name = t.name.clone();
            let actions = view! {
                <div class="row-actions">
                    <button type="button" class="btn btn-ghost btn-small" aria-label=format!("Edit template {name}")
                        on:click=move |_| chosen.set(Some(edit.clone()))>"Edit"</button>
                    <button type="button" class="btn btn-ghost btn-small" aria-label=format!("Delete template {name}")
                        on:click=move |_| {
                            leptos::task::spawn_local(async move {
                                if api::delete_template(id).await.is_ok() {
                                    version.update(|v| *v += 1);
                                }
                            });
                        }>"Delete"</button>
                </div>
            };
            vec![
                Cell::text(t.name),
                Cell::text(t.title),
                Cell::num(t.priority.to_string()),
                Cell::text(t.tags.join(", ")),
                Cell::view("", actions.into_any()),
            ]
        })
        .collect();
    table(
        "templates-table",
        "Notification templates",
        &["Name", "Title", "Priority", "Tags", "Actions"],
        rows,
    )
}

/// Create, or edit the chosen template.
#[component]
fn TemplateForm(
    chosen: RwSignal<Option<NoticeTemplateDto>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let content = Content::new();
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(t) = chosen.get() {
            name.set(t.name.clone());
            content.fill(&t);
            errors.clear();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        busy.set(true);
        let id = chosen.get_untracked().map(|t| t.id);
        let body = NoticeTemplateRequest {
            name: name.get_untracked(),
            title: content.title.get_untracked(),
            message: content.message.get_untracked(),
            priority: content.priority(),
            tags: content.tags(),
        };
        leptos::task::spawn_local(async move {
            match api::save_template(id, &body).await {
                Ok(t) => {
                    done.set(Some(format!("Template “{}” saved.", t.name)));
                    chosen.set(None);
                    name.set(String::new());
                    content.title.set(String::new());
                    content.message.set(String::new());
                    content.tags.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => show_failure(errors, &e),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="form-card" on:submit=submit aria-labelledby="tpl-form-title" novalidate>
            <h3 id="tpl-form-title" class="panel-title-sub">
                {move || if chosen.get().is_some() { "Edit template" } else { "New template" }}
            </h3>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <Field id="tpl-name" name="name" label="Name" value=name errors=errors maxlength=50 />
            <ContentFields prefix="tpl" content=content errors=errors />
            <div class="form-actions">
                <Submit label="Save template" busy_label="Saving…" busy=busy />
                {move || chosen.get().map(|_| view! {
                    <button type="button" class="btn btn-ghost" on:click=move |_| chosen.set(None)>"Cancel edit"</button>
                })}
            </div>
        </form>
    }
}

/// The broadcast / schedule form: audience, content (or a template), the count preview, then a
/// confirmation step before anything is queued.
#[component]
fn BroadcastForm(
    templates: LocalResource<Result<Vec<NoticeTemplateDto>, ApiError>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let audience = RwSignal::new(String::from("all"));
    let topics = RwSignal::new(String::new());
    let template = RwSignal::new(String::new());
    let when = RwSignal::new(String::new());
    let content = Content::new();
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    // The previewed count; `Some` = waiting for the admin's confirmation.
    let preview = RwSignal::new(None::<u32>);

    let pick_template = move |ev| {
        let v = event_target_value(&ev);
        template.set(v.clone());
        if let (Ok(id), Some(Ok(list))) = (v.parse::<i64>(), templates.get_untracked()) {
            if let Some(t) = list.iter().find(|t| t.id == id) {
                content.fill(t);
            }
        }
    };
    let topic_list = move || {
        if audience.get_untracked() == "topics" {
            split_list(&topics.get_untracked())
        } else {
            Vec::new()
        }
    };
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        preview.set(None);
        busy.set(true);
        let (a, t) = (audience.get_untracked(), topic_list());
        leptos::task::spawn_local(async move {
            match api::audience(&a, &t).await {
                Ok(c) => preview.set(Some(c.count)),
                Err(e) => show_failure(errors, &e),
            }
            busy.set(false);
        });
    };
    let confirm = move |_| {
        busy.set(true);
        let template_id = template.get_untracked().parse::<i64>().ok();
        let (a, t) = (audience.get_untracked(), topic_list());
        let scheduled = when.get_untracked();
        let (title, message) = (
            content.title.get_untracked(),
            content.message.get_untracked(),
        );
        let (priority, tags) = (content.priority(), content.tags());
        leptos::task::spawn_local(async move {
            let result = if scheduled.trim().is_empty() {
                let body = BroadcastRequest {
                    audience: a,
                    topics: t,
                    template_id,
                    title,
                    message,
                    priority,
                    tags,
                };
                api::broadcast(&body)
                    .await
                    .map(|b| format!("Broadcast #{} queued; it goes out within a minute.", b.id))
            } else if let Some(send_at) = local_to_ms(&scheduled) {
                let body = ScheduleRequest {
                    send_at,
                    audience: a,
                    topics: t,
                    template_id,
                    title,
                    message,
                    priority,
                    tags,
                };
                api::schedule(&body)
                    .await
                    .map(|s| format!("Scheduled for {}.", format::datetime(s.send_at)))
            } else {
                errors.set_field("send_at", "Pick a date and time.");
                busy.set(false);
                preview.set(None);
                return;
            };
            match result {
                Ok(msg) => {
                    done.set(Some(msg));
                    version.update(|v| *v += 1);
                }
                Err(e) => show_failure(errors, &e),
            }
            preview.set(None);
            busy.set(false);
        });
    };
    let when_err = move || errors.of("send_at");
    view! {
        <section class="panel" aria-labelledby="bc-heading">
            <h2 id="bc-heading" class="panel-title">"Broadcast or schedule"</h2>
            <form class="form-card" on:submit=check novalidate>
                <FormAlert errors=errors />
                <FormSuccess message=done />
                <div class="form-field">
                    <label class="form-label" for="bc-audience">"Audience"</label>
                    <select id="bc-audience" class="select" bind:value=audience on:change=move |_| preview.set(None)>
                        <option value="all">"All users with notifications on"</option>
                        <option value="free">"Free tier"</option>
                        <option value="pro">"Pro tier"</option>
                        <option value="premium">"Premium tier"</option>
                        <option value="global">"The global topic"</option>
                        <option value="topics">"Custom topics"</option>
                    </select>
                    {move || errors.of("audience").map(|m| view! { <p class="field-error">{m}</p> })}
                </div>
                <Show when=move || audience.get() == "topics">
                    <Field id="bc-topics" name="topics" label="Topics (comma separated)" value=topics errors=errors />
                </Show>
                <div class="form-field">
                    <label class="form-label" for="bc-template">"Start from a template (optional)"</label>
                    <select id="bc-template" class="select" prop:value=move || template.get() on:change=pick_template>
                        <option value="">"No template"</option>
                        {move || templates.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|t| {
                            view! { <option value=t.id.to_string()>{t.name}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <ContentFields prefix="bc" content=content errors=errors />
                <div class="form-field" class:has-error=move || when_err().is_some()>
                    <label class="form-label" for="bc-when">"Send at (UTC, optional: empty sends now)"</label>
                    <input id="bc-when" name="send_at" type="datetime-local" class="input" bind:value=when
                        aria-invalid=move || when_err().map(|_| "true") />
                    {move || when_err().map(|m| view! { <p class="field-error"><span aria-hidden="true">"✕ "</span>{m}</p> })}
                </div>
                <div class="form-actions">
                    <Submit label="Preview audience" busy_label="Counting…" busy=busy />
                </div>
            </form>
            {move || preview.get().map(|n| {
                let later = !when.get_untracked().trim().is_empty();
                view! {
                    <div class="confirm-box" role="alertdialog" aria-labelledby="bc-confirm-text">
                        <p id="bc-confirm-text" data-testid="audience-count">
                            {format!("{n} recipient{} right now.", if n == 1 { "" } else { "s" })}
                            {if later { " Schedule this notification?" } else { " Send this notification now?" }}
                        </p>
                        <div class="form-actions">
                            <button type="button" class="btn btn-primary" disabled=move || busy.get() on:click=confirm>
                                {if later { "Confirm schedule" } else { "Confirm broadcast" }}
                            </button>
                            <button type="button" class="btn btn-ghost" on:click=move |_| preview.set(None)>"Back"</button>
                        </div>
                    </div>
                }
            })}
        </section>
    }
}

fn status_word(s: &str) -> String {
    match s {
        "scheduled" => "⏱ scheduled",
        "sent" | "done" => "✓ sent",
        "cancelled" => "✕ cancelled",
        "failed" => "⚠ failed",
        "queued" => "⏳ queued",
        "sending" => "➜ sending",
        other => other,
    }
    .to_owned()
}

fn audience_word(a: &str, topics: Option<&str>) -> String {
    match (a, topics) {
        ("topics", Some(t)) => format!("topics: {t}"),
        (a, _) => a.to_owned(),
    }
}

/// Scheduled notifications with cancel.
#[component]
fn Schedules(version: RwSignal<u32>) -> impl IntoView {
    let list = LocalResource::new(move || {
        version.track();
        api::schedules()
    });
    let errors = FormErrors::new();
    let rows = move |items: Vec<ScheduleDto>| -> AnyView {
        let rows = items
            .into_iter()
            .map(|s| {
                let id = s.id;
                let cancel = (s.status == "scheduled").then(|| {
                    let label = format!("Cancel “{}”", s.title);
                    view! {
                        <button type="button" class="btn btn-ghost btn-small" aria-label=label
                            on:click=move |_| {
                                errors.clear();
                                leptos::task::spawn_local(async move {
                                    match api::cancel(id).await {
                                        Ok(_) => version.update(|v| *v += 1),
                                        Err(e) => show_failure(errors, &e),
                                    }
                                });
                            }>"Cancel"</button>
                    }
                });
                vec![
                    Cell::text(s.title),
                    Cell::text(format::datetime(s.send_at)),
                    Cell::text(audience_word(&s.audience, s.topics.as_deref())),
                    Cell::text(status_word(&s.status)),
                    Cell::view("", view! { {cancel} }.into_any()),
                ]
            })
            .collect();
        table(
            "schedules-table",
            "Scheduled notifications",
            &["Title", "Send at", "Audience", "Status", "Actions"],
            rows,
        )
    };
    view! {
        <section class="panel" aria-labelledby="sched-title">
            <h2 id="sched-title" class="panel-title">"Scheduled"</h2>
            <FormAlert errors=errors />
            <ResourceList list=list text=ListText { loading: "Loading schedules…", empty: "Nothing scheduled.", failure: "Schedules could not be loaded" } rows=rows />
        </section>
    }
}

/// Recent broadcasts with their delivery counts.
#[component]
fn Broadcasts(version: RwSignal<u32>) -> impl IntoView {
    let list = LocalResource::new(move || {
        version.track();
        api::broadcasts()
    });
    let rows = |items: Vec<BroadcastDto>| -> AnyView {
        let rows = items
            .into_iter()
            .map(|b| {
                vec![
                    Cell::text(b.title),
                    Cell::text(format::datetime(b.created_at)),
                    Cell::text(b.audience),
                    Cell::text(status_word(&b.status)),
                    Cell::num(format!(
                        "{} / {} ({} failed)",
                        b.sent, b.recipients, b.failed
                    )),
                ]
            })
            .collect();
        table(
            "broadcasts-table",
            "Recent broadcasts",
            &[
                "Title",
                "Created",
                "Audience",
                "Status",
                "Sent / recipients",
            ],
            rows,
        )
    };
    view! {
        <section class="panel" aria-labelledby="bcl-title">
            <h2 id="bcl-title" class="panel-title">"Recent broadcasts"</h2>
            <ResourceList list=list text=ListText { loading: "Loading broadcasts…", empty: "No broadcasts yet.", failure: "Broadcasts could not be loaded" } rows=rows />
        </section>
    }
}

/// The ntfy connection test.
#[component]
fn TestSend() -> impl IntoView {
    let topic = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        busy.set(true);
        let t = topic.get_untracked();
        let t = (!t.trim().is_empty()).then(|| t.trim().to_owned());
        leptos::task::spawn_local(async move {
            match api::test_send(t).await {
                Ok(r) => done.set(Some(format!(
                    "Test queued for “{}”; it arrives within a minute.",
                    r.topic
                ))),
                Err(e) => show_failure(errors, &e),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel" aria-labelledby="test-title">
            <h2 id="test-title" class="panel-title">"ntfy test"</h2>
            <form class="form-card" on:submit=submit novalidate>
                <FormAlert errors=errors />
                <FormSuccess message=done />
                <Field id="test-topic" name="topic" label="Topic (empty: the global topic)" value=topic errors=errors required=false maxlength=64 />
                <div class="form-actions">
                    <Submit label="Send test" busy_label="Queuing…" busy=busy />
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::{local_to_ms, split_list};

    #[test]
    fn inputs_are_read_as_utc_and_lists_split() {
        assert_eq!(local_to_ms("2024-01-01T01:30"), Some(1_704_072_600_000));
        assert_eq!(local_to_ms("2024-01-01"), None);
        assert_eq!(local_to_ms("2024-01-01T25:00"), None);
        assert_eq!(split_list(" a, b  c,,"), ["a", "b", "c"]);
    }
}
