//! The gRPC health service and server reflection (v1 and v1alpha) that every
//! Opeka service exposes for probes and tooling (DESIGN.md §2, platform grpc).
use futures::StreamExt;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_identity_serving() {
    let app = TestApp::start().await;
    let mut health = HealthClient::new(app.channel.clone());
    let status = health
        .check(HealthCheckRequest { service: opeka_identity::GRPC_NAME.into() })
        .await
        .expect("health check")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    assert_eq!(opeka_identity::GRPC_NAME, "opeka.identity.v1.IdentityService");

    let unknown = health.check(HealthCheckRequest { service: "opeka.nothing.v1.Nothing".into() }).await;
    assert_eq!(unknown.expect_err("unknown service").code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_lists_and_describes_identity() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::start().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(opeka_identity::GRPC_NAME.into())),
        },
    ];
    let mut responses =
        client.server_reflection_info(futures::stream::iter(requests)).await.expect("reflection v1").into_inner();

    let listed = match responses.next().await.expect("list response").expect("ok").message_response {
        Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect::<Vec<_>>(),
        other => panic!("unexpected reflection answer: {other:?}"),
    };
    assert!(listed.iter().any(|n| n == opeka_identity::GRPC_NAME), "{listed:?}");
    assert!(listed.iter().any(|n| n == "grpc.health.v1.Health"), "{listed:?}");

    match responses.next().await.expect("file response").expect("ok").message_response {
        Some(MessageResponse::FileDescriptorResponse(f)) => {
            assert!(!f.file_descriptor_proto.is_empty(), "descriptor bytes for the identity service");
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

#[tokio::test]
async fn reflection_v1alpha_lists_identity() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::start().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let listed = match responses.next().await.expect("list response").expect("ok").message_response {
        Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect::<Vec<_>>(),
        other => panic!("unexpected reflection answer: {other:?}"),
    };
    assert!(listed.iter().any(|n| n == opeka_identity::GRPC_NAME), "{listed:?}");
}
