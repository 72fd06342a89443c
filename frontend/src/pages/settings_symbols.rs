//! `/settings/symbols` (product.md §2, §5): the symbols of the caller's tier, whether their
//! signals are notified at all (an admin switch), and the caller's own per-symbol toggle —
//! editable by premium (`editable` from the server), read-only for the other tiers. The one
//! place for these toggles: `/settings/notifications` links here.

use cl_api_types::SymbolNotifyDto;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, ApiError};
use crate::components::form::{FormAlert, FormErrors};
use crate::components::list::{list_view, table, Cell, ListText};
use crate::components::set_page_title;
use crate::format;
use crate::pages::settings::SettingsFrame;

/// `/settings/symbols`.
#[component]
pub fn SettingsSymbols() -> impl IntoView {
    set_page_title("Symbol settings");
    view! {
        <SettingsFrame title="Symbols">
            <SymbolTable />
        </SettingsFrame>
    }
}

#[component]
fn SymbolTable() -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<SymbolNotifyDto>, ApiError>>);
    leptos::task::spawn_local(async move { list.set(Some(api::notify::symbols().await)) });
    let errors = FormErrors::new();
    // The symbol whose change is on its way (its checkbox is disabled meanwhile).
    let saving = RwSignal::new(None::<String>);
    let toggle = move |symbol: String, on: bool| {
        errors.clear();
        saving.set(Some(symbol.clone()));
        leptos::task::spawn_local(async move {
            match api::notify::set_symbol(&symbol, on).await {
                Ok(items) => list.set(Some(Ok(items))),
                Err(err) => {
                    errors.show(&err);
                    // Re-render from the last list the server sent: the checkbox flips back.
                    list.update(|_| {});
                }
            }
            saving.set(None);
        });
    };
    view! {
        <section class="panel settings-card settings-wide" aria-labelledby="symbols-title">
            <h2 id="symbols-title" class="panel-title">"Your symbols"</h2>
            <FormAlert errors=errors />
            {move || list_view(
                list.get(),
                ListText { loading: "Loading your symbols…", empty: "No active symbols in your plan yet.", failure: "Could not load your symbols" },
                |items| symbols_view(items, saving, toggle),
            )}
        </section>
    }
}

fn symbols_view(
    items: Vec<SymbolNotifyDto>,
    saving: RwSignal<Option<String>>,
    toggle: impl Fn(String, bool) + Copy + 'static,
) -> AnyView {
    let editable = items.iter().any(|s| s.editable);
    let note = if editable {
        "Turn notifications off for the symbols you do not trade. Charts and the matrix still show them."
    } else {
        "Your plan notifies for every symbol below. Per-symbol notification toggles are part of the Premium plan."
    };
    let rows = items
        .into_iter()
        .map(|s| {
            let id = format!("notify-{}", format::symbol_to_url(&s.symbol));
            let label = format!("Notifications for {}", s.symbol);
            let symbol = s.symbol.clone();
            let busy = {
                let symbol = s.symbol.clone();
                move || saving.with(|b| b.as_deref() == Some(symbol.as_str()))
            };
            let (signal_class, signal_text) = if s.symbol_enabled {
                ("badge badge-ok", "✓ notified")
            } else {
                ("badge badge-warn", "! paused by the admins")
            };
            let editable = s.editable;
            vec![
                Cell::link(format::chart_href(&s.symbol, "1h", None), s.symbol.clone()),
                Cell::classed(signal_text, signal_class),
                Cell::view(
                    "",
                    view! {
                        <span class="form-check symbol-notify">
                            <input
                                id=id.clone()
                                type="checkbox"
                                class="checkbox"
                                prop:checked=s.notify
                                disabled=move || !editable || busy()
                                aria-describedby=(!editable).then_some("symbols-note")
                                on:change=move |ev| toggle(symbol.clone(), event_target_checked(&ev))
                            />
                            <label for=id>
                                <span aria-hidden="true">{if s.notify { "✓ on" } else { "✕ off" }}</span>
                                <span class="sr-only">{label}</span>
                            </label>
                        </span>
                    }
                    .into_any(),
                ),
            ]
        })
        .collect();
    view! {
        <p id="symbols-note" class="muted small">{note}</p>
        <p class="muted small">
            "How you are notified (topic, directions, quiet hours, priority) is set in "
            <A href="/settings/notifications">"Notification settings"</A>
            "."
        </p>
        {table("symbols-table", "Your symbols and their notifications", &["Symbol", "Signals", "Your notifications"], rows)}
    }
    .into_any()
}
