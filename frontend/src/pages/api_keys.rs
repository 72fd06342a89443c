//! `/settings/api-keys` (product.md §2, §3): create a key (name, scopes, expiry; the secret is
//! shown once), list keys with their status and last use, revoke, and per-key IP rules.
//! Premium only: other tiers see the upgrade prompt (the server enforces it too).

use cl_api_types::{ApiKeyDto, Me};
use leptos::prelude::*;

use crate::api;
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::status::UpgradePrompt;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::settings::{ReauthFields, SettingsFrame};
use crate::session::use_session;

/// The scopes a user key may carry (admin scopes are for admin accounts; not offered here).
const SCOPES: [(&str, &str); 8] = [
    ("read:symbols", "Symbols"),
    ("read:candles", "Candles"),
    ("read:patterns", "Patterns"),
    ("read:signals", "Signals"),
    ("read:matrix", "Matrix"),
    ("read:portfolio", "Portfolio (read)"),
    ("write:portfolio", "Portfolio (write)"),
    ("write:backtest", "Backtests"),
];

const DAY_MS: i64 = 86_400_000;

/// `/settings/api-keys`.
#[component]
pub fn SettingsApiKeys() -> impl IntoView {
    set_page_title("API keys");
    let session = use_session();
    view! {
        <SettingsFrame title="API keys">
            {move || session.me().map(|me| view! { <KeysSection me=me /> })}
        </SettingsFrame>
    }
}

#[component]
fn KeysSection(me: Me) -> impl IntoView {
    if me.limits.api_keys == Some(0) && !me.user.is_admin {
        return view! {
            <UpgradePrompt message="REST API keys are part of the Premium plan: up to 10 active keys with scopes, expiry and IP rules." />
        }
        .into_any();
    }
    let version = RwSignal::new(0_u32);
    view! {
        <div class="settings-grid">
            <CreateKey totp=me.user.totp_enabled version=version />
            <KeyList version=version />
        </div>
    }
    .into_any()
}

#[component]
fn CreateKey(totp: bool, version: RwSignal<u32>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let picked = RwSignal::new(vec![
        "read:symbols",
        "read:candles",
        "read:patterns",
        "read:signals",
        "read:matrix",
    ]);
    let expiry_days = RwSignal::new(String::from("90"));
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let secret = RwSignal::new(None::<(String, String)>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        secret.set(None);
        let scopes = picked.get_untracked().join(",");
        if scopes.is_empty() {
            errors.set_field("scopes", "Pick at least one scope.");
            return;
        }
        let expires_at = expiry_days
            .get_untracked()
            .parse::<i64>()
            .ok()
            .map(|days| web_sys::js_sys::Date::now() as i64 + days * DAY_MS);
        let key_name = name.get_untracked().trim().to_owned();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = async {
                api::auth::reauth(&password.get_untracked(), &code.get_untracked()).await?;
                api::keys::create(&key_name, &scopes, expires_at).await
            }
            .await;
            busy.set(false);
            password.set(String::new());
            code.set(String::new());
            match result {
                Ok(created) => {
                    name.set(String::new());
                    secret.set(Some((created.key.name, created.secret)));
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel settings-card" aria-labelledby="newkey-title">
            <h2 id="newkey-title" class="panel-title">"Create a key"</h2>
            {move || {
                secret
                    .get()
                    .map(|(key_name, value)| {
                        view! {
                            <div class="secret-once" role="status">
                                <p>
                                    <strong>"Copy the key “" {key_name} "” now."</strong>
                                    " It is shown only once; we store only a hash of it."
                                </p>
                                <code class="api-secret" data-secret=value.clone()>{value.clone()}</code>
                                <p class="muted small">"Send it as " <code>"Authorization: Bearer <key>"</code> " or " <code>"X-API-Key"</code> "."</p>
                            </div>
                        }
                    })
            }}
            <FormAlert errors=errors />
            <form class="settings-form" on:submit=on_submit novalidate=true>
                <Field id="key-name" name="name" label="Name" hint="For you, e.g. “trading bot”" value=name errors=errors maxlength=50 />
                <fieldset class="scope-set" aria-describedby=move || errors.of("scopes").map(|_| "key-scopes-error")>
                    <legend class="form-label">"Scopes"</legend>
                    <div class="scope-grid">
                        {SCOPES
                            .iter()
                            .map(|(scope, label)| {
                                let scope = *scope;
                                let id = format!("scope-{}", scope.replace(':', "-"));
                                let for_id = id.clone();
                                view! {
                                    <label class="scope-option" for=for_id>
                                        <input
                                            id=id
                                            type="checkbox"
                                            class="checkbox"
                                            prop:checked=move || picked.with(|p| p.contains(&scope))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                picked.update(|p| {
                                                    p.retain(|s| *s != scope);
                                                    if on {
                                                        p.push(scope);
                                                    }
                                                });
                                            }
                                        />
                                        <span>{*label}<code class="scope-name">{scope}</code></span>
                                    </label>
                                }
                            })
                            .collect_view()}
                    </div>
                    {move || {
                        errors
                            .of("scopes")
                            .map(|m| view! { <p class="field-error" id="key-scopes-error"><span aria-hidden="true">"✕ "</span>{m}</p> })
                    }}
                </fieldset>
                <div class="form-field">
                    <label class="form-label" for="key-expiry">"Expires"</label>
                    <select id="key-expiry" class="select" bind:value=expiry_days>
                        <option value="30">"in 30 days"</option>
                        <option value="90">"in 90 days"</option>
                        <option value="365">"in 1 year"</option>
                        <option value="never">"never"</option>
                    </select>
                </div>
                <ReauthFields prefix="key" password=password code=code errors=errors totp=totp />
                <Submit label="Create key" busy_label="Creating…" busy=busy />
            </form>
        </section>
    }
}

#[component]
fn KeyList(version: RwSignal<u32>) -> impl IntoView {
    let list = LocalResource::new(move || {
        version.track();
        api::keys::list()
    });
    view! {
        <section class="panel settings-card settings-wide" aria-labelledby="keys-title">
            <h2 id="keys-title" class="panel-title">"Your keys"</h2>
            <Suspense fallback=|| view! { <Loading text="Loading your keys…" /> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(keys) if keys.is_empty() => {
                            view! { <p class="empty-state">"No keys yet. Create one to use the REST API from your own tools."</p> }.into_any()
                        }
                        Ok(keys) => {
                            view! {
                                <ul class="key-list">
                                    {keys.into_iter().map(|k| view! { <KeyItem key=k version=version /> }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <ErrorBanner title="Could not load your keys" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn KeyItem(key: ApiKeyDto, version: RwSignal<u32>) -> impl IntoView {
    let id = key.id;
    let active = key.status == "active";
    let confirm = RwSignal::new(false);
    let show_rules = RwSignal::new(false);
    let errors = FormErrors::new();
    let revoke = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        errors.clear();
        leptos::task::spawn_local(async move {
            match api::keys::revoke(id).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(err) => errors.show(&err),
            }
        });
    };
    let status_class = if active {
        "badge badge-ok"
    } else {
        "badge badge-warn"
    };
    let status_text = if active {
        String::from("✓ active")
    } else {
        format!("✕ {}", key.status)
    };
    view! {
        <li class="key-item" aria-label=format!("Key {}", key.name)>
            <div class="key-head">
                <div class="key-title">
                    <strong class="key-name">{key.name.clone()}</strong>
                    <code class="key-display">{key.display.clone()}</code>
                    <span class=status_class>{status_text}</span>
                </div>
                {active
                    .then(|| {
                        view! {
                            <div class="form-actions">
                                <button
                                    type="button"
                                    class="btn btn-ghost btn-sm"
                                    aria-expanded=move || if show_rules.get() { "true" } else { "false" }
                                    on:click=move |_| show_rules.update(|s| *s = !*s)
                                >
                                    "IP rules"
                                </button>
                                <button type="button" class="btn btn-ghost btn-sm btn-danger-ghost" on:click=revoke>
                                    {move || if confirm.get() { "Confirm revoke" } else { "Revoke" }}
                                </button>
                            </div>
                        }
                    })}
            </div>
            <ul class="key-scopes" aria-label="Scopes">
                {key.scopes.iter().map(|s| view! { <li class="badge badge-scope">{s.clone()}</li> }).collect_view()}
            </ul>
            <p class="key-meta muted small">
                "Created " {format::short_datetime(key.created_at)}
                " · last used " {key.last_used_at.map(format::short_datetime).unwrap_or_else(|| String::from("never"))}
                " · expires " {key.expires_at.map(format::short_datetime).unwrap_or_else(|| String::from("never"))}
                " · limits " {format!("{}/min, {}/h, {}/day", key.per_min, key.per_hour, key.per_day)}
            </p>
            <FormAlert errors=errors />
            {move || show_rules.get().then(|| view! { <IpRules key_id=id /> })}
        </li>
    }
}

#[component]
fn IpRules(key_id: i64) -> impl IntoView {
    let version = RwSignal::new(0_u32);
    let rules = LocalResource::new(move || {
        version.track();
        api::keys::ip_rules(key_id)
    });
    let action = RwSignal::new(String::from("allow"));
    let cidr = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let errors = FormErrors::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::keys::add_ip_rule(
                key_id,
                &action.get_untracked(),
                cidr.get_untracked().trim(),
            )
            .await;
            busy.set(false);
            match result {
                Ok(rule) => {
                    cidr.set(String::new());
                    done.set(Some(format!("Added: {} {}", rule.action, rule.cidr)));
                    version.update(|v| *v += 1);
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    let remove = move |rule: i64| {
        leptos::task::spawn_local(async move {
            match api::keys::delete_ip_rule(key_id, rule).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(err) => errors.show(&err),
            }
        });
    };
    let cidr_id = format!("cidr-{key_id}");
    let action_id = format!("action-{key_id}");
    view! {
        <div class="ip-rules">
            <p class="muted small">"Deny rules win; with any allow rule, only matching addresses may use the key."</p>
            <Suspense fallback=|| view! { <Loading text="Loading rules…" /> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted small">"No rules: any address may use this key."</p> }.into_any(),
                        Ok(list) => {
                            view! {
                                <ul class="rule-list">
                                    {list
                                        .into_iter()
                                        .map(|r| {
                                            let rid = r.id;
                                            let allow = r.action == "allow";
                                            view! {
                                                <li class="rule-item">
                                                    <span class=if allow { "badge badge-ok" } else { "badge badge-warn" }>
                                                        {if allow { "✓ allow" } else { "✕ deny" }}
                                                    </span>
                                                    <code>{r.cidr.clone()}</code>
                                                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| remove(rid)>
                                                        "Remove"
                                                    </button>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <ErrorBanner title="Could not load the rules" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="rule-form" on:submit=on_submit novalidate=true>
                <div class="form-field">
                    <label class="form-label" for=action_id.clone()>"Rule"</label>
                    <select id=action_id class="select" bind:value=action>
                        <option value="allow">"allow"</option>
                        <option value="deny">"deny"</option>
                    </select>
                </div>
                <Field id=cidr_id name="cidr" label="Address or CIDR" hint="e.g. 203.0.113.7 or 2001:db8::/32" value=cidr errors=errors />
                <Submit label="Add rule" busy_label="Adding…" busy=busy class="btn btn-ghost" />
            </form>
        </div>
    }
}
