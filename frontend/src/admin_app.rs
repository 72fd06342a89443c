//! The admin app's root: the router and the `/admin/*` route table (product.md §9).
//!
//! A separate wasm (`src/bin/admin.rs`), so admin pages cost the user app nothing. New admin
//! pages add their `<Route>` here, never in `app.rs`. The worker serves `admin.html` for every
//! `/admin/*` navigation; any other path reached client-side (the header's links, the login
//! redirect) reloads into its own app (`shell::fallback`).

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use cl_api_types::spa::SpaApp;

use crate::pages::{AdminAudit, AdminErrors, AdminUsers};
use crate::shell::{fallback, Shell};

/// The admin app: the admin pages inside the shared [`Shell`] layout.
#[component]
pub fn AdminApp() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=|| fallback(SpaApp::Admin)>
                    <Route path=path!("/admin/users") view=AdminUsers />
                    <Route path=path!("/admin/errors") view=AdminErrors />
                    <Route path=path!("/admin/audit") view=AdminAudit />
                    <Route path=path!("/admin/optimizer") view=crate::pages::AdminOptimizer />
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
