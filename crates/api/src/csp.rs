//! The CSP report sink (`POST /api/v1/csp-report`): reports of both formats
//! (`application/csp-report`, `application/reports+json`) become one structured log line per
//! request with a few known fields, each JSON-encoded and cut short. URLs lose their query
//! and fragment (they may carry tokens); nothing else of the body is kept.

use crate::context::RequestContext;
use serde::Serialize;
use serde_json::Value;

/// At most this many reports of one request are logged.
const MAX_REPORTS: usize = 5;
/// Each logged string is cut to this many characters.
const MAX_FIELD_CHARS: usize = 256;

/// The fields kept from one violation report.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct CspViolation {
    /// Page URL (no query or fragment).
    pub document_uri: Option<String>,
    /// The directive that was violated.
    pub directive: Option<String>,
    /// What was blocked (no query or fragment).
    pub blocked_uri: Option<String>,
    /// Script file (no query or fragment).
    pub source_file: Option<String>,
    /// Line in that file.
    pub line_number: Option<i64>,
    /// `enforce` or `report`.
    pub disposition: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: i64,
    level: &'static str,
    category: &'static str,
    event: &'static str,
    request_id: &'a str,
    parsed: bool,
    reports: Vec<CspViolation>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(|s| s.chars().take(MAX_FIELD_CHARS).collect())
}

fn url(v: Option<&Value>) -> Option<String> {
    text(v).map(|s| s.split(['?', '#']).next().unwrap_or("").to_owned())
}

fn violation(body: &Value, legacy: bool) -> CspViolation {
    let get = |legacy_name: &str, name: &str| body.get(if legacy { legacy_name } else { name });
    CspViolation {
        document_uri: url(get("document-uri", "documentURL")),
        directive: text(get("effective-directive", "effectiveDirective"))
            .or_else(|| text(get("violated-directive", "effectiveDirective"))),
        blocked_uri: url(get("blocked-uri", "blockedURL")),
        source_file: url(get("source-file", "sourceFile")),
        line_number: get("line-number", "lineNumber").and_then(Value::as_i64),
        disposition: text(get("disposition", "disposition")),
    }
}

/// Parses what it can of a report body; an unreadable body is logged as `parsed: false`.
pub fn parse(body: &[u8]) -> Option<Vec<CspViolation>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match &value {
        Value::Object(o) => o.get("csp-report").map(|r| vec![violation(r, true)]),
        Value::Array(items) => Some(
            items
                .iter()
                .filter(|i| i.get("type").and_then(Value::as_str) == Some("csp-violation"))
                .filter_map(|i| i.get("body"))
                .take(MAX_REPORTS)
                .map(|b| violation(b, false))
                .collect(),
        ),
        _ => None,
    }
}

/// The JSON log line of one report request.
pub fn log_line(ctx: &RequestContext, body: &[u8]) -> String {
    let reports = parse(body);
    let line = Line {
        ts: ctx.now_ms,
        level: "warn",
        category: "csp",
        event: "csp_violation",
        request_id: &ctx.request_id,
        parsed: reports.is_some(),
        reports: reports.unwrap_or_default(),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_keep_known_fields_without_queries() {
        let legacy = br#"{"csp-report":{"document-uri":"https://a.example/p?token=s3cr3t","violated-directive":"script-src","blocked-uri":"inline","line-number":3}}"#;
        let r = parse(legacy).unwrap();
        assert_eq!(r[0].document_uri.as_deref(), Some("https://a.example/p"));
        assert_eq!(r[0].directive.as_deref(), Some("script-src"));
        let modern = br#"[{"type":"csp-violation","body":{"documentURL":"https://a.example/#t=x","effectiveDirective":"img-src","blockedURL":"https://evil.example/i.png?x"}}]"#;
        let r = parse(modern).unwrap();
        assert_eq!(
            r[0].blocked_uri.as_deref(),
            Some("https://evil.example/i.png")
        );
        let ctx = RequestContext::new(None, || "req-00000001".into(), 1, None);
        assert!(!log_line(&ctx, legacy).contains("s3cr3t"));
        assert!(log_line(&ctx, b"\x00junk").contains("\"parsed\":false"));
    }
}
