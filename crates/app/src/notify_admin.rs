//! Admin notifications (product.md §5 "Admin", §9 "Notifications"): templates, broadcasts with
//! an audience-count preview, scheduled sends with cancel, and the ntfy test send; plus the
//! dispatch step that sends broadcasts and due schedules from the every-minute job.
//!
//! Design:
//! - Inputs are checked ONCE into typed values ([`ContentInput::parse`], [`AudienceChoice`]),
//!   with one [`FieldIssue`] per bad field; placeholders in a title or body must be in the
//!   [`PLACEHOLDERS`] allowlist, so a typo is refused at save time, not sent as `{usr}`.
//! - Requests never send: a broadcast is queued (202 + id) and the dispatch job
//!   ([`send_broadcasts`]) turns due schedules into broadcasts, writes each broadcast's
//!   recipients once, and sends them. The "never twice" rules are store statements
//!   ([`crate::ports::broadcast_delivery`]): one delivery row per (broadcast, topic), claimed
//!   before its send, finished conditionally.
//! - An outage (breaker open, or a failed try) releases the claimed row as still queued and
//!   stops the run; the next tick resumes. A row fails for good after [`MAX_ATTEMPTS`] tries.
//! - Every admin write appends an audit row (`notify.*` actions) after the write succeeds.

use crate::jobs::maintenance::MaintenanceStore;
use crate::notify::{NotificationSender, OutgoingMessage, SendFailure};
use crate::policy::Tier;
use crate::ports::admin::{AdminStore, NewAuditEntry};
use crate::ports::broadcast_delivery::{
    topic_ok, BroadcastDeliveryStore, BroadcastState, DeliveryResult, Recipient, MAX_DELIVERY_ROWS,
};
use crate::ports::notification_admin::{
    Audience, BroadcastId, NewBroadcast, NewSchedule, NoticeBody, NoticeContent, NoticeError,
    NoticeTags, NoticeTitle, NotificationAdminStore, ScheduleId, ScheduleStatus, StoredSchedule,
    StoredTemplate, TemplateId, TemplateName, TEMPLATE_NAME_KEY,
};
use crate::ports::notifications::{
    ChannelKind, NewChannelMessage, NotificationStore, NotifyPriority,
};
use crate::ports::{StoreError, UserId};
use std::collections::BTreeSet;

/// Placeholders a title or body may use, filled at send time.
pub const PLACEHOLDERS: [&str; 4] = ["app", "date", "time", "topic"];
/// The app's name (`{app}`).
pub const APP_NAME: &str = "CryptoLens Edge";
/// Tries of one delivery before it fails for good.
pub const MAX_ATTEMPTS: u32 = 3;
/// Most topics in a custom list.
pub const MAX_TOPICS: usize = 50;
/// How long a claimed delivery stays invisible to another run (ms).
pub const CLAIM_MS: i64 = 2 * 60_000;
/// A schedule must be at least this far ahead (ms), and at most [`MAX_AHEAD_MS`].
pub const MIN_AHEAD_MS: i64 = 60_000;
/// The latest a schedule may be set (ms ahead): one year.
pub const MAX_AHEAD_MS: i64 = 366 * 86_400_000;
/// The settings key of the global topic (JSON string or null).
pub const GLOBAL_TOPIC_SETTING: &str = "notify.global_topic";

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// The request member.
    pub field: &'static str,
    /// A stable code (`invalid_length`, `unknown_placeholder`, `out_of_range`, ...).
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl FieldIssue {
    fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// Why a text's placeholders were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// `{name}` outside [`PLACEHOLDERS`].
    #[error("unknown placeholder {{{0}}}; allowed: {{app}}, {{date}}, {{time}}, {{topic}}")]
    Unknown(String),
    /// A `{` without its `}` (or a stray `}`).
    #[error("unbalanced braces")]
    Unbalanced,
}

/// Checks every `{…}` of `text` against [`PLACEHOLDERS`].
///
/// # Errors
/// [`PlaceholderError`].
pub fn check_placeholders(text: &str) -> Result<(), PlaceholderError> {
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        if rest[i..].starts_with('}') {
            return Err(PlaceholderError::Unbalanced);
        }
        let after = &rest[i + 1..];
        let end = after.find('}').ok_or(PlaceholderError::Unbalanced)?;
        let name = &after[..end];
        if name.contains('{') {
            return Err(PlaceholderError::Unbalanced);
        }
        if !PLACEHOLDERS.contains(&name) {
            return Err(PlaceholderError::Unknown(name.chars().take(32).collect()));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// What placeholders are filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext<'a> {
    /// The recipient topic.
    pub topic: &'a str,
    /// Send time (UTC ms).
    pub now: i64,
}

/// Fills the placeholders of a checked text.
pub fn render(text: &str, ctx: &RenderContext<'_>) -> String {
    let stamp = cl_domain::signal::format_utc(ctx.now);
    // `format_utc` is "dd/mm/yyyy hh:mm UTC".
    let (date, time) = stamp.split_once(' ').unwrap_or((stamp.as_str(), ""));
    let time = time.trim_end_matches(" UTC");
    text.replace("{app}", APP_NAME)
        .replace("{date}", date)
        .replace("{time}", time)
        .replace("{topic}", ctx.topic)
}

/// A checked notification content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInput(pub NoticeContent);

fn text_issue(field: &'static str, e: NoticeError) -> FieldIssue {
    FieldIssue::new(field, "invalid_length", e.to_string())
}

impl ContentInput {
    /// Checks a title, body, priority and tags (comma separated).
    ///
    /// # Errors
    /// One [`FieldIssue`] per bad field.
    pub fn parse(
        title: &str,
        body: &str,
        priority: i64,
        tags: &[String],
    ) -> Result<Self, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let mut text = |field: &'static str, v: &str| {
            if let Err(e) = check_placeholders(v) {
                issues.push(FieldIssue::new(field, "unknown_placeholder", e.to_string()));
            }
        };
        text("title", title);
        text("message", body);
        let title = NoticeTitle::parse(title)
            .map_err(|e| issues.push(text_issue("title", e)))
            .ok();
        let body = NoticeBody::parse(body)
            .map_err(|e| issues.push(text_issue("message", e)))
            .ok();
        let priority = NotifyPriority::new(priority)
            .map_err(|_| issues.push(FieldIssue::new("priority", "out_of_range", "1 to 5")))
            .ok();
        let tag_ok = |t: &String| {
            !t.is_empty()
                && t.chars().count() <= 32
                && t.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        };
        let tags = if tags.len() > 10 || !tags.iter().all(tag_ok) {
            issues.push(FieldIssue::new(
                "tags",
                "invalid_tag",
                "At most 10 tags of 1–32 letters, digits, '_' or '-'.",
            ));
            None
        } else {
            NoticeTags::parse(&tags.join(","))
                .map_err(|e| issues.push(text_issue("tags", e)))
                .ok()
        };
        match (title, body, priority, tags) {
            (Some(title), Some(body), Some(priority), Some(tags)) if issues.is_empty() => {
                Ok(Self(NoticeContent {
                    title,
                    body,
                    priority,
                    tags,
                }))
            }
            _ => Err(issues),
        }
    }
}

/// Who an admin sends to, as chosen in the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceChoice {
    /// Every active, verified user with notifications on.
    All,
    /// One tier's users.
    Tier(Tier),
    /// The global topic (admin setting).
    Global,
    /// A custom topic list (deduplicated, each `[A-Za-z0-9_-]{1,64}`).
    Topics(Vec<String>),
}

impl AudienceChoice {
    /// Parses the form's `audience` word and `topics` list.
    ///
    /// # Errors
    /// A [`FieldIssue`] on `audience` or `topics`.
    pub fn parse(word: &str, topics: &[String]) -> Result<Self, FieldIssue> {
        let choice = match word {
            "all" => Self::All,
            "free" => Self::Tier(Tier::Free),
            "pro" => Self::Tier(Tier::Pro),
            "premium" => Self::Tier(Tier::Premium),
            "global" => Self::Global,
            "topics" => {
                let set: BTreeSet<&str> = topics.iter().map(|t| t.trim()).collect();
                if set.is_empty() || set.len() > MAX_TOPICS || !set.iter().all(|t| topic_ok(t)) {
                    return Err(FieldIssue::new(
                        "topics",
                        "invalid_topic",
                        "1–50 topics of 1–64 letters, digits, '_' or '-'.",
                    ));
                }
                Self::Topics(set.into_iter().map(str::to_owned).collect())
            }
            _ => {
                return Err(FieldIssue::new(
                    "audience",
                    "invalid_choice",
                    "One of all, free, pro, premium, global, topics.",
                ))
            }
        };
        if !matches!(choice, Self::Topics(_)) && !topics.is_empty() {
            return Err(FieldIssue::new(
                "topics",
                "not_allowed",
                "Topics go with the `topics` audience only.",
            ));
        }
        Ok(choice)
    }

    /// The stored audience; the global topic is resolved now (`None` → not configured).
    fn stored(&self, global: Option<&str>) -> Option<Audience> {
        Some(match self {
            Self::All => Audience::All,
            Self::Tier(Tier::Free) => Audience::Free,
            Self::Tier(Tier::Pro) => Audience::Pro,
            Self::Tier(Tier::Premium) => Audience::Premium,
            Self::Global => Audience::Topics(global?.to_owned()),
            Self::Topics(t) => Audience::Topics(t.join(",")),
        })
    }
}

/// The global topic: the `notify.global_topic` setting, else the deployment's default.
///
/// # Errors
/// A [`StoreError`].
pub async fn global_topic<S: MaintenanceStore>(
    store: &S,
    fallback: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let set = store
        .setting(GLOBAL_TOPIC_SETTING)
        .await?
        .and_then(|raw| serde_json::from_str::<Option<String>>(&raw).ok().flatten())
        .map(|t| t.trim().to_owned())
        .filter(|t| topic_ok(t));
    Ok(set.or_else(|| fallback.filter(|t| topic_ok(t)).map(str::to_owned)))
}

/// The recipients of a stored audience at `now`, deduplicated by topic.
///
/// # Errors
/// A [`StoreError`].
pub async fn recipients<S: BroadcastDeliveryStore>(
    store: &S,
    audience: &Audience,
    now: i64,
) -> Result<Vec<Recipient>, StoreError> {
    let tier = match audience {
        Audience::All => None,
        Audience::Free => Some(Tier::Free),
        Audience::Pro => Some(Tier::Pro),
        Audience::Premium => Some(Tier::Premium),
        Audience::Topics(list) => {
            let set: BTreeSet<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|t| topic_ok(t))
                .collect();
            return Ok(set
                .into_iter()
                .map(|t| Recipient {
                    user: None,
                    topic: t.to_owned(),
                })
                .collect());
        }
    };
    store.audience_users(tier, now).await
}

/// Who an admin acts as, and where from (the audit row's columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminActor {
    /// The admin.
    pub user: UserId,
    /// Client IP.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: String,
}

impl AdminActor {
    fn entry(&self, action: &str, target: String, details: String, at: i64) -> NewAuditEntry {
        NewAuditEntry {
            actor: Some(self.user),
            action: action.to_owned(),
            target,
            details: Some(details),
            ip: self.ip.clone().map(|ip| ip.chars().take(64).collect()),
            request_id: Some(self.request_id.chars().take(64).collect()),
            at,
        }
    }
}

/// Why an admin notification action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyAdminError {
    /// Bad input (nothing was written).
    #[error("invalid input")]
    Invalid(Vec<FieldIssue>),
    /// A template with this name exists.
    #[error("template name taken")]
    NameTaken,
    /// The template, schedule or broadcast does not exist.
    #[error("not found")]
    NotFound,
    /// The schedule is no longer scheduled (sent, cancelled or failed).
    #[error("schedule no longer scheduled")]
    NotScheduled,
    /// The global topic is not configured.
    #[error("no global topic configured")]
    NoGlobalTopic,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for NotifyAdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(k) if k == TEMPLATE_NAME_KEY => Self::NameTaken,
            StoreError::NotFound("template" | "schedule" | "broadcast") => Self::NotFound,
            e => Self::Store(e),
        }
    }
}

/// The ports of the admin notification use cases.
pub trait NotifyAdminStores:
    NotificationAdminStore + BroadcastDeliveryStore + AdminStore + NotificationStore + MaintenanceStore
{
}
impl<
        T: NotificationAdminStore
            + BroadcastDeliveryStore
            + AdminStore
            + NotificationStore
            + MaintenanceStore,
    > NotifyAdminStores for T
{
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Creates or replaces a template (`id` given: replace). Audited.
///
/// # Errors
/// [`NotifyAdminError`].
pub async fn save_template<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    id: Option<TemplateId>,
    name: &str,
    content: Result<ContentInput, Vec<FieldIssue>>,
    now: i64,
) -> Result<StoredTemplate, NotifyAdminError> {
    let name = TemplateName::parse(name.trim())
        .map_err(|e| FieldIssue::new("name", "invalid_length", e.to_string()));
    let (name, ContentInput(content)) = match (name, content) {
        (Ok(n), Ok(c)) => (n, c),
        (n, c) => {
            let mut issues: Vec<FieldIssue> = n.err().into_iter().collect();
            issues.extend(c.err().unwrap_or_default());
            return Err(NotifyAdminError::Invalid(issues));
        }
    };
    let row = match id {
        None => store.create_template(&name, &content, now).await?,
        Some(id) => store.update_template(id, &name, &content, now).await?,
    };
    let action = if id.is_some() {
        "notify.template_update"
    } else {
        "notify.template_create"
    };
    store
        .append_audit(&actor.entry(
            action,
            format!("template:{}", row.id.0),
            format!("{{\"name\":{}}}", json_str(row.name.as_str())),
            now,
        ))
        .await?;
    Ok(row)
}

/// Deletes a template. Audited.
///
/// # Errors
/// [`NotifyAdminError`].
pub async fn delete_template<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    id: TemplateId,
    now: i64,
) -> Result<(), NotifyAdminError> {
    store.delete_template(id).await?;
    store
        .append_audit(&actor.entry(
            "notify.template_delete",
            format!("template:{}", id.0),
            "{}".to_owned(),
            now,
        ))
        .await?;
    Ok(())
}

/// How many recipients an audience has right now (the preview before sending).
///
/// # Errors
/// [`NotifyAdminError`] (`NoGlobalTopic`).
pub async fn audience_count<S: NotifyAdminStores>(
    store: &S,
    choice: &AudienceChoice,
    global_fallback: Option<&str>,
    now: i64,
) -> Result<u32, NotifyAdminError> {
    let global = global_topic(store, global_fallback).await?;
    let audience = choice
        .stored(global.as_deref())
        .ok_or(NotifyAdminError::NoGlobalTopic)?;
    let n = recipients(store, &audience, now).await?.len();
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A broadcast or schedule request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Recipients.
    pub audience: AudienceChoice,
    /// Content.
    pub content: NoticeContent,
    /// The template it came from (must exist).
    pub template: Option<TemplateId>,
}

fn audit_details(audience: &Audience, title: &NoticeTitle) -> String {
    format!(
        "{{\"audience\":{},\"title\":{}}}",
        json_str(audience.as_str()),
        json_str(title.as_str())
    )
}

/// Queues a broadcast (sent by the next dispatch run). Audited.
///
/// # Errors
/// [`NotifyAdminError`].
pub async fn queue_broadcast<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    req: &SendRequest,
    global_fallback: Option<&str>,
    now: i64,
) -> Result<BroadcastId, NotifyAdminError> {
    let global = global_topic(store, global_fallback).await?;
    let audience = req
        .audience
        .stored(global.as_deref())
        .ok_or(NotifyAdminError::NoGlobalTopic)?;
    let row = store
        .create_broadcast(&NewBroadcast {
            audience: audience.clone(),
            template: req.template,
            content: req.content.clone(),
            created_by: Some(actor.user),
            created_at: now,
        })
        .await?;
    store
        .append_audit(&actor.entry(
            "notify.broadcast",
            format!("broadcast:{}", row.id.0),
            audit_details(&audience, &req.content.title),
            now,
        ))
        .await?;
    Ok(row.id)
}

/// Schedules a send at `send_at` (1 minute to 1 year ahead). Audited.
///
/// # Errors
/// [`NotifyAdminError`].
pub async fn schedule<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    req: &SendRequest,
    send_at: i64,
    global_fallback: Option<&str>,
    now: i64,
) -> Result<StoredSchedule, NotifyAdminError> {
    if send_at < now.saturating_add(MIN_AHEAD_MS) || send_at > now.saturating_add(MAX_AHEAD_MS) {
        return Err(NotifyAdminError::Invalid(vec![FieldIssue::new(
            "send_at",
            "out_of_range",
            "At least one minute and at most one year ahead.",
        )]));
    }
    let global = global_topic(store, global_fallback).await?;
    let audience = req
        .audience
        .stored(global.as_deref())
        .ok_or(NotifyAdminError::NoGlobalTopic)?;
    let row = store
        .create_schedule(&NewSchedule {
            send_at,
            audience: audience.clone(),
            template: req.template,
            content: req.content.clone(),
            created_by: Some(actor.user),
            created_at: now,
        })
        .await?;
    store
        .append_audit(&actor.entry(
            "notify.schedule",
            format!("schedule:{}", row.id.0),
            audit_details(&audience, &req.content.title),
            now,
        ))
        .await?;
    Ok(row)
}

/// Cancels a scheduled send. Audited.
///
/// # Errors
/// [`NotifyAdminError`] (`NotFound`, `NotScheduled`).
pub async fn cancel_schedule<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    id: ScheduleId,
    now: i64,
) -> Result<(), NotifyAdminError> {
    if !store.cancel_schedule(id).await? {
        return Err(NotifyAdminError::NotScheduled);
    }
    store
        .append_audit(&actor.entry(
            "notify.schedule_cancel",
            format!("schedule:{}", id.0),
            "{}".to_owned(),
            now,
        ))
        .await?;
    Ok(())
}

/// The title of an admin test message.
pub const ADMIN_TEST_TITLE: &str = "🔔 CryptoLens Edge test";

/// Queues an ntfy test message to `topic` (or the global topic when `None`); the next
/// scheduled run sends it. Audited. Returns the topic.
///
/// # Errors
/// [`NotifyAdminError`] (`Invalid` topic, `NoGlobalTopic`).
pub async fn queue_admin_test<S: NotifyAdminStores>(
    store: &S,
    actor: &AdminActor,
    topic: Option<&str>,
    global_fallback: Option<&str>,
    now: i64,
) -> Result<String, NotifyAdminError> {
    let topic = match topic.map(str::trim) {
        Some(t) if topic_ok(t) => t.to_owned(),
        Some(_) => {
            return Err(NotifyAdminError::Invalid(vec![FieldIssue::new(
                "topic",
                "invalid_topic",
                "1–64 letters, digits, '_' or '-'.",
            )]))
        }
        None => global_topic(store, global_fallback)
            .await?
            .ok_or(NotifyAdminError::NoGlobalTopic)?,
    };
    store
        .queue_channel(&NewChannelMessage {
            kind: ChannelKind::Test,
            topic: topic.clone(),
            title: ADMIN_TEST_TITLE.to_owned(),
            created_at: now,
        })
        .await?;
    store
        .append_audit(&actor.entry(
            "notify.test",
            format!("topic:{topic}"),
            "{}".to_owned(),
            now,
        ))
        .await?;
    Ok(topic)
}

/// Schedules in the admin list, soonest first (all states).
///
/// # Errors
/// A [`StoreError`].
pub async fn schedules<S: NotifyAdminStores>(store: &S) -> Result<Vec<StoredSchedule>, StoreError> {
    store.schedules().await
}

/// Whether a schedule is still waiting.
pub fn is_waiting(s: &StoredSchedule) -> bool {
    s.status == ScheduleStatus::Scheduled
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// What one dispatch step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastReport {
    /// Schedules turned into broadcasts.
    pub schedules_started: u32,
    /// Deliveries sent.
    pub sent: u32,
    /// Deliveries failed for good.
    pub failed: u32,
    /// Tries left queued for the next run (outage).
    pub deferred: u32,
    /// Broadcasts finished.
    pub finished: u32,
    /// Why the run stopped early, if it did.
    pub errors: Vec<String>,
}

/// Limits of one dispatch step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastBudget {
    /// Sends per run.
    pub max_sends: u32,
    /// Broadcasts looked at per run.
    pub max_broadcasts: u32,
}

impl Default for BroadcastBudget {
    fn default() -> Self {
        Self {
            max_sends: 200,
            max_broadcasts: 10,
        }
    }
}

/// The dispatch step (every minute): due schedules → broadcasts; each open broadcast's
/// recipients written once; claimed deliveries sent. Never fails the job: errors are reported.
pub async fn send_broadcasts<S, N>(
    store: &S,
    sender: &N,
    budget: BroadcastBudget,
    now: i64,
) -> BroadcastReport
where
    S: NotificationAdminStore + BroadcastDeliveryStore,
    N: NotificationSender,
{
    let mut report = BroadcastReport::default();
    if let Err(e) = run_broadcasts(store, sender, budget, now, &mut report).await {
        report.errors.push(format!("broadcasts: {e}"));
    }
    report
}

async fn run_broadcasts<S, N>(
    store: &S,
    sender: &N,
    budget: BroadcastBudget,
    now: i64,
    report: &mut BroadcastReport,
) -> Result<(), StoreError>
where
    S: NotificationAdminStore + BroadcastDeliveryStore,
    N: NotificationSender,
{
    for s in store
        .due_schedules(now, budget.max_broadcasts.max(1))
        .await?
    {
        if store
            .start_schedule(s.id, s.new.send_at, now)
            .await?
            .is_some()
        {
            report.schedules_started += 1;
        }
    }
    let mut sends_left = budget.max_sends;
    for b in store.open_broadcasts(budget.max_broadcasts.max(1)).await? {
        if b.state == BroadcastState::Queued {
            let list = recipients(store, &b.audience, now).await?;
            for chunk in list.chunks(MAX_DELIVERY_ROWS) {
                store.queue_deliveries(b.id, chunk, now).await?;
            }
            store.mark_sending(b.id).await?;
        }
        while sends_left > 0 {
            let limit = sends_left.min(50);
            let claimed = store
                .claim_deliveries(b.id, now, now.saturating_add(CLAIM_MS), limit)
                .await?;
            if claimed.is_empty() {
                break;
            }
            for (i, d) in claimed.iter().enumerate() {
                sends_left = sends_left.saturating_sub(1);
                let ctx = RenderContext {
                    topic: &d.topic,
                    now,
                };
                let msg = OutgoingMessage {
                    topic: d.topic.clone(),
                    title: render(b.content.title.as_str(), &ctx),
                    body: render(b.content.body.as_str(), &ctx),
                    priority: b.content.priority.get(),
                    tags: b
                        .content
                        .tags
                        .as_str()
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect(),
                };
                let outcome = match sender.send(&msg).await {
                    Ok(()) => DeliveryResult::Sent,
                    Err(SendFailure::Failed(e)) if d.attempts >= MAX_ATTEMPTS => {
                        DeliveryResult::Failed(e)
                    }
                    Err(SendFailure::Failed(e) | SendFailure::Unavailable(e)) => {
                        DeliveryResult::Retry(e)
                    }
                };
                let retry = matches!(outcome, DeliveryResult::Retry(_));
                if store.finish_delivery(d.id, &outcome, now).await? {
                    match outcome {
                        DeliveryResult::Sent => report.sent += 1,
                        DeliveryResult::Failed(_) => report.failed += 1,
                        DeliveryResult::Retry(ref e) => {
                            report.deferred += 1;
                            report
                                .errors
                                .push(format!("broadcast {}: deferred: {e}", b.id.0));
                        }
                    }
                }
                if retry {
                    // The channel is failing: release the rest of the claim and stop the run.
                    for rest in &claimed[i + 1..] {
                        let why = DeliveryResult::Retry("deferred: channel failing".into());
                        if store.finish_delivery(rest.id, &why, now).await? {
                            report.deferred += 1;
                        }
                    }
                    return Ok(());
                }
            }
        }
        if store.finish_broadcast(b.id).await? {
            report.finished += 1;
        }
        if sends_left == 0 {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_come_from_the_allowlist() {
        assert!(check_placeholders("Hello from {app} on {date} at {time} ({topic})").is_ok());
        assert!(check_placeholders("no placeholders").is_ok());
        assert_eq!(
            check_placeholders("Hi {user}"),
            Err(PlaceholderError::Unknown("user".into()))
        );
        assert_eq!(
            check_placeholders("Hi {app"),
            Err(PlaceholderError::Unbalanced)
        );
        assert_eq!(
            check_placeholders("Hi app}"),
            Err(PlaceholderError::Unbalanced)
        );
        assert_eq!(
            check_placeholders("{{app}}"),
            Err(PlaceholderError::Unbalanced)
        );
    }

    #[test]
    fn render_fills_every_placeholder() {
        let ctx = RenderContext {
            topic: "cl_1",
            now: 1_704_067_200_000 + 90 * 60_000,
        };
        assert_eq!(
            render("{app}: {date} {time} → {topic}", &ctx),
            "CryptoLens Edge: 01/01/2024 01:30 → cl_1"
        );
    }

    #[test]
    fn content_reports_every_bad_field() {
        let ok = ContentInput::parse("Hi {app}", "Body", 4, &["bell".into()]);
        assert!(ok.is_ok());
        let Err(issues) = ContentInput::parse("", "{oops}", 9, &["a b".into()]) else {
            panic!("accepted");
        };
        let fields: Vec<_> = issues.iter().map(|i| (i.field, i.code)).collect();
        assert_eq!(
            fields,
            [
                ("message", "unknown_placeholder"),
                ("title", "invalid_length"),
                ("priority", "out_of_range"),
                ("tags", "invalid_tag")
            ]
        );
    }

    #[test]
    fn audience_words_and_topics() {
        assert_eq!(AudienceChoice::parse("all", &[]), Ok(AudienceChoice::All));
        assert_eq!(
            AudienceChoice::parse("pro", &[]),
            Ok(AudienceChoice::Tier(Tier::Pro))
        );
        assert_eq!(
            AudienceChoice::parse("topics", &["b".into(), "a".into(), "b".into()]),
            Ok(AudienceChoice::Topics(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            AudienceChoice::parse("topics", &[]).map_err(|e| e.field),
            Err("topics")
        );
        assert_eq!(
            AudienceChoice::parse("topics", &["a/b".into()]).map_err(|e| e.code),
            Err("invalid_topic")
        );
        assert_eq!(
            AudienceChoice::parse("admins", &[]).map_err(|e| e.field),
            Err("audience")
        );
        assert_eq!(
            AudienceChoice::parse("all", &["x".into()]).map_err(|e| e.code),
            Err("not_allowed")
        );
        assert_eq!(AudienceChoice::Global.stored(None), None);
    }
}
