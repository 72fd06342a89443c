//! The user app's root: the router and its route table (product.md §2): public pages, market
//! data and sign-in. Settings, portfolio, trades, billing and backtests are the account app
//! (`account_app.rs`), `/admin/*` the admin app (`admin_app.rs`): each its own wasm, so their
//! routes go there, not here (`cl_api_types::spa` says which app owns a path).

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use cl_api_types::spa::SpaApp;

use crate::pages::{
    ApiDocs, ChartPage, Dashboard, Features, ForgotPassword, Health, Home, Login, Patterns,
    Pricing, Privacy, Register, ResetPassword, SignalDetail, Signals, Terms, VerifyEmail,
};
use crate::shell::{fallback, Shell};

/// The user app inside the shared [`Shell`] layout.
///
/// The worker answers every extension-less path outside the other apps (account, trading,
/// admin) with `index.html`, so deep links such as `/pricing` land here and are routed
/// client-side.
/// Unknown paths of this app render "not found"; a client-side move into another app's
/// path reloads into that app (`shell::fallback`).
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=|| fallback(SpaApp::User)>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/features") view=Features />
                    <Route path=path!("/pricing") view=Pricing />
                    <Route path=path!("/privacy") view=Privacy />
                    <Route path=path!("/terms") view=Terms />
                    <Route path=path!("/health") view=Health />
                    <Route path=path!("/api-docs") view=ApiDocs />
                    <Route path=path!("/dashboard") view=Dashboard />
                    <Route path=path!("/patterns") view=Patterns />
                    <Route path=path!("/analytics") view=crate::pages::Analytics />
                    <Route path=path!("/chart/:symbol/:tf") view=ChartPage />
                    <Route path=path!("/signals") view=Signals />
                    <Route path=path!("/signals/:id") view=SignalDetail />
                    <Route path=path!("/login") view=Login />
                    <Route path=path!("/register") view=Register />
                    <Route path=path!("/verify-email") view=VerifyEmail />
                    <Route path=path!("/forgot-password") view=ForgotPassword />
                    <Route path=path!("/reset-password") view=ResetPassword />
                </Routes>
            </Shell>
        </Router>
    }
}
