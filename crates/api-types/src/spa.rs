//! Which of the web apps serves a page path (docs/decisions.md, "frontend split").
//!
//! The frontend is four wasm apps so none outgrows the 400 KiB brotli budget (issue #9):
//! the user app (public pages, market data, sign-in), the account app (settings, billing),
//! the trading app (portfolio, trades, tags, backtests) and the admin app. The worker answers a navigation with the
//! app's HTML page and each app's router hands foreign paths to the right app with a full
//! page load; both read this one table, so they cannot disagree.

/// One of the web apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaApp {
    /// `index.html`: everything not listed below (the SPA fallback).
    User,
    /// `account.html`: settings and billing.
    Account,
    /// `trading.html`: portfolio, trades, tags and backtests.
    Trading,
    /// `admin.html`: `/admin` and `/admin/*`.
    Admin,
}

/// First path segments served by the account app.
const ACCOUNT_SEGMENTS: [&str; 3] = ["settings", "upgrade", "payments"];

/// First path segments served by the trading app.
const TRADING_SEGMENTS: [&str; 4] = ["portfolio", "trades", "tags", "backtest"];

impl SpaApp {
    /// The app whose router owns `path` (a URL path, no query).
    pub fn for_path(path: &str) -> Self {
        let first = path
            .strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .next()
            .unwrap_or_default();
        if first == "admin" {
            SpaApp::Admin
        } else if ACCOUNT_SEGMENTS.contains(&first) {
            SpaApp::Account
        } else if TRADING_SEGMENTS.contains(&first) {
            SpaApp::Trading
        } else {
            SpaApp::User
        }
    }

    /// The HTML page that boots this app.
    pub fn page(self) -> &'static str {
        match self {
            SpaApp::User => "/index.html",
            SpaApp::Account => "/account.html",
            SpaApp::Trading => "/trading.html",
            SpaApp::Admin => "/admin.html",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SpaApp;

    #[test]
    fn paths_map_to_their_app_by_the_first_segment() {
        for (path, app) in [
            ("/", SpaApp::User),
            ("/pricing", SpaApp::User),
            ("/chart/BTC-USDT/1h", SpaApp::User),
            ("/login", SpaApp::User),
            ("/administrator", SpaApp::User),
            ("/settingsx", SpaApp::User),
            ("/x/admin/users", SpaApp::User),
            ("/admin", SpaApp::Admin),
            ("/admin/", SpaApp::Admin),
            ("/admin/users", SpaApp::Admin),
            ("/settings", SpaApp::Account),
            ("/settings/api-keys", SpaApp::Account),
            ("/upgrade", SpaApp::Account),
            ("/payments/7", SpaApp::Account),
            ("/portfolio", SpaApp::Trading),
            ("/portfolio/3/trades/new", SpaApp::Trading),
            ("/trades/new", SpaApp::Trading),
            ("/tags", SpaApp::Trading),
            ("/backtest/9", SpaApp::Trading),
        ] {
            assert_eq!(SpaApp::for_path(path), app, "{path}");
        }
        assert_eq!(SpaApp::Admin.page(), "/admin.html");
        assert_eq!(SpaApp::Account.page(), "/account.html");
        assert_eq!(SpaApp::Trading.page(), "/trading.html");
        assert_eq!(SpaApp::User.page(), "/index.html");
    }
}
