#![allow(dead_code)] // each test crate uses a different part of the server

//! A local HTTP server on 127.0.0.1 that records every request and answers
//! with scripted replies, so the provider tests can check both sides of the
//! protocol without the internet.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Seen {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the server answers to the next request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra headers and a JSON body.
    Json {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
    /// A status and a raw body.
    Text { status: u16, body: String },
    /// `text/event-stream` sent as these pieces, `gap` apart; the pieces
    /// may cut lines anywhere.
    Sse { parts: Vec<Vec<u8>>, gap: Duration },
    /// Waits `delay`, then answers like the inner reply.
    Delayed { delay: Duration, reply: Box<Reply> },
}

impl Reply {
    /// 200 with a JSON body.
    pub fn ok(body: Value) -> Self {
        Reply::Json {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }

    /// A status with a JSON body.
    pub fn status(status: u16, body: Value) -> Self {
        Reply::Json {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// A stream of SSE pieces sent back to back.
    pub fn sse(parts: &[&str]) -> Self {
        Self::sse_bytes(parts.iter().map(|p| p.as_bytes().to_vec()).collect())
    }

    /// A stream of raw pieces sent back to back; a piece may end inside a
    /// UTF-8 character.
    pub fn sse_bytes(parts: Vec<Vec<u8>>) -> Self {
        Reply::Sse {
            parts,
            gap: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    replies: Mutex<VecDeque<Reply>>,
}

/// The running server. Dropping it leaves the task to end with the test's
/// runtime.
pub struct MockServer {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    shared: Arc<Shared>,
}

impl MockServer {
    /// Starts a server that answers with `replies` in order (500 once they
    /// run out).
    pub async fn start(replies: Vec<Reply>) -> Self {
        let shared = Arc::new(Shared::default());
        shared.replies.lock().unwrap().extend(replies);
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockServer {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// Every request received so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The only request received; fails the test if there were more or none.
    pub fn only_request(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "expected exactly one request, got {seen:#?}");
        seen.into_iter().next().unwrap()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let reply = shared.replies.lock().unwrap().pop_front();
    match reply {
        Some(reply) => respond(reply).await,
        None => {
            respond(Reply::Text {
                status: 500,
                body: "mock server: no scripted reply left".into(),
            })
            .await
        }
    }
}

async fn respond(mut reply: Reply) -> Response {
    while let Reply::Delayed {
        delay,
        reply: inner,
    } = reply
    {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    let builder = Response::builder();
    match reply {
        Reply::Json {
            status,
            headers,
            body,
        } => {
            let mut b = builder
                .status(StatusCode::from_u16(status).unwrap())
                .header("content-type", "application/json");
            for (name, value) in headers {
                b = b.header(name, value);
            }
            b.body(Body::from(body.to_string())).unwrap()
        }
        Reply::Text { status, body } => builder
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "text/plain")
            .body(Body::from(body))
            .unwrap(),
        Reply::Sse { parts, gap } => {
            let stream = futures::stream::iter(parts).then(move |part| async move {
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
                Ok::<_, Infallible>(Bytes::from(part))
            });
            builder
                .status(StatusCode::OK)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Reply::Delayed { .. } => unreachable!("unwrapped above"),
    }
}

/// A local port with nothing listening on it.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
