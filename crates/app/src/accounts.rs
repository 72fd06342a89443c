//! Account and authentication use cases (product.md §1, §3, §11): registration, email
//! verification, login with lockout and 2FA, sessions, password reset and change, email
//! change, re-authentication, TOTP enrolment and recovery codes, account deletion, admin
//! view-as and unlock.
//!
//! Design:
//! - [`AccountService`] borrows its ports ([`AccountStores`], [`Mailer`], [`PasswordHasher`],
//!   [`Clock`]) and the server secrets ([`AuthKeys`]); every rule is enforced here or in one
//!   atomic store statement, never in the HTTP layer. The HTTP layer parses DTOs, checks CSRF,
//!   Origin and the KV rate limits, sets cookies and maps the typed errors below to the API
//!   envelope (docs/accounts.md).
//! - Routes that need a logged-in user first call [`AccountService::authenticate`], which
//!   refuses `pending_2fa`, expired and deactivated sessions; the resulting [`Authenticated`]
//!   can only be built there, so a pending login reaches nothing but
//!   [`AccountService::login_totp`].
//! - Each operation has its own error enum. Login's has ONE variant for locked, unknown and
//!   wrong password ([`LoginError::InvalidCredentials`]), and all three paths run the same
//!   work (a lockout reservation, a user lookup and one password hash).
//! - Secrets travel only as [`SecretString`] / cl-auth token types; nothing here prints one.

use std::fmt;

use cl_auth::crypto::{totp_aad, CryptoError, Keyring};
use cl_auth::email::Email;
use cl_auth::email::Username;
use cl_auth::lockout::{account_key, LockoutError, Reservation};
use cl_auth::password::{hash_password, verify_dummy, PasswordHash, PasswordPolicy, Pbkdf2Params};
use cl_auth::tokens::{
    csrf_token, generate_ntfy_topic, verify_csrf_token, OneTimeToken, SessionToken, TokenError,
    TokenHash,
};
use cl_auth::totp::{generate_recovery_codes, hash_recovery_code, TotpError, TotpSecret};
use cl_auth::SecretString;
use sha2::{Digest, Sha256};

use crate::policy::{effective_access, Access, Subscription, Tier};
use crate::ports::gate::SessionGrant;
use crate::ports::{
    mail_param, AccountStores, Clock, HashError, Mail, MailError, MailKind, Mailer, NewAuthToken,
    NewSession, NewUser, PasswordHasher, SessionStage, StoreError, StoredSession, StoredUser,
    TokenPurpose, UserId, MAX_IP_CHARS, MAX_USER_AGENT_CHARS,
};

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Idle lifetime of a session, refreshed on use (cookie `Max-Age`).
pub const SESSION_IDLE_MS: i64 = 7 * DAY_MS;
/// Absolute lifetime of a session id.
pub const SESSION_ABSOLUTE_MS: i64 = 30 * DAY_MS;
/// Lifetime of a `pending_2fa` session (the TOTP step must follow within it).
pub const PENDING_2FA_MS: i64 = 10 * MINUTE_MS;
/// A session's expiry is pushed forward at most this often (saves a write per request).
pub const TOUCH_INTERVAL_MS: i64 = MINUTE_MS;
/// Lifetime of an email verification token.
pub const VERIFY_EMAIL_TTL_MS: i64 = 24 * HOUR_MS;
/// Lifetime of a password reset token.
pub const RESET_PASSWORD_TTL_MS: i64 = HOUR_MS;
/// Lifetime of an email change token.
pub const CHANGE_EMAIL_TTL_MS: i64 = 24 * HOUR_MS;
/// How long a re-authentication counts as recent.
pub const REAUTH_WINDOW_MS: i64 = 10 * MINUTE_MS;
/// TOTP checks per pending login; the pending session dies after them.
pub const MAX_TOTP_ATTEMPTS: u32 = 5;

// ---------------------------------------------------------------------------------------------
// Default password hasher
// ---------------------------------------------------------------------------------------------

/// The default [`PasswordHasher`]: cl-auth's PBKDF2-HMAC-SHA256 (PHC strings). The worker may
/// substitute a WebCrypto implementation producing the same strings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pbkdf2Hasher {
    params: Pbkdf2Params,
}

impl Pbkdf2Hasher {
    /// A hasher at these parameters (production: `Pbkdf2Params::OWASP`, the default).
    pub fn new(params: Pbkdf2Params) -> Self {
        Self { params }
    }
}

impl PasswordHasher for Pbkdf2Hasher {
    async fn hash(&self, password: &SecretString) -> Result<SecretString, HashError> {
        hash_password(password.expose_secret(), &self.params)
            .map(|h| SecretString::new(h.to_phc_string()))
            .map_err(|e| HashError::Unavailable(e.to_string()))
    }

    async fn verify(&self, password: &SecretString, phc: &SecretString) -> Result<bool, HashError> {
        let hash = PasswordHash::parse(phc.expose_secret())
            .map_err(|e| HashError::Malformed(e.to_string()))?;
        Ok(hash.verify(password.expose_secret()))
    }

    async fn verify_dummy(&self, password: &SecretString) {
        verify_dummy(password.expose_secret(), &self.params);
    }

    fn needs_rehash(&self, phc: &SecretString) -> bool {
        PasswordHash::parse(phc.expose_secret()).is_ok_and(|h| h.needs_rehash(&self.params))
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets, inputs and outputs
// ---------------------------------------------------------------------------------------------

/// The server secrets the account flows use, each separate (product.md §11.12).
#[derive(Clone)]
pub struct AuthKeys {
    session_key: SecretString,
    lockout_pepper: SecretString,
    recovery_code_key: SecretString,
    totp_keys: Keyring,
}

impl AuthKeys {
    /// - `session_key`: derives CSRF tokens from session ids;
    /// - `lockout_pepper`: keys `auth_lockouts.acct_hash` (HMAC of the canonical email);
    /// - `recovery_code_key`: keys the recovery-code hashes;
    /// - `totp_keys`: seals TOTP secrets (AES-256-GCM, rotation by key id).
    pub fn new(
        session_key: SecretString,
        lockout_pepper: SecretString,
        recovery_code_key: SecretString,
        totp_keys: Keyring,
    ) -> Self {
        Self {
            session_key,
            lockout_pepper,
            recovery_code_key,
            totp_keys,
        }
    }
}

impl fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKeys")
            .field("totp_key_id", self.totp_keys.current_id())
            .finish_non_exhaustive()
    }
}

/// What the HTTP layer knows about the client, stored with a new session (display only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// `CF-Connecting-IP`.
    pub ip: Option<String>,
    /// `User-Agent` (cut to 200 characters).
    pub user_agent: Option<String>,
}

/// A session just created or rotated: set `token` as the `__Host-` cookie with
/// `Max-Age = (expires_at − now) / 1000` and hand `csrf_token` to the client.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The cookie value (shown once; only its hash is stored).
    pub token: SessionToken,
    /// The session's CSRF token (`X-CSRF-Token`).
    pub csrf_token: SecretString,
    /// Owner.
    pub user_id: UserId,
    /// `Full`, or `Pending2fa` after a password step of a 2FA account.
    pub stage: SessionStage,
    /// Idle expiry, UTC ms.
    pub expires_at: i64,
}

/// The answer of a successful password step.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Logged in (no 2FA).
    LoggedIn(IssuedSession),
    /// 2FA is on: the `pending_2fa` session reaches only [`AccountService::login_totp`]
    /// (API: `totp_required`).
    TotpRequired(IssuedSession),
}

/// The uniform answer of register, resend, forgot password and email change: the same for
/// every input that passes validation (product.md §11.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckYourEmail {
    /// A message could not be handed to the mailer. For logs ONLY: the HTTP response must not
    /// change, or it would tell which addresses have accounts.
    pub mail_failure: Option<MailError>,
}

/// What a verification token confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerified {
    /// The registration address of this user.
    Registration(UserId),
    /// A new address of this user, now in effect.
    EmailChanged(UserId),
}

/// A TOTP enrolment in progress: show both once (QR code drawn client-side from the URI).
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// `otpauth://totp/…` for the QR code.
    pub otpauth_uri: SecretString,
    /// The base32 key for manual entry.
    pub manual_key: SecretString,
}

/// 2FA turned on: the recovery codes (show once) and the rotated session.
#[derive(Debug, Clone)]
pub struct TotpEnabled {
    /// 10 single-use recovery codes.
    pub recovery_codes: Vec<SecretString>,
    /// The current session under its new id (the other sessions were revoked).
    pub session: IssuedSession,
}

/// New recovery codes (show once) and the rotated session.
#[derive(Debug, Clone)]
pub struct RecoveryCodes {
    /// 10 single-use recovery codes; the old ones no longer work.
    pub codes: Vec<SecretString>,
    /// The current session under its new id (the other sessions were revoked).
    pub session: IssuedSession,
}

/// A public handle of a session for listing and revoking: 32 hex characters derived from
/// the token hash (SHA-256 with a label), so the stored lookup key never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionHandle(String);

impl SessionHandle {
    fn of(hash: &TokenHash) -> Self {
        let mut h = Sha256::new();
        h.update(b"cl-session-handle-v1\0");
        h.update(hash.as_bytes());
        let digest = h.finalize();
        Self(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
    }

    /// The handle string (API `id`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One session in the user's list (`GET /auth/sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Handle for `DELETE /auth/sessions/{id}`.
    pub id: SessionHandle,
    /// The session making the request.
    pub current: bool,
    /// Stage.
    pub stage: SessionStage,
    /// UTC ms of creation of the current id.
    pub created_at: i64,
    /// UTC ms of the last use.
    pub last_seen_at: i64,
    /// Idle expiry.
    pub expires_at: i64,
    /// Client IP at creation.
    pub ip: Option<String>,
    /// User agent at creation.
    pub user_agent: Option<String>,
}

/// A logged-in request: built only by [`AccountService::authenticate`] from an unexpired,
/// `full` session of an active user.
#[derive(Debug, Clone)]
pub struct Authenticated {
    user: StoredUser,
    session: StoredSession,
    /// The user's subscription, read with the session (`GateStore::session_grant`).
    subscription: Option<Subscription>,
}

impl Authenticated {
    /// The user.
    pub fn user(&self) -> &StoredUser {
        &self.user
    }

    /// The session (expiry already refreshed).
    pub fn session(&self) -> &StoredSession {
        &self.session
    }

    /// The public handle of this session.
    pub fn handle(&self) -> SessionHandle {
        SessionHandle::of(&self.session.token_hash)
    }

    /// Whether the last re-authentication is within [`REAUTH_WINDOW_MS`] of `now`.
    pub fn reauth_is_fresh(&self, now: i64) -> bool {
        self.session
            .reauth_at
            .is_some_and(|at| at <= now && now.saturating_sub(at) <= REAUTH_WINDOW_MS)
    }

    /// The user's effective tier and limits (the one policy, with this session's view-as).
    pub fn access(&self, subscription: Option<&Subscription>, now: i64) -> Access {
        effective_access(self.user.is_admin, self.session.view_as, subscription, now)
    }

    /// The user's subscription as read with the session.
    pub fn subscription(&self) -> Option<&Subscription> {
        self.subscription.as_ref()
    }

    /// [`Self::access`] from the subscription read with the session: no store read.
    pub fn tier_access(&self, now: i64) -> Access {
        self.access(self.subscription.as_ref(), now)
    }
}

// ---------------------------------------------------------------------------------------------
// Field validation
// ---------------------------------------------------------------------------------------------

/// One invalid input field (API `error.fields[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field name as in the request body.
    pub field: &'static str,
    /// Stable machine code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

/// Every invalid field of a request, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The errors.
    pub fn as_slice(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn check(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|e| e.code).collect();
        write!(f, "invalid fields: {}", codes.join(", "))
    }
}

/// THE password check of register, reset and change: one [`PasswordPolicy`], the same codes
/// and messages on every path; only the field name differs.
pub fn password_field_errors(field: &'static str, password: &SecretString) -> Vec<FieldError> {
    match PasswordPolicy.validate(password.expose_secret()) {
        Ok(()) => Vec::new(),
        Err(e) => e
            .violations()
            .iter()
            .map(|v| FieldError {
                field,
                code: v.code(),
                message: v.message().to_owned(),
            })
            .collect(),
    }
}

fn parse_email(field: &'static str, raw: &str, errors: &mut FieldErrors) -> Option<Email> {
    match Email::parse(raw) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.0.push(FieldError {
                field,
                code: e.code(),
                message: e.to_string(),
            });
            None
        }
    }
}

fn parse_username(raw: &str, errors: &mut FieldErrors) -> Option<Username> {
    match Username::parse(raw) {
        Ok(u) => Some(u),
        Err(e) => {
            errors.0.push(FieldError {
                field: "username",
                code: e.code(),
                message: e.to_string(),
            });
            None
        }
    }
}

fn check_password(field: &'static str, password: &SecretString, errors: &mut FieldErrors) {
    errors.0.extend(password_field_errors(field, password));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A failure of the server's own cryptography or randomness (never the client's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InternalError {
    /// Token generation or CSRF derivation.
    #[error("token: {0}")]
    Token(#[from] TokenError),
    /// Sealing or opening a TOTP secret (a decryption failure is an error, never a fallback).
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The lockout key could not be derived.
    #[error("lockout key: {0}")]
    Lockout(#[from] LockoutError),
    /// TOTP secret or recovery code generation.
    #[error("totp: {0}")]
    Totp(TotpError),
    /// 2FA is on but the stored secret is missing or unusable.
    #[error("stored 2FA state of user {0} is inconsistent")]
    TotpState(UserId),
}

/// Infrastructure failures shared by the helpers; every operation error converts from it.
#[derive(Debug)]
enum Fault {
    Store(StoreError),
    Hash(HashError),
    Internal(InternalError),
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<HashError> for Fault {
    fn from(e: HashError) -> Self {
        Self::Hash(e)
    }
}

impl From<InternalError> for Fault {
    fn from(e: InternalError) -> Self {
        Self::Internal(e)
    }
}

impl From<TokenError> for Fault {
    fn from(e: TokenError) -> Self {
        Self::Internal(InternalError::Token(e))
    }
}

macro_rules! op_error {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident $( ( $inner:ty ) )?,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            $($(#[$vmeta])* $variant $( ( $inner ) )?,)*
            /// The store failed (→ 503/500; details for logs only).
            #[error(transparent)]
            Store(#[from] StoreError),
            /// The password hasher failed or a stored hash is unreadable (→ 500).
            #[error(transparent)]
            Hash(#[from] HashError),
            /// Server-side cryptography or randomness failed (→ 500).
            #[error(transparent)]
            Internal(#[from] InternalError),
        }

        impl From<Fault> for $name {
            fn from(f: Fault) -> Self {
                match f {
                    Fault::Store(e) => Self::Store(e),
                    Fault::Hash(e) => Self::Hash(e),
                    Fault::Internal(e) => Self::Internal(e),
                }
            }
        }

        impl From<TokenError> for $name {
            fn from(e: TokenError) -> Self {
                Self::Internal(InternalError::Token(e))
            }
        }
    };
}

op_error! {
    /// Registration failed.
    RegisterError {
        /// Email, username or password invalid (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
        /// The username belongs to another account (→ `conflict`). Checked before the email,
        /// so it tells nothing about the email.
        #[error("username taken")]
        UsernameTaken,
    }
}

op_error! {
    /// Resending the verification mail failed.
    ResendError {
        /// Malformed email (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
    }
}

op_error! {
    /// Email verification failed.
    VerifyEmailError {
        /// Unknown, used, expired, superseded or malformed token (→ `validation_failed`).
        #[error("invalid or expired token")]
        InvalidToken,
        /// The new address was taken by another account meanwhile (→ `conflict`).
        #[error("email taken")]
        EmailTaken,
    }
}

op_error! {
    /// Login (password step) failed.
    LoginError {
        /// Unknown account, wrong password, locked account or deactivated account: ONE
        /// variant, same work done (→ `invalid_credentials`, identical body and headers).
        #[error("invalid credentials")]
        InvalidCredentials,
    }
}

op_error! {
    /// The TOTP step of a login failed.
    LoginTotpError {
        /// Wrong, reused or malformed code, or the account is locked (→
        /// `invalid_credentials`); the pending session stays until its 5th check.
        #[error("invalid code")]
        InvalidCode,
        /// No usable pending login: unknown, expired, out of attempts or already completed
        /// (→ `unauthorized`; start over with the password).
        #[error("no pending login")]
        SessionInvalid,
    }
}

op_error! {
    /// Authentication of a request's session failed.
    AuthError {
        /// No valid full session (→ `unauthorized`).
        #[error("unauthenticated")]
        Unauthenticated,
    }
}

op_error! {
    /// Forgot password failed.
    ForgotPasswordError {
        /// Malformed email (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
    }
}

op_error! {
    /// Password reset failed.
    ResetPasswordError {
        /// The new password breaks the policy (→ `validation_failed`); the token is kept.
        #[error("{0}")]
        Invalid(FieldErrors),
        /// Unknown, used, expired, superseded or malformed token (→ `validation_failed`).
        #[error("invalid or expired token")]
        InvalidToken,
    }
}

op_error! {
    /// Password change failed.
    ChangePasswordError {
        /// The new password breaks the policy (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
        /// The current password is wrong or the account is locked (→ `invalid_credentials`).
        #[error("wrong password")]
        WrongPassword,
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

op_error! {
    /// Re-authentication failed.
    ReauthError {
        /// Wrong password or code, missing code with 2FA on, or locked (→
        /// `invalid_credentials`).
        #[error("invalid credentials")]
        InvalidCredentials,
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

/// The operation needs a re-authentication within the last 10 minutes (→ `forbidden` with a
/// `reauth_required` code; the client calls `/auth/reauth` and retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("re-authentication required")]
pub struct ReauthRequired;

op_error! {
    /// Email change failed.
    ChangeEmailError {
        /// No recent re-authentication.
        #[error("re-authentication required")]
        ReauthRequired,
        /// Malformed or unchanged address (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
    }
}

op_error! {
    /// 2FA setup failed.
    TotpSetupError {
        /// No recent re-authentication.
        #[error("re-authentication required")]
        ReauthRequired,
        /// 2FA is already on (→ `conflict`).
        #[error("2FA already enabled")]
        AlreadyEnabled,
    }
}

op_error! {
    /// 2FA enabling failed.
    TotpEnableError {
        /// No setup in progress (→ `conflict`).
        #[error("2FA not set up")]
        NotSetUp,
        /// 2FA is already on (→ `conflict`).
        #[error("2FA already enabled")]
        AlreadyEnabled,
        /// The code does not match the new secret (→ `validation_failed`).
        #[error("invalid code")]
        InvalidCode,
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

op_error! {
    /// 2FA disabling failed.
    TotpDisableError {
        /// 2FA is off (→ `conflict`).
        #[error("2FA not enabled")]
        NotEnabled,
        /// Wrong password or code, or locked (→ `invalid_credentials`).
        #[error("invalid credentials")]
        InvalidCredentials,
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

op_error! {
    /// Recovery code regeneration failed.
    RecoveryCodesError {
        /// No recent re-authentication.
        #[error("re-authentication required")]
        ReauthRequired,
        /// 2FA is off (→ `conflict`).
        #[error("2FA not enabled")]
        NotEnabled,
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

op_error! {
    /// Listing or revoking sessions failed.
    SessionsError {
        /// No session of this user has that handle (→ `not_found`).
        #[error("session not found")]
        NotFound,
    }
}

op_error! {
    /// Account deletion failed.
    DeleteAccountError {
        /// No recent re-authentication.
        #[error("re-authentication required")]
        ReauthRequired,
    }
}

op_error! {
    /// An admin-only account operation failed.
    AdminError {
        /// The caller is not an admin (→ `forbidden`).
        #[error("not an admin")]
        NotAdmin,
        /// The target does not exist (→ `not_found`).
        #[error("not found")]
        NotFound,
        /// Malformed input (→ `validation_failed`).
        #[error("{0}")]
        Invalid(FieldErrors),
        /// The session disappeared meanwhile (→ `unauthorized`).
        #[error("session gone")]
        SessionGone,
    }
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

/// The account use cases over borrowed ports. Cheap to build per request.
pub struct AccountService<'a, S, M, H, C> {
    store: &'a S,
    mailer: &'a M,
    hasher: &'a H,
    clock: &'a C,
    keys: &'a AuthKeys,
}

impl<S, M, H, C> fmt::Debug for AccountService<'_, S, M, H, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

fn cut(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| s.chars().take(max).collect())
}

fn is_totp_shaped(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

impl<'a, S, M, H, C> AccountService<'a, S, M, H, C>
where
    S: AccountStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
{
    /// Wires the service.
    pub fn new(
        store: &'a S,
        mailer: &'a M,
        hasher: &'a H,
        clock: &'a C,
        keys: &'a AuthKeys,
    ) -> Self {
        Self {
            store,
            mailer,
            hasher,
            clock,
            keys,
        }
    }

    // ----- helpers -----------------------------------------------------------------------

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn acct_key(&self, email: &Email) -> Result<String, InternalError> {
        Ok(account_key(&self.keys.lockout_pepper, email)?)
    }

    fn csrf_of(&self, hash: &TokenHash) -> Result<SecretString, InternalError> {
        Ok(csrf_token(&self.keys.session_key, hash)?)
    }

    fn issued(
        &self,
        token: SessionToken,
        user_id: UserId,
        stage: SessionStage,
        expires_at: i64,
    ) -> Result<IssuedSession, InternalError> {
        Ok(IssuedSession {
            csrf_token: self.csrf_of(&token.hash())?,
            token,
            user_id,
            stage,
            expires_at,
        })
    }

    async fn create_session(
        &self,
        user_id: UserId,
        stage: SessionStage,
        client: &ClientInfo,
        now: i64,
    ) -> Result<IssuedSession, Fault> {
        let token = SessionToken::generate()?;
        let (expires_at, absolute, reauth_at) = match stage {
            SessionStage::Full => (
                now.saturating_add(SESSION_IDLE_MS),
                now.saturating_add(SESSION_ABSOLUTE_MS),
                // A login just proved the password (and the TOTP code): it counts as a
                // re-authentication.
                Some(now),
            ),
            SessionStage::Pending2fa => {
                let end = now.saturating_add(PENDING_2FA_MS);
                (end, end, None)
            }
        };
        self.store
            .create_session(&NewSession {
                token_hash: token.hash(),
                user_id,
                stage,
                view_as: None,
                created_at: now,
                expires_at,
                absolute_expires_at: absolute,
                reauth_at,
                ip: cut(client.ip.as_deref(), MAX_IP_CHARS),
                user_agent: cut(client.user_agent.as_deref(), MAX_USER_AGENT_CHARS),
            })
            .await?;
        Ok(self.issued(token, user_id, stage, expires_at)?)
    }

    /// Moves the current session to a new id; `None` when it vanished meanwhile.
    async fn rotate(&self, auth: &Authenticated) -> Result<Option<IssuedSession>, Fault> {
        let now = self.now();
        let token = SessionToken::generate()?;
        if !self
            .store
            .rotate_session(&auth.session.token_hash, &token.hash(), now)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(self.issued(
            token,
            auth.user.id,
            SessionStage::Full,
            auth.session.expires_at,
        )?))
    }

    /// Revokes every other session of the user and rotates the current one (password change,
    /// 2FA changes).
    async fn revoke_others_and_rotate(
        &self,
        auth: &Authenticated,
    ) -> Result<Option<IssuedSession>, Fault> {
        self.store
            .delete_user_sessions(auth.user.id, Some(&auth.session.token_hash))
            .await?;
        self.rotate(auth).await
    }

    async fn send_best_effort(
        &self,
        kind: MailKind,
        to: &Email,
        params: Vec<(&'static str, SecretString)>,
    ) -> Option<MailError> {
        let mail = Mail {
            kind,
            to: to.clone(),
            params,
        };
        self.mailer.send(&mail).await.err()
    }

    async fn issue_token(
        &self,
        purpose: TokenPurpose,
        user_id: UserId,
        new_email: Option<Email>,
        ttl_ms: i64,
    ) -> Result<OneTimeToken, Fault> {
        let now = self.now();
        let token = OneTimeToken::generate()?;
        self.store
            .issue_token(&NewAuthToken {
                purpose,
                token_hash: token.hash(),
                user_id,
                new_email,
                created_at: now,
                expires_at: now.saturating_add(ttl_ms),
            })
            .await?;
        Ok(token)
    }

    async fn send_verification(&self, user: &StoredUser) -> Result<Option<MailError>, Fault> {
        let token = self
            .issue_token(
                TokenPurpose::VerifyEmail,
                user.id,
                None,
                VERIFY_EMAIL_TTL_MS,
            )
            .await?;
        Ok(self
            .send_best_effort(
                MailKind::VerifyEmail,
                &user.email,
                vec![
                    (mail_param::TOKEN, SecretString::new(token.expose_secret())),
                    (
                        mail_param::USERNAME,
                        SecretString::new(user.username.as_str()),
                    ),
                ],
            )
            .await)
    }

    fn open_totp_secret(&self, user: &StoredUser) -> Result<TotpSecret, InternalError> {
        let enc = user
            .totp
            .secret_enc
            .as_deref()
            .ok_or(InternalError::TotpState(user.id))?;
        let plain = self
            .keys
            .totp_keys
            .open_str(enc, &totp_aad(&user.id.to_string()))?;
        TotpSecret::from_bytes(&plain).map_err(|_| InternalError::TotpState(user.id))
    }

    /// Checks a TOTP code (±1 step, each step once, via the store's compare-and-set) or, when
    /// the input is not six digits, a recovery code (consumed once).
    async fn check_second_factor(
        &self,
        user: &StoredUser,
        code: &SecretString,
        now: i64,
    ) -> Result<bool, Fault> {
        let cleaned: String = code
            .expose_secret()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let cleaned = SecretString::new(cleaned);
        if is_totp_shaped(cleaned.expose_secret()) {
            let secret = self.open_totp_secret(user)?;
            let last = user.totp.last_step.map(|s| u64::try_from(s).unwrap_or(0));
            return match secret.verify(cleaned.expose_secret(), now, last) {
                Ok(step) => {
                    let step =
                        i64::try_from(step).map_err(|_| InternalError::TotpState(user.id))?;
                    Ok(self.store.record_totp_step(user.id, step).await?)
                }
                Err(TotpError::Malformed | TotpError::Invalid | TotpError::Reused) => Ok(false),
                Err(e) => Err(InternalError::Totp(e).into()),
            };
        }
        match hash_recovery_code(
            &self.keys.recovery_code_key,
            &user.id.to_string(),
            cleaned.expose_secret(),
        ) {
            Ok(hash) => Ok(self
                .store
                .consume_recovery_code(user.id, &hash, now)
                .await?),
            Err(_) => Ok(false),
        }
    }

    /// Reserve-then-verify of the password of a known user (password step of sensitive
    /// operations). `Ok(true)` means the password is right; the caller records the success
    /// once the whole operation (second factor included) has succeeded.
    async fn guarded_password_check(
        &self,
        user: &StoredUser,
        password: &SecretString,
        now: i64,
    ) -> Result<(String, bool), Fault> {
        let acct = self.acct_key(&user.email)?;
        let reservation = self.store.reserve(&acct, now).await?;
        if reservation != Reservation::Allowed {
            self.hasher.verify_dummy(password).await;
            return Ok((acct, false));
        }
        let ok = self.hasher.verify(password, &user.password_hash).await?;
        Ok((acct, ok))
    }

    async fn new_recovery_codes(&self, user: UserId) -> Result<Vec<SecretString>, Fault> {
        let codes = generate_recovery_codes().map_err(InternalError::Totp)?;
        let id = user.to_string();
        let mut hashes = Vec::with_capacity(codes.len());
        for code in &codes {
            hashes.push(
                hash_recovery_code(&self.keys.recovery_code_key, &id, code.expose_secret())
                    .map_err(InternalError::Totp)?,
            );
        }
        self.store
            .replace_recovery_codes(user, &hashes, self.now())
            .await?;
        Ok(codes)
    }

    // ----- CSRF --------------------------------------------------------------------------

    /// A fresh pre-session for the login and register forms: set the token as a short-lived
    /// cookie and hand out its CSRF token. Nothing is stored.
    ///
    /// # Errors
    /// [`InternalError::Token`] when no randomness is available.
    pub fn pre_session(&self) -> Result<(SessionToken, SecretString), InternalError> {
        let token = SessionToken::generate()?;
        let csrf = self.csrf_of(&token.hash())?;
        Ok((token, csrf))
    }

    /// The CSRF token of an authenticated session (`GET /auth/me`).
    ///
    /// # Errors
    /// [`InternalError::Token`] (never with a valid key).
    pub fn csrf_token(&self, auth: &Authenticated) -> Result<SecretString, InternalError> {
        self.csrf_of(&auth.session.token_hash)
    }

    /// Checks the `X-CSRF-Token` header against the cookie token (session or pre-session), in
    /// constant time. The HTTP layer also checks `Origin` / `Sec-Fetch-Site`.
    pub fn verify_csrf(&self, cookie_token: &str, presented: &str) -> bool {
        match SessionToken::parse(cookie_token) {
            Ok(t) => verify_csrf_token(&self.keys.session_key, &t.hash(), presented),
            Err(_) => false,
        }
    }

    // ----- registration and verification -------------------------------------------------

    /// Registers an account and mails a verification link. When the email already has an
    /// account, its owner gets a notice instead and the answer is the same.
    ///
    /// # Errors
    /// [`RegisterError::Invalid`] (every broken field), [`RegisterError::UsernameTaken`],
    /// infrastructure variants.
    pub async fn register(
        &self,
        email: &str,
        username: &str,
        password: &SecretString,
    ) -> Result<CheckYourEmail, RegisterError> {
        let mut errors = FieldErrors::default();
        let email = parse_email("email", email, &mut errors);
        let username = parse_username(username, &mut errors);
        check_password("password", password, &mut errors);
        let (Some(email), Some(username)) = (email, username) else {
            return Err(RegisterError::Invalid(errors));
        };
        errors.check().map_err(RegisterError::Invalid)?;

        // The hash is computed on both paths, so a taken email takes as long as a new one.
        let password_hash = self.hasher.hash(password).await?;
        if self.store.username_taken(&username).await? {
            return Err(RegisterError::UsernameTaken);
        }
        let now = self.now();
        let mut attempts = 0;
        let user = loop {
            attempts += 1;
            let new = NewUser {
                email: email.clone(),
                username: username.clone(),
                password_hash: password_hash.clone(),
                ntfy_topic: generate_ntfy_topic()?,
                created_at: now,
            };
            match self.store.create_user(&new).await {
                Ok(user) => break user,
                Err(StoreError::Conflict("users.email")) => {
                    let mail_failure = self
                        .send_best_effort(MailKind::AccountExists, &email, Vec::new())
                        .await;
                    return Ok(CheckYourEmail { mail_failure });
                }
                Err(StoreError::Conflict("users.username")) => {
                    return Err(RegisterError::UsernameTaken)
                }
                // 64 random bits collided: draw another topic once.
                Err(StoreError::Conflict("users.ntfy_topic")) if attempts < 2 => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let mail_failure = self.send_verification(&user).await?;
        Ok(CheckYourEmail { mail_failure })
    }

    /// Sends a new verification link when the address belongs to an active, unverified
    /// account (the newer token voids the older); the same answer in every case.
    ///
    /// # Errors
    /// [`ResendError::Invalid`] for a malformed email; infrastructure variants.
    pub async fn resend_verification(&self, email: &str) -> Result<CheckYourEmail, ResendError> {
        let mut errors = FieldErrors::default();
        let Some(email) = parse_email("email", email, &mut errors) else {
            return Err(ResendError::Invalid(errors));
        };
        let mut outcome = CheckYourEmail::default();
        if let Some(user) = self.store.user_by_email(&email).await? {
            if user.is_active && !user.is_verified {
                outcome.mail_failure = self.send_verification(&user).await?;
            }
        }
        Ok(outcome)
    }

    /// Consumes an email token (from the URL fragment, POSTed by the page): a registration
    /// token verifies the account; an email-change token switches to the new address (which
    /// counts as verified).
    ///
    /// # Errors
    /// [`VerifyEmailError::InvalidToken`], [`VerifyEmailError::EmailTaken`], infrastructure.
    pub async fn verify_email(&self, token: &str) -> Result<EmailVerified, VerifyEmailError> {
        let Ok(token) = OneTimeToken::parse(token) else {
            return Err(VerifyEmailError::InvalidToken);
        };
        let now = self.now();
        let hash = token.hash();
        if let Some(t) = self
            .store
            .consume_token(&hash, TokenPurpose::VerifyEmail, now)
            .await?
        {
            return match self.store.set_verified(t.user_id, true).await {
                Ok(()) => Ok(EmailVerified::Registration(t.user_id)),
                Err(StoreError::NotFound(_)) => Err(VerifyEmailError::InvalidToken),
                Err(e) => Err(e.into()),
            };
        }
        let Some(t) = self
            .store
            .consume_token(&hash, TokenPurpose::ChangeEmail, now)
            .await?
        else {
            return Err(VerifyEmailError::InvalidToken);
        };
        let Some(new_email) = t.new_email else {
            return Err(VerifyEmailError::InvalidToken);
        };
        match self.store.set_email(t.user_id, &new_email).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(VerifyEmailError::EmailTaken),
            Err(StoreError::NotFound(_)) => return Err(VerifyEmailError::InvalidToken),
            Err(e) => return Err(e.into()),
        }
        self.store.set_verified(t.user_id, true).await?;
        Ok(EmailVerified::EmailChanged(t.user_id))
    }

    // ----- login -------------------------------------------------------------------------

    /// The password step. Order: canonical email → lockout reservation (atomic, BEFORE any
    /// password check) → user lookup → password verification (a dummy hash for locked or
    /// unknown accounts) → rehash when the parameters rose → the presented session (if any)
    /// is deleted → a fresh `full` session, or a `pending_2fa` one when 2FA is on. The
    /// lockout success is recorded only once the whole login (2FA included) has succeeded.
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`] for every credential problem; infrastructure.
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
        client: &ClientInfo,
        presented_session: Option<&str>,
    ) -> Result<LoginOutcome, LoginError> {
        let now = self.now();
        let Ok(email) = Email::parse(email) else {
            self.hasher.verify_dummy(password).await;
            return Err(LoginError::InvalidCredentials);
        };
        let acct = self.acct_key(&email)?;
        let reservation = self.store.reserve(&acct, now).await?;
        // Looked up in every case, so locked and unknown accounts do the same work.
        let user = self.store.user_by_email(&email).await?;
        let user = match (reservation, user) {
            (Reservation::Allowed, Some(user)) => user,
            _ => {
                self.hasher.verify_dummy(password).await;
                return Err(LoginError::InvalidCredentials);
            }
        };
        if !self.hasher.verify(password, &user.password_hash).await? || !user.is_active {
            return Err(LoginError::InvalidCredentials);
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            let rehashed = self.hasher.hash(password).await?;
            self.store.set_password(user.id, &rehashed, None).await?;
        }
        if let Some(old) = presented_session.and_then(|t| SessionToken::parse(t).ok()) {
            self.store.delete_session(&old.hash()).await?;
        }
        if user.totp.enabled {
            let pending = self
                .create_session(user.id, SessionStage::Pending2fa, client, now)
                .await?;
            return Ok(LoginOutcome::TotpRequired(pending));
        }
        self.store.record_success(&acct).await?;
        let session = self
            .create_session(user.id, SessionStage::Full, client, now)
            .await?;
        self.store.set_last_login(user.id, now).await?;
        Ok(LoginOutcome::LoggedIn(session))
    }

    /// The TOTP step of a login: a TOTP code (±1 step, a used step refused) or a recovery
    /// code (once). Each check is reserved on the pending session (at most 5, then it is
    /// deleted) AND on the account lockout before verifying. Success records the lockout
    /// success and turns the pending session into a full one under a NEW id.
    ///
    /// # Errors
    /// [`LoginTotpError::InvalidCode`], [`LoginTotpError::SessionInvalid`], infrastructure.
    pub async fn login_totp(
        &self,
        pending_session: &str,
        code: &SecretString,
    ) -> Result<IssuedSession, LoginTotpError> {
        let now = self.now();
        let Ok(token) = SessionToken::parse(pending_session) else {
            return Err(LoginTotpError::SessionInvalid);
        };
        let hash = token.hash();
        let Some(session) = self.store.session(&hash).await? else {
            return Err(LoginTotpError::SessionInvalid);
        };
        if session.stage != SessionStage::Pending2fa || now >= session.expires_at {
            return Err(LoginTotpError::SessionInvalid);
        }
        let user = match self.store.user(session.user_id).await? {
            Some(u) if u.is_active && u.totp.enabled => u,
            _ => {
                self.store.delete_session(&hash).await?;
                return Err(LoginTotpError::SessionInvalid);
            }
        };
        let Some(attempt) = self
            .store
            .reserve_totp_attempt(&hash, now, MAX_TOTP_ATTEMPTS)
            .await?
        else {
            self.store.delete_session(&hash).await?;
            return Err(LoginTotpError::SessionInvalid);
        };
        let acct = self.acct_key(&user.email)?;
        let ok = match self.store.reserve(&acct, now).await? {
            Reservation::Allowed => self.check_second_factor(&user, code, now).await?,
            Reservation::Locked { .. } => false,
        };
        if !ok {
            if attempt >= MAX_TOTP_ATTEMPTS {
                self.store.delete_session(&hash).await?;
            }
            return Err(LoginTotpError::InvalidCode);
        }
        self.store.record_success(&acct).await?;
        let new = SessionToken::generate()?;
        let expires_at = now.saturating_add(SESSION_IDLE_MS);
        if !self
            .store
            .promote_session(
                &hash,
                &new.hash(),
                now,
                expires_at,
                now.saturating_add(SESSION_ABSOLUTE_MS),
            )
            .await?
        {
            return Err(LoginTotpError::SessionInvalid);
        }
        self.store.set_last_login(user.id, now).await?;
        Ok(self.issued(new, user.id, SessionStage::Full, expires_at)?)
    }

    /// Resolves the session cookie of a request: an unexpired `full` session of an active
    /// user. Pushes the idle expiry forward (7 days, capped at the absolute 30 days) at most
    /// once a minute. Pending 2FA sessions are refused here, which is what confines them to
    /// the TOTP step. Session, user and subscription come from ONE store read
    /// (`GateStore::session_grant`); the touch is the only other statement, once a minute.
    ///
    /// # Errors
    /// [`AuthError::Unauthenticated`]; infrastructure.
    pub async fn authenticate(&self, session_token: &str) -> Result<Authenticated, AuthError> {
        let now = self.now();
        let Ok(token) = SessionToken::parse(session_token) else {
            return Err(AuthError::Unauthenticated);
        };
        let hash = token.hash();
        let Some(SessionGrant {
            mut session,
            user,
            subscription,
        }) = self.store.session_grant(&hash).await?
        else {
            return Err(AuthError::Unauthenticated);
        };
        if session.stage != SessionStage::Full
            || now >= session.expires_at
            || now >= session.absolute_expires_at
            || user.id != session.user_id
        {
            return Err(AuthError::Unauthenticated);
        }
        if !user.is_active {
            return Err(AuthError::Unauthenticated);
        }
        if now.saturating_sub(session.last_seen_at) >= TOUCH_INTERVAL_MS {
            let expires_at = now
                .saturating_add(SESSION_IDLE_MS)
                .min(session.absolute_expires_at);
            if !self.store.touch_session(&hash, now, expires_at).await? {
                return Err(AuthError::Unauthenticated);
            }
            session.last_seen_at = now;
            session.expires_at = expires_at;
        }
        Ok(Authenticated {
            user,
            session,
            subscription,
        })
    }

    /// Deletes the session row (idempotent; a malformed token is a no-op).
    ///
    /// # Errors
    /// `Store`.
    pub async fn logout(&self, session_token: &str) -> Result<(), StoreError> {
        if let Ok(token) = SessionToken::parse(session_token) {
            self.store.delete_session(&token.hash()).await?;
        }
        Ok(())
    }

    // ----- passwords ---------------------------------------------------------------------

    /// Mails a reset link (256-bit token, stored hashed, 1 h, newer voids older) when the
    /// address belongs to an active account; the same answer in every case.
    ///
    /// # Errors
    /// [`ForgotPasswordError::Invalid`] for a malformed email; infrastructure.
    pub async fn forgot_password(
        &self,
        email: &str,
    ) -> Result<CheckYourEmail, ForgotPasswordError> {
        let mut errors = FieldErrors::default();
        let Some(email) = parse_email("email", email, &mut errors) else {
            return Err(ForgotPasswordError::Invalid(errors));
        };
        let mut outcome = CheckYourEmail::default();
        if let Some(user) = self.store.user_by_email(&email).await? {
            if user.is_active {
                let token = self
                    .issue_token(
                        TokenPurpose::ResetPassword,
                        user.id,
                        None,
                        RESET_PASSWORD_TTL_MS,
                    )
                    .await?;
                outcome.mail_failure = self
                    .send_best_effort(
                        MailKind::PasswordReset,
                        &user.email,
                        vec![(mail_param::TOKEN, SecretString::new(token.expose_secret()))],
                    )
                    .await;
            }
        }
        Ok(outcome)
    }

    /// Sets a new password with a reset token. The policy is checked first (a refused
    /// password keeps the token). Success revokes ALL sessions of the user and marks the
    /// email verified (the token proved it). It never bypasses 2FA: no session is created and
    /// the TOTP settings are untouched, so the next login still goes through the TOTP step;
    /// the lockout state is untouched too.
    ///
    /// # Errors
    /// [`ResetPasswordError::Invalid`], [`ResetPasswordError::InvalidToken`], infrastructure.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &SecretString,
    ) -> Result<UserId, ResetPasswordError> {
        let mut errors = FieldErrors::default();
        check_password("password", new_password, &mut errors);
        errors.check().map_err(ResetPasswordError::Invalid)?;
        let Ok(token) = OneTimeToken::parse(token) else {
            return Err(ResetPasswordError::InvalidToken);
        };
        let new_hash = self.hasher.hash(new_password).await?;
        let now = self.now();
        let Some(t) = self
            .store
            .consume_token(&token.hash(), TokenPurpose::ResetPassword, now)
            .await?
        else {
            return Err(ResetPasswordError::InvalidToken);
        };
        let Some(user) = self.store.user(t.user_id).await? else {
            return Err(ResetPasswordError::InvalidToken);
        };
        self.store
            .set_password(user.id, &new_hash, Some(now))
            .await?;
        self.store.delete_user_sessions(user.id, None).await?;
        if !user.is_verified {
            self.store.set_verified(user.id, true).await?;
        }
        let _ = self
            .send_best_effort(MailKind::PasswordChanged, &user.email, Vec::new())
            .await;
        Ok(user.id)
    }

    /// Changes the password: the current one is required (reserved on the account lockout
    /// first), the new one passes the policy; the user's OTHER sessions are revoked and the
    /// current one moves to a new id.
    ///
    /// # Errors
    /// [`ChangePasswordError::Invalid`], [`ChangePasswordError::WrongPassword`],
    /// [`ChangePasswordError::SessionGone`], infrastructure.
    pub async fn change_password(
        &self,
        auth: &Authenticated,
        current_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<IssuedSession, ChangePasswordError> {
        let mut errors = FieldErrors::default();
        check_password("new_password", new_password, &mut errors);
        errors.check().map_err(ChangePasswordError::Invalid)?;
        let now = self.now();
        let (acct, ok) = self
            .guarded_password_check(&auth.user, current_password, now)
            .await?;
        if !ok {
            return Err(ChangePasswordError::WrongPassword);
        }
        self.store.record_success(&acct).await?;
        let new_hash = self.hasher.hash(new_password).await?;
        self.store
            .set_password(auth.user.id, &new_hash, Some(now))
            .await?;
        let session = self
            .revoke_others_and_rotate(auth)
            .await?
            .ok_or(ChangePasswordError::SessionGone)?;
        let _ = self
            .send_best_effort(MailKind::PasswordChanged, &auth.user.email, Vec::new())
            .await;
        Ok(session)
    }

    // ----- re-authentication -------------------------------------------------------------

    /// Re-authenticates the session: the password, plus a TOTP or recovery code when 2FA is
    /// on (both reserved on the account lockout first). Opens a 10-minute window for email
    /// change, 2FA setup, recovery codes, API keys, exchange credentials, account deletion
    /// and sensitive admin actions.
    ///
    /// # Errors
    /// [`ReauthError::InvalidCredentials`], [`ReauthError::SessionGone`], infrastructure.
    pub async fn reauthenticate(
        &self,
        auth: &Authenticated,
        password: &SecretString,
        code: Option<&SecretString>,
    ) -> Result<(), ReauthError> {
        let now = self.now();
        let (acct, ok) = self
            .guarded_password_check(&auth.user, password, now)
            .await?;
        if !ok {
            return Err(ReauthError::InvalidCredentials);
        }
        if auth.user.totp.enabled {
            let Some(code) = code else {
                return Err(ReauthError::InvalidCredentials);
            };
            if !self.check_second_factor(&auth.user, code, now).await? {
                return Err(ReauthError::InvalidCredentials);
            }
        }
        self.store.record_success(&acct).await?;
        if !self.store.set_reauth(&auth.session.token_hash, now).await? {
            return Err(ReauthError::SessionGone);
        }
        Ok(())
    }

    /// Whether the session re-authenticated within the last 10 minutes; for the HTTP layer's
    /// own sensitive routes (API keys, exchange credentials, admin actions).
    ///
    /// # Errors
    /// [`ReauthRequired`].
    pub fn require_recent_reauth(&self, auth: &Authenticated) -> Result<(), ReauthRequired> {
        if auth.reauth_is_fresh(self.now()) {
            Ok(())
        } else {
            Err(ReauthRequired)
        }
    }

    // ----- email change ------------------------------------------------------------------

    /// Starts an email change (recent re-auth needed): the new address gets a confirmation
    /// link (24 h) and the old one a notice. When the new address already has an account, it
    /// gets a notice instead; the answer is the same.
    ///
    /// # Errors
    /// [`ChangeEmailError::ReauthRequired`], [`ChangeEmailError::Invalid`], infrastructure.
    pub async fn change_email(
        &self,
        auth: &Authenticated,
        new_email: &str,
    ) -> Result<CheckYourEmail, ChangeEmailError> {
        self.require_recent_reauth(auth)
            .map_err(|_| ChangeEmailError::ReauthRequired)?;
        let mut errors = FieldErrors::default();
        let Some(new_email) = parse_email("email", new_email, &mut errors) else {
            return Err(ChangeEmailError::Invalid(errors));
        };
        if new_email == auth.user.email {
            errors.0.push(FieldError {
                field: "email",
                code: "email_unchanged",
                message: "This is already your email address.".to_owned(),
            });
            return Err(ChangeEmailError::Invalid(errors));
        }
        let mut outcome = CheckYourEmail::default();
        if self.store.user_by_email(&new_email).await?.is_some() {
            outcome.mail_failure = self
                .send_best_effort(MailKind::EmailChangeRejected, &new_email, Vec::new())
                .await;
            return Ok(outcome);
        }
        let token = self
            .issue_token(
                TokenPurpose::ChangeEmail,
                auth.user.id,
                Some(new_email.clone()),
                CHANGE_EMAIL_TTL_MS,
            )
            .await?;
        outcome.mail_failure = self
            .send_best_effort(
                MailKind::ConfirmNewEmail,
                &new_email,
                vec![(mail_param::TOKEN, SecretString::new(token.expose_secret()))],
            )
            .await;
        let _ = self
            .send_best_effort(
                MailKind::EmailChangeRequested,
                &auth.user.email,
                vec![(mail_param::NEW_EMAIL, SecretString::new(new_email.as_str()))],
            )
            .await;
        Ok(outcome)
    }

    // ----- 2FA ---------------------------------------------------------------------------

    /// Starts a TOTP enrolment (recent re-auth needed): a new 160-bit secret, stored sealed
    /// with AES-256-GCM (AAD = user id; the key id travels in the envelope and its AAD) and
    /// returned ONCE as an otpauth URI and a manual key. 2FA is on only after
    /// [`AccountService::enable_totp`].
    ///
    /// # Errors
    /// [`TotpSetupError::ReauthRequired`], [`TotpSetupError::AlreadyEnabled`],
    /// infrastructure.
    pub async fn setup_totp(&self, auth: &Authenticated) -> Result<TotpSetup, TotpSetupError> {
        self.require_recent_reauth(auth)
            .map_err(|_| TotpSetupError::ReauthRequired)?;
        if auth.user.totp.enabled {
            return Err(TotpSetupError::AlreadyEnabled);
        }
        let secret = TotpSecret::generate().map_err(InternalError::Totp)?;
        let sealed = self
            .keys
            .totp_keys
            .seal(secret.expose_bytes(), &totp_aad(&auth.user.id.to_string()))
            .map_err(InternalError::Crypto)?;
        if !self
            .store
            .set_totp_secret(auth.user.id, &sealed.encode(), sealed.key_id().as_str())
            .await?
        {
            return Err(TotpSetupError::AlreadyEnabled);
        }
        Ok(TotpSetup {
            otpauth_uri: secret.otpauth_uri(auth.user.email.as_str()),
            manual_key: secret.to_base32(),
        })
    }

    /// Confirms the enrolment with a code of the new secret: 2FA goes on (only if the secret
    /// is still the one the code was checked against), 10 recovery codes are issued (shown
    /// once, stored hashed), the other sessions are revoked and the current one rotates.
    ///
    /// # Errors
    /// [`TotpEnableError`] variants; infrastructure.
    pub async fn enable_totp(
        &self,
        auth: &Authenticated,
        code: &SecretString,
    ) -> Result<TotpEnabled, TotpEnableError> {
        let now = self.now();
        let Some(user) = self.store.user(auth.user.id).await? else {
            return Err(TotpEnableError::SessionGone);
        };
        if user.totp.enabled {
            return Err(TotpEnableError::AlreadyEnabled);
        }
        let Some(enc) = user.totp.secret_enc.clone() else {
            return Err(TotpEnableError::NotSetUp);
        };
        let secret = self.open_totp_secret(&user)?;
        let cleaned: String = code
            .expose_secret()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let Ok(step) = secret.verify(&cleaned, now, None) else {
            return Err(TotpEnableError::InvalidCode);
        };
        let step = i64::try_from(step).map_err(|_| InternalError::TotpState(user.id))?;
        let recovery_codes = self.new_recovery_codes(user.id).await?;
        if !self.store.enable_totp(user.id, &enc, step).await? {
            return Err(TotpEnableError::NotSetUp);
        }
        let session = self
            .revoke_others_and_rotate(auth)
            .await?
            .ok_or(TotpEnableError::SessionGone)?;
        let _ = self
            .send_best_effort(MailKind::TwoFactorEnabled, &user.email, Vec::new())
            .await;
        Ok(TotpEnabled {
            recovery_codes,
            session,
        })
    }

    /// Turns 2FA off with the password AND a TOTP or recovery code in the same request (a
    /// re-authentication in itself, reserved on the account lockout); the secret and the
    /// recovery codes are deleted, the other sessions revoked, the current one rotated.
    ///
    /// # Errors
    /// [`TotpDisableError`] variants; infrastructure.
    pub async fn disable_totp(
        &self,
        auth: &Authenticated,
        password: &SecretString,
        code: &SecretString,
    ) -> Result<IssuedSession, TotpDisableError> {
        if !auth.user.totp.enabled {
            return Err(TotpDisableError::NotEnabled);
        }
        let now = self.now();
        let (acct, ok) = self
            .guarded_password_check(&auth.user, password, now)
            .await?;
        if !ok || !self.check_second_factor(&auth.user, code, now).await? {
            return Err(TotpDisableError::InvalidCredentials);
        }
        self.store.record_success(&acct).await?;
        self.store.clear_totp(auth.user.id).await?;
        self.store
            .replace_recovery_codes(auth.user.id, &[], now)
            .await?;
        let session = self
            .revoke_others_and_rotate(auth)
            .await?
            .ok_or(TotpDisableError::SessionGone)?;
        let _ = self
            .send_best_effort(MailKind::TwoFactorDisabled, &auth.user.email, Vec::new())
            .await;
        Ok(session)
    }

    /// Replaces the recovery codes (recent re-auth needed, 2FA on): 10 new codes shown once;
    /// as a 2FA change it revokes the other sessions and rotates the current one.
    ///
    /// # Errors
    /// [`RecoveryCodesError`] variants; infrastructure.
    pub async fn regenerate_recovery_codes(
        &self,
        auth: &Authenticated,
    ) -> Result<RecoveryCodes, RecoveryCodesError> {
        self.require_recent_reauth(auth)
            .map_err(|_| RecoveryCodesError::ReauthRequired)?;
        if !auth.user.totp.enabled {
            return Err(RecoveryCodesError::NotEnabled);
        }
        let codes = self.new_recovery_codes(auth.user.id).await?;
        let session = self
            .revoke_others_and_rotate(auth)
            .await?
            .ok_or(RecoveryCodesError::SessionGone)?;
        Ok(RecoveryCodes { codes, session })
    }

    // ----- sessions ----------------------------------------------------------------------

    /// The user's own sessions, most recently used first.
    ///
    /// # Errors
    /// Infrastructure variants.
    pub async fn list_sessions(
        &self,
        auth: &Authenticated,
    ) -> Result<Vec<SessionInfo>, SessionsError> {
        let rows = self.store.user_sessions(auth.user.id).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                id: SessionHandle::of(&s.token_hash),
                current: s.token_hash == auth.session.token_hash,
                stage: s.stage,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Revokes one of the user's own sessions by handle (the current one too: that is a
    /// logout). Another user's handle is `NotFound`. Returns whether it was the current one.
    ///
    /// # Errors
    /// [`SessionsError::NotFound`]; infrastructure.
    pub async fn revoke_session(
        &self,
        auth: &Authenticated,
        handle: &str,
    ) -> Result<bool, SessionsError> {
        let rows = self.store.user_sessions(auth.user.id).await?;
        let Some(target) = rows
            .into_iter()
            .find(|s| SessionHandle::of(&s.token_hash).as_str() == handle)
        else {
            return Err(SessionsError::NotFound);
        };
        self.store.delete_session(&target.token_hash).await?;
        Ok(target.token_hash == auth.session.token_hash)
    }

    /// Revokes every other session of the user; returns how many.
    ///
    /// # Errors
    /// Infrastructure variants.
    pub async fn revoke_other_sessions(&self, auth: &Authenticated) -> Result<u64, SessionsError> {
        Ok(self
            .store
            .delete_user_sessions(auth.user.id, Some(&auth.session.token_hash))
            .await?)
    }

    /// Deletes the account (recent re-auth needed) with its sessions, tokens and codes.
    ///
    /// # Errors
    /// [`DeleteAccountError::ReauthRequired`]; infrastructure.
    pub async fn delete_account(&self, auth: &Authenticated) -> Result<(), DeleteAccountError> {
        self.require_recent_reauth(auth)
            .map_err(|_| DeleteAccountError::ReauthRequired)?;
        self.store.delete_user(auth.user.id).await?;
        let _ = self
            .send_best_effort(MailKind::AccountDeleted, &auth.user.email, Vec::new())
            .await;
        Ok(())
    }

    // ----- admin -------------------------------------------------------------------------

    /// An admin views the app as a tier (or stops, with `None`); a privilege change, so the
    /// session id rotates.
    ///
    /// # Errors
    /// [`AdminError::NotAdmin`], [`AdminError::SessionGone`]; infrastructure.
    pub async fn set_view_as(
        &self,
        auth: &Authenticated,
        view_as: Option<Tier>,
    ) -> Result<IssuedSession, AdminError> {
        if !auth.user.is_admin {
            return Err(AdminError::NotAdmin);
        }
        if !self
            .store
            .set_view_as(&auth.session.token_hash, view_as)
            .await?
        {
            return Err(AdminError::SessionGone);
        }
        self.rotate(auth).await?.ok_or(AdminError::SessionGone)
    }

    /// Admin unlock of an account's lockout (by email; unknown emails included).
    ///
    /// # Errors
    /// [`AdminError::NotAdmin`], [`AdminError::Invalid`]; infrastructure.
    pub async fn admin_unlock(&self, admin: &Authenticated, email: &str) -> Result<(), AdminError> {
        if !admin.user.is_admin {
            return Err(AdminError::NotAdmin);
        }
        let mut errors = FieldErrors::default();
        let Some(email) = parse_email("email", email, &mut errors) else {
            return Err(AdminError::Invalid(errors));
        };
        let acct = self.acct_key(&email)?;
        Ok(self.store.unlock(&acct).await?)
    }

    /// Admin activation/deactivation; deactivation revokes every session of the user.
    ///
    /// # Errors
    /// [`AdminError::NotAdmin`], [`AdminError::NotFound`]; infrastructure.
    pub async fn admin_set_active(
        &self,
        admin: &Authenticated,
        user: UserId,
        active: bool,
    ) -> Result<(), AdminError> {
        if !admin.user.is_admin {
            return Err(AdminError::NotAdmin);
        }
        match self.store.set_active(user, active).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(AdminError::NotFound),
            Err(e) => return Err(e.into()),
        }
        if !active {
            self.store.delete_user_sessions(user, None).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::new(s)
    }

    #[test]
    fn the_same_password_rules_give_the_same_messages_on_every_field() {
        let weak = secret("short");
        let a = password_field_errors("password", &weak);
        let b = password_field_errors("new_password", &weak);
        assert!(!a.is_empty());
        let strip = |v: &[FieldError]| {
            v.iter()
                .map(|e| (e.code, e.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a), strip(&b));
        assert!(password_field_errors("password", &secret("Tr0ub4dour&3xtra")).is_empty());
    }

    #[test]
    fn session_handles_are_stable_and_do_not_reveal_the_lookup_hash() {
        let token = SessionToken::generate().unwrap();
        let a = SessionHandle::of(&token.hash());
        assert_eq!(a, SessionHandle::of(&token.hash()));
        assert_eq!(a.as_str().len(), 32);
        assert!(!token.hash().to_hex().contains(a.as_str()));
    }

    #[test]
    fn totp_shaped_input_is_six_ascii_digits() {
        assert!(is_totp_shaped("123456"));
        assert!(!is_totp_shaped("12345"));
        assert!(!is_totp_shaped("abcd-efgh-jk"));
        assert!(!is_totp_shaped("１２３４５６"));
    }

    #[test]
    fn a_reauth_counts_for_ten_minutes() {
        let auth = |reauth_at| Authenticated {
            user: StoredUser {
                id: UserId(1),
                email: Email::parse("a@example.com").unwrap(),
                username: Username::parse("abc").unwrap(),
                password_hash: secret("x"),
                is_active: true,
                is_verified: true,
                is_admin: false,
                must_change_password: false,
                ntfy_topic: "t".into(),
                totp: Default::default(),
                password_changed_at: None,
                created_at: 0,
                last_login_at: None,
            },
            session: StoredSession {
                token_hash: SessionToken::generate().unwrap().hash(),
                user_id: UserId(1),
                stage: SessionStage::Full,
                view_as: None,
                totp_failures: 0,
                created_at: 0,
                last_seen_at: 0,
                expires_at: i64::MAX,
                absolute_expires_at: i64::MAX,
                reauth_at,
                ip: None,
                user_agent: None,
            },
            subscription: None,
        };
        assert!(!auth(None).reauth_is_fresh(1_000));
        assert!(auth(Some(1_000)).reauth_is_fresh(1_000 + REAUTH_WINDOW_MS));
        assert!(!auth(Some(1_000)).reauth_is_fresh(1_001 + REAUTH_WINDOW_MS));
        assert!(
            !auth(Some(5_000)).reauth_is_fresh(1_000),
            "a future reauth is not trusted"
        );
    }

    #[test]
    fn auth_keys_do_not_print_secrets() {
        let keys = AuthKeys::new(
            secret("session-key-session-key-session-key"),
            secret("pepper-pepper-pepper-pepper-pepper"),
            secret("recovery-recovery-recovery-recovery"),
            Keyring::new(
                cl_auth::crypto::KeyId::parse("k1").unwrap(),
                cl_auth::crypto::EncryptionKey::from_bytes([7; 32]),
            ),
        );
        let printed = format!("{keys:?}");
        assert!(!printed.contains("session-key") && !printed.contains("pepper"));
        assert!(printed.contains("k1"));
    }
}
