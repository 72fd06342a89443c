//! `cl_outbound::HttpTransport` over the Workers `fetch`, with the request's timeout enforced
//! by racing the whole exchange (head and body) against a timer and aborting the fetch
//! (`AbortController`) when the timer wins.

use cl_outbound::ports::{
    HttpTransport, Method, OutboundRequest, OutboundResponse, TransportError,
};
use futures_util::future::{select, Either};
use std::pin::pin;
use std::time::Duration;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Request, RequestInit};

/// The worker's HTTP transport (global `fetch`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchTransport;

fn other(what: &str, e: &worker::Error) -> TransportError {
    TransportError::Other(format!("{what}: {e}"))
}

impl HttpTransport for FetchTransport {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        let headers = Headers::new();
        for (name, value) in &req.headers {
            headers.set(name, value).map_err(|e| other("header", &e))?;
        }
        let mut init = RequestInit::new();
        init.with_method(match req.method {
            Method::Get => worker::Method::Get,
            Method::Post => worker::Method::Post,
        })
        .with_headers(headers);
        if !req.body.is_empty() {
            init.with_body(Some(JsValue::from(Uint8Array::from(req.body.as_slice()))));
        }
        let request = Request::new_with_init(&req.url, &init).map_err(|e| other("request", &e))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async move {
            let mut resp = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|e| TransportError::Connect(e.to_string()))?;
            let status = resp.status_code();
            let headers = resp.headers().entries().collect();
            let body = resp.bytes().await.map_err(|e| other("body", &e))?;
            Ok(OutboundResponse {
                status,
                headers,
                body,
            })
        };
        let timer = Delay::from(Duration::from_millis(req.timeout_ms));
        match select(pin!(exchange), pin!(timer)).await {
            Either::Left((done, _)) => done,
            Either::Right(((), _)) => {
                controller.abort();
                Err(TransportError::Timeout)
            }
        }
    }
}
