//! Who is signed in, shared by the whole app through a Leptos context.
//!
//! The session cookie is `HttpOnly`, so the app cannot read it: it asks `GET /auth/me` once at
//! start-up and again after every login, logout or account change. Pages that need a user
//! wrap their content in [`RequireSession`], which redirects to `/login?next=…` when signed
//! out. Data pages whose API answers `401` redirect the same way (see `ErrorBanner`).

use cl_api_types::Me;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, Loading};

/// What the app knows about the visitor.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// `/auth/me` has not answered yet.
    Unknown,
    /// Signed out (or the session expired).
    Anonymous,
    /// `/auth/me` could not be reached; the app behaves as signed out but says why.
    Failed(ApiError),
    /// Signed in.
    SignedIn(Box<Me>),
}

/// The shared session state.
#[derive(Debug, Clone, Copy)]
pub struct SessionCtx {
    /// The current state.
    pub state: RwSignal<Session>,
}

impl SessionCtx {
    /// Re-reads `/auth/me` in the background (after profile changes).
    pub fn refresh(self) {
        leptos::task::spawn_local(async move { self.load().await });
    }

    /// Re-reads `/auth/me` and waits for it (before navigating after a login).
    pub async fn load(self) {
        let next = match api::auth::me().await {
            Ok(me) => Session::SignedIn(Box::new(me)),
            Err(err) if err.is_unauthorized() => Session::Anonymous,
            Err(err) => Session::Failed(err),
        };
        self.state.set(next);
    }

    /// The signed-in user, if any (tracked).
    pub fn me(self) -> Option<Me> {
        self.state.with(|s| match s {
            Session::SignedIn(me) => Some((**me).clone()),
            _ => None,
        })
    }

    /// Marks the visitor as signed out at once (the server already forgot the session).
    pub fn signed_out(self) {
        api::auth::forget_csrf();
        self.state.set(Session::Anonymous);
    }
}

/// Creates the session context and starts the first `/auth/me`.
pub fn provide_session() -> SessionCtx {
    let ctx = SessionCtx {
        state: RwSignal::new(Session::Unknown),
    };
    provide_context(ctx);
    ctx.refresh();
    // Whatever page a one-time-password session lands on, it is sent to change the password:
    // the ONE trigger of that redirect (`RequireSession` only holds its page back meanwhile).
    Effect::new(move |_| {
        if ctx
            .state
            .with(|s| matches!(s, Session::SignedIn(me) if me.user.must_change_password))
        {
            redirect_to_password_change();
        }
    });
    ctx
}

/// The session context (provided by the app root).
pub fn use_session() -> SessionCtx {
    use_context::<SessionCtx>().unwrap_or(SessionCtx {
        state: RwSignal::new(Session::Anonymous),
    })
}

/// A same-site path to go to after login: one leading `/`, no `//`, no `\`, no scheme and no
/// control characters (product.md §11.22); anything else becomes the dashboard.
pub fn safe_next(raw: Option<&str>) -> String {
    const DEFAULT: &str = "/dashboard";
    let Some(path) = raw else {
        return DEFAULT.to_owned();
    };
    let bad = !path.starts_with('/')
        || path.starts_with("//")
        || path.contains('\\')
        || path.chars().any(|c| c.is_control())
        || path.split(['?', '#']).next().unwrap_or("").contains(':')
        || path.starts_with("/login");
    if bad {
        DEFAULT.to_owned()
    } else {
        path.to_owned()
    }
}

/// `/login?next=<the current path and query>`.
pub fn login_href(current: &str) -> String {
    format!(
        "/login{}",
        api::query_string(&[("next", Some(current.to_owned()))])
    )
}

/// Sends the visitor to the login page, coming back here afterwards.
pub fn redirect_to_login() {
    let navigate = use_navigate();
    // After the current render (navigating while a view is being built is not allowed), and
    // from wherever the visitor is by then: a logout may already be on its way to `/login`.
    request_animation_frame(move || {
        let location = window().location();
        let path = location.pathname().unwrap_or_default();
        if path.starts_with("/login") {
            return;
        }
        let here = format!("{path}{}", location.search().unwrap_or_default());
        navigate(
            &login_href(&here),
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    });
}

/// Where an account still holding its one-time password is sent (the server refuses it
/// everything else with `password_change_required`).
pub const PASSWORD_CHANGE_PATH: &str = "/settings/security";

/// A full navigation (the security settings may live in another of the app's wasm bundles).
fn redirect_to_password_change() {
    let location = window().location();
    if location.pathname().unwrap_or_default() != PASSWORD_CHANGE_PATH {
        // Failing to navigate leaves the page as is; the API refuses it everything anyway.
        let _ = location.replace(PASSWORD_CHANGE_PATH);
    }
}

/// Renders `children` for a signed-in user; redirects to the login page otherwise. An account
/// that must change its one-time password sees a notice instead of the page until the effect
/// of [`provide_session`] has taken it to the security settings (so the page sends no request
/// the server would refuse).
#[component]
pub fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    // A memo of what to show: a session refresh that changes nothing here (e.g. after a
    // password change) keeps the page and its messages instead of rebuilding it.
    let gate = Memo::new(move |_| {
        session.state.with(|s| match s {
            Session::Unknown => Gate::Unknown,
            Session::SignedIn(me)
                if me.user.must_change_password
                    && window().location().pathname().unwrap_or_default()
                        != PASSWORD_CHANGE_PATH =>
            {
                Gate::ChangePassword
            }
            Session::SignedIn(_) => Gate::Open,
            Session::Failed(err) => Gate::Failed(err.clone()),
            Session::Anonymous => Gate::Anonymous,
        })
    });
    move || match gate.get() {
        Gate::Unknown => view! { <Loading text="Checking your session…" /> }.into_any(),
        Gate::ChangePassword => {
            view! { <Loading text="Taking you to change your one-time password…" /> }.into_any()
        }
        Gate::Open => children.with_value(|c| c()).into_any(),
        Gate::Failed(err) => {
            view! { <ErrorBanner title="Could not check your session" err=err /> }.into_any()
        }
        Gate::Anonymous => {
            redirect_to_login();
            view! { <Loading text="Redirecting to the login page…" /> }.into_any()
        }
    }
}

/// What [`RequireSession`] shows.
#[derive(Debug, Clone, PartialEq)]
enum Gate {
    Unknown,
    ChangePassword,
    Open,
    Failed(ApiError),
    Anonymous,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/chart/BTC-USDT/1h?pattern=3")),
            "/chart/BTC-USDT/1h?pattern=3"
        );
        assert_eq!(safe_next(Some("/settings/security")), "/settings/security");
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/x\nSet-Cookie",
            "dashboard",
            "",
            "/login?next=/x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn the_login_link_carries_the_encoded_path() {
        assert_eq!(
            login_href("/chart/BTC-USDT/1h?pattern=3"),
            "/login?next=%2Fchart%2FBTC-USDT%2F1h%3Fpattern%3D3"
        );
    }
}
