//! A small JSON-Schema (2020-12) subset validator, enough for the OpenAPI document's schemas:
//! `$ref` (local), `type` (string or list), `const`, `enum`, `properties`, `required`,
//! `additionalProperties: false`, `items`, `anyOf`, `oneOf`, `minimum`, `maximum`,
//! `minLength`, `maxLength`. Unknown keywords are ignored (`pattern`, `default`, …).

use serde_json::Value;

/// Validates `value` against `schema`, resolving `$ref`s in `doc`; returns every violation.
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(doc, schema, value, "$", &mut errors);
    errors
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        other => panic!("unsupported type {other}"),
    }
}

fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(ty) = schema.get("type") {
        let ok = match ty {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {v} is not of type {ty}"));
            return;
        }
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errors.push(format!("{at}: {v} != const {c}"));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(v) {
            errors.push(format!("{at}: {v} not in {options:?}"));
        }
    }
    for (key, want_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(Value::Array(options)) = schema.get(key) {
            let passing = options
                .iter()
                .filter(|s| validate(doc, s, v).is_empty())
                .count();
            let ok = if want_one { passing == 1 } else { passing >= 1 };
            if !ok {
                let detail: Vec<Vec<String>> =
                    options.iter().map(|s| validate(doc, s, v)).collect();
                errors.push(format!("{at}: {key} matched {passing}: {detail:?}"));
            }
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                errors.push(format!("{at}: {n} < {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                errors.push(format!("{at}: {n} > {max}"));
            }
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            errors.push(format!("{at}: too short"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            errors.push(format!("{at}: too long"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{at}: missing required {r}"));
                }
            }
        }
        for (k, child) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, child, &format!("{at}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: unexpected property {k}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, child) in arr.iter().enumerate() {
            check(doc, items, child, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn the_validator_catches_what_it_claims_to() {
    let doc = serde_json::json!({"components": {"schemas": {"P": {
        "type": "object", "required": ["a"], "additionalProperties": false,
        "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    }}}});
    let s = serde_json::json!({"$ref": "#/components/schemas/P"});
    assert!(validate(&doc, &s, &serde_json::json!({"a": 1, "b": null})).is_empty());
    assert!(!validate(&doc, &s, &serde_json::json!({"a": 0})).is_empty());
    assert!(!validate(&doc, &s, &serde_json::json!({"a": 1.5})).is_empty());
    assert!(!validate(&doc, &s, &serde_json::json!({"b": "x"})).is_empty());
    assert!(!validate(&doc, &s, &serde_json::json!({"a": 1, "c": 1})).is_empty());
    assert!(!validate(&doc, &s, &serde_json::json!({"a": 1, "b": 3})).is_empty());
}
