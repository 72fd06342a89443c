//! # cl-auth
//!
//! Pure security primitives for CryptoLens Edge: secrets, canonical emails, the password policy and
//! password hashing, TOTP and recovery codes, AES-256-GCM envelopes, random tokens and API keys, the
//! login lockout state machine, rate-limit window math and client-IP handling.
//!
//! Design:
//! - No I/O, no clock and no `worker` dependency: callers pass `now` (UTC milliseconds) and
//!   secrets in, and store what comes out. Everything is tested natively with `cargo test` and
//!   compiles unchanged for `wasm32-unknown-unknown`, where randomness comes from
//!   `crypto.getRandomValues` through getrandom's `wasm_js` backend.
//! - Each module owns one typed error; nothing panics on bad input.
//! - Secret material is wrapped so that `Debug` never prints it, and is zeroed on drop where that
//!   is cheap.
//!
//! The reasoning behind the parameters lives in `docs/security-primitives.md`.

pub mod crypto;
pub mod email;
mod encoding;
pub mod lockout;
pub mod net;
pub mod password;
pub mod random;
pub mod ratelimit;
pub mod secret;
pub mod tokens;
pub mod totp;

pub use secret::SecretString;
