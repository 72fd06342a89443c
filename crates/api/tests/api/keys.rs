//! API keys and admin view-as end to end on the host (product.md §3, §11.10): creation rules
//! (premium, verified, recent re-auth, shown once, HMAC stored), the key gate (Bearer or
//! X-API-Key, cookies ignored, key in the URL refused, revocation and expiry immediate, IP
//! rules, per-key rate limit with Retry-After, owner no longer premium), IDOR, view-as, and
//! every response of the family against the OpenAPI document.

use crate::rig::{Browser, Rig, PASSWORD};
use cl_api::http::{Headers, Method, Request};
use cl_app::billing::core::plan::{Plan, Provider, UserId as BillingUserId};
use cl_app::billing::core::subscription::{Subscription, SubscriptionSource, SubscriptionStatus};
use cl_app::ports::api_keys::ApiKeyStore;
use cl_app::ports::{BillingStore, UserStore, WebhookWrite};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

/// Gives the user a subscription row (through the billing port, as a webhook would).
pub fn subscribe(
    rig: &Rig,
    email: &str,
    plan: Plan,
    status: SubscriptionStatus,
    expires: Option<i64>,
) {
    let user = rig.user_id(email);
    let uid = BillingUserId::new(user.0).unwrap();
    let read = pollster::block_on(rig.store.subscription_of(uid))
        .unwrap()
        .map(|s| s.subscription);
    let write = WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: format!(
            "test-{email}-{}-{}-{}",
            plan.as_str(),
            status.as_str(),
            rig.now()
        ),
        received_at: rig.now(),
        outcome: "applied".into(),
        payment_id: None,
        read_payment: None,
        payment: None,
        subscription_user: Some(uid),
        read_subscription: read,
        subscription: Some(Subscription {
            user_id: uid,
            plan,
            status,
            starts_at: rig.now() - DAY,
            expires_at: expires,
            cancelled_at: None,
            provider: Some(SubscriptionSource::Admin),
            external_subscription_id: None,
        }),
    };
    pollster::block_on(rig.store.apply_webhook(&write)).unwrap();
}

fn premium(rig: &Rig, email: &str) {
    subscribe(
        rig,
        email,
        Plan::Premium,
        SubscriptionStatus::Active,
        Some(rig.now() + 30 * DAY),
    );
}

fn reauth(b: &mut Browser<'_>) {
    let r = b.post("/api/v1/auth/reauth", json!({ "password": PASSWORD }));
    assert_eq!(r.status, 200, "{}", r.json);
}

/// Creates a key (the browser must be premium and recently re-authenticated).
fn create(b: &mut Browser<'_>, scopes: &str) -> (i64, String) {
    let r = b.post("/api/v1/keys", json!({ "name": "bot", "scopes": scopes }));
    assert_eq!(r.status, 201, "{}", r.json);
    (
        r.data()["key"]["id"].as_i64().unwrap(),
        r.data()["secret"].as_str().unwrap().to_owned(),
    )
}

/// One request with a key header and nothing else (a second apart, under the 10/s limits).
fn keyed(rig: &Rig, path: &str, header: (&str, String), ip: &str) -> crate::helpers::Resp {
    rig.advance(1_100);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = Headers::new();
    headers.set(header.0, header.1);
    rig.send_from(
        Request {
            method: Method::Get,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: Vec::new(),
        },
        ip,
    )
}

fn bearer(key: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {key}"))
}

#[test]
fn creating_a_key_needs_premium_a_verified_email_and_a_recent_reauth() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k1@example.com", "kone", "198.51.100.40");
    let r = b.post("/api/v1/keys", json!({"name": "bot", "scopes": "all"}));
    assert_eq!((r.status, r.code()), (403, Some("tier_required")));
    assert_eq!(r.fields(), vec![("tier".into(), "premium".into())]);

    premium(&rig, "k1@example.com");
    // A login counts as a re-authentication for 10 minutes.
    rig.advance(11 * 60_000);
    let r = b.post("/api/v1/keys", json!({"name": "bot", "scopes": "all"}));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.fields(),
        vec![("session".into(), "reauth_required".into())]
    );

    reauth(&mut b);
    let r = b.post("/api/v1/keys", json!({"name": "", "scopes": "read:nope"}));
    assert_eq!((r.status, r.code()), (400, Some("validation_failed")));
    let r = b.post(
        "/api/v1/keys",
        json!({"name": "bot", "scopes": "admin:metrics"}),
    );
    assert_eq!(r.fields(), vec![("scopes".into(), "not_allowed".into())]);

    let (id, secret) = create(&mut b, "read:matrix read:symbols");
    assert!(secret.starts_with("cle_") && secret.len() == 56, "{secret}");
    // Stored as an HMAC only; listings never show the key again.
    let stored = pollster::block_on(rig.store.api_keys_of(rig.user_id("k1@example.com")))
        .unwrap()
        .remove(0);
    assert_eq!(stored.key_hmac.len(), 64);
    assert!(!stored.key_hmac.contains(&secret[12..]));
    let list = b.get("/api/v1/keys");
    assert_eq!(list.status, 200);
    assert!(!String::from_utf8_lossy(&list.body).contains(&secret[13..]));
    assert_eq!(list.data()[0]["id"], id);
    assert_eq!(
        list.data()[0]["scopes"],
        json!(["read:symbols", "read:matrix"])
    );
    let one = b.get(&format!("/api/v1/keys/{id}"));
    assert!(one.data()["display"]
        .as_str()
        .unwrap()
        .ends_with(&secret[secret.len() - 4..]));

    // An unverified user cannot create one.
    let mut anon = rig.browser("198.51.100.41");
    anon.post(
        "/api/v1/auth/register",
        json!({"email": "k2@example.com", "username": "ktwo", "password": PASSWORD}),
    );
    anon.login("k2@example.com", PASSWORD);
    premium(&rig, "k2@example.com");
    reauth(&mut anon);
    let r = anon.post("/api/v1/keys", json!({"name": "bot", "scopes": "all"}));
    assert_eq!((r.status, r.code()), (403, Some("email_unverified")));
}

#[test]
fn at_most_ten_active_keys() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k3@example.com", "kthree", "198.51.100.42");
    premium(&rig, "k3@example.com");
    reauth(&mut b);
    let ids: Vec<i64> = (0..10).map(|_| create(&mut b, "all").0).collect();
    let r = b.post("/api/v1/keys", json!({"name": "bot", "scopes": "all"}));
    assert_eq!((r.status, r.code()), (403, Some("quota_exceeded")));
    let r = b.delete(&format!("/api/v1/keys/{}", ids[0]));
    assert_eq!(r.status, 200, "{}", r.json);
    create(&mut b, "all");
}

#[test]
fn the_gate_takes_keys_from_headers_only_and_ignores_cookies() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k4@example.com", "kfour", "198.51.100.43");
    premium(&rig, "k4@example.com");
    reauth(&mut b);
    let (_, key) = create(&mut b, "read:matrix");
    let ip = "203.0.113.9";
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", ("x-api-key", key.clone()), ip).status,
        200
    );
    // In the URL: refused even with the header.
    let r = keyed(
        &rig,
        &format!("/api/v1/matrix?api_key={key}"),
        bearer(&key),
        ip,
    );
    assert_eq!(r.status, 401);
    // A wrong, malformed or differently-schemed key.
    let mut wrong = key.clone();
    wrong.replace_range(20..21, if &key[20..21] == "A" { "B" } else { "A" });
    for h in [
        bearer(&wrong),
        bearer("cle_nope"),
        ("authorization", format!("Basic {key}")),
    ] {
        assert_eq!(keyed(&rig, "/api/v1/matrix", h, ip).status, 401);
    }
    // Scope missing (the portfolio routes need read:portfolio).
    let r = keyed(&rig, "/api/v1/portfolios", bearer(&key), ip);
    assert_eq!((r.status, r.code()), (403, Some("scope_missing")));
    // Cookies are ignored with a key: a session route refuses the key even with a valid
    // session cookie, and no session cookie is refreshed.
    rig.advance(1_100);
    let mut req = b.request(Method::Get, "/api/v1/auth/me", None);
    req.headers.set("x-api-key", key.clone());
    let r = rig.send_from(req, ip);
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));
    assert!(r.headers.get("set-cookie").is_none());
    // Usage was counted.
    let id = b.get("/api/v1/keys").data()[0]["id"].as_i64().unwrap();
    let usage = b.get(&format!("/api/v1/keys/{id}/usage"));
    assert_eq!(usage.status, 200, "{}", usage.json);
    let total: i64 = usage.data()["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["requests"].as_i64().unwrap())
        .sum();
    assert!(total >= 3, "{}", usage.json);
    assert!(usage.data()["last_used_at"].is_i64());
}

#[test]
fn revocation_and_expiry_take_effect_on_the_next_request() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k5@example.com", "kfive", "198.51.100.44");
    premium(&rig, "k5@example.com");
    reauth(&mut b);
    let ip = "203.0.113.10";
    let (id, key) = create(&mut b, "all");
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    assert_eq!(b.delete(&format!("/api/v1/keys/{id}")).status, 200);
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 401);

    let expires = rig.now() + 60_000;
    let r = b.post(
        "/api/v1/keys",
        json!({"name": "short", "scopes": "all", "expires_at": expires.to_string()}),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let key = r.data()["secret"].as_str().unwrap().to_owned();
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    rig.advance(60_000);
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 401);

    // The owner's plan lapsing (suspended) disables the key at once.
    let (_, key) = create(&mut b, "all");
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    subscribe(
        &rig,
        "k5@example.com",
        Plan::Premium,
        SubscriptionStatus::Suspended,
        Some(rig.now() + DAY),
    );
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 401);
    // A deactivated owner too.
    premium(&rig, "k5@example.com");
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    pollster::block_on(rig.store.set_active(rig.user_id("k5@example.com"), false)).unwrap();
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 401);
}

#[test]
fn ip_rules_allow_and_deny_v4_and_v6() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k6@example.com", "ksix", "198.51.100.45");
    premium(&rig, "k6@example.com");
    reauth(&mut b);
    let (id, key) = create(&mut b, "all");
    let rules = format!("/api/v1/keys/{id}/ip-rules");
    let r = b.post(&rules, json!({"action": "deny", "cidr": "203.0.113.0/24"}));
    assert_eq!(r.status, 201, "{}", r.json);
    let deny_id = r.data()["id"].as_i64().unwrap();
    let r = b.post(&rules, json!({"action": "maybe", "cidr": "300.1.1.1"}));
    assert_eq!(
        r.fields(),
        vec![
            ("action".into(), "invalid_choice".into()),
            ("cidr".into(), "invalid_format".into())
        ]
    );
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "203.0.113.7").status,
        401
    );
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "192.0.2.7").status,
        200
    );
    // An allow rule (IPv6 /64): only that network passes.
    let r = b.post(
        &rules,
        json!({"action": "allow", "cidr": "2001:db8:1:2::/64"}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "192.0.2.7").status,
        401
    );
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "2001:db8:1:2::99").status,
        200
    );
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "2001:db8:1:3::1").status,
        401
    );
    assert_eq!(b.get(&rules).data().as_array().unwrap().len(), 2);
    let r = b.delete(&format!("{rules}/{deny_id}"));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(b.delete(&format!("{rules}/{deny_id}")).status, 404);
}

#[test]
fn a_key_is_limited_to_ten_requests_a_second_with_retry_after() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k7@example.com", "kseven", "198.51.100.46");
    premium(&rig, "k7@example.com");
    reauth(&mut b);
    let (_, key) = create(&mut b, "all");
    rig.advance(1_000);
    let mut statuses = Vec::new();
    for i in 0..12 {
        // Different client IPs: the per-key limit is the one that answers.
        let mut headers = Headers::new();
        headers.set("authorization", format!("Bearer {key}"));
        let r = rig.send_from(
            Request {
                method: Method::Get,
                path: "/api/v1/matrix".into(),
                query: String::new(),
                headers,
                body: Vec::new(),
            },
            &format!("192.0.2.{}", i + 1),
        );
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_some());
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429]);
}

#[test]
fn the_owner_sets_a_keys_own_per_minute_limit() {
    let rig = Rig::new();
    let mut b = rig.signed_up("k10@example.com", "kten", "198.51.100.52");
    premium(&rig, "k10@example.com");
    reauth(&mut b);
    let (id, key) = create(&mut b, "all");
    let req = b.request(
        Method::Patch,
        &format!("/api/v1/keys/{id}"),
        Some(json!({"per_min": "2"})),
    );
    let r = b.send(req);
    assert_eq!(r.data()["per_min"], 2, "{}", r.json);
    // Three requests inside one minute (a second apart): the third is refused.
    rig.clock
        .set(rig.now() - rig.now().rem_euclid(60_000) + 60_000);
    let ip = "192.0.2.60";
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    assert_eq!(keyed(&rig, "/api/v1/matrix", bearer(&key), ip).status, 200);
    let r = keyed(&rig, "/api/v1/matrix", bearer(&key), ip);
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")));
    assert!(r.headers.get("retry-after").is_some());
    let r = b.request(
        Method::Patch,
        &format!("/api/v1/keys/{id}"),
        Some(json!({"per_min": "0"})),
    );
    assert_eq!(
        b.send(r).fields(),
        vec![("per_min".into(), "out_of_range".into())]
    );
}

#[test]
fn another_users_key_answers_404() {
    let rig = Rig::new();
    let mut a = rig.signed_up("k8@example.com", "keight", "198.51.100.47");
    premium(&rig, "k8@example.com");
    reauth(&mut a);
    let (id, key) = create(&mut a, "all");
    let mut m = rig.signed_up("k9@example.com", "knine", "198.51.100.48");
    premium(&rig, "k9@example.com");
    reauth(&mut m);
    for r in [
        m.get(&format!("/api/v1/keys/{id}")),
        m.delete(&format!("/api/v1/keys/{id}")),
        m.get(&format!("/api/v1/keys/{id}/ip-rules")),
        m.get(&format!("/api/v1/keys/{id}/usage")),
        m.post(
            &format!("/api/v1/keys/{id}/ip-rules"),
            json!({"action": "deny", "cidr": "0.0.0.0/0"}),
        ),
    ] {
        assert_eq!((r.status, r.code()), (404, Some("not_found")), "{}", r.json);
    }
    let req = m.request(
        Method::Patch,
        &format!("/api/v1/keys/{id}"),
        Some(json!({"name": "mine"})),
    );
    assert_eq!(m.send(req).status, 404);
    assert!(m.get("/api/v1/keys").data().as_array().unwrap().is_empty());
    // The owner's key still works.
    assert_eq!(
        keyed(&rig, "/api/v1/matrix", bearer(&key), "192.0.2.50").status,
        200
    );
    // Without CSRF, management writes are refused.
    let mut req = a.request(Method::Delete, &format!("/api/v1/keys/{id}"), None);
    req.headers.remove("x-csrf-token");
    assert_eq!(rig.send_from(req, "198.51.100.47").status, 403);
}

#[test]
fn admins_view_as_a_tier_on_their_session() {
    let rig = Rig::new();
    let mut a = rig.signed_up("adm@example.com", "admin1", "198.51.100.49");
    pollster::block_on(rig.store.set_admin(rig.user_id("adm@example.com"), true)).unwrap();
    let me = a.get("/api/v1/auth/me");
    assert_eq!(me.data()["tier"], "premium");
    assert_eq!(me.data()["limits"]["api_keys"], Value::Null);
    let r = a.post("/api/v1/admin/view-as", json!({"tier": "free"}));
    assert_eq!(r.status, 200, "{}", r.json);
    let me = a.get("/api/v1/auth/me");
    assert_eq!(me.data()["tier"], "free");
    assert_eq!(me.data()["viewing_as"], "free");
    assert_eq!(me.data()["limits"]["symbols"], json!(["BTC/USDT"]));
    let r = a.post("/api/v1/admin/view-as", json!({"tier": "gold"}));
    assert_eq!(r.fields(), vec![("tier".into(), "invalid_choice".into())]);
    let r = a.post("/api/v1/admin/view-as", json!({ "tier": null }));
    assert_eq!(r.status, 200);
    assert_eq!(a.get("/api/v1/auth/me").data()["viewing_as"], Value::Null);

    let mut u = rig.signed_up("usr@example.com", "user1", "198.51.100.50");
    let r = u.post("/api/v1/admin/view-as", json!({"tier": "premium"}));
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));
    // A pro subscriber's /auth/me shows the subscription's tier.
    subscribe(
        &rig,
        "usr@example.com",
        Plan::Pro,
        SubscriptionStatus::Cancelled,
        Some(rig.now() + DAY),
    );
    assert_eq!(u.get("/api/v1/auth/me").data()["tier"], "pro");
    rig.advance(DAY + 1);
    assert_eq!(u.get("/api/v1/auth/me").data()["tier"], "free");
}

#[test]
fn every_key_route_answers_as_the_openapi_document_says() {
    let rig = Rig::new();
    let mut b = rig.signed_up("kd@example.com", "kdoc", "198.51.100.51");
    premium(&rig, "kd@example.com");
    b.post("/api/v1/keys", json!({"name": "bot", "scopes": "all"}));
    reauth(&mut b);
    let (id, _) = create(&mut b, "all");
    b.get("/api/v1/keys");
    b.get(&format!("/api/v1/keys/{id}"));
    b.get("/api/v1/keys/999");
    let req = b.request(
        Method::Patch,
        &format!("/api/v1/keys/{id}"),
        Some(json!({"name": "renamed", "per_min": "30", "expires_at": ""})),
    );
    b.send(req);
    let r = b.post(
        &format!("/api/v1/keys/{id}/ip-rules"),
        json!({"action": "allow", "cidr": "10.0.0.0/8"}),
    );
    let rule = r.data()["id"].as_i64().unwrap();
    b.get(&format!("/api/v1/keys/{id}/ip-rules"));
    b.get(&format!("/api/v1/keys/{id}/usage"));
    b.delete(&format!("/api/v1/keys/{id}/ip-rules/{rule}"));
    b.delete(&format!("/api/v1/keys/{id}"));
    b.post("/api/v1/admin/view-as", json!({"tier": "pro"}));

    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for (method, route, status, body) in rig.seen.borrow().iter() {
        let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{route} {status} undocumented");
        covered.insert(*route);
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let errors = crate::schema::validate(&doc, schema, body);
            assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
        }
    }
    for spec in cl_api::routes::TABLE
        .iter()
        .filter(|s| cl_api::keys::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}
