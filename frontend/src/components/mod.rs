//! Components shared by the pages: the site header with its navigation, the footer, the
//! loading/error states, tables and keyset lists, and the SVG chart.

pub mod chart;
mod footer;
pub mod form;
pub mod list;
mod nav;
pub mod page;
pub mod qr;
pub mod status;

pub use footer::SiteFooter;
pub use nav::SiteHeader;
pub use status::{ErrorBanner, Loading};

/// Sets the document title to `"<page> · CryptoLens Edge"` (or just the product name).
///
/// Pages call it once when they are created, so screen-reader users and browser tabs see
/// which page is open after a client-side navigation.
pub fn set_page_title(page: &str) {
    let title = if page.is_empty() {
        String::from("CryptoLens Edge — smart-money pattern detection for crypto")
    } else {
        format!("{page} · CryptoLens Edge")
    };
    leptos::prelude::document().set_title(&title);
}
