//! The blob store behind the files service (`object_store`: a local
//! directory by default, S3 in production) and its key layout. A blob is
//! written with a `BlobWriter` that either finishes or leaves nothing behind.
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// Where the blobs live, parsed from `OPEKA_FILES__STORE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:///abs/dir`
    Local(PathBuf),
    /// `s3://bucket[/prefix]`
    S3 { bucket: String, prefix: String },
}

impl StoreUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("'{s}' is not a URL: {e}"))?;
        match url.scheme() {
            "file" => {
                let path = url.to_file_path().map_err(|_| format!("'{s}': expected file:///absolute/path"))?;
                Ok(StoreUrl::Local(path))
            }
            "s3" => {
                let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or("s3:// needs a bucket: s3://bucket")?;
                Ok(StoreUrl::S3 { bucket: bucket.to_string(), prefix: url.path().trim_matches('/').to_string() })
            }
            other => Err(format!("unsupported scheme '{other}': use file:///dir or s3://bucket")),
        }
    }
}

/// Opens the store: creates a local directory when missing; reads the
/// standard `AWS_*` variables for S3.
pub fn open(url: &StoreUrl) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match url {
        StoreUrl::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("OPEKA_FILES__STORE_URL: cannot create {}: {e}", dir.display()))?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?
                .with_fsync(true)
                .with_automatic_cleanup(true);
            Ok(Arc::new(fs))
        }
        StoreUrl::S3 { bucket, prefix } => {
            let s3 = object_store::aws::AmazonS3Builder::from_env().with_url(format!("s3://{bucket}")).build()?;
            if prefix.is_empty() {
                Ok(Arc::new(s3))
            } else {
                Ok(Arc::new(object_store::prefix::PrefixStore::new(s3, Path::from(prefix.as_str()))))
            }
        }
    }
}

/// `tenants/<tenant_id>/files/<file_id>`: the tenant is part of every key.
pub fn key(tenant_id: Uuid, file_id: Uuid) -> Path {
    Path::from_iter(["tenants", &tenant_id.to_string(), "files", &file_id.to_string()])
}

/// The size of the pieces a download is sent in.
pub const DOWNLOAD_CHUNK: usize = 64 * 1024;

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    buffer: usize,
}

impl Blobs {
    pub fn new(store: Arc<dyn ObjectStore>, buffer_bytes: u64) -> Self {
        Self { store, buffer: buffer_bytes as usize }
    }

    /// A writer for a new blob at `key`: buffered up to the configured size,
    /// streamed as a multipart upload beyond it.
    pub fn writer(&self, key: Path) -> BlobWriter {
        BlobWriter {
            inner: Some(BufWriter::with_capacity(self.store.clone(), key.clone(), self.buffer)),
            key,
            store: self.store.clone(),
        }
    }

    pub async fn delete(&self, key: &Path) -> object_store::Result<()> {
        match self.store.delete(key).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// The blob as pieces of exactly `DOWNLOAD_CHUNK` bytes (the last may be shorter).
    pub async fn read(&self, key: &Path) -> object_store::Result<BoxStream<'static, object_store::Result<Bytes>>> {
        let source = self.store.get(key).await?.into_stream();
        Ok(rechunk(source, DOWNLOAD_CHUNK))
    }

    /// Readiness: the store answers (a missing probe object is fine).
    pub async fn check(&self) -> Result<(), String> {
        match self.store.head(&Path::from("readiness-probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Regroups a byte stream into pieces of `size` bytes.
fn rechunk(
    source: BoxStream<'static, object_store::Result<Bytes>>,
    size: usize,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    futures::stream::unfold((source, Vec::<u8>::new(), false), move |(mut source, mut buf, mut done)| async move {
        loop {
            if buf.len() >= size || (done && !buf.is_empty()) {
                let rest = buf.split_off(buf.len().min(size));
                let piece = std::mem::replace(&mut buf, rest);
                return Some((Ok(Bytes::from(piece)), (source, buf, done)));
            }
            if done {
                return None;
            }
            match source.next().await {
                Some(Ok(b)) => buf.extend_from_slice(&b),
                Some(Err(e)) => return Some((Err(e), (source, Vec::new(), true))),
                None => done = true,
            }
        }
    })
    .boxed()
}

/// A blob being written. `finish` publishes it; anything else — `abort`, an
/// error, or dropping the writer — removes what was written so far.
pub struct BlobWriter {
    inner: Option<BufWriter>,
    key: Path,
    store: Arc<dyn ObjectStore>,
}

impl BlobWriter {
    pub fn key(&self) -> &Path {
        &self.key
    }

    pub async fn put(&mut self, bytes: Bytes) -> object_store::Result<()> {
        let w = self.inner.as_mut().expect("writer used after finish or abort");
        w.put(bytes).await
    }

    /// Completes the upload; on failure removes whatever reached the store.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        let mut w = self.inner.take().expect("writer finished twice");
        if let Err(e) = w.shutdown().await {
            // The writer cannot be aborted after shutdown began; delete instead.
            let _ = self.store.delete(&self.key).await;
            return Err(anyhow::anyhow!("completing blob {}: {e}", self.key));
        }
        Ok(())
    }

    /// Cancels the upload, removing any part already written.
    pub async fn abort(mut self) {
        if let Some(mut w) = self.inner.take()
            && let Err(e) = w.abort().await
        {
            tracing::warn!(key = %self.key, error = %e, "aborting a blob upload failed");
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Dropped mid-upload (the task was cancelled): abort in the background.
        if let Some(mut w) = self.inner.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let key = self.key.clone();
            rt.spawn(async move {
                if let Err(e) = w.abort().await {
                    tracing::warn!(%key, error = %e, "aborting a dropped blob upload failed");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(StoreUrl::parse("file:///var/lib/opeka").unwrap(), StoreUrl::Local("/var/lib/opeka".into()));
        assert_eq!(
            StoreUrl::parse("s3://opeka-files/prod/a").unwrap(),
            StoreUrl::S3 { bucket: "opeka-files".into(), prefix: "prod/a".into() }
        );
        assert!(StoreUrl::parse("s3:///x").is_err());
        assert!(StoreUrl::parse("ftp://x/y").is_err());
        assert!(StoreUrl::parse("relative/dir").is_err());
    }

    #[test]
    fn an_s3_store_is_configured_without_touching_the_network() {
        let bare = open(&StoreUrl::parse("s3://opeka-files").unwrap()).unwrap();
        assert!(bare.to_string().contains("opeka-files"), "{bare}");
        let prefixed = open(&StoreUrl::parse("s3://opeka-files/prod").unwrap()).unwrap();
        assert!(prefixed.to_string().contains("prod"), "{prefixed}");
    }

    #[test]
    fn keys_carry_the_tenant() {
        let (t, f) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(key(t, f).as_ref(), format!("tenants/{t}/files/{f}"));
    }

    #[tokio::test]
    async fn downloads_come_in_fixed_pieces() {
        let source = futures::stream::iter([7usize, 3, 20, 1].map(|n| Ok(Bytes::from(vec![1u8; n])))).boxed();
        let sizes: Vec<usize> = rechunk(source, 8).map(|b| b.unwrap().len()).collect().await;
        assert_eq!(sizes, vec![8, 8, 8, 7]);
    }

    #[tokio::test]
    async fn an_aborted_or_dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&StoreUrl::Local(dir.path().to_path_buf())).unwrap();
        let blobs = Blobs::new(store.clone(), 4096);
        let files = || walk(dir.path());
        // Past the buffer: a multipart upload with a staging file on disk.
        let mut w = blobs.writer(key(Uuid::now_v7(), Uuid::now_v7()));
        w.put(Bytes::from(vec![0u8; 10_000])).await.unwrap();
        w.put(Bytes::from(vec![0u8; 10_000])).await.unwrap();
        assert!(!files().is_empty(), "the upload reached the disk");
        w.abort().await;
        assert!(files().is_empty(), "{:?}", files());

        let mut w = blobs.writer(key(Uuid::now_v7(), Uuid::now_v7()));
        w.put(Bytes::from(vec![0u8; 10_000])).await.unwrap();
        drop(w);
        for _ in 0..100 {
            if files().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(files().is_empty(), "{:?}", files());

        let k = key(Uuid::now_v7(), Uuid::now_v7());
        let mut w = blobs.writer(k.clone());
        w.put(Bytes::from(vec![5u8; 9000])).await.unwrap();
        w.finish().await.unwrap();
        let read: Vec<Bytes> = blobs.read(&k).await.unwrap().map(|b| b.unwrap()).collect().await;
        assert_eq!(read.iter().map(|b| b.len()).sum::<usize>(), 9000);
        blobs.delete(&k).await.unwrap();
        blobs.delete(&k).await.unwrap();
        assert!(files().is_empty(), "{:?}", files());
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
        out
    }
}
