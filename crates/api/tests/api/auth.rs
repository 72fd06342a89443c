//! The auth HTTP layer end to end on the host: journeys, the gate (CSRF, Origin, keys),
//! cookies, enumeration safety, lockout, rate limits, CORS, body checks, 2FA, IDOR, the CSP
//! sink and the redaction of logs.

use crate::rig::*;
use cl_api::http::{Headers, Method, Request};
use cl_app::ports::{MailKind, UserStore};
use serde_json::json;

const MINUTE: i64 = 60_000;

#[test]
fn register_verify_login_me_logout_and_the_old_cookie_is_dead() {
    let rig = Rig::new();
    let mut b = rig.browser("198.51.100.1");
    let pre = b.cookie.clone().unwrap();
    let r = b.post(
        "/api/v1/auth/register",
        json!({"email": "Ann@Example.com", "username": "ann", "password": PASSWORD}),
    );
    assert_eq!(r.status, 202, "{}", r.json);
    let token = rig
        .mailer
        .last_token(MailKind::VerifyEmail, "ann@example.com");
    let r = b.post("/api/v1/auth/verify-email", json!({ "token": token }));
    assert_eq!(r.status, 200, "{}", r.json);
    // The same token again: single use.
    let r = b.post("/api/v1/auth/verify-email", json!({ "token": token }));
    assert_eq!(r.status, 400);
    assert_eq!(r.fields(), vec![("token".into(), "invalid_token".into())]);

    let r = b.login("ann@example.com", PASSWORD);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["status"], "logged_in");
    let set = r.headers.get("set-cookie").unwrap().to_owned();
    assert!(set.starts_with("__Host-cl_session="));
    let attrs = cookie_attrs(&set);
    for want in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=604800",
    ] {
        assert!(attrs.iter().any(|a| a == want), "{want} in {set}");
    }
    assert!(!attrs
        .iter()
        .any(|a| a.to_ascii_lowercase().starts_with("domain")));
    let session = b.cookie.clone().unwrap();
    assert_ne!(session, pre, "the login rotates the pre-session id");
    assert_eq!(r.headers.get("cache-control"), Some("no-store"));

    let me = b.get("/api/v1/auth/me");
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.data()["user"]["email"], "ann@example.com");
    assert_eq!(me.data()["user"]["is_verified"], true);
    assert_eq!(me.data()["tier"], "free");
    assert_eq!(me.data()["limits"]["symbols"], json!(["BTC/USDT"]));
    assert!(me.data()["csrf_token"].as_str().is_some());
    assert_eq!(me.headers.get("cache-control"), Some("no-store"));

    let r = b.post_empty("/api/v1/auth/logout");
    assert_eq!(r.status, 200, "{}", r.json);
    let cleared = r.headers.get("set-cookie").unwrap();
    assert!(cleared.starts_with("__Host-cl_session=;"));
    assert!(cookie_attrs(cleared).iter().any(|a| a == "Max-Age=0"));

    // Replaying the old cookie: 401.
    b.cookie = Some(session);
    let r = b.get("/api/v1/auth/me");
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), Some("unauthorized"));
}

#[test]
fn state_changes_need_the_csrf_token_and_the_app_origin() {
    let rig = Rig::new();
    let mut b = rig.signed_up("bo@example.com", "bob", "198.51.100.2");
    let body = json!({"email": "bo@example.com", "password": PASSWORD});

    let mut no_token = b.request(Method::Post, "/api/v1/auth/login", Some(body.clone()));
    no_token.headers.remove("x-csrf-token");
    assert_eq!(b.send(no_token).code(), Some("csrf_failed"));

    let mut wrong_token = b.request(Method::Post, "/api/v1/auth/login", Some(body.clone()));
    wrong_token.headers.set(
        "x-csrf-token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(b.send(wrong_token).status, 403);

    let mut evil = b.request(Method::Post, "/api/v1/auth/logout", None);
    evil.headers.set("origin", "https://evil.example");
    let r = b.send(evil);
    assert_eq!((r.status, r.code()), (403, Some("csrf_failed")));

    let mut no_cookie = b.request(Method::Post, "/api/v1/auth/logout", None);
    no_cookie.headers.remove("cookie");
    assert_eq!(b.send(no_cookie).status, 403);

    let mut cross_site = b.request(Method::Post, "/api/v1/auth/logout", None);
    cross_site.headers.remove("origin");
    cross_site.headers.set("sec-fetch-site", "cross-site");
    assert_eq!(b.send(cross_site).status, 403);

    // Without Origin, `Sec-Fetch-Site: same-origin` suffices.
    let mut same = b.request(Method::Get, "/api/v1/auth/me", None);
    same.headers.remove("origin");
    assert_eq!(b.send(same).status, 200);
    let mut fetch_meta = b.request(Method::Delete, "/api/v1/auth/sessions", None);
    fetch_meta.headers.remove("origin");
    fetch_meta.headers.set("sec-fetch-site", "same-origin");
    assert_eq!(b.send(fetch_meta).status, 200);
    assert!(rig.events.named("csrf_failed") >= 5);
}

#[test]
fn get_never_changes_state_and_wrong_verbs_are_405() {
    let rig = Rig::new();
    let mut b = rig.browser("198.51.100.3");
    let r = b.get("/api/v1/auth/login");
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow"), Some("POST"));
    let r = b.send(b.request(Method::Put, "/api/v1/auth/me", None));
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow"), Some("GET, HEAD"));
}

fn login_failure(
    rig: &Rig,
    email: &str,
    password: &str,
    ip: &str,
) -> (u16, Vec<u8>, Vec<(String, String)>) {
    let mut b = rig.browser(ip);
    let r = b.login(email, password);
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    headers.sort();
    (r.status, r.body, headers)
}

#[test]
fn unknown_wrong_and_locked_logins_are_byte_identical_and_five_failures_lock() {
    let rig = Rig::new();
    rig.signed_up("cy@example.com", "cyd", "198.51.100.4");
    rig.signed_up("di@example.com", "dix", "198.51.100.5");
    // Five wrong passwords, 2 s apart, from five IPs: the lockout (not KV) decides.
    rig.advance(2 * MINUTE);
    for i in 0..5 {
        rig.advance(2_000);
        let (status, _, _) = login_failure(
            &rig,
            "cy@example.com",
            "Wrong7Password",
            &format!("203.0.113.{}", 10 + i),
        );
        assert_eq!(status, 401);
    }
    rig.advance(MINUTE + 1_000);
    // Locked: even the right password fails, identically.
    *rig.fixed_request_id.borrow_mut() = Some("fixed-request-id".into());
    let locked = login_failure(&rig, "cy@example.com", PASSWORD, "203.0.113.50");
    let unknown = login_failure(&rig, "nobody@example.com", PASSWORD, "203.0.113.51");
    let wrong = login_failure(&rig, "di@example.com", "Wrong7Password", "203.0.113.52");
    let malformed = login_failure(&rig, "not-an-email", PASSWORD, "203.0.113.53");
    assert_eq!(locked.0, 401);
    assert_eq!(locked, unknown);
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, malformed);
    assert!(!locked
        .2
        .iter()
        .any(|(n, _)| n == "retry-after" || n == "set-cookie"));
    let body: serde_json::Value = serde_json::from_slice(&locked.1).unwrap();
    assert_eq!(body["error"]["code"], "invalid_credentials");
    assert!(rig.events.named("account_locked") >= 1);
    assert!(rig.events.named("login_failed") >= 9);
}

#[test]
fn rate_limits_answer_429_with_retry_after_and_fail_closed() {
    let rig = Rig::new();
    let mut b = rig.browser("198.51.100.6");
    for i in 0..3 {
        let r = b.post(
            "/api/v1/auth/register",
            json!({"email": format!("u{i}@example.com"), "username": format!("user{i}"), "password": PASSWORD}),
        );
        assert_eq!(r.status, 202);
    }
    let r = b.post(
        "/api/v1/auth/register",
        json!({"email": "u9@example.com", "username": "user9", "password": PASSWORD}),
    );
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")));
    let retry: u32 = r.headers.get("retry-after").unwrap().parse().unwrap();
    assert!((1..=3_600).contains(&retry));

    // Per account: forgot-password for one address from four IPs.
    for i in 0..3 {
        let mut c = rig.browser(&format!("192.0.2.{i}"));
        assert_eq!(
            c.post(
                "/api/v1/auth/forgot-password",
                json!({"email": "u0@example.com"})
            )
            .status,
            202
        );
    }
    let mut c = rig.browser("192.0.2.99");
    let r = c.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "U0@example.com "}),
    );
    assert_eq!(r.status, 429);
    assert!(r.headers.get("retry-after").is_some());

    // Login: 5/min per IP.
    let mut d = rig.browser("192.0.2.200");
    for _ in 0..5 {
        assert_eq!(d.login("x@example.com", "Wrong7Password").status, 401);
    }
    assert_eq!(d.login("x@example.com", "Wrong7Password").status, 429);

    // The limiter down: auth routes fail closed.
    let mut e = rig.browser("192.0.2.201");
    rig.limits.fail(true);
    let r = e.login("x@example.com", PASSWORD);
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")));
    assert!(r.headers.get("retry-after").is_some());
}

#[test]
fn the_client_ip_is_cf_connecting_ip_only() {
    let rig = Rig::new();
    let mut b = rig.browser("198.51.100.7");
    for i in 0..4 {
        let mut req = b.request(
            Method::Post,
            "/api/v1/auth/register",
            Some(json!({"email": format!("x{i}@example.com"), "username": format!("xx{i}"), "password": PASSWORD})),
        );
        req.headers.set("x-forwarded-for", format!("10.0.0.{i}"));
        req.headers.set("x-real-ip", format!("10.1.0.{i}"));
        let r = b.send(req);
        assert_eq!(r.status, if i < 3 { 202 } else { 429 }, "{i}");
    }
    // IPv6 clients share a /64.
    let mut v6a = rig.browser("2001:db8:1:2::1");
    let mut v6b = rig.browser("2001:db8:1:2:ffff::9");
    for i in 0..3 {
        let r = v6a.post(
            "/api/v1/auth/register",
            json!({"email": format!("v{i}@example.com"), "username": format!("vv{i}"), "password": PASSWORD}),
        );
        assert_eq!(r.status, 202);
    }
    let r = v6b.post(
        "/api/v1/auth/register",
        json!({"email": "v9@example.com", "username": "vv9", "password": PASSWORD}),
    );
    assert_eq!(r.status, 429);
}

#[test]
fn keys_in_the_query_or_headers_are_refused_and_cookies_then_ignored() {
    let rig = Rig::new();
    let mut b = rig.signed_up("ed@example.com", "eddy", "198.51.100.8");
    for q in ["api_key=cle_x", "key=1", "token=abc", "Access_Token=z"] {
        let r = b.get(&format!("/api/v1/symbols?{q}"));
        assert_eq!(r.status, 401, "{q}");
    }
    let mut with_key = b.request(Method::Get, "/api/v1/auth/me", None);
    with_key
        .headers
        .set("authorization", "Bearer cle_abcdefgh_xyz");
    assert_eq!(b.send(with_key).status, 401);
    let mut with_key = b.request(Method::Get, "/api/v1/auth/me", None);
    with_key.headers.set("x-api-key", "cle_abcdefgh_xyz");
    assert_eq!(b.send(with_key).status, 401);
    assert_eq!(b.get("/api/v1/auth/me").status, 200);
    assert!(rig.events.named("key_denied") >= 6);
}

#[test]
fn cors_echoes_only_listed_origins_never_with_credentials() {
    let rig = Rig::new();
    let mut req = Request::get("/api/v1/symbols");
    req.headers.set("origin", PARTNER);
    let r = rig.send_from(req, "198.51.100.9");
    assert_eq!(r.headers.get("access-control-allow-origin"), Some(PARTNER));
    assert_eq!(r.headers.get("vary"), Some("Origin"));
    assert!(r.headers.get("access-control-allow-credentials").is_none());

    let mut req = Request::get("/api/v1/symbols");
    req.headers.set("origin", "https://evil.example");
    let r = rig.send_from(req, "198.51.100.9");
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(r.headers.get("vary"), Some("Origin"));

    let r = rig.send_from(Request::get("/api/v1/nope"), "198.51.100.9");
    assert_eq!(r.headers.get("vary"), Some("Origin"));

    let mut pre = Request::get("/api/v1/auth/login");
    pre.method = Method::Options;
    pre.headers.set("origin", PARTNER);
    pre.headers.set("access-control-request-method", "POST");
    let r = rig.send_from(pre.clone(), "198.51.100.9");
    assert_eq!(r.status, 204);
    assert_eq!(r.headers.get("access-control-allow-origin"), Some(PARTNER));
    assert_eq!(r.headers.get("access-control-allow-methods"), Some("POST"));
    assert!(r.headers.get("access-control-allow-credentials").is_none());
    pre.headers.set("origin", "https://evil.example");
    let r = rig.send_from(pre, "198.51.100.9");
    assert_eq!(r.status, 204);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert!(r.headers.get("access-control-allow-methods").is_none());
}

#[test]
fn bodies_are_json_only_small_shallow_and_closed() {
    let rig = Rig::new();
    let mut b = rig.browser("198.51.100.10");
    let base = b.request(Method::Post, "/api/v1/auth/login", Some(json!({})));

    let mut form = base.clone();
    form.headers
        .set("content-type", "application/x-www-form-urlencoded");
    form.body = b"email=a&password=b".to_vec();
    assert_eq!(b.send(form).code(), Some("unsupported_media_type"));

    let mut big = base.clone();
    big.body = format!("{{\"email\":\"{}\"}}", "a".repeat(70 * 1024)).into_bytes();
    assert_eq!(b.send(big).status, 413);

    let mut broken = base.clone();
    broken.body = b"{\"email\":".to_vec();
    assert_eq!(b.send(broken).code(), Some("malformed_json"));

    let mut latin1 = base.clone();
    latin1.body = b"{\"email\":\"\xe9\"}".to_vec();
    assert_eq!(b.send(latin1).code(), Some("malformed_json"));

    let mut deep = base.clone();
    deep.body = format!("{}{}", "[".repeat(40), "]".repeat(40)).into_bytes();
    assert_eq!(b.send(deep).code(), Some("malformed_json"));

    let r = b.post(
        "/api/v1/auth/register",
        json!({"email": "f@example.com", "username": "fff", "password": PASSWORD, "is_admin": true, "tier": "premium"}),
    );
    assert_eq!(r.code(), Some("validation_failed"));
    assert_eq!(
        r.fields(),
        vec![
            ("is_admin".into(), "unknown_field".into()),
            ("tier".into(), "unknown_field".into())
        ]
    );
    let r = b.post("/api/v1/auth/login", json!({"email": 5}));
    assert_eq!(
        r.fields(),
        vec![
            ("email".into(), "invalid_type".into()),
            ("password".into(), "required".into())
        ]
    );
    assert!(rig.store_is_empty());
}

impl Rig {
    fn store_is_empty(&self) -> bool {
        pollster::block_on(self.store.user(cl_app::ports::UserId(1)))
            .unwrap()
            .is_none()
    }
}

#[test]
fn password_policy_messages_are_identical_on_register_reset_and_change() {
    let rig = Rig::new();
    let mut b = rig.signed_up("gu@example.com", "gus", "198.51.100.11");
    let weak = "short";
    let strip = |r: &crate::helpers::Resp| -> Vec<(String, String)> {
        r.json["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("password_"))
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut anon = rig.browser("198.51.100.12");
    let reg = anon.post(
        "/api/v1/auth/register",
        json!({"email": "h@example.com", "username": "hhh", "password": weak}),
    );
    let reset = anon.post(
        "/api/v1/auth/reset-password",
        json!({"token": "x".repeat(43), "password": weak}),
    );
    let change = b.post(
        "/api/v1/auth/change-password",
        json!({"current_password": PASSWORD, "new_password": weak}),
    );
    for r in [&reg, &reset, &change] {
        assert_eq!(r.code(), Some("validation_failed"), "{}", r.json);
    }
    assert!(!strip(&reg).is_empty());
    assert_eq!(strip(&reg), strip(&reset));
    assert_eq!(strip(&reset), strip(&change));
    assert!(change.fields().iter().all(|(f, _)| f == "new_password"));
}

#[test]
fn two_factor_setup_enable_logout_login_totp() {
    let rig = Rig::new();
    let mut b = rig.signed_up("iv@example.com", "ivy", "198.51.100.13");
    let r = b.post_empty("/api/v1/auth/2fa/setup");
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.data()["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let before = b.cookie.clone();
    let code = rig.totp_code("iv@example.com");
    let r = b.post("/api/v1/auth/2fa/enable", json!({ "code": code }));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["recovery_codes"].as_array().unwrap().len(), 10);
    assert_ne!(b.cookie, before, "enabling 2FA rotates the session");
    assert_eq!(
        b.get("/api/v1/auth/me").data()["user"]["totp_enabled"],
        true
    );
    assert_eq!(b.post_empty("/api/v1/auth/logout").status, 200);

    let mut b = rig.browser("198.51.100.13");
    let r = b.login("iv@example.com", PASSWORD);
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["status"], "totp_required");
    assert!(cookie_attrs(r.headers.get("set-cookie").unwrap())
        .iter()
        .any(|a| a == "Max-Age=600"));
    // The pending session reaches nothing but the TOTP step.
    assert_eq!(b.get("/api/v1/auth/me").status, 401);
    assert_eq!(b.get("/api/v1/auth/sessions").status, 401);
    // (Checks less than 1 s apart would trip the lockout's burst rule.)
    rig.advance(2_000);
    let r = b.post("/api/v1/auth/login/totp", json!({"code": "000000"}));
    assert_eq!(r.code(), Some("invalid_credentials"));
    rig.advance(30_000);
    let code = rig.totp_code("iv@example.com");
    let r = b.post("/api/v1/auth/login/totp", json!({ "code": code }));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["status"], "logged_in");
    assert_eq!(b.get("/api/v1/auth/me").status, 200);
}

#[test]
fn totp_checks_are_capped_per_pending_login() {
    let rig = Rig::new();
    let mut b = rig.signed_up("ja@example.com", "jay", "198.51.100.14");
    b.post_empty("/api/v1/auth/2fa/setup");
    let code = rig.totp_code("ja@example.com");
    assert_eq!(
        b.post("/api/v1/auth/2fa/enable", json!({ "code": code }))
            .status,
        200
    );
    b.post_empty("/api/v1/auth/logout");
    let mut b = rig.browser("198.51.100.14");
    assert_eq!(
        b.login("ja@example.com", PASSWORD).data()["status"],
        "totp_required"
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            b.post("/api/v1/auth/login/totp", json!({"code": "000000"}))
                .status,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(matches!(statuses[5], 401 | 429));
}

#[test]
fn one_user_cannot_revoke_another_users_session() {
    let rig = Rig::new();
    let mut a = rig.signed_up("ka@example.com", "kay", "198.51.100.15");
    let mut b = rig.signed_up("lu@example.com", "lu_", "198.51.100.16");
    let theirs = b.get("/api/v1/auth/sessions");
    let handle = theirs.data()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(theirs.data()[0]["current"], true);
    let r = a.delete(&format!("/api/v1/auth/sessions/{handle}"));
    assert_eq!((r.status, r.code()), (404, Some("not_found")));
    let r = a.delete("/api/v1/auth/sessions/not-a-handle");
    assert_eq!(r.status, 404);
    assert_eq!(b.get("/api/v1/auth/me").status, 200, "still signed in");
    // Revoking one's own current session signs out.
    let r = b.delete(&format!("/api/v1/auth/sessions/{handle}"));
    assert_eq!(r.status, 200);
    assert!(r.headers.get("set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn reauth_gates_sensitive_operations_and_admin_routes_need_an_admin() {
    let rig = Rig::new();
    let mut a = rig.signed_up("mo@example.com", "moe", "198.51.100.17");
    rig.advance(11 * MINUTE);
    let r = a.post(
        "/api/v1/auth/change-email",
        json!({"email": "new@example.com"}),
    );
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));
    assert_eq!(
        r.fields(),
        vec![("session".into(), "reauth_required".into())]
    );
    assert_eq!(
        a.post("/api/v1/auth/reauth", json!({"password": "Wrong7Password"}))
            .code(),
        Some("invalid_credentials")
    );
    assert_eq!(
        a.post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
            .status,
        200
    );
    assert_eq!(
        a.post(
            "/api/v1/auth/change-email",
            json!({"email": "new@example.com"})
        )
        .status,
        202
    );

    let id = rig.user_id("mo@example.com");
    let r = a.post_empty(&format!("/api/v1/admin/users/{}/unlock", id.0));
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));
    pollster::block_on(rig.store.set_admin(id, true)).unwrap();
    let r = a.post_empty(&format!("/api/v1/admin/users/{}/unlock", id.0));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(a.post_empty("/api/v1/admin/users/999/unlock").status, 404);
    assert!(rig.events.named("authorization_failed") >= 1);
}

#[test]
fn change_password_rotates_and_revokes_the_others_and_delete_needs_reauth() {
    let rig = Rig::new();
    let mut a = rig.signed_up("ny@example.com", "nyx", "198.51.100.18");
    let mut other = rig.browser("198.51.100.19");
    assert_eq!(other.login("ny@example.com", PASSWORD).status, 200);
    let before = a.cookie.clone();
    let r = a.post(
        "/api/v1/auth/change-password",
        json!({"current_password": PASSWORD, "new_password": "Better8Horse"}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_ne!(a.cookie, before);
    assert_eq!(a.get("/api/v1/auth/me").status, 200);
    assert_eq!(other.get("/api/v1/auth/me").status, 401);
    rig.advance(11 * MINUTE);
    assert_eq!(a.delete("/api/v1/auth/account").status, 403);
    a.post("/api/v1/auth/reauth", json!({"password": "Better8Horse"}));
    let r = a.delete("/api/v1/auth/account");
    assert_eq!(r.status, 200);
    assert_eq!(a.get("/api/v1/auth/me").status, 401);
}

#[test]
fn register_resend_and_forgot_answer_the_same_whether_or_not_the_account_exists() {
    let rig = Rig::new();
    rig.signed_up("op@example.com", "opal", "198.51.100.20");
    *rig.fixed_request_id.borrow_mut() = Some("fixed-request-id".into());
    let run = |path: &str, body: serde_json::Value, ip: &str| {
        let mut b = rig.browser(ip);
        let r = b.post(path, body);
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        h.sort();
        (r.status, r.body, h)
    };
    let taken = run(
        "/api/v1/auth/register",
        json!({"email": "op@example.com", "username": "someone", "password": PASSWORD}),
        "203.0.113.60",
    );
    let fresh = run(
        "/api/v1/auth/register",
        json!({"email": "pq@example.com", "username": "pq_new", "password": PASSWORD}),
        "203.0.113.61",
    );
    assert_eq!(taken.0, 202);
    assert_eq!(taken, fresh);
    for path in [
        "/api/v1/auth/forgot-password",
        "/api/v1/auth/resend-verification",
    ] {
        let known = run(path, json!({"email": "op@example.com"}), "203.0.113.62");
        let unknown = run(path, json!({"email": "zz@example.com"}), "203.0.113.63");
        assert_eq!(known, unknown, "{path}");
        assert_eq!(
            known.1, fresh.1,
            "one body for every check-your-email answer"
        );
    }
    assert!(rig
        .mailer
        .sent
        .borrow()
        .iter()
        .any(|m| m.kind == MailKind::AccountExists));
}

fn csp(rig: &Rig, body: &[u8], content_type: &str, ip: &str) -> crate::helpers::Resp {
    let mut headers = Headers::new();
    headers.set("content-type", content_type);
    rig.send_from(
        Request {
            method: Method::Post,
            path: "/api/v1/csp-report".into(),
            query: String::new(),
            headers,
            body: body.to_vec(),
        },
        ip,
    )
}

#[test]
fn the_csp_sink_takes_small_reports_ten_a_minute_and_logs_fields_only() {
    let rig = Rig::new();
    let report = br#"{"csp-report":{"document-uri":"https://app.example/reset?token=s3cr3t-token","violated-directive":"script-src","blocked-uri":"inline"}}"#;
    let r = csp(&rig, report, "application/csp-report", "198.51.100.21");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let modern = br#"[{"type":"csp-violation","body":{"documentURL":"https://app.example/","effectiveDirective":"img-src"}}]"#;
    assert_eq!(
        csp(&rig, modern, "application/reports+json", "198.51.100.21").status,
        204
    );
    assert_eq!(
        csp(&rig, report, "application/json", "198.51.100.21").status,
        415
    );
    assert_eq!(
        csp(
            &rig,
            &vec![b' '; 9 * 1024],
            "application/csp-report",
            "198.51.100.21"
        )
        .status,
        413
    );
    for _ in 0..8 {
        assert_eq!(
            csp(&rig, report, "application/csp-report", "198.51.100.21").status,
            204
        );
    }
    let r = csp(&rig, report, "application/csp-report", "198.51.100.21");
    assert_eq!(r.status, 429);
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(
        csp(&rig, report, "application/csp-report", "198.51.100.22").status,
        204
    );
    let lines = rig.events.0.borrow();
    let logged: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("csp_violation"))
        .collect();
    assert!(!logged.is_empty());
    assert!(logged.iter().all(|l| !l.contains("s3cr3t")));
    assert!(logged[0].contains("script-src"));
}

#[test]
fn no_secret_of_a_request_reaches_the_access_log_or_the_events() {
    let rig = Rig::new();
    let mut b = rig.signed_up("qu@example.com", "quinn", "198.51.100.23");
    let cookie = b.cookie.clone().unwrap();
    let csrf = b.csrf.clone().unwrap();
    let secrets = [
        cookie.as_str(),
        csrf.as_str(),
        PASSWORD,
        "Sup3rSecretNewPass",
        "cle_abcdefgh_secretkeyvalue",
        "query-secret-token",
        "qu@example.com",
    ];
    // A login with a password, a password change, a key in a header and one in the query.
    b.login("qu@example.com", PASSWORD);
    let mut req = b.request(
        Method::Post,
        "/api/v1/auth/change-password",
        Some(json!({"current_password": PASSWORD, "new_password": "Sup3rSecretNewPass"})),
    );
    req.headers.set("x-debug", "nothing");
    b.send(req);
    let mut keyed = b.request(
        Method::Get,
        "/api/v1/auth/me?token=query-secret-token",
        None,
    );
    keyed
        .headers
        .set("authorization", "Bearer cle_abcdefgh_secretkeyvalue");
    assert_eq!(b.send(keyed).status, 401);
    let mut bad = b.request(
        Method::Post,
        "/api/v1/auth/login",
        Some(json!({"email": "qu@example.com", "password": "Sup3rSecretNewPass", "x": 1})),
    );
    bad.headers.set("x-csrf-token", "wrong");
    b.send(bad);
    let text = format!(
        "{}\n{}",
        rig.access_log.borrow().join("\n"),
        rig.events.0.borrow().join("\n")
    );
    assert!(text.contains("login_succeeded"));
    for s in secrets {
        assert!(!text.contains(s), "{s} leaked into the logs");
    }
    // The redaction helper masks what would leak.
    let masked = format!(
        "{:?}",
        cl_api::events::redact::headers(&b.request(Method::Get, "/", None).headers)
    );
    assert!(!masked.contains(&cookie) && masked.contains("[REDACTED]"));
}

#[test]
fn every_account_route_answers_as_the_openapi_document_says() {
    let rig = Rig::new();
    // A tour of every account route, successes and failures.
    let mut a = rig.signed_up("ra@example.com", "rae", "198.51.100.30");
    let mut anon = rig.browser("198.51.100.31");
    anon.post(
        "/api/v1/auth/resend-verification",
        json!({"email": "ra@example.com"}),
    );
    anon.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "ra@example.com"}),
    );
    anon.post(
        "/api/v1/auth/reset-password",
        json!({"token": "x".repeat(43), "password": PASSWORD}),
    );
    anon.post(
        "/api/v1/auth/register",
        json!({"email": "bad", "username": "x", "password": "y"}),
    );
    anon.login("ra@example.com", "Wrong7Password");
    anon.post("/api/v1/auth/login/totp", json!({"code": "123456"}));
    anon.get("/api/v1/auth/me");
    a.get("/api/v1/auth/me");
    a.get("/api/v1/auth/sessions");
    a.post("/api/v1/auth/reauth", json!({"password": PASSWORD}));
    a.post(
        "/api/v1/auth/change-email",
        json!({"email": "ra2@example.com"}),
    );
    a.post_empty("/api/v1/auth/2fa/setup");
    let code = rig.totp_code("ra@example.com");
    a.post("/api/v1/auth/2fa/enable", json!({ "code": code }));
    a.post_empty("/api/v1/auth/2fa/recovery-codes");
    rig.advance(31_000);
    let code = rig.totp_code("ra@example.com");
    a.post(
        "/api/v1/auth/2fa/disable",
        json!({"password": PASSWORD, "code": code}),
    );
    a.post(
        "/api/v1/auth/change-password",
        json!({"current_password": PASSWORD, "new_password": "Better8Horse"}),
    );
    a.delete("/api/v1/auth/sessions");
    a.delete("/api/v1/auth/sessions/0123456789abcdef0123456789abcdef");
    a.post_empty("/api/v1/admin/users/1/unlock");
    csp(&rig, b"{}", "application/csp-report", "198.51.100.32");
    a.delete("/api/v1/auth/account");
    a.post_empty("/api/v1/auth/logout");

    let doc: serde_json::Value =
        serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for (method, route, status, body) in rig.seen.borrow().iter() {
        let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{route} {status} undocumented");
        covered.insert(*route);
        match response["content"]["application/json"].get("schema") {
            Some(schema) => {
                let errors = crate::schema::validate(&doc, schema, body);
                assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
            }
            None => assert!(body.is_null(), "{route}: undocumented body"),
        }
    }
    for spec in cl_api::routes::TABLE
        .iter()
        .filter(|s| s.route.needs_accounts())
        // The portfolio family checks its responses against the document in tests/api/portfolio.rs.
        .filter(|s| !cl_api::portfolio::family_handles(s.route))
        // The key family checks its responses against the document in tests/api/keys.rs.
        .filter(|s| !cl_api::keys::handles(s.route))
        // The payment family likewise, in tests/api/payments.rs.
        .filter(|s| !cl_api::payments::handles(s.route))
        // The admin family likewise, in tests/api/admin.rs.
        .filter(|s| !cl_api::admin::handles(s.route))
        // The notification settings likewise, in tests/api/notifications.rs.
        .filter(|s| !cl_api::notifications::handles(s.route))
        // The optimizer and trading preferences likewise, in tests/api/optimizer.rs.
        .filter(|s| !cl_api::optimizer::handles(s.route))
        // Admin notifications likewise, in tests/api/notify_admin.rs.
        .filter(|s| !cl_api::notify_admin::handles(s.route))
        // The scheduler family likewise, in tests/api/scheduler.rs.
        .filter(|s| !cl_api::scheduler::handles(s.route))
        // The run queue and admin operations likewise, in tests/api/ops.rs.
        .filter(|s| !cl_api::ops::handles(s.route))
        // Analytics and the admin stats/settings likewise, in tests/api/stats.rs.
        .filter(|s| !cl_api::stats::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}

#[test]
fn without_account_dependencies_account_routes_answer_503_and_reads_still_work() {
    let app = crate::helpers::empty_app();
    let r = crate::helpers::get(&app, "/api/v1/auth/me");
    assert_eq!((r.status, r.code()), (503, Some("service_unavailable")));
    let r = crate::helpers::send(
        &app,
        crate::helpers::with_method("/api/v1/auth/login", Method::Post),
    );
    assert_eq!(r.status, 503, "before any CSRF decision");
    assert_eq!(crate::helpers::get(&app, "/api/v1/symbols").status, 200);
}
