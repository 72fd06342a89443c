//! RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s, ±1 step) and single-use recovery codes
//! (product.md §11.9).
//!
//! The caller stores the last accepted step per user and passes it back in, so a code can never be
//! used twice, not even inside its own 90-second window.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::encoding::{base32_encode, hex_decode, hex_encode};
use crate::random::{self, RandomError};
use crate::secret::SecretString;

/// Secret length: 160 bits, as RFC 4226 recommends for HMAC-SHA1.
pub const TOTP_SECRET_BYTES: usize = 20;
/// Code length.
pub const TOTP_DIGITS: u32 = 6;
/// Time step in seconds.
pub const TOTP_STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one.
pub const TOTP_WINDOW_STEPS: i64 = 1;
/// Issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "CryptoLens Edge";
/// Recovery codes issued per enrolment.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Crockford base32, lowercase: no `i l o u`, so codes survive being read aloud or copied by hand.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_CODE_CHARS: usize = 10;

/// TOTP and recovery-code failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not six ASCII digits (after removing spaces).
    #[error("the code is not six digits")]
    Malformed,
    /// No step in the window matches.
    #[error("the code is wrong or expired")]
    Invalid,
    /// The code matches a step at or before the last one already used.
    #[error("the code was already used")]
    Reused,
    /// A stored secret has the wrong length.
    #[error("a TOTP secret must be {TOTP_SECRET_BYTES} bytes")]
    InvalidSecret,
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A 160-bit TOTP secret, zeroed on drop. Store it only encrypted (see `crypto`).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; TOTP_SECRET_BYTES]);

impl TotpSecret {
    /// Draws a new random secret.
    ///
    /// # Errors
    /// [`TotpError::Random`] if no randomness is available.
    pub fn generate() -> Result<Self, TotpError> {
        Ok(Self(random::bytes()?))
    }

    /// Rebuilds a secret from decrypted bytes.
    ///
    /// # Errors
    /// [`TotpError::InvalidSecret`] unless exactly 20 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        let array =
            <[u8; TOTP_SECRET_BYTES]>::try_from(bytes).map_err(|_| TotpError::InvalidSecret)?;
        Ok(Self(array))
    }

    /// The raw bytes (to encrypt for storage).
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The manual-entry key: RFC 4648 base32, no padding.
    pub fn to_base32(&self) -> SecretString {
        SecretString::new(base32_encode(&self.0))
    }

    /// The `otpauth://totp/...` URI for the QR code. `account` is the user's email.
    pub fn otpauth_uri(&self, account: &str) -> SecretString {
        let label = format!(
            "{}:{}",
            percent_encode(TOTP_ISSUER),
            percent_encode(account)
        );
        SecretString::new(format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            base32_encode(&self.0),
            percent_encode(TOTP_ISSUER),
        ))
    }

    /// The code for a given step.
    pub fn code_at_step(&self, step: u64) -> String {
        format!("{:06}", hotp(&self.0, step, TOTP_DIGITS))
    }

    /// Checks `code` at `now_ms` (UTC milliseconds) against the current step ±1, refusing any step
    /// at or before `last_used_step`. Returns the matched step, which the caller stores as the new
    /// `last_used_step`.
    ///
    /// # Errors
    /// [`TotpError::Malformed`], [`TotpError::Invalid`] or [`TotpError::Reused`].
    pub fn verify(
        &self,
        code: &str,
        now_ms: i64,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let current = step_at(now_ms);
        // Every candidate is computed and compared, so timing does not reveal which one matched.
        let mut matched: Option<u64> = None;
        for offset in -TOTP_WINDOW_STEPS..=TOTP_WINDOW_STEPS {
            let Some(step) = current.checked_add_signed(offset) else {
                continue;
            };
            let expected = self.code_at_step(step);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
                matched = Some(step);
            }
        }
        let step = matched.ok_or(TotpError::Invalid)?;
        match last_used_step {
            Some(last) if step <= last => Err(TotpError::Reused),
            _ => Ok(step),
        }
    }
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// The TOTP step containing `now_ms` (UTC milliseconds); times before 1970 map to step 0.
pub fn step_at(now_ms: i64) -> u64 {
    u64::try_from(now_ms.div_euclid(1000).div_euclid(TOTP_STEP_SECS)).unwrap_or(0)
}

/// RFC 4226 HOTP value (HMAC-SHA1, dynamic truncation) reduced to `digits` digits (1..=9).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits.clamp(1, 9))
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Generates [`RECOVERY_CODE_COUNT`] recovery codes shaped `xxxx-xxxx-xx` (50 random bits each).
/// Show them once; store only [`hash_recovery_code`] of each.
///
/// # Errors
/// [`TotpError::Random`] if no randomness is available.
pub fn generate_recovery_codes() -> Result<Vec<SecretString>, TotpError> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let raw = random::string_from_alphabet32(RECOVERY_ALPHABET, RECOVERY_CODE_CHARS)?;
            Ok(SecretString::new(format!(
                "{}-{}-{}",
                &raw[..4],
                &raw[4..8],
                &raw[8..]
            )))
        })
        .collect()
}

/// Canonical form of a typed recovery code: lowercase, dashes and spaces removed, Crockford's
/// look-alikes (`o`→`0`, `i`/`l`→`1`) folded. `None` if it cannot be a code.
fn normalize_recovery_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(RECOVERY_CODE_CHARS);
    for c in input.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == RECOVERY_CODE_CHARS).then_some(out)
}

fn recovery_mac(key: &SecretString, user_id: &str, normalized: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).ok()?;
    // Domain label and user id: a hash row copied to another user is useless.
    mac.update(b"cl-recovery-v1\0");
    mac.update(user_id.as_bytes());
    mac.update(b"\0");
    mac.update(normalized.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// Storage form of a recovery code: hex HMAC-SHA256(key, label ‖ user id ‖ code). Keyed so a leaked
/// table cannot be brute-forced offline (50 bits is too few for a plain hash).
///
/// # Errors
/// [`TotpError::Malformed`] if `code` is not a recovery code.
pub fn hash_recovery_code(
    key: &SecretString,
    user_id: &str,
    code: &str,
) -> Result<String, TotpError> {
    let normalized = normalize_recovery_code(code).ok_or(TotpError::Malformed)?;
    recovery_mac(key, user_id, &normalized)
        .map(|m| hex_encode(&m))
        .ok_or(TotpError::Malformed)
}

/// Finds `code` among the user's unused stored hashes, comparing each in constant time. Returns
/// the index of the match, which the caller deletes in the same transaction (single use).
pub fn find_recovery_code<S: AsRef<str>>(
    key: &SecretString,
    user_id: &str,
    code: &str,
    stored_hashes: &[S],
) -> Option<usize> {
    let normalized = normalize_recovery_code(code)?;
    let candidate = recovery_mac(key, user_id, &normalized)?;
    let mut found = None;
    for (index, stored) in stored_hashes.iter().enumerate() {
        let Some(stored) = hex_decode(stored.as_ref()) else {
            continue;
        };
        if bool::from(stored.ct_eq(&candidate)) && found.is_none() {
            found = Some(index);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8; 20] = b"12345678901234567890";

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SEED).unwrap()
    }

    #[test]
    fn hotp_matches_the_rfc_6238_appendix_b_sha1_vectors() {
        let vectors: [(i64, u32); 6] = [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        for (unix_secs, eight_digits) in vectors {
            let step = step_at(unix_secs * 1000);
            assert_eq!(hotp(RFC_SEED, step, 8), eight_digits, "t={unix_secs}");
            // A six-digit code is the same truncation reduced mod 10^6.
            assert_eq!(
                rfc_secret().code_at_step(step),
                format!("{:06}", eight_digits % 1_000_000),
                "t={unix_secs}"
            );
        }
    }

    #[test]
    fn the_current_code_verifies_and_returns_its_step() {
        let now_ms = 1_111_111_109_000;
        assert_eq!(
            rfc_secret().verify("081804", now_ms, None),
            Ok(step_at(now_ms))
        );
    }

    #[test]
    fn codes_one_step_either_side_are_accepted_but_two_steps_are_not() {
        let secret = rfc_secret();
        let now_ms = 1_234_567_890_000;
        let step = step_at(now_ms);
        assert_eq!(
            secret.verify(&secret.code_at_step(step - 1), now_ms, None),
            Ok(step - 1)
        );
        assert_eq!(
            secret.verify(&secret.code_at_step(step + 1), now_ms, None),
            Ok(step + 1)
        );
        assert_eq!(
            secret.verify(&secret.code_at_step(step - 2), now_ms, None),
            Err(TotpError::Invalid)
        );
        assert_eq!(
            secret.verify(&secret.code_at_step(step + 2), now_ms, None),
            Err(TotpError::Invalid)
        );
    }

    #[test]
    fn a_code_at_or_before_the_last_used_step_is_refused() {
        let secret = rfc_secret();
        let now_ms = 1_234_567_890_000;
        let step = step_at(now_ms);
        let code = secret.code_at_step(step);
        assert_eq!(
            secret.verify(&code, now_ms, Some(step)),
            Err(TotpError::Reused)
        );
        assert_eq!(
            secret.verify(&code, now_ms, Some(step + 1)),
            Err(TotpError::Reused)
        );
        assert_eq!(secret.verify(&code, now_ms, Some(step - 1)), Ok(step));
    }

    #[test]
    fn malformed_codes_are_rejected_before_any_comparison() {
        let secret = rfc_secret();
        for code in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                secret.verify(code, 0, None),
                Err(TotpError::Malformed),
                "{code}"
            );
        }
        // Spaces typed between digit groups are fine.
        let now_ms = 59_000;
        let code = secret.code_at_step(step_at(now_ms));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(secret.verify(&spaced, now_ms, None).is_ok());
    }

    #[test]
    fn generated_secrets_are_160_bits_and_encode_to_32_base32_characters() {
        let secret = TotpSecret::generate().unwrap();
        assert_eq!(secret.expose_bytes().len(), 20);
        let key = secret.to_base32();
        assert_eq!(key.len(), 32);
        assert!(!key.expose_secret().contains('='));
        assert_eq!(
            crate::encoding::base32_decode(key.expose_secret()).unwrap(),
            secret.expose_bytes()
        );
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_and_the_url_encoded_email() {
        let uri = rfc_secret().otpauth_uri("alice+2fa@example.com");
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/CryptoLens%20Edge:alice%2B2fa%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=CryptoLens%20Edge\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn secrets_of_the_wrong_length_are_rejected() {
        assert_eq!(
            TotpSecret::from_bytes(&[0; 19]),
            Err(TotpError::InvalidSecret)
        );
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret([REDACTED])");
    }

    #[test]
    fn ten_distinct_recovery_codes_are_generated_in_the_xxxx_xxxx_xx_shape() {
        let codes = generate_recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let s = code.expose_secret();
            assert_eq!(s.len(), 12);
            assert_eq!(&s[4..5], "-");
            assert_eq!(&s[9..10], "-");
        }
        let mut unique: Vec<&str> = codes.iter().map(SecretString::expose_secret).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn a_recovery_code_is_found_by_its_hash_whatever_its_formatting() {
        let key = SecretString::new("k".repeat(32));
        let codes = generate_recovery_codes().unwrap();
        let stored: Vec<String> = codes
            .iter()
            .map(|c| hash_recovery_code(&key, "user-1", c.expose_secret()).unwrap())
            .collect();
        let third = codes[2].expose_secret().to_uppercase().replace('-', " ");
        assert_eq!(find_recovery_code(&key, "user-1", &third, &stored), Some(2));
    }

    #[test]
    fn a_recovery_code_does_not_work_for_another_user_or_when_unknown() {
        let key = SecretString::new("k".repeat(32));
        let stored = vec![hash_recovery_code(&key, "user-1", "abcd-efgh-jk").unwrap()];
        assert_eq!(
            find_recovery_code(&key, "user-2", "abcd-efgh-jk", &stored),
            None
        );
        assert_eq!(
            find_recovery_code(&key, "user-1", "abcd-efgh-jm", &stored),
            None
        );
        assert_eq!(
            find_recovery_code(&key, "user-1", "not a code", &stored),
            None
        );
        assert_eq!(
            find_recovery_code(&key, "user-1", "abcd-efgh-jk", &["zz"]),
            None
        );
    }

    #[test]
    fn crockford_look_alikes_are_folded_when_hashing() {
        let key = SecretString::new("k".repeat(32));
        let a = hash_recovery_code(&key, "u", "0000-1111-00").unwrap();
        let b = hash_recovery_code(&key, "u", "oOoO-iIlL-Oo").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            hash_recovery_code(&key, "u", "short"),
            Err(TotpError::Malformed)
        );
    }
}
