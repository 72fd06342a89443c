//! `/api-docs`: placeholder until the OpenAPI renderer lands (product.md §2).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::set_page_title;

/// "Coming soon" page for the API reference.
#[component]
pub fn ApiDocs() -> impl IntoView {
    set_page_title("API docs");
    view! {
        <div class="page container centered-page">
            <p class="eyebrow">"API docs"</p>
            <h1>"API reference coming soon"</h1>
            <p class="lead">
                "The REST API lives under "<code>"/api/v1"</code>". An interactive reference generated from "
                "its OpenAPI description will appear on this page."
            </p>
            <div class="cta-row cta-center">
                <A href="/health" attr:class="btn btn-ghost">"Check the API status"</A>
            </div>
        </div>
    }
}
