//! The frame of a signed-in list page: an optional back link, the eyebrow, the `<h1>` and an
//! optional lead, then the content once the session is known ([`RequireSession`]).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::session::RequireSession;

/// A signed-in page with the tight page header.
#[component]
pub(crate) fn SignedInPage(
    /// The small line above the title (the area).
    eyebrow: &'static str,
    /// The page's `<h1>`.
    title: &'static str,
    /// One sentence under the title.
    #[prop(optional)]
    lead: Option<&'static str>,
    /// `(href, text)` of a back link above the header.
    #[prop(optional)]
    back: Option<(&'static str, &'static str)>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <div class="page container list-page">
            {back.map(|(href, text)| view! { <p class="back-link"><A href=href>{text}</A></p> })}
            <header class="page-header page-header-tight">
                <p class="eyebrow">{eyebrow}</p>
                <h1>{title}</h1>
                {lead.map(|l| view! { <p class="lead">{l}</p> })}
            </header>
            <RequireSession children=children />
        </div>
    }
}
