//! The admin notification port (product.md §9, §10): reusable templates, broadcasts and
//! scheduled sends (`notification_templates`, `broadcast_notifications`,
//! `scheduled_notifications`).
//!
//! Design:
//! - Every text the admin types is a newtype checked once ([`TemplateName`], [`NoticeTitle`],
//!   [`NoticeBody`], [`NoticeTags`]); the priority reuses [`NotifyPriority`] (1..=5).
//! - A template name is unique: a second one is `Conflict(`[`TEMPLATE_NAME_KEY`]`)`.
//! - A broadcast is created queued (all counts 0) and finished by
//!   [`NotificationAdminStore::mark_broadcast_sent`], conditional on still being queued, so a
//!   second mark (a retried dispatcher) is a no-op that answers `false`.
//! - A schedule is due when `scheduled` and `send_at <= now`. [`NotificationAdminStore::claim_schedule`]
//!   is a compare-and-set on `(status = scheduled, send_at = expected)`: of two runs that read
//!   the same due row, one wins. A repeating schedule is claimed with its next time (the row
//!   stays `scheduled` and moves forward); the table has no repeat column, so the repeat rule
//!   lives with the caller (see docs/storage.md).

use super::{exact_int, Page, PageRequest, StoreError, UserId};
use crate::ports::notifications::NotifyPriority;

/// The `Conflict` key of a duplicate template name.
pub const TEMPLATE_NAME_KEY: &str = "notification_templates.name";

/// Why an admin notification value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// Empty or longer than 50 characters.
    #[error("template name must be 1-50 characters")]
    Name,
    /// Empty or longer than [`NoticeTitle::MAX`] characters.
    #[error("title must be 1-100 characters")]
    Title,
    /// Empty or longer than [`NoticeBody::MAX`] characters.
    #[error("body must be 1-1000 characters")]
    Body,
    /// Longer than [`NoticeTags::MAX`] characters or holding control characters.
    #[error("tags must be at most 200 characters")]
    Tags,
    /// Not one of `all`, `free`, `pro`, `premium`, `topics`, or `topics` without topics.
    #[error("audience must be all, free, pro, premium or topics (with topics)")]
    Audience,
}

fn bounded(
    s: &str,
    max: usize,
    allow_empty: bool,
    err: NoticeError,
) -> Result<String, NoticeError> {
    let n = s.chars().count();
    if (n == 0 && !allow_empty) || n > max || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(err);
    }
    Ok(s.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $max:expr, $empty:expr, $err:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX: usize = $max;

            /// Checks the length (and no control characters but `\n`).
            ///
            /// # Errors
            /// The matching [`NoticeError`].
            pub fn parse(s: &str) -> Result<Self, NoticeError> {
                bounded(s, Self::MAX, $empty, $err).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(
    /// A template's unique name (1..=50 characters).
    TemplateName, 50, false, NoticeError::Name
);
text_value!(
    /// A notification title (1..=100 characters).
    NoticeTitle, 100, false, NoticeError::Title
);
text_value!(
    /// A notification body (1..=1000 characters).
    NoticeBody, 1000, false, NoticeError::Body
);
text_value!(
    /// ntfy tags, comma separated (0..=200 characters).
    NoticeTags, 200, true, NoticeError::Tags
);

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContent {
    /// Title.
    pub title: NoticeTitle,
    /// Body.
    pub body: NoticeBody,
    /// ntfy priority.
    pub priority: NotifyPriority,
    /// ntfy tags.
    pub tags: NoticeTags,
}

/// Who a broadcast or schedule goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every user with notifications on.
    All,
    /// Free tier only.
    Free,
    /// Pro tier only.
    Pro,
    /// Premium tier only.
    Premium,
    /// The listed ntfy topics (comma separated, non-empty).
    Topics(String),
}

impl Audience {
    /// The stored word.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Premium => "premium",
            Self::Topics(_) => "topics",
        }
    }

    /// The `topics` column.
    pub fn topics(&self) -> Option<&str> {
        match self {
            Self::Topics(t) => Some(t),
            _ => None,
        }
    }

    /// Parses the stored word and `topics` column.
    ///
    /// # Errors
    /// [`NoticeError::Audience`].
    pub fn parse(word: &str, topics: Option<&str>) -> Result<Self, NoticeError> {
        match (word, topics) {
            ("all", _) => Ok(Self::All),
            ("free", _) => Ok(Self::Free),
            ("pro", _) => Ok(Self::Pro),
            ("premium", _) => Ok(Self::Premium),
            ("topics", Some(t)) if !t.trim().is_empty() && t.chars().count() <= 2000 => {
                Ok(Self::Topics(t.to_owned()))
            }
            _ => Err(NoticeError::Audience),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/// Id of a row of `notification_templates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TemplateId(pub i64);

/// Id of a row of `broadcast_notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BroadcastId(pub i64);

/// Id of a row of `scheduled_notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduleId(pub i64);

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    /// Id.
    pub id: TemplateId,
    /// Unique name.
    pub name: TemplateName,
    /// Content.
    pub content: NoticeContent,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A broadcast to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBroadcast {
    /// Recipients.
    pub audience: Audience,
    /// The template it came from.
    pub template: Option<TemplateId>,
    /// Content.
    pub content: NoticeContent,
    /// The admin.
    pub created_by: Option<UserId>,
    /// Now.
    pub created_at: i64,
}

impl NewBroadcast {
    /// Checks the integers every adapter stores exactly.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        check_refs(self.template, self.created_by, self.created_at)
    }
}

fn check_refs(
    template: Option<TemplateId>,
    by: Option<UserId>,
    created_at: i64,
) -> Result<(), StoreError> {
    exact_int("created_at", created_at)?;
    if let Some(t) = template {
        exact_int("template id", t.0)?;
    }
    if let Some(u) = by {
        exact_int("user id", u.0)?;
    }
    Ok(())
}

/// Delivery counts of a sent broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BroadcastCounts {
    /// Users selected.
    pub recipients: u32,
    /// Accepted by ntfy.
    pub sent: u32,
    /// Failed.
    pub failed: u32,
}

/// A stored broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBroadcast {
    /// Id.
    pub id: BroadcastId,
    /// The creation values.
    pub new: NewBroadcast,
    /// The counts (all 0 while queued).
    pub counts: BroadcastCounts,
}

/// State of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleStatus {
    /// Waiting for `send_at`.
    Scheduled,
    /// Claimed for its (last) send.
    Sent,
    /// Cancelled by an admin.
    Cancelled,
    /// The send failed.
    Failed,
}

impl ScheduleStatus {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        match s {
            "scheduled" => Ok(Self::Scheduled),
            "sent" => Ok(Self::Sent),
            "cancelled" => Ok(Self::Cancelled),
            "failed" => Ok(Self::Failed),
            other => Err(cl_domain::UnknownVariant {
                kind: "schedule status",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

/// A schedule to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// First due time.
    pub send_at: i64,
    /// Recipients.
    pub audience: Audience,
    /// The template it came from.
    pub template: Option<TemplateId>,
    /// Content.
    pub content: NoticeContent,
    /// The admin.
    pub created_by: Option<UserId>,
    /// Now.
    pub created_at: i64,
}

impl NewSchedule {
    /// Checks the integers every adapter stores exactly.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("scheduled_notifications.send_at", self.send_at)?;
        check_refs(self.template, self.created_by, self.created_at)
    }
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    /// Id.
    pub id: ScheduleId,
    /// The creation values (`send_at` is the current due time).
    pub new: NewSchedule,
    /// State.
    pub status: ScheduleStatus,
    /// Last claim time.
    pub sent_at: Option<i64>,
}

/// How a due schedule is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleClaim {
    /// The `send_at` the caller read (compare-and-set).
    pub expected_send_at: i64,
    /// Now.
    pub now: i64,
    /// For a repeating schedule, its next due time (> `expected_send_at`): the row stays
    /// scheduled. `None`: the row becomes `sent`.
    pub next_send_at: Option<i64>,
}

impl ScheduleClaim {
    /// Checks the integers and that a repeat moves forward.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("scheduled_notifications.send_at", self.expected_send_at)?;
        exact_int("now", self.now)?;
        if let Some(next) = self.next_send_at {
            exact_int("scheduled_notifications.send_at", next)?;
            if next <= self.expected_send_at {
                return Err(StoreError::Invalid(
                    "a repeat must move send_at forward".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The admin lists' page check and `limit + 1` page builder (one copy, in [`super::admin`]).
pub use super::admin::{page_of, validate_page as check_page};

/// The admin notification tables.
#[allow(async_fn_in_trait)]
pub trait NotificationAdminStore {
    /// Creates a template.
    ///
    /// # Errors
    /// `Conflict(TEMPLATE_NAME_KEY)`; `Invalid`; `Unavailable`.
    async fn create_template(
        &self,
        name: &TemplateName,
        content: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError>;

    /// One template.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn template(&self, id: TemplateId) -> Result<Option<StoredTemplate>, StoreError>;

    /// Every template, by name.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError>;

    /// Replaces a template's name and content.
    ///
    /// # Errors
    /// `NotFound("template")`; `Conflict(TEMPLATE_NAME_KEY)`; `Invalid`; `Unavailable`.
    async fn update_template(
        &self,
        id: TemplateId,
        name: &TemplateName,
        content: &NoticeContent,
        now: i64,
    ) -> Result<StoredTemplate, StoreError>;

    /// Deletes a template (broadcasts and schedules keep their copy of the content).
    ///
    /// # Errors
    /// `NotFound("template")`; `Unavailable`.
    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError>;

    /// Queues a broadcast.
    ///
    /// # Errors
    /// `NotFound("template" | "user")`; `Invalid`; `Unavailable`.
    async fn create_broadcast(&self, new: &NewBroadcast) -> Result<StoredBroadcast, StoreError>;

    /// Broadcasts newest first (`created_at` desc, then id desc), in keyset pages.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn broadcasts(&self, page: PageRequest) -> Result<Page<StoredBroadcast>, StoreError>;

    /// Records the counts of a queued broadcast; `false` when it was already marked.
    ///
    /// # Errors
    /// `NotFound("broadcast")`; `Unavailable`.
    async fn mark_broadcast_sent(
        &self,
        id: BroadcastId,
        counts: BroadcastCounts,
    ) -> Result<bool, StoreError>;

    /// Creates a scheduled send.
    ///
    /// # Errors
    /// `NotFound("template" | "user")`; `Invalid`; `Unavailable`.
    async fn create_schedule(&self, new: &NewSchedule) -> Result<StoredSchedule, StoreError>;

    /// Every schedule, by `send_at` then id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError>;

    /// Cancels a scheduled send; `false` when it is no longer scheduled.
    ///
    /// # Errors
    /// `NotFound("schedule")`; `Unavailable`.
    async fn cancel_schedule(&self, id: ScheduleId) -> Result<bool, StoreError>;

    /// Scheduled rows with `send_at <= now`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn due_schedules(&self, now: i64, limit: u32) -> Result<Vec<StoredSchedule>, StoreError>;

    /// Claims a due schedule if it is still scheduled at `claim.expected_send_at` (and due):
    /// `true` for the one caller that wins.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn claim_schedule(
        &self,
        id: ScheduleId,
        claim: ScheduleClaim,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded() {
        assert!(TemplateName::parse(&"n".repeat(50)).is_ok());
        assert_eq!(TemplateName::parse(&"n".repeat(51)), Err(NoticeError::Name));
        assert_eq!(TemplateName::parse(""), Err(NoticeError::Name));
        assert_eq!(
            NoticeTitle::parse(&"é".repeat(101)),
            Err(NoticeError::Title)
        );
        assert!(NoticeTitle::parse(&"é".repeat(100)).is_ok());
        assert_eq!(NoticeBody::parse(&"b".repeat(1001)), Err(NoticeError::Body));
        assert_eq!(NoticeBody::parse("a\u{7}b"), Err(NoticeError::Body));
        assert!(NoticeBody::parse("line\nline").is_ok());
        assert!(NoticeTags::parse("").is_ok());
        assert_eq!(NoticeTags::parse(&"t".repeat(201)), Err(NoticeError::Tags));
        assert!(NotifyPriority::new(0).is_err() && NotifyPriority::new(6).is_err());
    }

    #[test]
    fn audience_needs_topics_for_topics() {
        assert_eq!(Audience::parse("pro", None), Ok(Audience::Pro));
        assert_eq!(Audience::parse("topics", None), Err(NoticeError::Audience));
        assert_eq!(
            Audience::parse("topics", Some(" ")),
            Err(NoticeError::Audience)
        );
        let t = Audience::parse("topics", Some("cl_a")).map(|a| a.topics().map(str::to_owned));
        assert_eq!(t, Ok(Some("cl_a".to_owned())));
        assert_eq!(Audience::parse("admins", None), Err(NoticeError::Audience));
    }

    #[test]
    fn a_repeat_moves_forward() {
        let c = |next| ScheduleClaim {
            expected_send_at: 10,
            now: 20,
            next_send_at: next,
        };
        assert!(c(None).validate().is_ok() && c(Some(11)).validate().is_ok());
        assert!(c(Some(10)).validate().is_err());
    }
}
