//! Shared fixtures: fake probes, a dev config, an in-memory store seeded through the ports,
//! and a one-shot request helper.

use cl_api::config::{keys, Config};
use cl_api::context::RequestContext;
use cl_api::health::DependencyProbes;
use cl_api::http::{Headers, Method, Request};
use cl_api::{finalize, handle_api, App};
use cl_app::ports::{
    CandleStore, NewPattern, NewSignal, NewSymbol, PatternId, PatternStore, SignalStore,
    StatusUpdate, SymbolId, SymbolStore, TradeLevels,
};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe, Zone};
use cl_store_memory::MemoryStore;
use serde_json::Value;
use std::collections::HashMap;

/// An hour-aligned start time, UTC ms.
pub const T0: i64 = 1_699_999_200_000;
/// One hour, ms.
pub const H: i64 = 3_600_000;
/// Candles seeded per series.
pub const CANDLES: i64 = 600;

pub struct Probes {
    pub d1: bool,
    pub kv: bool,
    pub pg: Option<bool>,
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

pub type TestApp = App<Probes, MemoryStore>;

pub fn dev_config(extra: &[(&'static str, &str)]) -> Config {
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

pub fn healthy() -> Probes {
    Probes {
        d1: true,
        kv: true,
        pg: None,
    }
}

pub fn app_with(config: Config, probes: Probes, store: MemoryStore) -> TestApp {
    App {
        config,
        probes,
        store,
    }
}

pub fn empty_app() -> TestApp {
    app_with(dev_config(&[]), healthy(), MemoryStore::new())
}

pub fn ctx() -> RequestContext {
    RequestContext::new(None, || "test-request-0001".into(), 1_700_000_000_000, None)
}

/// A finalized response with its body parsed (Null when empty).
pub struct Resp {
    pub status: u16,
    pub json: Value,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The route template the access log would show.
    pub route: &'static str,
}

impl Resp {
    /// `(field, code)` of each field error.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.json["error"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        (
                            f["field"].as_str().unwrap().to_owned(),
                            f["code"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn code(&self) -> Option<&str> {
        self.json["error"]["code"].as_str()
    }

    pub fn data(&self) -> &Value {
        &self.json["data"]
    }

    pub fn next_cursor(&self) -> Option<&str> {
        self.json["meta"]["next_cursor"].as_str()
    }
}

/// The market-data reads need a session or an API key (product.md §3): [`send`] calls them as
/// an admin's key (no tier limits) through [`reader::AdminReader`]; every other route goes
/// without account dependencies, as before. The key's own rules are tested in `keys.rs`.
pub mod reader {
    use cl_api::auth::AccountDeps;
    use cl_api::context::RequestContext;
    use cl_api::error::ApiError;
    use cl_api::events::AuthEvent;
    use cl_api::http::{Request, Response};
    use cl_api::routes::Matched;
    use cl_api_types::ErrorCode;
    use cl_app::accounts::Authenticated;
    use cl_app::api_keys::KeyAuthenticated;
    use cl_app::policy::{effective_access, Access};
    use cl_app::ports::api_keys::{ApiKeyId, ApiKeyStatus, KeyLimits, ScopeSet, StoredApiKey};
    use cl_app::ports::{StoredUser, TotpColumns, UserId};
    use cl_auth::email::{Email, Username};
    use cl_auth::SecretString;

    /// The header value that marks a test read.
    pub const TEST_KEY: &str = "test-reader";

    /// Accepts [`TEST_KEY`] as an admin's key with every read scope; nothing else.
    pub struct AdminReader;

    impl AccountDeps for AdminReader {
        fn wired(&self) -> bool {
            true
        }
        fn emit(&self, _: &AuthEvent<'_>) {}
        async fn authenticate(&self, _: &str) -> Result<Option<Authenticated>, ApiError> {
            Ok(None)
        }
        fn verify_csrf(&self, _: &str, _: &str) -> bool {
            false
        }
        async fn authenticate_key(
            &self,
            presented: &str,
            _: &RequestContext,
            _: &str,
        ) -> Result<KeyAuthenticated, ApiError> {
            if presented != TEST_KEY {
                return Err(ApiError::new(ErrorCode::Unauthorized));
            }
            let user = StoredUser {
                id: UserId(1),
                email: Email::parse("reader@example.com").unwrap(),
                username: Username::parse("reader").unwrap(),
                password_hash: SecretString::new("x"),
                is_active: true,
                is_verified: true,
                is_admin: true,
                must_change_password: false,
                ntfy_topic: "cl_reader".into(),
                totp: TotpColumns {
                    secret_enc: None,
                    key_id: None,
                    enabled: false,
                    last_step: None,
                },
                password_changed_at: None,
                created_at: 0,
                last_login_at: None,
            };
            Ok(KeyAuthenticated {
                key: StoredApiKey {
                    id: ApiKeyId(1),
                    user_id: user.id,
                    name: "reader".into(),
                    prefix: "reader00".into(),
                    key_hmac: String::new(),
                    last4: "test".into(),
                    scopes: ScopeSet::all_non_admin(),
                    status: ApiKeyStatus::Active,
                    created_at: 0,
                    expires_at: None,
                    limits: KeyLimits::default(),
                    last_used_at: None,
                    revoked_at: None,
                },
                user,
                scopes: ScopeSet::all_non_admin(),
                access: effective_access(true, None, None, 0),
            })
        }
        async fn session_access(
            &self,
            auth: &Authenticated,
            ctx: &RequestContext,
        ) -> Result<Access, ApiError> {
            Ok(auth.access(None, ctx.now_ms))
        }
        async fn serve(
            &self,
            _: &Matched,
            _: &cl_api::access::Caller,
            _: &Request,
            _: &RequestContext,
        ) -> Result<Response, ApiError> {
            Err(ApiError::new(ErrorCode::ServiceUnavailable))
        }
    }

    /// Whether the path is one of the market-data reads.
    pub fn is_read(path: &str) -> bool {
        [
            "symbols", "candles", "chart", "patterns", "signals", "matrix",
        ]
        .iter()
        .any(|r| {
            let p = format!("/api/v1/{r}");
            path == p || path.starts_with(&format!("{p}/"))
        })
    }
}

pub fn send(app: &TestApp, req: Request) -> Resp {
    let mut req = req;
    let credentialed = req.headers.get("authorization").is_some()
        || req.headers.get("x-api-key").is_some()
        || req.headers.get("cookie").is_some();
    let read = matches!(req.method, Method::Get | Method::Head) && reader::is_read(&req.path);
    let handled = if read && !credentialed {
        req.headers.set("x-api-key", reader::TEST_KEY);
        pollster::block_on(cl_api::handle_api_with(
            app,
            &reader::AdminReader,
            &req,
            &ctx(),
        ))
    } else {
        pollster::block_on(handle_api(app, &req, &ctx()))
    };
    let route = handled.route;
    let resp = finalize(handled.response, &ctx(), true);
    let json = if resp.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&resp.body).unwrap()
    };
    Resp {
        status: resp.status,
        json,
        headers: resp.headers,
        body: resp.body,
        route,
    }
}

pub fn get(app: &TestApp, path: &str) -> Resp {
    send(app, Request::get(path))
}

pub fn with_method(path: &str, method: Method) -> Request {
    let mut r = Request::get(path);
    r.method = method;
    r
}

pub fn with_header(path: &str, name: &str, value: &str) -> Request {
    let mut r = Request::get(path);
    r.headers.append(name, value);
    r
}

// ---------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------

/// Ids of the seeded rows.
pub struct Seed {
    pub btc: SymbolId,
    pub eth: SymbolId,
    /// Every pattern, in insert order (`filled` is among them).
    pub patterns: Vec<PatternId>,
    /// The one pattern marked filled.
    pub filled: PatternId,
    pub signals: Vec<i64>,
}

fn symbol(name: &str, active: bool) -> NewSymbol {
    NewSymbol {
        symbol: name.into(),
        exchange: "binance".into(),
        is_active: active,
        notify_enabled: true,
        fetch_start_ms: T0,
        created_at: T0,
    }
}

fn candle(ts: i64, i: i64) -> Candle {
    let base = 100.0 + (i % 50) as f64;
    Candle::new(
        ts,
        base,
        base + 2.0,
        base - 2.0,
        base + 1.0,
        10.0 + i as f64,
    )
    .unwrap()
}

fn levels() -> TradeLevels {
    TradeLevels {
        entry: 101.0,
        stop_loss: 99.0,
        tp1: 103.0,
        tp2: 105.0,
        tp3: 107.0,
        risk: 2.0,
        rr1: 1.0,
        rr2: 2.0,
        rr3: 3.0,
    }
}

fn pattern(
    symbol: SymbolId,
    tf: Timeframe,
    t: PatternType,
    d: Direction,
    detected_at: i64,
) -> NewPattern {
    NewPattern {
        symbol,
        tf,
        pattern_type: t,
        direction: d,
        zone: Zone::new(100.0, 102.5).unwrap(),
        swept_level: (t == PatternType::LiquiditySweep).then_some(98.5),
        detected_at,
        expires_at: detected_at + 1000 * H,
        levels: levels(),
        created_at: T0 + CANDLES * H,
    }
}

fn signal(
    symbol: SymbolId,
    d: Direction,
    created_at: i64,
    pattern: Option<PatternId>,
) -> NewSignal {
    NewSignal {
        symbol,
        direction: d,
        entry: 101.0,
        stop_loss: 99.0,
        tp1: 103.0,
        tp2: 105.0,
        tp3: 107.0,
        risk_reward: 2.0,
        confluence_score: 3,
        timeframes_aligned: vec![Timeframe::M5, Timeframe::H1, Timeframe::H4],
        pattern_id: pattern,
        created_at,
    }
}

/// BTC/USDT and ETH/USDT active, DOGE/USDT inactive; 600 candles of BTC 1h and 1m; nine
/// active patterns (ties on `detected_at` included) plus one filled; seven signals (ties on
/// `created_at` included).
pub fn seed(store: &MemoryStore) -> Seed {
    pollster::block_on(async {
        let btc = store
            .add_symbol(&symbol("BTC/USDT", true))
            .await
            .unwrap()
            .id;
        let eth = store
            .add_symbol(&symbol("ETH/USDT", true))
            .await
            .unwrap()
            .id;
        store.add_symbol(&symbol("DOGE/USDT", false)).await.unwrap();
        for (tf, step) in [(Timeframe::H1, H), (Timeframe::M1, 60_000)] {
            let candles: Vec<Candle> = (0..CANDLES).map(|i| candle(T0 + i * step, i)).collect();
            store.upsert_candles(btc, tf, &candles).await.unwrap();
        }
        use Direction::{Bearish, Bullish};
        use PatternType::{Imbalance, LiquiditySweep, OrderBlock};
        use Timeframe::{H1, H4, M15};
        let specs = [
            (btc, H1, Imbalance, Bullish, T0 + 10 * H),
            (btc, H1, OrderBlock, Bearish, T0 + 20 * H),
            (btc, H1, LiquiditySweep, Bullish, T0 + 20 * H),
            (btc, H1, Imbalance, Bearish, T0 + 300 * H),
            (btc, H1, Imbalance, Bullish, T0 + 590 * H),
            (btc, H1, OrderBlock, Bullish, T0 + 100 * H),
            (btc, H4, Imbalance, Bearish, T0 + 40 * H),
            (eth, H1, Imbalance, Bullish, T0 + 50 * H),
            (eth, H1, OrderBlock, Bearish, T0 + 50 * H),
            (eth, M15, Imbalance, Bearish, T0 + 5 * H),
        ];
        let mut patterns = Vec::new();
        for (s, tf, t, d, at) in specs {
            patterns.push(
                store
                    .insert_pattern(&pattern(s, tf, t, d, at))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let filled = patterns[5];
        store
            .update_statuses(&[StatusUpdate {
                id: filled,
                status: PatternStatus::Filled,
                fill_pct: 100.0,
                filled_at: Some(T0 + 101 * H),
            }])
            .await
            .unwrap();
        let sigs = [
            (btc, Bullish, T0 + H, Some(patterns[0])),
            (eth, Bearish, T0 + 2 * H, None),
            (btc, Bearish, T0 + 2 * H, None),
            (btc, Bullish, T0 + 3 * H, None),
            (eth, Bullish, T0 + 4 * H, None),
            (btc, Bullish, T0 + 4 * H, None),
            (eth, Bearish, T0 + 5 * H, None),
        ];
        let mut signals = Vec::new();
        for (s, d, at, p) in sigs {
            signals.push(
                store
                    .insert_signal(&signal(s, d, at, p), 0)
                    .await
                    .unwrap()
                    .unwrap()
                    .0,
            );
        }
        Seed {
            btc,
            eth,
            patterns,
            filled,
            signals,
        }
    })
}

pub fn seeded() -> (TestApp, Seed) {
    let store = MemoryStore::new();
    let seed = seed(&store);
    (app_with(dev_config(&[]), healthy(), store), seed)
}
