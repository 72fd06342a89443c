//! # cl-frontend
//!
//! The CryptoLens Edge web app: a Leptos 0.8 client-side-rendered (CSR) app compiled to
//! `wasm32-unknown-unknown` and served as static assets by the same Cloudflare worker that
//! serves `/api/v1/*` (so every API call is same-origin).
//!
//! Layout (style rule 9):
//! - [`app`]: the router, the page layout (skip link, header, `<main>`, footer) and the routes.
//! - [`api`]: the typed `/api/v1` client; it unwraps the shared [`cl_api_types::Envelope`] and
//!   returns `Result<T, ApiError>`.
//! - [`pages`]: one module per route; [`components`]: the shared header/nav, footer, status
//!   states and the SVG chart (whose pure geometry is host-tested); [`format`]: prices, dates.
//!
//! The strict CSP (product.md §11.14) forbids inline scripts and styles: all styling lives in
//! `public/style.css`, views only set classes (`class=`, `class:name=`), and the bootstrap
//! script is the external `public/boot.js`.

mod api;
mod app;
mod components;
mod format;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
