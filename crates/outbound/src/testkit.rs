//! Test doubles shared by the unit tests: a scripted transport, a fake time that records
//! sleeps instead of waiting, and a minimal executor.

use crate::ports::{
    Clock, HttpTransport, OutboundRequest, OutboundResponse, Sleeper, TransportError,
};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

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

/// A clock that only moves when told to, or when something sleeps on it.
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

    pub fn set(&self, now: i64) {
        self.now.set(now);
    }

    /// Every sleep requested so far, in ms.
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
        self.now
            .set(self.now.get() + i64::try_from(ms).unwrap_or(i64::MAX));
    }
}

pub type Scripted = Result<OutboundResponse, TransportError>;

/// Answers from a script, in order, and records the requests; an empty script answers
/// `TransportError::Other`.
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    script: RefCell<VecDeque<Scripted>>,
    requests: RefCell<Vec<OutboundRequest>>,
}

impl ScriptedTransport {
    pub fn new(script: impl IntoIterator<Item = Scripted>) -> Self {
        Self {
            script: RefCell::new(script.into_iter().collect()),
            requests: RefCell::default(),
        }
    }

    pub fn requests(&self) -> Vec<OutboundRequest> {
        self.requests.borrow().clone()
    }
}

impl HttpTransport for ScriptedTransport {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        self.requests.borrow_mut().push(req);
        self.script
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(TransportError::Other("script exhausted".into())))
    }
}

/// A response with `status`, `body` and optional headers.
pub fn reply(status: u16, body: &str, headers: &[(&str, &str)]) -> Scripted {
    Ok(OutboundResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    })
}
