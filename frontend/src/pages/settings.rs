//! `/settings/account` and `/settings/security` (product.md §2): profile, email change,
//! account deletion; password change, 2FA enrolment (QR drawn in WASM, manual key, recovery
//! codes), and the active sessions with revoke.
//!
//! Sensitive changes (email, 2FA setup, recovery codes, deletion) need a re-authentication in
//! the last 10 minutes: each of those forms asks for the password (and a code when 2FA is
//! on), calls `POST /auth/reauth`, then the action.

use cl_api_types::{Me, SessionDto};
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::qr::QrCodeSvg;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::session::{use_session, RequireSession};

/// The settings sections that exist, in tab order.
const TABS: [(&str, &str); 7] = [
    ("/settings/account", "Account"),
    ("/settings/security", "Security"),
    ("/settings/notifications", "Notifications"),
    ("/settings/symbols", "Symbols"),
    ("/settings/api-keys", "API keys"),
    ("/settings/exchange", "Exchange"),
    ("/settings/trading", "Trading"),
];

/// `/settings` → the account tab.
#[component]
pub fn SettingsIndex() -> impl IntoView {
    view! { <Redirect path="/settings/account" /> }
}

/// The settings frame: heading, section tabs, and the section for a signed-in user.
#[component]
pub fn SettingsFrame(title: &'static str, children: ChildrenFn) -> impl IntoView {
    view! {
        <div class="page container settings">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Settings"</p>
                <h1>{title}</h1>
            </header>
            <nav class="settings-tabs" aria-label="Settings sections">
                <ul>
                    {TABS
                        .iter()
                        .map(|(href, label)| {
                            view! { <li><A href=*href attr:class="settings-tab">{*label}</A></li> }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <RequireSession>{children()}</RequireSession>
        </div>
    }
}

/// Runs `action` after a successful `POST /auth/reauth` with `password` and `code`.
async fn with_reauth<T, F, Fut>(password: String, code: String, action: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    api::auth::reauth(&password, &code).await?;
    action().await
}

/// The password (and, with 2FA on, code) inputs of a re-authenticating form.
#[component]
pub fn ReauthFields(
    /// Id prefix.
    prefix: &'static str,
    password: RwSignal<String>,
    code: RwSignal<String>,
    errors: FormErrors,
    /// Ask for a code too.
    totp: bool,
) -> impl IntoView {
    let (pid, cid) = match prefix {
        "email" => ("email-password", "email-code"),
        "delete" => ("delete-password", "delete-code"),
        "setup" => ("setup-password", "setup-code"),
        "codes" => ("codes-password", "codes-code"),
        "key" => ("key-password", "key-code"),
        "exchange" => ("exchange-password", "exchange-code"),
        _ => ("off-password", "off-code"),
    };
    view! {
        <Field id=pid name="password" label="Current password" kind="password" autocomplete="current-password" value=password errors=errors />
        {totp
            .then(|| {
                view! {
                    <Field id=cid name="code" label="Authentication code" autocomplete="one-time-code" hint="From your app, or a recovery code" value=code errors=errors maxlength=32 />
                }
            })}
    }
}

/// `/settings/account`.
#[component]
pub fn SettingsAccount() -> impl IntoView {
    set_page_title("Account settings");
    let session = use_session();
    view! {
        <SettingsFrame title="Your account">
            {move || session.me().map(|me| view! { <AccountSections me=me /> })}
        </SettingsFrame>
    }
}

#[component]
fn AccountSections(me: Me) -> impl IntoView {
    let totp = me.user.totp_enabled;
    view! {
        <div class="settings-grid">
            <Profile me=me.clone() />
            <ChangeEmail totp=totp />
            <DeleteAccount totp=totp username=me.user.username.clone() />
        </div>
    }
}

#[component]
fn Profile(me: Me) -> impl IntoView {
    let resent = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let email = me.user.email.clone();
    let resend = move |_| {
        errors.clear();
        busy.set(true);
        let email = email.clone();
        leptos::task::spawn_local(async move {
            let result = api::auth::resend_verification(&email).await;
            busy.set(false);
            match result {
                Ok(m) => resent.set(Some(m.message)),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="profile-title">
            <h2 id="profile-title" class="panel-title">"Profile"</h2>
            <dl class="profile-list">
                <div><dt>"Username"</dt><dd class="profile-username">{me.user.username.clone()}</dd></div>
                <div>
                    <dt>"Email"</dt>
                    <dd>
                        <span class="profile-email">{me.user.email.clone()}</span>
                        {if me.user.is_verified {
                            view! { <span class="badge badge-ok">"✓ verified"</span> }.into_any()
                        } else {
                            view! { <span class="badge badge-warn">"! not verified"</span> }.into_any()
                        }}
                    </dd>
                </div>
                <div>
                    <dt>"Plan"</dt>
                    <dd>
                        <span class="badge badge-tier">{me.tier.clone()}</span>
                        " " <A href="/pricing">"Compare plans"</A>
                    </dd>
                </div>
                <div><dt>"Member since"</dt><dd>{format::datetime(me.user.created_at)}</dd></div>
            </dl>
            <p class="muted small">"Usernames cannot be changed yet."</p>
            {(!me.user.is_verified)
                .then(|| {
                    view! {
                        <p class="form-note">"Verify your email to get notifications, API keys and checkout."</p>
                        <FormAlert errors=errors />
                        <FormSuccess message=resent />
                        <button type="button" class="btn btn-ghost btn-sm" disabled=move || busy.get() on:click=resend.clone()>
                            "Resend the verification link"
                        </button>
                    }
                })}
        </section>
    }
}

#[component]
fn ChangeEmail(totp: bool) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        busy.set(true);
        let new_email = email.get_untracked().trim().to_owned();
        leptos::task::spawn_local(async move {
            let result = with_reauth(
                password.get_untracked(),
                code.get_untracked(),
                || async move { api::auth::change_email(&new_email).await },
            )
            .await;
            busy.set(false);
            password.set(String::new());
            code.set(String::new());
            match result {
                Ok(m) => {
                    email.set(String::new());
                    done.set(Some(m.message));
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="email-title">
            <h2 id="email-title" class="panel-title">"Change email"</h2>
            <p class="muted small">"We send a confirmation link to the new address; the change happens when you open it."</p>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <Field id="email-new" name="email" label="New email" kind="email" autocomplete="email" value=email errors=errors />
                <ReauthFields prefix="email" password=password code=code errors=errors totp=totp />
                <Submit label="Change email" busy_label="Sending…" busy=busy />
            </form>
        </section>
    }
}

#[component]
fn DeleteAccount(totp: bool, username: String) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let expected = StoredValue::new(username);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        if confirm.get_untracked().trim() != expected.get_value() {
            errors.set_field("confirm", "Type your username exactly to confirm.");
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = with_reauth(password.get_untracked(), code.get_untracked(), || async {
                api::auth::delete_account().await
            })
            .await;
            busy.set(false);
            match result {
                Ok(_) => {
                    session.signed_out();
                    navigate("/", Default::default());
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card danger-zone" aria-labelledby="delete-title">
            <h2 id="delete-title" class="panel-title">"Delete account"</h2>
            <p class="muted small">
                "Deletes your account, portfolios, keys and settings for good. Active subscriptions are not refunded."
            </p>
            <FormAlert errors=errors />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <ReauthFields prefix="delete" password=password code=code errors=errors totp=totp />
                <Field id="delete-confirm" name="confirm" label="Type your username to confirm" autocomplete="off" value=confirm errors=errors />
                <Submit label="Delete my account" busy_label="Deleting…" busy=busy class="btn btn-danger" />
            </form>
        </section>
    }
}

/// `/settings/security`.
#[component]
pub fn SettingsSecurity() -> impl IntoView {
    set_page_title("Security settings");
    let session = use_session();
    // Memos: refreshing the session (after a password change) re-renders only what changed,
    // so the forms keep their confirmation messages.
    let totp = Memo::new(move |_| session.me().map(|me| me.user.totp_enabled));
    let must_change =
        Memo::new(move |_| session.me().is_some_and(|me| me.user.must_change_password));
    view! {
        <SettingsFrame title="Security">
            <Show when=move || must_change.get()>
                <p class="notice" role="alert" id="password-change-required">
                    "You signed in with a one-time password. Choose your own password below to continue."
                </p>
            </Show>
            {move || {
                totp.get()
                    .map(|enabled| {
                        view! {
                            <div class="settings-grid">
                                <ChangePassword />
                                <TwoFactor enabled=enabled />
                                <Sessions />
                            </div>
                        }
                    })
            }}
        </SettingsFrame>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let session = use_session();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let (c, n) = (current.get_untracked(), new.get_untracked());
        if n != confirm.get_untracked() {
            errors.set_field("confirm", "The passwords do not match.");
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::change_password(&c, &n).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    for s in [current, new, confirm] {
                        s.set(String::new());
                    }
                    done.set(Some(String::from(
                        "Password changed. Your other sessions were signed out.",
                    )));
                    // The rotated session no longer carries a one-time password.
                    session.refresh();
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="password-title">
            <h2 id="password-title" class="panel-title">"Change password"</h2>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <Field id="pw-current" name="current_password" label="Current password" kind="password" autocomplete="current-password" value=current errors=errors />
                <Field id="pw-new" name="new_password" label="New password" kind="password" autocomplete="new-password" hint="At least 8 characters, with an uppercase letter and a digit" value=new errors=errors />
                <Field id="pw-confirm" name="confirm" label="Confirm the new password" kind="password" autocomplete="new-password" value=confirm errors=errors />
                <Submit label="Change password" busy_label="Saving…" busy=busy />
            </form>
        </section>
    }
}

/// Where the 2FA enrolment stands.
#[derive(Debug, Clone, PartialEq)]
enum TotpStep {
    /// Off, nothing started.
    Off,
    /// Asking for the password before `/2fa/setup`.
    Confirm,
    /// The key is shown; waiting for the first code.
    Scan { uri: String, key: String },
    /// On; the fresh recovery codes are shown once.
    Codes(Vec<String>),
    /// On.
    On,
}

#[component]
fn TwoFactor(enabled: bool) -> impl IntoView {
    let session = use_session();
    let step = RwSignal::new(if enabled { TotpStep::On } else { TotpStep::Off });
    view! {
        <section class="panel settings-card" aria-labelledby="totp-title">
            <h2 id="totp-title" class="panel-title">
                "Two-factor authentication "
                {move || {
                    if matches!(step.get(), TotpStep::On | TotpStep::Codes(_)) {
                        view! { <span class="badge badge-ok">"✓ on"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-warn">"off"</span> }.into_any()
                    }
                }}
            </h2>
            {move || match step.get() {
                TotpStep::Off => {
                    view! {
                        <p class="muted small">
                            "Protect your account with a 6-digit code from an authenticator app (TOTP) at every login."
                        </p>
                        <button type="button" class="btn btn-primary" on:click=move |_| step.set(TotpStep::Confirm)>
                            "Set up two-factor authentication"
                        </button>
                    }
                        .into_any()
                }
                TotpStep::Confirm => view! { <TotpConfirm step=step /> }.into_any(),
                TotpStep::Scan { uri, key } => view! { <TotpScan step=step uri=uri key=key /> }.into_any(),
                TotpStep::Codes(codes) => {
                    view! {
                        <RecoveryCodeList codes=codes />
                        <button
                            type="button"
                            class="btn btn-primary"
                            on:click=move |_| {
                                step.set(TotpStep::On);
                                session.refresh();
                            }
                        >
                            "I have saved my recovery codes"
                        </button>
                    }
                        .into_any()
                }
                TotpStep::On => view! { <TotpOn step=step /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn TotpConfirm(step: RwSignal<TotpStep>) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_reauth(password.get_untracked(), String::new(), || async {
                api::auth::totp_setup().await
            })
            .await;
            busy.set(false);
            match result {
                Ok(setup) => step.set(TotpStep::Scan {
                    uri: setup.otpauth_uri,
                    key: setup.manual_key,
                }),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <p class="muted small">"Confirm your password to start."</p>
        <FormAlert errors=errors />
        <form class="settings-form" on:submit=on_submit novalidate=true>
            <ReauthFields prefix="setup" password=password code=code errors=errors totp=false />
            <div class="form-actions">
                <Submit label="Continue" busy_label="Checking…" busy=busy />
                <button type="button" class="btn btn-ghost" on:click=move |_| step.set(TotpStep::Off)>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
fn TotpScan(step: RwSignal<TotpStep>, uri: String, key: String) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::auth::totp_enable(&code.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(codes) => step.set(TotpStep::Codes(codes.recovery_codes)),
                Err(err) => errors.show(&err),
            }
        });
    };
    let grouped = key
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <ol class="totp-steps">
            <li>"Scan this code with your authenticator app (or enter the key by hand)."</li>
            <li>"Enter the 6-digit code the app shows."</li>
        </ol>
        <div class="totp-enrol">
            <QrCodeSvg data=uri label="QR code of your two-factor key" />
            <div class="totp-key">
                <p class="field-label" id="totp-key-label">"Key for manual entry"</p>
                <code class="manual-key" aria-labelledby="totp-key-label" data-key=key.clone()>{grouped}</code>
                <p class="muted small">"Time-based (TOTP), 6 digits, 30 seconds, SHA-1."</p>
            </div>
        </div>
        <FormAlert errors=errors />
        <form class="settings-form" on:submit=on_submit novalidate=true>
            <Field id="totp-code" name="code" label="6-digit code" autocomplete="one-time-code" inputmode="numeric" value=code errors=errors maxlength=6 />
            <div class="form-actions">
                <Submit label="Turn on 2FA" busy_label="Checking…" busy=busy />
                <button type="button" class="btn btn-ghost" on:click=move |_| step.set(TotpStep::Off)>"Cancel"</button>
            </div>
        </form>
    }
}

/// The recovery codes, shown once.
#[component]
fn RecoveryCodeList(codes: Vec<String>) -> impl IntoView {
    view! {
        <div class="recovery-codes" role="status">
            <p class="form-note">
                <strong>"Save these recovery codes now."</strong>
                " Each works once if you lose your authenticator; they will not be shown again."
            </p>
            <ul class="code-list" aria-label="Recovery codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
        </div>
    }
}

/// What the "2FA on" panel is doing.
#[derive(Debug, Clone, PartialEq)]
enum OnAction {
    Idle,
    NewCodes,
    Disable,
    Codes(Vec<String>),
}

#[component]
fn TotpOn(step: RwSignal<TotpStep>) -> impl IntoView {
    let session = use_session();
    let action = RwSignal::new(OnAction::Idle);
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        let (p, c) = (password.get_untracked(), code.get_untracked());
        let what = action.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match what {
                OnAction::Disable => api::auth::totp_disable(&p, &c).await.map(|()| None),
                _ => with_reauth(p, c, || async { api::auth::recovery_codes().await })
                    .await
                    .map(|r| Some(r.recovery_codes)),
            };
            busy.set(false);
            password.set(String::new());
            code.set(String::new());
            match result {
                Ok(Some(codes)) => action.set(OnAction::Codes(codes)),
                Ok(None) => {
                    step.set(TotpStep::Off);
                    session.refresh();
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <p class="muted small">"Every login asks for a code from your authenticator app."</p>
        {move || match action.get() {
            OnAction::Idle => {
                view! {
                    <div class="form-actions">
                        <button type="button" class="btn btn-ghost" on:click=move |_| action.set(OnAction::NewCodes)>
                            "New recovery codes"
                        </button>
                        <button type="button" class="btn btn-ghost btn-danger-ghost" on:click=move |_| action.set(OnAction::Disable)>
                            "Turn off 2FA"
                        </button>
                    </div>
                }
                    .into_any()
            }
            OnAction::Codes(codes) => {
                view! {
                    <RecoveryCodeList codes=codes />
                    <button type="button" class="btn btn-primary" on:click=move |_| action.set(OnAction::Idle)>"Done"</button>
                }
                    .into_any()
            }
            which => {
                let disabling = which == OnAction::Disable;
                view! {
                    <p class="form-note">
                        {if disabling {
                            "Turning 2FA off needs your password and a current code."
                        } else {
                            "New codes replace the old ones. Confirm with your password and a code."
                        }}
                    </p>
                    <FormAlert errors=errors />
                    <form class="settings-form" on:submit=on_submit novalidate=true>
                        <ReauthFields prefix=if disabling { "off" } else { "codes" } password=password code=code errors=errors totp=true />
                        <div class="form-actions">
                            <Submit
                                label=if disabling { "Turn off 2FA" } else { "Generate new codes" }
                                busy_label="Working…"
                                busy=busy
                                class=if disabling { "btn btn-danger" } else { "btn btn-primary" }
                            />
                            <button type="button" class="btn btn-ghost" on:click=move |_| { errors.clear(); action.set(OnAction::Idle) }>"Cancel"</button>
                        </div>
                    </form>
                }
                    .into_any()
            }
        }}
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let version = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        version.track();
        api::auth::sessions()
    });
    let note = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let revoke_others = move |_| {
        errors.clear();
        leptos::task::spawn_local(async move {
            match api::auth::revoke_other_sessions().await {
                Ok(r) => {
                    note.set(Some(format!("Signed out {} other session(s).", r.revoked)));
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    let revoke = move |id: String| {
        errors.clear();
        leptos::task::spawn_local(async move {
            match api::auth::revoke_session(&id).await {
                Ok(_) => {
                    note.set(Some(String::from("Session signed out.")));
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card settings-wide" aria-labelledby="sessions-title">
            <div class="panel-head">
                <h2 id="sessions-title" class="panel-title">"Active sessions"</h2>
                <button type="button" class="btn btn-ghost btn-sm" on:click=revoke_others>"Sign out other sessions"</button>
            </div>
            <FormAlert errors=errors />
            <FormSuccess message=note />
            <Suspense fallback=|| view! { <Loading text="Loading sessions…" /> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p class="empty-state">"No sessions."</p> }.into_any(),
                        Ok(items) => view! { <SessionTable items=items revoke=revoke /> }.into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load your sessions" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SessionTable<F>(items: Vec<SessionDto>, revoke: F) -> impl IntoView
where
    F: Fn(String) + Copy + Send + Sync + 'static,
{
    view! {
        <div class="table-scroll">
            <table class="data-table sessions-table">
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"IP"</th>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {items
                        .into_iter()
                        .map(|s| {
                            let id = s.id.clone();
                            view! {
                                <tr class:current-session=s.current>
                                    <th scope="row" class="session-agent">
                                        {s.user_agent.clone().map(|ua| short_agent(&ua)).unwrap_or_else(|| String::from("Unknown device"))}
                                        {s.current.then(|| view! { <span class="badge badge-ok">"this device"</span> })}
                                        {(s.stage != "full").then(|| view! { <span class="badge badge-warn">"2FA pending"</span> })}
                                    </th>
                                    <td class="num">{s.ip.clone().unwrap_or_else(|| String::from("—"))}</td>
                                    <td>{format::short_datetime(s.created_at)}</td>
                                    <td>{format::short_datetime(s.last_seen_at)}</td>
                                    <td>
                                        {(!s.current)
                                            .then(|| {
                                                let id = id.clone();
                                                view! {
                                                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| revoke(id.clone())>
                                                        "Sign out"
                                                    </button>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// "Chrome on Linux"-style summary of a user agent (the full string is noise in a table).
fn short_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_agent;

    #[test]
    fn user_agents_are_summarised() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(short_agent(chrome), "Chrome on Linux");
        assert_eq!(short_agent("curl/8.0"), "curl/8.0");
    }
}
