//! # cl-frontend
//!
//! The CryptoLens Edge web app: a Leptos 0.8 client-side-rendered (CSR) app compiled to
//! `wasm32-unknown-unknown` and served as static assets by the same Cloudflare worker that
//! serves `/api/v1/*` (so every API call is same-origin).
//!
//! Four entry points share this library (docs/decisions.md, "frontend split"):
//! - `src/main.rs` → `pkg/app_bg.wasm`: the user app, [`app::App`] (public pages, market
//!   data, sign-in; `index.html`, the SPA fallback);
//! - `src/bin/account.rs` → `pkg/account_bg.wasm`: the account app,
//!   [`account_app::AccountApp`] (settings, billing; `account.html`);
//! - `src/bin/trading.rs` → `pkg/trading_bg.wasm`: the trading app,
//!   [`trading_app::TradingApp`] (portfolio, trades, tags, backtests; `trading.html`);
//! - `src/bin/admin.rs` → `pkg/admin_bg.wasm`: the admin app, [`admin_app::AdminApp`]
//!   (`/admin/*`; `admin.html`).
//!
//! `cl_api_types::spa` says which app owns a path; the worker serves that app's page. Each
//! binary links only the pages its router names (LTO drops the rest), so every wasm stays
//! under the 400 KiB brotli budget (issue #9). Moving between apps is a full page load
//! ([`shell::fallback`]).
//!
//! Layout (style rule 9):
//! - [`app`], [`account_app`], [`trading_app`], [`admin_app`]: the routers and route tables; [`shell`]: the page layout they share
//!   (skip link, header, `<main>`, footer) and the cross-app hand-over.
//! - `api`: the typed `/api/v1` client; it unwraps the shared [`cl_api_types::Envelope`] and
//!   returns `Result<T, ApiError>`.
//! - `pages`: one module per route; `components`: the shared header/nav, footer, status
//!   states and the SVG chart (whose pure geometry is host-tested); `format`: prices, dates.
//!
//! The strict CSP (product.md §11.14) forbids inline scripts and styles: all styling lives in
//! `public/style.css`, views only set classes (`class=`, `class:name=`), and the bootstrap
//! scripts are the external `public/boot.js`, `account-boot.js` and `admin-boot.js`.

pub mod account_app;
pub mod admin_app;
mod api;
pub mod app;
mod components;
mod format;
mod pages;
mod session;
pub mod shell;
pub mod trading_app;
