//! Webhook bodies: the canonical-JSON parser and both signature checks never panic on any
//! body or header, a body only verifies under the tag computed over its own canonical form,
//! and the event parsers never panic on what the parser accepts.
#![no_main]

use cl_auth::SecretString;
use cl_billing::json;
use cl_billing::signature::{verify_lemonsqueezy, verify_nowpayments};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &str)| {
    let (body, header) = input;
    let secret = SecretString::new("fuzz-webhook-secret-0123456789abcdef");
    // A random header must (almost surely) never verify; it must never panic either.
    let _ = verify_lemonsqueezy(&secret, body, Some(header));
    let _ = verify_nowpayments(&secret, body, Some(header));
    if let Ok(value) = json::parse(body) {
        // The canonical form is a fixed point: canonicalising it again changes nothing.
        let sorted = value.to_compact(json::KeyOrder::SortedRecursively);
        let again = json::canonical_sorted(sorted.as_bytes()).expect("canonical output re-parses");
        assert_eq!(sorted, again);
        let _ = cl_billing::events::parse_nowpayments(body);
        if let Ok(table) = cl_billing::plan::VariantTable::new("1", "2", "3", "4", "5") {
            let _ = cl_billing::events::parse_lemonsqueezy(body, &table);
        }
    }
});
