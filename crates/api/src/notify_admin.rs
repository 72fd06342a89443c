//! Admin notifications over HTTP (product.md §5 "Admin", §9): templates CRUD, the audience
//! count, broadcasts (queued, `202`), scheduled sends with cancel, and the ntfy test send.
//! Thin over `cl_app::notify_admin`.
//!
//! Design:
//! - The gate has run: every route is [`crate::access::Access::Admin`] (admin session; CSRF +
//!   Origin on writes; anonymous → 401, non-admin → 403).
//! - Bodies go through [`crate::portfolio::parse`] (media type, size, member JSON types,
//!   unknown members refused), then ONE conversion into the use case's typed input
//!   ([`ContentInput::parse`], [`AudienceChoice::parse`]); each bad field is a field error, and
//!   nothing is written.
//! - Requests never send: a broadcast answers `202` with its id, the every-minute dispatch
//!   job sends it (`cl_app::notify_admin::send_broadcasts`).
//! - The audience count is a `POST` because a custom topic list can be long; it writes nothing.
//! - [`NotifyAdminError`] → [`ApiError`] in ONE function.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, NoParams};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, Route};
use cl_api_types::{
    AdminTestDto, AdminTestRequest, AudienceCountDto, BroadcastDto, BroadcastRequest, ErrorCode,
    FieldError, NoticeTemplateDto, NoticeTemplateRequest, ScheduleDto, ScheduleRequest,
};
use cl_app::notify_admin::{
    self as uc, AdminActor, AudienceChoice, ContentInput, FieldIssue, NotifyAdminError,
    NotifyAdminStores, SendRequest,
};
use cl_app::ports::broadcast_delivery::BroadcastSummary;
use cl_app::ports::notification_admin::{ScheduleId, StoredSchedule, StoredTemplate, TemplateId};
use cl_app::ports::Clock;
use serde::{Deserialize, Serialize};

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::AdminNoticeTemplates,
    Route::AdminNoticeTemplateCreate,
    Route::AdminNoticeTemplateEdit,
    Route::AdminNoticeTemplateDelete,
    Route::AdminNoticeAudience,
    Route::AdminBroadcasts,
    Route::AdminBroadcastCreate,
    Route::AdminSchedules,
    Route::AdminScheduleCreate,
    Route::AdminScheduleCancel,
    Route::AdminNoticeTest,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// `POST /admin/notifications/audience`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    /// `all`, `free`, `pro`, `premium`, `global` or `topics`.
    pub audience: String,
    /// With `topics`.
    #[serde(default)]
    pub topics: Vec<String>,
}

/// The deleted template's id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = NoticeDeleted)]
pub(crate) struct Deleted {
    /// Its id.
    id: i64,
}

const CONTENT: [(&str, Kind, bool); 4] = [
    ("title", Kind::Str, true),
    ("message", Kind::Str, true),
    ("priority", Kind::Int, true),
    ("tags", Kind::StrList, false),
];

impl Body for NoticeTemplateRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("name", Kind::Str, true),
        CONTENT[0],
        CONTENT[1],
        CONTENT[2],
        CONTENT[3],
    ];
}

impl Body for BroadcastRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("audience", Kind::Str, true),
        ("topics", Kind::StrList, false),
        ("template_id", Kind::Int, false),
        CONTENT[0],
        CONTENT[1],
        CONTENT[2],
        CONTENT[3],
    ];
}

impl Body for ScheduleRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("send_at", Kind::Int, true),
        ("audience", Kind::Str, true),
        ("topics", Kind::StrList, false),
        ("template_id", Kind::Int, false),
        CONTENT[0],
        CONTENT[1],
        CONTENT[2],
        CONTENT[3],
    ];
}

impl Body for AudienceRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("audience", Kind::Str, true),
        ("topics", Kind::StrList, false),
    ];
}

impl Body for AdminTestRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[("topic", Kind::Str, false)];
}

fn field(i: FieldIssue) -> FieldError {
    FieldError {
        field: i.field.to_owned(),
        code: i.code.to_owned(),
        message: i.message,
    }
}

/// THE mapping of admin notification failures.
fn api_error(e: NotifyAdminError) -> ApiError {
    match e {
        NotifyAdminError::Invalid(issues) => ApiError::new(ErrorCode::ValidationFailed)
            .with_fields(issues.into_iter().map(field).collect()),
        NotifyAdminError::NameTaken => {
            ApiError::new(ErrorCode::Conflict).with_fields(vec![FieldError {
                field: "name".into(),
                code: "taken".into(),
                message: "A template with this name exists.".into(),
            }])
        }
        NotifyAdminError::NotFound => ApiError::new(ErrorCode::NotFound),
        NotifyAdminError::NotScheduled => ApiError::new(ErrorCode::Conflict)
            .with_message("This notification is no longer scheduled."),
        NotifyAdminError::NoGlobalTopic => {
            ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
                field: "audience".into(),
                code: "no_global_topic".into(),
                message: "No global topic is configured (settings: notify.global_topic).".into(),
            }])
        }
        NotifyAdminError::Store(s) => s.into(),
    }
}

/// The send request of a broadcast or schedule body: every field checked, all issues at once.
fn send_request(
    audience: &str,
    topics: &[String],
    template_id: Option<i64>,
    content: Result<ContentInput, Vec<FieldIssue>>,
) -> Result<SendRequest, NotifyAdminError> {
    let mut issues = Vec::new();
    let audience = AudienceChoice::parse(audience, topics)
        .map_err(|i| issues.push(i))
        .ok();
    let template = match template_id {
        Some(id) if id < 1 => {
            issues.push(FieldIssue {
                field: "template_id",
                code: "out_of_range",
                message: "A template id.".into(),
            });
            None
        }
        other => Some(other.map(TemplateId)),
    };
    let content = content.map_err(|e| issues.extend(e)).ok();
    match (audience, template, content) {
        (Some(audience), Some(template), Some(ContentInput(content))) if issues.is_empty() => {
            Ok(SendRequest {
                audience,
                content,
                template,
            })
        }
        _ => Err(NotifyAdminError::Invalid(issues)),
    }
}

fn tags_of(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn template_dto(t: StoredTemplate) -> NoticeTemplateDto {
    NoticeTemplateDto {
        id: t.id.0,
        name: t.name.as_str().to_owned(),
        title: t.content.title.as_str().to_owned(),
        message: t.content.body.as_str().to_owned(),
        priority: t.content.priority.get(),
        tags: tags_of(t.content.tags.as_str()),
        updated_at: t.updated_at,
    }
}

fn schedule_dto(s: StoredSchedule) -> ScheduleDto {
    ScheduleDto {
        id: s.id.0,
        send_at: s.new.send_at,
        status: s.status.as_str().to_owned(),
        audience: s.new.audience.as_str().to_owned(),
        topics: s.new.audience.topics().map(str::to_owned),
        title: s.new.content.title.as_str().to_owned(),
        message: s.new.content.body.as_str().to_owned(),
        priority: s.new.content.priority.get(),
        sent_at: s.sent_at,
    }
}

fn broadcast_dto(b: BroadcastSummary) -> BroadcastDto {
    BroadcastDto {
        id: b.id.0,
        status: b.state.as_str().to_owned(),
        audience: b.audience.as_str().to_owned(),
        title: b.title,
        schedule_id: b.schedule.map(|s| s.0),
        signal_id: b.signal.map(|s| s.0),
        recipients: b.recipients,
        sent: b.sent,
        failed: b.failed,
        created_at: b.created_at,
    }
}

fn actor(caller: &Caller, ctx: &RequestContext) -> Result<AdminActor, ApiError> {
    let auth = caller
        .auth()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    Ok(AdminActor {
        user: auth.user().id,
        ip: ctx
            .client_ip
            .as_deref()
            .and_then(|h| cl_auth::net::parse_client_ip(h).ok())
            .map(|ip| ip.to_string()),
        request_id: ctx.request_id.clone(),
    })
}

/// How many broadcasts the list shows.
const LIST_LIMIT: u32 = 50;

/// Serves one of [`ROUTES`] (the gate has run).
///
/// # Errors
/// The mapped errors of the use cases, bodies and parameters.
pub async fn serve<S: NotifyAdminStores, C: Clock>(
    store: &S,
    clock: &C,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let path = &matched.params;
    let actor = &actor(caller, ctx)?;
    let now = clock.now_ms();
    let id = || -> Result<i64, ApiError> { Ok(IdParams::extract(req, path)?.id) };
    match matched.spec.route {
        Route::AdminNoticeTemplates => {
            NoParams::extract(req, path)?;
            let list: Vec<NoticeTemplateDto> = store
                .templates()
                .await?
                .into_iter()
                .map(template_dto)
                .collect();
            error::ok(ctx, 200, list)
        }
        Route::AdminNoticeTemplateCreate | Route::AdminNoticeTemplateEdit => {
            let target = if matched.spec.route == Route::AdminNoticeTemplateEdit {
                Some(TemplateId(id()?))
            } else {
                NoParams::extract(req, path)?;
                None
            };
            let b: NoticeTemplateRequest = parse(req)?;
            let content = ContentInput::parse(&b.title, &b.message, b.priority, &b.tags);
            let row = uc::save_template(store, actor, target, &b.name, content, now)
                .await
                .map_err(api_error)?;
            let status = if target.is_some() { 200 } else { 201 };
            error::ok(ctx, status, template_dto(row))
        }
        Route::AdminNoticeTemplateDelete => {
            let tid = id()?;
            crate::body::json::<crate::body::Empty>(req)?;
            uc::delete_template(store, actor, TemplateId(tid), now)
                .await
                .map_err(api_error)?;
            error::ok(ctx, 200, Deleted { id: tid })
        }
        Route::AdminNoticeAudience => {
            NoParams::extract(req, path)?;
            let b: AudienceRequest = parse(req)?;
            let choice = AudienceChoice::parse(&b.audience, &b.topics)
                .map_err(|i| api_error(NotifyAdminError::Invalid(vec![i])))?;
            let count = uc::audience_count(store, &choice, None, now)
                .await
                .map_err(api_error)?;
            error::ok(
                ctx,
                200,
                AudienceCountDto {
                    audience: b.audience,
                    count,
                },
            )
        }
        Route::AdminBroadcasts => {
            NoParams::extract(req, path)?;
            let list: Vec<BroadcastDto> = store
                .broadcast_summaries(LIST_LIMIT)
                .await?
                .into_iter()
                .map(broadcast_dto)
                .collect();
            error::ok(ctx, 200, list)
        }
        Route::AdminBroadcastCreate => {
            NoParams::extract(req, path)?;
            let b: BroadcastRequest = parse(req)?;
            let content = ContentInput::parse(&b.title, &b.message, b.priority, &b.tags);
            let send =
                send_request(&b.audience, &b.topics, b.template_id, content).map_err(api_error)?;
            let bid = uc::queue_broadcast(store, actor, &send, None, now)
                .await
                .map_err(api_error)?;
            let row = store
                .broadcast_summaries(LIST_LIMIT)
                .await?
                .into_iter()
                .find(|s| s.id == bid)
                .map(broadcast_dto)
                .ok_or_else(|| ApiError::internal("queued broadcast not listed"))?;
            error::ok(ctx, 202, row)
        }
        Route::AdminSchedules => {
            NoParams::extract(req, path)?;
            let list: Vec<ScheduleDto> = uc::schedules(store)
                .await?
                .into_iter()
                .map(schedule_dto)
                .collect();
            error::ok(ctx, 200, list)
        }
        Route::AdminScheduleCreate => {
            NoParams::extract(req, path)?;
            let b: ScheduleRequest = parse(req)?;
            let content = ContentInput::parse(&b.title, &b.message, b.priority, &b.tags);
            let send = send_request(&b.audience, &b.topics, b.template_id, content);
            let row = match send {
                Ok(send) => uc::schedule(store, actor, &send, b.send_at, None, now).await,
                Err(e) => Err(e),
            }
            .map_err(api_error)?;
            error::ok(ctx, 201, schedule_dto(row))
        }
        Route::AdminScheduleCancel => {
            let sid = ScheduleId(id()?);
            crate::body::json::<crate::body::Empty>(req)?;
            uc::cancel_schedule(store, actor, sid, now)
                .await
                .map_err(api_error)?;
            let row = store
                .schedules()
                .await?
                .into_iter()
                .find(|s| s.id == sid)
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
            error::ok(ctx, 200, schedule_dto(row))
        }
        Route::AdminNoticeTest => {
            NoParams::extract(req, path)?;
            let b: AdminTestRequest = parse(req)?;
            let topic = uc::queue_admin_test(store, actor, b.topic.as_deref(), None, now)
                .await
                .map_err(api_error)?;
            error::ok(ctx, 202, AdminTestDto { topic })
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

pub(crate) const AUDIENCES: [&str; 6] = ["all", "free", "pro", "premium", "global", "topics"];
pub(crate) const STORED_AUDIENCES: [&str; 5] = ["all", "free", "pro", "premium", "topics"];
