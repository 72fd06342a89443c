//! The user app's root: the router and its route table (product.md §2). The admin area
//! (`/admin/*`) is a separate app (`admin_app.rs`, its own wasm): its routes go there, not here.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::pages::{
    ApiDocs, ChartPage, Dashboard, Features, ForgotPassword, Health, Home, Login, NotFound,
    Patterns, Pricing, Privacy, Register, ResetPassword, SettingsAccount, SettingsApiKeys,
    SettingsIndex, SettingsNotifications, SettingsSecurity, SignalDetail, Signals, Terms,
    VerifyEmail,
};
use crate::pages::{BacktestDetail, Backtests, SettingsExchange, SettingsSymbols};
use crate::pages::{
    PaymentDetail, PortfolioDetail, Portfolios, SettingsBilling, Tags, TradeDetail, TradeNew,
    Upgrade,
};
use crate::shell::{OtherApp, Shell};

/// The user app: every page but the admin area, inside the shared [`Shell`] layout.
///
/// Unknown paths render [`NotFound`]. The worker answers every extension-less path with
/// `index.html` (`/admin/*` with `admin.html`), so deep links such as `/pricing` land here and
/// are routed client-side; a client-side move into `/admin/*` reloads into the admin app.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell>
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
                    <Route path=path!("/analytics") view=crate::pages::Analytics />
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
                    <Route path=path!("/admin/*any") view=OtherApp />
                    <Route path=path!("/settings/notifications") view=SettingsNotifications />
                    <Route path=path!("/backtest") view=Backtests />
                    <Route path=path!("/backtest/:id") view=BacktestDetail />
                    <Route path=path!("/settings/symbols") view=SettingsSymbols />
                    <Route path=path!("/settings/exchange") view=SettingsExchange />
                </Routes>
            </Shell>
        </Router>
    }
}
