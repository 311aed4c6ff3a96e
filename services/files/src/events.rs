//! What the files service publishes (through its outbox) on
//! `opeka.<tenant>.files.<event>`. It consumes nothing.
use opeka_proto::events::{self as ev, envelope::Body};

use crate::store::FileRow;

/// `file_received`: cases turns it into a work-queue activity (S0-85),
/// notifications mails the curator (S0-87). Only for a citizen's file: an
/// appeal's file is part of a step on the appeal, which cases announces.
pub fn file_received(f: &FileRow) -> Body {
    Body::FileReceived(ev::FileReceived {
        file_id: f.id.to_string(),
        citizen_id: f.citizen_id.map(|c| c.to_string()).unwrap_or_default(),
        file_type_id: f.file_type_id.map(|t| t.to_string()).unwrap_or_default(),
        original_name: f.original_name.clone(),
        content_type: f.content_type.clone(),
        size: f.size,
        uploaded_by: f.uploaded_by.to_string(),
        channel: f.channel.clone(),
        file_type_name: f.file_type_name.clone().unwrap_or_default(),
        sha256: f.sha256.clone(),
    })
}
