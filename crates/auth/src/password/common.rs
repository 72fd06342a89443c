//! The bundled list of common passwords: Django's `common-passwords.txt.gz`, decompressed and
//! sorted bytewise (provenance and the size measurement behind storing it uncompressed are in
//! `docs/security-primitives.md`).
//!
//! Lookup is a binary search straight over the embedded text, so there is no start-up decode, no
//! index to build and no allocation beyond lowercasing the candidate.

use std::cmp::Ordering;

/// One lowercase password per `\n`-terminated line, sorted by bytes, no duplicates.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// The line of `list` that contains byte offset `at`, as `(start, end)` with `end` at its `\n`.
fn line_around(list: &str, at: usize) -> (usize, usize) {
    let bytes = list.as_bytes();
    let start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| at + p);
    (start, end)
}

/// Binary search over the lines of a sorted list. O(log n) probes, each scanning one line.
fn sorted_lines_contain(list: &str, needle: &str) -> bool {
    // Invariant: `low` is a line start, `high` is a line start or the end of the text.
    let (mut low, mut high) = (0, list.len());
    while low < high {
        let (start, end) = line_around(list, low + (high - low) / 2);
        match list[start..end].cmp(needle) {
            Ordering::Equal => return true,
            Ordering::Less => low = end + 1,
            Ordering::Greater => high = start,
        }
    }
    false
}

/// Whether `password`, lowercased, is on the bundled list.
pub fn is_common_password(password: &str) -> bool {
    // No list entry contains a newline, and a candidate with one must not split into two probes.
    !password.contains('\n') && sorted_lines_contain(COMMON_PASSWORDS, &password.to_lowercase())
}

/// Number of entries in the bundled list.
pub fn common_password_count() -> usize {
    COMMON_PASSWORDS.lines().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_holds_at_least_ten_thousand_passwords() {
        assert!(
            common_password_count() >= 10_000,
            "only {}",
            common_password_count()
        );
    }

    #[test]
    fn the_bundled_list_is_sorted_unique_lowercase_and_newline_terminated() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(lines
            .iter()
            .all(|l| !l.is_empty() && *l == l.to_lowercase()));
        assert!(COMMON_PASSWORDS.ends_with('\n'));
    }

    #[test]
    fn every_entry_of_the_list_is_found() {
        for line in COMMON_PASSWORDS.lines() {
            assert!(is_common_password(line), "{line}");
        }
    }

    #[test]
    fn well_known_passwords_are_on_the_list_whatever_their_case() {
        for pw in ["123456", "password", "qwerty", "iloveyou", "PassWord"] {
            assert!(is_common_password(pw), "{pw}");
        }
    }

    #[test]
    fn passwords_not_on_the_list_are_not_found() {
        for pw in [
            "vT9#qLm2!zR8",
            "",
            "\n",
            "password\n123456",
            "zzzzzzzzzzzzzzzzzzzz~",
        ] {
            assert!(!is_common_password(pw), "{pw:?}");
        }
    }

    #[test]
    fn the_search_handles_the_first_and_last_lines_and_tiny_lists() {
        assert!(sorted_lines_contain("a\nb\nc\n", "a"));
        assert!(sorted_lines_contain("a\nb\nc\n", "c"));
        assert!(sorted_lines_contain("only", "only"));
        assert!(!sorted_lines_contain("a\nc\n", "b"));
        assert!(!sorted_lines_contain("", "a"));
    }
}
