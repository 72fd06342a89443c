//! Property tests of the canonicaliser: total (never panics), idempotent, and faithful to the
//! value (checked against `serde_json`, an independent reader and writer).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::Value as J;

use crate::json::{canonical_reference, canonical_sorted, parse};

#[derive(Debug, Clone)]
enum Gen {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Gen>),
    Obj(Vec<(String, Gen)>),
}

fn gen_json() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        Just(Gen::Null),
        any::<bool>().prop_map(Gen::Bool),
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,2})?".prop_map(Gen::Num),
        any::<String>().prop_map(Gen::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Gen::Arr),
            btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| m.into_iter().collect::<Vec<_>>())
                .prop_shuffle()
                .prop_map(Gen::Obj),
        ]
    })
}

/// Writes a string escaping every character as `\uXXXX` (surrogate pairs beyond the BMP).
fn escaped_everything(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04X}"));
    }
    out.push('"');
    out
}

/// Renders with optional whitespace and optional full escaping, keys in the generated order.
fn render(g: &Gen, spaced: bool, escape_all: bool) -> String {
    let ws = if spaced { " \n\t" } else { "" };
    let string = |s: &str| {
        if escape_all {
            escaped_everything(s)
        } else {
            serde_json::to_string(s).unwrap()
        }
    };
    match g {
        Gen::Null => "null".into(),
        Gen::Bool(b) => b.to_string(),
        Gen::Num(n) => n.clone(),
        Gen::Str(s) => string(s),
        Gen::Arr(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| render(i, spaced, escape_all))
                .collect();
            format!("[{ws}{}{ws}]", parts.join(&format!("{ws},{ws}")))
        }
        Gen::Obj(members) => {
            let parts: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}{ws}:{ws}{}", string(k), render(v, spaced, escape_all)))
                .collect();
            format!("{{{ws}{}{ws}}}", parts.join(&format!("{ws},{ws}")))
        }
    }
}

/// An independent canonical writer over serde_json values for number-free trees.
fn reference_sorted(v: &J) -> String {
    match v {
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        reference_sorted(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        J::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(reference_sorted)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => serde_json::to_string(other).unwrap(),
    }
}

fn has_numbers(g: &Gen) -> bool {
    match g {
        Gen::Num(_) => true,
        Gen::Arr(items) => items.iter().any(has_numbers),
        Gen::Obj(members) => members.iter().any(|(_, v)| has_numbers(v)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_canonicaliser_never_panics_on_arbitrary_bytes_and_is_idempotent(bytes in vec(any::<u8>(), 0..512)) {
        if let Ok(out) = canonical_sorted(&bytes) {
            prop_assert_eq!(canonical_sorted(out.as_bytes()), Ok(out.clone()));
            prop_assert_eq!(canonical_reference(out.as_bytes()), Ok(out));
        }
        if let Ok(out) = canonical_reference(&bytes) {
            prop_assert_eq!(canonical_reference(out.as_bytes()), Ok(out));
        }
    }

    #[test]
    fn the_canonicaliser_never_panics_on_json_like_noise(text in "[\\[\\]{}\":,0-9eE.+\\-tfrulnas\\\\ ]{0,200}") {
        if let Ok(out) = canonical_sorted(text.as_bytes()) {
            prop_assert_eq!(canonical_sorted(out.as_bytes()), Ok(out));
        }
    }

    #[test]
    fn canonical_forms_keep_the_value_and_ignore_layout_and_escapes(g in gen_json(), spaced in any::<bool>(), escape_all in any::<bool>()) {
        let compact = render(&g, false, false);
        let variant = render(&g, spaced, escape_all);
        let sorted = canonical_sorted(variant.as_bytes()).unwrap();
        // Layout and escape style never change the canonical form.
        prop_assert_eq!(&sorted, &canonical_sorted(compact.as_bytes()).unwrap());
        prop_assert_eq!(canonical_sorted(sorted.as_bytes()).unwrap(), sorted.clone());
        let reference = canonical_reference(variant.as_bytes()).unwrap();
        prop_assert_eq!(canonical_reference(reference.as_bytes()).unwrap(), reference.clone());
        // Same value as serde_json reads from the input.
        let original: J = serde_json::from_str(&variant).unwrap();
        prop_assert_eq!(&serde_json::from_str::<J>(&sorted).unwrap(), &original);
        prop_assert_eq!(&serde_json::from_str::<J>(&reference).unwrap(), &original);
        // Without numbers (whose text serde_json would reformat) it equals an independent writer.
        if !has_numbers(&g) {
            prop_assert_eq!(sorted, reference_sorted(&original));
        }
        prop_assert!(parse(variant.as_bytes()).is_ok());
    }
}
