//! The exchange-credentials port (product.md §7, §10 `exchange_credentials`).
//!
//! Design:
//! - The store only ever sees sealed values: the key, secret and passphrase arrive as
//!   AES-256-GCM envelopes (`cl_auth::crypto::Sealed::encode`, which carry their key id) plus
//!   the id of the key that sealed them (`enc_key_id`, for rotation) and the last four
//!   characters of the API key (for the masked display). Sealing is the use case's job
//!   (`crate::exchange_credentials`).
//! - Every call takes the owner's [`UserId`] and matches it in the statement: another user's
//!   row is simply absent.
//! - `put` is an upsert on `(user_id, exchange, label)` in one statement.

use super::{StoreError, UserId};

/// Id of a row of `exchange_credentials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialId(pub i64);

/// A credential to store, already sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    /// Owner.
    pub user_id: UserId,
    /// Exchange (from the allowlist).
    pub exchange: String,
    /// Label (≤ 30).
    pub label: String,
    /// Sealed API key.
    pub api_key_enc: String,
    /// Sealed API secret.
    pub api_secret_enc: String,
    /// Sealed passphrase (some exchanges).
    pub passphrase_enc: Option<String>,
    /// The id of the key that sealed them.
    pub enc_key_id: String,
    /// Last four characters of the API key.
    pub last4: String,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredential")
            .field("user_id", &self.user_id)
            .field("exchange", &self.exchange)
            .field("label", &self.label)
            .field("enc_key_id", &self.enc_key_id)
            .finish_non_exhaustive()
    }
}

/// A stored credential.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Id.
    pub id: CredentialId,
    /// The sealed values.
    pub sealed: SealedCredential,
    /// Creation time.
    pub created_at: i64,
    /// Last replacement.
    pub updated_at: i64,
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("sealed", &self.sealed)
            .finish_non_exhaustive()
    }
}

/// Longest label.
pub const MAX_LABEL_CHARS: usize = 30;

impl SealedCredential {
    /// The checks every adapter applies before writing.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.exchange.is_empty()
            || self.label.is_empty()
            || self.label.chars().count() > MAX_LABEL_CHARS
            || self.last4.chars().count() > 4
            || self.enc_key_id.is_empty()
        {
            return Err(StoreError::Invalid("exchange credential fields".into()));
        }
        Ok(())
    }
}

/// The `exchange_credentials` table, scoped by the owner.
#[allow(async_fn_in_trait)]
pub trait ExchangeCredentialStore {
    /// Inserts or replaces the owner's credential of `(exchange, label)`.
    ///
    /// # Errors
    /// `NotFound("user")`; `Invalid`; `Unavailable`.
    async fn put_credential(
        &self,
        new: &SealedCredential,
        now: i64,
    ) -> Result<StoredCredential, StoreError>;

    /// The owner's credentials, by exchange then label.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn credentials_of(&self, user: UserId) -> Result<Vec<StoredCredential>, StoreError>;

    /// Deletes every credential of the owner; how many went.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_credentials(&self, user: UserId) -> Result<u32, StoreError>;
}
