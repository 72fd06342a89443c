//! Random tokens: sessions, CSRF, email verification and password reset, API keys and ntfy
//! topics (product.md §11.6, §11.7, §11.10, §11.21).
//!
//! Only hashes are stored. Session, verification and reset tokens carry 256 random bits, so a
//! plain SHA-256 is enough for storage; API keys are hashed with a server pepper as the spec asks.
//! CSRF tokens are derived, not stored: HMAC(session key, "csrf" ‖ session token hash), so they
//! rotate with the session and need no extra column.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::encoding::{hex_decode, hex_encode};
use crate::random::{self, RandomError};
use crate::secret::SecretString;

/// Random bytes in session, verification, reset and API-key secrets (256 bits).
pub const TOKEN_BYTES: usize = 32;
/// Length of such a token in base64url without padding.
pub const TOKEN_CHARS: usize = 43;
/// Literal start of every API key.
pub const API_KEY_PREFIX: &str = "cle_";
/// Length of the public lookup part of an API key.
pub const API_KEY_LOOKUP_CHARS: usize = 8;
/// Total length of an API key: `cle_` + 8 + `_` + 43.
pub const API_KEY_LEN: usize = API_KEY_PREFIX.len() + API_KEY_LOOKUP_CHARS + 1 + TOKEN_CHARS;
/// Literal start of every ntfy topic.
pub const NTFY_TOPIC_PREFIX: &str = "cl_";

/// Lowercase alphabet for API-key lookup prefixes (no `_`, which separates the parts).
const LOOKUP_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

type HmacSha256 = Hmac<Sha256>;

/// Token failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The presented value is not a token of the expected shape.
    #[error("malformed token")]
    Malformed,
    /// The key or pepper could not key HMAC.
    #[error("invalid key")]
    InvalidKey,
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// SHA-256 of a token: what the database stores and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hex form for storage.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }

    /// Parses the stored hex form.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless 64 hex characters.
    pub fn from_hex(hex: &str) -> Result<Self, TokenError> {
        let bytes = hex_decode(hex).ok_or(TokenError::Malformed)?;
        Ok(Self(
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| TokenError::Malformed)?,
        ))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in a debugger without printing a lookup key.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn hmac_sha256(key: &SecretString, parts: &[&[u8]]) -> Result<[u8; 32], TokenError> {
    let mut mac = HmacSha256::new_from_slice(key.expose_secret().as_bytes())
        .map_err(|_| TokenError::InvalidKey)?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

fn random_token() -> Result<SecretString, TokenError> {
    Ok(SecretString::new(
        URL_SAFE_NO_PAD.encode(random::bytes::<TOKEN_BYTES>()?),
    ))
}

/// Whether `s` is exactly a canonical base64url encoding of 32 bytes.
fn is_token_shaped(s: &str) -> bool {
    s.len() == TOKEN_CHARS
        && URL_SAFE_NO_PAD
            .decode(s)
            .is_ok_and(|b| b.len() == TOKEN_BYTES)
}

macro_rules! opaque_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(SecretString);

        impl $name {
            /// Draws a new 256-bit token.
            ///
            /// # Errors
            /// [`TokenError::Random`] if no randomness is available.
            pub fn generate() -> Result<Self, TokenError> {
                random_token().map(Self)
            }

            /// Accepts a presented token if it has the right shape (43 base64url characters).
            ///
            /// # Errors
            /// [`TokenError::Malformed`] otherwise.
            pub fn parse(presented: &str) -> Result<Self, TokenError> {
                if is_token_shaped(presented) {
                    Ok(Self(SecretString::new(presented)))
                } else {
                    Err(TokenError::Malformed)
                }
            }

            /// The token to hand to the client.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// SHA-256 of the token, the only form that is stored.
            pub fn hash(&self) -> TokenHash {
                TokenHash(sha256(self.0.expose_secret().as_bytes()))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }
    };
}

opaque_token!(
    /// A session token (cookie value). The session row is keyed by its [`TokenHash`].
    SessionToken
);

opaque_token!(
    /// An email-verification or password-reset token, sent in a URL fragment and stored hashed.
    OneTimeToken
);

/// A CSRF token derived from the session: base64url HMAC-SHA256(key, "cl-csrf-v1" ‖ session hash).
/// Works the same for the pre-session cookie used on login and register.
///
/// # Errors
/// [`TokenError::InvalidKey`] if the key cannot key HMAC (never for HMAC-SHA256).
pub fn csrf_token(key: &SecretString, session: &TokenHash) -> Result<SecretString, TokenError> {
    let mac = hmac_sha256(key, &[b"cl-csrf-v1\0", &session.0])?;
    Ok(SecretString::new(URL_SAFE_NO_PAD.encode(mac)))
}

/// Checks a presented CSRF token against the session in constant time.
pub fn verify_csrf_token(key: &SecretString, session: &TokenHash, presented: &str) -> bool {
    let Ok(expected) = csrf_token(key, session) else {
        return false;
    };
    bool::from(
        expected
            .expose_secret()
            .as_bytes()
            .ct_eq(presented.as_bytes()),
    )
}

/// An API key `cle_<lookup>_<secret>`: the 8-character lookup part finds the row, the 256-bit
/// secret proves possession.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Draws a new key. Show [`ApiKey::expose_secret`] once; store [`ApiKey::lookup`],
    /// [`ApiKey::hash`] and [`ApiKey::last4`].
    ///
    /// # Errors
    /// [`TokenError::Random`] if no randomness is available.
    pub fn generate() -> Result<Self, TokenError> {
        let lookup = random::string_from_alphabet32(LOOKUP_ALPHABET, API_KEY_LOOKUP_CHARS)?;
        let secret = random_token()?;
        Ok(Self(SecretString::new(format!(
            "{API_KEY_PREFIX}{lookup}_{}",
            secret.expose_secret()
        ))))
    }

    /// Parses a presented key. Never panics; any deviation from the exact shape is rejected.
    ///
    /// # Errors
    /// [`TokenError::Malformed`].
    pub fn parse(presented: &str) -> Result<Self, TokenError> {
        // Split by position, not by `_`: the base64url secret may itself contain `_`.
        let bytes = presented.as_bytes();
        if bytes.len() != API_KEY_LEN
            || !presented.is_ascii()
            || !presented.starts_with(API_KEY_PREFIX)
        {
            return Err(TokenError::Malformed);
        }
        let lookup_end = API_KEY_PREFIX.len() + API_KEY_LOOKUP_CHARS;
        let lookup = &bytes[API_KEY_PREFIX.len()..lookup_end];
        if !lookup.iter().all(|b| LOOKUP_ALPHABET.contains(b)) || bytes[lookup_end] != b'_' {
            return Err(TokenError::Malformed);
        }
        if !is_token_shaped(&presented[lookup_end + 1..]) {
            return Err(TokenError::Malformed);
        }
        Ok(Self(SecretString::new(presented)))
    }

    /// The public lookup part (8 characters), indexed in the database.
    pub fn lookup(&self) -> &str {
        let start = API_KEY_PREFIX.len();
        self.0
            .expose_secret()
            .get(start..start + API_KEY_LOOKUP_CHARS)
            .unwrap_or("")
    }

    /// The last four characters, for display as `cle_…abcd`.
    pub fn last4(&self) -> &str {
        let key = self.0.expose_secret();
        key.get(key.len().saturating_sub(4)..).unwrap_or("")
    }

    /// The whole key, to show once.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Storage form: hex HMAC-SHA256(pepper, whole key).
    ///
    /// # Errors
    /// [`TokenError::InvalidKey`] if the pepper cannot key HMAC (never for HMAC-SHA256).
    pub fn hash(&self, pepper: &SecretString) -> Result<String, TokenError> {
        hmac_sha256(pepper, &[self.0.expose_secret().as_bytes()]).map(|m| hex_encode(&m))
    }

    /// Compares this key with a stored hash in constant time.
    pub fn verify(&self, pepper: &SecretString, stored_hash_hex: &str) -> bool {
        let (Ok(candidate), Some(stored)) = (
            hmac_sha256(pepper, &[self.0.expose_secret().as_bytes()]),
            hex_decode(stored_hash_hex),
        ) else {
            return false;
        };
        bool::from(candidate.as_slice().ct_eq(&stored))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({API_KEY_PREFIX}{}_[REDACTED])", self.lookup())
    }
}

/// Parses a presented API key (see [`ApiKey::parse`]).
///
/// # Errors
/// [`TokenError::Malformed`].
pub fn parse_api_key(presented: &str) -> Result<ApiKey, TokenError> {
    ApiKey::parse(presented)
}

/// A fresh ntfy topic: `cl_` + 16 random hex characters (64 bits; topics are unguessable names,
/// not credentials).
///
/// # Errors
/// [`TokenError::Random`] if no randomness is available.
pub fn generate_ntfy_topic() -> Result<String, TokenError> {
    Ok(format!(
        "{NTFY_TOPIC_PREFIX}{}",
        hex_encode(&random::bytes::<8>()?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretString {
        SecretString::new("s".repeat(32))
    }

    #[test]
    fn session_tokens_are_43_base64url_characters_and_unique() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_eq!(a.expose_secret().len(), TOKEN_CHARS);
        assert_ne!(a, b);
        assert_eq!(SessionToken::parse(a.expose_secret()).unwrap(), a);
    }

    #[test]
    fn a_token_hash_is_the_sha256_of_the_token_text() {
        let token = SessionToken::generate().unwrap();
        let expected = hex_encode(&Sha256::digest(token.expose_secret().as_bytes()));
        assert_eq!(token.hash().to_hex(), expected);
        assert_eq!(TokenHash::from_hex(&expected).unwrap(), token.hash());
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let good = OneTimeToken::generate().unwrap();
        let s = good.expose_secret();
        for bad in [
            String::new(),
            s[..42].to_string(),
            format!("{s}A"),
            format!("{}+", &s[..42]),
            format!("{}=", &s[..42]),
        ] {
            assert_eq!(
                OneTimeToken::parse(&bad),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(TokenHash::from_hex("abcd"), Err(TokenError::Malformed));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let token = SessionToken::generate().unwrap();
        assert_eq!(format!("{token:?}"), "SessionToken([REDACTED])");
        assert!(!format!("{:?}", token.hash()).contains(&token.hash().to_hex()));
    }

    #[test]
    fn a_csrf_token_verifies_only_for_its_own_session_and_key() {
        let session = SessionToken::generate().unwrap().hash();
        let other = SessionToken::generate().unwrap().hash();
        let token = csrf_token(&key(), &session).unwrap();
        assert!(verify_csrf_token(&key(), &session, token.expose_secret()));
        assert!(!verify_csrf_token(&key(), &other, token.expose_secret()));
        assert!(!verify_csrf_token(
            &SecretString::new("t".repeat(32)),
            &session,
            token.expose_secret()
        ));
        assert!(!verify_csrf_token(&key(), &session, ""));
        assert!(!verify_csrf_token(
            &key(),
            &session,
            &token.expose_secret()[1..]
        ));
    }

    #[test]
    fn a_generated_api_key_has_the_documented_shape() {
        let api_key = ApiKey::generate().unwrap();
        let s = api_key.expose_secret();
        assert_eq!(s.len(), API_KEY_LEN);
        assert!(s.starts_with("cle_"));
        assert_eq!(&s[12..13], "_");
        assert_eq!(api_key.lookup(), &s[4..12]);
        assert_eq!(api_key.last4(), &s[s.len() - 4..]);
        assert_eq!(parse_api_key(s).unwrap(), api_key);
    }

    #[test]
    fn an_api_key_verifies_against_its_peppered_hash_only() {
        let api_key = ApiKey::generate().unwrap();
        let stored = api_key.hash(&key()).unwrap();
        assert_eq!(stored.len(), 64);
        assert!(api_key.verify(&key(), &stored));
        assert!(!api_key.verify(&SecretString::new("p".repeat(32)), &stored));
        assert!(!ApiKey::generate().unwrap().verify(&key(), &stored));
        assert!(!api_key.verify(&key(), "not hex"));
        // Legacy unpeppered SHA-256 must not match.
        assert!(!api_key.verify(
            &key(),
            &hex_encode(&Sha256::digest(api_key.expose_secret().as_bytes()))
        ));
    }

    #[test]
    fn malformed_api_keys_are_rejected_without_panicking() {
        let good = ApiKey::generate().unwrap().expose_secret().to_owned();
        let bad = [
            String::new(),
            "cle_".into(),
            good.replacen("cle_", "clx_", 1),
            format!("{good}x"),
            good[..good.len() - 1].to_string(),
            format!("{}I{}", &good[..4], &good[5..]),
            format!("{}-{}", &good[..12], &good[13..]),
            format!("{}é", &good[..good.len() - 2]),
            format!("{}+", &good[..good.len() - 1]),
            "x".repeat(API_KEY_LEN),
        ];
        for candidate in bad {
            assert_eq!(
                parse_api_key(&candidate),
                Err(TokenError::Malformed),
                "{candidate}"
            );
        }
        assert!(format!("{:?}", ApiKey::parse(&good).unwrap()).ends_with("_[REDACTED])"));
    }

    #[test]
    fn ntfy_topics_are_cl_plus_16_hex_characters() {
        let topic = generate_ntfy_topic().unwrap();
        assert_eq!(topic.len(), 19);
        assert!(topic.starts_with("cl_"));
        assert!(topic[3..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(topic, generate_ntfy_topic().unwrap());
    }
}
