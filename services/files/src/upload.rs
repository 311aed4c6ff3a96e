//! The upload pipeline: header → who may store a file for its owner (a
//! citizen, or an appeal cases shows the caller) → chunks into a `BlobWriter`
//! through the domain's `Intake` → metadata, outbox event and audit in one
//! transaction. Any failure before the commit aborts the blob, so a broken
//! upload leaves neither a row nor a blob.
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use opeka_platform::auth::Principal;
use opeka_platform::db;
use opeka_platform::error::{AppError, Violations};
use opeka_proto::files as pb;
use tonic::Status;
use uuid::Uuid;

use crate::State;
use crate::blobs::{self, BlobWriter};
use crate::domain::intake::{Intake, Received, Refusal};
use crate::domain::{self, Channel, OriginalName, Permission};
use crate::store::{self, FileRow};
use crate::strings as s;
use opeka_platform::call::Bearer;

/// The largest message the service decodes: a chunk of up to 1 MiB plus the header.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024 + 16 * 1024;
/// A client that sends nothing for this long has gone; its upload is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Whose file an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Citizen(Uuid),
    Appeal(Uuid),
}

impl Owner {
    fn citizen(self) -> Option<Uuid> {
        match self {
            Owner::Citizen(id) => Some(id),
            Owner::Appeal(_) => None,
        }
    }

    fn appeal(self) -> Option<Uuid> {
        match self {
            Owner::Appeal(id) => Some(id),
            Owner::Citizen(_) => None,
        }
    }
}

/// The validated header of an upload.
struct Header {
    owner: Owner,
    file_type_id: Option<Uuid>,
    original_name: Option<OriginalName>,
    declared_content_type: String,
    declared_size: Option<u64>,
}

fn header(m: &pb::UploadFileRequest, max_bytes: u64) -> Result<Header, AppError> {
    let mut errs = Violations::new();
    let owner = match (m.citizen_id.trim(), m.appeal_id.trim()) {
        ("", "") => {
            errs.add("citizen_id", s::CITIZEN_REQUIRED);
            None
        }
        (v, "") => {
            errs.check("citizen_id", v.parse::<Uuid>().map_err(|_| s::ID_INVALID.to_string())).map(Owner::Citizen)
        }
        ("", v) => errs.check("appeal_id", v.parse::<Uuid>().map_err(|_| s::ID_INVALID.to_string())).map(Owner::Appeal),
        (_, _) => {
            errs.add("appeal_id", s::OWNER_BOTH);
            None
        }
    };
    let file_type_id = match m.file_type_id.trim() {
        "" => None,
        v => errs.check("file_type_id", v.parse::<Uuid>().map_err(|_| s::FILE_TYPE_UNKNOWN.to_string())),
    };
    let original_name = errs.check("original_name", OriginalName::parse(&m.original_name)).flatten();
    let declared_size = errs.check("declared_size", domain::declared_size(m.declared_size)).flatten();
    if declared_size.is_some_and(|d| d > max_bytes) {
        errs.add("declared_size", s::too_large(max_bytes));
    }
    errs.into_result()?;
    Ok(Header {
        owner: owner.expect("checked"),
        file_type_id,
        original_name,
        declared_content_type: m.declared_content_type.trim().chars().take(255).collect(),
        declared_size,
    })
}

/// The header field a later message must not carry, if it does.
fn repeated_header_field(m: &pb::UploadFileRequest) -> Option<&'static str> {
    [
        ("citizen_id", !m.citizen_id.is_empty()),
        ("file_type_id", !m.file_type_id.is_empty()),
        ("original_name", !m.original_name.is_empty()),
        ("declared_content_type", !m.declared_content_type.is_empty()),
        ("declared_size", m.declared_size.is_some()),
        ("appeal_id", !m.appeal_id.is_empty()),
    ]
    .into_iter()
    .find_map(|(f, set)| set.then_some(f))
}

fn refused((field, msg): Refusal) -> Status {
    AppError::invalid(field, msg).into()
}

/// Whether `p` may store a file for `owner`: a citizen's with the upload
/// permission and inside `p`'s citizen scope (a curator: their own); an appeal's with the appeal-files permission and only when
/// cases shows `p` that appeal (asked with `p`'s own token).
async fn may_store(st: &State, p: &Principal, bearer: &Bearer, owner: Owner) -> Result<(), AppError> {
    let denied = || AppError::PermissionDenied(s::PERMISSION_DENIED.into());
    match owner {
        Owner::Citizen(id) if domain::roles_allow(&p.roles, Permission::Upload) => {
            let scope = domain::citizen_scope(p);
            if scope.is_all() {
                return Ok(());
            }
            // A card created a moment ago may not have reached the projection yet.
            opeka_platform::curators::wait_known(&st.kit.pool, p.tenant_id, id).await?;
            let mut tx = db::tenant_tx(&st.kit.pool, p.tenant_id).await?;
            if scope.admits(&mut tx, id).await? {
                Ok(())
            } else {
                Err(AppError::invalid("citizen_id", s::CITIZEN_UNKNOWN))
            }
        }
        Owner::Appeal(id) if domain::roles_allow(&p.roles, Permission::AppealFiles) => {
            if st.cases.sees_appeal(bearer, id).await? {
                Ok(())
            } else {
                Err(AppError::invalid("appeal_id", s::APPEAL_UNKNOWN))
            }
        }
        _ => Err(denied()),
    }
}

/// Receives one upload for caller `p` (holding one of the upload permissions)
/// and returns the committed metadata.
pub async fn receive<S>(st: Arc<State>, p: Principal, bearer: Bearer, mut stream: S) -> Result<FileRow, Status>
where
    S: Stream<Item = Result<pb::UploadFileRequest, Status>> + Unpin + Send,
{
    let max = st.settings.max_file_bytes;
    // An empty stream is a header with nothing in it: citizen_id is missing.
    let first = next(&mut stream).await?.unwrap_or_default();
    let h = header(&first, max)?;
    may_store(&st, &p, &bearer, h.owner).await?;
    if let Some(t) = h.file_type_id {
        // Refuse early, before any byte is stored; checked again at commit.
        let mut tx = db::tenant_tx(&st.kit.pool, p.tenant_id).await.map_err(AppError::from)?;
        if store::live_file_type(&mut tx, t).await.map_err(AppError::from)?.is_none() {
            return Err(AppError::invalid("file_type_id", s::FILE_TYPE_UNKNOWN).into());
        }
    }

    let file_id = Uuid::now_v7();
    let mut writer = st.blobs.writer(blobs::key(p.tenant_id, file_id));
    let name_ext = h.original_name.as_ref().and_then(OriginalName::extension);
    let mut intake = Intake::new(max, st.allowed.clone(), name_ext);
    let received = match pump(first.chunk, &mut stream, &mut intake, &mut writer).await {
        Ok(()) => intake.finish(h.declared_size).map_err(refused),
        Err(e) => Err(e),
    };
    let received = match received {
        Ok(r) => r,
        Err(e) => {
            writer.abort().await;
            tracing::info!(%file_id, code = ?e.code(), reason = %e.message(), "upload not stored");
            return Err(e);
        }
    };
    let key = writer.key().clone();
    if let Err(e) = writer.finish().await {
        tracing::error!(%file_id, error = %e, "storing an upload failed");
        return Err(AppError::Unavailable(s::STORE_UNAVAILABLE.into()).into());
    }
    match commit(&st, &p, &h, file_id, key.as_ref(), &received).await {
        Ok(row) => {
            tracing::info!(%file_id, citizen_id = ?row.citizen_id, appeal_id = ?row.appeal_id, size = row.size, content_type = %row.content_type, "file received");
            Ok(row)
        }
        Err(e) => {
            if let Err(del) = st.blobs.delete(&key).await {
                tracing::error!(%file_id, error = %del, "removing the blob of a failed upload failed");
            }
            Err(e.into())
        }
    }
}

/// The next message, or `None` at the end; a broken or idle stream is an error.
async fn next<S>(stream: &mut S) -> Result<Option<pb::UploadFileRequest>, Status>
where
    S: Stream<Item = Result<pb::UploadFileRequest, Status>> + Unpin,
{
    match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
        Err(_) => Err(Status::deadline_exceeded(s::UPLOAD_INTERRUPTED)),
        Ok(None) => Ok(None),
        Ok(Some(Ok(m))) => Ok(Some(m)),
        Ok(Some(Err(e))) => {
            tracing::info!(code = ?e.code(), reason = %e.message(), "upload stream broke off");
            Err(Status::new(e.code(), s::UPLOAD_INTERRUPTED))
        }
    }
}

/// Feeds every chunk through the intake rules into the blob writer.
async fn pump<S>(first: Vec<u8>, stream: &mut S, intake: &mut Intake, writer: &mut BlobWriter) -> Result<(), Status>
where
    S: Stream<Item = Result<pb::UploadFileRequest, Status>> + Unpin,
{
    let mut chunk = first;
    loop {
        if !chunk.is_empty() {
            intake.take(&chunk).map_err(refused)?;
            writer.put(chunk.into()).await.map_err(|e| {
                tracing::error!(error = %e, "writing an upload to the store failed");
                Status::from(AppError::Unavailable(s::STORE_UNAVAILABLE.into()))
            })?;
        }
        let Some(m) = next(stream).await? else { return Ok(()) };
        if let Some(field) = repeated_header_field(&m) {
            return Err(AppError::invalid(field, s::HEADER_REPEATED).into());
        }
        chunk = m.chunk;
    }
}

/// Metadata, the `file_received` event (a citizen's file only) and the audit
/// entry, in one transaction.
async fn commit(
    st: &State,
    p: &Principal,
    h: &Header,
    file_id: Uuid,
    key: &str,
    r: &Received,
) -> Result<FileRow, AppError> {
    let mut call = st.kit.open_as(p.clone(), None).await?;
    let (now, tx) = (call.now, &mut call.tx);
    if let Some(t) = h.file_type_id
        && store::live_file_type(tx, t).await?.is_none()
    {
        return Err(AppError::invalid("file_type_id", s::FILE_TYPE_UNKNOWN));
    }
    let name = h.original_name.clone().unwrap_or_else(|| OriginalName::fallback(r.sniffed.extension));
    let channel = Channel::of(&p.kind, &p.roles);
    store::insert_file(
        tx,
        &store::NewFile {
            id: file_id,
            tenant_id: p.tenant_id,
            citizen_id: h.owner.citizen(),
            appeal_id: h.owner.appeal(),
            file_type_id: h.file_type_id,
            original_name: name.as_str(),
            content_type: r.sniffed.content_type,
            declared_content_type: &h.declared_content_type,
            size: r.size as i64,
            sha256: &r.sha256,
            storage_key: key,
            uploaded_by: p.account_id,
            channel: channel.as_str(),
            created_at: now,
        },
    )
    .await?;
    let row = store::get_file(tx, file_id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("inserted file vanished")))?;
    if row.citizen_id.is_some() {
        call.emit(crate::events::file_received(&row)).await?;
    }
    let details = serde_json::json!({
        "citizen_id": row.citizen_id, "appeal_id": row.appeal_id,
        "file_type_id": row.file_type_id, "original_name": row.original_name,
        "content_type": row.content_type, "declared_content_type": row.declared_content_type,
        "size": row.size, "sha256": row.sha256, "channel": row.channel,
    });
    call.audit("file.upload", "file", file_id, details).await?;
    call.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_checked_field_by_field() {
        let err = header(&pb::UploadFileRequest::default(), 100).err().unwrap();
        let AppError::Invalid(v) = err else { panic!("{err:?}") };
        assert_eq!(v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(), vec!["citizen_id"]);
        let m = pb::UploadFileRequest {
            citizen_id: "nope".into(),
            file_type_id: "bad".into(),
            declared_size: Some(101),
            ..Default::default()
        };
        let AppError::Invalid(v) = header(&m, 100).err().unwrap() else { panic!() };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, vec!["citizen_id", "file_type_id", "declared_size"]);
        let m = pb::UploadFileRequest {
            citizen_id: Uuid::now_v7().to_string(),
            original_name: "C:\\scans\\Паспорт.PDF".into(),
            declared_size: Some(100),
            ..Default::default()
        };
        let h = header(&m, 100).unwrap();
        assert_eq!(h.original_name.unwrap().as_str(), "Паспорт.PDF");
    }

    // S1-38: a file is a citizen's or an appeal's — exactly one of the two.
    #[test]
    fn the_owner_is_a_citizen_or_an_appeal_never_both() {
        let (citizen, appeal) = (Uuid::now_v7(), Uuid::now_v7());
        let m = pb::UploadFileRequest { appeal_id: appeal.to_string(), ..Default::default() };
        assert_eq!(header(&m, 100).unwrap().owner, Owner::Appeal(appeal));
        let m = pb::UploadFileRequest { citizen_id: citizen.to_string(), ..Default::default() };
        assert_eq!(header(&m, 100).unwrap().owner, Owner::Citizen(citizen));
        let both = pb::UploadFileRequest {
            citizen_id: citizen.to_string(),
            appeal_id: appeal.to_string(),
            ..Default::default()
        };
        let AppError::Invalid(v) = header(&both, 100).err().unwrap() else { panic!() };
        assert_eq!((v[0].field.as_str(), v[0].description.as_str()), ("appeal_id", s::OWNER_BOTH));
        let bad = pb::UploadFileRequest { appeal_id: "№ 7".into(), ..Default::default() };
        let AppError::Invalid(v) = header(&bad, 100).err().unwrap() else { panic!() };
        assert_eq!(v[0].field, "appeal_id");
        let later = pb::UploadFileRequest { appeal_id: appeal.to_string(), ..Default::default() };
        assert_eq!(repeated_header_field(&later), Some("appeal_id"));
    }

    #[test]
    fn later_messages_carry_only_chunks() {
        assert_eq!(repeated_header_field(&pb::UploadFileRequest { chunk: vec![1], ..Default::default() }), None);
        let m = pb::UploadFileRequest { declared_size: Some(0), ..Default::default() };
        assert_eq!(repeated_header_field(&m), Some("declared_size"));
    }
}
