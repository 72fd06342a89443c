//! The whole HTTP surface of the public routes: any method, path, query, headers and body go
//! through matching, the access gate, parameter and body parsing and the read handlers over
//! the in-memory store. Nothing may panic, no answer may be a 500, and every answer is the
//! JSON envelope (or the OpenAPI document) with a stable error code.
#![no_main]

use arbitrary::Arbitrary;
use cl_api::config::{keys, Config};
use cl_api::context::RequestContext;
use cl_api::health::DependencyProbes;
use cl_api::http::{Headers, Method, Request};
use cl_api::{finalize, handle_api, App};
use cl_store_memory::MemoryStore;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

struct Healthy;

impl DependencyProbes for Healthy {
    async fn d1(&self) -> bool {
        true
    }
    async fn kv(&self) -> bool {
        true
    }
    async fn postgres(&self) -> Option<bool> {
        None
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];
const ROUTES: [&str; 8] = [
    "/api/v1/",
    "/api/v1/candles/BTCUSDT/",
    "/api/v1/patterns",
    "/api/v1/signals/",
    "/api/v1/matrix",
    "/api/v1/chart/ETHUSDT/",
    "/api/v1/auth/",
    "/api/v1/symbols",
];

fn config() -> Config {
    let mut m: HashMap<&str, String> = keys::REQUIRED_SECRETS
        .iter()
        .map(|k| (*k, format!("{k}-0123456789abcdef0123456789abcdef")))
        .collect();
    m.insert(keys::ENVIRONMENT, "development".into());
    Config::load(|k| m.get(k).cloned())
}

fuzz_target!(|input: Input| {
    // Most inputs start with a real prefix so the fuzzer reaches the handlers quickly.
    let prefix = ROUTES[usize::from(input.method) % ROUTES.len()];
    let path = if input.path.starts_with('/') {
        input.path.clone()
    } else {
        format!("{prefix}{}", input.path)
    };
    let mut headers = Headers::default();
    for (name, value) in input.headers.iter().take(8) {
        headers.set(name, value.clone());
    }
    let req = Request {
        method: Method::parse(METHODS[usize::from(input.method >> 4) % METHODS.len()]),
        path,
        query: input.query.clone(),
        headers,
        body: input.body.clone(),
    };
    let app = App {
        config: config(),
        probes: Healthy,
        store: MemoryStore::new(),
    };
    let ctx = RequestContext::new(None, || "fuzz-request-0001".into(), 1_700_000_000_000, None);
    let handled = pollster::block_on(handle_api(&app, &req, &ctx));
    let resp = finalize(handled.response, &ctx, true);
    assert_ne!(
        resp.status, 500,
        "internal error for {req:?}: {:?}",
        handled.error_cause
    );
    assert!(resp.status >= 200 && resp.status < 600);
    if !resp.body.is_empty() && req.method != Method::Head {
        let v: serde_json::Value = serde_json::from_slice(&resp.body).expect("every body is JSON");
        if resp.status >= 400 {
            assert!(v["error"]["code"].is_string(), "error without a code: {v}");
        }
    }
});
