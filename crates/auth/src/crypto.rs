//! AES-256-GCM envelopes for secrets at rest (product.md §11.9, §11.11).
//!
//! Encoding: `v1.<key id>.<nonce>.<ciphertext+tag>` with base64url (no padding) for the binary
//! parts. The version and key id are bound into the AAD, so an envelope cannot be relabelled onto
//! another key. There is no plaintext fallback: anything that does not decrypt is an error.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use zeroize::{Zeroize, Zeroizing};

use crate::encoding::hex_decode;
use crate::random::{self, RandomError};
use crate::secret::SecretString;

/// Key length: 256 bits.
pub const KEY_BYTES: usize = 32;
/// Nonce length: 96 bits, random per message.
pub const NONCE_BYTES: usize = 12;
/// Longest accepted key id.
pub const MAX_KEY_ID_LEN: usize = 32;

const VERSION: &str = "v1";

/// Encryption and decryption failures. Decryption failures deliberately carry no detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key secret is not 32 bytes of hex or base64.
    #[error("an encryption key must be 32 bytes, given as 64 hex characters or base64")]
    InvalidKey,
    /// A key id is empty, too long, or uses characters outside `A–Z a–z 0–9 _ -`.
    #[error("a key id must be 1–{MAX_KEY_ID_LEN} characters of A–Z a–z 0–9 _ -")]
    InvalidKeyId,
    /// Two keys in a keyring share an id.
    #[error("duplicate key id {0}")]
    DuplicateKeyId(String),
    /// The envelope string is not `v1.<id>.<nonce>.<ct>`.
    #[error("malformed envelope")]
    Malformed,
    /// The envelope names a key the keyring does not hold.
    #[error("no key with id {0}")]
    UnknownKeyId(String),
    /// Authentication failed: tampered data, wrong AAD or wrong key.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The cipher refused to encrypt (plaintext too large).
    #[error("encryption failed")]
    EncryptionFailed,
    /// No randomness for the nonce.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A 256-bit AES key, zeroed on drop, never printed.
#[derive(Clone)]
pub struct EncryptionKey(Zeroizing<[u8; KEY_BYTES]>);

impl EncryptionKey {
    /// Parses a key secret: 64 hex characters, or base64 (standard or URL-safe, padded or not)
    /// of exactly 32 bytes. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for anything else.
    pub fn parse(secret: &SecretString) -> Result<Self, CryptoError> {
        let text = secret.expose_secret().trim();
        let mut decoded = if text.len() == 2 * KEY_BYTES {
            hex_decode(text)
        } else {
            None
        }
        .or_else(|| {
            [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        })
        .ok_or(CryptoError::InvalidKey)?;
        let key =
            <[u8; KEY_BYTES]>::try_from(decoded.as_slice()).map_err(|_| CryptoError::InvalidKey);
        decoded.zeroize();
        Ok(Self(Zeroizing::new(key?)))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Draws a fresh random key (setup command, tests).
    ///
    /// # Errors
    /// [`CryptoError::Random`] if no randomness is available.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self::from_bytes(random::bytes()?))
    }

    /// The key as base64, for writing into `.dev.vars` by the setup command.
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(STANDARD.encode(self.0.as_slice()))
    }

    fn cipher(&self) -> Result<Aes256Gcm, CryptoError> {
        Aes256Gcm::new_from_slice(self.0.as_slice()).map_err(|_| CryptoError::InvalidKey)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([REDACTED])")
    }
}

/// Identifies a key for rotation: `A–Z a–z 0–9 _ -`, 1–32 characters (no `.`, the envelope
/// separator).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKeyId`].
    pub fn parse(raw: &str) -> Result<Self, CryptoError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_KEY_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CryptoError::InvalidKeyId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An encrypted value with the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    key_id: KeyId,
    nonce: [u8; NONCE_BYTES],
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The 96-bit nonce.
    pub fn nonce(&self) -> &[u8; NONCE_BYTES] {
        &self.nonce
    }

    /// Ciphertext followed by the 16-byte tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The compact storage form `v1.<key id>.<nonce>.<ciphertext>`.
    pub fn encode(&self) -> String {
        format!(
            "{VERSION}.{}.{}.{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }

    /// Parses the storage form.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] or [`CryptoError::InvalidKeyId`].
    pub fn parse(encoded: &str) -> Result<Self, CryptoError> {
        let mut parts = encoded.split('.');
        let (Some(VERSION), Some(id), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CryptoError::Malformed);
        };
        let key_id = KeyId::parse(id)?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| CryptoError::Malformed)?;
        let nonce =
            <[u8; NONCE_BYTES]>::try_from(nonce.as_slice()).map_err(|_| CryptoError::Malformed)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ct)
            .map_err(|_| CryptoError::Malformed)?;
        // Shorter than a GCM tag cannot be valid.
        if ciphertext.len() < 16 {
            return Err(CryptoError::Malformed);
        }
        Ok(Self {
            key_id,
            nonce,
            ciphertext,
        })
    }
}

/// The AAD actually fed to GCM: version and key id, then the caller's context.
fn full_aad(key_id: &KeyId, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(VERSION.len() + key_id.0.len() + aad.len() + 2);
    out.extend_from_slice(VERSION.as_bytes());
    out.push(b'.');
    out.extend_from_slice(key_id.0.as_bytes());
    out.push(0);
    out.extend_from_slice(aad);
    out
}

/// Encrypts `plaintext` under `key` with a fresh random nonce.
///
/// # Errors
/// [`CryptoError::Random`] or [`CryptoError::EncryptionFailed`].
pub fn encrypt(
    key: &EncryptionKey,
    key_id: &KeyId,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Sealed, CryptoError> {
    let nonce = random::bytes::<NONCE_BYTES>()?;
    let ciphertext = key
        .cipher()?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &full_aad(key_id, aad),
            },
        )
        .map_err(|_| CryptoError::EncryptionFailed)?;
    Ok(Sealed {
        key_id: key_id.clone(),
        nonce,
        ciphertext,
    })
}

/// Decrypts `sealed` with `key`. The plaintext is zeroed when dropped.
///
/// # Errors
/// [`CryptoError::DecryptionFailed`] on any tampering, wrong AAD or wrong key.
pub fn decrypt(
    key: &EncryptionKey,
    sealed: &Sealed,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    key.cipher()?
        .decrypt(
            Nonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &full_aad(&sealed.key_id, aad),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::DecryptionFailed)
}

/// AAD for a user's TOTP secret.
pub fn totp_aad(user_id: &str) -> Vec<u8> {
    let mut aad = b"cl-totp-secret\0".to_vec();
    aad.extend_from_slice(user_id.as_bytes());
    aad
}

/// AAD for a user's exchange credentials. Lengths are prefixed so `("ab", "c")` and `("a", "bc")`
/// differ.
pub fn exchange_credentials_aad(user_id: &str, exchange: &str) -> Vec<u8> {
    let mut aad = b"cl-exchange-credentials\0".to_vec();
    for part in [user_id, exchange] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// The current key plus older keys that can still decrypt. Seal with the current key; open with
/// whichever key the envelope names; re-seal envelopes for which [`Keyring::needs_reseal`] is true.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: (KeyId, EncryptionKey),
    previous: Vec<(KeyId, EncryptionKey)>,
}

impl Keyring {
    /// A keyring with only a current key.
    pub fn new(current_id: KeyId, current_key: EncryptionKey) -> Self {
        Self {
            current: (current_id, current_key),
            previous: Vec::new(),
        }
    }

    /// Adds an older key that may still decrypt.
    ///
    /// # Errors
    /// [`CryptoError::DuplicateKeyId`] if the id is already present.
    pub fn with_previous(mut self, id: KeyId, key: EncryptionKey) -> Result<Self, CryptoError> {
        if self.key(&id).is_some() {
            return Err(CryptoError::DuplicateKeyId(id.0));
        }
        self.previous.push((id, key));
        Ok(self)
    }

    /// The id new envelopes are sealed with.
    pub fn current_id(&self) -> &KeyId {
        &self.current.0
    }

    fn key(&self, id: &KeyId) -> Option<&EncryptionKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(candidate, _)| candidate == id)
            .map(|(_, key)| key)
    }

    /// Encrypts with the current key.
    ///
    /// # Errors
    /// As [`encrypt`].
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CryptoError> {
        encrypt(&self.current.1, &self.current.0, plaintext, aad)
    }

    /// Decrypts with the key the envelope names.
    ///
    /// # Errors
    /// [`CryptoError::UnknownKeyId`] or [`CryptoError::DecryptionFailed`].
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = self
            .key(&sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKeyId(sealed.key_id.0.clone()))?;
        decrypt(key, sealed, aad)
    }

    /// Parses and decrypts a stored envelope string.
    ///
    /// # Errors
    /// As [`Sealed::parse`] and [`Keyring::open`].
    pub fn open_str(&self, encoded: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open(&Sealed::parse(encoded)?, aad)
    }

    /// Whether `sealed` was made with an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> EncryptionKey {
        EncryptionKey::from_bytes([byte; KEY_BYTES])
    }

    fn id(s: &str) -> KeyId {
        KeyId::parse(s).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_aad() {
        let aad = totp_aad("user-1");
        let sealed = encrypt(&key(1), &id("k1"), b"totp secret bytes", &aad).unwrap();
        assert_eq!(
            decrypt(&key(1), &sealed, &aad).unwrap().as_slice(),
            b"totp secret bytes"
        );
    }

    #[test]
    fn the_encoding_round_trips_and_has_four_dot_separated_parts() {
        let sealed = encrypt(&key(1), &id("2026-01"), b"x", b"aad").unwrap();
        let encoded = sealed.encode();
        assert!(encoded.starts_with("v1.2026-01."));
        assert_eq!(encoded.split('.').count(), 4);
        assert_eq!(Sealed::parse(&encoded).unwrap(), sealed);
    }

    #[test]
    fn each_encryption_uses_a_fresh_nonce() {
        let a = encrypt(&key(1), &id("k"), b"same", b"").unwrap();
        let b = encrypt(&key(1), &id("k"), b"same", b"").unwrap();
        assert_ne!(a.nonce(), b.nonce());
        assert_ne!(a.ciphertext(), b.ciphertext());
    }

    #[test]
    fn a_wrong_aad_fails_to_decrypt() {
        let sealed = encrypt(&key(1), &id("k"), b"secret", &totp_aad("user-1")).unwrap();
        assert_eq!(
            decrypt(&key(1), &sealed, &totp_aad("user-2")),
            Err(CryptoError::DecryptionFailed)
        );
    }

    #[test]
    fn a_wrong_key_fails_to_decrypt() {
        let sealed = encrypt(&key(1), &id("k"), b"secret", b"").unwrap();
        assert_eq!(
            decrypt(&key(2), &sealed, b""),
            Err(CryptoError::DecryptionFailed)
        );
    }

    #[test]
    fn any_flipped_bit_fails_to_decrypt() {
        let sealed = encrypt(&key(1), &id("k"), b"secret", b"").unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut tampered = sealed.clone();
            tampered.ciphertext[i] ^= 1;
            assert_eq!(
                decrypt(&key(1), &tampered, b""),
                Err(CryptoError::DecryptionFailed)
            );
        }
        let mut tampered = sealed.clone();
        tampered.nonce[0] ^= 1;
        assert_eq!(
            decrypt(&key(1), &tampered, b""),
            Err(CryptoError::DecryptionFailed)
        );
    }

    #[test]
    fn relabelling_an_envelope_with_another_key_id_fails() {
        let sealed = encrypt(&key(1), &id("old"), b"secret", b"").unwrap();
        let relabelled = sealed.encode().replacen(".old.", ".new.", 1);
        let ring = Keyring::new(id("new"), key(1))
            .with_previous(id("old"), key(1))
            .unwrap();
        assert_eq!(
            ring.open_str(&relabelled, b""),
            Err(CryptoError::DecryptionFailed)
        );
    }

    #[test]
    fn exchange_aad_binds_both_user_and_exchange_unambiguously() {
        let sealed = encrypt(
            &key(1),
            &id("k"),
            b"api-secret",
            &exchange_credentials_aad("ab", "c"),
        )
        .unwrap();
        assert!(decrypt(&key(1), &sealed, &exchange_credentials_aad("ab", "c")).is_ok());
        assert!(decrypt(&key(1), &sealed, &exchange_credentials_aad("a", "bc")).is_err());
        assert!(decrypt(&key(1), &sealed, &exchange_credentials_aad("ab", "d")).is_err());
    }

    #[test]
    fn a_keyring_opens_old_envelopes_and_flags_them_for_resealing() {
        let old = encrypt(&key(1), &id("k1"), b"secret", b"aad").unwrap();
        let ring = Keyring::new(id("k2"), key(2))
            .with_previous(id("k1"), key(1))
            .unwrap();
        assert_eq!(ring.open(&old, b"aad").unwrap().as_slice(), b"secret");
        assert!(ring.needs_reseal(&old));
        let fresh = ring.seal(b"secret", b"aad").unwrap();
        assert_eq!(fresh.key_id(), ring.current_id());
        assert!(!ring.needs_reseal(&fresh));
    }

    #[test]
    fn a_keyring_refuses_unknown_and_duplicate_key_ids() {
        let ring = Keyring::new(id("k2"), key(2));
        let sealed = encrypt(&key(9), &id("k9"), b"x", b"").unwrap();
        assert_eq!(
            ring.open(&sealed, b""),
            Err(CryptoError::UnknownKeyId("k9".into()))
        );
        assert!(matches!(
            ring.with_previous(id("k2"), key(3)),
            Err(CryptoError::DuplicateKeyId(_))
        ));
    }

    #[test]
    fn malformed_envelopes_are_rejected_without_panicking() {
        let good = encrypt(&key(1), &id("k"), b"x", b"").unwrap().encode();
        let parts: Vec<&str> = good.split('.').collect();
        for bad in [
            String::new(),
            "v1".into(),
            good.replacen("v1", "v2", 1),
            format!("{good}.extra"),
            format!("v1..{}.{}", parts[2], parts[3]),
            format!("v1.k.{}.{}", "AAAA", parts[3]),
            format!("v1.k.{}.{}", parts[2], "AAAA"),
            format!("v1.k.{}.{}", parts[2], "!!!"),
            // A plaintext value from a legacy column must not be accepted.
            "JBSWY3DPEHPK3PXP".into(),
        ] {
            assert!(Sealed::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_parse_from_hex_or_base64_of_exactly_32_bytes() {
        let bytes: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let hex = crate::encoding::hex_encode(&bytes);
        let b64 = STANDARD.encode(bytes);
        let b64url = URL_SAFE_NO_PAD.encode(bytes);
        for text in [
            hex.clone(),
            hex.to_uppercase(),
            b64,
            b64url,
            format!("  {hex}\n"),
        ] {
            let parsed = EncryptionKey::parse(&SecretString::new(text.clone())).unwrap();
            assert_eq!(*parsed.0, bytes, "{text}");
        }
        for bad in [
            "",
            "abcd",
            &hex[..62],
            &STANDARD.encode([0u8; 31]),
            &STANDARD.encode([0u8; 33]),
        ] {
            assert_eq!(
                EncryptionKey::parse(&SecretString::new(bad)).unwrap_err(),
                CryptoError::InvalidKey
            );
        }
    }

    #[test]
    fn a_generated_key_round_trips_through_its_base64_form() {
        let key = EncryptionKey::generate().unwrap();
        let again = EncryptionKey::parse(&key.to_base64()).unwrap();
        assert_eq!(*key.0, *again.0);
        assert_eq!(format!("{key:?}"), "EncryptionKey([REDACTED])");
    }

    #[test]
    fn key_ids_exclude_the_separator_and_odd_characters() {
        assert!(KeyId::parse("2026_q1-a").is_ok());
        for bad in ["", "a.b", "a b", "ключ", &"k".repeat(33)] {
            assert_eq!(KeyId::parse(bad), Err(CryptoError::InvalidKeyId), "{bad}");
        }
    }
}
