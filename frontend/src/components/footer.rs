//! The site footer: secondary links and the risk notice.

use leptos::prelude::*;
use leptos_router::components::A;

/// The page footer with legal and service links.
#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container footer-inner">
                <div class="footer-brand">
                    <p class="footer-name">"CryptoLens Edge"</p>
                    <p class="footer-note">
                        "Pattern detection is a research aid, not financial advice. Trading crypto assets carries a high risk of loss."
                    </p>
                </div>
                <nav class="footer-nav" aria-label="Footer">
                    <ul>
                        <li><A href="/features">"Features"</A></li>
                        <li><A href="/pricing">"Pricing"</A></li>
                        <li><A href="/api-docs">"API docs"</A></li>
                        <li><A href="/health">"Service status"</A></li>
                        <li><A href="/privacy">"Privacy"</A></li>
                        <li><A href="/terms">"Terms"</A></li>
                    </ul>
                </nav>
            </div>
        </footer>
    }
}
