//! Shared loading, error and empty states.

use leptos::prelude::*;

use crate::api::ApiError;

/// A spinner with a text (announced politely).
#[component]
pub fn Loading(
    /// What is loading.
    #[prop(into)]
    text: String,
) -> impl IntoView {
    view! {
        <p class="status-loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            {text}
        </p>
    }
}

/// An error banner with the reason in words.
///
/// Two errors get their own treatment on every page: `401 unauthorized` sends the visitor to
/// the login page (coming back afterwards), and `tier_required` shows the upgrade prompt.
#[component]
pub fn ErrorBanner(
    /// The headline.
    #[prop(into)]
    title: String,
    /// The error.
    err: ApiError,
) -> impl IntoView {
    if err.is_unauthorized() {
        crate::session::redirect_to_login();
        return view! { <Loading text="Please sign in; redirecting to the login page…" /> }
            .into_any();
    }
    if err.is_tier_required() {
        return view! { <UpgradePrompt message=err.message() /> }.into_any();
    }
    view! {
        <div class="status-banner status-down error-banner" role="alert">
            <span class="status-symbol" aria-hidden="true">"✕"</span>
            <div>
                <p class="status-text">{title}</p>
                <p class="status-sub">{err.to_string()}</p>
            </div>
        </div>
    }
    .into_any()
}

/// The upgrade prompt shown instead of a page (or panel) the visitor's tier does not include.
#[component]
pub fn UpgradePrompt(
    /// The server's explanation (which tier is needed).
    #[prop(into)]
    message: String,
) -> impl IntoView {
    view! {
        <section class="upgrade-prompt" role="region" aria-labelledby="upgrade-title">
            <span class="upgrade-icon" aria-hidden="true">"★"</span>
            <div>
                <h2 id="upgrade-title" class="upgrade-title">"Upgrade to unlock this"</h2>
                <p class="upgrade-text">{message}</p>
                <p class="upgrade-actions">
                    <a class="btn btn-primary" href="/upgrade">"Upgrade"</a>
                    " "
                    <a class="btn btn-ghost" href="/pricing">"Compare plans"</a>
                </p>
            </div>
        </section>
    }
}
