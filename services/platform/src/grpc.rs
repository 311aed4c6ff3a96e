//! gRPC server bootstrap: health, reflection (v1 and v1alpha), the trace and
//! auth layer, graceful shutdown on the process's cancellation token.
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tracing::Instrument;

use crate::auth::Verifier;
use crate::throttle::{ClientAddr, Networks};

/// The services every port serves besides its own, by full name.
pub const HEALTH: &str = "grpc.health.v1.Health";
pub const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
pub const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// Binds `addr` (port 0 allowed) and reports the bound address.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot bind {addr}: {e}"))
}

/// Serves `routes` plus health and reflection on `listener` until the
/// process's shutdown token is cancelled. `names` are the fully-qualified
/// service names reported healthy; `OPEKA_TRUSTED_FORWARDERS` comes from the
/// context's settings.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    names: &[&'static str],
    verifier: Arc<Verifier>,
    ctx: &crate::Context,
) -> anyhow::Result<()> {
    serve_with(listener, routes, names, verifier, ctx.settings.forwarders(), ctx.shutdown.clone()).await
}

/// [`serve`] with the trusted forwarders and the shutdown token given apart.
pub async fn serve_with(
    listener: TcpListener,
    routes: Routes,
    names: &[&'static str],
    verifier: Arc<Verifier>,
    forwarders: Networks,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in names {
        reporter.set_service_status(*name, tonic_health::ServingStatus::Serving).await;
    }
    // Reflection lists only what this port answers (health, reflection and
    // `names`): the whole descriptor set stays registered so every symbol
    // resolves, but an integrator never sees a service that would answer
    // UNIMPLEMENTED here.
    let reflection = || {
        [HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA].iter().chain(names).fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(opeka_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET),
            |builder, name| builder.with_service_name(*name),
        )
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let routes = routes.add_service(health).add_service(reflection_v1).add_service(reflection_v1alpha);
    // Nagle + delayed ACKs otherwise hold every response larger than a
    // segment for ~40 ms (measured on the cases registry search).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let reporter_for_stop = reporter.clone();
    let names_owned: Vec<&'static str> = names.to_vec();
    tonic::transport::Server::builder()
        .layer(RequestLayer { verifier, forwarders: Arc::new(forwarders) })
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.cancelled().await;
            for n in names_owned {
                reporter_for_stop.set_service_status(n, tonic_health::ServingStatus::NotServing).await;
            }
        })
        .await?;
    Ok(())
}

/// Per request: a span that continues the caller's trace, the caller's
/// `AuthState` and the client address (`throttle::ClientAddr`) in the
/// request extensions.
#[derive(Clone)]
pub struct RequestLayer {
    verifier: Arc<Verifier>,
    forwarders: Arc<Networks>,
}

impl<S> tower::Layer<S> for RequestLayer {
    type Service = RequestService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestService { inner, verifier: self.verifier.clone(), forwarders: self.forwarders.clone() }
    }
}

#[derive(Clone)]
pub struct RequestService<S> {
    inner: S,
    verifier: Arc<Verifier>,
    forwarders: Arc<Networks>,
}

impl<S, B> tower::Service<http::Request<B>> for RequestService<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let path = req.uri().path().to_string();
        if let Some(peer) =
            req.extensions().get::<tonic::transport::server::TcpConnectInfo>().and_then(|c| c.remote_addr())
        {
            let client = crate::throttle::resolve(peer.ip(), req.headers(), &self.forwarders);
            req.extensions_mut().insert(ClientAddr(client));
        }
        let span = tracing::info_span!("grpc", path = %path);
        crate::telemetry::set_parent_from_http(&span, req.headers());
        crate::metrics::GRPC_REQUESTS.with_label_values(&[&path]).inc();
        Box::pin(
            async move {
                let state = verifier.authenticate(req.headers()).await;
                req.extensions_mut().insert(state);
                inner.call(req).await
            }
            .instrument(span),
        )
    }
}

/// A client channel to another service that forwards trace context.
pub async fn channel(url: &str) -> anyhow::Result<tonic::transport::Channel> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_string())?
        .connect_timeout(std::time::Duration::from_secs(3))
        .connect_lazy())
}
