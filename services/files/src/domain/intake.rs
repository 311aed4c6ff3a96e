//! The rules an upload's bytes pass as they arrive: the size limit, the
//! content type sniffed from the first bytes, the SHA-256 of the whole.
//! Refusals are (proto field, Russian sentence) pairs. No I/O here: the
//! caller feeds chunks and writes them wherever it likes.
use sha2::{Digest, Sha256};

use super::sniff::{SNIFF_BYTES, Sniffed, sniff};
use crate::strings as s;

pub type Refusal = (&'static str, String);

pub struct Intake {
    max_bytes: u64,
    allowed: std::sync::Arc<[String]>,
    name_extension: Option<String>,
    size: u64,
    hasher: Sha256,
    prefix: Vec<u8>,
    sniffed: Option<Sniffed>,
}

/// What a complete, accepted upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub size: u64,
    pub sha256: String,
    pub sniffed: Sniffed,
}

impl Intake {
    pub fn new(max_bytes: u64, allowed: std::sync::Arc<[String]>, name_extension: Option<String>) -> Self {
        Self { max_bytes, allowed, name_extension, size: 0, hasher: Sha256::new(), prefix: Vec::new(), sniffed: None }
    }

    /// Takes the next chunk. Refuses as soon as the file is over the limit
    /// or its first bytes show a type that is not allowed.
    pub fn take(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        self.size += chunk.len() as u64;
        if self.size > self.max_bytes {
            return Err(("chunk", s::too_large(self.max_bytes)));
        }
        self.hasher.update(chunk);
        if self.sniffed.is_none() {
            let room = SNIFF_BYTES - self.prefix.len();
            self.prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if self.prefix.len() == SNIFF_BYTES {
                self.sniff()?;
            }
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stream ended: the file is complete.
    pub fn finish(mut self, declared_size: Option<u64>) -> Result<Received, Refusal> {
        if self.size == 0 {
            return Err(("chunk", s::FILE_EMPTY.into()));
        }
        if declared_size.is_some_and(|d| d != self.size) {
            return Err(("declared_size", s::SIZE_MISMATCH.into()));
        }
        let sniffed = match self.sniffed {
            Some(v) => v,
            None => self.sniff()?,
        };
        Ok(Received { size: self.size, sha256: hex::encode(self.hasher.finalize()), sniffed })
    }

    fn sniff(&mut self) -> Result<Sniffed, Refusal> {
        let found = sniff(&self.prefix, self.name_extension.as_deref());
        if !self.allowed.iter().any(|a| a == found.content_type) {
            return Err(("chunk", s::type_not_allowed(found.content_type, &self.allowed)));
        }
        self.sniffed = Some(found);
        self.prefix = Vec::new();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sniff::samples;
    use super::*;

    fn intake(max: u64) -> Intake {
        Intake::new(max, crate::settings::default_allowed_content_types().into(), None)
    }

    #[test]
    fn a_file_in_pieces_is_measured_hashed_and_sniffed() {
        let pdf = [samples::pdf(), vec![b'x'; 200_000]].concat();
        let mut i = intake(1 << 20);
        for piece in pdf.chunks(7_000) {
            i.take(piece).unwrap();
        }
        let r = i.finish(Some(pdf.len() as u64)).unwrap();
        assert_eq!(r.size, pdf.len() as u64);
        assert_eq!(r.sha256, hex::encode(Sha256::digest(&pdf)));
        assert_eq!(r.sniffed.content_type, "application/pdf");
    }

    #[test]
    fn over_the_limit_is_refused_on_the_chunk_that_crosses_it() {
        let mut i = intake(10);
        i.take(&samples::pdf()[..10]).unwrap();
        let (field, msg) = i.take(b"!").unwrap_err();
        assert_eq!(field, "chunk");
        assert!(msg.contains("не более 10 байт"), "{msg}");
    }

    #[test]
    fn a_disallowed_type_is_refused_once_enough_bytes_arrived() {
        let exe = [samples::exe(), vec![0u8; SNIFF_BYTES]].concat();
        let mut i = intake(1 << 20);
        let (field, msg) = i.take(&exe).unwrap_err();
        assert_eq!(field, "chunk");
        assert!(msg.contains("не принимаются") && msg.contains("PDF"), "{msg}");
        // A short one is refused at the end.
        let mut i = intake(1 << 20);
        i.take(&samples::exe()).unwrap();
        assert_eq!(i.finish(None).unwrap_err().0, "chunk");
    }

    #[test]
    fn empty_files_and_wrong_declared_sizes_are_refused() {
        assert_eq!(intake(10).finish(None).unwrap_err(), ("chunk", s::FILE_EMPTY.to_string()));
        let mut i = intake(1000);
        i.take(&samples::png()).unwrap();
        assert_eq!(i.finish(Some(3)).unwrap_err().0, "declared_size");
    }
}
