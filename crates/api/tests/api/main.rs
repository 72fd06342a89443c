//! The HTTP surface end to end on the host, with fake dependency probes.

#![allow(clippy::unwrap_used)] // test helpers, not product code

use cl_api::config::{keys, Config};
use cl_api::context::RequestContext;
use cl_api::health::DependencyProbes;
use cl_api::http::{Method, Request};
use cl_api::{finalize, handle_api, is_forbidden_static_path, App};
use std::collections::HashMap;

struct Probes {
    d1: bool,
    kv: bool,
    pg: Option<bool>,
}

impl DependencyProbes for Probes {
    async fn d1(&self) -> bool {
        self.d1
    }
    async fn kv(&self) -> bool {
        self.kv
    }
    async fn postgres(&self) -> Option<bool> {
        self.pg
    }
}

fn dev_config(extra: &[(&'static str, &str)]) -> Config {
    let mut m: HashMap<&str, String> = keys::REQUIRED_SECRETS
        .iter()
        .map(|k| (*k, format!("{k}-0123456789abcdef0123456789abcdef")))
        .collect();
    m.insert(keys::ENVIRONMENT, "development".into());
    for (k, v) in extra {
        m.insert(k, (*v).to_owned());
    }
    Config::load(|k| m.get(k).cloned())
}

fn ctx() -> RequestContext {
    RequestContext::new(None, || "test-request-0001".into(), 1_700_000_000_000, None)
}

fn call(app: &App<Probes>, req: Request) -> (u16, serde_json::Value, cl_api::http::Response) {
    let handled = pollster::block_on(handle_api(app, &req, &ctx()));
    let resp = finalize(handled.response, &ctx(), true);
    let json = if resp.body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&resp.body).unwrap()
    };
    (resp.status, json, resp)
}

#[test]
fn health_reports_each_check_without_leaking_config() {
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: true,
            kv: true,
            pg: None,
        },
    };
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
    let app = App {
        config: dev_config(&[(keys::STORAGE, "postgres")]),
        probes: Probes {
            d1: true,
            kv: true,
            pg: Some(false),
        },
    };
    let (status, json, _) = call(&app, Request::get("/api/v1/health/ready"));
    assert_eq!(status, 503);
    assert_eq!(json["data"]["status"], "down");
}

#[test]
fn a_kv_outage_degrades_but_stays_ready() {
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: true,
            kv: false,
            pg: None,
        },
    };
    let (status, json, _) = call(&app, Request::get("/api/v1/health/ready"));
    assert_eq!(status, 200);
    assert_eq!(json["data"]["status"], "degraded");
}

#[test]
fn a_d1_outage_makes_ready_fail_but_live_stays_up() {
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: false,
            kv: true,
            pg: None,
        },
    };
    assert_eq!(call(&app, Request::get("/api/v1/health/ready")).0, 503);
    let (status, json, _) = call(&app, Request::get("/api/v1/health/live"));
    assert_eq!(status, 200);
    assert_eq!(json["data"]["live"], true);
}

#[test]
fn every_api_response_carries_security_headers_request_id_and_no_store() {
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: true,
            kv: true,
            pg: None,
        },
    };
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
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: true,
            kv: true,
            pg: None,
        },
    };
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
    let app = App {
        config: dev_config(&[]),
        probes: Probes {
            d1: true,
            kv: true,
            pg: None,
        },
    };
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
