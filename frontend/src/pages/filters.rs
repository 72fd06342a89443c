//! Shared list filters: labelled selects (the keyset pager is `components::list::Pager`).

use leptos::prelude::*;

use crate::api;

/// A labelled `<select>` with an "any" first option (value `""`).
#[component]
pub fn SelectFilter(
    /// Element id (for the label).
    id: &'static str,
    /// Visible label.
    label: &'static str,
    /// Text of the empty ("no filter") option.
    any: &'static str,
    /// `(value, text)` pairs.
    options: Vec<(String, String)>,
    /// The initially selected value.
    #[prop(optional)]
    initial: &'static str,
    /// Called with the new value.
    #[prop(into)]
    on_change: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label class="field-label" for=id>{label}</label>
            <select id=id class="select" on:change=move |ev| on_change.run(event_target_value(&ev))>
                <option value="" selected=initial.is_empty()>{any}</option>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let sel = value == initial;
                        view! { <option value=value selected=sel>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

/// A symbol filter filled from `GET /api/v1/symbols`.
#[component]
pub fn SymbolFilter(
    /// Element id.
    id: &'static str,
    /// Called with the canonical symbol, or `""` for all.
    #[prop(into)]
    on_change: Callback<String>,
) -> impl IntoView {
    let symbols = LocalResource::new(api::symbols);
    view! {
        <div class="field">
            <label class="field-label" for=id>"Symbol"</label>
            <select id=id class="select" on:change=move |ev| on_change.run(event_target_value(&ev))>
                <option value="">"All symbols"</option>
                {move || {
                    symbols
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|s| view! { <option value=s.symbol.clone()>{s.symbol.clone()}</option> })
                        .collect_view()
                }}
            </select>
        </div>
    }
}
