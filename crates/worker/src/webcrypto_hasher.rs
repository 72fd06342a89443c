//! The worker's [`PasswordHasher`]: PBKDF2-HMAC-SHA256 computed by the runtime's WebCrypto
//! (`crypto.subtle.importKey("raw", pw, "PBKDF2")` + `deriveBits({name: "PBKDF2", hash:
//! "SHA-256", salt, iterations}, 256)`), which is native code in workerd, instead of cl-auth's
//! wasm loop (about 5× slower; docs/security-primitives.md).
//!
//! cl-auth stays the reference: it parses and formats the PHC strings
//! (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`), so this hasher writes exactly the strings
//! `cl_app::accounts::Pbkdf2Hasher` writes and verifies the ones it wrote (and vice versa).
//! Verification compares in constant time (`PasswordHash::matches_derived`); unknown and
//! locked accounts get [`PasswordHasher::verify_dummy`], the same derivation against a fixed
//! salt. The password never leaves this module but as the bytes handed to `importKey` (the
//! JS copy is zeroed right after the import); nothing here logs.
//!
//! Pinned in workerd by the known-answer vector of docs/security-primitives.md through the
//! test worker `tests/d1-contract` (`POST /pbkdf2`), which compiles this file by path.

use cl_app::ports::{HashError, PasswordHasher};
use cl_auth::password::{PasswordHash, Pbkdf2Params, PBKDF2_HASH_LEN, PBKDF2_SALT_LEN};
use cl_auth::SecretString;
use worker::js_sys::{self, Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{Crypto, CryptoKey, SubtleCrypto};

/// The salt of [`PasswordHasher::verify_dummy`] (any fixed value: the result is discarded).
const DUMMY_SALT: [u8; PBKDF2_SALT_LEN] = *b"cl-dummy-salt-wc";

/// PBKDF2-HMAC-SHA256 through WebCrypto, at the given parameters for new hashes
/// (production: `Pbkdf2Params::OWASP`, 600,000 iterations).
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCryptoHasher {
    params: Pbkdf2Params,
}

impl WebCryptoHasher {
    /// A hasher writing new hashes at `params`.
    pub fn new(params: Pbkdf2Params) -> Self {
        Self { params }
    }

    /// The parameters of new hashes.
    pub fn params(&self) -> Pbkdf2Params {
        self.params
    }
}

/// `globalThis.crypto.subtle`.
fn subtle() -> Result<SubtleCrypto, HashError> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| unavailable("no globalThis.crypto"))?;
    if !crypto.is_object() {
        return Err(unavailable("no globalThis.crypto"));
    }
    Ok(crypto.unchecked_into::<Crypto>().subtle())
}

fn unavailable(what: &str) -> HashError {
    HashError::Unavailable(format!("webcrypto: {what}"))
}

/// The message of a rejected WebCrypto call (never contains the password: WebCrypto errors
/// name the operation, not the data).
fn js_error(what: &str, e: &JsValue) -> HashError {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .unwrap_or_default();
    unavailable(&format!("{what}: {detail}"))
}

/// PBKDF2-HMAC-SHA256(password, salt, iterations), `len` bytes (a multiple of 8 bits).
///
/// # Errors
/// [`HashError::Unavailable`] when WebCrypto is missing or refuses.
pub async fn derive(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<Vec<u8>, HashError> {
    let subtle = subtle()?;
    let bits = u32::try_from(len.saturating_mul(8)).map_err(|_| unavailable("length"))?;
    let raw = Uint8Array::from(password);
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let imported = subtle.import_key_with_str("raw", &raw, "PBKDF2", false, &usages);
    let key = match imported {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    // The JS copy of the password is no longer needed, whatever happened.
    raw.fill(0, 0, raw.length());
    let key: CryptoKey = key.map_err(|e| js_error("importKey", &e))?.unchecked_into();

    let algorithm = Object::new();
    let set = |k: &str, v: &JsValue| {
        Reflect::set(&algorithm, &JsValue::from_str(k), v)
            .map(|_| ())
            .map_err(|e| js_error("algorithm", &e))
    };
    set("name", &JsValue::from_str("PBKDF2"))?;
    set("hash", &JsValue::from_str("SHA-256"))?;
    set("salt", &Uint8Array::from(salt).into())?;
    set("iterations", &JsValue::from_f64(f64::from(iterations)))?;
    let promise = subtle
        .derive_bits_with_object(&algorithm, &key, bits)
        .map_err(|e| js_error("deriveBits", &e))?;
    let buffer = JsFuture::from(promise)
        .await
        .map_err(|e| js_error("deriveBits", &e))?;
    let view = Uint8Array::new(&buffer);
    let out = view.to_vec();
    view.fill(0, 0, view.length());
    if out.len() != len {
        return Err(unavailable("deriveBits returned the wrong length"));
    }
    Ok(out)
}

/// Hashes with a given salt (deterministic: known-answer tests and parity with cl-auth).
///
/// # Errors
/// [`HashError::Malformed`] for a salt shorter than 8 bytes or invalid parameters;
/// [`HashError::Unavailable`] when WebCrypto fails.
pub async fn hash_with_salt(
    password: &SecretString,
    salt: &[u8],
    params: &Pbkdf2Params,
) -> Result<SecretString, HashError> {
    let iterations = params.iterations();
    let mut derived = derive(
        password.expose_secret().as_bytes(),
        salt,
        iterations,
        PBKDF2_HASH_LEN,
    )
    .await?;
    let built = PasswordHash::from_derived(iterations, salt, &derived);
    derived.fill(0);
    built
        .map(|h| SecretString::new(h.to_phc_string()))
        .map_err(|e| HashError::Malformed(e.to_string()))
}

impl PasswordHasher for WebCryptoHasher {
    async fn hash(&self, password: &SecretString) -> Result<SecretString, HashError> {
        let salt = cl_auth::random::bytes::<PBKDF2_SALT_LEN>()
            .map_err(|e| HashError::Unavailable(e.to_string()))?;
        hash_with_salt(password, &salt, &self.params).await
    }

    async fn verify(&self, password: &SecretString, phc: &SecretString) -> Result<bool, HashError> {
        let stored = PasswordHash::parse(phc.expose_secret())
            .map_err(|e| HashError::Malformed(e.to_string()))?;
        let mut candidate = derive(
            password.expose_secret().as_bytes(),
            stored.salt(),
            stored.iterations(),
            stored.hash_len(),
        )
        .await?;
        let equal = stored.matches_derived(&candidate);
        candidate.fill(0);
        Ok(equal)
    }

    async fn verify_dummy(&self, password: &SecretString) {
        // The same work as a verification at the current parameters; the answer is discarded
        // (a WebCrypto failure here changes nothing: the caller answers "invalid" anyway).
        if let Ok(mut candidate) = derive(
            password.expose_secret().as_bytes(),
            &DUMMY_SALT,
            self.params.iterations(),
            PBKDF2_HASH_LEN,
        )
        .await
        {
            std::hint::black_box(candidate.iter().fold(0u8, |acc, b| acc | b));
            candidate.fill(0);
        }
    }

    fn needs_rehash(&self, phc: &SecretString) -> bool {
        PasswordHash::parse(phc.expose_secret()).is_ok_and(|h| h.needs_rehash(&self.params))
    }
}
