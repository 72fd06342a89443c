//! Health, headers, routing misses and static-path rules.

use crate::helpers::*;
use cl_api::config::keys;
use cl_api::http::{Method, Request};
use cl_api::is_forbidden_static_path;
use cl_store_memory::MemoryStore;

fn call(app: &TestApp, req: Request) -> (u16, serde_json::Value, Resp) {
    let r = send(app, req);
    (r.status, r.json.clone(), r)
}

#[test]
fn health_reports_each_check_without_leaking_config() {
    let app = empty_app();
    let (status, json, resp) = call(&app, Request::get("/api/v1/health"));
    assert_eq!(status, 200);
    assert_eq!(json["success"], true);
    assert_eq!(json["data"]["status"], "ok");
    let names: Vec<_> = json["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, ["config", "d1", "kv"]);
    let body = String::from_utf8(resp.body).unwrap();
    for leak in [
        "0123456789abcdef",
        "version",
        "host",
        "127.0.0.1",
        "development",
    ] {
        assert!(!body.contains(leak), "{leak} leaked: {body}");
    }
}

#[test]
fn postgres_appears_when_configured_and_is_critical_when_primary() {
    let app = app_with(
        dev_config(&[(keys::STORAGE, "postgres")]),
        Probes {
            d1: true,
            kv: true,
            pg: Some(false),
        },
        MemoryStore::new(),
    );
    let (status, json, _) = call(&app, Request::get("/api/v1/health/ready"));
    assert_eq!(status, 503);
    assert_eq!(json["data"]["status"], "down");
}

#[test]
fn a_kv_outage_degrades_but_stays_ready() {
    let app = app_with(
        dev_config(&[]),
        Probes {
            d1: true,
            kv: false,
            pg: None,
        },
        MemoryStore::new(),
    );
    let (status, json, _) = call(&app, Request::get("/api/v1/health/ready"));
    assert_eq!(status, 200);
    assert_eq!(json["data"]["status"], "degraded");
}

#[test]
fn a_d1_outage_makes_ready_fail_but_live_stays_up() {
    let app = app_with(
        dev_config(&[]),
        Probes {
            d1: false,
            kv: true,
            pg: None,
        },
        MemoryStore::new(),
    );
    assert_eq!(call(&app, Request::get("/api/v1/health/ready")).0, 503);
    let (status, json, _) = call(&app, Request::get("/api/v1/health/live"));
    assert_eq!(status, 200);
    assert_eq!(json["data"]["live"], true);
}

#[test]
fn every_api_response_carries_security_headers_request_id_and_no_store() {
    let app = empty_app();
    for path in ["/api/v1/health", "/api/v1/missing"] {
        let (_, _, resp) = call(&app, Request::get(path));
        assert_eq!(resp.headers.get("x-request-id"), Some("test-request-0001"));
        assert!(resp.headers.get("content-security-policy").is_some());
        assert_eq!(resp.headers.get("cache-control"), Some("no-store"));
        assert!(resp.headers.get("strict-transport-security").is_some());
    }
}

#[test]
fn unknown_routes_and_wrong_methods_get_stable_error_codes() {
    let app = empty_app();
    let (status, json, _) = call(&app, Request::get("/api/v1/definitely-not-here"));
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let mut post = Request::get("/api/v1/health");
    post.method = Method::Post;
    let (status, json, resp) = call(&app, post);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert_eq!(resp.headers.get("allow"), Some("GET, HEAD"));
}

#[test]
fn head_requests_get_headers_without_a_body() {
    let app = empty_app();
    let mut head = Request::get("/api/v1/health");
    head.method = Method::Head;
    let (status, _, resp) = call(&app, head);
    assert_eq!(status, 200);
    assert!(resp.body.is_empty());
}

#[test]
fn build_files_and_dot_paths_are_never_served() {
    for p in [
        "/.git/config",
        "/.dev.vars",
        "/.env",
        "/wrangler.toml",
        "/Cargo.toml",
        "/a/.hidden",
        "/%2e%2e/x",
    ] {
        assert!(is_forbidden_static_path(p), "{p}");
    }
    for p in [
        "/",
        "/pricing",
        "/pkg/app_bg.wasm",
        "/style.css",
        "/chart/BTC-USDT/1h",
    ] {
        assert!(!is_forbidden_static_path(p), "{p}");
    }
}
