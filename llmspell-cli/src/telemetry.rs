//! `llmspell run --otel-endpoint URL`: the runtime's operation and hook
//! spans (the hook system's `TELEMETRY_TARGET`), exported to an
//! OpenTelemetry collector over OTLP/HTTP with protobuf bodies.
//!
//! Without the flag nothing here runs: no subscriber is installed, so the
//! hook system builds no span at all.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use llmspell_hooks::TELEMETRY_TARGET;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt};

/// The service name the spans are exported under.
const SERVICE_NAME: &str = "llmspell";

/// The path of the traces signal under a collector's base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Where spans go: an `http://` or `https://` URL, checked when the command
/// line is parsed. A collector's base URL (`http://127.0.0.1:4318`) gets
/// `/v1/traces` added, as `OTEL_EXPORTER_OTLP_ENDPOINT` does; a URL that
/// already ends with it is used as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtlpEndpoint {
    traces: String,
}

impl OtlpEndpoint {
    /// The URL spans are posted to.
    pub(crate) fn traces_url(&self) -> &str {
        &self.traces
    }
}

impl FromStr for OtlpEndpoint {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| {
                format!(
                    "{url:?} is not an OTLP/HTTP URL; use http://HOST:PORT or https://HOST:PORT"
                )
            })?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || url.contains(char::is_whitespace) {
            return Err(format!(
                "{url:?} names no host; use http://HOST:PORT (for a local collector: http://127.0.0.1:4318)"
            ));
        }
        if url.contains(['?', '#']) {
            return Err(format!(
                "{url:?} has a query or fragment; give the collector's base URL"
            ));
        }
        let base = url.trim_end_matches('/');
        let traces = if base.ends_with(TRACES_PATH) {
            base.to_owned()
        } else {
            format!("{base}{TRACES_PATH}")
        };
        Ok(Self { traces })
    }
}

impl fmt::Display for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.traces)
    }
}

/// The installed export. Dropping it shuts the tracer provider down, which
/// sends the spans still buffered, so a short script's spans arrive before
/// the process ends; spans that could not be sent are then reported on
/// stderr (the run's exit status does not change).
#[must_use = "dropping it ends the export"]
pub(crate) struct Telemetry {
    provider: SdkTracerProvider,
    endpoint: OtlpEndpoint,
    undelivered: Arc<Undelivered>,
}

/// The spans the exporter could not send, and the last reason.
#[derive(Debug, Default)]
struct Undelivered {
    spans: AtomicUsize,
    last_error: Mutex<Option<String>>,
}

/// The OTLP exporter, keeping count of what it could not send: the SDK
/// itself drops failed batches without a word.
#[derive(Debug)]
struct ReportingExporter {
    inner: SpanExporter,
    undelivered: Arc<Undelivered>,
}

impl opentelemetry_sdk::trace::SpanExporter for ReportingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        if let Err(e) = &result {
            self.undelivered.spans.fetch_add(spans, Ordering::Relaxed);
            if let Ok(mut last) = self.undelivered.last_error.lock() {
                *last = Some(e.to_string());
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Installs the process's tracing subscriber: one OpenTelemetry layer that
/// takes exactly the spans of [`TELEMETRY_TARGET`] and exports them in
/// batches (from a thread of the SDK's own) to `endpoint`, as the service
/// `llmspell`.
///
/// # Errors
/// A URL the exporter refuses, or a subscriber already installed.
pub(crate) fn install(endpoint: &OtlpEndpoint) -> anyhow::Result<Telemetry> {
    let inner = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.traces_url())
        .build()
        .with_context(|| format!("--otel-endpoint {endpoint}"))?;
    let undelivered = Arc::new(Undelivered::default());
    let exporter = ReportingExporter {
        inner,
        undelivered: undelivered.clone(),
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        // The spans carry the runtime's own attributes only: their source
        // lines, target, threads and busy/idle times say nothing of the
        // operation.
        .with_location(false)
        .with_target(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(Targets::new().with_target(TELEMETRY_TARGET, Level::TRACE));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .context("cannot install the OpenTelemetry export: a tracing subscriber is already set")?;
    Ok(Telemetry {
        provider,
        endpoint: endpoint.clone(),
        undelivered,
    })
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let ended = self.provider.shutdown();
        let lost = self.undelivered.spans.load(Ordering::Relaxed);
        if lost > 0 {
            let why = self
                .undelivered
                .last_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_default();
            eprintln!(
                "llmspell: {lost} span(s) could not be sent to {}: {why}",
                self.endpoint
            );
        } else if let Err(e) = ended {
            eprintln!(
                "llmspell: the span export to {} did not end cleanly: {e}",
                self.endpoint
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traces(url: &str) -> Result<String, String> {
        url.parse::<OtlpEndpoint>()
            .map(|e| e.traces_url().to_owned())
    }

    #[test]
    fn a_base_url_gets_the_traces_path_once() {
        for (given, posted) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
            ("https://collector/otlp", "https://collector/otlp/v1/traces"),
            (
                "http://localhost:4318/v1/traces",
                "http://localhost:4318/v1/traces",
            ),
        ] {
            assert_eq!(traces(given).as_deref(), Ok(posted), "{given}");
        }
    }

    #[test]
    fn what_is_not_an_http_url_is_refused_with_the_valid_form() {
        for bad in [
            "127.0.0.1:4318",
            "grpc://x:4317",
            "http://",
            "http:///v1/traces",
            "http://x?y=1",
        ] {
            let e = traces(bad).unwrap_err();
            assert!(
                e.contains("http://HOST:PORT") || e.contains("base URL"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn without_the_flag_no_span_is_wanted() {
        // No subscriber is installed in this process: the hook system's
        // spans are skipped at their callsite check.
        assert!(!tracing::enabled!(target: TELEMETRY_TARGET, Level::TRACE));
    }
}
