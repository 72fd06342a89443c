//! Per-user exchange API credentials (product.md §7, §1): pro and premium only, sealed with
//! AES-256-GCM under `CREDENTIALS_ENCRYPTION_KEY` (a [`Keyring`], key id stored per row for
//! rotation), masked on read (last 4 of the key), replaced only after a recent
//! re-authentication, never returned or logged in clear.
//!
//! Design: the request arrives as [`CredentialInput`] (secrets as [`SecretString`]), is
//! checked into a typed draft (exchange allowlist, label and secret charsets/lengths, every bad
//! field at once), then each secret is sealed with the AAD `exchange_credentials_aad(user,
//! exchange)` so a sealed value cannot be moved to another user or exchange. The store sees
//! only envelopes.

use crate::accounts::FieldError;
use crate::policy::Access;
use crate::ports::exchange_credentials::{
    ExchangeCredentialStore, SealedCredential, StoredCredential, MAX_LABEL_CHARS,
};
use crate::ports::{StoreError, UserId};
use cl_auth::crypto::{exchange_credentials_aad, Keyring};
use cl_auth::SecretString;

/// The exchanges a credential may name.
pub const EXCHANGES: &[&str] = &["binance", "bybit", "okx", "kucoin", "kraken", "coinbase"];
/// Shortest API key / secret.
pub const MIN_SECRET_CHARS: usize = 8;
/// Longest API key / secret / passphrase.
pub const MAX_SECRET_CHARS: usize = 256;

/// A credential as received.
#[derive(Debug, Clone)]
pub struct CredentialInput {
    /// One of [`EXCHANGES`].
    pub exchange: String,
    /// 1–30 of `A–Z a–z 0–9 space _ -` (default `default`).
    pub label: Option<String>,
    /// API key.
    pub api_key: SecretString,
    /// API secret.
    pub api_secret: SecretString,
    /// Passphrase (OKX, KuCoin, Coinbase).
    pub passphrase: Option<SecretString>,
}

/// What a user sees of a stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedCredential {
    /// Exchange.
    pub exchange: String,
    /// Label.
    pub label: String,
    /// `****` + the last four characters of the key.
    pub api_key_masked: String,
    /// Whether a passphrase is stored.
    pub has_passphrase: bool,
    /// The id of the key that sealed it.
    pub key_id: String,
    /// Creation time.
    pub created_at: i64,
    /// Last replacement.
    pub updated_at: i64,
}

/// Why a credential operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CredentialError {
    /// Invalid fields (400).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// Not in the tier (403 `tier_required`).
    #[error("exchange credentials need a higher tier")]
    TierRequired,
    /// No recent re-authentication (403 `reauth_required`).
    #[error("re-authentication required")]
    ReauthRequired,
    /// Sealing failed (500).
    #[error("sealing failed")]
    Crypto,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn masked(c: &StoredCredential) -> MaskedCredential {
    MaskedCredential {
        exchange: c.sealed.exchange.clone(),
        label: c.sealed.label.clone(),
        api_key_masked: format!("****{}", c.sealed.last4),
        has_passphrase: c.sealed.passphrase_enc.is_some(),
        key_id: c.sealed.enc_key_id.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

fn require_tier(access: &Access) -> Result<(), CredentialError> {
    if access.limits.exchange_credentials {
        Ok(())
    } else {
        Err(CredentialError::TierRequired)
    }
}

fn secret_ok(s: &str, min: usize) -> bool {
    let n = s.chars().count();
    (min..=MAX_SECRET_CHARS).contains(&n) && s.chars().all(|c| c.is_ascii_graphic())
}

struct Draft {
    exchange: &'static str,
    label: String,
}

fn check(input: &CredentialInput) -> Result<Draft, CredentialError> {
    let mut errors = Vec::new();
    let mut add = |field: &'static str, code: &'static str, message: &str| {
        errors.push(FieldError {
            field,
            code,
            message: message.to_owned(),
        });
    };
    let exchange = EXCHANGES.iter().copied().find(|e| *e == input.exchange);
    if exchange.is_none() {
        add("exchange", "invalid_choice", "unknown exchange");
    }
    let label = input.label.clone().unwrap_or_else(|| "default".to_owned());
    let label_ok = !label.is_empty()
        && label.chars().count() <= MAX_LABEL_CHARS
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'));
    if !label_ok {
        add("label", "invalid_format", "1–30 of A–Z a–z 0–9 space _ -");
    }
    if !secret_ok(input.api_key.expose_secret(), MIN_SECRET_CHARS) {
        add("api_key", "invalid_format", "8–256 printable characters");
    }
    if !secret_ok(input.api_secret.expose_secret(), MIN_SECRET_CHARS) {
        add("api_secret", "invalid_format", "8–256 printable characters");
    }
    if input
        .passphrase
        .as_ref()
        .is_some_and(|p| !secret_ok(p.expose_secret(), 1))
    {
        add("passphrase", "invalid_format", "1–256 printable characters");
    }
    match exchange {
        Some(exchange) if errors.is_empty() => Ok(Draft { exchange, label }),
        _ => Err(CredentialError::Invalid(errors)),
    }
}

/// The credential use cases.
#[derive(Debug)]
pub struct CredentialService<'a, S> {
    store: &'a S,
    keys: &'a Keyring,
}

impl<'a, S: ExchangeCredentialStore> CredentialService<'a, S> {
    /// Borrows the store and the credentials keyring.
    pub fn new(store: &'a S, keys: &'a Keyring) -> Self {
        Self { store, keys }
    }

    /// The user's credentials, masked.
    ///
    /// # Errors
    /// `TierRequired`, `Store`.
    pub async fn list(
        &self,
        user: UserId,
        access: &Access,
    ) -> Result<Vec<MaskedCredential>, CredentialError> {
        require_tier(access)?;
        Ok(self
            .store
            .credentials_of(user)
            .await?
            .iter()
            .map(masked)
            .collect())
    }

    /// Seals and stores (or replaces) a credential; needs a fresh re-authentication.
    ///
    /// # Errors
    /// `TierRequired`, `ReauthRequired`, `Invalid`, `Crypto`, `Store`.
    pub async fn put(
        &self,
        user: UserId,
        access: &Access,
        reauth_fresh: bool,
        input: &CredentialInput,
        now: i64,
    ) -> Result<MaskedCredential, CredentialError> {
        require_tier(access)?;
        if !reauth_fresh {
            return Err(CredentialError::ReauthRequired);
        }
        let d = check(input)?;
        let aad = exchange_credentials_aad(&user.0.to_string(), d.exchange);
        let seal = |s: &SecretString| {
            self.keys
                .seal(s.expose_secret().as_bytes(), &aad)
                .map(|sealed| sealed.encode())
                .map_err(|_| CredentialError::Crypto)
        };
        let key = input.api_key.expose_secret();
        let last4: String = key
            .chars()
            .skip(key.chars().count().saturating_sub(4))
            .collect();
        let new = SealedCredential {
            user_id: user,
            exchange: d.exchange.to_owned(),
            label: d.label,
            api_key_enc: seal(&input.api_key)?,
            api_secret_enc: seal(&input.api_secret)?,
            passphrase_enc: input.passphrase.as_ref().map(seal).transpose()?,
            enc_key_id: self.keys.current_id().as_str().to_owned(),
            last4,
        };
        Ok(masked(&self.store.put_credential(&new, now).await?))
    }

    /// Deletes every credential of the user (no re-authentication needed to forget keys).
    ///
    /// # Errors
    /// `TierRequired` is NOT applied: a downgraded user may still delete. `Store`.
    pub async fn delete_all(&self, user: UserId) -> Result<u32, CredentialError> {
        Ok(self.store.delete_credentials(user).await?)
    }

    /// Opens a stored credential's API key and secret (for the read-only import).
    ///
    /// # Errors
    /// `Crypto` when the envelope does not open with this keyring and AAD.
    pub fn open(
        &self,
        c: &StoredCredential,
    ) -> Result<(SecretString, SecretString), CredentialError> {
        let aad = exchange_credentials_aad(&c.sealed.user_id.0.to_string(), &c.sealed.exchange);
        let open = |enc: &str| {
            self.keys
                .open_str(enc, &aad)
                .ok()
                .and_then(|p| String::from_utf8(p.to_vec()).ok())
                .map(SecretString::new)
                .ok_or(CredentialError::Crypto)
        };
        Ok((
            open(&c.sealed.api_key_enc)?,
            open(&c.sealed.api_secret_enc)?,
        ))
    }
}
