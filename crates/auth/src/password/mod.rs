//! The password policy (product.md §11.2) and password hashing (§11.3).
//!
//! One [`PasswordPolicy`] serves register, reset and change, so all three give the same messages.
//! Passwords are checked and hashed exactly as received: no trimming, no normalisation.

mod common;
mod hash;

pub use common::{common_password_count, is_common_password};
pub use hash::{
    hash_password, hash_password_with_salt, pbkdf2_hmac_sha256, verify_dummy, PasswordHash,
    PasswordHashError, Pbkdf2Params, DEFAULT_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS,
    PBKDF2_HASH_LEN, PBKDF2_SALT_LEN,
};

use std::fmt;

/// Minimum password length in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// One broken rule. Every broken rule is reported, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordViolation {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    TooLong,
    /// No uppercase letter.
    MissingUppercase,
    /// No lowercase letter.
    MissingLowercase,
    /// No digit.
    MissingDigit,
    /// On the bundled list of common passwords (compared case-insensitively).
    TooCommon,
}

impl PasswordViolation {
    /// Stable machine-readable code, used in the API's `fields[].code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::MissingUppercase => "password_missing_uppercase",
            Self::MissingLowercase => "password_missing_lowercase",
            Self::MissingDigit => "password_missing_digit",
            Self::TooCommon => "password_too_common",
        }
    }

    /// Human-readable message, identical on every path.
    pub fn message(self) -> &'static str {
        match self {
            Self::TooShort => "Password must be at least 8 characters.",
            Self::TooLong => "Password must be at most 128 characters.",
            Self::MissingUppercase => "Password must contain an uppercase letter.",
            Self::MissingLowercase => "Password must contain a lowercase letter.",
            Self::MissingDigit => "Password must contain a digit.",
            Self::TooCommon => "Password is too common.",
        }
    }
}

impl fmt::Display for PasswordViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The password was refused; every broken rule is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password rejected: {}", join_codes(&self.violations))]
pub struct PasswordPolicyError {
    violations: Vec<PasswordViolation>,
}

impl PasswordPolicyError {
    /// The broken rules, in a stable order.
    pub fn violations(&self) -> &[PasswordViolation] {
        &self.violations
    }
}

fn join_codes(violations: &[PasswordViolation]) -> String {
    violations
        .iter()
        .map(|v| v.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The single password policy: 8–128 characters, an uppercase letter, a lowercase letter, a digit,
/// and not one of the ~20,000 most common passwords.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordPolicy;

impl PasswordPolicy {
    /// Checks `password` against every rule.
    ///
    /// # Errors
    /// [`PasswordPolicyError`] listing every broken rule.
    pub fn validate(&self, password: &str) -> Result<(), PasswordPolicyError> {
        let mut violations = Vec::new();
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            violations.push(PasswordViolation::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            violations.push(PasswordViolation::TooLong);
        }
        if !password.chars().any(char::is_uppercase) {
            violations.push(PasswordViolation::MissingUppercase);
        }
        if !password.chars().any(char::is_lowercase) {
            violations.push(PasswordViolation::MissingLowercase);
        }
        if !password.chars().any(char::is_numeric) {
            violations.push(PasswordViolation::MissingDigit);
        }
        if is_common_password(password) {
            violations.push(PasswordViolation::TooCommon);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(PasswordPolicyError { violations })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordViolation::*;

    fn violations(password: &str) -> Vec<PasswordViolation> {
        PasswordPolicy
            .validate(password)
            .err()
            .map(|e| e.violations().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn a_long_mixed_password_passes() {
        assert_eq!(PasswordPolicy.validate("Correct7HorseBattery"), Ok(()));
    }

    #[test]
    fn every_failed_rule_is_listed() {
        assert_eq!(
            violations("abc"),
            vec![TooShort, MissingUppercase, MissingDigit, TooCommon]
        );
        assert_eq!(
            violations("ABCDEFGHIJ"),
            vec![MissingLowercase, MissingDigit, TooCommon]
        );
        assert_eq!(
            violations("QXZVBNMKLJ"),
            vec![MissingLowercase, MissingDigit]
        );
    }

    #[test]
    fn length_limits_are_8_and_128_characters() {
        assert_eq!(violations("Zq7xWv3k"), vec![]);
        assert_eq!(violations("Zq7xWv3"), vec![TooShort]);
        let max = format!("Zq7{}", "x".repeat(125));
        assert_eq!(violations(&max), vec![]);
        let over = format!("Zq7{}", "x".repeat(126));
        assert_eq!(violations(&over), vec![TooLong]);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 8 characters, 11 bytes.
        assert_eq!(violations("Äöü7Wxyz"), vec![]);
    }

    #[test]
    fn common_passwords_are_rejected_whatever_their_case() {
        assert_eq!(violations("Password1"), vec![TooCommon]);
        assert_eq!(violations("PASSWORD1a"), violations("password1A"));
        assert!(violations("Qwerty123").contains(&TooCommon));
    }

    #[test]
    fn passwords_are_checked_exactly_as_received() {
        // A leading space is part of the password, not trimmed into a common one.
        assert_eq!(violations(" Password1"), vec![]);
    }

    #[test]
    fn the_error_message_lists_stable_codes() {
        let err = PasswordPolicy.validate("short").unwrap_err();
        assert_eq!(
            err.to_string(),
            "password rejected: password_too_short, password_missing_uppercase, password_missing_digit"
        );
        assert_eq!(TooCommon.message(), "Password is too common.");
    }
}
