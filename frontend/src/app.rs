//! The application root: router, page layout and the route table (product.md §2).

use leptos::html;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::{SiteFooter, SiteHeader};
use crate::pages::{
    AdminAudit, AdminErrors, AdminUsers, PaymentDetail, PortfolioDetail, Portfolios,
    SettingsBilling, Tags, TradeDetail, TradeNew, Upgrade,
};
use crate::pages::{
    ApiDocs, ChartPage, Dashboard, Features, ForgotPassword, Health, Home, Login, NotFound,
    Patterns, Pricing, Privacy, Register, ResetPassword, SettingsAccount, SettingsApiKeys,
    SettingsIndex, SettingsNotifications, SettingsSecurity, SignalDetail, Signals, Terms,
    VerifyEmail,
};
use crate::session::provide_session;

/// The whole app: skip link, header, the routed `<main>`, footer.
///
/// Unknown paths render [`NotFound`]. The worker answers every extension-less path with
/// `index.html`, so deep links such as `/pricing` land here and are routed client-side.
#[component]
pub fn App() -> impl IntoView {
    let main_ref = NodeRef::<html::Main>::new();
    provide_session();

    // The skip link moves focus (not just the scroll position) to the main landmark. It
    // prevents the default so the router does not turn it into a navigation.
    let skip_to_main = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Some(main) = main_ref.get() {
            let _ = main.focus();
            main.scroll_into_view();
        }
    };

    view! {
        <Router>
            <a class="skip-link" href="#main" on:click=skip_to_main>
                "Skip to main content"
            </a>
            <SiteHeader />
            <main id="main" class="site-main" tabindex="-1" node_ref=main_ref>
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/features") view=Features />
                    <Route path=path!("/pricing") view=Pricing />
                    <Route path=path!("/privacy") view=Privacy />
                    <Route path=path!("/terms") view=Terms />
                    <Route path=path!("/health") view=Health />
                    <Route path=path!("/api-docs") view=ApiDocs />
                    <Route path=path!("/dashboard") view=Dashboard />
                    <Route path=path!("/patterns") view=Patterns />
                    <Route path=path!("/chart/:symbol/:tf") view=ChartPage />
                    <Route path=path!("/signals") view=Signals />
                    <Route path=path!("/signals/:id") view=SignalDetail />
                    <Route path=path!("/login") view=Login />
                    <Route path=path!("/register") view=Register />
                    <Route path=path!("/verify-email") view=VerifyEmail />
                    <Route path=path!("/forgot-password") view=ForgotPassword />
                    <Route path=path!("/reset-password") view=ResetPassword />
                    <Route path=path!("/settings") view=SettingsIndex />
                    <Route path=path!("/settings/account") view=SettingsAccount />
                    <Route path=path!("/settings/security") view=SettingsSecurity />
                    <Route path=path!("/settings/api-keys") view=SettingsApiKeys />
                    <Route path=path!("/portfolio") view=Portfolios />
                    <Route path=path!("/portfolio/:id") view=PortfolioDetail />
                    <Route path=path!("/portfolio/:id/trades/new") view=TradeNew />
                    <Route path=path!("/trades/new") view=TradeNew />
                    <Route path=path!("/trades/:id") view=TradeDetail />
                    <Route path=path!("/tags") view=Tags />
                    <Route path=path!("/settings/billing") view=SettingsBilling />
                    <Route path=path!("/upgrade") view=Upgrade />
                    <Route path=path!("/payments/:id") view=PaymentDetail />
                    <Route path=path!("/admin/users") view=AdminUsers />
                    <Route path=path!("/admin/errors") view=AdminErrors />
                    <Route path=path!("/admin/audit") view=AdminAudit />
                    <Route path=path!("/settings/notifications") view=SettingsNotifications />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}
