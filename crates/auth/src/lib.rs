//! # cl-auth
//!
//! Pure security primitives: passwords, tokens, TOTP, encryption, API keys, lockout and rate-limit rules.
