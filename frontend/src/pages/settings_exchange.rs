//! `/settings/exchange` (product.md §2, §7, §11; pro and premium): the stored exchange
//! credentials, masked by the server (`****` + the last 4 characters of the key; the secret and
//! passphrase never come back), a form that adds or replaces the credential of an exchange and
//! label behind a re-authentication, and deleting them all after a confirmation.

use cl_api_types::{ExchangeCredentialDto, ExchangeCredentialRequest, Me};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::status::UpgradePrompt;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::portfolio::Choice;
use crate::pages::settings::{ReauthFields, SettingsFrame};
use crate::session::use_session;

/// The exchanges the server accepts (wire name, label).
const EXCHANGES: [(&str, &str); 6] = [
    ("binance", "Binance"),
    ("bybit", "Bybit"),
    ("okx", "OKX"),
    ("kucoin", "KuCoin"),
    ("kraken", "Kraken"),
    ("coinbase", "Coinbase"),
];

/// `/settings/exchange`.
#[component]
pub fn SettingsExchange() -> impl IntoView {
    set_page_title("Exchange credentials");
    let session = use_session();
    view! {
        <SettingsFrame title="Exchange credentials">
            {move || session.me().map(|me| view! { <ExchangeSection me=me /> })}
        </SettingsFrame>
    }
}

#[component]
fn ExchangeSection(me: Me) -> impl IntoView {
    if !me.limits.exchange_credentials {
        return view! {
            <UpgradePrompt message="Exchange credentials are part of the Pro and Premium plans: store an API key (encrypted) to link your exchange account." />
        }
        .into_any();
    }
    let list = RwSignal::new(None::<Result<Vec<ExchangeCredentialDto>, ApiError>>);
    let load = move || {
        leptos::task::spawn_local(async move { list.set(Some(api::me::credentials().await)) })
    };
    load();
    view! {
        <div class="settings-grid">
            <CredentialList list=list reload=Callback::new(move |()| load()) />
            <CredentialForm totp=me.user.totp_enabled reload=Callback::new(move |()| load()) />
        </div>
    }
    .into_any()
}

#[component]
fn CredentialList(
    list: RwSignal<Option<Result<Vec<ExchangeCredentialDto>, ApiError>>>,
    reload: Callback<()>,
) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let delete_all = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::me::delete_credentials().await {
                Ok(d) => {
                    done.set(Some(format!("Deleted {} credential(s).", d.deleted)));
                    reload.run(());
                }
                Err(err) => errors.show(&err),
            }
            busy.set(false);
            confirm.set(false);
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="creds-title">
            <h2 id="creds-title" class="panel-title">"Stored credentials"</h2>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            {move || match list.get() {
                None => view! { <Loading text="Loading your credentials…" /> }.into_any(),
                Some(Err(err)) => view! { <ErrorBanner title="Could not load your credentials" err=err /> }.into_any(),
                Some(Ok(items)) if items.is_empty() => {
                    view! { <p class="empty-state">"No exchange credentials stored."</p> }.into_any()
                }
                Some(Ok(items)) => view! {
                    <ul class="cred-list">
                        {items.into_iter().map(credential_item).collect_view()}
                    </ul>
                    <p class="form-actions">
                        <button type="button" class="btn btn-danger btn-sm" disabled=move || busy.get() on:click=delete_all>
                            {move || if confirm.get() { "Confirm: delete all credentials" } else { "Delete all credentials" }}
                        </button>
                        {move || confirm.get().then(|| view! {
                            <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| confirm.set(false)>"Cancel"</button>
                        })}
                    </p>
                }
                .into_any(),
            }}
        </section>
    }
}

fn credential_item(c: ExchangeCredentialDto) -> impl IntoView {
    let exchange = EXCHANGES
        .iter()
        .find(|(w, _)| *w == c.exchange)
        .map_or(c.exchange.as_str(), |(_, l)| *l)
        .to_owned();
    let name = format!("{exchange} · {}", c.label);
    let aria = format!("Credential {name}");
    view! {
        <li class="cred-item" aria-label=aria>
            <p class="cred-name">{name}</p>
            <p><span class="muted">"API key "</span><code class="cred-key">{c.api_key_masked}</code></p>
            <p class="muted small">
                {if c.has_passphrase { "Passphrase stored · " } else { "" }}
                {format!("updated {}", format::datetime(c.updated_at))}
            </p>
        </li>
    }
}

#[component]
fn CredentialForm(totp: bool, reload: Callback<()>) -> impl IntoView {
    let exchange = RwSignal::new(String::from("binance"));
    let label = RwSignal::new(String::from("default"));
    let key = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let pass = passphrase.get_untracked();
        let label_v = label.get_untracked().trim().to_owned();
        let body = ExchangeCredentialRequest {
            exchange: exchange.get_untracked(),
            label: (!label_v.is_empty()).then_some(label_v),
            api_key: key.get_untracked().trim().to_owned(),
            api_secret: secret.get_untracked().trim().to_owned(),
            passphrase: (!pass.trim().is_empty()).then(|| pass.trim().to_owned()),
        };
        for (field, value) in [("api_key", &body.api_key), ("api_secret", &body.api_secret)] {
            if value.chars().count() < 8 {
                errors.set_field(field, "At least 8 characters.");
            }
        }
        if errors.has_field_errors() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = async {
                api::auth::reauth(&password.get_untracked(), &code.get_untracked()).await?;
                api::me::save_credential(&body).await
            }
            .await;
            busy.set(false);
            password.set(String::new());
            code.set(String::new());
            match result {
                Ok(saved) => {
                    for s in [key, secret, passphrase] {
                        s.set(String::new());
                    }
                    done.set(Some(format!(
                        "Saved. The key is stored encrypted and shown as {} from now on.",
                        saved.api_key_masked
                    )));
                    reload.run(());
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="cred-form-title">
            <h2 id="cred-form-title" class="panel-title">"Add or replace a credential"</h2>
            <p class="muted small">"Saving a credential with an existing exchange and label replaces it. Use a read-only or trade-only key; never one that can withdraw."</p>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <Choice id="cred-exchange" name="exchange" label="Exchange" options=EXCHANGES.to_vec() value=exchange errors=errors />
                <Field id="cred-label" name="label" label="Label" hint="Up to 30 letters, digits, spaces, _ or -" value=label errors=errors maxlength=30 required=false />
                <Field id="cred-key" name="api_key" label="API key" kind="password" value=key errors=errors maxlength=256 />
                <Field id="cred-secret" name="api_secret" label="API secret" kind="password" value=secret errors=errors maxlength=256 />
                <Field id="cred-pass" name="passphrase" label="Passphrase (OKX, KuCoin, Coinbase)" kind="password" value=passphrase errors=errors maxlength=256 required=false />
                <ReauthFields prefix="exchange" password=password code=code errors=errors totp=totp />
                <Submit label="Save credential" busy_label="Saving…" busy=busy />
            </form>
        </section>
    }
}
