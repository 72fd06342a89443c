//! Lists shared by the pages: the data table ([`table`] of [`Cell`]s), the keyset cursor
//! stack ([`Keyset`]) with its [`Pager`], and the one way a list shows its states
//! ([`ListText`]: loading, the failure banner, the empty state or the rows), for a keyset
//! page ([`KeysetList`]), a whole list from a resource ([`ResourceList`]) or a list held in a
//! signal ([`list_view`]).
//!
//! Every list page used to spell out the same `Transition` → match → empty/table → pager →
//! failure block; keeping it here keeps the states (and their accessibility) alike.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{ApiError, Page};
use crate::components::{ErrorBanner, Loading};

/// One table cell: its classes and content.
pub(crate) struct Cell {
    class: String,
    body: AnyView,
}

impl Cell {
    /// Plain text.
    pub(crate) fn text(s: impl Into<String>) -> Self {
        Self::classed(s, "")
    }
    /// A right-aligned number.
    pub(crate) fn num(s: impl Into<String>) -> Self {
        Self::classed(s, "num")
    }
    /// Text with classes.
    pub(crate) fn classed(s: impl Into<String>, class: &str) -> Self {
        Self {
            class: class.to_owned(),
            body: s.into().into_any(),
        }
    }
    /// A client-side link.
    pub(crate) fn link(href: String, text: String) -> Self {
        Self {
            class: String::from("cell-symbol"),
            body: view! { <A href=href>{text}</A> }.into_any(),
        }
    }
    /// Any content.
    pub(crate) fn view(class: &str, body: AnyView) -> Self {
        Self {
            class: class.to_owned(),
            body,
        }
    }
}

/// A scrollable `data-table` with a screen-reader caption; each row's first cell is its
/// row header.
pub(crate) fn table(
    class: &'static str,
    caption: &'static str,
    head: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
) -> AnyView {
    let rows = rows
        .into_iter()
        .map(|r| {
            let cells = r
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        view! { <th scope="row" class=c.class>{c.body}</th> }.into_any()
                    } else {
                        view! { <td class=c.class>{c.body}</td> }.into_any()
                    }
                })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class=format!("data-table {class}")>
                <caption class="sr-only">{caption}</caption>
                <thead><tr>{head.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The stack of keyset cursors of a list (the last entry is the current page; `None` is the
/// first page).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyset(RwSignal<Vec<Option<String>>>);

impl Keyset {
    /// At the first page.
    pub(crate) fn new() -> Self {
        Self(RwSignal::new(vec![None]))
    }

    /// The current page's cursor (tracked: a resource reading it reloads on paging).
    pub(crate) fn current(self) -> Option<String> {
        self.0.with(|c| c.last().cloned().flatten())
    }

    /// Back to the first page (after a filter changed).
    pub(crate) fn reset(self) {
        self.0.set(vec![None]);
    }

    fn page_no(self) -> usize {
        self.0.with(Vec::len)
    }

    fn back(self) {
        self.0.update(|c| {
            if c.len() > 1 {
                c.pop();
            }
        });
    }

    fn forward(self, next: String) {
        self.0.update(|c| c.push(Some(next)));
    }
}

/// Newer/older buttons over a [`Keyset`].
#[component]
pub(crate) fn Pager(
    /// The list's cursors.
    keyset: Keyset,
    /// The next page's cursor from the current answer.
    next: Option<String>,
) -> impl IntoView {
    let has_next = next.is_some();
    view! {
        <nav class="pager" aria-label="Pages">
            <button
                type="button"
                class="btn btn-ghost btn-sm"
                disabled=move || keyset.page_no() <= 1
                on:click=move |_| keyset.back()
            >
                "← Newer"
            </button>
            <span class="pager-page muted">{move || format!("Page {}", keyset.page_no())}</span>
            <button
                type="button"
                class="btn btn-ghost btn-sm"
                disabled=!has_next
                on:click=move |_| {
                    if let Some(n) = next.clone() {
                        keyset.forward(n);
                    }
                }
            >
                "Older →"
            </button>
        </nav>
    }
}

/// The words of a list's states.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListText {
    /// Shown with the spinner while the first answer is on its way.
    pub loading: &'static str,
    /// Shown when the answer has no rows.
    pub empty: &'static str,
    /// The failure banner's headline.
    pub failure: &'static str,
}

/// A list's current state: loading (`None`), the failure, the empty state or `rows(items)`.
pub(crate) fn list_view<T>(
    state: Option<Result<Vec<T>, ApiError>>,
    text: ListText,
    rows: impl FnOnce(Vec<T>) -> AnyView,
) -> AnyView {
    match state {
        None => view! { <Loading text=text.loading /> }.into_any(),
        Some(Err(err)) => view! { <ErrorBanner title=text.failure err=err /> }.into_any(),
        Some(Ok(items)) if items.is_empty() => {
            view! { <p class="empty-state">{text.empty}</p> }.into_any()
        }
        Some(Ok(items)) => rows(items),
    }
}

/// A whole (unpaged) list from a resource: the previous rows stay in view while it reloads.
#[component]
pub(crate) fn ResourceList<T, R>(
    /// The list.
    list: LocalResource<Result<Vec<T>, ApiError>>,
    /// The words of its states.
    text: ListText,
    /// Renders the rows of a non-empty list.
    rows: R,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(Vec<T>) -> AnyView + Copy + Send + Sync + 'static,
{
    view! {
        <Transition fallback=move || view! { <Loading text=text.loading /> }>
            {move || Suspend::new(async move { list_view(Some(list.await), text, rows) })}
        </Transition>
    }
}

/// One keyset page of a list endpoint with its pager: the previous page stays in view while
/// the next one loads (`Transition`), and the region is announced politely.
#[component]
pub(crate) fn KeysetList<T, R>(
    /// The page, read with `keyset.current()` as its cursor.
    page: LocalResource<Result<Page<T>, ApiError>>,
    /// The list's cursors.
    keyset: Keyset,
    /// The words of its states.
    text: ListText,
    /// Renders the rows of a non-empty page.
    rows: R,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(Vec<T>) -> AnyView + Copy + Send + Sync + 'static,
{
    view! {
        <div class="list-results" aria-live="polite">
            <Transition fallback=move || view! { <Loading text=text.loading /> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) => {
                            let next = p.next_cursor;
                            view! {
                                {list_view(Some(Ok(p.items)), text, rows)}
                                <Pager keyset=keyset next=next />
                            }
                            .into_any()
                        }
                        Err(err) => list_view::<T>(Some(Err(err)), text, rows),
                    }
                })}
            </Transition>
        </div>
    }
}
