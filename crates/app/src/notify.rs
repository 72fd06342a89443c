//! Per-user notification fan-out and delivery (product.md §5), wired into the pipeline job
//! (step 6b, through [`SignalNotifier`]).
//!
//! For the new signals of a run (issue #7: the store calls do not grow with their number):
//! 1. load every signal with its source pattern (type and TF), its symbol's name and last
//!    close in ONE call ([`NotificationStore::notify_contexts`]);
//! 2. run the eligibility of every signal in ONE statement
//!    ([`NotificationStore::eligible_users_many`]) with the tier rules of [`crate::policy`] for
//!    each symbol and pattern type;
//! 3. queue one `user_notifications` row per eligible user and signal (one insert per 1,000
//!    rows), insert-if-absent on `(user, signal)`, with `deliver_at` = signal time + the tier's
//!    delay (free: 10 min);
//! 4. queue the optional global-topic send (every signal, no per-user rules) as ONE broadcast
//!    of the signal ([`BroadcastDeliveryStore::queue_signal_broadcast`], unique per signal):
//!    the dispatch job's [`crate::notify_admin::send_broadcasts`] sends it like an admin
//!    broadcast (claimed delivery row, outage → stays queued → next tick, failed after 3
//!    tries) and the admin broadcast list shows it. The topic comes from the stored
//!    `notify.global_topic` / `notify.global_topic_enabled` settings, read once per tick by the
//!    caller ([`crate::global_settings::GlobalSettings::notify_config`]).
//!
//! Then every run delivers what is due ([`Notifier::dispatch_due`]): due rows are claimed (a
//! short lease on the row), the signal's state and the daily cap are re-checked (an ended
//! signal, notifications turned off or the cap reached → `skipped`), the message is built from
//! the stored signal ([`cl_domain::signal::format_notification`]) and sent through the
//! [`NotificationSender`] port; the row becomes `sent` or `failed` by a conditional update, and
//! the signal turns `notified` at its first successful send. When the sender reports the
//! channel unavailable (the breaker is open) the rest of the batch stays queued and is retried
//! after the claim lease. So a delayed free-tier delivery goes out in the first run after its
//! `deliver_at`, and nothing is sent twice: rows are unique per (user, signal), a claimed row
//! is invisible to a concurrent run, and a finished row never changes again.

use crate::cron::RunCounts;
use crate::policy::Limits;
use crate::ports::broadcast_delivery::BroadcastDeliveryStore;
use crate::ports::notification_admin::{
    Audience, NewBroadcast, NoticeBody, NoticeContent, NoticeTags, NoticeTitle,
};
use crate::ports::notifications::NotifyPriority;
use crate::ports::notifications::{
    DeliveryOutcome, DueNotification, EligibilityQuery, EligibleUser, NewUserNotification,
    NotificationStore, MAX_DELIVERY_BATCH,
};
use crate::ports::{
    CandleStore, PatternStore, SignalId, SignalStatus, SignalStore, StoreError, StoredSignal,
    SymbolId, SymbolStore, UserId,
};
use cl_domain::signal::{
    format_notification, NewSignal as DomainSignal, SignalLevels, SignalStatus as DomainStatus,
};
use cl_domain::{PatternType, Timeframe};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Delivery rows per queue insert (one JSON / `unnest` parameter; ~40 bytes a row).
const QUEUE_BATCH: usize = 1_000;

/// One message for the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The ntfy topic.
    pub topic: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Priority 1..=5.
    pub priority: u8,
    /// Tags.
    pub tags: Vec<String>,
}

/// Why a send did not go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// The channel refused or failed after its retries: the delivery is `failed`.
    #[error("send failed: {0}")]
    Failed(String),
    /// The channel is unavailable right now (breaker open): nothing was sent; try later.
    #[error("channel unavailable: {0}")]
    Unavailable(String),
}

/// The notification channel (ntfy in production; the worker adapts `cl_outbound::NtfyClient`).
#[allow(async_fn_in_trait)]
pub trait NotificationSender {
    /// Publishes one message.
    ///
    /// # Errors
    /// A [`SendFailure`].
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendFailure>;
}

/// The notifier's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// The global topic that receives every signal (the admin setting, when enabled; off when
    /// `None`).
    pub global_topic: Option<String>,
    /// Priority of global-topic messages.
    pub global_priority: u8,
    /// Rows per due read (at most [`MAX_DELIVERY_BATCH`]).
    pub batch: u32,
    /// Due reads per run (bounds the work of one run).
    pub max_batches: u32,
    /// How long a claimed row stays invisible to other runs (ms).
    pub claim_ms: i64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            global_topic: None,
            global_priority: 3,
            batch: MAX_DELIVERY_BATCH,
            max_batches: 4,
            claim_ms: 5 * 60_000,
        }
    }
}

/// What a notifier run did (added to the pipeline run's counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Delivery rows newly queued.
    pub queued: u64,
    /// Deliveries sent.
    pub sent: u64,
    /// Deliveries that failed.
    pub failed: u64,
    /// Deliveries skipped (cap, ended signal, notifications off).
    pub skipped: u64,
    /// Claimed deliveries left queued because the channel was unavailable.
    pub deferred: u64,
    /// Global-topic broadcasts queued (one per signal, sent by the dispatch job).
    pub global_queued: u64,
    /// Channel messages (test sends, broadcasts) sent.
    pub channel_sent: u64,
    /// Channel messages that failed.
    pub channel_failed: u64,
    /// Errors, for the run's error text and logs.
    pub errors: Vec<String>,
}

impl NotifyReport {
    /// Adds the counters to a run's counts (`notify.*`).
    pub fn add_to(&self, counts: &mut RunCounts) {
        for (name, v) in [
            ("notify.queued", self.queued),
            ("notify.sent", self.sent),
            ("notify.failed", self.failed),
            ("notify.skipped", self.skipped),
            ("notify.deferred", self.deferred),
            ("notify.global_queued", self.global_queued),
            ("notify.channel_sent", self.channel_sent),
            ("notify.channel_failed", self.channel_failed),
        ] {
            if v > 0 {
                *counts.extra.entry(name.to_owned()).or_insert(0) += v;
            }
        }
    }
}

/// Step 6b of the pipeline job: notify the new signals of a run and deliver what is due.
#[allow(async_fn_in_trait)]
pub trait SignalNotifier {
    /// Runs the fan-out and the delivery at `now_ms`; never fails the run (errors are
    /// reported).
    async fn notify(&self, signals: &[SignalId], now_ms: i64) -> NotifyReport;
}

/// No notifications (replay, tests of other steps).
impl SignalNotifier for () {
    async fn notify(&self, _signals: &[SignalId], _now_ms: i64) -> NotifyReport {
        NotifyReport::default()
    }
}

/// What a message about a signal needs, loaded once per signal and run.
#[derive(Debug, Clone)]
struct SignalContext {
    signal: StoredSignal,
    symbol: String,
    pattern_type: PatternType,
    pattern_tf: Timeframe,
    price: f64,
}

/// The notifier over its ports.
#[derive(Debug)]
pub struct Notifier<'a, S, N> {
    store: &'a S,
    sender: &'a N,
    config: NotifyConfig,
    contexts: RefCell<BTreeMap<SignalId, Option<SignalContext>>>,
}

fn ended(status: SignalStatus) -> bool {
    matches!(
        status,
        SignalStatus::Closed | SignalStatus::Expired | SignalStatus::Cancelled
    )
}

impl<'a, S, N> Notifier<'a, S, N>
where
    S: NotificationStore
        + BroadcastDeliveryStore
        + SignalStore
        + PatternStore
        + SymbolStore
        + CandleStore,
    N: NotificationSender,
{
    /// Wires the notifier.
    pub fn new(store: &'a S, sender: &'a N, config: NotifyConfig) -> Self {
        Self {
            store,
            sender,
            config,
            contexts: RefCell::new(BTreeMap::new()),
        }
    }

    /// The signal's context; `None` when the signal, its pattern or its symbol is gone.
    async fn context(&self, id: SignalId) -> Result<Option<SignalContext>, StoreError> {
        self.prefetch(&[id]).await?;
        Ok(self.contexts.borrow().get(&id).cloned().flatten())
    }

    /// Loads the contexts of the ids not cached yet in ONE store call; a signal without
    /// pattern or symbol is cached as `None`.
    async fn prefetch(&self, ids: &[SignalId]) -> Result<(), StoreError> {
        let mut missing: Vec<SignalId> = {
            let cached = self.contexts.borrow();
            ids.iter()
                .copied()
                .filter(|id| !cached.contains_key(id))
                .collect()
        };
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let found = self.store.notify_contexts(&missing).await?;
        let mut cache = self.contexts.borrow_mut();
        for id in missing {
            cache.insert(id, None);
        }
        for c in found {
            let price = c.last_close.unwrap_or(c.signal.entry);
            cache.insert(
                c.signal.id,
                Some(SignalContext {
                    symbol: c.symbol,
                    pattern_type: c.pattern_type,
                    pattern_tf: c.pattern_tf,
                    price,
                    signal: c.signal,
                }),
            );
        }
        Ok(())
    }

    fn message(ctx: &SignalContext, topic: &str, priority: u8) -> OutgoingMessage {
        let s = &ctx.signal;
        let domain = DomainSignal {
            symbol: ctx.symbol.clone(),
            direction: s.direction,
            levels: SignalLevels {
                entry: s.entry,
                stop_loss: s.stop_loss,
                tp1: s.tp1,
                tp2: s.tp2,
                tp3: s.tp3,
                risk: (s.entry - s.stop_loss).abs(),
                risk_reward: s.risk_reward,
            },
            confluence_score: usize::from(s.confluence_score),
            timeframes_aligned: s.timeframes_aligned.clone(),
            pattern_id: s.pattern_id.map_or(0, |p| p.0),
            pattern_type: ctx.pattern_type,
            pattern_timeframe: ctx.pattern_tf,
            status: DomainStatus::Pending,
            created_at: s.created_at,
        };
        let n = format_notification(&domain, ctx.price);
        OutgoingMessage {
            topic: topic.to_owned(),
            title: n.title,
            body: n.message,
            priority,
            tags: n.tags,
        }
    }

    /// Queues the deliveries of new signals (and their global-topic broadcasts).
    ///
    /// # Errors
    /// A [`StoreError`] of a read or the queue insert (rows of earlier inserts stay queued).
    pub async fn fan_out(
        &self,
        signals: &[SignalId],
        now: i64,
        report: &mut NotifyReport,
    ) -> Result<(), StoreError> {
        // ONE context read and ONE eligibility statement for all the signals.
        self.prefetch(signals).await?;
        let (ids, queries): (Vec<SignalId>, Vec<EligibilityQuery>) = {
            let cache = self.contexts.borrow();
            signals
                .iter()
                .filter_map(|id| cache.get(id).cloned().flatten().map(|c| (*id, c)))
                .map(|(id, ctx)| {
                    let s = &ctx.signal;
                    let q = EligibilityQuery::for_signal(
                        s.symbol,
                        &ctx.symbol,
                        Some(ctx.pattern_type),
                        s.direction,
                        s.confluence_score,
                        s.created_at,
                        now,
                    );
                    (id, q)
                })
                .unzip()
        };
        let lists = if queries.is_empty() {
            Vec::new()
        } else {
            self.store.eligible_users_many(&queries).await?
        };
        let mut eligible: BTreeMap<SignalId, Vec<EligibleUser>> =
            ids.into_iter().zip(lists).collect();
        let mut rows: Vec<NewUserNotification> = Vec::new();
        for &id in signals {
            let Some(ctx) = self.context(id).await? else {
                report
                    .errors
                    .push(format!("signal {id}: signal, pattern or symbol missing"));
                continue;
            };
            let s = &ctx.signal;
            let users = eligible.remove(&id).unwrap_or_default();
            rows.extend(users.iter().map(|u| {
                NewUserNotification {
                    user: u.user,
                    signal: id,
                    deliver_at: s
                        .created_at
                        .saturating_add(Limits::for_tier(u.tier).notification_delay_ms),
                    created_at: now,
                }
            }));
            if let Some(topic) = &self.config.global_topic {
                let msg = Self::message(&ctx, topic, self.config.global_priority);
                match global_broadcast(&msg, now) {
                    Ok(new) => {
                        if self.store.queue_signal_broadcast(id, &new).await?.is_some() {
                            report.global_queued += 1;
                        }
                    }
                    Err(e) => report
                        .errors
                        .push(format!("global topic, signal {id}: {e}")),
                }
            }
        }
        for chunk in rows.chunks(QUEUE_BATCH) {
            report.queued += self.store.queue_notifications(chunk).await?;
        }
        Ok(())
    }

    /// Sends the due deliveries (see the module docs).
    ///
    /// # Errors
    /// A [`StoreError`] of the due read, a claim or a status write.
    pub async fn dispatch_due(
        &self,
        now: i64,
        report: &mut NotifyReport,
    ) -> Result<(), StoreError> {
        let batch = self.config.batch.clamp(1, MAX_DELIVERY_BATCH);
        let mut sent_in_run: BTreeMap<UserId, u32> = BTreeMap::new();
        for _ in 0..self.config.max_batches.max(1) {
            let due = self.store.due_notifications(now, batch).await?;
            if due.is_empty() {
                break;
            }
            let full = due.len() == batch as usize;
            let ids: Vec<_> = due.iter().map(|d| d.id).collect();
            let claimed = self
                .store
                .claim_notifications(&ids, now, now.saturating_add(self.config.claim_ms.max(1)))
                .await?;
            // The messages' contexts of the whole batch in ONE call.
            let signals: Vec<SignalId> = due
                .iter()
                .filter(|d| claimed.contains(&d.id))
                .map(|d| d.signal)
                .collect();
            self.prefetch(&signals).await?;
            let mut unavailable = false;
            for d in due.iter().filter(|d| claimed.contains(&d.id)) {
                if unavailable {
                    report.deferred += 1;
                    continue;
                }
                unavailable = self.deliver(d, now, &mut sent_in_run, report).await?;
            }
            if unavailable || !full {
                break;
            }
        }
        Ok(())
    }

    /// Sends the due channel messages (test sends, broadcasts) queued by requests.
    ///
    /// # Errors
    /// A [`StoreError`] of the due read, a claim or a status write.
    pub async fn dispatch_channel(
        &self,
        now: i64,
        report: &mut NotifyReport,
    ) -> Result<(), StoreError> {
        let batch = self.config.batch.clamp(1, MAX_DELIVERY_BATCH);
        for _ in 0..self.config.max_batches.max(1) {
            let due = self.store.due_channel(now, batch).await?;
            if due.is_empty() {
                break;
            }
            let full = due.len() == batch as usize;
            for m in &due {
                let Some(body) = channel_body(m) else {
                    let done = DeliveryOutcome::Skipped {
                        at: now,
                        reason: format!("no content for {} messages", m.kind.as_str()),
                    };
                    self.store.finish_channel(m.id, &done).await?;
                    continue;
                };
                let msg = OutgoingMessage {
                    topic: m.topic.clone(),
                    title: m.title.clone(),
                    body,
                    priority: m.priority.get(),
                    tags: vec!["test".to_owned(), "bell".to_owned()],
                };
                match self.sender.send(&msg).await {
                    Ok(()) => {
                        let done = DeliveryOutcome::Sent { at: now };
                        if self.store.finish_channel(m.id, &done).await? {
                            report.channel_sent += 1;
                        }
                    }
                    Err(SendFailure::Failed(error)) => {
                        let done = DeliveryOutcome::Failed { at: now, error };
                        if self.store.finish_channel(m.id, &done).await? {
                            report.channel_failed += 1;
                        }
                    }
                    Err(SendFailure::Unavailable(why)) => {
                        report.deferred += 1;
                        report
                            .errors
                            .push(format!("channel messages deferred: {why}"));
                        return Ok(());
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    /// Delivers one claimed row; true when the channel is unavailable (stop the batch).
    async fn deliver(
        &self,
        d: &DueNotification,
        now: i64,
        sent_in_run: &mut BTreeMap<UserId, u32>,
        report: &mut NotifyReport,
    ) -> Result<bool, StoreError> {
        let already = d
            .sent_today
            .saturating_add(sent_in_run.get(&d.user).copied().unwrap_or(0));
        let skip = if ended(d.signal_status) {
            Some("signal ended")
        } else if !d.enabled {
            Some("notifications off")
        } else if !Limits::for_tier(d.tier)
            .notifications_per_day
            .allows_another(already)
        {
            Some("daily cap reached")
        } else {
            None
        };
        let ctx = match skip {
            Some(_) => None,
            None => self.context(d.signal).await?,
        };
        let Some(ctx) = ctx else {
            let reason = skip.unwrap_or("signal, pattern or symbol missing");
            let outcome = DeliveryOutcome::Skipped {
                at: now,
                reason: reason.to_owned(),
            };
            if self.store.finish_notification(d.id, &outcome).await? {
                report.skipped += 1;
            }
            return Ok(false);
        };
        let msg = Self::message(&ctx, d.topic.as_str(), d.priority.get());
        match self.sender.send(&msg).await {
            Ok(()) => {
                if self
                    .store
                    .finish_notification(d.id, &DeliveryOutcome::Sent { at: now })
                    .await?
                {
                    report.sent += 1;
                    *sent_in_run.entry(d.user).or_insert(0) += 1;
                }
                self.store.mark_signal_notified(d.signal, now).await?;
                Ok(false)
            }
            Err(SendFailure::Failed(error)) => {
                let outcome = DeliveryOutcome::Failed { at: now, error };
                if self.store.finish_notification(d.id, &outcome).await? {
                    report.failed += 1;
                }
                Ok(false)
            }
            Err(SendFailure::Unavailable(why)) => {
                report.deferred += 1;
                report.errors.push(format!("notifications deferred: {why}"));
                Ok(true)
            }
        }
    }
}

/// The global-topic broadcast of a signal's message (audience: the one topic); why not when
/// the message does not fit a broadcast.
fn global_broadcast(msg: &OutgoingMessage, now: i64) -> Result<NewBroadcast, String> {
    let priority = NotifyPriority::new(i64::from(msg.priority)).map_err(|e| e.to_string())?;
    let text = |e: crate::ports::notification_admin::NoticeError| e.to_string();
    Ok(NewBroadcast {
        audience: Audience::Topics(msg.topic.clone()),
        template: None,
        content: NoticeContent {
            title: NoticeTitle::parse(&msg.title).map_err(text)?,
            body: NoticeBody::parse(&msg.body).map_err(text)?,
            priority,
            tags: NoticeTags::parse(&msg.tags.join(",")).map_err(text)?,
        },
        created_by: None,
        created_at: now,
    })
}

impl<S, N> SignalNotifier for Notifier<'_, S, N>
where
    S: NotificationStore
        + BroadcastDeliveryStore
        + SignalStore
        + PatternStore
        + SymbolStore
        + CandleStore,
    N: NotificationSender,
{
    async fn notify(&self, signals: &[SignalId], now_ms: i64) -> NotifyReport {
        let mut report = NotifyReport::default();
        if let Err(e) = self.fan_out(signals, now_ms, &mut report).await {
            report.errors.push(format!("notification fan-out: {e}"));
        }
        if let Err(e) = self.dispatch_due(now_ms, &mut report).await {
            report.errors.push(format!("notification delivery: {e}"));
        }
        if let Err(e) = self.dispatch_channel(now_ms, &mut report).await {
            report.errors.push(format!("channel delivery: {e}"));
        }
        report
    }
}

// ---------------------------------------------------------------------------------------------
// Settings use cases (`/me/preferences`, `/me/symbols`, `/me/topic/regenerate`)
// ---------------------------------------------------------------------------------------------

/// A symbol the caller's tier sees, with its notification flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolNotifyView {
    /// Canonical `BASE/QUOTE`.
    pub symbol: String,
    /// The user's flag (a symbol without a stored toggle is on).
    pub notify: bool,
    /// Signals of this symbol are notified at all (admin switch).
    pub symbol_enabled: bool,
}

/// Why a per-symbol toggle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolNotifyError {
    /// Per-symbol toggles are a premium feature.
    #[error("per-symbol notifications need the premium plan")]
    TierRequired,
    /// Not an active symbol of the caller's tier.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a topic could not be regenerated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// No randomness.
    #[error("no randomness available")]
    Random,
    /// The user is gone.
    #[error("user not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// The active symbols the caller's tier sees, by id, with their notification flags.
///
/// # Errors
/// A [`StoreError`].
pub async fn my_symbols<S: NotificationStore + SymbolStore>(
    store: &S,
    user: UserId,
    access: &crate::policy::Access,
) -> Result<Vec<SymbolNotifyView>, StoreError> {
    let prefs: BTreeMap<SymbolId, bool> = store
        .symbol_prefs(user)
        .await?
        .into_iter()
        .map(|p| (p.symbol, p.notify))
        .collect();
    Ok(store
        .list_symbols(true)
        .await?
        .into_iter()
        .filter(|s| access.limits.symbols.allows(&s.symbol))
        .map(|s| SymbolNotifyView {
            notify: prefs.get(&s.id).copied().unwrap_or(true),
            symbol_enabled: s.notify_enabled,
            symbol: s.symbol,
        })
        .collect())
}

/// Turns notifications for one of the caller's symbols on or off (premium only).
///
/// # Errors
/// [`SymbolNotifyError`].
pub async fn set_my_symbol<S: NotificationStore + SymbolStore>(
    store: &S,
    user: UserId,
    access: &crate::policy::Access,
    symbol: &str,
    notify: bool,
    now: i64,
) -> Result<(), SymbolNotifyError> {
    if !access.limits.per_symbol_notifications {
        return Err(SymbolNotifyError::TierRequired);
    }
    let found = store
        .symbol_by_name(symbol)
        .await?
        .filter(|s| s.is_active && access.limits.symbols.allows(&s.symbol))
        .ok_or(SymbolNotifyError::UnknownSymbol)?;
    store.set_symbol_notify(user, found.id, notify, now).await?;
    Ok(())
}

/// Gives the user a new random topic (`cl_` + 16 hex), retrying a collision twice.
///
/// # Errors
/// [`TopicError`].
pub async fn regenerate_topic<S: NotificationStore>(
    store: &S,
    user: UserId,
) -> Result<crate::ports::notifications::NtfyTopic, TopicError> {
    use crate::ports::notifications::NtfyTopic;
    let mut attempts = 0;
    loop {
        let bytes = cl_auth::random::bytes::<8>().map_err(|_| TopicError::Random)?;
        let topic = NtfyTopic::from_random(bytes);
        match store.set_topic(user, &topic).await {
            Ok(()) => return Ok(topic),
            Err(StoreError::Conflict(_)) if attempts < 2 => attempts += 1,
            Err(StoreError::NotFound(_)) => return Err(TopicError::NotFound),
            Err(e) => return Err(TopicError::Store(e)),
        }
    }
}

/// The title of a test message.
pub const TEST_TITLE: &str = "🔔 CryptoLens Edge test";

/// The body of a channel message, derived from its row (only test messages exist so far).
fn channel_body(m: &crate::ports::notifications::ChannelMessage) -> Option<String> {
    use crate::ports::notifications::ChannelKind;
    (m.kind == ChannelKind::Test).then(|| {
        format!(
            "Notifications reach this device.\nTopic: {}\nRequested: {}",
            m.topic,
            cl_domain::signal::format_utc(m.created_at)
        )
    })
}

/// Why a test send was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestSendError {
    /// Notifications need a verified email.
    #[error("email not verified")]
    Unverified,
    /// The user is gone.
    #[error("user not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues a test message to the user's topic; the next scheduled run sends it (within a
/// minute). The caller applies the 5/h rate limit. Returns the topic.
///
/// # Errors
/// [`TestSendError`].
pub async fn queue_test_message<S: NotificationStore>(
    store: &S,
    user: UserId,
    verified: bool,
    now: i64,
) -> Result<String, TestSendError> {
    use crate::ports::notifications::{ChannelKind, NewChannelMessage};
    if !verified {
        return Err(TestSendError::Unverified);
    }
    let settings = store
        .notification_settings(user)
        .await?
        .ok_or(TestSendError::NotFound)?;
    let topic = settings.topic.as_str().to_owned();
    store
        .queue_channel(&NewChannelMessage {
            kind: ChannelKind::Test,
            topic: topic.clone(),
            title: TEST_TITLE.to_owned(),
            created_at: now,
        })
        .await?;
    Ok(topic)
}
