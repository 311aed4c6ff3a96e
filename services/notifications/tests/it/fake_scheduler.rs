//! A stand-in for the scheduler service (written concurrently in
//! services/scheduler): a real tonic server with Opeka's auth layer, so the
//! bot's calls arrive with a token identity signed. It answers the bot's two
//! calls — AnswerOccurrence (idempotent: the first answer stays) and
//! ListUpcoming — from what the test put in; everything else is UNIMPLEMENTED.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opeka_platform::auth::{self, Verifier};
use opeka_proto::scheduler::{self as spb, scheduler_service_server::SchedulerService};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// One call the bot made.
#[derive(Debug, Clone)]
pub enum SchedulerCall {
    Answer(spb::AnswerOccurrenceRequest),
    Upcoming(spb::ListUpcomingRequest),
}

#[derive(Default)]
struct State {
    /// occurrence id → (owner's account id, the occurrence).
    occurrences: HashMap<String, (String, spb::Occurrence)>,
    /// occurrence id → the first answer.
    answers: HashMap<String, spb::Answer>,
    unavailable: bool,
    calls: Vec<SchedulerCall>,
    /// What the callers were: (kind, roles) of each principal.
    callers: Vec<(String, Vec<String>)>,
}

#[derive(Clone)]
pub struct FakeScheduler {
    state: Arc<Mutex<State>>,
}

impl FakeScheduler {
    /// Serves on `listener` until `cancel`, checking tokens against identity at `identity_url`.
    pub fn serve(listener: tokio::net::TcpListener, identity_url: String, cancel: CancellationToken) -> Self {
        let fake = Self { state: Arc::default() };
        let verifier = Arc::new(Verifier::new(auth::grpc_jwks_source(identity_url)));
        let routes =
            tonic::service::Routes::new(spb::scheduler_service_server::SchedulerServiceServer::new(fake.clone()));
        tokio::spawn(async move {
            let names = ["opeka.scheduler.v1.SchedulerService"];
            if let Err(e) =
                opeka_platform::grpc::serve_with(listener, routes, &names, verifier, Default::default(), cancel).await
            {
                tracing::error!(error = %e, "fake scheduler stopped");
            }
        });
        fake
    }

    /// A citizen-facing occurrence of `account` (listed by ListUpcoming, answerable).
    pub fn add(&self, account: &str, o: spb::Occurrence) {
        self.state.lock().unwrap().occurrences.insert(o.id.clone(), (account.to_string(), o));
    }

    /// The series was deleted: answers get GONE.
    pub fn remove(&self, occurrence: &str) {
        self.state.lock().unwrap().occurrences.remove(occurrence);
    }

    /// While set, every call fails with UNAVAILABLE.
    pub fn set_unavailable(&self, down: bool) {
        self.state.lock().unwrap().unavailable = down;
    }

    pub fn answer_of(&self, occurrence: &str) -> Option<spb::Answer> {
        self.state.lock().unwrap().answers.get(occurrence).copied()
    }

    pub fn calls(&self) -> Vec<SchedulerCall> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn callers(&self) -> Vec<(String, Vec<String>)> {
        self.state.lock().unwrap().callers.clone()
    }

    /// The caller must be the tenant's bot (service account, role bot).
    fn bot<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let p = auth::principal(req)?;
        self.state.lock().unwrap().callers.push((p.kind.clone(), p.roles.clone()));
        if self.state.lock().unwrap().unavailable {
            return Err(Status::unavailable("scheduler is down"));
        }
        if !p.has_role("bot") {
            return Err(Status::permission_denied("the bot's calls only"));
        }
        Ok(())
    }
}

/// A planned, citizen-facing occurrence.
pub fn occurrence(id: &str, kind: spb::ReminderKind, date: &str, time: &str, text: &str) -> spb::Occurrence {
    spb::Occurrence {
        id: id.into(),
        kind: kind as i32,
        description: text.into(),
        local_date: date.into(),
        local_time: time.into(),
        status: spb::OccurrenceStatus::Planned as i32,
        colour: "blue".into(),
        time_zone: "Europe/Moscow".into(),
        ..Default::default()
    }
}

type Res<T> = Result<Response<T>, Status>;

fn unimplemented<T>() -> Res<T> {
    Err(Status::unimplemented("not in the fake scheduler"))
}

#[tonic::async_trait]
impl SchedulerService for FakeScheduler {
    async fn answer_occurrence(
        &self,
        req: Request<spb::AnswerOccurrenceRequest>,
    ) -> Res<spb::AnswerOccurrenceResponse> {
        self.bot(&req)?;
        let r = req.into_inner();
        let mut st = self.state.lock().unwrap();
        st.calls.push(SchedulerCall::Answer(r.clone()));
        let Some((owner, o)) = st.occurrences.get(&r.occurrence_id).cloned() else {
            let gone = spb::AnswerOccurrenceResponse { outcome: spb::AnswerOutcome::Gone as i32, ..Default::default() };
            return Ok(Response::new(gone));
        };
        if owner != r.citizen_account_id {
            return Err(Status::permission_denied("not this citizen's reminder"));
        }
        let answer = spb::Answer::try_from(r.answer).map_err(|_| Status::invalid_argument("answer"))?;
        let (outcome, first) = match st.answers.get(&r.occurrence_id) {
            Some(first) => (spb::AnswerOutcome::AlreadyAnswered, *first),
            None => {
                st.answers.insert(r.occurrence_id.clone(), answer);
                (spb::AnswerOutcome::Recorded, answer)
            }
        };
        let status = match first {
            spb::Answer::Skipped => spb::OccurrenceStatus::Skipped,
            _ => spb::OccurrenceStatus::Done,
        };
        let o = spb::Occurrence { status: status as i32, ..o };
        Ok(Response::new(spb::AnswerOccurrenceResponse {
            outcome: outcome as i32,
            answer: first as i32,
            occurrence: Some(o),
        }))
    }

    async fn list_upcoming(&self, req: Request<spb::ListUpcomingRequest>) -> Res<spb::ListUpcomingResponse> {
        self.bot(&req)?;
        let r = req.into_inner();
        let mut st = self.state.lock().unwrap();
        st.calls.push(SchedulerCall::Upcoming(r.clone()));
        let mut occurrences: Vec<spb::Occurrence> = st
            .occurrences
            .values()
            .filter(|(owner, o)| {
                *owner == r.citizen_account_id
                    && (r.kind == spb::ReminderKind::Unspecified as i32 || o.kind == r.kind)
                    && !st.answers.contains_key(&o.id)
            })
            .map(|(_, o)| o.clone())
            .collect();
        occurrences.sort_by(|a, b| (&a.local_date, &a.local_time, &a.id).cmp(&(&b.local_date, &b.local_time, &b.id)));
        Ok(Response::new(spb::ListUpcomingResponse { occurrences, ..Default::default() }))
    }

    async fn create_series(&self, _: Request<spb::CreateSeriesRequest>) -> Res<spb::Series> {
        unimplemented()
    }
    async fn get_series(&self, _: Request<spb::GetSeriesRequest>) -> Res<spb::Series> {
        unimplemented()
    }
    async fn update_series(&self, _: Request<spb::UpdateSeriesRequest>) -> Res<spb::Series> {
        unimplemented()
    }
    async fn delete_series(&self, _: Request<spb::DeleteSeriesRequest>) -> Res<spb::DeleteSeriesResponse> {
        unimplemented()
    }
    async fn update_occurrence(&self, _: Request<spb::UpdateOccurrenceRequest>) -> Res<spb::Occurrence> {
        unimplemented()
    }
    async fn list_occurrences(&self, _: Request<spb::ListOccurrencesRequest>) -> Res<spb::ListOccurrencesResponse> {
        unimplemented()
    }
    async fn list_deviations(&self, _: Request<spb::ListDeviationsRequest>) -> Res<spb::ListDeviationsResponse> {
        unimplemented()
    }
    async fn get_slot_load(&self, _: Request<spb::GetSlotLoadRequest>) -> Res<spb::SlotLoad> {
        unimplemented()
    }
    async fn get_scheduler_settings(
        &self,
        _: Request<spb::GetSchedulerSettingsRequest>,
    ) -> Res<spb::SchedulerSettings> {
        unimplemented()
    }
    async fn update_scheduler_settings(
        &self,
        _: Request<spb::UpdateSchedulerSettingsRequest>,
    ) -> Res<spb::SchedulerSettings> {
        unimplemented()
    }
}
