//! Logging and tracing: `tracing` to stdout (pretty or JSON), spans exported
//! over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context
//! carried through gRPC metadata and NATS headers.
use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::settings::LogFormat;

/// Keeps the tracer provider alive; flushes spans on drop.
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs the global subscriber. Spans always get trace ids (so internal
/// errors can name one); they leave the process only when an OTLP endpoint
/// is configured.
pub fn init(service_name: &str, format: LogFormat) -> TelemetryGuard {
    install(service_name, format, BoxMakeWriter::new(std::io::stdout))
}

/// For tests: the very layers of [`init`] (filter, OpenTelemetry, fmt), so
/// span handling in tests is what production does — a test subscriber that
/// skipped them hid the span panic of issue 9, point 8. Output goes nowhere
/// unless `TEST_LOG=1`.
pub fn init_for_tests() {
    let writer = if std::env::var("TEST_LOG").as_deref() == Ok("1") {
        BoxMakeWriter::new(std::io::stdout)
    } else {
        BoxMakeWriter::new(std::io::sink)
    };
    std::mem::forget(install("opeka-test", LogFormat::Pretty, writer));
}

fn install(service_name: &str, format: LogFormat, writer: BoxMakeWriter) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(service_name.to_string()).build());
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build exporter: {e}"),
        }
    }
    let provider = builder.build();
    let tracer = provider.tracer("opeka");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match format {
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().with_writer(writer)).try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_writer(writer)).try_init(),
    };
    if result.is_err() {
        // Already installed (tests start many services in one process).
        return TelemetryGuard(None);
    }
    opentelemetry::global::set_tracer_provider(provider.clone());
    TelemetryGuard(Some(provider))
}

/// The current span's trace id as hex, or "-" when there is none.
pub fn current_trace_id() -> String {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() { sc.trace_id().to_string() } else { "-".into() }
}

/// The current trace context as W3C headers (`traceparent`, `tracestate`).
pub fn current_context_headers() -> HashMap<String, String> {
    let mut map = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MapInjector(&mut map)));
    map
}

/// Makes `span` a child of the context found in `headers`.
pub fn set_parent_from_http(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(cx);
}

/// Makes `span` a child of the context found in a string map (NATS headers, outbox rows).
pub fn set_parent_from_map(span: &tracing::Span, headers: &HashMap<String, String>) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&MapExtractor(headers)));
    let _ = span.set_parent(cx);
}

/// Adds the current trace context to outgoing gRPC metadata.
pub fn inject_metadata(md: &mut tonic::metadata::MetadataMap) {
    for (k, v) in current_context_headers() {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
            tonic::metadata::MetadataValue::try_from(v.as_str()),
        ) {
            md.insert(k, v);
        }
    }
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);
impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);
impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);
impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A tonic client interceptor that forwards the trace context.
#[derive(Clone, Copy, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        inject_metadata(req.metadata_mut());
        crate::throttle::inject(req.metadata_mut());
        Ok(req)
    }
}
