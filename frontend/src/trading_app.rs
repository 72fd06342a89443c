//! The trading app's root: portfolios, trades, tags and backtests (product.md §2).
//!
//! A separate wasm (`src/bin/trading.rs`) so no app outgrows the size budget. A new page under
//! `/portfolio`, `/trades`, `/tags` or `/backtest` adds its `<Route>` here (a new first segment
//! also goes into `cl_api_types::spa`). The worker serves `trading.html` for these
//! navigations; any other path reached client-side reloads into its own app
//! (`shell::fallback`).

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use cl_api_types::spa::SpaApp;

use crate::pages::{PortfolioDetail, Portfolios, Tags, TradeDetail, TradeNew};
use crate::shell::{fallback, Shell};

/// The trading app inside the shared [`Shell`] layout.
#[component]
pub fn TradingApp() -> impl IntoView {
    view! {
        <Router>
            <Shell>
                <Routes fallback=|| fallback(SpaApp::Trading)>
                    <Route path=path!("/portfolio") view=Portfolios />
                    <Route path=path!("/portfolio/:id") view=PortfolioDetail />
                    <Route path=path!("/portfolio/:id/trades/new") view=TradeNew />
                    <Route path=path!("/trades/new") view=TradeNew />
                    <Route path=path!("/trades/:id") view=TradeDetail />
                    <Route path=path!("/tags") view=Tags />
                    <Route path=path!("/backtest") view=crate::pages::Backtests />
                    <Route path=path!("/backtest/:id") view=crate::pages::BacktestDetail />
                </Routes>
            </Shell>
        </Router>
    }
}
