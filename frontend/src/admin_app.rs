//! The admin app's root: the router and the `/admin/*` route table (product.md §9).
//!
//! A separate wasm (`src/bin/admin.rs`), so admin pages cost the user app nothing. New admin
//! pages add their `<Route>` here, never in `app.rs`. The worker serves `admin.html` for every
//! `/admin/*` navigation; any other path reached client-side (the header's links, the login
//! redirect) reloads into the user app.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

use crate::pages::{AdminAudit, AdminErrors, AdminUsers, NotFound};
use crate::shell::{is_admin_path, OtherApp, Shell};

/// The admin app: the admin pages inside the shared [`Shell`] layout.
#[component]
pub fn AdminApp() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=AdminFallback>
                    <Route path=path!("/admin/users") view=AdminUsers />
                    <Route path=path!("/admin/errors") view=AdminErrors />
                    <Route path=path!("/admin/audit") view=AdminAudit />
                    <Route path=path!("/admin/notifications") view=crate::pages::AdminNotifications />
                    <Route path=path!("/admin/crons") view=crate::pages::AdminCrons />
                    <Route path=path!("/admin/symbols") view=crate::pages::AdminSymbols />
                    <Route path=path!("/admin/stats") view=crate::pages::AdminStats />
                    <Route path=path!("/admin/subscriptions") view=crate::pages::AdminSubscriptions />
                    <Route path=path!("/admin/logs") view=crate::pages::AdminLogs />
                    <Route path=path!("/admin/settings") view=crate::pages::AdminSettings />
                </Routes>
            </Shell>
        </Router>
    }
}

/// An unknown admin path is "not found"; anything else belongs to the user app.
#[component]
fn AdminFallback() -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    if is_admin_path(&path) {
        view! { <NotFound /> }.into_any()
    } else {
        view! { <OtherApp /> }.into_any()
    }
}
