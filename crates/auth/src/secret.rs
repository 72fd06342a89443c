//! Secret strings that never leak through `Debug`, and the production check for configured
//! secrets (product.md §11.12, §11.18).

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Minimum length, in bytes, of every production secret.
pub const MIN_SECRET_BYTES: usize = 32;

/// The placeholder that `.dev.vars.example` puts in every secret slot. It is long enough to pass
/// the length rule on purpose, so that only the example rule can catch a copied example file.
pub const EXAMPLE_SECRET_PLACEHOLDER: &str =
    "replace-me-run-the-setup-command-to-generate-a-secret";

/// Placeholder for the 32-byte encryption keys in hex form (64 zeros).
pub const EXAMPLE_HEX_KEY_PLACEHOLDER: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Placeholder for the 32-byte encryption keys in base64 form (32 zero bytes).
pub const EXAMPLE_BASE64_KEY_PLACEHOLDER: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// Every value that documentation or example files show for a secret. A production secret equal
/// to any of them is rejected, whatever its length.
pub const DOCUMENTED_EXAMPLE_SECRETS: &[&str] = &[
    EXAMPLE_SECRET_PLACEHOLDER,
    EXAMPLE_HEX_KEY_PLACEHOLDER,
    EXAMPLE_BASE64_KEY_PLACEHOLDER,
    "changeme",
    "change-me",
    "secret",
    "password",
];

/// A string secret. `Debug` prints `SecretString([REDACTED])`, there is no `Display`, the bytes
/// are zeroed on drop, and `==` runs in constant time (only the length can leak).
#[derive(Clone)]
pub struct SecretString(String);

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for SecretString {}

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call this only where the value is used.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in bytes (safe to log).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Why a production secret was refused. Messages name the secret, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not set, or only whitespace.
    #[error("secret {name} is missing")]
    Missing {
        /// Name of the secret (e.g. `SESSION_KEY`).
        name: String,
    },
    /// Shorter than [`MIN_SECRET_BYTES`].
    #[error("secret {name} is {len} bytes long; at least {min} are required")]
    TooShort {
        /// Name of the secret.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The required minimum.
        min: usize,
    },
    /// Equal to a value shown in documentation or an example file.
    #[error("secret {name} still holds a documented example value")]
    DocumentedExample {
        /// Name of the secret.
        name: String,
    },
}

/// Checks one production secret: it must be set, at least [`MIN_SECRET_BYTES`] long, and differ
/// from every value in [`DOCUMENTED_EXAMPLE_SECRETS`] and in `documented_examples` (extra values a
/// caller documents, e.g. per-secret placeholders).
///
/// # Errors
/// [`SecretError::Missing`], [`SecretError::TooShort`] or [`SecretError::DocumentedExample`].
pub fn validate_production_secret(
    name: &str,
    value: Option<&SecretString>,
    documented_examples: &[&str],
) -> Result<(), SecretError> {
    let Some(value) = value.map(|v| v.expose_secret().trim()) else {
        return Err(SecretError::Missing {
            name: name.to_owned(),
        });
    };
    if value.is_empty() {
        return Err(SecretError::Missing {
            name: name.to_owned(),
        });
    }
    // The example rule comes first: a placeholder is the likelier mistake and the clearer message.
    let is_example = DOCUMENTED_EXAMPLE_SECRETS
        .iter()
        .chain(documented_examples)
        .any(|example| example.trim() == value);
    if is_example {
        return Err(SecretError::DocumentedExample {
            name: name.to_owned(),
        });
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort {
            name: name.to_owned(),
            len: value.len(),
            min: MIN_SECRET_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "9f3c1a7e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f";

    #[test]
    fn debug_output_never_contains_the_secret() {
        let secret = SecretString::new("hunter2-super-secret");
        let printed = format!("{secret:?}");
        assert_eq!(printed, "SecretString([REDACTED])");
        let nested = format!("{:?}", Some(secret.clone()));
        assert!(!nested.contains("hunter2"));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert_eq!(SecretString::new("same"), SecretString::from("same"));
        assert_ne!(SecretString::new("same"), SecretString::new("different"));
        assert_ne!(SecretString::new("same"), SecretString::new("sam"));
    }

    #[test]
    fn expose_secret_returns_the_wrapped_value() {
        let secret = SecretString::from("abc");
        assert_eq!(secret.expose_secret(), "abc");
        assert_eq!(secret.len(), 3);
        assert!(!secret.is_empty());
    }

    #[test]
    fn a_long_random_secret_passes_the_production_check() {
        let secret = SecretString::new(GOOD);
        assert_eq!(
            validate_production_secret("SESSION_KEY", Some(&secret), &[]),
            Ok(())
        );
    }

    #[test]
    fn a_missing_or_blank_secret_is_rejected() {
        let blank = SecretString::new("   ");
        for value in [None, Some(&blank)] {
            let err = validate_production_secret("SESSION_KEY", value, &[]).unwrap_err();
            assert_eq!(
                err,
                SecretError::Missing {
                    name: "SESSION_KEY".into()
                }
            );
        }
    }

    #[test]
    fn a_secret_shorter_than_32_bytes_is_rejected() {
        let short = SecretString::new("a".repeat(31));
        let err = validate_production_secret("API_KEY_PEPPER", Some(&short), &[]).unwrap_err();
        assert!(matches!(
            err,
            SecretError::TooShort {
                len: 31,
                min: 32,
                ..
            }
        ));
        let exact = SecretString::new("a".repeat(32));
        assert!(validate_production_secret("API_KEY_PEPPER", Some(&exact), &[]).is_ok());
    }

    #[test]
    fn every_documented_example_value_is_rejected() {
        for example in DOCUMENTED_EXAMPLE_SECRETS {
            let value = SecretString::new(*example);
            let err = validate_production_secret("TOTP_KEY", Some(&value), &[]).unwrap_err();
            assert_eq!(
                err,
                SecretError::DocumentedExample {
                    name: "TOTP_KEY".into()
                }
            );
        }
    }

    #[test]
    fn caller_supplied_examples_are_rejected_too() {
        let value = SecretString::new(GOOD);
        let err = validate_production_secret("X", Some(&value), &[GOOD]).unwrap_err();
        assert_eq!(err, SecretError::DocumentedExample { name: "X".into() });
    }

    #[test]
    fn error_messages_name_the_secret_but_not_its_value() {
        let value = SecretString::new("short-secret-value");
        let err = validate_production_secret("MAIL_API_KEY", Some(&value), &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("MAIL_API_KEY"));
        assert!(!text.contains("short-secret-value"));
    }
}
