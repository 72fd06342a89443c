//! Admin pages (product.md §9): `/admin/users` (search; verify, activate/deactivate, unlock,
//! make/revoke admin), `/admin/errors` (the error tracker: ack, resolve) and `/admin/audit`.
//! The server decides who is an admin (`forbidden` otherwise) and which actions need a fresh
//! re-authentication (`reauth_required`, shown with a link to the security settings).

use cl_api_types::{AdminUserDto, AuditEntryDto, ErrorGroupDto};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::admin::{self as adm, UserAction};
use crate::api::ApiError;
use crate::components::form::{FormAlert, FormErrors};
use crate::components::{set_page_title, Loading};
use crate::format;
use crate::pages::filters::{Pager, SelectFilter};
use crate::pages::portfolio::{table, Cell, Failure};
use crate::session::RequireSession;

const PAGE: u32 = 50;

#[component]
pub(crate) fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="settings-tabs" aria-label="Admin sections">
            <A href="/admin/users" attr:class="settings-tab">"Users"</A>
            <A href="/admin/errors" attr:class="settings-tab">"Errors"</A>
            <A href="/admin/audit" attr:class="settings-tab">"Audit log"</A>
            <A href="/admin/notifications" attr:class="settings-tab">"Notifications"</A>
            <A href="/admin/crons" attr:class="settings-tab">"Crons"</A>
            <A href="/admin/symbols" attr:class="settings-tab">"Symbols"</A>
            <A href="/admin/stats" attr:class="settings-tab">"Stats"</A>
            <A href="/admin/subscriptions" attr:class="settings-tab">"Subscriptions"</A>
            <A href="/admin/logs" attr:class="settings-tab">"Logs"</A>
            <A href="/admin/settings" attr:class="settings-tab">"Settings"</A>
            <A href="/admin/optimizer" attr:class="settings-tab">"Optimizer"</A>
        </nav>
    }
}

/// Shows an action's failure; `reauth_required` gets a hint where to re-authenticate.
pub(crate) fn show_failure(errors: FormErrors, err: &ApiError) {
    errors.show(err);
    if err.code() == Some("reauth_required") {
        errors.form.set(Some(format!(
            "{} Confirm your password in Settings → Security, then try again.",
            err.message()
        )));
    }
}

/// `/admin/users`.
#[component]
pub fn AdminUsers() -> impl IntoView {
    set_page_title("Admin · Users");
    let search = RwSignal::new(String::new());
    let applied = RwSignal::new(String::new());
    let cursors = RwSignal::new(vec![None::<String>]);
    let version = RwSignal::new(0u32);
    let errors = FormErrors::new();
    let page = LocalResource::new(move || {
        version.track();
        let q = applied.get();
        let cursor = cursors.with(|c| c.last().cloned().flatten());
        async move { adm::users(&q, PAGE, cursor.as_deref()).await }
    });
    let act = move |id: i64, action: UserAction| {
        errors.clear();
        leptos::task::spawn_local(async move {
            match adm::user_action(id, action).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Admin"</p>
                <h1>"Users"</h1>
            </header>
            <AdminTabs />
            <RequireSession>
                <form class="filters" role="search" aria-label="Search users" on:submit=move |ev| {
                    ev.prevent_default();
                    applied.set(search.get_untracked());
                    cursors.set(vec![None]);
                }>
                    <div class="field">
                        <label class="field-label" for="u-search">"Email or username starts with"</label>
                        <input id="u-search" class="input" type="search" bind:value=search />
                    </div>
                    <button type="submit" class="btn btn-ghost">"Search"</button>
                </form>
                <FormAlert errors=errors />
                <div class="list-results" aria-live="polite">
                    <Transition fallback=|| view! { <Loading text="Loading users…" /> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(p) => {
                                    let next = p.next_cursor.clone();
                                    view! {
                                        {if p.items.is_empty() {
                                            view! { <p class="empty-state">"No users match."</p> }.into_any()
                                        } else {
                                            user_table(p.items, act)
                                        }}
                                        <Pager cursors=cursors next=next />
                                    }
                                    .into_any()
                                }
                                Err(err) => view! { <Failure title="Could not load users" err=err /> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </RequireSession>
        </div>
    }
}

fn user_table(items: Vec<AdminUserDto>, act: impl Fn(i64, UserAction) + Copy + 'static) -> AnyView {
    let flag = |on: bool, yes: &'static str, no: &'static str| if on { yes } else { no };
    let rows = items
        .into_iter()
        .map(|u| {
            let id = u.id;
            let mut actions = Vec::new();
            if !u.is_verified {
                actions.push(("Verify", UserAction::Verify, false));
            }
            actions.push(if u.is_active { ("Deactivate", UserAction::Deactivate, true) } else { ("Activate", UserAction::Activate, false) });
            actions.push(("Unlock", UserAction::Unlock, false));
            actions.push(if u.is_admin { ("Revoke admin", UserAction::RevokeAdmin, true) } else { ("Make admin", UserAction::MakeAdmin, false) });
            let who = u.username.clone();
            let buttons = actions
                .into_iter()
                .map(|(label, action, danger)| {
                    let class = if danger { "btn btn-danger-ghost btn-sm" } else { "btn btn-ghost btn-sm" };
                    view! {
                        <button type="button" class=class on:click=move |_| act(id, action)>
                            {label}<span class="sr-only">{format!(" {who}")}</span>
                        </button>
                    }
                })
                .collect_view();
            let state = format!(
                "{}, {}{}{}",
                flag(u.is_active, "✓ active", "✕ inactive"),
                flag(u.is_verified, "✓ verified", "… unverified"),
                flag(u.is_admin, ", ★ admin", ""),
                flag(u.totp_enabled, ", 2FA", "")
            );
            vec![
                Cell::view("cell-symbol", view! { {u.username.clone()}<span class="muted small admin-email">{u.email.clone()}</span> }.into_any()),
                Cell::text(state),
                Cell::text(u.subscription.as_ref().map(|s| format!("{} ({})", s.plan, s.status)).unwrap_or_else(|| String::from("free"))),
                Cell::classed(u.last_login_at.map(format::short_datetime).unwrap_or_else(|| String::from("—")), "nowrap"),
                Cell::view("admin-actions", buttons.into_any()),
            ]
        })
        .collect();
    table(
        "admin-users",
        "Users, newest first",
        &["User", "State", "Plan", "Last login (UTC)", "Actions"],
        rows,
    )
}

/// `/admin/errors`.
#[component]
pub fn AdminErrors() -> impl IntoView {
    set_page_title("Admin · Errors");
    let status = RwSignal::new(String::new());
    let cursors = RwSignal::new(vec![None::<String>]);
    let version = RwSignal::new(0u32);
    let errors = FormErrors::new();
    let page = LocalResource::new(move || {
        version.track();
        let s = status.get();
        let cursor = cursors.with(|c| c.last().cloned().flatten());
        async move { adm::errors(&s, PAGE, cursor.as_deref()).await }
    });
    let act = move |id: i64, resolve: bool| {
        errors.clear();
        leptos::task::spawn_local(async move {
            match adm::error_action(id, resolve).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    let options = ["new", "acknowledged", "resolved", "ignored"]
        .map(|s| (s.to_owned(), s.to_owned()))
        .to_vec();
    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Admin"</p>
                <h1>"Error tracker"</h1>
            </header>
            <AdminTabs />
            <RequireSession>
                <form class="filters" aria-label="Error filters" on:submit=|ev| ev.prevent_default()>
                    <SelectFilter id="e-status" label="Status" any="Any status" options=options.clone() on_change=move |v: String| {
                        status.set(v);
                        cursors.set(vec![None]);
                    } />
                </form>
                <FormAlert errors=errors />
                <div class="list-results" aria-live="polite">
                    <Transition fallback=|| view! { <Loading text="Loading errors…" /> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(p) => {
                                    let next = p.next_cursor.clone();
                                    view! {
                                        {if p.items.is_empty() {
                                            view! { <p class="empty-state">"No errors recorded. ✓"</p> }.into_any()
                                        } else {
                                            error_table(p.items, act)
                                        }}
                                        <Pager cursors=cursors next=next />
                                    }
                                    .into_any()
                                }
                                Err(err) => view! { <Failure title="Could not load errors" err=err /> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </RequireSession>
        </div>
    }
}

fn error_table(items: Vec<ErrorGroupDto>, act: impl Fn(i64, bool) + Copy + 'static) -> AnyView {
    let rows = items
        .into_iter()
        .map(|e| {
            let id = e.id;
            let mut actions = Vec::new();
            if e.status == "new" {
                actions.push(("Acknowledge", false));
            }
            if e.status != "resolved" {
                actions.push(("Resolve", true));
            }
            let buttons = actions
                .into_iter()
                .map(|(label, resolve)| view! { <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| act(id, resolve)>{label}</button> })
                .collect_view();
            vec![
                Cell::text(format!("{}: {}", e.kind, e.message)),
                Cell::text(e.source),
                Cell::num(e.occurrences.to_string()),
                Cell::classed(format::short_datetime(e.last_seen), "nowrap"),
                Cell::text(e.status),
                Cell::view("admin-actions", buttons.into_any()),
            ]
        })
        .collect();
    table(
        "admin-errors",
        "Error groups, most recently seen first",
        &[
            "Error",
            "Source",
            "Count",
            "Last seen (UTC)",
            "Status",
            "Actions",
        ],
        rows,
    )
}

/// `/admin/audit`.
#[component]
pub fn AdminAudit() -> impl IntoView {
    set_page_title("Admin · Audit log");
    let action = RwSignal::new(String::new());
    let applied = RwSignal::new(String::new());
    let cursors = RwSignal::new(vec![None::<String>]);
    let page = LocalResource::new(move || {
        let a = applied.get();
        let cursor = cursors.with(|c| c.last().cloned().flatten());
        async move { adm::audit(&a, PAGE, cursor.as_deref()).await }
    });
    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Admin"</p>
                <h1>"Audit log"</h1>
            </header>
            <AdminTabs />
            <RequireSession>
                <form class="filters" role="search" aria-label="Filter the audit log" on:submit=move |ev| {
                    ev.prevent_default();
                    applied.set(action.get_untracked());
                    cursors.set(vec![None]);
                }>
                    <div class="field">
                        <label class="field-label" for="a-action">"Action (e.g. user.verify)"</label>
                        <input id="a-action" class="input" type="search" bind:value=action />
                    </div>
                    <button type="submit" class="btn btn-ghost">"Filter"</button>
                </form>
                <div class="list-results" aria-live="polite">
                    <Transition fallback=|| view! { <Loading text="Loading the audit log…" /> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(p) => {
                                    let next = p.next_cursor.clone();
                                    view! {
                                        {if p.items.is_empty() {
                                            view! { <p class="empty-state">"No audit entries."</p> }.into_any()
                                        } else {
                                            audit_table(p.items)
                                        }}
                                        <Pager cursors=cursors next=next />
                                    }
                                    .into_any()
                                }
                                Err(err) => view! { <Failure title="Could not load the audit log" err=err /> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </RequireSession>
        </div>
    }
}

fn audit_table(items: Vec<AuditEntryDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|a| {
            vec![
                Cell::classed(format::short_datetime(a.at), "nowrap"),
                Cell::text(a.action),
                Cell::text(a.target),
                Cell::text(
                    a.actor_id
                        .map(|i| format!("user:{i}"))
                        .unwrap_or_else(|| String::from("system")),
                ),
                Cell::classed(a.details.unwrap_or_default(), "admin-details"),
                Cell::text(a.ip.unwrap_or_default()),
            ]
        })
        .collect();
    table(
        "admin-audit",
        "Audit entries, newest first",
        &["When (UTC)", "Action", "Target", "Actor", "Details", "IP"],
        rows,
    )
}
