//! What an integrator's tooling sees on each port (issue 10 point 8): reflection
//! lists exactly the services that port answers, and health reports each by name.
use futures::StreamExt;
use opeka_integration_tests::Suite;
use opeka_platform::grpc::{HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string()).expect("url").connect_lazy()
}

async fn listed(url: &str) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel(url));
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
    let ports: [(&str, &[&str]); 5] = [
        (&suite.identity_url, &[opeka_identity::GRPC_NAME]),
        (&suite.cases_url, opeka_cases::GRPC_NAMES),
        (&suite.files_url, &[opeka_files::GRPC_NAME]),
        (&suite.notifications_url, &[opeka_notifications::GRPC_NAME]),
        (&suite.scheduler_url, &[opeka_scheduler::GRPC_NAME]),
    ];
    for (url, own) in ports {
        let mut expected: Vec<String> =
            own.iter().chain(&[HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA]).map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(listed(url).await, expected, "reflection on {url}");
        let mut health = HealthClient::new(channel(url));
        for name in own {
            let status = health.check(HealthCheckRequest { service: (*name).into() }).await.expect(name);
            assert_eq!(status.into_inner().status, ServingStatus::Serving as i32, "{name} on {url}");
        }
    }
}
