//! Who may call a route (product.md §11.1: deny by default). Every entry of the route table
//! declares an [`Access`]; [`authorize`] is the one gate every request passes before its
//! handler runs.
//!
//! Only [`Access::Public`] is served today. Sessions, API keys and admin checks arrive with
//! the auth issue; until then every other level answers `401 unauthorized`, so a route
//! declared with a stricter level can never leak by accident.

use crate::error::ApiError;
use cl_api_types::ErrorCode;

/// An API-key scope (product.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `read:symbols`
    ReadSymbols,
    /// `read:candles`
    ReadCandles,
    /// `read:patterns`
    ReadPatterns,
    /// `read:signals`
    ReadSignals,
    /// `read:matrix`
    ReadMatrix,
    /// `read:portfolio`
    ReadPortfolio,
    /// `write:portfolio`
    WritePortfolio,
    /// `write:backtest`
    WriteBacktest,
    /// `write:scan`
    WriteScan,
    /// `write:fetch`
    WriteFetch,
    /// `admin:scheduler` (admin keys only)
    AdminScheduler,
    /// `admin:metrics` (admin keys only)
    AdminMetrics,
}

impl Scope {
    /// The wire name, e.g. `read:candles`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadSymbols => "read:symbols",
            Self::ReadCandles => "read:candles",
            Self::ReadPatterns => "read:patterns",
            Self::ReadSignals => "read:signals",
            Self::ReadMatrix => "read:matrix",
            Self::ReadPortfolio => "read:portfolio",
            Self::WritePortfolio => "write:portfolio",
            Self::WriteBacktest => "write:backtest",
            Self::WriteScan => "write:scan",
            Self::WriteFetch => "write:fetch",
            Self::AdminScheduler => "admin:scheduler",
            Self::AdminMetrics => "admin:metrics",
        }
    }
}

/// The access level a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in user (session cookie; CSRF on state changes).
    Session,
    /// A session, or an API key holding every listed scope.
    ApiKey(&'static [Scope]),
    /// An admin session.
    Admin,
}

impl Access {
    /// Whether the route needs credentials (drives the OpenAPI `security` and 401 entries).
    pub const fn needs_credentials(self) -> bool {
        !matches!(self, Self::Public)
    }
}

/// The gate: decides whether the request may reach the handler.
///
/// # Errors
/// `unauthorized` for every level but [`Access::Public`] until authentication exists.
pub fn authorize(access: Access) -> Result<(), ApiError> {
    match access {
        Access::Public => Ok(()),
        Access::Session | Access::ApiKey(_) | Access::Admin => {
            Err(ApiError::new(ErrorCode::Unauthorized))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_routes_pass_the_gate_until_auth_lands() {
        assert!(authorize(Access::Public).is_ok());
        for denied in [
            Access::Session,
            Access::ApiKey(&[Scope::ReadCandles, Scope::ReadPatterns]),
            Access::Admin,
        ] {
            let err = authorize(denied).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Unauthorized);
        }
    }

    #[test]
    fn scopes_have_their_spec_names() {
        assert_eq!(Scope::ReadMatrix.as_str(), "read:matrix");
        assert_eq!(Scope::AdminMetrics.as_str(), "admin:metrics");
    }
}
