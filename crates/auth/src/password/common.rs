//! The bundled list of common passwords (Django's `common-passwords.txt.gz`; provenance in
//! `docs/security-primitives.md`), decoded once on first use into a sorted index.

use std::io::Read;
use std::sync::OnceLock;

use flate2::read::GzDecoder;

/// Gzipped, one lowercase password per line.
const COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

/// All passwords in one string plus sorted `(start, end)` byte spans: one allocation for the text
/// instead of one per entry.
struct CommonPasswords {
    text: String,
    spans: Vec<(usize, usize)>,
}

impl CommonPasswords {
    fn decode() -> Option<Self> {
        let mut text = String::with_capacity(COMMON_PASSWORDS_GZ.len() * 3);
        GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .ok()?;
        let mut spans = Vec::with_capacity(20_000);
        let mut start = 0;
        for line in text.split('\n') {
            let end = start + line.len();
            let entry = line.trim_end_matches('\r');
            if !entry.is_empty() {
                spans.push((start, start + entry.len()));
            }
            start = end + 1;
        }
        spans.sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        spans.dedup_by(|a, b| text[a.0..a.1] == text[b.0..b.1]);
        Some(Self { text, spans })
    }

    fn contains(&self, candidate: &str) -> bool {
        self.spans
            .binary_search_by(|&(s, e)| self.text[s..e].cmp(candidate))
            .is_ok()
    }
}

fn list() -> Option<&'static CommonPasswords> {
    static LIST: OnceLock<Option<CommonPasswords>> = OnceLock::new();
    LIST.get_or_init(CommonPasswords::decode).as_ref()
}

/// Whether `password`, lowercased, is on the bundled list. `None` if the list cannot be decoded
/// (the policy then fails closed). O(log n) after the first call.
pub fn is_common_password(password: &str) -> Option<bool> {
    let list = list()?;
    Some(list.contains(&password.to_lowercase()))
}

/// Number of distinct entries in the bundled list (`None` if it cannot be decoded).
pub fn common_password_count() -> Option<usize> {
    list().map(|l| l.spans.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_holds_at_least_ten_thousand_passwords() {
        let count = common_password_count().unwrap();
        assert!(count >= 10_000, "only {count} entries");
    }

    #[test]
    fn well_known_passwords_are_on_the_list() {
        for pw in ["123456", "password", "qwerty", "iloveyou", "PassWord"] {
            assert_eq!(is_common_password(pw), Some(true), "{pw}");
        }
    }

    #[test]
    fn a_random_looking_password_is_not_on_the_list() {
        assert_eq!(is_common_password("vT9#qLm2!zR8"), Some(false));
        assert_eq!(is_common_password(""), Some(false));
    }
}
