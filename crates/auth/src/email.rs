//! Canonical emails and usernames (product.md §11.5, §11.17).
//!
//! Every path that takes an email (login, register, resend, forgot/reset, email change, lockout
//! key) goes through [`Email::parse`], so the same person always maps to the same string.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Maximum length of a canonical email, in bytes.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Maximum length of the local part (before `@`), in bytes (RFC 5321).
pub const MAX_LOCAL_PART_BYTES: usize = 64;
/// Minimum username length.
pub const MIN_USERNAME_CHARS: usize = 3;
/// Maximum username length.
pub const MAX_USERNAME_CHARS: usize = 30;

/// Why an email was rejected. `code()` gives the stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing left after trimming.
    #[error("email is empty")]
    Empty,
    /// Longer than [`MAX_EMAIL_BYTES`] after canonicalisation.
    #[error("email is longer than {MAX_EMAIL_BYTES} bytes")]
    TooLong,
    /// Not `local@domain.tld`, or contains whitespace, control or reserved characters.
    #[error("email is not a valid address")]
    Invalid,
}

impl EmailError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "email_empty",
            Self::TooLong => "email_too_long",
            Self::Invalid => "email_invalid",
        }
    }
}

/// A canonical email: trimmed, NFKC-normalised, lowercased, at most 254 bytes, basic syntax
/// checked.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Canonicalises and validates `raw`.
    ///
    /// # Errors
    /// [`EmailError::Empty`], [`EmailError::TooLong`] or [`EmailError::Invalid`].
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        // NFKC first: it folds full-width and compatibility forms, which lowercasing alone misses.
        let normalized: String = raw.trim().nfkc().collect::<String>().to_lowercase();
        let canonical = normalized.trim();
        if canonical.is_empty() {
            return Err(EmailError::Empty);
        }
        if canonical.len() > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLong);
        }
        if !is_plausible_address(canonical) {
            return Err(EmailError::Invalid);
        }
        Ok(Self(canonical.to_owned()))
    }

    /// The canonical string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Characters that never appear in the addresses we accept; they matter for header injection or
/// quoting, and real users do not have them.
fn is_forbidden_char(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"'
        )
}

fn is_plausible_address(s: &str) -> bool {
    if s.chars().any(is_forbidden_char) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > MAX_LOCAL_PART_BYTES || domain.contains('@') {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    // A domain needs at least two labels, none empty, none starting or ending with a hyphen.
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
}

/// Why a username was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Fewer than [`MIN_USERNAME_CHARS`] characters.
    #[error("username must be at least {MIN_USERNAME_CHARS} characters")]
    TooShort,
    /// More than [`MAX_USERNAME_CHARS`] characters.
    #[error("username must be at most {MAX_USERNAME_CHARS} characters")]
    TooLong,
    /// A character outside `A–Z a–z 0–9 _`.
    #[error("username may contain only letters, digits and underscores")]
    InvalidCharacter,
}

impl UsernameError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "username_too_short",
            Self::TooLong => "username_too_long",
            Self::InvalidCharacter => "username_invalid_character",
        }
    }
}

/// A username: 3–30 ASCII letters, digits or underscores, kept as typed (case preserved).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Validates `raw` exactly as given (no trimming: a stray space is an error the user sees).
    ///
    /// # Errors
    /// [`UsernameError::TooShort`], [`UsernameError::TooLong`] or
    /// [`UsernameError::InvalidCharacter`].
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(UsernameError::InvalidCharacter);
        }
        // All ASCII from here on, so bytes == chars.
        if raw.len() < MIN_USERNAME_CHARS {
            return Err(UsernameError::TooShort);
        }
        if raw.len() > MAX_USERNAME_CHARS {
            return Err(UsernameError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        let email = Email::parse("  Alice.Smith@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn full_width_characters_are_folded_by_nfkc() {
        // Full-width "ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ" is the same address as the ASCII one.
        let email = Email::parse("ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ").unwrap();
        assert_eq!(email.as_str(), "alice@example.com");
    }

    #[test]
    fn the_same_person_gets_the_same_canonical_email_on_every_path() {
        let a = Email::parse("Bob@Example.com").unwrap();
        let b = Email::parse(" bob@example.COM").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn an_empty_email_is_rejected() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn an_email_longer_than_254_bytes_is_rejected() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
        assert!(long.len() > MAX_EMAIL_BYTES);
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
        let fits = format!(
            "{}@{}.{}.com",
            "a".repeat(60),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert!(Email::parse(&fits).is_ok());
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for raw in [
            "plainaddress",
            "@example.com",
            "alice@",
            "alice@localhost",
            "a@b@example.com",
            "alice smith@example.com",
            "alice@exa mple.com",
            "alice\u{0}@example.com",
            "alice@example..com",
            "alice@.example.com",
            "alice@example.com.",
            ".alice@example.com",
            "al..ice@example.com",
            "alice@-example.com",
            "<alice>@example.com",
            "alice@example.com\r\nBcc: x@y.z",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Invalid), "{raw:?}");
        }
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(EmailError::Invalid.code(), "email_invalid");
        assert_eq!(UsernameError::TooLong.code(), "username_too_long");
    }

    #[test]
    fn usernames_of_3_to_30_word_characters_are_accepted() {
        assert_eq!(Username::parse("Bob_42").unwrap().as_str(), "Bob_42");
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"x".repeat(30)).is_ok());
    }

    #[test]
    fn usernames_outside_the_rules_are_rejected() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::TooShort));
        assert_eq!(
            Username::parse(&"x".repeat(31)),
            Err(UsernameError::TooLong)
        );
        assert_eq!(
            Username::parse("bob smith"),
            Err(UsernameError::InvalidCharacter)
        );
        assert_eq!(Username::parse("bøb"), Err(UsernameError::InvalidCharacter));
        assert_eq!(
            Username::parse("bob-1"),
            Err(UsernameError::InvalidCharacter)
        );
    }
}
