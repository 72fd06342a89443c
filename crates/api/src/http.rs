//! Minimal, framework-free request and response values. The worker converts
//! `worker::Request`/`worker::Response` to and from these, so everything above this layer
//! runs and is tested natively.

/// HTTP methods the API knows; anything else is `Other` and gets a 405 where a route exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS (CORS preflight)
    Options,
    /// Anything else.
    Other,
}

impl Method {
    /// Parses a method name (case-sensitive, as HTTP requires).
    pub fn parse(s: &str) -> Self {
        match s {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }

    /// The method name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other => "OTHER",
        }
    }
}

/// Header list with case-insensitive lookup. Names are stored lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Appends a header.
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Replaces every value of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.append(name, value);
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Iterates `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl<N: AsRef<str>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut h = Headers::new();
        for (n, v) in iter {
            h.append(n.as_ref(), v);
        }
        h
    }
}

/// An incoming request, already read from the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL path, percent-encoded as received, starting with `/`.
    pub path: String,
    /// The raw query string without `?` (may be empty).
    pub query: String,
    /// Request headers.
    pub headers: Headers,
    /// The body bytes (empty for GET).
    pub body: Vec<u8>,
}

impl Request {
    /// A bodiless request, for tests and probes.
    pub fn get(path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Self {
            method: Method::Get,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }
}

/// An outgoing response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response from an already serialized body.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        let mut headers = Headers::new();
        headers.set("content-type", "application/json; charset=utf-8");
        Self {
            status,
            headers,
            body,
        }
    }

    /// An empty response.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case() {
        let mut h = Headers::new();
        h.append("X-Request-ID", "abc");
        assert_eq!(h.get("x-request-id"), Some("abc"));
        h.set("x-request-id", "def");
        assert_eq!(h.iter().count(), 1);
        assert_eq!(h.get("X-REQUEST-ID"), Some("def"));
    }

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(Method::parse("get"), Method::Other);
        assert_eq!(Method::parse("PATCH"), Method::Patch);
    }

    #[test]
    fn a_get_request_splits_its_query() {
        let r = Request::get("/api/v1/health?x=1");
        assert_eq!(r.path, "/api/v1/health");
        assert_eq!(r.query, "x=1");
    }
}
