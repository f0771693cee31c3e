//! `--metrics-addr`: serves the runtime's Prometheus text at `/metrics`
//! while `llmspell run` runs.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use llmspell_bridge::Host;

/// The HTTP server behind `--metrics-addr`, on a thread of its own; stops
/// when dropped.
pub(crate) struct MetricsServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Serves `host`'s figures on `addr` (`127.0.0.1:9464`).
    ///
    /// # Errors
    /// An address that does not parse or cannot be bound.
    pub(crate) fn start(addr: &str, host: Host) -> anyhow::Result<Self> {
        let addr: SocketAddr = addr.parse().with_context(|| {
            format!("--metrics-addr {addr:?} is not an address (127.0.0.1:9464)")
        })?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        listener.set_nonblocking(true)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("llmspell-metrics".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    eprintln!("llmspell: cannot start the metrics server's runtime");
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        eprintln!("llmspell: cannot serve metrics on {addr}");
                        return;
                    };
                    let app = Router::new().route(
                        "/metrics",
                        get(move || {
                            let host = host.clone();
                            async move {
                                (
                                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                                    host.prometheus().await,
                                )
                            }
                        }),
                    );
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        eprintln!("llmspell: the metrics server stopped: {e}");
                    }
                });
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
