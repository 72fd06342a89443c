//! [`NotificationStore`] over D1. Every call is ONE statement (one round trip):
//! - the eligibility of a signal is one `WITH … SELECT` with the same rules as the Postgres
//!   adapter (tier from the subscription row by product.md §1, daily sends as a correlated
//!   count, the query's tier rules as parameters);
//! - lists of ids or rows travel as ONE JSON text parameter read with `json_each`, so the SQL
//!   is constant whatever the batch size (no SQL is formatted) and D1's 100-parameter limit
//!   does not apply;
//! - claims and finishes are conditional `UPDATE … WHERE status = 'queued'`.
//!
//! D1 does not say which foreign key failed; on a failed insert, one extra read names the
//! missing row (error path only).

use crate::rows::SignalRow;
use crate::values::{flag, int, opt_int, opt_text, read_flag, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::policy::Tier;
use cl_app::ports::notifications::{
    utc_day_start, ChannelKind, ChannelMessage, ChannelMessageId, DeliveryOutcome, DeliveryStatus,
    DirectionPref, DueNotification, EligibilityQuery, EligibleUser, MinConfluence,
    NewChannelMessage, NewUserNotification, NotificationPrefs, NotificationSettings,
    NotificationStore, NotifyContext, NotifyPriority, NtfyTopic, QuietHours,
    StoredUserNotification, SymbolNotifyPref, TierRule, UserNotificationId, MAX_DELIVERY_BATCH,
};
use cl_app::ports::{
    exact_int, side_str, SignalId, SignalStatus, StoreError, StoredSignal, SymbolId, UserId,
};
use cl_domain::{PatternType, Timeframe};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

/// The effective tier of user `u` with subscription row `s` (LEFT JOIN) at `?1` (= now);
/// the same rules as the Postgres adapter, pinned by the contract.
macro_rules! tier_case {
    () => {
        "CASE WHEN u.is_admin = 1 THEN 'premium'
         WHEN s.id IS NULL THEN 'free'
         WHEN (s.status IN ('active', 'expired')
                 AND (s.expires_at IS NULL OR ?1 <= s.expires_at + 259200000))
           OR (s.status = 'cancelled' AND (s.expires_at IS NULL OR ?1 <= s.expires_at))
           THEN CASE s.plan WHEN 'pro' THEN 'pro' ELSE 'premium' END
         ELSE 'free' END"
    };
}

/// The eligibility of many signals in ONE statement: `?1` now, `?2` start of the UTC day,
/// `?3` = `[[symbol, side, confluence, minute, free_ok, free_cap, pro_ok, pro_cap, prem_ok,
/// prem_cap], …]` (a cap < 0 = unlimited). The users' tier and sends today are computed once
/// (`MATERIALIZED`), then matched against every signal; rows come back by query index `k`.
const ELIGIBLE_MANY: &str = concat!(
    "WITH q AS (
  SELECT j.key AS k, json_extract(j.value, '$[0]') AS symbol_id,
    json_extract(j.value, '$[1]') AS side, json_extract(j.value, '$[2]') AS confluence,
    json_extract(j.value, '$[3]') AS minute, json_extract(j.value, '$[4]') AS free_ok,
    json_extract(j.value, '$[5]') AS free_cap, json_extract(j.value, '$[6]') AS pro_ok,
    json_extract(j.value, '$[7]') AS pro_cap, json_extract(j.value, '$[8]') AS prem_ok,
    json_extract(j.value, '$[9]') AS prem_cap
  FROM json_each(?3) j
),
tiered AS MATERIALIZED (
  SELECT u.id AS id, u.ntfy_topic AS ntfy_topic, u.notify_priority AS notify_priority,
    u.notify_directions AS dirs, u.notify_min_confluence AS min_conf,
    u.quiet_start_min AS qs, u.quiet_end_min AS qe, ",
    tier_case!(),
    " AS tier,
    (SELECT count(*) FROM user_notifications n
      WHERE n.user_id = u.id AND n.status = 'sent' AND n.sent_at >= ?2) AS sent_today
  FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
  WHERE u.is_active = 1 AND u.is_verified = 1 AND u.notify_enabled = 1
)
SELECT q.k AS k, t.id AS id, t.ntfy_topic AS ntfy_topic, t.notify_priority AS notify_priority,
  t.tier AS tier, t.sent_today AS sent_today
FROM q JOIN tiered t
WHERE t.dirs IN ('both', q.side) AND t.min_conf <= q.confluence
  AND NOT (t.qs IS NOT NULL AND t.qe IS NOT NULL AND (
       (t.qs < t.qe AND q.minute >= t.qs AND q.minute < t.qe)
    OR (t.qs > t.qe AND (q.minute >= t.qs OR q.minute < t.qe))))
  AND EXISTS (SELECT 1 FROM symbols sy WHERE sy.id = q.symbol_id AND sy.notify_enabled = 1)
  AND NOT EXISTS (SELECT 1 FROM user_symbol_preferences p
    WHERE p.user_id = t.id AND p.symbol_id = q.symbol_id AND p.notify_enabled = 0)
  AND ((t.tier = 'free' AND q.free_ok = 1 AND (q.free_cap < 0 OR t.sent_today < q.free_cap))
    OR (t.tier = 'pro' AND q.pro_ok = 1 AND (q.pro_cap < 0 OR t.sent_today < q.pro_cap))
    OR (t.tier = 'premium' AND q.prem_ok = 1 AND (q.prem_cap < 0 OR t.sent_today < q.prem_cap)))
ORDER BY q.k, t.id"
);

/// The messages' context of many signals in ONE statement: `?1` = `[signal id, …]`; the
/// signal, its source pattern's type and TF, its symbol's name and newest 1m close (one
/// index probe of `candles` per signal). Signals without pattern or symbol are left out.
const CONTEXTS: &str = "\
SELECT sg.id AS id, sg.symbol_id AS symbol_id, sg.direction AS direction, sg.entry AS entry,
    sg.stop_loss AS stop_loss, sg.tp1 AS tp1, sg.tp2 AS tp2, sg.tp3 AS tp3,
    sg.risk_reward AS risk_reward, sg.confluence_score AS confluence_score,
    sg.timeframes_aligned AS timeframes_aligned, sg.pattern_id AS pattern_id,
    sg.status AS status, sg.created_at AS created_at, sg.notified_at AS notified_at,
    p.pattern_type AS ctx_pattern_type, p.tf AS ctx_pattern_tf, sy.symbol AS ctx_symbol,
    (SELECT c.close FROM candles c WHERE c.symbol_id = sg.symbol_id AND c.tf = '1m'
      ORDER BY c.ts DESC LIMIT 1) AS ctx_last_close
FROM signals sg
JOIN patterns p ON p.id = sg.pattern_id
JOIN symbols sy ON sy.id = sg.symbol_id
WHERE sg.id IN (SELECT value FROM json_each(?1))
ORDER BY sg.id";

const DUE: &str = concat!(
    "SELECT n.id AS id, n.user_id AS user_id, n.signal_id AS signal_id,
    sg.status AS signal_status, u.ntfy_topic AS ntfy_topic, u.notify_priority AS notify_priority,
    (u.notify_enabled = 1 AND u.is_active = 1 AND u.is_verified = 1) AS enabled, ",
    tier_case!(),
    " AS tier,
    (SELECT count(*) FROM user_notifications x
      WHERE x.user_id = n.user_id AND x.status = 'sent' AND x.sent_at >= ?2) AS sent_today
FROM user_notifications n
JOIN users u ON u.id = n.user_id
JOIN signals sg ON sg.id = n.signal_id
LEFT JOIN subscriptions s ON s.user_id = u.id
WHERE n.status = 'queued' AND n.deliver_at <= ?1
ORDER BY n.deliver_at, n.id LIMIT ?3"
);

const SETTINGS: &str = "\
SELECT ntfy_topic, notify_enabled, notify_directions, notify_min_confluence, notify_priority,
    quiet_start_min, quiet_end_min
FROM users WHERE id = ?1";

const SET_PREFS: &str = "\
UPDATE users SET notify_enabled = ?2, notify_directions = ?3, notify_min_confluence = ?4,
    notify_priority = ?5, quiet_start_min = ?6, quiet_end_min = ?7
WHERE id = ?1";

const SET_TOPIC: &str = "UPDATE users SET ntfy_topic = ?2 WHERE id = ?1";

const SYMBOL_PREFS: &str = "\
SELECT symbol_id, notify_enabled FROM user_symbol_preferences WHERE user_id = ?1
ORDER BY symbol_id";

const SET_SYMBOL_NOTIFY: &str = "\
INSERT INTO user_symbol_preferences (user_id, symbol_id, notify_enabled, updated_at)
VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user_id, symbol_id)
DO UPDATE SET notify_enabled = excluded.notify_enabled, updated_at = excluded.updated_at";

const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1) AS found";

/// `?1` = `[[user, signal, deliver_at, created_at], …]`. `WHERE true` keeps SQLite from
/// reading `ON CONFLICT` as a join constraint.
const QUEUE: &str = "\
INSERT INTO user_notifications (user_id, signal_id, status, deliver_at, created_at)
SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), 'queued',
    json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]')
FROM json_each(?1) j WHERE true
ON CONFLICT (user_id, signal_id) DO NOTHING";

/// Whether every signal of a queue batch exists (names the missing row after a failure).
const QUEUE_SIGNALS_EXIST: &str = "\
SELECT NOT EXISTS (SELECT 1 FROM json_each(?1) j
    WHERE NOT EXISTS (SELECT 1 FROM signals sg WHERE sg.id = json_extract(j.value, '$[1]')))
    AS found";

const CLAIM: &str = "\
UPDATE user_notifications SET deliver_at = ?3, attempts = attempts + 1
WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'queued' AND deliver_at <= ?2
RETURNING id";

const FINISH: &str = "\
UPDATE user_notifications
SET status = ?2, sent_at = CASE WHEN ?2 = 'sent' THEN ?3 ELSE sent_at END, error = ?4
WHERE id = ?1 AND status = 'queued'";

const MARK_NOTIFIED: &str = "\
UPDATE signals SET status = 'notified', notified_at = ?2 WHERE id = ?1 AND status = 'pending'";

const OF_SIGNAL: &str = "\
SELECT id, user_id, signal_id, status, deliver_at, sent_at, attempts, error
FROM user_notifications WHERE signal_id = ?1 ORDER BY user_id";

const SENT_SINCE: &str = "\
SELECT count(*) AS n FROM user_notifications
WHERE user_id = ?1 AND status = 'sent' AND sent_at >= ?2";

const QUEUE_CHANNEL: &str = "\
INSERT INTO notifications (kind, topic, title, status, created_at)
VALUES (?1, ?2, ?3, 'queued', ?4) RETURNING id";

const DUE_CHANNEL: &str = "\
SELECT n.id AS id, n.kind AS kind, n.topic AS topic, n.title AS title,
    n.created_at AS created_at, COALESCE(u.notify_priority, 3) AS priority
FROM notifications n LEFT JOIN users u ON u.ntfy_topic = n.topic
WHERE n.status = 'queued' AND n.created_at <= ?1 ORDER BY n.created_at, n.id LIMIT ?2";

const FINISH_CHANNEL: &str = "\
UPDATE notifications
SET status = ?2, sent_at = CASE WHEN ?2 = 'sent' THEN ?3 ELSE sent_at END, error = ?4
WHERE id = ?1 AND status = 'queued'";

const T: &str = "user_notifications";
const N: &str = "notifications";

#[derive(Debug, Deserialize)]
struct ChannelRow {
    id: f64,
    kind: String,
    topic: String,
    title: String,
    created_at: f64,
    priority: f64,
}

impl TryFrom<ChannelRow> for ChannelMessage {
    type Error = StoreError;

    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        let id = read_int(N, None, "id", r.id)?;
        Ok(Self {
            id: ChannelMessageId(id),
            kind: ChannelKind::parse(&r.kind).map_err(|e| corrupt(N, e))?,
            topic: r.topic,
            title: r.title,
            created_at: read_int(N, Some(id), "created_at", r.created_at)?,
            priority: NotifyPriority::new(read_int(N, Some(id), "priority", r.priority)?)
                .map_err(|e| corrupt(N, e))?,
        })
    }
}

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(table, None, e)
}

#[derive(Debug, Deserialize)]
struct SettingsRow {
    ntfy_topic: String,
    notify_enabled: f64,
    notify_directions: String,
    notify_min_confluence: f64,
    notify_priority: f64,
    quiet_start_min: Option<f64>,
    quiet_end_min: Option<f64>,
}

impl TryFrom<SettingsRow> for NotificationSettings {
    type Error = StoreError;

    fn try_from(r: SettingsRow) -> Result<Self, StoreError> {
        const U: &str = "users";
        let start = read_opt_int(U, None, "quiet_start_min", r.quiet_start_min)?;
        let end = read_opt_int(U, None, "quiet_end_min", r.quiet_end_min)?;
        let quiet = match (start, end) {
            (Some(a), Some(b)) => Some(QuietHours::new(a, b).map_err(|e| corrupt(U, e))?),
            _ => None,
        };
        Ok(Self {
            topic: NtfyTopic::parse(&r.ntfy_topic).map_err(|e| corrupt(U, e))?,
            prefs: NotificationPrefs {
                enabled: read_flag(U, None, "notify_enabled", r.notify_enabled)?,
                directions: DirectionPref::parse(&r.notify_directions)
                    .map_err(|e| corrupt(U, e))?,
                min_confluence: MinConfluence::new(read_int(
                    U,
                    None,
                    "notify_min_confluence",
                    r.notify_min_confluence,
                )?)
                .map_err(|e| corrupt(U, e))?,
                priority: priority(r.notify_priority)?,
                quiet,
            },
        })
    }
}

fn priority(v: f64) -> Result<NotifyPriority, StoreError> {
    NotifyPriority::new(read_int("users", None, "notify_priority", v)?)
        .map_err(|e| corrupt("users", e))
}

fn count_u32(what: &'static str, v: f64) -> Result<u32, StoreError> {
    Ok(u32::try_from(read_int(T, None, what, v)?).unwrap_or(u32::MAX))
}

#[derive(Debug, Deserialize)]
struct SymbolPrefRow {
    symbol_id: f64,
    notify_enabled: f64,
}

#[derive(Debug, Deserialize)]
struct EligibleRow {
    id: f64,
    ntfy_topic: String,
    notify_priority: f64,
    tier: String,
    sent_today: f64,
}

impl TryFrom<EligibleRow> for EligibleUser {
    type Error = StoreError;

    fn try_from(r: EligibleRow) -> Result<Self, StoreError> {
        Ok(Self {
            user: UserId(read_int("users", None, "id", r.id)?),
            topic: NtfyTopic::parse(&r.ntfy_topic).map_err(|e| corrupt("users", e))?,
            priority: priority(r.notify_priority)?,
            tier: Tier::parse(&r.tier).map_err(|e| corrupt("users", e))?,
            sent_today: count_u32("sent_today", r.sent_today)?,
        })
    }
}

/// The query index of an [`ELIGIBLE_MANY`] row (the user columns decode as an `EligibleRow`).
#[derive(Debug, Deserialize)]
struct QueryIndexRow {
    k: f64,
}

/// The context columns of a [`CONTEXTS`] row (the signal columns decode as a `SignalRow`).
#[derive(Debug, Deserialize)]
struct ContextRow {
    ctx_pattern_type: String,
    ctx_pattern_tf: String,
    ctx_symbol: String,
    ctx_last_close: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct DueRow {
    id: f64,
    user_id: f64,
    signal_id: f64,
    signal_status: String,
    ntfy_topic: String,
    notify_priority: f64,
    enabled: f64,
    tier: String,
    sent_today: f64,
}

impl TryFrom<DueRow> for DueNotification {
    type Error = StoreError;

    fn try_from(r: DueRow) -> Result<Self, StoreError> {
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(Self {
            id: UserNotificationId(id),
            user: UserId(read_int(T, at, "user_id", r.user_id)?),
            signal: SignalId(read_int(T, at, "signal_id", r.signal_id)?),
            signal_status: SignalStatus::parse(&r.signal_status)
                .map_err(|e| corrupt("signals", e))?,
            topic: NtfyTopic::parse(&r.ntfy_topic).map_err(|e| corrupt("users", e))?,
            priority: priority(r.notify_priority)?,
            enabled: read_flag(T, at, "enabled", r.enabled)?,
            tier: Tier::parse(&r.tier).map_err(|e| corrupt("users", e))?,
            sent_today: count_u32("sent_today", r.sent_today)?,
        })
    }
}

#[derive(Debug, Deserialize)]
struct DeliveryRow {
    id: f64,
    user_id: f64,
    signal_id: f64,
    status: String,
    deliver_at: f64,
    sent_at: Option<f64>,
    attempts: f64,
    error: Option<String>,
}

impl TryFrom<DeliveryRow> for StoredUserNotification {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(Self {
            id: UserNotificationId(id),
            user: UserId(read_int(T, at, "user_id", r.user_id)?),
            signal: SignalId(read_int(T, at, "signal_id", r.signal_id)?),
            status: DeliveryStatus::parse(&r.status).map_err(|e| corrupt(T, e))?,
            deliver_at: read_int(T, at, "deliver_at", r.deliver_at)?,
            sent_at: read_opt_int(T, at, "sent_at", r.sent_at)?,
            attempts: count_u32("attempts", r.attempts)?,
            error: r.error,
        })
    }
}

#[derive(Debug, Deserialize)]
struct IdRow {
    id: f64,
}

#[derive(Debug, Deserialize)]
struct FoundRow {
    found: f64,
}

#[derive(Debug, Deserialize)]
struct CountRow {
    n: f64,
}

fn rule_params(r: TierRule) -> (bool, i64) {
    (r.covers, r.daily_cap.map_or(-1, i64::from))
}

impl D1Store {
    async fn found(&self, sql: &str, param: JsValue) -> Result<bool, StoreError> {
        let stmt = self.stmt(sql, &[param])?;
        let res = self.exec(stmt, "row").await?;
        Ok(decode::<FoundRow>(T, &res)?
            .first()
            .is_some_and(|r| r.found != 0.0))
    }
}

impl NotificationStore for D1Store {
    async fn notification_settings(
        &self,
        user: UserId,
    ) -> Result<Option<NotificationSettings>, StoreError> {
        let stmt = self.stmt(SETTINGS, &[int("user id", user.0)?])?;
        Ok(self
            .rows::<SettingsRow, NotificationSettings>("users", stmt, "user")
            .await?
            .into_iter()
            .next())
    }

    async fn set_notification_prefs(
        &self,
        user: UserId,
        prefs: &NotificationPrefs,
    ) -> Result<(), StoreError> {
        let stmt = self.stmt(
            SET_PREFS,
            &[
                int("user id", user.0)?,
                flag(prefs.enabled),
                text(prefs.directions.as_str()),
                int("min confluence", i64::from(prefs.min_confluence.get()))?,
                int("priority", i64::from(prefs.priority.get()))?,
                opt_int("quiet start", prefs.quiet.map(|q| i64::from(q.start())))?,
                opt_int("quiet end", prefs.quiet.map(|q| i64::from(q.end())))?,
            ],
        )?;
        let res = self.exec(stmt, "user").await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_topic(&self, user: UserId, topic: &NtfyTopic) -> Result<(), StoreError> {
        let stmt = self.stmt(SET_TOPIC, &[int("user id", user.0)?, text(topic.as_str())])?;
        let res = self.exec(stmt, "user").await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn symbol_prefs(&self, user: UserId) -> Result<Vec<SymbolNotifyPref>, StoreError> {
        const P: &str = "user_symbol_preferences";
        let stmt = self.stmt(SYMBOL_PREFS, &[int("user id", user.0)?])?;
        let res = self.exec(stmt, "user").await?;
        decode::<SymbolPrefRow>(P, &res)?
            .into_iter()
            .map(|r| {
                Ok(SymbolNotifyPref {
                    symbol: SymbolId(read_int(P, None, "symbol_id", r.symbol_id)?),
                    notify: read_flag(P, None, "notify_enabled", r.notify_enabled)?,
                })
            })
            .collect()
    }

    async fn set_symbol_notify(
        &self,
        user: UserId,
        symbol: SymbolId,
        notify: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let user_id = int("user id", user.0)?;
        let stmt = self.stmt(
            SET_SYMBOL_NOTIFY,
            &[
                user_id.clone(),
                int("symbol id", symbol.0)?,
                flag(notify),
                int("now", now)?,
            ],
        )?;
        match self.exec(stmt, "symbol").await {
            Err(StoreError::NotFound(_)) => {
                let what = if self.found(USER_EXISTS, user_id).await? {
                    "symbol"
                } else {
                    "user"
                };
                Err(StoreError::NotFound(what))
            }
            other => other.map(|_| ()),
        }
    }

    async fn eligible_users(&self, q: &EligibilityQuery) -> Result<Vec<EligibleUser>, StoreError> {
        Ok(self
            .eligible_users_many(std::slice::from_ref(q))
            .await?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    async fn eligible_users_many(
        &self,
        qs: &[EligibilityQuery],
    ) -> Result<Vec<Vec<EligibleUser>>, StoreError> {
        EligibilityQuery::validate_many(qs)?;
        let Some(first) = qs.first() else {
            return Ok(Vec::new());
        };
        let mut items = Vec::with_capacity(qs.len());
        for q in qs {
            let (free_ok, free_cap) = rule_params(q.free);
            let (pro_ok, pro_cap) = rule_params(q.pro);
            let (prem_ok, prem_cap) = rule_params(q.premium);
            items.push(format!(
                "[{},\"{}\",{},{},{},{},{},{},{},{}]",
                exact_int("symbol id", q.symbol.0)?,
                side_str(q.direction),
                q.confluence,
                q.signal_minute,
                u8::from(free_ok),
                free_cap,
                u8::from(pro_ok),
                pro_cap,
                u8::from(prem_ok),
                prem_cap,
            ));
        }
        let json = format!("[{}]", items.join(","));
        let stmt = self.stmt(
            ELIGIBLE_MANY,
            &[
                int("now", first.now)?,
                int("day start", first.day_start)?,
                text(&json),
            ],
        )?;
        let res = self.exec(stmt, "user").await?;
        let mut out = vec![Vec::new(); qs.len()];
        let users = decode::<EligibleRow>("users", &res)?;
        for (row, at) in users
            .into_iter()
            .zip(decode::<QueryIndexRow>("users", &res)?)
        {
            let k = read_int("users", None, "k", at.k)?;
            let slot = usize::try_from(k)
                .ok()
                .and_then(|k| out.get_mut(k))
                .ok_or_else(|| corrupt("users", format!("query index {k} out of range")))?;
            slot.push(EligibleUser::try_from(row)?);
        }
        Ok(out)
    }

    async fn notify_contexts(&self, ids: &[SignalId]) -> Result<Vec<NotifyContext>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|id| exact_int("signal id", id.0).map(|v| v.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let stmt = self.stmt(CONTEXTS, &[text(&format!("[{}]", list.join(",")))])?;
        let res = self.exec(stmt, "signal").await?;
        let signals = decode::<SignalRow>("signals", &res)?;
        let extras = decode::<ContextRow>("signals", &res)?;
        signals
            .into_iter()
            .zip(extras)
            .map(|(sig, x)| {
                let signal = StoredSignal::try_from(sig)?;
                let at = Some(signal.id.0);
                Ok(NotifyContext {
                    pattern_type: PatternType::parse(&x.ctx_pattern_type)
                        .map_err(|e| StoreError::corrupt("patterns", at, e))?,
                    pattern_tf: Timeframe::parse(&x.ctx_pattern_tf)
                        .map_err(|e| StoreError::corrupt("patterns", at, e))?,
                    symbol: x.ctx_symbol,
                    last_close: x.ctx_last_close,
                    signal,
                })
            })
            .collect()
    }

    async fn queue_notifications(&self, rows: &[NewUserNotification]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            items.push(format!(
                "[{},{},{},{}]",
                exact_int("user id", r.user.0)?,
                exact_int("signal id", r.signal.0)?,
                exact_int("deliver_at", r.deliver_at)?,
                exact_int("created_at", r.created_at)?
            ));
        }
        let json = format!("[{}]", items.join(","));
        let stmt = self.stmt(QUEUE, &[text(&json)])?;
        match self.exec(stmt, "user").await {
            Ok(res) => changes(&res),
            Err(StoreError::NotFound(_)) => {
                let what = if self.found(QUEUE_SIGNALS_EXIST, text(&json)).await? {
                    "user"
                } else {
                    "signal"
                };
                Err(StoreError::NotFound(what))
            }
            Err(e) => Err(e),
        }
    }

    async fn due_notifications(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError> {
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let stmt = self.stmt(
            DUE,
            &[
                int("now", now)?,
                int("day start", utc_day_start(now))?,
                int("limit", i64::from(limit))?,
            ],
        )?;
        self.rows::<DueRow, DueNotification>(T, stmt, "user").await
    }

    async fn claim_notifications(
        &self,
        ids: &[UserNotificationId],
        now: i64,
        until: i64,
    ) -> Result<Vec<UserNotificationId>, StoreError> {
        if ids.len() > MAX_DELIVERY_BATCH as usize {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_DELIVERY_BATCH} ids per claim"
            )));
        }
        let (now, until) = (int("now", now)?, int("until", until)?);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|i| exact_int("id", i.0).map(|v| v.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let stmt = self.stmt(CLAIM, &[text(&format!("[{}]", list.join(","))), now, until])?;
        let res = self.exec(stmt, "row").await?;
        let mut out = decode::<IdRow>(T, &res)?
            .into_iter()
            .map(|r| read_int(T, None, "id", r.id).map(UserNotificationId))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        Ok(out)
    }

    async fn finish_notification(
        &self,
        id: UserNotificationId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, at, error) = outcome.parts();
        let stmt = self.stmt(
            FINISH,
            &[
                int("id", id.0)?,
                text(status.as_str()),
                int("at", at)?,
                opt_text(error.as_deref()),
            ],
        )?;
        let res = self.exec(stmt, "row").await?;
        Ok(changes(&res)? > 0)
    }

    async fn mark_signal_notified(&self, signal: SignalId, at: i64) -> Result<bool, StoreError> {
        let stmt = self.stmt(
            MARK_NOTIFIED,
            &[int("signal id", signal.0)?, int("at", at)?],
        )?;
        let res = self.exec(stmt, "signal").await?;
        Ok(changes(&res)? > 0)
    }

    async fn notifications_of_signal(
        &self,
        signal: SignalId,
    ) -> Result<Vec<StoredUserNotification>, StoreError> {
        let stmt = self.stmt(OF_SIGNAL, &[int("signal id", signal.0)?])?;
        self.rows::<DeliveryRow, StoredUserNotification>(T, stmt, "signal")
            .await
    }

    async fn sent_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        let stmt = self.stmt(SENT_SINCE, &[int("user id", user.0)?, int("since", since)?])?;
        let res = self.exec(stmt, "user").await?;
        let n = decode::<CountRow>(T, &res)?.first().map_or(0.0, |r| r.n);
        count_u32("count", n)
    }

    async fn queue_channel(&self, new: &NewChannelMessage) -> Result<ChannelMessageId, StoreError> {
        new.validate()?;
        let stmt = self.stmt(
            QUEUE_CHANNEL,
            &[
                text(new.kind.as_str()),
                text(&new.topic),
                text(&new.title),
                int("created_at", new.created_at)?,
            ],
        )?;
        let res = self.exec(stmt, "row").await?;
        let id = decode::<IdRow>(N, &res)?
            .first()
            .map(|r| read_int(N, None, "id", r.id))
            .transpose()?
            .ok_or_else(|| StoreError::Unavailable("channel insert returned no row".into()))?;
        Ok(ChannelMessageId(id))
    }

    async fn due_channel(&self, now: i64, limit: u32) -> Result<Vec<ChannelMessage>, StoreError> {
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let stmt = self.stmt(
            DUE_CHANNEL,
            &[int("now", now)?, int("limit", i64::from(limit))?],
        )?;
        self.rows::<ChannelRow, ChannelMessage>(N, stmt, "row")
            .await
    }

    async fn finish_channel(
        &self,
        id: ChannelMessageId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, at, error) = outcome.parts();
        let stmt = self.stmt(
            FINISH_CHANNEL,
            &[
                int("id", id.0)?,
                text(status.as_str()),
                int("at", at)?,
                opt_text(error.as_deref()),
            ],
        )?;
        let res = self.exec(stmt, "row").await?;
        Ok(changes(&res)? > 0)
    }
}
