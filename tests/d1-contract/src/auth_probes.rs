//! Probes of the account adapters inside workerd: the lockout race on D1 and the WebCrypto
//! password hasher (see the crate docs for the routes).

use crate::webcrypto_hasher::{hash_with_salt, WebCryptoHasher};
use crate::{failure, reply, store};
use cl_app::ports::{LockoutStore, PasswordHasher};
use cl_auth::lockout::Reservation;
use cl_auth::password::{hash_password_with_salt, PasswordHash, Pbkdf2Params};
use cl_auth::SecretString;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Response, Result};

const T0: i64 = 1_700_000_000_000;

#[derive(Deserialize)]
pub(crate) struct Race {
    key: String,
    n: i64,
    #[serde(default)]
    now: Option<i64>,
    #[serde(default)]
    spread_ms: i64,
}

/// `n` reservations joined on one store, all in flight at once.
pub(crate) async fn lockout_race(env: &Env, body: &Race) -> Result<Response> {
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    let now = body.now.unwrap_or(T0);
    let calls =
        (0..body.n.clamp(0, 500)).map(|i| store.reserve(&body.key, now + i * body.spread_ms));
    let results = join_all(calls).await;
    let mut allowed = 0;
    let mut errors = Vec::new();
    for r in &results {
        match r {
            Ok(Reservation::Allowed) => allowed += 1,
            Ok(Reservation::Locked { .. }) => {}
            Err(e) => errors.push(format!("{e:?}")),
        }
    }
    let state = match store.lockout_state(&body.key).await {
        Ok(s) => s,
        Err(e) => return failure(500, &format!("lockout_state: {e:?}")),
    };
    reply(
        200,
        &json!({
            "ok": errors.is_empty(),
            "calls": results.len(),
            "allowed": allowed,
            "errors": errors,
            "state": state.map(|s| json!({
                "failures": s.failures,
                "lock_count": s.lock_count,
                "locked_until": s.locked_until.map(|v| v.to_string()),
            })),
            "statements": store.statements(),
        }),
    )
}

#[derive(Deserialize)]
pub(crate) struct ReserveOnce {
    key: String,
    now: i64,
}

/// One reservation.
pub(crate) async fn reserve_once(env: &Env, body: &ReserveOnce) -> Result<Response> {
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    match store.reserve(&body.key, body.now).await {
        Ok(r) => reply(
            200,
            &json!({ "ok": true, "allowed": r == Reservation::Allowed }),
        ),
        Err(e) => failure(500, &format!("reserve: {e:?}")),
    }
}

#[derive(Deserialize)]
pub(crate) struct Pbkdf2Body {
    password: String,
    #[serde(default)]
    salt: Option<String>,
    iterations: u32,
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn params(iterations: u32) -> std::result::Result<Pbkdf2Params, String> {
    Pbkdf2Params::new(iterations).map_err(|e| e.to_string())
}

/// The WebCrypto hash of a password with a given salt.
pub(crate) async fn pbkdf2(body: &Pbkdf2Body) -> Result<Response> {
    let p = match params(body.iterations) {
        Ok(p) => p,
        Err(e) => return failure(400, &e),
    };
    let salt = body.salt.clone().unwrap_or_default();
    let password = SecretString::new(body.password.clone());
    let started = worker::Date::now().as_millis();
    let phc = match hash_with_salt(&password, salt.as_bytes(), &p).await {
        Ok(phc) => phc,
        Err(e) => return failure(500, &format!("hash: {e}")),
    };
    let elapsed = worker::Date::now().as_millis().saturating_sub(started);
    let parsed = match PasswordHash::parse(phc.expose_secret()) {
        Ok(h) => h,
        Err(e) => return failure(500, &format!("parse: {e}")),
    };
    // Recover the derived key from the PHC string for the hex form of the vector.
    let hash_b64 = phc.expose_secret().rsplit('$').next().unwrap_or("");
    reply(
        200,
        &json!({
            "ok": true,
            "phc": phc.expose_secret(),
            "iterations": parsed.iterations(),
            "salt_hex": to_hex(parsed.salt()),
            "hash_b64": hash_b64,
            "worker_ms": elapsed,
        }),
    )
}

#[derive(Deserialize)]
pub(crate) struct HasherBody {
    password: String,
    iterations: u32,
}

/// The `PasswordHasher` methods, cross-checked against cl-auth.
pub(crate) async fn hasher(body: &HasherBody) -> Result<Response> {
    let p = match params(body.iterations) {
        Ok(p) => p,
        Err(e) => return failure(400, &e),
    };
    let h = WebCryptoHasher::new(p);
    let right = SecretString::new(body.password.clone());
    let wrong = SecretString::new(format!("{}x", body.password));
    let mut checks = serde_json::Map::new();
    let mut check = |name: &str, ok: bool| {
        checks.insert(name.to_string(), json!(ok));
    };

    let phc = match h.hash(&right).await {
        Ok(phc) => phc,
        Err(e) => return failure(500, &format!("hash: {e}")),
    };
    let prefix = format!("$pbkdf2-sha256$i={},l=32$", body.iterations);
    check("params", h.params().iterations() == body.iterations);
    check("phc_shape", phc.expose_secret().starts_with(&prefix));
    check(
        "verify_right",
        matches!(h.verify(&right, &phc).await, Ok(true)),
    );
    check(
        "verify_wrong",
        matches!(h.verify(&wrong, &phc).await, Ok(false)),
    );
    let again = h.hash(&right).await.ok();
    check("fresh_salt", again.is_some_and(|a| a != phc));
    // cl-auth (wasm) accepts what WebCrypto wrote, and WebCrypto accepts what cl-auth wrote.
    check(
        "cl_auth_verifies_webcrypto",
        PasswordHash::parse(phc.expose_secret()).is_ok_and(|x| x.verify(&body.password)),
    );
    match hash_password_with_salt(&body.password, b"salt-from-cl-auth", &p) {
        Ok(reference) => {
            let reference = SecretString::new(reference.to_phc_string());
            check(
                "webcrypto_verifies_cl_auth",
                matches!(h.verify(&right, &reference).await, Ok(true)),
            );
            let same = hash_with_salt(&right, b"salt-from-cl-auth", &p).await.ok();
            check("identical_phc", same.is_some_and(|s| s == reference));
        }
        Err(e) => return failure(500, &format!("cl-auth: {e}")),
    }
    check(
        "malformed_is_an_error",
        h.verify(&right, &SecretString::new("$pbkdf2-sha256$i=0,l=32$x$y"))
            .await
            .is_err(),
    );
    let weaker = match params(body.iterations.saturating_sub(1).max(1)) {
        Ok(w) => WebCryptoHasher::new(w),
        Err(e) => return failure(500, &e),
    };
    let weak_phc = weaker.hash(&right).await.ok();
    check(
        "needs_rehash_when_weaker",
        body.iterations == 1 || weak_phc.is_some_and(|w| h.needs_rehash(&w)),
    );
    check("no_rehash_at_params", !h.needs_rehash(&phc));
    h.verify_dummy(&right).await;
    check("dummy_returns", true);
    let all = checks.values().all(|v| v == &json!(true));
    reply(200, &json!({ "ok": all, "checks": checks }))
}

#[derive(Deserialize)]
pub(crate) struct RateStep {
    isolate: u8,
    now: i64,
    subject: String,
    scope: String,
}

#[derive(Deserialize)]
pub(crate) struct RateBody {
    steps: Vec<RateStep>,
    #[serde(default)]
    flush_at: Option<i64>,
}

/// Drives the KV rate limiter over the `RATE_LIMITS` binding with simulated isolates.
pub(crate) async fn ratelimit(env: &Env, body: &RateBody) -> Result<Response> {
    use crate::kv_ratelimit::{IsolateCounters, KvRateLimits, WorkersKv};
    use cl_app::ports::RateLimitStore;
    use cl_auth::ratelimit::{rules, Decision};
    let isolates: Vec<IsolateCounters> = (0..8).map(IsolateCounters::new).collect();
    let mut answers = Vec::new();
    for step in &body.steps {
        let Some(rule) = rules::ALL.iter().find(|r| r.scope == step.scope) else {
            return failure(400, &format!("unknown scope {:?}", step.scope));
        };
        let Some(counters) = isolates.get(usize::from(step.isolate)) else {
            return failure(400, "isolate must be 0..8");
        };
        let kv = match env.kv("RATE_LIMITS") {
            Ok(kv) => WorkersKv(kv),
            Err(e) => return failure(500, &format!("binding RATE_LIMITS: {e}")),
        };
        let limits = KvRateLimits::new(kv, counters);
        answers.push(match limits.hit(rule, &step.subject, step.now).await {
            Ok(Decision::Allowed { remaining }) => {
                json!({ "allowed": true, "remaining": remaining })
            }
            Ok(Decision::Limited { retry_after_secs }) => {
                json!({ "allowed": false, "retry_after_secs": retry_after_secs })
            }
            Err(e) => json!({ "error": format!("{e:?}") }),
        });
    }
    let mut flushed = 0;
    if let Some(at) = body.flush_at {
        for counters in &isolates {
            let kv = match env.kv("RATE_LIMITS") {
                Ok(kv) => WorkersKv(kv),
                Err(e) => return failure(500, &format!("binding RATE_LIMITS: {e}")),
            };
            match KvRateLimits::new(kv, counters).flush_due(at).await {
                Ok(n) => flushed += n,
                Err(e) => return failure(500, &format!("flush: {e:?}")),
            }
        }
    }
    let pending: u32 = isolates.iter().map(IsolateCounters::pending).sum();
    reply(
        200,
        &json!({ "ok": true, "answers": answers, "flushed": flushed, "pending": pending }),
    )
}

#[derive(Deserialize)]
pub(crate) struct MailBody {
    base_url: String,
    api_key: String,
    timeout_ms: u64,
    to: String,
    token: String,
}

/// Sends one message through the worker's HTTP mailer.
pub(crate) async fn mail(body: &MailBody) -> Result<Response> {
    use crate::fetch_transport::FetchTransport;
    use crate::mailer::{HttpMailer, MailConfig};
    use cl_app::ports::{mail_param, Mail, MailKind, Mailer};
    let config = match MailConfig::new(
        &body.base_url,
        SecretString::new(body.api_key.clone()),
        false,
    ) {
        Ok(c) => c.with_timeout_ms(body.timeout_ms),
        Err(e) => {
            return reply(
                200,
                &json!({ "ok": false, "error": format!("config: {e}") }),
            )
        }
    };
    let to = match cl_auth::email::Email::parse(&body.to) {
        Ok(e) => e,
        Err(e) => return failure(400, &format!("to: {e}")),
    };
    let message = Mail {
        kind: MailKind::VerifyEmail,
        to,
        params: vec![
            (mail_param::TOKEN, SecretString::new(body.token.clone())),
            (mail_param::USERNAME, SecretString::new("alice")),
        ],
    };
    let started = worker::Date::now().as_millis();
    let sent = HttpMailer::new(config, FetchTransport).send(&message).await;
    let elapsed = worker::Date::now().as_millis().saturating_sub(started);
    reply(
        200,
        &match sent {
            Ok(()) => json!({ "ok": true, "elapsed_ms": elapsed }),
            Err(e) => json!({ "ok": false, "error": e.to_string(), "elapsed_ms": elapsed }),
        },
    )
}
