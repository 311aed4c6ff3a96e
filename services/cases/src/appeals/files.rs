//! Attachments of an appeal (S1-38): documents and photos on the executor's solution and on
//! comments are files of the files service, uploaded there for this appeal. Before a step or a
//! comment keeps them, each is looked up with the caller's own token (files asks cases in turn
//! whether the caller sees the appeal) and must belong to this appeal; its original name is kept.
use opeka_platform::call::Bearer;
use opeka_platform::error::{AppError, Violations};
use opeka_proto::files::{GetFileRequest, files_service_client::FilesServiceClient};
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use super::store::AttachmentRef;
use super::strings as s;
use crate::kit::identity::CALL_TIMEOUT;

#[derive(Clone)]
pub struct Files {
    channel: Channel,
}

impl Files {
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    /// Fills in the names of `refs` (parsed from `ids`, duplicates dropped) from files. A file that
    /// files does not show the caller, or that is not `appeal`'s, is a violation of `field[i]`, `i`
    /// its place in `ids`. The request goes on the caller's behalf (bearer, trace, timeout).
    pub async fn name(
        &self,
        bearer: &Bearer,
        appeal: Uuid,
        (field, ids): (&str, &[String]),
        refs: &mut [AttachmentRef],
    ) -> Result<(), AppError> {
        let mut errs = Violations::new();
        for (i, raw) in ids.iter().enumerate() {
            let Ok(file_id) = raw.trim().parse::<Uuid>() else { continue };
            let Some(r) = refs.iter_mut().find(|r| r.file_id == file_id && r.name.is_empty()) else { continue };
            let req = bearer.request(GetFileRequest { id: file_id.to_string() }, CALL_TIMEOUT);
            match FilesServiceClient::new(self.channel.clone()).get_file(req).await {
                Ok(f) if f.get_ref().appeal_id == appeal.to_string() => r.name = f.into_inner().original_name,
                Ok(_) => errs.add(&format!("{field}[{i}]"), s::FILE_NOT_OF_APPEAL),
                Err(st) if matches!(st.code(), Code::NotFound | Code::PermissionDenied | Code::InvalidArgument) => {
                    errs.add(&format!("{field}[{i}]"), s::FILE_NOT_OF_APPEAL)
                }
                Err(st) if st.code() == Code::Unauthenticated => {
                    return Err(AppError::Unauthenticated(st.message().to_string()));
                }
                Err(st) => {
                    tracing::warn!(code = ?st.code(), error = %st.message(), %file_id, "files call failed");
                    return Err(AppError::Unavailable(s::FILES_UNAVAILABLE.into()));
                }
            }
        }
        errs.into_result()
    }
}
