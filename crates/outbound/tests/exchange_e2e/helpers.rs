//! Test support: a minimal executor, a fake time that records sleeps, a tiny blocking HTTP/1.1
//! transport over `std::net::TcpStream`, and the node fake exchange as a child process.

use cl_outbound::{
    Clock, HttpTransport, Method, OutboundRequest, OutboundResponse, Sleeper, TransportError,
};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

/// A clock that moves only when something sleeps on it; sleeps are recorded, not waited.
#[derive(Debug, Default)]
pub struct FakeTime {
    now: Cell<i64>,
    sleeps: RefCell<Vec<u64>>,
}

impl FakeTime {
    pub fn new(now: i64) -> Self {
        Self {
            now: Cell::new(now),
            sleeps: RefCell::default(),
        }
    }

    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.borrow().clone()
    }
}

impl Clock for FakeTime {
    fn now_ms(&self) -> i64 {
        self.now.get()
    }
}

impl Sleeper for FakeTime {
    async fn sleep(&self, ms: u64) {
        self.sleeps.borrow_mut().push(ms);
        self.now.set(self.now.get() + i64::try_from(ms).unwrap());
    }
}

/// HTTP/1.1 over a plain TCP socket, one connection per request (`Connection: close`), the
/// whole exchange bounded by the request's timeout. Enough for the loopback fakes.
#[derive(Debug, Default)]
pub struct TcpTransport;

impl TcpTransport {
    fn exchange(req: &OutboundRequest) -> Result<OutboundResponse, TransportError> {
        let deadline = Instant::now() + Duration::from_millis(req.timeout_ms);
        let rest = req
            .url
            .strip_prefix("http://")
            .ok_or_else(|| TransportError::Other("only http:// is supported".into()))?;
        let (authority, target) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| TransportError::Connect(e.to_string()))?
            .next()
            .ok_or_else(|| TransportError::Connect("no address".into()))?;
        let mut stream = TcpStream::connect_timeout(&addr, remaining(deadline)?)
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n",
            req.method,
            req.body.len()
        );
        for (name, value) in &req.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .set_write_timeout(Some(remaining(deadline)?))
            .map_err(other)?;
        stream.write_all(head.as_bytes()).map_err(io_error)?;
        stream.write_all(&req.body).map_err(io_error)?;
        let mut raw = Vec::new();
        let mut buf = [0_u8; 16 * 1024];
        loop {
            stream
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(other)?;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => return Err(io_error(e)),
            }
        }
        parse_response(&raw)
    }
}

fn remaining(deadline: Instant) -> Result<Duration, TransportError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(TransportError::Timeout)
    } else {
        Ok(left)
    }
}

fn io_error(e: std::io::Error) -> TransportError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => TransportError::Timeout,
        _ => TransportError::Other(e.to_string()),
    }
}

fn other(e: std::io::Error) -> TransportError {
    TransportError::Other(e.to_string())
}

fn parse_response(raw: &[u8]) -> Result<OutboundResponse, TransportError> {
    let bad = |what: &str| TransportError::Other(format!("bad response: {what}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(length) = length {
        body.truncate(length);
    }
    Ok(OutboundResponse {
        status,
        headers,
        body,
    })
}

impl HttpTransport for TcpTransport {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        Self::exchange(&req)
    }
}

/// The node fake exchange, started by the test and killed when dropped.
pub struct FakeExchange {
    child: Child,
    _stdin: ChildStdin,
    pub url: String,
}

impl FakeExchange {
    /// Starts `node tests/fakes/exchange.mjs --port 0` with `args`. Fails (never skips) when
    /// node is missing.
    pub fn start(args: &[&str]) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fakes/exchange.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args(["--port", "0", "--parent-stdin"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("`node` (20+) must be on PATH: the end-to-end tests run the fake exchange");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the fake's URL");
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "fake exchange printed {url:?}"
        );
        Self {
            child,
            _stdin: stdin,
            url,
        }
    }

    fn control(&self, method: Method, path: &str, body: &str) -> OutboundResponse {
        let req = OutboundRequest {
            method,
            url: format!("{}{path}", self.url),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            timeout_ms: 5_000,
        };
        let res = block_on(TcpTransport.send(req)).expect("control request");
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        res
    }

    /// Queues scripted steps (see tests/fakes/lib.mjs).
    pub fn script(&self, steps: serde_json::Value) {
        self.control(Method::Post, "/__script", &steps.to_string());
    }

    /// The requests the fake received.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let res = self.control(Method::Get, "/__requests", "");
        serde_json::from_slice(&res.body).expect("requests JSON")
    }
}

impl Drop for FakeExchange {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
