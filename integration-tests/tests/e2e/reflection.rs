//! What an integrator's tooling sees on each port (issue 10 point 8): reflection
//! lists exactly the services that port answers, and health reports each by name.
use futures::StreamExt;
use opeka_integration_tests::Suite;
use opeka_platform::grpc::{HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA};
use opeka_testkit::Service;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

async fn listed(suite: &Suite, service: Service) -> Vec<String> {
    let mut client = ServerReflectionClient::new(suite.channel(service));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers =
        client.server_reflection_info(futures::stream::iter([request])).await.expect("reflection").into_inner();
    match answers.next().await.expect("an answer").expect("ok").message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

#[tokio::test]
async fn each_port_advertises_only_its_own_services() {
    let suite = Suite::start().await;
    let ports: [(Service, &[&str]); 5] = [
        (Service::Identity, &[opeka_identity::GRPC_NAME]),
        (Service::Cases, opeka_cases::GRPC_NAMES),
        (Service::Files, &[opeka_files::GRPC_NAME]),
        (Service::Notifications, &[opeka_notifications::GRPC_NAME]),
        (Service::Scheduler, &[opeka_scheduler::GRPC_NAME]),
    ];
    for (service, own) in ports {
        let url = suite.url(service);
        let mut expected: Vec<String> =
            own.iter().chain(&[HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA]).map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(listed(&suite, service).await, expected, "reflection on {url}");
        let mut health = HealthClient::new(suite.channel(service));
        for name in own {
            let status = health.check(HealthCheckRequest { service: (*name).into() }).await.expect(name);
            assert_eq!(status.into_inner().status, ServingStatus::Serving as i32, "{name} on {url}");
        }
    }
}
