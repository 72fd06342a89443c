//! `GET/PUT/DELETE /me/exchange-credentials` (product.md §7, §3): the caller's exchange API
//! credentials, thin over `cl_app::exchange_credentials::CredentialService`.
//!
//! Design: session only (CSRF on writes). Pro and premium only (`tier_required`); PUT needs a
//! re-authentication within the last 10 minutes (`reauth_required`). Values are sealed with
//! AES-256-GCM under `CREDENTIALS_ENCRYPTION_KEY` ([`credentials_keyring`], key id `cred1`
//! stored per row) and only ever answered masked. The request DTO's `Debug` redacts the
//! secrets and nothing here logs a value; without the key the routes answer 503.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, reauth_required, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, NoParams};
use crate::portfolio::parse;
use crate::routes::{PathParams, Route};
use cl_api_types::{
    CredentialsDeleted, ErrorCode, ExchangeCredentialDto, ExchangeCredentialRequest, FieldError,
};
use cl_app::exchange_credentials::{
    CredentialError, CredentialInput, CredentialService, MaskedCredential,
};
use cl_app::ports::exchange_credentials::ExchangeCredentialStore;
use cl_auth::crypto::{EncryptionKey, KeyId, Keyring};
use cl_auth::SecretString;

/// The id of the current credentials key (a rotation adds a new id and keeps this one as a
/// previous key of the keyring).
pub const CREDENTIALS_KEY_ID: &str = "cred1";

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::ExchangeCredentials,
    Route::ExchangeCredentialsPut,
    Route::ExchangeCredentialsDelete,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// The keyring of `CREDENTIALS_ENCRYPTION_KEY` (32 bytes, base64 or hex as the TOTP key);
/// `None` when unset or unusable.
pub fn credentials_keyring(secret: Option<&SecretString>) -> Option<Keyring> {
    let key = EncryptionKey::parse(secret?).ok()?;
    Some(Keyring::new(KeyId::parse(CREDENTIALS_KEY_ID).ok()?, key))
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Invalid(fields) => ApiError::new(ErrorCode::ValidationFailed)
                .with_fields(
                    fields
                        .into_iter()
                        .map(|f| FieldError {
                            field: f.field.to_owned(),
                            code: f.code.to_owned(),
                            message: f.message,
                        })
                        .collect(),
                ),
            CredentialError::TierRequired => ApiError::new(ErrorCode::TierRequired)
                .with_message("Exchange credentials need the pro tier or higher (required: pro)."),
            CredentialError::ReauthRequired => reauth_required(),
            CredentialError::Crypto => ApiError::internal("credentials sealing failed"),
            CredentialError::Store(s) => ApiError::from(s),
        }
    }
}

fn dto(m: MaskedCredential) -> ExchangeCredentialDto {
    ExchangeCredentialDto {
        exchange: m.exchange,
        label: m.label,
        api_key_masked: m.api_key_masked,
        has_passphrase: m.has_passphrase,
        key_id: m.key_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Serves one of [`ROUTES`].
///
/// # Errors
/// `unauthorized`, `tier_required`, `reauth_required` (403), `validation_failed`, 503 without
/// the key.
pub async fn serve<S: ExchangeCredentialStore>(
    store: &S,
    keys: Option<&Keyring>,
    route: Route,
    path: &PathParams,
    who: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    NoParams::extract(req, path)?;
    let auth = who
        .auth()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    let keys = keys.ok_or_else(|| {
        ApiError::new(ErrorCode::ServiceUnavailable)
            .with_cause("CREDENTIALS_ENCRYPTION_KEY is not configured")
    })?;
    let now = ctx.now_ms;
    let user = auth.user().id;
    let access = crate::portfolio::tier_access(who)?;
    let svc = CredentialService::new(store, keys);
    match route {
        Route::ExchangeCredentials => {
            let list = svc.list(user, &access).await?;
            error::ok(ctx, 200, list.into_iter().map(dto).collect::<Vec<_>>())
        }
        Route::ExchangeCredentialsPut => {
            let r = parse::<ExchangeCredentialRequest>(req)?;
            let input = CredentialInput {
                exchange: r.exchange,
                label: r.label,
                api_key: SecretString::new(r.api_key),
                api_secret: SecretString::new(r.api_secret),
                passphrase: r.passphrase.map(SecretString::new),
            };
            let m = svc
                .put(user, &access, auth.reauth_is_fresh(now), &input, now)
                .await?;
            error::ok(ctx, 200, dto(m))
        }
        Route::ExchangeCredentialsDelete => {
            parse::<crate::body::Empty>(req)?;
            let deleted = svc.delete_all(user).await?;
            error::ok(ctx, 200, CredentialsDeleted { deleted })
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}
