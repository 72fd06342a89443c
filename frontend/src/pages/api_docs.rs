//! `/api-docs`: the REST reference rendered from `GET /api/v1/openapi.json` by our own
//! component (no third-party script): paths grouped by tag (or by their first segment when
//! the document has no tags), methods, parameters, responses and the error codes.

use leptos::prelude::*;
use serde_json::Value;

use crate::api;
use crate::components::{set_page_title, ErrorBanner, Loading};

/// The parsed document, reduced to what the page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiDoc {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `info.description` without its error-code table.
    pub intro: String,
    /// `(code, status)` from the description's error table.
    pub errors: Vec<(String, String)>,
    /// Operations grouped, in document order of first appearance.
    pub groups: Vec<Group>,
}

/// Operations sharing a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Tag name.
    pub name: String,
    /// Operations.
    pub ops: Vec<Op>,
}

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Upper-case method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Summary.
    pub summary: String,
    /// Description.
    pub description: String,
    /// `x-access`.
    pub access: String,
    /// `x-planned-scopes`.
    pub scopes: Vec<String>,
    /// Parameters.
    pub params: Vec<Param>,
    /// `(status, description)` pairs.
    pub responses: Vec<(String, String)>,
}

/// One parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name.
    pub name: String,
    /// `path` or `query`.
    pub location: String,
    /// Required.
    pub required: bool,
    /// Description.
    pub description: String,
    /// A one-line schema summary (`integer 1–2000, default 100`, `one of: 1m, 5m`).
    pub schema: String,
}

/// The reading order of the known groups; others follow in document order.
const GROUP_ORDER: [&str; 8] = [
    "Health", "OpenAPI", "Symbols", "Candles", "Chart", "Patterns", "Signals", "Matrix",
];

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A short human summary of a JSON schema.
pub fn schema_summary(s: &Value) -> String {
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        return format!("one of: {}", list.join(", "));
    }
    let mut out = text(s, "type");
    if out.is_empty() {
        out = String::from("any");
    }
    let min = s.get("minimum").or_else(|| s.get("minLength"));
    let max = s.get("maximum").or_else(|| s.get("maxLength"));
    match (min, max) {
        (Some(a), Some(b)) => out.push_str(&format!(" {a}–{b}")),
        (Some(a), None) => out.push_str(&format!(" ≥ {a}")),
        (None, Some(b)) => out.push_str(&format!(" ≤ {b}")),
        (None, None) => {}
    }
    if let Some(d) = s.get("default") {
        let d = d.as_str().map_or_else(|| d.to_string(), str::to_owned);
        out.push_str(&format!(", default {d}"));
    }
    if let Some(ex) = s
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        out.push_str(&format!(", e.g. {ex}"));
    }
    out
}

/// The group of an operation: its first tag, else the path's first segment after `/api/v1/`.
fn group_name(op: &Value, path: &str) -> String {
    if let Some(tag) = op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
    {
        return tag.to_owned();
    }
    let rest = path
        .strip_prefix("/api/v1/")
        .unwrap_or(path.trim_start_matches('/'));
    let seg = rest.split('/').next().unwrap_or(rest);
    let seg = seg.split('.').next().unwrap_or(seg);
    if seg.eq_ignore_ascii_case("openapi") {
        return String::from("OpenAPI");
    }
    let mut name = seg.replace(['_', '-'], " ");
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if name.is_empty() {
        String::from("Other")
    } else {
        name
    }
}

/// Splits `info.description` into prose and the `| code | status |` table rows.
fn split_errors(desc: &str) -> (String, Vec<(String, String)>) {
    let mut intro = Vec::new();
    let mut errors = Vec::new();
    for line in desc.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
            if let [code, status] = cells.as_slice() {
                let code = code.trim_matches('`');
                if !code.is_empty() && code != "code" && !code.starts_with('-') {
                    errors.push((code.to_owned(), (*status).to_owned()));
                }
            }
        } else {
            intro.push(line);
        }
    }
    (intro.join("\n").trim().to_owned(), errors)
}

/// Parses an OpenAPI 3.x document.
pub fn parse(doc: &Value) -> ApiDoc {
    let info = doc.get("info").cloned().unwrap_or(Value::Null);
    let (intro, errors) = split_errors(&text(&info, "description"));
    let mut groups: Vec<Group> = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| Param {
                                name: text(p, "name"),
                                location: text(p, "in"),
                                required: p
                                    .get("required")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false),
                                description: text(p, "description"),
                                schema: p.get("schema").map(schema_summary).unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| (status.clone(), text(r, "description")))
                            .collect()
                    })
                    .unwrap_or_default();
                let scopes = op
                    .get("x-planned-scopes")
                    .and_then(Value::as_array)
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let entry = Op {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    access: text(op, "x-access"),
                    scopes,
                    params,
                    responses,
                };
                let name = group_name(op, path);
                match groups.iter_mut().find(|g| g.name == name) {
                    Some(g) => g.ops.push(entry),
                    None => groups.push(Group {
                        name,
                        ops: vec![entry],
                    }),
                }
            }
        }
    }
    // Untagged documents come back with paths sorted by name; show the groups in reading order.
    groups.sort_by_key(|g| {
        GROUP_ORDER
            .iter()
            .position(|n| *n == g.name)
            .unwrap_or(GROUP_ORDER.len())
    });
    ApiDoc {
        title: text(&info, "title"),
        version: text(&info, "version"),
        intro,
        errors,
        groups,
    }
}

/// Text with `inline code` spans rendered as `<code>`.
fn rich(s: String) -> impl IntoView {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            let part = part.to_owned();
            if i % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}

fn anchor(method: &str, path: &str) -> String {
    let mut id = format!("op-{}", method.to_ascii_lowercase());
    for ch in path.chars() {
        id.push(if ch.is_ascii_alphanumeric() { ch } else { '-' });
    }
    id
}

/// The API reference page.
#[component]
pub fn ApiDocs() -> impl IntoView {
    set_page_title("API docs");
    let doc = LocalResource::new(api::openapi);
    view! {
        <div class="page container api-docs">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"API docs"</p>
                <h1>"REST API reference"</h1>
                <p class="lead">
                    "Generated live from "<code>"GET /api/v1/openapi.json"</code>
                    ". Every route, its parameters, responses and error codes."
                </p>
            </header>
            <Suspense fallback=|| view! { <Loading text="Loading the API description…" /> }>
                {move || Suspend::new(async move {
                    match doc.await {
                        Ok(value) => view! { <DocView doc=parse(&value) /> }.into_any(),
                        Err(err) => view! { <ErrorBanner title="Could not load the API description" err=err /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// A table-of-contents group: its name and `(anchor, method, path)` per operation.
type TocGroup = (String, Vec<(String, String, String)>);

#[component]
fn DocView(doc: ApiDoc) -> impl IntoView {
    // The error table is rendered as its own section; the prose that introduced it points there.
    let has_errors = !doc.errors.is_empty();
    let intro = if has_errors {
        let t = doc.intro.trim_end();
        t.strip_suffix("Error codes and their statuses:")
            .unwrap_or(t)
            .trim_end()
            .to_owned()
    } else {
        doc.intro.clone()
    };
    let toc: Vec<TocGroup> = doc
        .groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.ops
                    .iter()
                    .map(|o| (anchor(&o.method, &o.path), o.method.clone(), o.path.clone()))
                    .collect(),
            )
        })
        .collect();
    view! {
        <div class="docs-layout">
            <nav class="docs-toc" aria-label="Endpoints">
                <p class="docs-toc-title">{format!("{} v{}", doc.title, doc.version)}</p>
                <ul>
                    {toc
                        .into_iter()
                        .map(|(name, ops)| {
                            view! {
                                <li>
                                    <span class="docs-toc-group">{name}</span>
                                    <ul>
                                        {ops
                                            .into_iter()
                                            .map(|(id, method, path)| {
                                                let class = format!("method method-{}", method.to_ascii_lowercase());
                                                view! {
                                                    <li>
                                                        <a href=format!("#{id}") class="docs-toc-link">
                                                            <span class=class>{method}</span>
                                                            " "
                                                            <span class="docs-path">{path}</span>
                                                        </a>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </li>
                            }
                        })
                        .collect_view()}
                    <li><a href="#error-codes" class="docs-toc-link">"Error codes"</a></li>
                </ul>
            </nav>
            <div class="docs-main">
                <section class="panel docs-intro" aria-label="Overview">
                    {intro.split("\n\n").map(|p| view! { <p>{rich(p.to_owned())}</p> }).collect_view()}
                    {has_errors.then(|| view! { <p><a href="#error-codes">"Error codes and their HTTP statuses"</a></p> })}
                </section>
                {doc
                    .groups
                    .into_iter()
                    .map(|g| {
                        view! {
                            <section class="docs-group" aria-label=g.name.clone()>
                                <h2>{g.name.clone()}</h2>
                                {g.ops.into_iter().map(|op| view! { <OpView op=op /> }).collect_view()}
                            </section>
                        }
                    })
                    .collect_view()}
                <section class="docs-group" id="error-codes" aria-labelledby="error-codes-title">
                    <h2 id="error-codes-title">"Error codes"</h2>
                    <div class="table-scroll">
                        <table class="data-table">
                            <thead><tr><th scope="col">"Code"</th><th scope="col">"HTTP status"</th></tr></thead>
                            <tbody>
                                {doc
                                    .errors
                                    .into_iter()
                                    .map(|(code, status)| view! { <tr><td><code>{code}</code></td><td>{status}</td></tr> })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            </div>
        </div>
    }
}

#[component]
fn OpView(op: Op) -> impl IntoView {
    let id = anchor(&op.method, &op.path);
    let method_class = format!("method method-{}", op.method.to_ascii_lowercase());
    view! {
        <article class="panel docs-op" id=id.clone() aria-labelledby=format!("{id}-h")>
            <h3 id=format!("{id}-h") class="docs-op-head">
                <span class=method_class>{op.method.clone()}</span>
                " "
                <code class="docs-path">{op.path.clone()}</code>
            </h3>
            <p class="docs-summary">{op.summary.clone()}</p>
            {(!op.description.is_empty()).then(|| view! { <p class="muted">{rich(op.description.clone())}</p> })}
            <p class="docs-access">
                <span class="badge">{format!("access: {}", op.access)}</span>
                {op.scopes.iter().map(|s| view! { " " <span class="badge badge-scope">{s.clone()}</span> }).collect_view()}
            </p>
            {(!op.params.is_empty()).then(|| view! {
                <h4>"Parameters"</h4>
                <div class="table-scroll">
                    <table class="data-table docs-params">
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"In"</th>
                                <th scope="col">"Schema"</th>
                                <th scope="col">"Description"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {op.params.iter().cloned().map(|p| view! {
                                <tr>
                                    <td><code>{p.name}</code>{p.required.then_some(" (required)")}</td>
                                    <td>{p.location}</td>
                                    <td>{p.schema}</td>
                                    <td>{rich(p.description)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
            <h4>"Responses"</h4>
            <ul class="docs-responses">
                {op.responses.iter().cloned().map(|(status, desc)| {
                    let ok = status.starts_with('2') || status.starts_with('3');
                    view! {
                        <li>
                            <span class="status-code" class:status-code-ok=ok class:status-code-err=!ok>{status}</span>
                            " "
                            {rich(desc)}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_paths_params_responses_and_errors() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "T", "version": "1",
                "description": "Intro `x`.\n\n| code | status |\n|---|---|\n| `not_found` | 404 |\n| `rate_limited` | 429 |\n"
            },
            "paths": {
                "/api/v1/matrix": { "get": {
                    "summary": "Pattern matrix", "x-access": "public",
                    "x-planned-scopes": ["read:matrix"],
                    "responses": { "200": {"description": "ok"}, "304": {"description": "same"} }
                }},
                "/api/v1/patterns/{id}": { "get": {
                    "summary": "One pattern",
                    "parameters": [{ "name": "id", "in": "path", "required": true,
                        "description": "The id.", "schema": {"type": "integer", "minimum": 1, "maximum": 9} }],
                    "responses": { "404": {"description": "missing"} }
                }},
                "/api/v1/patterns": { "get": { "tags": ["Patterns"], "summary": "List" } }
            }
        });
        let d = parse(&doc);
        assert_eq!(d.title, "T");
        assert_eq!(d.intro, "Intro `x`.");
        assert_eq!(
            d.errors,
            vec![
                ("not_found".to_owned(), "404".to_owned()),
                ("rate_limited".to_owned(), "429".to_owned())
            ]
        );
        let names: Vec<&str> = d.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["Patterns", "Matrix"]);
        let patterns = d.groups.iter().find(|g| g.name == "Patterns").unwrap();
        assert_eq!(patterns.ops.len(), 2);
        let matrix = &d.groups.iter().find(|g| g.name == "Matrix").unwrap().ops[0];
        assert_eq!(matrix.method, "GET");
        assert_eq!(matrix.scopes, vec!["read:matrix".to_owned()]);
        assert_eq!(matrix.responses.len(), 2);
        let one = patterns
            .ops
            .iter()
            .find(|o| o.path.ends_with("{id}"))
            .unwrap();
        assert_eq!(one.params[0].schema, "integer 1–9");
        assert!(one.params[0].required);
    }

    #[test]
    fn schema_summaries() {
        assert_eq!(
            schema_summary(&json!({"enum": ["1m", "5m"]})),
            "one of: 1m, 5m"
        );
        assert_eq!(
            schema_summary(
                &json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
            ),
            "integer 1–1000, default 100"
        );
        assert_eq!(
            schema_summary(&json!({"type": "string", "examples": ["BTC-USDT"]})),
            "string, e.g. BTC-USDT"
        );
        assert_eq!(schema_summary(&json!({})), "any");
    }

    #[test]
    fn anchors_are_ids() {
        assert_eq!(
            anchor("GET", "/api/v1/candles/{symbol}"),
            "op-get-api-v1-candles--symbol-"
        );
    }
}
