//! The notification ports (product.md §5, §10): a user's notification preferences and ntfy
//! topic (columns of `users`), per-symbol toggles (`user_symbol_preferences`), the ONE
//! eligibility query of a signal, and the `user_notifications` delivery rows.
//!
//! Design:
//! - Preference values are newtypes with private fields and typed parse errors, so a stored
//!   row or an API body is checked once at the edge.
//! - The tier rules stay in [`crate::policy`]: [`EligibilityQuery::for_signal`] turns the
//!   limits table into, per tier, "does this tier cover the symbol and pattern type" and "what
//!   is its daily cap"; the adapters only evaluate those flags next to the subscription rules of
//!   §1 (validity with the 3-day grace, `cancelled` without grace, `suspended` never, admins =
//!   premium) inside ONE statement. The contract pins the SQL against the policy module.
//! - Deliveries are insert-if-absent on `(user, signal)`; every status change is conditional on
//!   `status = 'queued'`, so a row is finished at most once. [`NotificationStore::claim_notifications`]
//!   moves `deliver_at` forward as a short lease before a send, so two dispatchers that race
//!   (the job lease normally prevents that) never both send the same row; a run that dies
//!   mid-send leaves the row queued and it is retried after the lease.

use super::{exact_int, SignalId, SignalStatus, StoreError, StoredSignal, SymbolId, UserId};
use crate::policy::{Limits, Quota, Tier};
use cl_domain::{Direction, PatternType, Timeframe};
use std::fmt;

/// One UTC day in ms.
pub const DAY_MS: i64 = 86_400_000;

/// Start of the UTC day containing `ms`.
pub fn utc_day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

/// Minute of the UTC day (0..1440) of `ms`.
pub fn utc_minute_of_day(ms: i64) -> u16 {
    u16::try_from(ms.rem_euclid(DAY_MS) / 60_000).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Preference values
// ---------------------------------------------------------------------------------------------

/// Why a preference value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrefError {
    /// Not `cl_` followed by 16 lower-case hex characters.
    #[error("topic must be cl_ followed by 16 lower-case hex characters")]
    Topic,
    /// Not `both`, `long` or `short`.
    #[error("directions must be both, long or short")]
    Directions,
    /// Outside 1..=7.
    #[error("min confluence must be between 1 and 7")]
    MinConfluence,
    /// Outside 1..=5.
    #[error("priority must be between 1 and 5")]
    Priority,
    /// A minute outside 0..=1439, or start equal to end.
    #[error("quiet hours must be two different minutes of the day (0-1439)")]
    QuietHours,
}

/// A user's ntfy topic: `cl_` + 16 lower-case hex characters. It is a capability (whoever
/// knows it reads the user's notifications), so `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct NtfyTopic(String);

impl NtfyTopic {
    /// Parses a stored or submitted topic.
    ///
    /// # Errors
    /// [`PrefError::Topic`].
    pub fn parse(s: &str) -> Result<Self, PrefError> {
        let ok = s.len() == 19
            && s.starts_with("cl_")
            && s[3..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PrefError::Topic)
        }
    }

    /// A topic from 8 random bytes.
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("cl_{hex}"))
    }

    /// The topic text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NtfyTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NtfyTopic(..)")
    }
}

/// Which signal directions a user wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectionPref {
    /// Long and short (the default).
    #[default]
    Both,
    /// Long only.
    Long,
    /// Short only.
    Short,
}

impl DirectionPref {
    /// Every preference (the OpenAPI document lists these).
    pub const ALL: [DirectionPref; 3] = [Self::Both, Self::Long, Self::Short];

    /// The stored / API word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Both => "both",
            Self::Long => "long",
            Self::Short => "short",
        }
    }

    /// Parses the stored / API word.
    ///
    /// # Errors
    /// [`PrefError::Directions`].
    pub fn parse(s: &str) -> Result<Self, PrefError> {
        match s {
            "both" => Ok(Self::Both),
            "long" => Ok(Self::Long),
            "short" => Ok(Self::Short),
            _ => Err(PrefError::Directions),
        }
    }

    /// Whether a signal of this direction is wanted.
    pub fn allows(self, direction: Direction) -> bool {
        match self {
            Self::Both => true,
            Self::Long => direction == Direction::Bullish,
            Self::Short => direction == Direction::Bearish,
        }
    }
}

/// The least confluence a user wants notified (1..=7, default 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinConfluence(u8);

impl MinConfluence {
    /// Checks the range.
    ///
    /// # Errors
    /// [`PrefError::MinConfluence`].
    pub fn new(v: i64) -> Result<Self, PrefError> {
        u8::try_from(v)
            .ok()
            .filter(|v| (1..=7).contains(v))
            .map(Self)
            .ok_or(PrefError::MinConfluence)
    }

    /// The value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for MinConfluence {
    fn default() -> Self {
        Self(2)
    }
}

/// ntfy priority 1..=5 (default 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyPriority(u8);

impl NotifyPriority {
    /// Checks the range.
    ///
    /// # Errors
    /// [`PrefError::Priority`].
    pub fn new(v: i64) -> Result<Self, PrefError> {
        u8::try_from(v)
            .ok()
            .filter(|v| (1..=5).contains(v))
            .map(Self)
            .ok_or(PrefError::Priority)
    }

    /// The value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for NotifyPriority {
    fn default() -> Self {
        Self(4)
    }
}

/// Quiet hours as UTC minutes of the day, `[start, end)`; wraps midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: u16,
    end: u16,
}

impl QuietHours {
    /// Checks both minutes (0..=1439) and that they differ.
    ///
    /// # Errors
    /// [`PrefError::QuietHours`].
    pub fn new(start: i64, end: i64) -> Result<Self, PrefError> {
        let minute = |v: i64| {
            u16::try_from(v)
                .ok()
                .filter(|v| *v < 1440)
                .ok_or(PrefError::QuietHours)
        };
        let (start, end) = (minute(start)?, minute(end)?);
        if start == end {
            return Err(PrefError::QuietHours);
        }
        Ok(Self { start, end })
    }

    /// Start minute.
    pub const fn start(self) -> u16 {
        self.start
    }

    /// End minute (exclusive).
    pub const fn end(self) -> u16 {
        self.end
    }

    /// Whether `minute` of the UTC day is quiet.
    pub fn contains(self, minute: u16) -> bool {
        if self.start < self.end {
            self.start <= minute && minute < self.end
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// A user's notification preferences (columns of `users`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationPrefs {
    /// Notifications on at all.
    pub enabled: bool,
    /// Wanted directions.
    pub directions: DirectionPref,
    /// Least confluence.
    pub min_confluence: MinConfluence,
    /// ntfy priority.
    pub priority: NotifyPriority,
    /// Quiet hours (UTC), off when `None`.
    pub quiet: Option<QuietHours>,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        Self {
            enabled: true,
            directions: DirectionPref::Both,
            min_confluence: MinConfluence::default(),
            priority: NotifyPriority::default(),
            quiet: None,
        }
    }
}

/// A user's topic and preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    /// The ntfy topic.
    pub topic: NtfyTopic,
    /// The preferences.
    pub prefs: NotificationPrefs,
}

/// A stored per-symbol toggle (a symbol without a row is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolNotifyPref {
    /// The symbol.
    pub symbol: SymbolId,
    /// Notifications for it.
    pub notify: bool,
}

// ---------------------------------------------------------------------------------------------
// Eligibility
// ---------------------------------------------------------------------------------------------

/// What one tier allows for a given signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierRule {
    /// The tier covers the signal's symbol and its source pattern's type.
    pub covers: bool,
    /// Successful sends per UTC day; `None` = unlimited.
    pub daily_cap: Option<u32>,
}

impl TierRule {
    /// The rule of `tier` for a signal of `symbol` from a `pattern_type` pattern (`None`: the
    /// source pattern is unknown, so only tiers that see every type cover it).
    pub fn of(tier: Tier, symbol: &str, pattern_type: Option<PatternType>) -> Self {
        let limits = Limits::for_tier(tier);
        let types_ok = match pattern_type {
            Some(ty) => limits.allows_pattern_type(ty),
            None => PatternType::ALL
                .iter()
                .all(|t| limits.allows_pattern_type(*t)),
        };
        Self {
            covers: limits.symbols.allows(symbol) && types_ok,
            daily_cap: match limits.notifications_per_day {
                Quota::Limited(n) => Some(n),
                Quota::Unlimited => None,
            },
        }
    }

    /// Whether a user of this tier with `sent_today` successful sends may get one more.
    pub fn allows_another(self, sent_today: u32) -> bool {
        self.covers && self.daily_cap.is_none_or(|cap| sent_today < cap)
    }
}

/// The inputs of the ONE eligibility query of a signal (product.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityQuery {
    /// The signal's symbol.
    pub symbol: SymbolId,
    /// Its direction.
    pub direction: Direction,
    /// Its confluence score (0..=7).
    pub confluence: u8,
    /// Minute of the UTC day of the signal time (quiet hours).
    pub signal_minute: u16,
    /// "now" for subscription validity.
    pub now: i64,
    /// Start of the current UTC day (daily cap).
    pub day_start: i64,
    /// Free tier's rule.
    pub free: TierRule,
    /// Pro tier's rule.
    pub pro: TierRule,
    /// Premium tier's rule (admins count as premium).
    pub premium: TierRule,
}

impl EligibilityQuery {
    /// The query for a signal, with the tier rules from the policy's limits table.
    #[allow(clippy::too_many_arguments)]
    pub fn for_signal(
        symbol: SymbolId,
        symbol_name: &str,
        pattern_type: Option<PatternType>,
        direction: Direction,
        confluence: u8,
        signal_at: i64,
        now: i64,
    ) -> Self {
        Self {
            symbol,
            direction,
            confluence,
            signal_minute: utc_minute_of_day(signal_at),
            now,
            day_start: utc_day_start(now),
            free: TierRule::of(Tier::Free, symbol_name, pattern_type),
            pro: TierRule::of(Tier::Pro, symbol_name, pattern_type),
            premium: TierRule::of(Tier::Premium, symbol_name, pattern_type),
        }
    }

    /// The rule of a tier.
    pub fn rule(&self, tier: Tier) -> TierRule {
        match tier {
            Tier::Free => self.free,
            Tier::Pro => self.pro,
            Tier::Premium => self.premium,
        }
    }

    /// Checks the integers every adapter stores exactly.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("symbol id", self.symbol.0)?;
        exact_int("now", self.now)?;
        exact_int("day_start", self.day_start)?;
        if self.confluence > 7 || self.signal_minute >= 1440 {
            return Err(StoreError::Invalid(
                "confluence or minute out of range".into(),
            ));
        }
        Ok(())
    }
}

impl EligibilityQuery {
    /// Checks a batch for [`NotificationStore::eligible_users_many`]: every query valid, and
    /// one `now` and `day_start` for all (the statement binds them once).
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate_many(qs: &[EligibilityQuery]) -> Result<(), StoreError> {
        for q in qs {
            q.validate()?;
        }
        match qs.first() {
            Some(first)
                if qs
                    .iter()
                    .any(|q| q.now != first.now || q.day_start != first.day_start) =>
            {
                Err(StoreError::Invalid(
                    "eligibility queries of one batch differ in now or day_start".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// What a message about a signal needs, read for many signals in one statement
/// ([`NotificationStore::notify_contexts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyContext {
    /// The stored signal.
    pub signal: StoredSignal,
    /// Its symbol's canonical name.
    pub symbol: String,
    /// Its source pattern's type.
    pub pattern_type: PatternType,
    /// Its source pattern's TF.
    pub pattern_tf: Timeframe,
    /// The symbol's newest stored 1m close, if any.
    pub last_close: Option<f64>,
}

/// A subscriber the eligibility query selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleUser {
    /// The user.
    pub user: UserId,
    /// Their topic.
    pub topic: NtfyTopic,
    /// Their priority.
    pub priority: NotifyPriority,
    /// Their effective tier at `now`.
    pub tier: Tier,
    /// Successful sends since the start of the UTC day.
    pub sent_today: u32,
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

/// Id of a row of `user_notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserNotificationId(pub i64);

/// Status of a delivery row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for `deliver_at`.
    Queued,
    /// ntfy accepted it.
    Sent,
    /// Sending failed (after the client's retries).
    Failed,
    /// Not sent: cap reached, signal ended, notifications turned off meanwhile.
    Skipped,
}

impl DeliveryStatus {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        match s {
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            "skipped" => Ok(Self::Skipped),
            other => Err(cl_domain::UnknownVariant {
                kind: "delivery status",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

/// A delivery to queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUserNotification {
    /// Recipient.
    pub user: UserId,
    /// The signal.
    pub signal: SignalId,
    /// Not before (signal time, + 10 min for free).
    pub deliver_at: i64,
    /// Now.
    pub created_at: i64,
}

/// A stored delivery row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUserNotification {
    /// Its id.
    pub id: UserNotificationId,
    /// Recipient.
    pub user: UserId,
    /// The signal.
    pub signal: SignalId,
    /// Status.
    pub status: DeliveryStatus,
    /// Not before.
    pub deliver_at: i64,
    /// When it was sent.
    pub sent_at: Option<i64>,
    /// Claims so far.
    pub attempts: u32,
    /// The error or skip reason.
    pub error: Option<String>,
}

/// A queued delivery that is due, with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotification {
    /// The row.
    pub id: UserNotificationId,
    /// Recipient.
    pub user: UserId,
    /// The signal.
    pub signal: SignalId,
    /// The signal's current status (an ended signal is skipped).
    pub signal_status: SignalStatus,
    /// The recipient's topic.
    pub topic: NtfyTopic,
    /// Their priority.
    pub priority: NotifyPriority,
    /// Their notifications are still on.
    pub enabled: bool,
    /// Their tier at `now` (the cap is re-checked at send time).
    pub tier: Tier,
    /// Their successful sends since the start of the UTC day.
    pub sent_today: u32,
}

/// The final outcome of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// ntfy accepted it at this time.
    Sent {
        /// UTC ms.
        at: i64,
    },
    /// Sending failed.
    Failed {
        /// UTC ms.
        at: i64,
        /// Why (for logs and the admin view; no secrets).
        error: String,
    },
    /// Not sent.
    Skipped {
        /// UTC ms.
        at: i64,
        /// Why.
        reason: String,
    },
}

/// Longest stored error text.
pub const MAX_DELIVERY_ERROR: usize = 500;

impl DeliveryOutcome {
    /// The stored status, time and text.
    pub fn parts(&self) -> (DeliveryStatus, i64, Option<String>) {
        let clip = |s: &str| s.chars().take(MAX_DELIVERY_ERROR).collect::<String>();
        match self {
            Self::Sent { at } => (DeliveryStatus::Sent, *at, None),
            Self::Failed { at, error } => (DeliveryStatus::Failed, *at, Some(clip(error))),
            Self::Skipped { at, reason } => (DeliveryStatus::Skipped, *at, Some(clip(reason))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Channel deliveries (`notifications`): test sends, broadcasts, scheduled and global-topic
// messages, queued with their text and sent by the scheduled run
// ---------------------------------------------------------------------------------------------

/// Id of a row of `notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelMessageId(pub i64);

/// Why a channel message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// The global topic (every signal).
    Firehose,
    /// An admin broadcast.
    Broadcast,
    /// A scheduled notification.
    Scheduled,
    /// A user's test send.
    Test,
}

impl ChannelKind {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Firehose => "firehose",
            Self::Broadcast => "broadcast",
            Self::Scheduled => "scheduled",
            Self::Test => "test",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        [Self::Firehose, Self::Broadcast, Self::Scheduled, Self::Test]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| cl_domain::UnknownVariant {
                kind: "channel kind",
                value: s.chars().take(32).collect(),
            })
    }
}

/// A channel message to queue. Its text is derived when it is sent (a test message from its
/// topic and time), so the row holds only what `notifications` has columns for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannelMessage {
    /// Why.
    pub kind: ChannelKind,
    /// The ntfy topic (`[A-Za-z0-9_-]`, 1–64).
    pub topic: String,
    /// Title.
    pub title: String,
    /// Now (also when it becomes due).
    pub created_at: i64,
}

impl NewChannelMessage {
    /// Checks what every adapter stores.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        let topic_ok = !self.topic.is_empty()
            && self.topic.len() <= 64
            && self
                .topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !topic_ok || self.title.chars().count() > 250 {
            return Err(StoreError::Invalid("topic or title not storable".into()));
        }
        exact_int("created_at", self.created_at)?;
        Ok(())
    }
}

/// A queued channel message that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The row.
    pub id: ChannelMessageId,
    /// Why.
    pub kind: ChannelKind,
    /// The ntfy topic.
    pub topic: String,
    /// Title.
    pub title: String,
    /// When it was queued.
    pub created_at: i64,
    /// The priority of the user owning the topic (3 when no user owns it).
    pub priority: NotifyPriority,
}

/// Most rows one claim or due read handles (D1 binds at most 100 parameters).
pub const MAX_DELIVERY_BATCH: u32 = 50;

/// The notification tables and the notification columns of `users`.
#[allow(async_fn_in_trait)]
pub trait NotificationStore {
    /// A user's topic and preferences.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn notification_settings(
        &self,
        user: UserId,
    ) -> Result<Option<NotificationSettings>, StoreError>;

    /// Replaces a user's preferences.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"user"`); `Unavailable`.
    async fn set_notification_prefs(
        &self,
        user: UserId,
        prefs: &NotificationPrefs,
    ) -> Result<(), StoreError>;

    /// Replaces a user's topic.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (`"users.ntfy_topic"`); [`StoreError::NotFound`] (`"user"`).
    async fn set_topic(&self, user: UserId, topic: &NtfyTopic) -> Result<(), StoreError>;

    /// The user's stored per-symbol toggles, by symbol id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn symbol_prefs(&self, user: UserId) -> Result<Vec<SymbolNotifyPref>, StoreError>;

    /// Upserts one per-symbol toggle.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"user"` or `"symbol"`); `Unavailable`.
    async fn set_symbol_notify(
        &self,
        user: UserId,
        symbol: SymbolId,
        notify: bool,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The users to notify of a signal, by user id, in ONE statement (module docs).
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn eligible_users(&self, q: &EligibilityQuery) -> Result<Vec<EligibleUser>, StoreError>;

    /// [`NotificationStore::eligible_users`] of several signals in ONE statement, whatever
    /// their number (issue #7: a run's fan-out does not grow with its signals): one list per
    /// query, in query order.
    ///
    /// # Errors
    /// `Invalid` ([`EligibilityQuery::validate_many`]); `Unavailable` or `Corrupt`.
    async fn eligible_users_many(
        &self,
        qs: &[EligibilityQuery],
    ) -> Result<Vec<Vec<EligibleUser>>, StoreError>;

    /// The [`NotifyContext`] of each id whose signal, source pattern and symbol exist (others
    /// are left out), by signal id, in ONE statement.
    ///
    /// # Errors
    /// `Invalid` (an id beyond 2^53); `Unavailable` or `Corrupt`.
    async fn notify_contexts(&self, ids: &[SignalId]) -> Result<Vec<NotifyContext>, StoreError>;

    /// Inserts the rows absent on `(user, signal)` as `queued`, atomically; returns how many
    /// were new.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"user"`/`"signal"`); `Invalid`; `Unavailable`.
    async fn queue_notifications(&self, rows: &[NewUserNotification]) -> Result<u64, StoreError>;

    /// Queued rows with `deliver_at <= now`, oldest first, at most `limit`, in ONE statement.
    ///
    /// # Errors
    /// `Invalid` (limit 0 or above [`MAX_DELIVERY_BATCH`]); `Unavailable` or `Corrupt`.
    async fn due_notifications(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError>;

    /// Claims due queued rows for sending: sets `deliver_at = until` and counts an attempt
    /// where the row is still queued and due at `now`; returns the ids claimed. ONE statement.
    ///
    /// # Errors
    /// `Invalid` (more than [`MAX_DELIVERY_BATCH`] ids); `Unavailable`.
    async fn claim_notifications(
        &self,
        ids: &[UserNotificationId],
        now: i64,
        until: i64,
    ) -> Result<Vec<UserNotificationId>, StoreError>;

    /// Finishes a queued row (`queued → sent|failed|skipped`); false when it was not queued.
    ///
    /// # Errors
    /// `Invalid` (outcome `Queued` impossible by type; times); `Unavailable`.
    async fn finish_notification(
        &self,
        id: UserNotificationId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError>;

    /// Marks a pending signal `notified` at `at` (first successful send); false otherwise.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn mark_signal_notified(&self, signal: SignalId, at: i64) -> Result<bool, StoreError>;

    /// The delivery rows of a signal, by user id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn notifications_of_signal(
        &self,
        signal: SignalId,
    ) -> Result<Vec<StoredUserNotification>, StoreError>;

    /// Successful sends of a user with `sent_at >= since`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn sent_since(&self, user: UserId, since: i64) -> Result<u32, StoreError>;

    /// Queues one channel message (`status = 'queued'`, due at once) and returns its id.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn queue_channel(&self, new: &NewChannelMessage) -> Result<ChannelMessageId, StoreError>;

    /// Queued channel messages created at or before `now`, oldest first, at most `limit`,
    /// with the priority of the topic's user, in ONE statement. No claim: channel messages are
    /// sent inside the job's lease, and finishing is conditional.
    ///
    /// # Errors
    /// `Invalid` (limit 0 or above [`MAX_DELIVERY_BATCH`]); `Unavailable` or `Corrupt`.
    async fn due_channel(&self, now: i64, limit: u32) -> Result<Vec<ChannelMessage>, StoreError>;

    /// Finishes a queued channel message; false when it was not queued.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn finish_channel(
        &self,
        id: ChannelMessageId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError>;
}

/// The effective tier from a stored subscription row's words, as [`crate::policy`] decides it;
/// adapters that evaluate it in code (the memory store) use this.
pub fn tier_of(is_admin: bool, sub: Option<&crate::policy::Subscription>, now: i64) -> Tier {
    if is_admin {
        Tier::Premium
    } else {
        crate::policy::subscription_tier(sub, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_cl_and_16_hex() {
        assert!(NtfyTopic::parse("cl_0123456789abcdef").is_ok());
        for bad in [
            "cl_0123456789ABCDEF",
            "cl_0123",
            "xx_0123456789abcdef",
            "cl_0123456789abcdeg",
        ] {
            assert_eq!(NtfyTopic::parse(bad), Err(PrefError::Topic), "{bad}");
        }
        let t = NtfyTopic::from_random([0xab; 8]);
        assert_eq!(t.as_str(), "cl_abababababababab");
        assert!(NtfyTopic::parse(t.as_str()).is_ok());
        assert!(!format!("{t:?}").contains("abab"));
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let night = QuietHours::new(22 * 60, 6 * 60).unwrap_or_else(|e| panic!("{e}"));
        assert!(night.contains(23 * 60));
        assert!(night.contains(0));
        assert!(!night.contains(6 * 60));
        assert!(!night.contains(12 * 60));
        let day = QuietHours::new(60, 120).unwrap_or_else(|e| panic!("{e}"));
        assert!(day.contains(60) && day.contains(119) && !day.contains(120));
        assert_eq!(QuietHours::new(5, 5), Err(PrefError::QuietHours));
        assert_eq!(QuietHours::new(0, 1440), Err(PrefError::QuietHours));
    }

    #[test]
    fn ranges_are_checked() {
        assert!(MinConfluence::new(0).is_err() && MinConfluence::new(8).is_err());
        assert_eq!(MinConfluence::new(7).map(MinConfluence::get), Ok(7));
        assert!(NotifyPriority::new(0).is_err() && NotifyPriority::new(6).is_err());
        assert_eq!(DirectionPref::parse("long"), Ok(DirectionPref::Long));
        assert!(DirectionPref::Short.allows(Direction::Bearish));
        assert!(!DirectionPref::Short.allows(Direction::Bullish));
    }

    #[test]
    fn tier_rules_follow_the_limits_table() {
        let free_ob = TierRule::of(Tier::Free, "BTC/USDT", Some(PatternType::OrderBlock));
        assert!(!free_ob.covers);
        let free_fvg = TierRule::of(Tier::Free, "BTC/USDT", Some(PatternType::Imbalance));
        assert!(free_fvg.covers && free_fvg.daily_cap == Some(1));
        assert!(!TierRule::of(Tier::Free, "ETH/USDT", Some(PatternType::Imbalance)).covers);
        assert!(!TierRule::of(Tier::Pro, "DOGE/USDT", Some(PatternType::Imbalance)).covers);
        let premium = TierRule::of(Tier::Premium, "DOGE/USDT", None);
        assert!(premium.covers && premium.daily_cap.is_none());
        assert!(free_fvg.allows_another(0) && !free_fvg.allows_another(1));
        assert_eq!(utc_day_start(DAY_MS * 3 + 5), DAY_MS * 3);
        assert_eq!(utc_minute_of_day(DAY_MS + 61 * 60_000), 61);
    }
}
