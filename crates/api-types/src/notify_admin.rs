//! Admin notification DTOs (`/admin/notifications/*`, product.md §9): templates, the audience
//! count, broadcasts, schedules and the ntfy test send.

use serde::{Deserialize, Serialize};

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = NoticeTemplate))]
pub struct NoticeTemplateDto {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Title (placeholders allowed).
    pub title: String,
    /// Body (placeholders allowed).
    pub message: String,
    /// ntfy priority 1–5.
    pub priority: u8,
    /// ntfy tags.
    pub tags: Vec<String>,
    /// Last change (UTC ms).
    pub updated_at: i64,
}

/// `POST /admin/notifications/templates`, `PUT …/templates/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoticeTemplateRequest {
    /// 1–50 characters, unique.
    pub name: String,
    /// 1–100 characters; placeholders `{app}`, `{date}`, `{time}`, `{topic}`.
    pub title: String,
    /// 1–1000 characters; same placeholders.
    pub message: String,
    /// 1–5.
    pub priority: i64,
    /// At most 10 tags of 1–32 letters, digits, `_` or `-`.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `POST /admin/notifications/broadcasts` and the body of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    /// `all`, `free`, `pro`, `premium`, `global` or `topics`.
    pub audience: String,
    /// With `topics`: the custom topic list.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The template it came from (optional).
    #[serde(default)]
    pub template_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Body.
    pub message: String,
    /// 1–5.
    pub priority: i64,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `POST /admin/notifications/schedules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// When to send (UTC ms; 1 minute to 1 year ahead).
    pub send_at: i64,
    /// `all`, `free`, `pro`, `premium`, `global` or `topics`.
    pub audience: String,
    /// With `topics`: the custom topic list.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The template it came from (optional).
    #[serde(default)]
    pub template_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Body.
    pub message: String,
    /// 1–5.
    pub priority: i64,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `GET /admin/notifications/audience`: how many would receive it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AudienceCount))]
pub struct AudienceCountDto {
    /// The audience word.
    pub audience: String,
    /// Recipients (users, or topics for `global`/`topics`).
    pub count: u32,
}

/// A queued broadcast (`202`) or a row of the broadcast list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Broadcast))]
pub struct BroadcastDto {
    /// Id.
    pub id: i64,
    /// `queued`, `sending` or `done`.
    pub status: String,
    /// `all`, `free`, `pro`, `premium` or `topics`.
    pub audience: String,
    /// Title.
    pub title: String,
    /// The schedule it came from.
    pub schedule_id: Option<i64>,
    /// The signal it announces on the global topic (the pipeline's sends; `null` for an
    /// admin's broadcast).
    pub signal_id: Option<i64>,
    /// Delivery rows.
    pub recipients: u32,
    /// Sent.
    pub sent: u32,
    /// Failed for good.
    pub failed: u32,
    /// Created (UTC ms).
    pub created_at: i64,
}

/// A scheduled notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Schedule))]
pub struct ScheduleDto {
    /// Id.
    pub id: i64,
    /// Due time (UTC ms).
    pub send_at: i64,
    /// `scheduled`, `sent`, `cancelled` or `failed`.
    pub status: String,
    /// `all`, `free`, `pro`, `premium` or `topics`.
    pub audience: String,
    /// Custom topics (comma separated) for `topics`.
    pub topics: Option<String>,
    /// Title.
    pub title: String,
    /// Body.
    pub message: String,
    /// 1–5.
    pub priority: u8,
    /// When it was sent.
    pub sent_at: Option<i64>,
}

/// `POST /admin/notifications/test`: a topic, or none for the global topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminTestRequest {
    /// `[A-Za-z0-9_-]{1,64}`; `null` = the global topic.
    #[serde(default)]
    pub topic: Option<String>,
}

/// The answer of a queued admin test send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdminTest))]
pub struct AdminTestDto {
    /// The topic it goes to.
    pub topic: String,
}
