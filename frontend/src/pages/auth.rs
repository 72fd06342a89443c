//! The visitor's account pages (product.md §2): `/login` (password, then the TOTP or
//! recovery-code step), `/register`, `/verify-email`, `/forgot-password`, `/reset-password`.
//!
//! One-time tokens arrive in the URL fragment (`#t=…`), which browsers never send to a server
//! or put in a `Referer`; the page reads it, removes it from the address bar and POSTs it.

use cl_api_types::LoginStatus;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::components::form::{
    username_problem, Field, FormAlert, FormErrors, FormSuccess, Submit,
};
use crate::components::{set_page_title, Loading};
use crate::session::{safe_next, use_session, Session};

/// The minimum password length the server accepts (its check is the authority).
const MIN_PASSWORD: u32 = 8;

/// The token of a `#t=…` fragment, removed from the address bar once read.
fn take_fragment_token() -> Option<String> {
    let window = window();
    let location = window.location();
    let hash = location.hash().ok()?;
    let token = hash
        .trim_start_matches('#')
        .split('&')
        .find_map(|pair| pair.strip_prefix("t="))
        .map(str::to_owned)
        .filter(|t| !t.is_empty());
    if token.is_some() {
        if let (Ok(history), Ok(path)) = (window.history(), location.pathname()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
    token
}

/// A centred card for the account forms.
#[component]
fn AuthCard(
    /// The heading.
    title: &'static str,
    /// The lead text.
    #[prop(optional)]
    lead: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="page container auth-page">
            <section class="auth-card panel" aria-labelledby="auth-title">
                <h1 id="auth-title" class="auth-title">{title}</h1>
                {lead.map(|l| view! { <p class="muted auth-lead">{l}</p> })}
                {children()}
            </section>
        </div>
    }
}

/// `/login`: email and password, then a TOTP or recovery code when 2FA is on.
#[component]
pub fn Login() -> impl IntoView {
    set_page_title("Log in");
    let session = use_session();
    let navigate = use_navigate();
    let query = use_query_map();
    let next = safe_next(query.with_untracked(|q| q.get("next")).as_deref());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let totp_step = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();

    let finish = {
        let next = next.clone();
        move || {
            let navigate = navigate.clone();
            let next = next.clone();
            leptos::task::spawn_local(async move {
                session.load().await;
                navigate(&next, Default::default());
            });
        }
    };

    let finish_password = finish.clone();
    let on_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        let finish = finish_password.clone();
        leptos::task::spawn_local(async move {
            let result = api::auth::login(&email.get_untracked(), &password.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(r) if r.status == LoginStatus::TotpRequired => {
                    password.set(String::new());
                    totp_step.set(true);
                    focus("login-code");
                }
                Ok(_) => finish(),
                Err(err) => errors.show(&err),
            }
        });
    };

    let on_code = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        let finish = finish.clone();
        leptos::task::spawn_local(async move {
            let result = api::auth::login_totp(code.get_untracked().trim()).await;
            busy.set(false);
            match result {
                Ok(_) => finish(),
                Err(err) if err.is_unauthorized() => {
                    // The pending login expired (10 min) or ran out of tries: start over.
                    totp_step.set(false);
                    code.set(String::new());
                    errors.show(&err);
                }
                Err(err) => errors.show(&err),
            }
        });
    };

    let signed_in_as = move || {
        session.state.with(|s| match s {
            Session::SignedIn(me) if !totp_step.get() && !busy.get() => {
                Some(me.user.username.clone())
            }
            _ => None,
        })
    };
    let dashboard = next.clone();

    view! {
        <AuthCard title="Log in" lead="Welcome back. Sign in to see your matrix, signals and portfolio.">
            {move || {
                signed_in_as()
                    .map(|name| {
                        view! {
                            <p class="form-note" role="status">
                                "You are signed in as " <strong>{name}</strong> ". "
                                <A href=dashboard.clone()>"Continue"</A>
                            </p>
                        }
                    })
            }}
            <FormAlert errors=errors />
            <Show
                when=move || totp_step.get()
                fallback=move || {
                    view! {
                        <form class="auth-form" on:submit=on_password.clone() novalidate=true>
                            <Field id="login-email" name="email" label="Email" kind="email" autocomplete="username" value=email errors=errors />
                            <Field id="login-password" name="password" label="Password" kind="password" autocomplete="current-password" value=password errors=errors />
                            <Submit label="Log in" busy_label="Signing in…" busy=busy />
                            <p class="auth-links">
                                <A href="/forgot-password">"Forgot your password?"</A>
                                " · "
                                <A href="/register">"Create an account"</A>
                            </p>
                        </form>
                    }
                }
            >
                <form class="auth-form" on:submit=on_code.clone() novalidate=true>
                    <p class="form-note">
                        "Two-factor authentication is on. Enter the 6-digit code from your authenticator app, or one of your recovery codes."
                    </p>
                    <Field
                        id="login-code"
                        name="code"
                        label="Authentication code"
                        autocomplete="one-time-code"
                        hint="6 digits, or a recovery code"
                        value=code
                        errors=errors
                        maxlength=32
                    />
                    <Submit label="Verify" busy_label="Verifying…" busy=busy />
                </form>
            </Show>
        </AuthCard>
    }
}

/// Moves keyboard focus to the element with `id` after the next render.
pub fn focus(id: &'static str) {
    request_animation_frame(move || {
        if let Some(el) = document().get_element_by_id(id) {
            if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                let _ = el.focus();
            }
        }
    });
}

/// `/register`: email, username, password twice, terms → "check your email".
#[component]
pub fn Register() -> impl IntoView {
    set_page_title("Create an account");
    let email = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let terms = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let sent_to = RwSignal::new(None::<(String, String)>);
    let errors = FormErrors::new();

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let (e, u, p, c) = (
            email.get_untracked().trim().to_owned(),
            username.get_untracked().trim().to_owned(),
            password.get_untracked(),
            confirm.get_untracked(),
        );
        if e.is_empty() {
            errors.set_field("email", "Enter your email address.");
        }
        if let Some(problem) = username_problem(&u) {
            errors.set_field("username", problem);
        }
        if p.chars().count() < MIN_PASSWORD as usize {
            errors.set_field("password", "Use at least 8 characters.");
        }
        if p != c {
            errors.set_field("confirm", "The passwords do not match.");
        }
        if !terms.get_untracked() {
            errors.set_field("terms", "Please accept the terms to continue.");
        }
        if errors.has_field_errors() {
            errors
                .form
                .set(Some(String::from("Please fix the fields marked below.")));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::register(&e, &u, &p).await;
            busy.set(false);
            match result {
                Ok(msg) => sent_to.set(Some((e, msg.message))),
                Err(err) => errors.show(&err),
            }
        });
    };

    view! {
        <AuthCard title="Create your account" lead="Free forever for BTC/USDT. Upgrade any time.">
            <Show
                when=move || sent_to.get().is_some()
                fallback=move || {
                    view! {
                        <FormAlert errors=errors />
                        <form class="auth-form" on:submit=on_submit novalidate=true>
                            <Field id="reg-email" name="email" label="Email" kind="email" autocomplete="email" value=email errors=errors />
                            <Field
                                id="reg-username"
                                name="username"
                                label="Username"
                                autocomplete="nickname"
                                hint="3–30 letters, digits or underscores"
                                value=username
                                errors=errors
                                maxlength=30
                            />
                            <Field
                                id="reg-password"
                                name="password"
                                label="Password"
                                kind="password"
                                autocomplete="new-password"
                                hint="At least 8 characters, with an uppercase letter and a digit"
                                value=password
                                errors=errors
                            />
                            <Field id="reg-confirm" name="confirm" label="Confirm password" kind="password" autocomplete="new-password" value=confirm errors=errors />
                            <div class="form-field form-check" class:has-error=move || errors.of("terms").is_some()>
                                <input
                                    id="reg-terms"
                                    type="checkbox"
                                    class="checkbox"
                                    aria-invalid=move || errors.of("terms").map(|_| "true")
                                    aria-describedby=move || errors.of("terms").map(|_| "reg-terms-error")
                                    bind:checked=terms
                                />
                                <label for="reg-terms">
                                    "I accept the " <A href="/terms">"terms"</A> " and the " <A href="/privacy">"privacy policy"</A> "."
                                </label>
                                {move || {
                                    errors
                                        .of("terms")
                                        .map(|m| view! { <p class="field-error" id="reg-terms-error"><span aria-hidden="true">"✕ "</span>{m}</p> })
                                }}
                            </div>
                            <Submit label="Create account" busy_label="Creating…" busy=busy />
                            <p class="auth-links">"Already have an account? " <A href="/login">"Log in"</A></p>
                        </form>
                    }
                }
            >
                <CheckEmail sent_to=sent_to />
            </Show>
        </AuthCard>
    }
}

/// "Check your email", with a resend button.
#[component]
fn CheckEmail(sent_to: RwSignal<Option<(String, String)>>) -> impl IntoView {
    let (address, message) = sent_to.get_untracked().unwrap_or_default();
    let resent = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let resend_to = address.clone();
    let on_resend = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        let to = resend_to.clone();
        leptos::task::spawn_local(async move {
            let result = api::auth::resend_verification(&to).await;
            busy.set(false);
            match result {
                Ok(msg) => resent.set(Some(msg.message)),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <div class="check-email" role="status">
            <span class="check-email-icon" aria-hidden="true">"✉"</span>
            <h2 class="check-email-title">"Check your email"</h2>
            <p>{message}</p>
            <p class="muted">"We sent the link to " <strong>{address}</strong> ". It is valid for 24 hours."</p>
        </div>
        <FormAlert errors=errors />
        <FormSuccess message=resent />
        <form class="auth-form" on:submit=on_resend>
            <Submit label="Send the link again" busy_label="Sending…" busy=busy class="btn btn-ghost" />
        </form>
    }
}

/// `/verify-email#t=…`: confirms the address; without a token, offers to resend the link.
#[component]
pub fn VerifyEmail() -> impl IntoView {
    set_page_title("Verify your email");
    let session = use_session();
    let token = take_fragment_token();
    let outcome = RwSignal::new(None::<Result<String, crate::api::ApiError>>);
    let has_token = token.is_some();
    if let Some(token) = token {
        leptos::task::spawn_local(async move {
            let result = api::auth::verify_email(&token).await.map(|m| m.message);
            if result.is_ok() {
                session.refresh();
            }
            outcome.set(Some(result));
        });
    }
    view! {
        <AuthCard title="Verify your email">
            {move || match (has_token, outcome.get()) {
                (false, _) => view! { <ResendForm /> }.into_any(),
                (true, None) => view! { <Loading text="Verifying your email…" /> }.into_any(),
                (true, Some(Ok(message))) => {
                    view! {
                        <div class="form-success" role="status">
                            <span class="status-symbol" aria-hidden="true">"✓"</span>
                            <p>"Email verified. " {message}</p>
                        </div>
                        <p class="auth-links">
                            <A href="/dashboard" attr:class="btn btn-primary">"Open the dashboard"</A>
                        </p>
                    }
                        .into_any()
                }
                (true, Some(Err(err))) => {
                    view! {
                        <div class="form-alert" role="alert">
                            <span class="status-symbol" aria-hidden="true">"✕"</span>
                            <p>"This link did not work: " {err.message()} " Links are valid for 24 hours and work once."</p>
                        </div>
                        <ResendForm />
                    }
                        .into_any()
                }
            }}
        </AuthCard>
    }
}

/// Asks for an address and resends the verification link.
#[component]
fn ResendForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::resend_verification(email.get_untracked().trim()).await;
            busy.set(false);
            match result {
                Ok(msg) => done.set(Some(msg.message)),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <p class="muted">"Need a new verification link? Enter your address and we will send one."</p>
        <FormAlert errors=errors />
        <FormSuccess message=done />
        <form class="auth-form" on:submit=on_submit novalidate=true>
            <Field id="resend-email" name="email" label="Email" kind="email" autocomplete="email" value=email errors=errors />
            <Submit label="Send a new link" busy_label="Sending…" busy=busy />
        </form>
    }
}

/// `/forgot-password`: mails a reset link (same answer whether or not the account exists).
#[component]
pub fn ForgotPassword() -> impl IntoView {
    set_page_title("Forgot password");
    let email = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::forgot_password(email.get_untracked().trim()).await;
            busy.set(false);
            match result {
                Ok(msg) => done.set(Some(msg.message)),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <AuthCard title="Reset your password" lead="Enter your account's email; we will send a link to choose a new password.">
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="auth-form" on:submit=on_submit novalidate=true>
                <Field id="forgot-email" name="email" label="Email" kind="email" autocomplete="email" value=email errors=errors />
                <Submit label="Send the reset link" busy_label="Sending…" busy=busy />
                <p class="auth-links"><A href="/login">"Back to log in"</A></p>
            </form>
        </AuthCard>
    }
}

/// `/reset-password#t=…`: a new password for the token's account.
#[component]
pub fn ResetPassword() -> impl IntoView {
    set_page_title("Choose a new password");
    let token = StoredValue::new(take_fragment_token());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let (p, c) = (password.get_untracked(), confirm.get_untracked());
        if p.chars().count() < MIN_PASSWORD as usize {
            errors.set_field("password", "Use at least 8 characters.");
        }
        if p != c {
            errors.set_field("confirm", "The passwords do not match.");
        }
        if errors.has_field_errors() {
            return;
        }
        let Some(t) = token.get_value() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::reset_password(&t, &p).await;
            busy.set(false);
            match result {
                Ok(_) => done.set(true),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <AuthCard title="Choose a new password">
            {move || {
                if done.get() {
                    view! {
                        <div class="form-success" role="status">
                            <span class="status-symbol" aria-hidden="true">"✓"</span>
                            <p>"Your password was changed and every session signed out."</p>
                        </div>
                        <p class="auth-links"><A href="/login" attr:class="btn btn-primary">"Log in"</A></p>
                    }
                        .into_any()
                } else if token.with_value(Option::is_none) {
                    view! {
                        <div class="form-alert" role="alert">
                            <span class="status-symbol" aria-hidden="true">"✕"</span>
                            <p>"This page needs the link from your reset email."</p>
                        </div>
                        <p class="auth-links"><A href="/forgot-password">"Request a new link"</A></p>
                    }
                        .into_any()
                } else {
                    view! {
                        <FormAlert errors=errors />
                        <form class="auth-form" on:submit=on_submit novalidate=true>
                            <Field id="reset-password" name="password" label="New password" kind="password" autocomplete="new-password" hint="At least 8 characters, with an uppercase letter and a digit" value=password errors=errors />
                            <Field id="reset-confirm" name="confirm" label="Confirm the new password" kind="password" autocomplete="new-password" value=confirm errors=errors />
                            <Submit label="Change password" busy_label="Saving…" busy=busy />
                        </form>
                    }
                        .into_any()
                }
            }}
        </AuthCard>
    }
}
