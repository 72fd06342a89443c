//! The one read of the access gate: a credential together with its owner and the owner's
//! subscription, in ONE store round trip.
//!
//! Design: the gate runs on every signed-in request, and on D1 each statement is a round trip
//! that queues behind every other request's. Reading session → user → subscription (or key →
//! rules → user → subscription) one after the other made the gate the largest per-request
//! cost of the matrix under load (docs/decisions.md, "The gate reads once"). So each
//! credential is read with a single joined statement; the caller still makes every decision
//! (expiry, stage, active owner, tier) from the rows, exactly as it did from the separate
//! reads: the port only fetches.

use super::api_keys::StoredApiKey;
use super::{StoreError, StoredSession, StoredUser};
use crate::policy::Subscription;
use cl_auth::tokens::TokenHash;

/// A session row with its user and the user's subscription (as `SubscriptionLookup` reads it).
#[derive(Debug, Clone)]
pub struct SessionGrant {
    /// The session, expired or not (the caller checks).
    pub session: StoredSession,
    /// Its owner, active or not (the caller checks).
    pub user: StoredUser,
    /// The owner's subscription, if any.
    pub subscription: Option<Subscription>,
}

/// An API-key row with its owner, the owner's subscription and whether it has IP rules.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    /// The key, usable or not (the caller checks).
    pub key: StoredApiKey,
    /// Its owner, active or not (the caller checks).
    pub owner: StoredUser,
    /// The owner's subscription, if any.
    pub subscription: Option<Subscription>,
    /// Whether the key has at least one IP rule (the caller then reads them).
    pub has_ip_rules: bool,
}

/// The gate's reads (one statement each).
#[allow(async_fn_in_trait)]
pub trait GateStore {
    /// The session with token hash `hash`, its user and the user's subscription; `None` when
    /// there is no such session (or, impossible by the foreign key, no such user).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn session_grant(&self, hash: &TokenHash) -> Result<Option<SessionGrant>, StoreError>;

    /// The key with lookup prefix `prefix`, its owner, the owner's subscription and whether it
    /// has IP rules; `None` when there is no such key.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn key_grant(&self, prefix: &str) -> Result<Option<KeyGrant>, StoreError>;
}
