//! Shared list controls: labelled filter selects and the keyset pager.

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

/// Previous/next buttons over a stack of keyset cursors (the last entry is the current page).
#[component]
pub fn Pager(
    /// The cursor stack (`None` = the first page).
    cursors: RwSignal<Vec<Option<String>>>,
    /// The next page's cursor from the current answer.
    next: Option<String>,
) -> impl IntoView {
    let has_prev = move || cursors.with(|c| c.len() > 1);
    let page_no = move || cursors.with(Vec::len);
    let has_next = next.is_some();
    view! {
        <nav class="pager" aria-label="Pages">
            <button
                type="button"
                class="btn btn-ghost btn-sm"
                disabled=move || !has_prev()
                on:click=move |_| {
                    cursors.update(|c| {
                        if c.len() > 1 {
                            c.pop();
                        }
                    })
                }
            >
                "← Newer"
            </button>
            <span class="pager-page muted">{move || format!("Page {}", page_no())}</span>
            <button
                type="button"
                class="btn btn-ghost btn-sm"
                disabled=!has_next
                on:click=move |_| {
                    if let Some(n) = next.clone() {
                        cursors.update(|c| c.push(Some(n)));
                    }
                }
            >
                "Older →"
            </button>
        </nav>
    }
}
