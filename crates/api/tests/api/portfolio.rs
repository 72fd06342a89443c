//! The portfolio routes on the host over the memory store: happy path (portfolio → trade
//! from a pattern → open → close → PnL and balance), IDOR (another user's ids → 404 and
//! nothing changes), validation (field-level 400s, nothing written), tier denial for free and
//! the pro quotas, CSRF on writes.

use crate::rig::{Browser, Rig};
use cl_api::http::Method;
use cl_app::policy::Tier;
use cl_app::ports::{
    NewPattern, NewSymbol, PatternStore, PortfolioStore, SessionStore, SymbolStore, TradeLevels,
    UserStore,
};
use cl_auth::tokens::SessionToken;
use cl_domain::{Direction, PatternType, Timeframe, Zone};
use serde_json::{json, Value};

use crate::helpers::Resp;
use cl_api::auth::Accounts;
use cl_api::context::RequestContext;
use cl_api::portfolio::PortfolioRoutes;
use cl_api::{finalize, handle_api_with};

/// Sends through the whole HTTP layer (`handle_api_with`: route table, access gate, account
/// dispatch) with the portfolio family wired over the rig's memory store.
fn send(b: &mut Browser<'_>, method: Method, path: &str, body: Option<Value>) -> Resp {
    let req = b.request(method, path, body);
    let rig = b.rig;
    let ctx = RequestContext::new(None, || "req-pf".to_owned(), rig.now(), Some(&b.ip));
    let keys = credentials_keys();
    let family = PortfolioRoutes {
        store: &rig.store,
        credential_keys: Some(&keys),
    };
    let accounts = Accounts {
        store: &rig.store,
        mailer: &rig.mailer,
        hasher: &rig.hasher,
        clock: &rig.clock,
        limits: &rig.limits,
        keys: &rig.keys,
        account_pepper: &rig.pepper,
        events: &rig.events,
        payments: None,
        portfolio: Some(&family),
    };
    let handled = pollster::block_on(handle_api_with(&rig.app, &accounts, &req, &ctx));
    let resp = finalize(handled.response, &ctx, true);
    let json = if resp.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&resp.body).unwrap()
    };
    conforms(method, handled.route, resp.status, &json);
    if let Some(set) = resp.headers.get("set-cookie") {
        let value = set
            .strip_prefix("__Host-cl_session=")
            .and_then(|v| v.split(';').next())
            .unwrap();
        b.cookie = (!value.is_empty()).then(|| value.to_owned());
    }
    Resp {
        status: resp.status,
        json,
        headers: resp.headers,
        body: resp.body,
        route: handled.route,
    }
}

fn credentials_keys() -> cl_auth::crypto::Keyring {
    cl_api::credentials::credentials_keyring(Some(&cl_auth::SecretString::new("cc".repeat(32))))
        .unwrap()
}

/// Every response matches the OpenAPI document: status documented, body valid.
fn conforms(method: Method, route: &str, status: u16, body: &Value) {
    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method:?} {route} {status} undocumented"
    );
    let schema = &response["content"]["application/json"]["schema"];
    let errors = crate::schema::validate(&doc, schema, body);
    assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
}

/// Makes the browser's user an admin viewing as `tier` (the policy without subscriptions).
fn as_tier(rig: &Rig, b: &Browser<'_>, email: &str, tier: Tier) {
    let id = rig.user_id(email);
    pollster::block_on(rig.store.set_admin(id, true)).unwrap();
    let token = SessionToken::parse(b.cookie.as_deref().unwrap()).unwrap();
    assert!(pollster::block_on(rig.store.set_view_as(&token.hash(), Some(tier))).unwrap());
}

fn pattern(rig: &Rig) -> i64 {
    let sym = pollster::block_on(rig.store.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: rig.now(),
    }))
    .unwrap()
    .id;
    let p = NewPattern {
        symbol: sym,
        tf: Timeframe::H1,
        pattern_type: PatternType::Imbalance,
        direction: Direction::Bullish,
        zone: Zone::new(99.0, 101.0).unwrap(),
        swept_level: None,
        detected_at: rig.now() - 3_600_000,
        expires_at: rig.now() + 3_600_000,
        levels: TradeLevels {
            entry: 100.0,
            stop_loss: 90.0,
            tp1: 120.0,
            tp2: 130.0,
            tp3: 140.0,
            risk: 10.0,
            rr1: 2.0,
            rr2: 3.0,
            rr3: 4.0,
        },
        created_at: rig.now(),
    };
    pollster::block_on(rig.store.insert_pattern(&p))
        .unwrap()
        .unwrap()
        .0
}

fn pro_user<'r>(rig: &'r Rig, name: &str) -> Browser<'r> {
    let email = format!("{name}@example.com");
    let b = rig.signed_up(&email, name, "198.51.100.7");
    as_tier(rig, &b, &email, Tier::Premium);
    b
}

#[test]
fn create_trade_from_a_pattern_open_close_gives_pnl_and_balance() {
    let rig = Rig::new();
    let pid = pattern(&rig);
    let mut a = pro_user(&rig, "alice");
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "Main", "initial_balance": 10000, "currency": "USDT"})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let portfolio = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/trades/from-pattern",
        Some(json!({"portfolio_id": portfolio, "id": pid})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let t = &r.json["data"];
    assert_eq!(t["status"], "pending");
    assert_eq!(t["direction"], "long");
    assert_eq!(t["entry_price"], 100.0);
    assert_eq!(t["stop_loss"], 90.0);
    assert_eq!(t["take_profit"], 120.0);
    // 1 % of 10 000 over a 10-point stop.
    assert_eq!(t["quantity"], 10.0);
    let tid = t["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/trades/{tid}/open"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["status"], "open");
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/trades/{tid}/close"),
        Some(json!({"exit_price": 120, "fees": 5})),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let t = &r.json["data"];
    assert_eq!(t["status"], "closed");
    assert_eq!(t["pnl_amount"], 195.0);
    assert_eq!(t["pnl_r"], 1.95);
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/portfolios/{portfolio}"),
        None,
    );
    assert_eq!(r.json["data"]["current_balance"], 10195.0);
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/portfolios/{portfolio}/stats"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["count"], 1);
    assert_eq!(r.json["data"]["win_rate"], 100.0);
    assert_eq!(r.json["data"]["equity_curve"].as_array().unwrap().len(), 2);
    // Closed: only exit price / fees / notes; the balance follows the edit.
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/trades/{tid}"),
        Some(json!({"exit_price": 110, "lessons": "patience"})),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["pnl_amount"], 95.0);
    assert_eq!(r.json["data"]["lessons"], "patience");
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/trades/{tid}"),
        Some(json!({"quantity": 3})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.fields(), vec![("quantity".into(), "not_editable".into())]);
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/portfolios/{portfolio}"),
        None,
    );
    assert_eq!(r.json["data"]["current_balance"], 10095.0);
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/portfolios/{portfolio}/trades?status=closed&limit=1"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["meta"]["next_cursor"], Value::Null);
    // A closed trade cannot be cancelled.
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/trades/{tid}/cancel"),
        None,
    );
    assert_eq!(r.status, 409);
}

#[test]
fn another_users_objects_answer_404_and_stay_unchanged() {
    let rig = Rig::new();
    let mut a = pro_user(&rig, "alice");
    let mut b = pro_user(&rig, "bob");
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "A", "initial_balance": 1000})),
    );
    let p = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/portfolios/{p}/trades"),
        Some(json!({"symbol": "BTC/USDT", "direction": "long", "entry_price": 100, "quantity": 1})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let t = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/trades/{t}/journal"),
        Some(json!({"entry_type": "pre_trade", "content": "plan", "mood": "confident"})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let j = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/tags",
        Some(json!({"name": "breakout"})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let tag = r.json["data"]["id"].as_i64().unwrap();
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::Get, format!("/api/v1/portfolios/{p}"), None),
        (Method::Get, format!("/api/v1/portfolios/{p}/stats"), None),
        (Method::Get, format!("/api/v1/portfolios/{p}/trades"), None),
        (
            Method::Patch,
            format!("/api/v1/portfolios/{p}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::Delete, format!("/api/v1/portfolios/{p}"), None),
        (
            Method::Post,
            format!("/api/v1/portfolios/{p}/trades"),
            Some(
                json!({"symbol": "BTC/USDT", "direction": "long", "entry_price": 1, "quantity": 1}),
            ),
        ),
        (Method::Get, format!("/api/v1/trades/{t}"), None),
        (
            Method::Patch,
            format!("/api/v1/trades/{t}"),
            Some(json!({"quantity": 9})),
        ),
        (Method::Post, format!("/api/v1/trades/{t}/open"), None),
        (Method::Post, format!("/api/v1/trades/{t}/cancel"), None),
        (Method::Delete, format!("/api/v1/trades/{t}"), None),
        (Method::Get, format!("/api/v1/trades/{t}/journal"), None),
        (
            Method::Post,
            format!("/api/v1/trades/{t}/journal"),
            Some(json!({"entry_type": "lesson", "content": "x"})),
        ),
        (
            Method::Put,
            format!("/api/v1/trades/{t}/tags"),
            Some(json!({"tag_ids": []})),
        ),
        (Method::Get, format!("/api/v1/journal/{j}"), None),
        (
            Method::Patch,
            format!("/api/v1/journal/{j}"),
            Some(json!({"content": "mine now"})),
        ),
        (Method::Delete, format!("/api/v1/journal/{j}"), None),
        (Method::Get, format!("/api/v1/tags/{tag}"), None),
        (
            Method::Patch,
            format!("/api/v1/tags/{tag}"),
            Some(json!({"name": "stolen"})),
        ),
        (Method::Delete, format!("/api/v1/tags/{tag}"), None),
    ];
    for (m, path, body) in attempts {
        let r = send(&mut b, m, &path, body);
        assert_eq!(r.status, 404, "{m:?} {path}: {}", r.json);
        assert_eq!(r.code(), Some("not_found"));
    }
    // B cannot attach A's tag to B's own trade either.
    let r = send(
        &mut b,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "B", "initial_balance": 1000})),
    );
    let pb = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut b,
        Method::Post,
        &format!("/api/v1/portfolios/{pb}/trades"),
        Some(json!({"symbol": "BTC/USDT", "direction": "long", "entry_price": 100, "quantity": 1})),
    );
    let tb = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut b,
        Method::Put,
        &format!("/api/v1/trades/{tb}/tags"),
        Some(json!({"tag_ids": [tag]})),
    );
    assert_eq!(r.status, 404);
    // A's objects are intact.
    let r = send(&mut a, Method::Get, &format!("/api/v1/trades/{t}"), None);
    assert_eq!(r.json["data"]["quantity"], 1.0);
    assert_eq!(r.json["data"]["status"], "pending");
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/trades/{t}/journal"),
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = send(&mut a, Method::Get, "/api/v1/tags", None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = send(&mut b, Method::Get, "/api/v1/portfolios", None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
}

#[test]
fn bad_input_gets_field_errors_and_writes_nothing() {
    let rig = Rig::new();
    let mut a = pro_user(&rig, "alice");
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "", "initial_balance": -5, "currency": "BTC", "user_id": 7})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.fields(), vec![("user_id".into(), "unknown_field".into())]);
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "", "initial_balance": 1.123456789, "currency": "BTC"})),
    );
    assert_eq!(r.status, 400);
    let f = r.fields();
    assert!(f.contains(&("name".into(), "required".into())), "{f:?}");
    assert!(
        f.contains(&("initial_balance".into(), "too_many_decimals".into())),
        "{f:?}"
    );
    assert!(
        f.contains(&("currency".into(), "invalid_choice".into())),
        "{f:?}"
    );
    let alice = rig.user_id("alice@example.com");
    assert!(pollster::block_on(rig.store.portfolios_of(alice))
        .unwrap()
        .is_empty());
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "Main", "initial_balance": 1000})),
    );
    let p = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/portfolios/{p}/trades"),
        Some(
            json!({"symbol": "BTC/USDT", "direction": "sideways", "entry_price": "NaN",
            "quantity": -1}),
        ),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.fields(),
        vec![("entry_price".into(), "invalid_type".into())]
    );
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/portfolios/{p}/trades"),
        Some(
            json!({"symbol": "BTC/USDT", "direction": "sideways", "entry_price": 100,
            "quantity": -1, "fees": -2, "take_profit": 0.123456789}),
        ),
    );
    assert_eq!(r.status, 400);
    let f = r.fields();
    for want in [
        ("direction", "invalid_choice"),
        ("quantity", "quantity_out_of_range"),
        ("fees", "fees_out_of_range"),
        ("take_profit", "too_many_decimals"),
    ] {
        assert!(
            f.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {f:?}"
        );
    }
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/portfolios/{p}/trades"),
        Some(
            json!({"symbol": "BTC/USDT", "direction": "long", "entry_price": 100,
            "quantity": 1, "stop_loss": 120}),
        ),
    );
    assert_eq!(
        r.fields(),
        vec![("stop_loss".into(), "stop_loss_wrong_side".into())]
    );
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/portfolios/{p}/trades?status=won"),
        None,
    );
    assert_eq!(r.fields(), vec![("status".into(), "invalid_choice".into())]);
    assert!(
        pollster::block_on(rig.store.trades_of(alice, cl_app::ports::PortfolioId(p)))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn free_users_need_a_tier_and_pro_has_quotas() {
    let rig = Rig::new();
    let mut f = rig.signed_up("free@example.com", "free", "198.51.100.7");
    for (m, path, body) in [
        (Method::Get, "/api/v1/portfolios", None),
        (
            Method::Post,
            "/api/v1/portfolios",
            Some(json!({"name": "x", "initial_balance": 1})),
        ),
        (Method::Get, "/api/v1/tags", None),
    ] {
        let r = send(&mut f, m, path, body);
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.code(), Some("tier_required"));
    }
    let mut p = rig.signed_up("pro@example.com", "pro", "198.51.100.8");
    as_tier(&rig, &p, "pro@example.com", Tier::Pro);
    let r = send(
        &mut p,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "one", "initial_balance": 100})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut p,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "two", "initial_balance": 100})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), Some("quota_exceeded"));
    let trade =
        json!({"symbol": "BTC/USDT", "direction": "short", "entry_price": 100, "quantity": 1});
    for _ in 0..5 {
        let r = send(
            &mut p,
            Method::Post,
            &format!("/api/v1/portfolios/{id}/trades"),
            Some(trade.clone()),
        );
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let r = send(
        &mut p,
        Method::Post,
        &format!("/api/v1/portfolios/{id}/trades"),
        Some(trade.clone()),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), Some("quota_exceeded"));
    // The next UTC day has a fresh allowance.
    rig.advance(86_400_000);
    let r = send(
        &mut p,
        Method::Post,
        &format!("/api/v1/portfolios/{id}/trades"),
        Some(trade),
    );
    assert_eq!(r.status, 201, "{}", r.json);
}

#[test]
fn writes_need_the_csrf_token() {
    let rig = Rig::new();
    let mut a = pro_user(&rig, "alice");
    a.csrf = None;
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "x", "initial_balance": 1})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), Some("csrf_failed"));
}

#[test]
fn exchange_credentials_are_sealed_masked_and_need_reauth_and_pro() {
    let rig = Rig::new();
    let mut f = rig.signed_up("free@example.com", "free", "198.51.100.7");
    let cred = json!({"exchange": "binance", "label": "main", "api_key": "AKIAKEY0123456789WXYZ",
        "api_secret": "s3cr3t-s3cr3t-s3cr3t"});
    let r = send(&mut f, Method::Get, "/api/v1/me/exchange-credentials", None);
    assert_eq!(r.code(), Some("tier_required"));
    let mut p = pro_user(&rig, "pro");
    // The login itself counts as a re-authentication for 10 minutes.
    rig.advance(11 * 60_000);
    let r = send(
        &mut p,
        Method::Put,
        "/api/v1/me/exchange-credentials",
        Some(cred.clone()),
    );
    assert_eq!(r.status, 403, "{}", r.json);
    assert_eq!(
        r.fields(),
        vec![("session".into(), "reauth_required".into())]
    );
    let r = p.post(
        "/api/v1/auth/reauth",
        json!({"password": crate::rig::PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let r = send(
        &mut p,
        Method::Put,
        "/api/v1/me/exchange-credentials",
        Some(
            json!({"exchange": "ftx", "api_key": "short", "api_secret": "x y z 1 2 3 4", "extra": 1}),
        ),
    );
    assert_eq!(r.fields(), vec![("extra".into(), "unknown_field".into())]);
    let r = send(
        &mut p,
        Method::Put,
        "/api/v1/me/exchange-credentials",
        Some(json!({"exchange": "ftx", "api_key": "short", "api_secret": "x y z 1 2 3 4"})),
    );
    let mut f = r.fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            ("api_key".into(), "invalid_format".into()),
            ("api_secret".into(), "invalid_format".into()),
            ("exchange".into(), "invalid_choice".into()),
        ]
    );
    let r = send(
        &mut p,
        Method::Put,
        "/api/v1/me/exchange-credentials",
        Some(cred),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["api_key_masked"], "****WXYZ");
    assert_eq!(r.json["data"]["key_id"], "cred1");
    assert!(!r.body.windows(8).any(|w| w == b"AKIAKEY0"));
    let r = send(&mut p, Method::Get, "/api/v1/me/exchange-credentials", None);
    assert_eq!(r.json["data"][0]["api_key_masked"], "****WXYZ");
    let body = String::from_utf8(r.body.clone()).unwrap();
    assert!(
        !body.contains("AKIAKEY") && !body.contains("s3cr3t"),
        "{body}"
    );
    // Stored sealed, under an AAD of the user and exchange: it opens only with both.
    use cl_app::ports::exchange_credentials::ExchangeCredentialStore;
    let user = rig.user_id("pro@example.com");
    let rows = pollster::block_on(rig.store.credentials_of(user)).unwrap();
    assert!(!rows[0].sealed.api_key_enc.contains("AKIAKEY"));
    let keys = credentials_keys();
    let svc = cl_app::exchange_credentials::CredentialService::new(&rig.store, &keys);
    let (key, secret) = svc.open(&rows[0]).unwrap();
    assert_eq!(key.expose_secret(), "AKIAKEY0123456789WXYZ");
    assert_eq!(secret.expose_secret(), "s3cr3t-s3cr3t-s3cr3t");
    let mut moved = rows[0].clone();
    moved.sealed.exchange = "bybit".into();
    assert!(svc.open(&moved).is_err());
    assert!(!rig
        .events
        .0
        .borrow()
        .iter()
        .any(|l| l.contains("AKIAKEY") || l.contains("s3cr3t")));
    let r = send(
        &mut p,
        Method::Delete,
        "/api/v1/me/exchange-credentials",
        None,
    );
    assert_eq!(r.json["data"]["deleted"], 1);
    assert!(pollster::block_on(rig.store.credentials_of(user))
        .unwrap()
        .is_empty());
}

#[test]
fn journal_entries_and_tags_are_edited_in_place() {
    let rig = Rig::new();
    let mut a = pro_user(&rig, "alice");
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/portfolios",
        Some(json!({"name": "A", "initial_balance": 1000})),
    );
    let p = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/portfolios/{p}/trades"),
        Some(json!({"symbol": "BTC/USDT", "direction": "long", "entry_price": 100, "quantity": 1})),
    );
    let t = r.json["data"]["id"].as_i64().unwrap();
    let r = send(
        &mut a,
        Method::Post,
        &format!("/api/v1/trades/{t}/journal"),
        Some(
            json!({"entry_type": "pre_trade", "content": "plan", "mood": "confident",
            "screenshots": ["https://img.example/a.png"]}),
        ),
    );
    let j = r.json["data"]["id"].as_i64().unwrap();
    let created = r.json["data"]["created_at"].clone();
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/journal/{j}"),
        Some(json!({"mood": "fomo", "content": "chased it"})),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["mood"], "fomo");
    assert_eq!(r.json["data"]["content"], "chased it");
    assert_eq!(r.json["data"]["entry_type"], "pre_trade");
    assert_eq!(
        r.json["data"]["screenshots"][0],
        "https://img.example/a.png"
    );
    assert_eq!(r.json["data"]["created_at"], created);
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/journal/{j}"),
        Some(json!({"mood": "angry", "screenshots": ["http://x.example"]})),
    );
    let mut f = r.fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            ("mood".into(), "invalid_choice".into()),
            ("screenshots".into(), "invalid_link".into())
        ]
    );
    let r = send(&mut a, Method::Get, &format!("/api/v1/journal/{j}"), None);
    assert_eq!(r.json["data"]["mood"], "fomo");

    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/tags",
        Some(json!({"name": "one"})),
    );
    let t1 = r.json["data"]["id"].as_i64().unwrap();
    send(
        &mut a,
        Method::Post,
        "/api/v1/tags",
        Some(json!({"name": "two"})),
    );
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/tags/{t1}"),
        Some(json!({"name": "uno", "color": "#123456"})),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (
            r.json["data"]["name"].as_str(),
            r.json["data"]["color"].as_str()
        ),
        (Some("uno"), Some("#123456"))
    );
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/tags/{t1}"),
        Some(json!({"name": "two"})),
    );
    assert_eq!(r.status, 409);
    let r = send(
        &mut a,
        Method::Patch,
        &format!("/api/v1/tags/{t1}"),
        Some(json!({"color": "red"})),
    );
    assert_eq!(r.fields(), vec![("color".into(), "invalid_color".into())]);
}

fn seed_candles(rig: &Rig) {
    use cl_app::ports::CandleStore;
    let sym = pollster::block_on(rig.store.add_symbol(&NewSymbol {
        symbol: "SOL/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: rig.now(),
    }))
    .unwrap()
    .id;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    let start = rig.now() - 3_000 * 3_600_000;
    let mut price = 50.0;
    let candles: Vec<cl_domain::Candle> = (0..2_500)
        .map(|i| {
            let open = price;
            let close = open * (1.0 + (rnd() - 0.5) * 0.04);
            let high = open.max(close) * (1.0 + rnd() * 0.01);
            let low = open.min(close) * (1.0 - rnd() * 0.01);
            price = close * (1.0 + (rnd() - 0.5) * 0.01);
            cl_domain::Candle::new(start + i * 3_600_000, open, high, low, close, 1.0).unwrap()
        })
        .collect();
    pollster::block_on(rig.store.upsert_candles(sym, Timeframe::H1, &candles)).unwrap();
}

#[test]
fn backtests_are_premium_chunked_owner_scoped_and_validated() {
    let rig = Rig::new();
    seed_candles(&rig);
    let from = rig.now() - 3_000 * 3_600_000;
    let to = from + 2_500 * 3_600_000;
    let body = json!({"symbol": "SOL/USDT", "tf": "1h", "from": from, "to": to,
        "pattern_type": "imbalance", "rr": 2, "name": "sol"});
    let mut f = rig.signed_up("free@example.com", "free", "198.51.100.7");
    let r = send(
        &mut f,
        Method::Post,
        "/api/v1/backtests",
        Some(body.clone()),
    );
    assert_eq!(r.code(), Some("tier_required"));
    let mut a = pro_user(&rig, "alice");
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/backtests",
        Some(body.clone()),
    );
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["data"]["id"].as_i64().unwrap();
    // The first chunk (2000 of 2500 candles) ran in the request.
    assert_eq!(r.json["data"]["status"], "running");
    assert_eq!(r.json["data"]["progress"], 80.0);
    let r = send(
        &mut a,
        Method::Post,
        "/api/v1/backtests",
        Some(body.clone()),
    );
    assert_eq!(r.code(), Some("quota_exceeded"));
    let ran = pollster::block_on(cl_app::backtests::continue_backtests(
        &rig.store,
        5,
        rig.now(),
    ));
    assert_eq!(ran.unwrap(), 1);
    let r = send(
        &mut a,
        Method::Get,
        &format!("/api/v1/backtests/{id}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let d = &r.json["data"];
    assert_eq!(d["backtest"]["status"], "done");
    assert_eq!(d["backtest"]["progress"], 100.0);
    let trades = d["trades"].as_array().unwrap().len() as u64;
    assert!(trades > 0);
    assert_eq!(d["stats"]["total"].as_u64(), Some(trades));
    let r = send(&mut a, Method::Get, "/api/v1/backtests", None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let mut b = pro_user(&rig, "bob");
    for (m, path) in [
        (Method::Get, format!("/api/v1/backtests/{id}")),
        (Method::Delete, format!("/api/v1/backtests/{id}")),
    ] {
        let r = send(&mut b, m, &path, None);
        assert_eq!(r.status, 404, "{path}");
    }
    let bad = json!({"symbol": "SOL/USDT", "tf": "1m", "from": from, "to": to,
        "pattern_type": "imbalance", "rr": 20, "slippage_pct": 0.123456789, "extra": 1});
    let r = send(&mut b, Method::Post, "/api/v1/backtests", Some(bad));
    assert_eq!(r.fields(), vec![("extra".into(), "unknown_field".into())]);
    let bad = json!({"symbol": "SOL/USDT", "tf": "1m", "from": from, "to": to,
        "pattern_type": "imbalance", "rr": 20, "slippage_pct": 0.123456789});
    let r = send(&mut b, Method::Post, "/api/v1/backtests", Some(bad));
    let mut got = r.fields();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("rr".into(), "out_of_range".into()),
            ("slippage_pct".into(), "too_many_decimals".into()),
            ("tf".into(), "invalid_choice".into()),
        ]
    );
    let r = send(
        &mut a,
        Method::Delete,
        &format!("/api/v1/backtests/{id}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let r = send(&mut a, Method::Get, "/api/v1/backtests", None);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 0);
}

/// Sets the caller's trading preferences through `PUT /me/preferences/trading`.
fn set_trading_prefs(b: &mut Browser<'_>, body: Value) {
    let r = send(b, Method::Put, "/api/v1/me/preferences/trading", Some(body));
    assert_eq!(r.status, 200, "{}", r.json);
}

#[test]
fn the_prefilled_quantity_follows_the_callers_risk_per_trade() {
    let rig = Rig::new();
    let pid = pattern(&rig);
    let mut quantities = Vec::new();
    for (name, risk) in [("alice", Some(2.0)), ("bob", None), ("carol", Some(0.25))] {
        let mut b = pro_user(&rig, name);
        set_trading_prefs(&mut b, json!({"risk_per_trade_pct": risk, "default_rr": 5}));
        let r = send(
            &mut b,
            Method::Post,
            "/api/v1/portfolios",
            Some(json!({"name": "Main", "initial_balance": 10000, "currency": "USDT"})),
        );
        let portfolio = r.json["data"]["id"].as_i64().unwrap();
        let r = send(
            &mut b,
            Method::Post,
            "/api/v1/trades/from-pattern",
            Some(json!({"portfolio_id": portfolio, "id": pid})),
        );
        assert_eq!(r.status, 201, "{}", r.json);
        // The take-profit stays the pattern's TP1 whatever the default R:R.
        assert_eq!(r.json["data"]["take_profit"], 120.0);
        quantities.push(r.json["data"]["quantity"].as_f64().unwrap());
        rig.advance(1_000);
    }
    // balance × risk % / |entry − SL| = 10 000 × risk % / 10; unset = 1 %.
    assert_eq!(quantities, vec![20.0, 10.0, 2.5]);
}

#[test]
fn signals_show_tp3_and_rr_at_the_callers_default_rr() {
    use cl_app::ports::optimization::{DefaultRr, TradingPrefs, TradingPrefsStore};
    use cl_app::ports::{NewSignal, NewUser, SignalStore};
    let rig = Rig::new();
    let mut a = pro_user(&rig, "alice");
    let mut b = pro_user(&rig, "bob");
    // The rig's read routes run over `rig.app.store`: the signal lives there, and Alice's
    // account is mirrored there (same id) with her preference.
    let store = &rig.app.store;
    let alice = rig.user_id("alice@example.com");
    let mirrored = pollster::block_on(store.create_user(&NewUser {
        email: cl_auth::email::Email::parse("alice@example.com").unwrap(),
        username: cl_auth::email::Username::parse("alice").unwrap(),
        password_hash: cl_auth::SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
        ntfy_topic: "cl_topic_alice".into(),
        created_at: rig.now(),
    }))
    .unwrap()
    .id;
    assert_eq!(mirrored, alice);
    let prefs = TradingPrefs {
        risk_per_trade_pct: None,
        default_rr: Some(DefaultRr::new(4.5).unwrap()),
    };
    pollster::block_on(store.set_trading_prefs(alice, &prefs)).unwrap();
    let sym = pollster::block_on(store.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: rig.now(),
    }))
    .unwrap()
    .id;
    let id = pollster::block_on(store.insert_signal(
        &NewSignal {
            symbol: sym,
            direction: Direction::Bullish,
            entry: 100.0,
            stop_loss: 98.0,
            tp1: 102.0,
            tp2: 104.0,
            tp3: 106.0,
            risk_reward: 3.0,
            confluence_score: 4,
            timeframes_aligned: vec![Timeframe::H1, Timeframe::H4, Timeframe::D1],
            pattern_id: None,
            created_at: rig.now() - 60_000,
        },
        0,
    ))
    .unwrap()
    .unwrap()
    .0;
    let levels = |v: &Value| {
        (
            v["tp1"].as_f64().unwrap(),
            v["tp2"].as_f64().unwrap(),
            v["tp3"].as_f64().unwrap(),
            v["risk_reward"].as_f64().unwrap(),
        )
    };
    let r = send(&mut a, Method::Get, "/api/v1/signals", None);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(levels(&r.json["data"][0]), (102.0, 104.0, 109.0, 4.5));
    let r = send(&mut a, Method::Get, &format!("/api/v1/signals/{id}"), None);
    assert_eq!(levels(&r.json["data"]), (102.0, 104.0, 109.0, 4.5));
    // Bob has no preference: the stored (global) levels.
    let r = send(&mut b, Method::Get, &format!("/api/v1/signals/{id}"), None);
    assert_eq!(levels(&r.json["data"]), (102.0, 104.0, 106.0, 3.0));
    // Alice viewing as free (no risk settings): the global levels too.
    as_tier(&rig, &a, "alice@example.com", Tier::Free);
    let r = send(&mut a, Method::Get, &format!("/api/v1/signals/{id}"), None);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(levels(&r.json["data"]), (102.0, 104.0, 106.0, 3.0));
}
