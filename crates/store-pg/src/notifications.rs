//! [`NotificationStore`] over Postgres. Every call is ONE statement:
//! - the eligibility of a signal is one `WITH … SELECT` (tier from the subscription row by the
//!   rules of product.md §1, daily sends as a correlated count on the
//!   `(user_id, status, sent_at)` index, the tier rules of the query as parameters);
//! - the queue insert is one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`;
//! - claims and finishes are conditional `UPDATE … WHERE status = 'queued'`.

use crate::PgStore;
use cl_app::policy::Tier;
use cl_app::ports::notifications::{
    utc_day_start, ChannelKind, ChannelMessage, ChannelMessageId, DeliveryOutcome, DeliveryStatus,
    DirectionPref, DueNotification, EligibilityQuery, EligibleUser, MinConfluence,
    NewChannelMessage, NewUserNotification, NotificationPrefs, NotificationSettings,
    NotificationStore, NotifyContext, NotifyPriority, NtfyTopic, QuietHours,
    StoredUserNotification, SymbolNotifyPref, TierRule, UserNotificationId, MAX_DELIVERY_BATCH,
};
use cl_app::ports::{exact_int, side_str, SignalId, SignalStatus, StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

/// The effective tier of user `u` with subscription row `s` (LEFT JOIN) at `$1` (= now):
/// admins are premium; `active`/`expired` valid until `expires_at` + 3 days, `cancelled`
/// until `expires_at`, `suspended` never; `lifetime` = premium. Pinned against
/// `cl_app::policy` by the contract.
macro_rules! tier_case {
    () => {
        "CASE WHEN u.is_admin THEN 'premium'
         WHEN s.id IS NULL THEN 'free'
         WHEN (s.status IN ('active', 'expired')
                 AND (s.expires_at IS NULL OR $1 <= s.expires_at + 259200000))
           OR (s.status = 'cancelled' AND (s.expires_at IS NULL OR $1 <= s.expires_at))
           THEN CASE s.plan WHEN 'pro' THEN 'pro' ELSE 'premium' END
         ELSE 'free' END"
    };
}

/// The eligibility of many signals in ONE statement: `$1` now, `$2` start of the UTC day,
/// `$3..$12` one array per query field (a cap < 0 = unlimited). The users' tier and sends
/// today are computed once (`MATERIALIZED`), then matched against every signal; rows come
/// back by query index `k` (1-based, from `WITH ORDINALITY`).
const ELIGIBLE_MANY: &str = concat!(
    "WITH q AS (
  SELECT * FROM unnest($3::int8[], $4::text[], $5::int8[], $6::int8[], $7::bool[], $8::int8[],
      $9::bool[], $10::int8[], $11::bool[], $12::int8[]) WITH ORDINALITY
    AS q(symbol_id, side, confluence, minute, free_ok, free_cap, pro_ok, pro_cap, prem_ok,
         prem_cap, k)
),
tiered AS MATERIALIZED (
  SELECT u.id, u.ntfy_topic, u.notify_priority, u.notify_directions AS dirs,
    u.notify_min_confluence AS min_conf, u.quiet_start_min AS qs, u.quiet_end_min AS qe, ",
    tier_case!(),
    " AS tier,
    (SELECT count(*) FROM user_notifications n
      WHERE n.user_id = u.id AND n.status = 'sent' AND n.sent_at >= $2) AS sent_today
  FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
  WHERE u.is_active AND u.is_verified AND u.notify_enabled
)
SELECT q.k, t.id, t.ntfy_topic, t.notify_priority, t.tier, t.sent_today
FROM q JOIN tiered t
  ON t.dirs IN ('both', q.side) AND t.min_conf <= q.confluence
WHERE NOT (t.qs IS NOT NULL AND t.qe IS NOT NULL AND (
       (t.qs < t.qe AND q.minute >= t.qs AND q.minute < t.qe)
    OR (t.qs > t.qe AND (q.minute >= t.qs OR q.minute < t.qe))))
  AND EXISTS (SELECT 1 FROM symbols sy WHERE sy.id = q.symbol_id AND sy.notify_enabled)
  AND NOT EXISTS (SELECT 1 FROM user_symbol_preferences p
    WHERE p.user_id = t.id AND p.symbol_id = q.symbol_id AND NOT p.notify_enabled)
  AND ((t.tier = 'free' AND q.free_ok AND (q.free_cap < 0 OR t.sent_today < q.free_cap))
    OR (t.tier = 'pro' AND q.pro_ok AND (q.pro_cap < 0 OR t.sent_today < q.pro_cap))
    OR (t.tier = 'premium' AND q.prem_ok AND (q.prem_cap < 0 OR t.sent_today < q.prem_cap)))
ORDER BY q.k, t.id"
);

/// The messages' context of many signals in ONE statement: the signal (the columns of
/// `SIGNAL_BY_ID`, in its order), its source pattern's type and TF, its symbol's name and
/// newest 1m close. Signals without pattern or symbol are left out.
const CONTEXTS: &str = "\
SELECT sg.id, sg.symbol_id, sg.direction, sg.entry, sg.stop_loss, sg.tp1, sg.tp2, sg.tp3,
    sg.risk_reward, sg.confluence_score, sg.timeframes_aligned, sg.pattern_id, sg.status,
    sg.created_at, sg.notified_at, p.pattern_type, p.tf, sy.symbol,
    (SELECT c.close FROM candles c WHERE c.symbol_id = sg.symbol_id AND c.tf = '1m'
      ORDER BY c.ts DESC LIMIT 1)
FROM signals sg
JOIN patterns p ON p.id = sg.pattern_id
JOIN symbols sy ON sy.id = sg.symbol_id
WHERE sg.id = ANY($1::int8[])
ORDER BY sg.id";

const DUE: &str = concat!(
    "SELECT n.id, n.user_id, n.signal_id, sg.status AS signal_status, u.ntfy_topic,
    u.notify_priority, (u.notify_enabled AND u.is_active AND u.is_verified) AS enabled, ",
    tier_case!(),
    " AS tier,
    (SELECT count(*) FROM user_notifications x
      WHERE x.user_id = n.user_id AND x.status = 'sent' AND x.sent_at >= $2) AS sent_today
FROM user_notifications n
JOIN users u ON u.id = n.user_id
JOIN signals sg ON sg.id = n.signal_id
LEFT JOIN subscriptions s ON s.user_id = u.id
WHERE n.status = 'queued' AND n.deliver_at <= $1
ORDER BY n.deliver_at, n.id LIMIT $3"
);

const SETTINGS: &str = "\
SELECT ntfy_topic, notify_enabled, notify_directions, notify_min_confluence, notify_priority,
    quiet_start_min, quiet_end_min
FROM users WHERE id = $1";

const SET_PREFS: &str = "\
UPDATE users SET notify_enabled = $2, notify_directions = $3, notify_min_confluence = $4,
    notify_priority = $5, quiet_start_min = $6, quiet_end_min = $7
WHERE id = $1 RETURNING id";

const SET_TOPIC: &str = "UPDATE users SET ntfy_topic = $2 WHERE id = $1 RETURNING id";

const SYMBOL_PREFS: &str = "\
SELECT symbol_id, notify_enabled FROM user_symbol_preferences WHERE user_id = $1
ORDER BY symbol_id";

const SET_SYMBOL_NOTIFY: &str = "\
INSERT INTO user_symbol_preferences (user_id, symbol_id, notify_enabled, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, symbol_id)
DO UPDATE SET notify_enabled = EXCLUDED.notify_enabled, updated_at = EXCLUDED.updated_at";

const QUEUE: &str = "\
INSERT INTO user_notifications (user_id, signal_id, status, deliver_at, created_at)
SELECT t.u, t.s, 'queued', t.d, t.c
FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) AS t(u, s, d, c)
ON CONFLICT (user_id, signal_id) DO NOTHING
RETURNING id";

const CLAIM: &str = "\
UPDATE user_notifications SET deliver_at = $3, attempts = attempts + 1
WHERE id = ANY($1::int8[]) AND status = 'queued' AND deliver_at <= $2
RETURNING id";

const FINISH: &str = "\
UPDATE user_notifications
SET status = $2, sent_at = CASE WHEN $2 = 'sent' THEN $3 ELSE sent_at END, error = $4
WHERE id = $1 AND status = 'queued' RETURNING id";

const MARK_NOTIFIED: &str = "\
UPDATE signals SET status = 'notified', notified_at = $2
WHERE id = $1 AND status = 'pending' RETURNING id";

const OF_SIGNAL: &str = "\
SELECT id, user_id, signal_id, status, deliver_at, sent_at, attempts, error
FROM user_notifications WHERE signal_id = $1 ORDER BY user_id";

const SENT_SINCE: &str = "\
SELECT count(*) FROM user_notifications WHERE user_id = $1 AND status = 'sent' AND sent_at >= $2";

const QUEUE_CHANNEL: &str = "\
INSERT INTO notifications (kind, topic, title, status, created_at)
VALUES ($1, $2, $3, 'queued', $4) RETURNING id";

const DUE_CHANNEL: &str = "\
SELECT n.id, n.kind, n.topic, n.title, n.created_at, COALESCE(u.notify_priority, 3) AS priority
FROM notifications n LEFT JOIN users u ON u.ntfy_topic = n.topic
WHERE n.status = 'queued' AND n.created_at <= $1 ORDER BY n.created_at, n.id LIMIT $2";

const FINISH_CHANNEL: &str = "\
UPDATE notifications
SET status = $2, sent_at = CASE WHEN $2 = 'sent' THEN $3 ELSE sent_at END, error = $4
WHERE id = $1 AND status = 'queued' RETURNING id";

const T: &str = "user_notifications";
const N: &str = "notifications";

fn col<'r, V: FromSql<'r>>(row: &'r Row, name: &str, table: &'static str) -> Result<V, StoreError> {
    row.try_get(name)
        .map_err(|e| StoreError::corrupt(table, row.try_get::<_, i64>(0).ok(), e))
}

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(table, None, e)
}

fn topic(row: &Row) -> Result<NtfyTopic, StoreError> {
    NtfyTopic::parse(&col::<String>(row, "ntfy_topic", "users")?).map_err(|e| corrupt("users", e))
}

fn priority(row: &Row) -> Result<NotifyPriority, StoreError> {
    NotifyPriority::new(col(row, "notify_priority", "users")?).map_err(|e| corrupt("users", e))
}

fn tier(row: &Row) -> Result<Tier, StoreError> {
    Tier::parse(&col::<String>(row, "tier", "users")?).map_err(|e| corrupt("users", e))
}

fn sent_today(row: &Row) -> Result<u32, StoreError> {
    let n: i64 = col(row, "sent_today", T)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn rule_params(r: TierRule) -> (bool, i64) {
    (r.covers, r.daily_cap.map_or(-1, i64::from))
}

fn delivery_row(row: &Row) -> Result<StoredUserNotification, StoreError> {
    let status: String = col(row, "status", T)?;
    let attempts: i64 = col(row, "attempts", T)?;
    Ok(StoredUserNotification {
        id: UserNotificationId(col(row, "id", T)?),
        user: UserId(col(row, "user_id", T)?),
        signal: SignalId(col(row, "signal_id", T)?),
        status: DeliveryStatus::parse(&status).map_err(|e| corrupt(T, e))?,
        deliver_at: col(row, "deliver_at", T)?,
        sent_at: col(row, "sent_at", T)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        error: col(row, "error", T)?,
    })
}

fn batch_ok(n: usize) -> Result<(), StoreError> {
    if n > MAX_DELIVERY_BATCH as usize {
        Err(StoreError::Invalid(format!(
            "at most {MAX_DELIVERY_BATCH} rows per call"
        )))
    } else {
        Ok(())
    }
}

impl NotificationStore for PgStore<'_> {
    async fn notification_settings(
        &self,
        user: UserId,
    ) -> Result<Option<NotificationSettings>, StoreError> {
        let rows = self.query(SETTINGS, &[(&user.0, Type::INT8)]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let dirs: String = col(row, "notify_directions", "users")?;
        let start: Option<i64> = col(row, "quiet_start_min", "users")?;
        let end: Option<i64> = col(row, "quiet_end_min", "users")?;
        let quiet = match (start, end) {
            (Some(a), Some(b)) => Some(QuietHours::new(a, b).map_err(|e| corrupt("users", e))?),
            _ => None,
        };
        Ok(Some(NotificationSettings {
            topic: topic(row)?,
            prefs: NotificationPrefs {
                enabled: col(row, "notify_enabled", "users")?,
                directions: DirectionPref::parse(&dirs).map_err(|e| corrupt("users", e))?,
                min_confluence: MinConfluence::new(col(row, "notify_min_confluence", "users")?)
                    .map_err(|e| corrupt("users", e))?,
                priority: priority(row)?,
                quiet,
            },
        }))
    }

    async fn set_notification_prefs(
        &self,
        user: UserId,
        prefs: &NotificationPrefs,
    ) -> Result<(), StoreError> {
        let dirs = prefs.directions.as_str();
        let min = i64::from(prefs.min_confluence.get());
        let prio = i64::from(prefs.priority.get());
        let start = prefs.quiet.map(|q| i64::from(q.start()));
        let end = prefs.quiet.map(|q| i64::from(q.end()));
        let rows = self
            .query(
                SET_PREFS,
                &[
                    (&user.0, Type::INT8),
                    (&prefs.enabled, Type::BOOL),
                    (&dirs, Type::TEXT),
                    (&min, Type::INT8),
                    (&prio, Type::INT8),
                    (&start, Type::INT8),
                    (&end, Type::INT8),
                ],
            )
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_topic(&self, user: UserId, topic: &NtfyTopic) -> Result<(), StoreError> {
        let t = topic.as_str();
        let rows = self
            .query(SET_TOPIC, &[(&user.0, Type::INT8), (&t, Type::TEXT)])
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn symbol_prefs(&self, user: UserId) -> Result<Vec<SymbolNotifyPref>, StoreError> {
        let rows = self.query(SYMBOL_PREFS, &[(&user.0, Type::INT8)]).await?;
        rows.iter()
            .map(|r| {
                Ok(SymbolNotifyPref {
                    symbol: SymbolId(col(r, "symbol_id", "user_symbol_preferences")?),
                    notify: col(r, "notify_enabled", "user_symbol_preferences")?,
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
        exact_int("now", now)?;
        self.query(
            SET_SYMBOL_NOTIFY,
            &[
                (&user.0, Type::INT8),
                (&symbol.0, Type::INT8),
                (&notify, Type::BOOL),
                (&now, Type::INT8),
            ],
        )
        .await?;
        Ok(())
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
        let symbol: Vec<i64> = qs.iter().map(|q| q.symbol.0).collect();
        let side: Vec<&str> = qs.iter().map(|q| side_str(q.direction)).collect();
        let conf: Vec<i64> = qs.iter().map(|q| i64::from(q.confluence)).collect();
        let minute: Vec<i64> = qs.iter().map(|q| i64::from(q.signal_minute)).collect();
        let rule = |f: fn(&EligibilityQuery) -> TierRule| -> (Vec<bool>, Vec<i64>) {
            qs.iter().map(|q| rule_params(f(q))).unzip()
        };
        let (free_ok, free_cap) = rule(|q| q.free);
        let (pro_ok, pro_cap) = rule(|q| q.pro);
        let (prem_ok, prem_cap) = rule(|q| q.premium);
        let rows = self
            .query(
                ELIGIBLE_MANY,
                &[
                    (&first.now, Type::INT8),
                    (&first.day_start, Type::INT8),
                    (&symbol, Type::INT8_ARRAY),
                    (&side, Type::TEXT_ARRAY),
                    (&conf, Type::INT8_ARRAY),
                    (&minute, Type::INT8_ARRAY),
                    (&free_ok, Type::BOOL_ARRAY),
                    (&free_cap, Type::INT8_ARRAY),
                    (&pro_ok, Type::BOOL_ARRAY),
                    (&pro_cap, Type::INT8_ARRAY),
                    (&prem_ok, Type::BOOL_ARRAY),
                    (&prem_cap, Type::INT8_ARRAY),
                ],
            )
            .await?;
        let mut out = vec![Vec::new(); qs.len()];
        for r in &rows {
            let k: i64 = col(r, "k", "users")?;
            let slot = usize::try_from(k - 1)
                .ok()
                .and_then(|k| out.get_mut(k))
                .ok_or_else(|| StoreError::corrupt("users", None, "query index out of range"))?;
            slot.push(EligibleUser {
                user: UserId(col(r, "id", "users")?),
                topic: topic(r)?,
                priority: priority(r)?,
                tier: tier(r)?,
                sent_today: sent_today(r)?,
            });
        }
        Ok(out)
    }

    async fn notify_contexts(&self, ids: &[SignalId]) -> Result<Vec<NotifyContext>, StoreError> {
        const T: &str = "signals";
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|id| exact_int("signal id", id.0))
            .collect::<Result<Vec<i64>, _>>()?;
        let rows = self.query(CONTEXTS, &[(&list, Type::INT8_ARRAY)]).await?;
        rows.iter()
            .map(|r| {
                let signal = crate::signal_row(r)?;
                let at = Some(signal.id.0);
                let (ty, tf): (&str, &str) = (crate::get(r, 15, T)?, crate::get(r, 16, T)?);
                Ok(NotifyContext {
                    pattern_type: PatternType::parse(ty)
                        .map_err(|e| StoreError::corrupt("patterns", at, e))?,
                    pattern_tf: Timeframe::parse(tf)
                        .map_err(|e| StoreError::corrupt("patterns", at, e))?,
                    symbol: crate::get(r, 17, T)?,
                    last_close: crate::get(r, 18, T)?,
                    signal,
                })
            })
            .collect()
    }

    async fn queue_notifications(&self, rows: &[NewUserNotification]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut users = Vec::with_capacity(rows.len());
        let mut signals = Vec::with_capacity(rows.len());
        let mut deliver = Vec::with_capacity(rows.len());
        let mut created = Vec::with_capacity(rows.len());
        for r in rows {
            users.push(exact_int("user id", r.user.0)?);
            signals.push(exact_int("signal id", r.signal.0)?);
            deliver.push(exact_int("deliver_at", r.deliver_at)?);
            created.push(exact_int("created_at", r.created_at)?);
        }
        let out = self
            .query(
                QUEUE,
                &[
                    (&users, Type::INT8_ARRAY),
                    (&signals, Type::INT8_ARRAY),
                    (&deliver, Type::INT8_ARRAY),
                    (&created, Type::INT8_ARRAY),
                ],
            )
            .await?;
        Ok(u64::try_from(out.len()).unwrap_or(u64::MAX))
    }

    async fn due_notifications(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let day = utc_day_start(now);
        let lim = i64::from(limit);
        let rows = self
            .query(
                DUE,
                &[(&now, Type::INT8), (&day, Type::INT8), (&lim, Type::INT8)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = col(r, "signal_status", "signals")?;
                Ok(DueNotification {
                    id: UserNotificationId(col(r, "id", T)?),
                    user: UserId(col(r, "user_id", T)?),
                    signal: SignalId(col(r, "signal_id", T)?),
                    signal_status: SignalStatus::parse(&status)
                        .map_err(|e| corrupt("signals", e))?,
                    topic: topic(r)?,
                    priority: priority(r)?,
                    enabled: col(r, "enabled", "users")?,
                    tier: tier(r)?,
                    sent_today: sent_today(r)?,
                })
            })
            .collect()
    }

    async fn claim_notifications(
        &self,
        ids: &[UserNotificationId],
        now: i64,
        until: i64,
    ) -> Result<Vec<UserNotificationId>, StoreError> {
        batch_ok(ids.len())?;
        exact_int("now", now)?;
        exact_int("until", until)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let rows = self
            .query(
                CLAIM,
                &[
                    (&list, Type::INT8_ARRAY),
                    (&now, Type::INT8),
                    (&until, Type::INT8),
                ],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| col::<i64>(r, "id", T).map(UserNotificationId))
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
        exact_int("at", at)?;
        let word = status.as_str();
        let rows = self
            .query(
                FINISH,
                &[
                    (&id.0, Type::INT8),
                    (&word, Type::TEXT),
                    (&at, Type::INT8),
                    (&error, Type::TEXT),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn mark_signal_notified(&self, signal: SignalId, at: i64) -> Result<bool, StoreError> {
        exact_int("at", at)?;
        let rows = self
            .query(MARK_NOTIFIED, &[(&signal.0, Type::INT8), (&at, Type::INT8)])
            .await?;
        Ok(!rows.is_empty())
    }

    async fn notifications_of_signal(
        &self,
        signal: SignalId,
    ) -> Result<Vec<StoredUserNotification>, StoreError> {
        let rows = self.query(OF_SIGNAL, &[(&signal.0, Type::INT8)]).await?;
        rows.iter().map(delivery_row).collect()
    }

    async fn sent_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        exact_int("since", since)?;
        let rows = self
            .query(SENT_SINCE, &[(&user.0, Type::INT8), (&since, Type::INT8)])
            .await?;
        let n: i64 = rows
            .first()
            .map(|r| col(r, "count", T))
            .transpose()?
            .unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn queue_channel(&self, new: &NewChannelMessage) -> Result<ChannelMessageId, StoreError> {
        new.validate()?;
        let kind = new.kind.as_str();
        let rows = self
            .query(
                QUEUE_CHANNEL,
                &[
                    (&kind, Type::TEXT),
                    (&new.topic, Type::TEXT),
                    (&new.title, Type::TEXT),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Unavailable("channel insert returned no row".into()))?;
        Ok(ChannelMessageId(col(row, "id", N)?))
    }

    async fn due_channel(&self, now: i64, limit: u32) -> Result<Vec<ChannelMessage>, StoreError> {
        exact_int("now", now)?;
        if limit == 0 || limit > MAX_DELIVERY_BATCH {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..={MAX_DELIVERY_BATCH}"
            )));
        }
        let lim = i64::from(limit);
        let rows = self
            .query(DUE_CHANNEL, &[(&now, Type::INT8), (&lim, Type::INT8)])
            .await?;
        rows.iter()
            .map(|r| {
                let kind: String = col(r, "kind", N)?;
                Ok(ChannelMessage {
                    id: ChannelMessageId(col(r, "id", N)?),
                    kind: ChannelKind::parse(&kind).map_err(|e| corrupt(N, e))?,
                    topic: col(r, "topic", N)?,
                    title: col(r, "title", N)?,
                    created_at: col(r, "created_at", N)?,
                    priority: NotifyPriority::new(col(r, "priority", N)?)
                        .map_err(|e| corrupt(N, e))?,
                })
            })
            .collect()
    }

    async fn finish_channel(
        &self,
        id: ChannelMessageId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, at, error) = outcome.parts();
        exact_int("at", at)?;
        let word = status.as_str();
        let rows = self
            .query(
                FINISH_CHANNEL,
                &[
                    (&id.0, Type::INT8),
                    (&word, Type::TEXT),
                    (&at, Type::INT8),
                    (&error, Type::TEXT),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
