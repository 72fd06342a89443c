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
#[component]
pub fn ErrorBanner(
    /// The headline.
    #[prop(into)]
    title: String,
    /// The error.
    err: ApiError,
) -> impl IntoView {
    view! {
        <div class="status-banner status-down error-banner" role="alert">
            <span class="status-symbol" aria-hidden="true">"✕"</span>
            <div>
                <p class="status-text">{title}</p>
                <p class="status-sub">{err.to_string()}</p>
            </div>
        </div>
    }
}
