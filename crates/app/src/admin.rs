//! The admin use cases (product.md §9, §11.8, §11.23, §12): users (list/search, detail,
//! verify, activate/deactivate, make/revoke admin, set subscription), symbols (add, toggle,
//! notify, fetch start), the signal status override, the audit log, logs and the error
//! tracker.
//!
//! Rules, each enforced here once:
//! - Only an admin session gets through ([`AdminOpError::NotAdmin`]; the HTTP gate checks
//!   too, this is the second lock).
//! - Every write is audited IN THE SAME atomic store write as the change (the
//!   [`AdminStore`] write methods take the [`NewAuditEntry`]): no action without its row, no
//!   row without its action. Refused attempts write nothing.
//! - Sensitive actions (make/revoke admin, deactivate, set subscription) need a
//!   re-authentication within the last 10 minutes ([`AdminOpError::ReauthRequired`], the
//!   `reauth_required` code).
//! - An admin cannot demote or deactivate themself ([`AdminOpError::SelfTarget`]), and the
//!   store refuses to remove the last active admin ([`AdminOpError::LastAdmin`]).
//! - Deactivation and privilege changes end the target's sessions in the same write.
//! - Inputs arrive as typed values whose constructors validate ([`SearchPrefix`],
//!   [`SubscriptionGrant`], [`SymbolInput`], [`FetchStart`]).

use crate::accounts::Authenticated;
use crate::ports::admin::{
    AdminStore, AdminUserRow, AuditFilter, ChangeOutcome, ErrorOccurrence, ErrorStatus, LogFilter,
    NewAuditEntry, StoredAuditEntry, StoredError, StoredLogEntry, SymbolPatch, UserChange,
    UserFilter, MAX_ERROR_TEXT, MAX_SEARCH_CHARS,
};
use crate::ports::{
    BillingSubscription, Clock, NewSymbol, Page, PageRequest, SignalId, SignalStatus, StoreError,
    StoredSignal, StoredSymbol, SymbolId, SymbolStore, UserId,
};
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use sha2::{Digest, Sha256};

const DAY_MS: i64 = 86_400_000;
/// Longest admin-granted subscription period.
pub const MAX_GRANT_DAYS: u32 = 3_650;
/// Earliest fetch start accepted (2017-01-01, before any listed pair's history).
pub const MIN_FETCH_START_MS: i64 = 1_483_228_800_000;
/// The default fetch start of a new symbol (2024-01-01, product.md §9).
pub const DEFAULT_FETCH_START_MS: i64 = 1_704_067_200_000;

/// One invalid input field (→ `validation_failed` with this field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// The field.
    pub field: &'static str,
    /// Stable code.
    pub code: &'static str,
    /// Text for the client.
    pub message: &'static str,
}

const fn invalid(field: &'static str, code: &'static str, message: &'static str) -> InvalidInput {
    InvalidInput {
        field,
        code,
        message,
    }
}

/// What an admin operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdminOpError {
    /// The caller is not an admin (→ `forbidden`).
    #[error("not an admin")]
    NotAdmin,
    /// No re-authentication within 10 minutes (→ `forbidden` + `reauth_required`).
    #[error("re-authentication required")]
    ReauthRequired,
    /// The target does not exist (→ `not_found`).
    #[error("not found")]
    NotFound,
    /// An admin tried to demote or deactivate themself (→ `conflict`).
    #[error("an admin cannot demote or deactivate themself")]
    SelfTarget,
    /// The change would leave no active admin (→ `conflict`).
    #[error("the last active admin must stay")]
    LastAdmin,
    /// The symbol exists already (→ `conflict`).
    #[error("symbol exists")]
    SymbolExists,
    /// A bad input value (→ `validation_failed`).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The store failed (→ 503/500; details for logs only).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The request facts every audit row carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    /// Client IP (`CF-Connecting-IP`).
    pub ip: Option<String>,
    /// Request id.
    pub request_id: String,
}

/// A user-list search: a trimmed, lower-cased prefix of an email or username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPrefix(String);

impl SearchPrefix {
    /// Parses a search prefix (1..=64 printable characters, lower-cased).
    ///
    /// # Errors
    /// [`InvalidInput`] on `q`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let q = raw.trim().to_lowercase();
        if q.is_empty() || q.chars().count() > MAX_SEARCH_CHARS {
            return Err(invalid("q", "out_of_range", "must be 1 to 64 characters"));
        }
        if q.chars().any(char::is_control) {
            return Err(invalid("q", "invalid_format", "must be printable text"));
        }
        Ok(Self(q))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An admin-granted subscription: a plan and, unless lifetime, a number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionGrant {
    plan: Plan,
    days: Option<u32>,
}

impl SubscriptionGrant {
    /// `pro`/`premium` need `days` in 1..=3650; `lifetime` takes none.
    ///
    /// # Errors
    /// [`InvalidInput`] on `plan` or `days`.
    pub fn new(plan: &str, days: Option<i64>) -> Result<Self, InvalidInput> {
        let plan = Plan::parse(plan).map_err(|_| {
            invalid(
                "plan",
                "invalid_choice",
                "must be one of: pro, premium, lifetime",
            )
        })?;
        let days = match (plan, days) {
            (Plan::Lifetime, None) => None,
            (Plan::Lifetime, Some(_)) => {
                return Err(invalid(
                    "days",
                    "not_allowed",
                    "a lifetime plan has no days",
                ))
            }
            (_, None) => return Err(invalid("days", "required", "This field is required.")),
            (_, Some(d)) => Some(
                u32::try_from(d)
                    .ok()
                    .filter(|d| (1..=MAX_GRANT_DAYS).contains(d))
                    .ok_or(invalid(
                        "days",
                        "out_of_range",
                        "must be between 1 and 3650",
                    ))?,
            ),
        };
        Ok(Self { plan, days })
    }

    /// The plan.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// The days (`None`: lifetime).
    pub fn days(&self) -> Option<u32> {
        self.days
    }
}

/// A symbol fetch start date (UTC ms at or after 2017-01-01, not in the future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchStart(i64);

impl FetchStart {
    /// Checks the range against `now`.
    ///
    /// # Errors
    /// [`InvalidInput`] on `fetch_start_ms`.
    pub fn new(ms: i64, now: i64) -> Result<Self, InvalidInput> {
        if (MIN_FETCH_START_MS..=now).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(invalid(
                "fetch_start_ms",
                "out_of_range",
                "must be between 2017-01-01 and now (UTC ms)",
            ))
        }
    }

    /// The time, UTC ms.
    pub fn ms(self) -> i64 {
        self.0
    }
}

/// A symbol to add: `BASE/QUOTE`, upper-case, 3..=20 of `A–Z 0–9 / : _ -` with one `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolInput {
    symbol: String,
    notify_enabled: bool,
    is_active: bool,
    fetch_start: Option<FetchStart>,
}

impl SymbolInput {
    /// Accepts `BTC/USDT` or `BTC-USDT` (stored as `BTC/USDT`).
    ///
    /// # Errors
    /// [`InvalidInput`] on `symbol`.
    pub fn new(
        symbol: &str,
        is_active: Option<bool>,
        notify_enabled: Option<bool>,
        fetch_start: Option<FetchStart>,
    ) -> Result<Self, InvalidInput> {
        let bad = invalid(
            "symbol",
            "invalid_format",
            "must be BASE/QUOTE, 3 to 20 of A-Z 0-9 : _ -",
        );
        let s = symbol.trim().replace('-', "/");
        let (base, quote) = s.split_once('/').ok_or(bad)?;
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b':' || b == b'_')
        };
        if !(3..=20).contains(&s.len()) || !part_ok(base) || !part_ok(quote) {
            return Err(bad);
        }
        Ok(Self {
            symbol: s,
            notify_enabled: notify_enabled.unwrap_or(true),
            is_active: is_active.unwrap_or(true),
            fetch_start,
        })
    }
}

/// Escapes a string for a JSON audit summary.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The admin use cases over one store.
pub struct AdminService<'a, S, C> {
    store: &'a S,
    clock: &'a C,
}

impl<S, C> std::fmt::Debug for AdminService<'_, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminService").finish_non_exhaustive()
    }
}

impl<'a, S: AdminStore + SymbolStore, C: Clock> AdminService<'a, S, C> {
    /// The service over `store`, with `clock` for "now".
    pub fn new(store: &'a S, clock: &'a C) -> Self {
        Self { store, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn admin<'x>(&self, auth: &'x Authenticated) -> Result<&'x Authenticated, AdminOpError> {
        if auth.user().is_admin {
            Ok(auth)
        } else {
            Err(AdminOpError::NotAdmin)
        }
    }

    fn sensitive(&self, auth: &Authenticated) -> Result<(), AdminOpError> {
        self.admin(auth)?;
        if auth.reauth_is_fresh(self.now()) {
            Ok(())
        } else {
            Err(AdminOpError::ReauthRequired)
        }
    }

    fn entry(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        action: &str,
        target: String,
        details: Option<String>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            actor: Some(auth.user().id),
            action: action.to_owned(),
            target,
            details,
            ip: ctx.ip.clone().map(|ip| ip.chars().take(64).collect()),
            request_id: Some(ctx.request_id.chars().take(64).collect()),
            at: self.now(),
        }
    }

    // ----- users -----------------------------------------------------------------------

    /// Users, newest first, optionally by email/username prefix.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`]; store failures.
    pub async fn users(
        &self,
        auth: &Authenticated,
        search: Option<&SearchPrefix>,
        page: PageRequest,
    ) -> Result<Page<AdminUserRow>, AdminOpError> {
        self.admin(auth)?;
        let filter = UserFilter {
            search: search.map(|s| s.as_str().to_owned()),
        };
        Ok(self.store.admin_users(&filter, page).await?)
    }

    /// One user.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::NotFound`]; store failures.
    pub async fn user(
        &self,
        auth: &Authenticated,
        id: UserId,
    ) -> Result<AdminUserRow, AdminOpError> {
        self.admin(auth)?;
        self.store
            .admin_user(id)
            .await?
            .ok_or(AdminOpError::NotFound)
    }

    /// Applies a flag change (see the module rules) and returns the updated row.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::ReauthRequired`],
    /// [`AdminOpError::SelfTarget`], [`AdminOpError::NotFound`], [`AdminOpError::LastAdmin`];
    /// store failures.
    pub async fn change_user(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: UserId,
        change: UserChange,
    ) -> Result<AdminUserRow, AdminOpError> {
        let (action, sensitive) = match change {
            UserChange::Verified(true) => ("user.verify", false),
            UserChange::Verified(false) => ("user.unverify", false),
            UserChange::Active(true) => ("user.activate", false),
            UserChange::Active(false) => ("user.deactivate", true),
            UserChange::Admin(true) => ("user.make_admin", true),
            UserChange::Admin(false) => ("user.revoke_admin", true),
        };
        if sensitive {
            self.sensitive(auth)?;
        } else {
            self.admin(auth)?;
        }
        if id == auth.user().id
            && matches!(change, UserChange::Active(false) | UserChange::Admin(false))
        {
            return Err(AdminOpError::SelfTarget);
        }
        let entry = self.entry(auth, ctx, action, format!("user:{}", id.0), None);
        match self.store.change_user(id, change, &entry).await? {
            ChangeOutcome::Applied { .. } => self.user(auth, id).await,
            ChangeOutcome::NotFound => Err(AdminOpError::NotFound),
            ChangeOutcome::LastAdmin => Err(AdminOpError::LastAdmin),
        }
    }

    /// Grants a subscription (active from now; `days` or lifetime), replacing the user's row.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::ReauthRequired`],
    /// [`AdminOpError::NotFound`]; store failures.
    pub async fn set_subscription(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: UserId,
        grant: SubscriptionGrant,
    ) -> Result<AdminUserRow, AdminOpError> {
        self.sensitive(auth)?;
        let now = self.now();
        let user_id = cl_billing::UserId::new(id.0).map_err(|_| AdminOpError::NotFound)?;
        let sub = BillingSubscription {
            user_id,
            plan: grant.plan,
            status: SubscriptionStatus::Active,
            starts_at: now,
            expires_at: grant.days.map(|d| now + i64::from(d) * DAY_MS),
            cancelled_at: None,
            provider: Some(SubscriptionSource::Admin),
            external_subscription_id: None,
        };
        let details = format!(
            "{{\"plan\":{},\"days\":{}}}",
            json_str(grant.plan.as_str()),
            grant.days.map_or("null".to_owned(), |d| d.to_string())
        );
        let entry = self.entry(
            auth,
            ctx,
            "user.set_subscription",
            format!("user:{}", id.0),
            Some(details),
        );
        match self.store.set_subscription(&sub, now, &entry).await {
            Ok(()) => self.user(auth, id).await,
            Err(StoreError::NotFound(_)) => Err(AdminOpError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    // ----- symbols and signals ---------------------------------------------------------

    /// Every symbol, active or not, by id.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`]; store failures.
    pub async fn symbols(&self, auth: &Authenticated) -> Result<Vec<StoredSymbol>, AdminOpError> {
        self.admin(auth)?;
        Ok(self.store.list_symbols(false).await?)
    }

    /// Adds a symbol (fetch start default 2024-01-01).
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::SymbolExists`]; store failures.
    pub async fn add_symbol(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        input: &SymbolInput,
    ) -> Result<StoredSymbol, AdminOpError> {
        self.admin(auth)?;
        let new = NewSymbol {
            symbol: input.symbol.clone(),
            exchange: "binance".to_owned(),
            is_active: input.is_active,
            notify_enabled: input.notify_enabled,
            fetch_start_ms: input
                .fetch_start
                .map_or(DEFAULT_FETCH_START_MS, FetchStart::ms),
            created_at: self.now(),
        };
        let entry = self.entry(
            auth,
            ctx,
            "symbol.add",
            format!("symbol:{}", new.symbol),
            None,
        );
        match self.store.add_symbol_audited(&new, &entry).await {
            Ok(row) => Ok(row),
            Err(StoreError::Conflict(_)) => Err(AdminOpError::SymbolExists),
            Err(e) => Err(e.into()),
        }
    }

    /// Toggles a symbol's active/notify flags or moves its fetch start.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::NotFound`], [`AdminOpError::Invalid`]
    /// (an empty patch); store failures.
    pub async fn update_symbol(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: SymbolId,
        is_active: Option<bool>,
        notify_enabled: Option<bool>,
        fetch_start: Option<FetchStart>,
    ) -> Result<StoredSymbol, AdminOpError> {
        self.admin(auth)?;
        let patch = SymbolPatch {
            is_active,
            notify_enabled,
            fetch_start_ms: fetch_start.map(FetchStart::ms),
        };
        if patch == SymbolPatch::default() {
            return Err(invalid("(body)", "required", "Give at least one field to change.").into());
        }
        let mut parts = Vec::new();
        if let Some(v) = is_active {
            parts.push(format!("\"is_active\":{v}"));
        }
        if let Some(v) = notify_enabled {
            parts.push(format!("\"notify_enabled\":{v}"));
        }
        if let Some(v) = patch.fetch_start_ms {
            parts.push(format!("\"fetch_start_ms\":{v}"));
        }
        let details = format!("{{{}}}", parts.join(","));
        let entry = self.entry(
            auth,
            ctx,
            "symbol.update",
            format!("symbol:{}", id.0),
            Some(details),
        );
        self.store
            .update_symbol(id, patch, &entry)
            .await?
            .ok_or(AdminOpError::NotFound)
    }

    /// Overrides a signal's status (product.md §3: admin only, audited).
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::NotFound`]; store failures.
    pub async fn set_signal_status(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: SignalId,
        status: SignalStatus,
    ) -> Result<StoredSignal, AdminOpError> {
        self.admin(auth)?;
        let details = format!("{{\"status\":{}}}", json_str(status.as_str()));
        let entry = self.entry(
            auth,
            ctx,
            "signal.set_status",
            format!("signal:{}", id.0),
            Some(details),
        );
        self.store
            .set_signal_status(id, status, &entry)
            .await?
            .ok_or(AdminOpError::NotFound)
    }

    // ----- audit, logs, errors ---------------------------------------------------------

    /// The audit log (read-only).
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`]; store failures.
    pub async fn audit(
        &self,
        auth: &Authenticated,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, AdminOpError> {
        self.admin(auth)?;
        Ok(self.store.audit_log(filter, page).await?)
    }

    /// Logs.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`]; store failures.
    pub async fn logs(
        &self,
        auth: &Authenticated,
        filter: &LogFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLogEntry>, AdminOpError> {
        self.admin(auth)?;
        Ok(self.store.logs(filter, page).await?)
    }

    /// Error groups.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`]; store failures.
    pub async fn errors(
        &self,
        auth: &Authenticated,
        status: Option<ErrorStatus>,
        page: PageRequest,
    ) -> Result<Page<StoredError>, AdminOpError> {
        self.admin(auth)?;
        Ok(self.store.errors(status, page).await?)
    }

    /// Acknowledges or resolves an error group.
    ///
    /// # Errors
    /// [`AdminOpError::NotAdmin`], [`AdminOpError::NotFound`]; store failures.
    pub async fn set_error_status(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: i64,
        status: ErrorStatus,
    ) -> Result<StoredError, AdminOpError> {
        self.admin(auth)?;
        let action = match status {
            ErrorStatus::Acknowledged => "error.acknowledge",
            ErrorStatus::Resolved => "error.resolve",
            ErrorStatus::Ignored => "error.ignore",
            ErrorStatus::New => "error.reopen",
        };
        let entry = self.entry(auth, ctx, action, format!("error:{id}"), None);
        self.store
            .set_error_status(id, status, &entry)
            .await?
            .ok_or(AdminOpError::NotFound)
    }
}

/// The error-tracker occurrence of a failed request (5xx): grouped by kind (from the
/// status), the route TEMPLATE and the CLASS of the internal cause — the text before its first
/// `:`, lower-cased, digits folded to `#`, at most 80 characters — so ids, hosts, SQL or values
/// after the colon never reach the tracker, and repeats of one failure share a fingerprint.
pub fn request_error(
    route: &str,
    status: u16,
    cause: Option<&str>,
    request_id: &str,
    at: i64,
) -> ErrorOccurrence {
    let kind = match status {
        500 => "internal_error".to_owned(),
        503 => "service_unavailable".to_owned(),
        s => format!("http_{s}"),
    };
    let class: String = cause
        .and_then(|c| c.split(':').next())
        .unwrap_or("unknown")
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '#'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(80)
        .collect();
    let source: String = route.chars().take(MAX_ERROR_TEXT).collect();
    let mut h = Sha256::new();
    for part in [kind.as_str(), source.as_str(), class.as_str()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let fingerprint = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    ErrorOccurrence {
        fingerprint,
        kind,
        source,
        message: class,
        request_id: Some(request_id.chars().take(64).collect()),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors_group_by_route_and_cause_class_only() {
        let a = request_error(
            "/api/v1/matrix",
            503,
            Some("store unavailable: d1: host 10.0.0.1"),
            "r1",
            1,
        );
        let b = request_error(
            "/api/v1/matrix",
            503,
            Some("store unavailable: timeout 42"),
            "r2",
            2,
        );
        assert_eq!(a.fingerprint, b.fingerprint, "same class → same group");
        assert_eq!(a.message, "store unavailable");
        assert!(!a.message.contains("10.0.0.1"));
        assert!(a.validate().is_ok());
        let c = request_error(
            "/api/v1/patterns",
            503,
            Some("store unavailable: x"),
            "r3",
            3,
        );
        assert_ne!(a.fingerprint, c.fingerprint, "another route");
        let d = request_error("/api/v1/matrix", 500, None, "r4", 4);
        assert_eq!(
            (d.kind.as_str(), d.message.as_str()),
            ("internal_error", "unknown")
        );
        let e = request_error("/x", 502, Some("row 17 of 3"), "r", 5);
        assert_eq!(e.message, "row ## of #");
    }

    #[test]
    fn grants_need_days_except_lifetime() {
        assert!(SubscriptionGrant::new("pro", Some(30)).is_ok());
        assert_eq!(
            SubscriptionGrant::new("lifetime", None).map(|g| g.days()),
            Ok(None)
        );
        assert_eq!(
            SubscriptionGrant::new("pro", None).map_err(|e| e.code),
            Err("required")
        );
        assert_eq!(
            SubscriptionGrant::new("pro", Some(0)).map_err(|e| e.field),
            Err("days")
        );
        assert_eq!(
            SubscriptionGrant::new("pro", Some(3651)).map_err(|e| e.code),
            Err("out_of_range")
        );
        assert!(SubscriptionGrant::new("lifetime", Some(3)).is_err());
        assert_eq!(
            SubscriptionGrant::new("gold", Some(3)).map_err(|e| e.field),
            Err("plan")
        );
    }

    #[test]
    fn symbols_are_canonical_base_quote() {
        let s = SymbolInput::new("SOL-USDT", None, None, None).unwrap();
        assert_eq!(s.symbol, "SOL/USDT");
        assert!(s.is_active && s.notify_enabled);
        for bad in [
            "sol/usdt",
            "SOLUSDT",
            "/USDT",
            "A/",
            "SOL/USDT; DROP",
            "AAAAAAAAAAAA/BBBBBBBBBB",
        ] {
            assert!(SymbolInput::new(bad, None, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_prefixes_are_trimmed_lower_case_and_bounded() {
        assert_eq!(SearchPrefix::parse("  Ann ").unwrap().as_str(), "ann");
        assert!(SearchPrefix::parse(" ").is_err());
        assert!(SearchPrefix::parse(&"a".repeat(65)).is_err());
        assert!(SearchPrefix::parse("a\u{7}").is_err());
    }

    #[test]
    fn fetch_starts_are_bounded_by_2017_and_now() {
        assert!(FetchStart::new(DEFAULT_FETCH_START_MS, DEFAULT_FETCH_START_MS + 1).is_ok());
        assert!(FetchStart::new(MIN_FETCH_START_MS - 1, DEFAULT_FETCH_START_MS).is_err());
        assert!(FetchStart::new(DEFAULT_FETCH_START_MS + 10, DEFAULT_FETCH_START_MS).is_err());
    }

    #[test]
    fn audit_strings_are_json_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
