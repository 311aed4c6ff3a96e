//! The gateway's clients of the services behind its pages (cases, files,
//! notifications, scheduler; identity has its own module). Every channel is lazy and
//! forwards the trace context; requests carry the caller's token through
//! `identity::request`, the one metadata helper for every service.
use opeka_platform::telemetry::TracePropagation;
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::cases_service_client::CasesServiceClient;
use opeka_proto::cases::legal_aid_service_client::LegalAidServiceClient;
use opeka_proto::files::files_service_client::FilesServiceClient;
use opeka_proto::notifications::notifications_service_client::NotificationsServiceClient;
use opeka_proto::scheduler::scheduler_service_client::SchedulerServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::identity::{self, IdentityClient};

type Traced = InterceptedService<Channel, TracePropagation>;
pub type CasesClient = CasesServiceClient<Traced>;
pub type AppealsClient = AppealsServiceClient<Traced>;
pub type LegalAidClient = LegalAidServiceClient<Traced>;
pub type FilesClient = FilesServiceClient<Traced>;
pub type NotificationsClient = NotificationsServiceClient<Traced>;
pub type SchedulerClient = SchedulerServiceClient<Traced>;

/// One client per service; cloning is cheap (the channel is shared).
#[derive(Clone)]
pub struct Clients {
    pub identity: IdentityClient,
    pub cases: CasesClient,
    pub appeals: AppealsClient,
    pub legal_aid: LegalAidClient,
    pub files: FilesClient,
    pub notifications: NotificationsClient,
    pub scheduler: SchedulerClient,
}

impl Clients {
    /// Clients over lazy channels: the gateway starts while the services are
    /// still coming up, and reconnects by itself.
    pub async fn connect(identity_url: &str, settings: &crate::Settings) -> anyhow::Result<Self> {
        let channel = |url: &str| {
            let url = url.to_string();
            async move { opeka_platform::grpc::channel(&url).await }
        };
        Ok(Self {
            identity: identity::client(identity_url).await?,
            cases: CasesServiceClient::with_interceptor(channel(&settings.cases_url).await?, TracePropagation),
            appeals: AppealsServiceClient::with_interceptor(channel(&settings.cases_url).await?, TracePropagation),
            legal_aid: LegalAidServiceClient::with_interceptor(channel(&settings.cases_url).await?, TracePropagation),
            files: FilesServiceClient::with_interceptor(channel(&settings.files_url).await?, TracePropagation),
            notifications: NotificationsServiceClient::with_interceptor(
                channel(&settings.notifications_url).await?,
                TracePropagation,
            ),
            scheduler: SchedulerServiceClient::with_interceptor(
                channel(&settings.scheduler_url).await?,
                TracePropagation,
            ),
        })
    }
}
