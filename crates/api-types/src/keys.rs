//! API-key management and admin view-as DTOs (product.md §3, §11.10).
//!
//! Request members are all strings (the JSON body layer accepts strings only): `scopes` is a
//! comma- or space-separated list of scope names (or `all`), `expires_at` and the limits are
//! decimal strings.

use serde::{Deserialize, Serialize};

/// One API key as listed (never the key itself: only its prefix and last four characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiKey))]
pub struct ApiKeyDto {
    /// Id for `/keys/{id}`.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Display form, e.g. `cle_ab12cd34_…wxyz`.
    pub display: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// `active`, `revoked` or `expired` (expiry by time included).
    pub status: String,
    /// Creation time, UTC ms.
    pub created_at: i64,
    /// Expiry, UTC ms.
    pub expires_at: Option<i64>,
    /// Last successful use, UTC ms.
    pub last_used_at: Option<i64>,
    /// Revocation time, UTC ms.
    pub revoked_at: Option<i64>,
    /// Requests per minute.
    pub per_min: u32,
    /// Requests per hour.
    pub per_hour: u32,
    /// Requests per day.
    pub per_day: u32,
}

/// `POST /keys`: the new key, shown ONCE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreatedApiKey))]
pub struct CreatedApiKeyDto {
    /// The stored key.
    pub key: ApiKeyDto,
    /// The whole key; it cannot be shown again.
    pub secret: String,
}

/// `POST /keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// Name (1..=50 characters).
    pub name: String,
    /// Scope names, comma- or space-separated, or `all` (every non-admin scope).
    pub scopes: String,
    /// Expiry in UTC ms (decimal string), absent or empty for none.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// `PATCH /keys/{id}`: absent members stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateKeyRequest {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New scopes.
    #[serde(default)]
    pub scopes: Option<String>,
    /// New expiry (UTC ms); empty or `never` clears it.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Requests per minute.
    #[serde(default)]
    pub per_min: Option<String>,
    /// Requests per hour.
    #[serde(default)]
    pub per_hour: Option<String>,
    /// Requests per day.
    #[serde(default)]
    pub per_day: Option<String>,
}

/// `POST /keys/{id}/ip-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IpRuleRequest {
    /// `allow` or `deny`.
    pub action: String,
    /// An IPv4/IPv6 address or CIDR network.
    pub cidr: String,
}

/// One IP rule of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IpRule))]
pub struct IpRuleDto {
    /// Id for `DELETE /keys/{id}/ip-rules/{rule}`.
    pub id: i64,
    /// `allow` or `deny`.
    pub action: String,
    /// The network, canonical.
    pub cidr: String,
    /// Creation time, UTC ms.
    pub created_at: i64,
}

/// One hour of a key's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UsageBucket))]
pub struct UsageBucketDto {
    /// Start of the UTC hour, ms.
    pub hour_start: i64,
    /// Requests in that hour.
    pub requests: u64,
}

/// `GET /keys/{id}/usage`: the last 30 days, hourly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = KeyUsage))]
pub struct KeyUsageDto {
    /// The key's last successful use, UTC ms.
    pub last_used_at: Option<i64>,
    /// Hour buckets with at least one request, oldest first.
    pub hours: Vec<UsageBucketDto>,
}

/// `POST /admin/view-as`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ViewAsRequest {
    /// `free`, `pro`, `premium`, or null to stop.
    #[serde(default)]
    pub tier: Option<String>,
}

/// `POST /admin/view-as`: the tier now in effect, and the rotated session's CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ViewAs))]
pub struct ViewAsDto {
    /// The view-as tier, or null.
    pub viewing_as: Option<String>,
    /// The new CSRF token (the session id rotated).
    pub csrf_token: String,
}
