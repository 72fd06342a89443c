//! The site header: brand, primary navigation and the small-screen menu toggle.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::session::{use_session, Session};

/// One entry of the primary navigation.
struct NavItem {
    /// The route path.
    href: &'static str,
    /// The visible label.
    label: &'static str,
    /// Active only on an exact path match (the home link would otherwise match every path).
    exact: bool,
}

/// The primary navigation, in display order.
const NAV_ITEMS: [NavItem; 8] = [
    NavItem {
        href: "/",
        label: "Home",
        exact: true,
    },
    NavItem {
        href: "/dashboard",
        label: "Dashboard",
        exact: false,
    },
    NavItem {
        href: "/patterns",
        label: "Patterns",
        exact: false,
    },
    NavItem {
        href: "/signals",
        label: "Signals",
        exact: false,
    },
    NavItem {
        href: "/features",
        label: "Features",
        exact: false,
    },
    NavItem {
        href: "/pricing",
        label: "Pricing",
        exact: false,
    },
    NavItem {
        href: "/health",
        label: "Health",
        exact: false,
    },
    NavItem {
        href: "/api-docs",
        label: "API docs",
        exact: false,
    },
];

/// The page header with the brand link and the primary navigation.
///
/// On narrow screens the link list collapses behind a "Menu" button (`aria-expanded` +
/// `aria-controls`); following a link or pressing Escape closes it again.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let (open, set_open) = signal(false);
    let session = use_session();

    view! {
        <header class="site-header">
            <div class="container header-inner">
                <A href="/" attr:class="brand">
                    <BrandMark />
                    <span class="brand-name">"CryptoLens"</span>
                    <span class="brand-edge">"Edge"</span>
                </A>
                <nav
                    class="primary-nav"
                    aria-label="Primary"
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            set_open.set(false);
                        }
                    }
                >
                    <button
                        type="button"
                        class="menu-toggle"
                        aria-controls="primary-menu"
                        aria-expanded=move || if open.get() { "true" } else { "false" }
                        on:click=move |_| set_open.update(|o| *o = !*o)
                    >
                        <span class="menu-icon" aria-hidden="true"></span>
                        <span class="menu-label">"Menu"</span>
                    </button>
                    <ul
                        id="primary-menu"
                        class="nav-list"
                        class:open=move || open.get()
                        on:click=move |_| set_open.set(false)
                    >
                        {NAV_ITEMS
                            .iter()
                            .map(|item| {
                                view! {
                                    <li>
                                        <A href=item.href exact=item.exact attr:class="nav-link">
                                            {item.label}
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                        // Signed-in tools: Portfolio from pro up; Backtest for everyone signed
                        // in (below premium it shows the upgrade prompt).
                        {move || {
                            session.me().map(|me| {
                                let pro = me.tier != "free";
                                view! {
                                    {pro.then(|| view! { <li><A href="/portfolio" attr:class="nav-link">"Portfolio"</A></li> })}
                                    {pro.then(|| view! { <li><A href="/analytics" attr:class="nav-link">"Analytics"</A></li> })}
                                    <li><A href="/backtest" attr:class="nav-link">"Backtest"</A></li>
                                }
                            })
                        }}
                    </ul>
                </nav>
                <AccountMenu />
            </div>
        </header>
    }
}

/// Log in / sign up for visitors; the account link and "Log out" once signed in.
#[component]
fn AccountMenu() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let logout = move |_| {
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            // Whatever the answer, this browser is signed out afterwards (the cookie is
            // cleared by the response, or the session was already gone).
            let _ = api::auth::logout().await;
            busy.set(false);
            navigate("/login", Default::default());
            session.signed_out();
        });
    };
    view! {
        <div class="account-menu" aria-label="Account" role="group">
            {move || match session.state.get() {
                Session::SignedIn(me) => {
                    let logout = logout.clone();
                    let label = format!("Account settings of {}", me.user.username);
                    // The name lives in the link's content, not in an `attr:` on <A>: with
                    // erased components a branch switch re-uses the <A> and keeps extra attrs.
                    view! {
                        <A href="/settings/account" attr:class="account-link">
                            <span class="account-avatar" aria-hidden="true">
                                {me.user.username.chars().next().map(|c| c.to_ascii_uppercase()).unwrap_or('?')}
                            </span>
                            <span class="sr-only">{label}</span>
                        </A>
                        <button type="button" class="btn btn-ghost btn-sm logout-btn" disabled=move || busy.get() on:click=logout>
                            "Log out"
                        </button>
                    }
                        .into_any()
                }
                Session::Unknown => view! { <span class="account-pending" aria-hidden="true"></span> }.into_any(),
                _ => {
                    view! {
                        <A href="/login" attr:class="account-login">"Log in"</A>
                        <A href="/register" attr:class="btn btn-primary btn-sm">"Sign up"</A>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// The product's logo mark: a small candlestick glyph (decorative, hidden from assistive tech).
#[component]
fn BrandMark() -> impl IntoView {
    view! {
        <svg class="brand-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
            <rect class="mark-bg" x="0" y="0" width="32" height="32" rx="7" />
            <line class="mark-wick-up" x1="11" y1="6" x2="11" y2="26" />
            <rect class="mark-body-up" x="8" y="11" width="6" height="10" rx="1" />
            <line class="mark-wick-down" x1="21" y1="5" x2="21" y2="24" />
            <rect class="mark-body-down" x="18" y="8" width="6" height="9" rx="1" />
        </svg>
    }
}
