//! D1 errors → [`StoreError`]. D1 reports SQLite's message as text
//! (`D1_ERROR: UNIQUE constraint failed: symbols.symbol: SQLITE_CONSTRAINT …`); the adapter
//! classifies it once here. Driver text is kept only inside `Unavailable` (for logs), never
//! in the variants an API may describe to a client.

use cl_app::ports::StoreError;

/// The text of a `worker` error, for classification and logs.
pub(crate) fn driver_text(e: &worker::Error) -> String {
    match e {
        worker::Error::D1(d1) => {
            let js: &worker::js_sys::Error = d1.as_ref();
            String::from(js.message())
        }
        other => other.to_string(),
    }
}

/// Classifies a D1 error message. `missing` names what a failed foreign key refers to in the
/// statement that failed (e.g. `"symbol"`).
pub(crate) fn classify(text: &str, missing: &'static str) -> StoreError {
    if let Some(rest) = after(text, "UNIQUE constraint failed: ") {
        StoreError::Conflict(unique_key(rest))
    } else if text.contains("FOREIGN KEY constraint failed") {
        StoreError::NotFound(missing)
    } else if text.contains("CHECK constraint failed") {
        StoreError::Invalid("a value is outside its column's allowed range".into())
    } else if text.contains("NOT NULL constraint failed") {
        StoreError::Invalid("a required value is missing".into())
    } else if text.contains("datatype mismatch") {
        StoreError::Invalid("a value has the wrong type".into())
    } else {
        StoreError::Unavailable(format!("d1: {text}"))
    }
}

fn after<'t>(text: &'t str, marker: &str) -> Option<&'t str> {
    text.find(marker).map(|at| &text[at + marker.len()..])
}

/// The stable name of a unique key from SQLite's column list (`table.col, table.col…`) or,
/// for an expression index, its name (`index 'users_username_lower_uq'`), matching the names
/// the Postgres adapter derives from the index names.
fn unique_key(columns: &str) -> &'static str {
    let first = columns.split([',', ':']).next().unwrap_or("").trim();
    if first.starts_with("index ") {
        return match first.trim_start_matches("index ").trim_matches('\'') {
            "users_username_lower_uq" => "users.username",
            _ => "unique key",
        };
    }
    match first {
        "users.email" => return "users.email",
        "users.username" => return "users.username",
        "users.ntfy_topic" => return "users.ntfy_topic",
        "auth_tokens.token_hash" => return "auth_tokens.token_hash",
        "sessions.token_hash" => return "sessions.token_hash",
        "api_keys.prefix" => return "api_keys.prefix",
        "api_keys.key_hmac" => return "api_keys.key_hmac",
        _ => {}
    }
    match first.split('.').next().unwrap_or("") {
        "symbols" => "symbols.symbol",
        "patterns" => "patterns.key",
        "candles" => "candles.key",
        "known_gaps" => "known_gaps.key",
        _ => "unique key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_conflicts_naming_the_key() {
        let e = classify(
            "D1_ERROR: UNIQUE constraint failed: symbols.symbol: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)",
            "symbol",
        );
        assert_eq!(e, StoreError::Conflict("symbols.symbol"));
        let e = classify(
            "D1_ERROR: UNIQUE constraint failed: patterns.symbol_id, patterns.tf, patterns.pattern_type, patterns.direction, patterns.detected_at: SQLITE_CONSTRAINT",
            "symbol",
        );
        assert_eq!(e, StoreError::Conflict("patterns.key"));
        assert_eq!(
            classify("UNIQUE constraint failed: users.email", "x"),
            StoreError::Conflict("users.email")
        );
        assert_eq!(
            classify(
                "D1_ERROR: UNIQUE constraint failed: index 'users_username_lower_uq': SQLITE_CONSTRAINT",
                "user"
            ),
            StoreError::Conflict("users.username")
        );
        assert_eq!(
            classify("UNIQUE constraint failed: users.ntfy_topic", "x"),
            StoreError::Conflict("users.ntfy_topic")
        );
        assert_eq!(
            classify("UNIQUE constraint failed: api_keys.prefix", "x"),
            StoreError::Conflict("api_keys.prefix")
        );
        // A key without a stable name of its own stays generic.
        assert_eq!(
            classify("UNIQUE constraint failed: tags.user_id, tags.name", "x"),
            StoreError::Conflict("unique key")
        );
    }

    #[test]
    fn foreign_key_violations_name_the_missing_row() {
        let e = classify(
            "D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_FOREIGNKEY)",
            "pattern",
        );
        assert_eq!(e, StoreError::NotFound("pattern"));
    }

    #[test]
    fn check_failures_are_invalid_without_driver_text() {
        let e = classify(
            "D1_ERROR: CHECK constraint failed: length(symbol) BETWEEN 3 AND 20: SQLITE_CONSTRAINT",
            "symbol",
        );
        let StoreError::Invalid(reason) = e else {
            unreachable!("expected Invalid, got {e:?}");
        };
        assert!(!reason.contains("length(symbol)"), "{reason}");
        assert!(!reason.contains("SQLITE"), "{reason}");
    }

    #[test]
    fn anything_else_is_unavailable_with_the_text_for_logs() {
        let e = classify("D1_ERROR: no such table: candles: SQLITE_ERROR", "symbol");
        assert_eq!(
            e,
            StoreError::Unavailable("d1: D1_ERROR: no such table: candles: SQLITE_ERROR".into())
        );
    }
}
