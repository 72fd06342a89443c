//! # cl-billing: the pure billing core of CryptoLens Edge
//!
//! Payments and subscriptions (product.md §1, §6, §11.20) with no I/O, no clock and no `worker`
//! dependency; it builds for the host and for `wasm32-unknown-unknown`.
//!
//! - [`signature`]: webhook signature checks on the raw body (size cap first, constant-time).
//! - [`json`]: the strict JSON reader that keeps number text, and the canonical forms
//!   NOWPayments signs.
//! - [`events`]: verified bodies → typed events with their dedup keys.
//! - [`subscription`]: THE validity/tier policy and the subscription state changes.
//! - [`payment`]: the forward-only payment status machine and [`payment::apply_event`], which
//!   returns the exact writes the adapter runs in one transaction.
//! - [`checkout`]: request validation, the pending payment, provider request bodies.
//! - [`plan`], [`money`], [`time`]: ids, the catalogue, exact amounts, timestamps.
//!
//! A webhook handler does: read raw bytes (≤ 256 KiB) → `verify_*` → `parse_*` (same bytes) →
//! load the payment named by `payment_ref()` and the user's subscription → `apply_event` →
//! in one transaction: insert the `webhook_events` row (unique key = dedup), write the payment
//! and subscription. See `docs/billing.md`.

pub mod checkout;
pub mod events;
pub mod json;
pub mod money;
pub mod payment;
pub mod plan;
pub mod signature;
pub mod subscription;
pub mod time;

#[cfg(test)]
mod tests;

pub use events::{parse_lemonsqueezy, parse_nowpayments, BillingEvent, EventError, EventKey};
pub use money::{Amount, Currency};
pub use payment::{apply_event, ApplyError, Decision, Outcome, PaymentRecord, PaymentStatus};
pub use plan::{Offer, PaymentId, Plan, Provider, Tier, UserId};
pub use signature::{verify_lemonsqueezy, verify_nowpayments, SignatureError};
pub use subscription::{effective_tier, Subscription, SubscriptionStatus};
