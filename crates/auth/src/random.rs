//! Operating-system randomness, surfaced as an error instead of a panic.

/// The platform random number generator failed (on wasm32: `crypto.getRandomValues` was missing
/// or threw).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Fills `buf` with cryptographically secure random bytes.
///
/// # Errors
/// Returns [`RandomError`] when the platform generator is unavailable.
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|_| RandomError)
}

/// Returns `N` cryptographically secure random bytes.
///
/// # Errors
/// Returns [`RandomError`] when the platform generator is unavailable.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Picks `len` characters uniformly from a 32-symbol `alphabet` (5 bits per character, so no
/// modulo bias).
pub(crate) fn string_from_alphabet32(
    alphabet: &[u8; 32],
    len: usize,
) -> Result<String, RandomError> {
    let mut raw = vec![0u8; len];
    fill(&mut raw)?;
    Ok(raw
        .iter()
        .map(|b| char::from(alphabet[usize::from(b & 0x1f)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_random_draws_differ() {
        let a = bytes::<32>().unwrap();
        let b = bytes::<32>().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn alphabet_strings_use_only_the_alphabet() {
        let alphabet = b"0123456789abcdefghjkmnpqrstvwxyz";
        let s = string_from_alphabet32(alphabet, 200).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.bytes().all(|c| alphabet.contains(&c)));
    }
}
