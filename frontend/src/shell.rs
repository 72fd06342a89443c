//! What the user app and the admin app share around their routes: the page layout and the
//! hand-over between the two apps.
//!
//! The apps are separate wasm binaries (see the library docs), so a route of another app can
//! only be reached by a full page load: the worker then serves that app's HTML
//! ([`SpaApp::for_path`] is the one table both sides read). A client-side arrival on a foreign
//! path (a link, `navigate(..)` after login) lands on the router's [`fallback`], which
//! loads that URL in full ([`OtherApp`]).

use cl_api_types::spa::SpaApp;
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::components::{SiteFooter, SiteHeader};
use crate::pages::NotFound;
use crate::session::provide_session;

/// The path this document was loaded at, captured when an app mounts.
#[derive(Clone)]
struct LoadedAt(String);

/// The router fallback of `app`: "not found" for its own paths, the hand-over to the owning
/// app for any other.
pub fn fallback(app: SpaApp) -> AnyView {
    let path = use_location().pathname.get_untracked();
    if SpaApp::for_path(&path) == app {
        view! { <NotFound /> }.into_any()
    } else {
        view! { <OtherApp /> }.into_any()
    }
}

/// The layout of both apps: skip link, header, the routed `<main>`, footer. Call it inside
/// the `<Router>`; it also provides the session.
#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let main_ref = NodeRef::<html::Main>::new();
    provide_session();
    provide_context(LoadedAt(window().location().pathname().unwrap_or_default()));

    // The skip link moves focus (not just the scroll position) to the main landmark. It
    // prevents the default so the router does not turn it into a navigation.
    let skip_to_main = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Some(main) = main_ref.get() {
            let _ = main.focus();
            main.scroll_into_view();
        }
    };

    view! {
        <a class="skip-link" href="#main" on:click=skip_to_main>
            "Skip to main content"
        </a>
        <SiteHeader />
        <main id="main" class="site-main" tabindex="-1" node_ref=main_ref>
            {children()}
        </main>
        <SiteFooter />
    }
}

/// A path of another app reached by a client-side navigation: load that URL in full so the
/// worker serves the right app. The router may not have pushed the URL yet, so the target is
/// the router's location, not the window's. If this document was itself loaded at this path
/// (the server sent the wrong app), loading it again would loop, so it shows "not found".
#[component]
pub fn OtherApp() -> impl IntoView {
    let location = use_location();
    let path = location.pathname.get_untracked();
    let loaded_here = use_context::<LoadedAt>().is_some_and(|at| at.0 == path);
    if loaded_here {
        return view! { <NotFound /> }.into_any();
    }
    // The router keeps the query without its `?` and the fragment with or without `#`.
    let mut target = path.clone();
    let search = location.search.get_untracked();
    if !search.is_empty() {
        target.push('?');
        target.push_str(&search);
    }
    let hash = location.hash.get_untracked();
    if !hash.is_empty() {
        if !hash.starts_with('#') {
            target.push('#');
        }
        target.push_str(&hash);
    }
    let win = window().location();
    // Already pushed: replace that entry; not yet: a new entry, like any link.
    let _ = if win.pathname().is_ok_and(|p| p == path) {
        win.replace(&target)
    } else {
        win.assign(&target)
    };
    view! { <p class="boot-message">"Loading…"</p> }.into_any()
}
