//! The account app's root: the signed-in user's settings and billing (product.md §2).
//!
//! A separate wasm (`src/bin/account.rs`) so no app outgrows the size budget. A new page under
//! `/settings`, `/upgrade` or `/payments` adds its `<Route>` here (a new first segment also goes
//! into `cl_api_types::spa`). The worker serves `account.html` for these navigations; any other
//! path reached client-side reloads into its own app (`shell::fallback`).

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use cl_api_types::spa::SpaApp;

use crate::pages::{
    PaymentDetail, SettingsAccount, SettingsApiKeys, SettingsBilling, SettingsIndex,
    SettingsNotifications, SettingsSecurity, Upgrade,
};
use crate::shell::{fallback, Shell};

/// The account app inside the shared [`Shell`] layout.
#[component]
pub fn AccountApp() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=|| fallback(SpaApp::Account)>
                    <Route path=path!("/settings") view=SettingsIndex />
                    <Route path=path!("/settings/account") view=SettingsAccount />
                    <Route path=path!("/settings/security") view=SettingsSecurity />
                    <Route path=path!("/settings/api-keys") view=SettingsApiKeys />
                    <Route path=path!("/settings/billing") view=SettingsBilling />
                    <Route path=path!("/settings/notifications") view=SettingsNotifications />
                    <Route path=path!("/upgrade") view=Upgrade />
                    <Route path=path!("/payments/:id") view=PaymentDetail />
                    <Route path=path!("/settings/trading") view=crate::pages::SettingsTrading />
                    <Route path=path!("/settings/symbols") view=crate::pages::SettingsSymbols />
                    <Route path=path!("/settings/exchange") view=crate::pages::SettingsExchange />
                </Routes>
            </Shell>
        </Router>
    }
}
