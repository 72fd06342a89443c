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
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::set_page_title;
use crate::format;
use crate::pages::filters::SelectFilter;
use crate::session::RequireSession;

const PAGE: u32 = 50;

/// One group of the admin navigation: its label's element id, the label and `(href, text)`
/// of its links.
struct NavGroup {
    id: &'static str,
    title: &'static str,
    links: &'static [(&'static str, &'static str)],
}

/// The admin sections in their groups (a sidebar on wide screens, a compact grouped block
/// above the page on narrow ones: eleven tabs in one row wrapped to two lines).
const SECTIONS: [NavGroup; 3] = [
    NavGroup {
        id: "admin-nav-people",
        title: "Users & messaging",
        links: &[
            ("/admin/users", "Users"),
            ("/admin/subscriptions", "Subscriptions"),
            ("/admin/notifications", "Notifications"),
        ],
    },
    NavGroup {
        id: "admin-nav-ops",
        title: "Operations",
        links: &[
            ("/admin/crons", "Crons"),
            ("/admin/symbols", "Symbols"),
            ("/admin/optimizer", "Optimizer"),
            ("/admin/settings", "Settings"),
        ],
    },
    NavGroup {
        id: "admin-nav-insights",
        title: "Insights",
        links: &[
            ("/admin/stats", "Stats"),
            ("/admin/logs", "Logs"),
            ("/admin/errors", "Errors"),
            ("/admin/audit", "Audit log"),
        ],
    },
];

/// The grouped admin navigation; the router marks the open page's link `aria-current`.
#[component]
fn AdminNav() -> impl IntoView {
    let groups = SECTIONS
        .iter()
        .map(|NavGroup { id, title, links }| {
            let links = links
                .iter()
                .map(|(href, text)| {
                    view! { <li><A href=*href attr:class="admin-nav-link">{*text}</A></li> }
                })
                .collect_view();
            view! {
                <div class="admin-nav-group">
                    <p class="admin-nav-title" id=*id>{*title}</p>
                    <ul class="admin-nav-list" aria-labelledby=*id>{links}</ul>
                </div>
            }
        })
        .collect_view();
    view! { <nav class="admin-nav" aria-label="Admin sections">{groups}</nav> }
}

/// Every admin page's frame: the grouped navigation beside (or above) the page's heading and
/// its content, which shows once the session is known (the server decides who is an admin).
#[component]
pub(crate) fn AdminPage(
    /// The page's `<h1>` (after the "Admin" eyebrow).
    title: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <div class="page container admin-layout">
            <AdminNav />
            <div class="admin-main list-page">
                <header class="page-header page-header-tight">
                    <p class="eyebrow">"Admin"</p>
                    <h1>{title}</h1>
                </header>
                <RequireSession children=children />
            </div>
        </div>
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
    let keyset = Keyset::new();
    let version = RwSignal::new(0u32);
    let errors = FormErrors::new();
    let page = LocalResource::new(move || {
        version.track();
        let q = applied.get();
        let cursor = keyset.current();
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
        <AdminPage title="Users">
            <form class="filters" role="search" aria-label="Search users" on:submit=move |ev| {
                ev.prevent_default();
                applied.set(search.get_untracked());
                keyset.reset();
            }>
                <div class="field">
                    <label class="field-label" for="u-search">"Email or username starts with"</label>
                    <input id="u-search" class="input" type="search" bind:value=search />
                </div>
                <button type="submit" class="btn btn-ghost">"Search"</button>
            </form>
            <FormAlert errors=errors />
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading users…", empty: "No users match.", failure: "Could not load users" }
                rows=move |items| user_table(items, act)
            />
        </AdminPage>
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
    let keyset = Keyset::new();
    let version = RwSignal::new(0u32);
    let errors = FormErrors::new();
    let page = LocalResource::new(move || {
        version.track();
        let s = status.get();
        let cursor = keyset.current();
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
        <AdminPage title="Error tracker">
            <form class="filters" aria-label="Error filters" on:submit=|ev| ev.prevent_default()>
                <SelectFilter id="e-status" label="Status" any="Any status" options=options.clone() on_change=move |v: String| {
                    status.set(v);
                    keyset.reset();
                } />
            </form>
            <FormAlert errors=errors />
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading errors…", empty: "No errors recorded. ✓", failure: "Could not load errors" }
                rows=move |items| error_table(items, act)
            />
        </AdminPage>
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
    let keyset = Keyset::new();
    let page = LocalResource::new(move || {
        let a = applied.get();
        let cursor = keyset.current();
        async move { adm::audit(&a, PAGE, cursor.as_deref()).await }
    });
    view! {
        <AdminPage title="Audit log">
            <form class="filters" role="search" aria-label="Filter the audit log" on:submit=move |ev| {
                ev.prevent_default();
                applied.set(action.get_untracked());
                keyset.reset();
            }>
                <div class="field">
                    <label class="field-label" for="a-action">"Action (e.g. user.verify)"</label>
                    <input id="a-action" class="input" type="search" bind:value=action />
                </div>
                <button type="submit" class="btn btn-ghost">"Filter"</button>
            </form>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading the audit log…", empty: "No audit entries.", failure: "Could not load the audit log" }
                rows=audit_table
            />
        </AdminPage>
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
