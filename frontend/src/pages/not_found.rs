//! The fallback for unknown paths.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::components::set_page_title;

/// "Page not found", naming the path that was asked for.
#[component]
pub fn NotFound() -> impl IntoView {
    set_page_title("Page not found");
    let location = use_location();
    view! {
        <div class="page container centered-page not-found">
            <p class="big-code" aria-hidden="true">"404"</p>
            <h1>"Page not found"</h1>
            <p class="lead">
                "There is no page at "<code class="path">{move || location.pathname.get()}</code>"."
            </p>
            <div class="cta-row cta-center">
                <A href="/" attr:class="btn btn-primary">"Go to the home page"</A>
                <A href="/features" attr:class="btn btn-ghost">"See features"</A>
            </div>
        </div>
    }
}
