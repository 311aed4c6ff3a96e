//! gRPC handlers: decode, authorise, call the store (or the upload
//! pipeline), encode. Every write is checked here against the caller's role
//! and runs in the caller's tenant transaction. An appeal's files are read
//! only after cases, asked with the caller's token, shows the caller that
//! appeal (`cases::Cases::sees_appeal`).
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use opeka_platform::auth::{self, Principal};
use opeka_platform::db::{self, Tx};
use opeka_platform::error::{AppError, FieldViolation, OnConstraint};
use opeka_proto::files::{self as pb, files_service_server::FilesService};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;
use uuid::Uuid;

use crate::State;
use crate::cases::Bearer;
use crate::domain::{self, FileTypeName, Permission};
use crate::store::{self, FileRow};
use crate::strings as s;
use crate::{convert, upload};

type Res<T> = Result<Response<T>, Status>;
pub type DownloadStream = Pin<Box<dyn Stream<Item = Result<pb::DownloadFileResponse, Status>> + Send>>;

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// An authenticated caller with a tenant transaction already open.
struct Caller {
    p: Principal,
    tx: Tx,
}

impl Caller {
    fn actor(&self) -> String {
        self.p.account_id.to_string()
    }
}

fn parse_id(field: &str, v: &str) -> Result<Uuid, AppError> {
    v.trim().parse().map_err(|_| AppError::invalid(field, s::ID_INVALID))
}

fn opt_id(field: &str, v: &str, unknown: &str) -> Result<Option<Uuid>, AppError> {
    match v.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| AppError::invalid(field, unknown)),
    }
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
    /// The caller, if a role grants `perm`.
    fn principal<T>(&self, req: &Request<T>, perm: Permission) -> Result<Principal, AppError> {
        let p = auth::principal(req)?;
        if !domain::roles_allow(&p.roles, perm) {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
        }
        Ok(p)
    }

    /// Authorises and opens the tenant transaction.
    async fn caller<T>(&self, req: &Request<T>, perm: Permission) -> Result<Caller, AppError> {
        let p = self.principal(req, perm)?;
        let tx = db::tenant_tx(&self.st.pool, p.tenant_id).await?;
        Ok(Caller { p, tx })
    }

    async fn audit(
        &self,
        c: &mut Caller,
        action: &str,
        entity: &str,
        entity_id: Uuid,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        let actor = c.actor();
        let entry = store::AuditEntry {
            tenant_id: c.p.tenant_id,
            actor_id: &actor,
            action,
            entity,
            entity_id: entity_id.to_string(),
            details,
            at: self.st.clock.now(),
        };
        store::audit(&mut c.tx, entry).await?;
        Ok(())
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
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
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
    async fn readable(&self, p: Principal, bearer: &Bearer, id: Uuid) -> Result<(Caller, FileRow), AppError> {
        let mut tx = db::tenant_tx(&self.st.pool, p.tenant_id).await?;
        let row = self.file(&mut tx, id).await?;
        match row.appeal_id {
            Some(appeal) if !self.check_appeal(&p, bearer, appeal).await? => return Err(file_not_found()),
            Some(_) => {}
            None if !domain::roles_allow(&p.roles, Permission::ReadFiles) => {
                return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
            }
            None => {
                // Another curator's citizen's file is not revealed to exist.
                let citizen = row.citizen_id.ok_or_else(file_not_found)?;
                if !domain::citizen_scope(&p).admits(&mut tx, citizen).await? {
                    return Err(file_not_found());
                }
            }
        }
        Ok((Caller { p, tx }, row))
    }
}

#[tonic::async_trait]
impl FilesService for Api {
    async fn create_file_type(&self, req: Request<pb::CreateFileTypeRequest>) -> Res<pb::FileType> {
        let mut c = self.caller(&req, Permission::ManageFileTypes).await?;
        let name = FileTypeName::parse(&req.get_ref().name).map_err(|e| AppError::invalid("name", e))?;
        let id = Uuid::now_v7();
        let row = name_taken(
            store::insert_file_type(&mut c.tx, c.p.tenant_id, id, name.as_str(), self.st.clock.now()).await,
        )?;
        self.audit(&mut c, "file_type.create", "file_type", id, serde_json::json!({"name": row.name})).await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn rename_file_type(&self, req: Request<pb::RenameFileTypeRequest>) -> Res<pb::FileType> {
        let mut c = self.caller(&req, Permission::ManageFileTypes).await?;
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let name = FileTypeName::parse(&r.name).map_err(|e| AppError::invalid("name", e))?;
        let before = store::get_file_type(&mut c.tx, id).await.map_err(AppError::from)?;
        let row =
            name_taken(store::rename_file_type(&mut c.tx, id, name.as_str()).await)?.ok_or_else(file_type_not_found)?;
        let from = before.map(|b| b.name).unwrap_or_default();
        self.audit(&mut c, "file_type.rename", "file_type", id, serde_json::json!({"from": from, "to": row.name}))
            .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn delete_file_type(&self, req: Request<pb::DeleteFileTypeRequest>) -> Res<pb::DeleteFileTypeResponse> {
        let mut c = self.caller(&req, Permission::ManageFileTypes).await?;
        let id = parse_id("id", &req.get_ref().id)?;
        let row = store::delete_file_type(&mut c.tx, id, self.st.clock.now())
            .await
            .map_err(AppError::from)?
            .ok_or_else(file_type_not_found)?;
        self.audit(&mut c, "file_type.delete", "file_type", id, serde_json::json!({"name": row.name})).await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::DeleteFileTypeResponse {}))
    }

    async fn get_file_type(&self, req: Request<pb::GetFileTypeRequest>) -> Res<pb::FileType> {
        let mut c = self.caller(&req, Permission::ReadFileTypes).await?;
        let id = parse_id("id", &req.get_ref().id)?;
        let row = store::get_file_type(&mut c.tx, id).await.map_err(AppError::from)?.ok_or_else(file_type_not_found)?;
        Ok(Response::new((&row).into()))
    }

    async fn list_file_types(&self, req: Request<pb::ListFileTypesRequest>) -> Res<pb::ListFileTypesResponse> {
        let mut c = self.caller(&req, Permission::ReadFileTypes).await?;
        let search = domain::search_key(&req.get_ref().query);
        let rows = store::list_file_types(&mut c.tx, Some(&search)).await.map_err(AppError::from)?;
        let (rows, next_page_token) =
            opeka_platform::paging::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(Response::new(pb::ListFileTypesResponse {
            file_types: rows.iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn upload_file(&self, req: Request<Streaming<pb::UploadFileRequest>>) -> Res<pb::File> {
        // Which owner the caller may store for is known from the header: the
        // pipeline checks it before any byte is stored.
        let p = auth::principal(&req)?;
        if !domain::roles_allow(&p.roles, Permission::Upload) && !domain::roles_allow(&p.roles, Permission::AppealFiles)
        {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()).into());
        }
        let bearer = Bearer::of(req.metadata())?;
        // In its own task: if the client goes away, hyper drops this handler
        // mid-await, but the pipeline still runs to its clean-up.
        let task = tokio::spawn(
            upload::receive(self.st.clone(), p, bearer, req.into_inner()).instrument(tracing::Span::current()),
        );
        let row = task.await.map_err(AppError::internal)??;
        Ok(Response::new((&row).into()))
    }

    type DownloadFileStream = DownloadStream;

    async fn download_file(&self, req: Request<pb::DownloadFileRequest>) -> Res<DownloadStream> {
        let (p, bearer) = self.reader(&req)?;
        let id = parse_id("id", &req.get_ref().id)?;
        let (mut c, row) = self.readable(p, &bearer, id).await?;
        let key = object_store::path::Path::from(row.storage_key.as_str());
        let chunks = self
            .st
            .blobs
            .read(&key)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("file {id}: reading blob {key}: {e}")))?;
        // Personal documents: who opened which citizen's (or appeal's) file is recorded.
        let details = serde_json::json!({"citizen_id": row.citizen_id, "appeal_id": row.appeal_id});
        self.audit(&mut c, "file.download", "file", id, details).await?;
        c.tx.commit().await.map_err(AppError::from)?;
        let head = pb::DownloadFileResponse { part: Some(pb::download_file_response::Part::File((&row).into())) };
        let body = chunks.map(move |piece| match piece {
            Ok(b) => Ok(pb::DownloadFileResponse { part: Some(pb::download_file_response::Part::Chunk(b.to_vec())) }),
            Err(e) => Err(AppError::internal(anyhow::anyhow!("file {id}: reading blob: {e}")).into()),
        });
        Ok(Response::new(Box::pin(futures::stream::once(async { Ok(head) }).chain(body))))
    }

    async fn get_file(&self, req: Request<pb::GetFileRequest>) -> Res<pb::File> {
        let (p, bearer) = self.reader(&req)?;
        let id = parse_id("id", &req.get_ref().id)?;
        let (_, row) = self.readable(p, &bearer, id).await?;
        Ok(Response::new((&row).into()))
    }

    async fn list_files(&self, req: Request<pb::ListFilesRequest>) -> Res<pb::ListFilesResponse> {
        let (p, bearer) = self.reader(&req)?;
        let r = req.into_inner();
        let citizen_id = opt_id("citizen_id", &r.citizen_id, s::ID_INVALID)?;
        let appeal_id = opt_id("appeal_id", &r.appeal_id, s::ID_INVALID)?;
        match appeal_id {
            Some(_) if citizen_id.is_some() => return Err(AppError::invalid("appeal_id", s::OWNER_BOTH).into()),
            Some(a) if !self.check_appeal(&p, &bearer, a).await? => {
                return Err(AppError::invalid("appeal_id", s::APPEAL_UNKNOWN).into());
            }
            Some(_) => {}
            None if !domain::roles_allow(&p.roles, Permission::ReadFiles) => {
                return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()).into());
            }
            None => {}
        }
        let tx = db::tenant_tx(&self.st.pool, p.tenant_id).await.map_err(AppError::from)?;
        let mut c = Caller { p, tx };
        // A citizen's files: only of citizens inside the caller's scope.
        let citizens = if appeal_id.is_some() { domain::CitizenScope::All } else { domain::citizen_scope(&c.p) };
        let filter = store::FileFilter {
            citizen_id,
            appeal_id,
            citizens,
            file_type_id: opt_id("file_type_id", &r.file_type_id, s::ID_INVALID)?,
            after: convert::parse_page_token(&r.page_token).map_err(|e| AppError::invalid("page_token", e))?,
            limit: if r.page_size <= 0 { 50 } else { r.page_size.min(500) } as i64,
        };
        let (rows, total) = store::list_files(&mut c.tx, &filter).await.map_err(AppError::from)?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() as i64 == filter.limit => {
                convert::page_token(&store::FileCursor { created_at: last.created_at, id: last.id })
            }
            _ => String::new(),
        };
        Ok(Response::new(pb::ListFilesResponse {
            files: rows.iter().map(Into::into).collect(),
            next_page_token,
            total_size: total,
        }))
    }

    async fn set_file_type(&self, req: Request<pb::SetFileTypeRequest>) -> Res<pb::File> {
        let p = auth::principal(&req)?;
        if !domain::roles_allow(&p.roles, Permission::SetAnyFileType)
            && !domain::roles_allow(&p.roles, Permission::SetOwnUploadType)
        {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()).into());
        }
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let type_id = opt_id("file_type_id", &r.file_type_id, s::FILE_TYPE_UNKNOWN)?;
        let tx = db::tenant_tx(&self.st.pool, p.tenant_id).await.map_err(AppError::from)?;
        let mut c = Caller { p, tx };
        let before = store::lock_file(&mut c.tx, id).await.map_err(AppError::from)?.ok_or_else(file_not_found)?;
        if !domain::may_set_type(&c.p.roles, c.p.account_id, before.uploaded_by) {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()).into());
        }
        if let Some(citizen) = before.citizen_id
            && !domain::citizen_scope(&c.p).admits(&mut c.tx, citizen).await.map_err(AppError::from)?
        {
            return Err(file_not_found().into());
        }
        if let Some(t) = type_id
            && store::live_file_type(&mut c.tx, t).await.map_err(AppError::from)?.is_none()
        {
            return Err(AppError::invalid("file_type_id", s::FILE_TYPE_UNKNOWN).into());
        }
        let now = self.st.clock.now();
        store::set_file_type(&mut c.tx, id, type_id, c.p.account_id, now).await.map_err(AppError::from)?;
        let details = serde_json::json!({
            "citizen_id": before.citizen_id, "from": before.file_type_id, "to": type_id,
        });
        self.audit(&mut c, "file.set_type", "file", id, details).await?;
        let row = self.file(&mut c.tx, id).await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }
}
