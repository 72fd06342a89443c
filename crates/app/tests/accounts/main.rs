//! Host tests of the account use cases over the memory store (fake clock, mailer, hasher).

// Test code: panics carry the context, like assertions do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod login;
mod passwords;
mod registration;
mod sessions;
mod two_factor;
