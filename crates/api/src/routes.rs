//! The route table: every `/api/v1` route is declared here once, with its methods. Unknown
//! paths get `not_found`, known paths with the wrong method `method_not_allowed`.

use crate::http::Method;

/// The API prefix.
pub const API_PREFIX: &str = "/api/v1";

/// A matched route. The name doubles as the route template in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/v1/health`
    Health,
    /// `GET /api/v1/health/live`
    HealthLive,
    /// `GET /api/v1/health/ready`
    HealthReady,
}

impl Route {
    /// The route template, for logs and metrics.
    pub const fn template(self) -> &'static str {
        match self {
            Self::Health => "/api/v1/health",
            Self::HealthLive => "/api/v1/health/live",
            Self::HealthReady => "/api/v1/health/ready",
        }
    }
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists but not for this method; carries the `Allow` header value.
    MethodNotAllowed(&'static str),
}

const TABLE: &[(&str, &[Method], Route)] = &[
    ("/health", &[Method::Get, Method::Head], Route::Health),
    (
        "/health/live",
        &[Method::Get, Method::Head],
        Route::HealthLive,
    ),
    (
        "/health/ready",
        &[Method::Get, Method::Head],
        Route::HealthReady,
    ),
];

/// Matches a full request path (with the `/api/v1` prefix).
///
/// # Errors
/// [`NoRoute`] when nothing matches.
pub fn match_route(method: Method, path: &str) -> Result<Route, NoRoute> {
    let rest = path.strip_prefix(API_PREFIX).ok_or(NoRoute::NotFound)?;
    // A single trailing slash is tolerated; anything fancier is a different path.
    let rest = rest
        .strip_suffix('/')
        .filter(|r| !r.is_empty())
        .unwrap_or(rest);
    let (_, methods, route) = TABLE
        .iter()
        .find(|(p, _, _)| *p == rest)
        .ok_or(NoRoute::NotFound)?;
    if methods.contains(&method) {
        Ok(*route)
    } else {
        Err(NoRoute::MethodNotAllowed(allow_header(methods)))
    }
}

fn allow_header(methods: &[Method]) -> &'static str {
    if methods == [Method::Get, Method::Head] {
        "GET, HEAD"
    } else {
        "GET"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_routes_match_get_and_head() {
        assert_eq!(
            match_route(Method::Get, "/api/v1/health"),
            Ok(Route::Health)
        );
        assert_eq!(
            match_route(Method::Head, "/api/v1/health/live"),
            Ok(Route::HealthLive)
        );
        assert_eq!(
            match_route(Method::Get, "/api/v1/health/ready/"),
            Ok(Route::HealthReady)
        );
    }

    #[test]
    fn wrong_methods_get_405_and_unknown_paths_404() {
        assert_eq!(
            match_route(Method::Post, "/api/v1/health"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(
            match_route(Method::Get, "/api/v1/nope"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            match_route(Method::Get, "/api/v2/health"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            match_route(Method::Get, "/api/v1/health//"),
            Err(NoRoute::NotFound)
        );
    }
}
