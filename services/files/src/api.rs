//! gRPC handlers: decode, authorise, call the store (or the upload
//! pipeline), encode. Every write is checked here against the caller's role
//! and runs in the caller's tenant transaction. An appeal's files are read
//! only after cases, asked with the caller's token, shows the caller that
//! appeal (`cases::Cases::sees_appeal`).
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use opeka_platform::auth::{self, Principal};
use opeka_platform::call::{Bearer, Call};
use opeka_platform::db::Tx;
use opeka_platform::error::{AppError, FieldViolation, OnConstraint};
use opeka_platform::wire;
use opeka_proto::files::{self as pb, files_service_server::FilesService};
use tonic::{Request, Status, Streaming};
use tracing::Instrument;
use uuid::Uuid;

use crate::State;
use crate::domain::{self, FileTypeName, Permission};
use crate::store::{self, FileRow};
use crate::strings as s;
use crate::{convert, upload};

pub type DownloadStream = Pin<Box<dyn Stream<Item = Result<pb::DownloadFileResponse, Status>> + Send>>;

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// An optional id whose malformed value is reported as `unknown`.
fn opt_id(field: &str, v: &str, unknown: &str) -> Result<Option<Uuid>, AppError> {
    match v.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| AppError::invalid(field, unknown)),
    }
}

fn denied() -> AppError {
    AppError::PermissionDenied(s::PERMISSION_DENIED.into())
}

fn file_type_not_found() -> AppError {
    AppError::NotFound(s::FILE_TYPE_NOT_FOUND.into())
}

fn file_not_found() -> AppError {
    AppError::NotFound(s::FILE_NOT_FOUND.into())
}

fn name_taken<T>(r: Result<T, sqlx::Error>) -> Result<T, AppError> {
    r.on_constraint("file_types_name_key", || AppError::Taken(FieldViolation::new("name", s::FILE_TYPE_TAKEN)))
}

impl Api {
    /// Authorises by `perm` and opens the tenant transaction.
    async fn open<T>(&self, req: &Request<T>, perm: Permission) -> Result<Call, AppError> {
        self.st.kit.open_if(req, |p| domain::roles_allow(&p.roles, perm), denied).await
    }

    async fn file(&self, tx: &mut Tx, id: Uuid) -> Result<FileRow, AppError> {
        store::get_file(tx, id).await?.ok_or_else(file_not_found)
    }

    /// The caller, if it may read files of some kind: citizens' (`ReadFiles`)
    /// or appeals' (`AppealFiles`).
    fn reader<T>(&self, req: &Request<T>) -> Result<(Principal, Bearer), AppError> {
        let p = auth::principal(req)?;
        if !domain::roles_allow(&p.roles, Permission::ReadFiles)
            && !domain::roles_allow(&p.roles, Permission::AppealFiles)
        {
            return Err(denied());
        }
        Ok((p, Bearer::of(req.metadata())?))
    }

    /// Whether `p` may read the files of appeal `id`: cases must show it to them.
    async fn check_appeal(&self, p: &Principal, bearer: &Bearer, id: Uuid) -> Result<bool, AppError> {
        if !domain::roles_allow(&p.roles, Permission::AppealFiles) {
            return Ok(false);
        }
        self.st.cases.sees_appeal(bearer, id).await
    }

    /// File `id` in a tenant transaction, if `p` may read it: a citizen's file
    /// with `ReadFiles`; an appeal's only when cases shows `p` the appeal
    /// (otherwise NOT_FOUND, as for a file that does not exist).
    async fn readable(&self, p: Principal, bearer: Bearer, id: Uuid) -> Result<(Call, FileRow), AppError> {
        let mut call = self.st.kit.open_as(p, None).await?;
        let row = self.file(&mut call.tx, id).await?;
        match row.appeal_id {
            Some(appeal) if !self.check_appeal(&call.principal, &bearer, appeal).await? => return Err(file_not_found()),
            Some(_) => {}
            None if !domain::roles_allow(&call.principal.roles, Permission::ReadFiles) => return Err(denied()),
            None => {
                // Another curator's citizen's file is not revealed to exist.
                let citizen = row.citizen_id.ok_or_else(file_not_found)?;
                if !domain::citizen_scope(&call.principal).admits(&mut call.tx, citizen).await? {
                    return Err(file_not_found());
                }
            }
        }
        call.bearer = Some(bearer);
        Ok((call, row))
    }
}

impl Api {
    async fn create_file_type(&self, req: Request<pb::CreateFileTypeRequest>) -> Result<pb::FileType, AppError> {
        let mut call = self.open(&req, Permission::ManageFileTypes).await?;
        let name = FileTypeName::parse(&req.get_ref().name).map_err(|e| AppError::invalid("name", e))?;
        let id = Uuid::now_v7();
        let row = name_taken(
            store::insert_file_type(&mut call.tx, call.principal.tenant_id, id, name.as_str(), self.st.kit.now()).await,
        )?;
        call.audit("file_type.create", "file_type", id, serde_json::json!({"name": row.name})).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn rename_file_type(&self, req: Request<pb::RenameFileTypeRequest>) -> Result<pb::FileType, AppError> {
        let mut call = self.open(&req, Permission::ManageFileTypes).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let name = FileTypeName::parse(&r.name).map_err(|e| AppError::invalid("name", e))?;
        let before = store::get_file_type(&mut call.tx, id).await?;
        let row = name_taken(store::rename_file_type(&mut call.tx, id, name.as_str()).await)?
            .ok_or_else(file_type_not_found)?;
        let from = before.map(|b| b.name).unwrap_or_default();
        call.audit("file_type.rename", "file_type", id, serde_json::json!({"from": from, "to": row.name})).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn delete_file_type(
        &self,
        req: Request<pb::DeleteFileTypeRequest>,
    ) -> Result<pb::DeleteFileTypeResponse, AppError> {
        let mut call = self.open(&req, Permission::ManageFileTypes).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row =
            store::delete_file_type(&mut call.tx, id, self.st.kit.now()).await?.ok_or_else(file_type_not_found)?;
        call.audit("file_type.delete", "file_type", id, serde_json::json!({"name": row.name})).await?;
        call.commit().await?;
        Ok(pb::DeleteFileTypeResponse {})
    }

    async fn get_file_type(&self, req: Request<pb::GetFileTypeRequest>) -> Result<pb::FileType, AppError> {
        let mut call = self.open(&req, Permission::ReadFileTypes).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row = store::get_file_type(&mut call.tx, id).await?.ok_or_else(file_type_not_found)?;
        Ok((&row).into())
    }

    async fn list_file_types(
        &self,
        req: Request<pb::ListFileTypesRequest>,
    ) -> Result<pb::ListFileTypesResponse, AppError> {
        let mut call = self.open(&req, Permission::ReadFileTypes).await?;
        let search = domain::search_key(&req.get_ref().query);
        let rows = store::list_file_types(&mut call.tx, Some(&search)).await?;
        let (rows, next_page_token) =
            opeka_platform::paging::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListFileTypesResponse { file_types: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn download_file(&self, req: Request<pb::DownloadFileRequest>) -> Result<DownloadStream, AppError> {
        let (p, bearer) = self.reader(&req)?;
        let id = wire::id("id", &req.get_ref().id)?;
        let (mut call, row) = self.readable(p, bearer, id).await?;
        let key = object_store::path::Path::from(row.storage_key.as_str());
        let chunks = self
            .st
            .blobs
            .read(&key)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("file {id}: reading blob {key}: {e}")))?;
        // Personal documents: who opened which citizen's (or appeal's) file is recorded.
        let details = serde_json::json!({"citizen_id": row.citizen_id, "appeal_id": row.appeal_id});
        call.audit("file.download", "file", id, details).await?;
        call.commit().await?;
        let head = pb::DownloadFileResponse { part: Some(pb::download_file_response::Part::File((&row).into())) };
        let body = chunks.map(move |piece| match piece {
            Ok(b) => Ok(pb::DownloadFileResponse { part: Some(pb::download_file_response::Part::Chunk(b.to_vec())) }),
            Err(e) => Err(AppError::internal(anyhow::anyhow!("file {id}: reading blob: {e}")).into()),
        });
        Ok(Box::pin(futures::stream::once(async { Ok(head) }).chain(body)))
    }

    async fn get_file(&self, req: Request<pb::GetFileRequest>) -> Result<pb::File, AppError> {
        let (p, bearer) = self.reader(&req)?;
        let id = wire::id("id", &req.get_ref().id)?;
        let (_, row) = self.readable(p, bearer, id).await?;
        Ok((&row).into())
    }

    async fn list_files(&self, req: Request<pb::ListFilesRequest>) -> Result<pb::ListFilesResponse, AppError> {
        let (p, bearer) = self.reader(&req)?;
        let r = req.into_inner();
        let citizen_id = opt_id("citizen_id", &r.citizen_id, s::ID_INVALID)?;
        let appeal_id = opt_id("appeal_id", &r.appeal_id, s::ID_INVALID)?;
        match appeal_id {
            Some(_) if citizen_id.is_some() => return Err(AppError::invalid("appeal_id", s::OWNER_BOTH)),
            Some(a) if !self.check_appeal(&p, &bearer, a).await? => {
                return Err(AppError::invalid("appeal_id", s::APPEAL_UNKNOWN));
            }
            Some(_) => {}
            None if !domain::roles_allow(&p.roles, Permission::ReadFiles) => {
                return Err(denied());
            }
            None => {}
        }
        let mut call = self.st.kit.open_as(p, Some(bearer)).await?;
        // A citizen's files: only of citizens inside the caller's scope.
        let citizens =
            if appeal_id.is_some() { domain::CitizenScope::All } else { domain::citizen_scope(&call.principal) };
        let filter = store::FileFilter {
            citizen_id,
            appeal_id,
            citizens,
            file_type_id: opt_id("file_type_id", &r.file_type_id, s::ID_INVALID)?,
            after: convert::parse_page_token(&r.page_token).map_err(|e| AppError::invalid("page_token", e))?,
            limit: if r.page_size <= 0 { 50 } else { r.page_size.min(500) } as i64,
        };
        let (rows, total) = store::list_files(&mut call.tx, &filter).await?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() as i64 == filter.limit => {
                convert::page_token(&store::FileCursor { created_at: last.created_at, id: last.id })
            }
            _ => String::new(),
        };
        Ok(pb::ListFilesResponse { files: rows.iter().map(Into::into).collect(), next_page_token, total_size: total })
    }

    async fn set_file_type(&self, req: Request<pb::SetFileTypeRequest>) -> Result<pb::File, AppError> {
        let may = |p: &Principal| {
            domain::roles_allow(&p.roles, Permission::SetAnyFileType)
                || domain::roles_allow(&p.roles, Permission::SetOwnUploadType)
        };
        let mut call = self.st.kit.open_if(&req, may, denied).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let type_id = opt_id("file_type_id", &r.file_type_id, s::FILE_TYPE_UNKNOWN)?;
        let before = store::lock_file(&mut call.tx, id).await?.ok_or_else(file_not_found)?;
        if !domain::may_set_type(&call.principal.roles, call.principal.account_id, before.uploaded_by) {
            return Err(denied());
        }
        if let Some(citizen) = before.citizen_id
            && !domain::citizen_scope(&call.principal).admits(&mut call.tx, citizen).await?
        {
            return Err(file_not_found());
        }
        if let Some(t) = type_id
            && store::live_file_type(&mut call.tx, t).await?.is_none()
        {
            return Err(AppError::invalid("file_type_id", s::FILE_TYPE_UNKNOWN));
        }
        let now = self.st.kit.now();
        store::set_file_type(&mut call.tx, id, type_id, call.principal.account_id, now).await?;
        let details = serde_json::json!({
            "citizen_id": before.citizen_id, "from": before.file_type_id, "to": type_id,
        });
        call.audit("file.set_type", "file", id, details).await?;
        let row = self.file(&mut call.tx, id).await?;
        call.commit().await?;
        Ok((&row).into())
    }
}

opeka_platform::grpc_handlers!(FilesService for Api {
    create_file_type(pb::CreateFileTypeRequest) -> pb::FileType;
    rename_file_type(pb::RenameFileTypeRequest) -> pb::FileType;
    delete_file_type(pb::DeleteFileTypeRequest) -> pb::DeleteFileTypeResponse;
    get_file_type(pb::GetFileTypeRequest) -> pb::FileType;
    list_file_types(pb::ListFileTypesRequest) -> pb::ListFileTypesResponse;
    download_file(pb::DownloadFileRequest) -> DownloadStream;
    get_file(pb::GetFileRequest) -> pb::File;
    list_files(pb::ListFilesRequest) -> pb::ListFilesResponse;
    set_file_type(pb::SetFileTypeRequest) -> pb::File;
}
    type DownloadFileStream = DownloadStream;

    async fn upload_file(&self, req: Request<Streaming<pb::UploadFileRequest>>) -> Result<tonic::Response<pb::File>, Status> {
        // Which owner the caller may store for is known from the header: the
        // pipeline checks it before any byte is stored.
        let p = auth::principal(&req)?;
        if !domain::roles_allow(&p.roles, Permission::Upload) && !domain::roles_allow(&p.roles, Permission::AppealFiles)
        {
            return Err(denied().into());
        }
        let bearer = Bearer::of(req.metadata())?;
        // In its own task: if the client goes away, hyper drops this handler
        // mid-await, but the pipeline still runs to its clean-up.
        let task = tokio::spawn(
            upload::receive(self.st.clone(), p, bearer, req.into_inner()).instrument(tracing::Span::current()),
        );
        let row = task.await.map_err(AppError::internal)??;
        Ok(tonic::Response::new((&row).into()))
    }
);
