//! The local store: files under a directory, uploaded and downloaded through this node's own
//! port (`/storage/{key}`, served by `http::storage`) with expiring HMAC-signed URLs. An
//! upload URL is bound to the key, the method, the size and the content type; a download URL
//! to the key and the headers its response carries. Same origin as the API, so no CORS.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio::io::AsyncReadExt;

use super::{percent_encode, ObjectStore, Presentation, SignedUpload, StorageError};

type HmacSha256 = Hmac<Sha256>;

/// Where the route serving the store is mounted.
pub const ROUTE: &str = "/storage";

pub struct LocalStorage {
    dir: PathBuf,
    /// The origin in signed URLs, without a trailing slash.
    base: String,
    key: Vec<u8>,
    /// Keys with an upload under way: one at a time each, so that one upload URL cannot
    /// fill the disk with concurrent copies.
    receiving: Mutex<HashSet<String>>,
}

/// An upload under way to one key; the key is free again when it is dropped.
pub struct Receiving<'a> {
    store: &'a LocalStorage,
    key: String,
}

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        let mut receiving = self
            .store
            .receiving
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        receiving.remove(&self.key);
    }
}

/// The query of a signed URL.
#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    pub expires: i64,
    #[serde(rename = "type")]
    pub content_type: String,
    pub size: Option<u64>,
    pub disposition: Option<String>,
    pub sig: String,
}

/// What a valid signed URL allows.
#[derive(Debug, PartialEq, Eq)]
pub enum Grant {
    Put {
        content_type: String,
        size: u64,
    },
    Get {
        content_type: String,
        disposition: String,
    },
}

/// Why a signed URL was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL has expired")]
    Expired,
    #[error("the URL's signature does not match")]
    BadSignature,
}

impl LocalStorage {
    /// A store under `dir` (created if missing), whose URLs name `base`, signed with `key`.
    pub fn new(dir: &Path, base: &str, key: &[u8]) -> std::io::Result<LocalStorage> {
        std::fs::create_dir_all(dir.join(".incoming"))?;
        Ok(LocalStorage {
            dir: dir.to_path_buf(),
            base: base.trim_end_matches('/').to_string(),
            key: key.to_vec(),
            receiving: Mutex::new(HashSet::new()),
        })
    }

    /// Claims `key` for an upload; `None` while another upload to it is under way.
    pub fn receive(&self, key: &str) -> Option<Receiving<'_>> {
        let mut receiving = self.receiving.lock().unwrap_or_else(|e| e.into_inner());
        receiving.insert(key.to_string()).then(|| Receiving {
            store: self,
            key: key.to_string(),
        })
    }

    /// Whether an upload to `key` is under way.
    pub fn is_receiving(&self, key: &str) -> bool {
        let receiving = self.receiving.lock().unwrap_or_else(|e| e.into_inner());
        receiving.contains(key)
    }

    /// The file of `key` (a valid key: see `storage::is_valid_key`), in one of 256 folders.
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(key)
    }

    /// A fresh file for bytes on their way in, renamed over the object by `commit`.
    pub fn incoming_path(&self) -> PathBuf {
        self.dir
            .join(".incoming")
            .join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Makes `incoming` the object `key`, atomically.
    pub async fn commit(&self, key: &str, incoming: &Path) -> std::io::Result<()> {
        let path = self.path(key);
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder).await?;
        }
        tokio::fs::rename(incoming, path).await
    }

    fn signature(&self, fields: &[&str]) -> HmacSha256 {
        // A key of any length is valid for HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        for field in fields {
            mac.update(field.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    fn sign(&self, fields: &[&str]) -> String {
        URL_SAFE_NO_PAD.encode(self.signature(fields).finalize().into_bytes())
    }

    /// Checks a request's signed URL for `method` on `key` at `now`.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        query: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<Grant, Refusal> {
        let expires = query.expires.to_string();
        let (fields, grant) = match method {
            "PUT" => {
                let size = query.size.ok_or(Refusal::BadSignature)?;
                let size_text = size.to_string();
                let fields =
                    [method, key, &expires, &query.content_type, &size_text].map(String::from);
                (
                    fields,
                    Grant::Put {
                        content_type: query.content_type.clone(),
                        size,
                    },
                )
            }
            _ => {
                let disposition = query.disposition.clone().ok_or(Refusal::BadSignature)?;
                let fields =
                    ["GET", key, &expires, &query.content_type, &disposition].map(String::from);
                (
                    fields,
                    Grant::Get {
                        content_type: query.content_type.clone(),
                        disposition,
                    },
                )
            }
        };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let given = URL_SAFE_NO_PAD
            .decode(&query.sig)
            .map_err(|_| Refusal::BadSignature)?;
        self.signature(&fields)
            .verify_slice(&given)
            .map_err(|_| Refusal::BadSignature)?;
        if now.timestamp() > query.expires {
            return Err(Refusal::Expired);
        }
        Ok(grant)
    }

    /// `url` (one of this store's) at `origin` instead of the configured one: the signature
    /// binds the path and query, not the host.
    pub fn rebase(&self, url: &str, origin: &str) -> String {
        match url.strip_prefix(&self.base) {
            Some(rest) => format!("{}{rest}", origin.trim_end_matches('/')),
            None => url.to_string(),
        }
    }

    fn url(&self, key: &str, query: &[(&str, &str)]) -> String {
        let query: Vec<String> = query
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        format!("{}{ROUTE}/{key}?{}", self.base, query.join("&"))
    }
}

fn io_error(err: std::io::Error) -> StorageError {
    if err.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound
    } else {
        StorageError::failed(err)
    }
}

#[async_trait]
impl ObjectStore for LocalStorage {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> Result<SignedUpload, StorageError> {
        let (expires, size_text) = (expires_at.timestamp().to_string(), size.to_string());
        let sig = self.sign(&["PUT", key, &expires, content_type, &size_text]);
        let url = self.url(
            key,
            &[
                ("expires", &expires),
                ("type", content_type),
                ("size", &size_text),
                ("sig", &sig),
            ],
        );
        Ok(SignedUpload::new(url, content_type, size))
    }

    async fn download_url(
        &self,
        key: &str,
        presentation: Presentation<'_>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StorageError> {
        let expires = expires_at.timestamp().to_string();
        let (content_type, disposition) = (presentation.content_type, presentation.disposition);
        let sig = self.sign(&["GET", key, &expires, content_type, disposition]);
        Ok(self.url(
            key,
            &[
                ("expires", &expires),
                ("type", content_type),
                ("disposition", disposition),
                ("sig", &sig),
            ],
        ))
    }

    async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let meta = tokio::fs::metadata(self.path(key))
            .await
            .map_err(io_error)?;
        Ok(meta.len())
    }

    async fn read_prefix(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError> {
        let file = tokio::fs::File::open(self.path(key))
            .await
            .map_err(io_error)?;
        let mut bytes = Vec::new();
        file.take(len)
            .read_to_end(&mut bytes)
            .await
            .map_err(io_error)?;
        Ok(bytes)
    }

    async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let incoming = self.incoming_path();
        tokio::fs::write(&incoming, bytes).await.map_err(io_error)?;
        self.commit(key, &incoming).await.map_err(io_error)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(StorageError::failed(err)),
        }
    }

    /// A rename: uploads are renamed over their key whole (`commit`), so the file moved is one
    /// upload's bytes, and an upload that ends later makes a new file at `from`.
    async fn seal(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let path = self.path(to);
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder).await.map_err(io_error)?;
        }
        tokio::fs::rename(self.path(from), path)
            .await
            .map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalStorage {
        let dir = std::env::temp_dir().join(format!("confab-local-{}", uuid::Uuid::new_v4()));
        LocalStorage::new(&dir, "http://node.test/", b"secret").unwrap()
    }

    fn query_of(url: &str) -> SignedQuery {
        let query = url.split_once('?').unwrap().1;
        serde_urlencoded::from_str(query).unwrap()
    }

    #[actix_web::test]
    async fn a_signed_url_grants_what_it_names_until_it_expires() {
        let store = store();
        let key = uuid::Uuid::new_v4().to_string();
        let expires = Utc::now() + chrono::Duration::minutes(15);
        let upload = store
            .upload_url(&key, "image/png", 42, expires)
            .await
            .unwrap();
        assert!(upload
            .url
            .starts_with(&format!("http://node.test/storage/{key}?")));
        let query = query_of(&upload.url);
        assert_eq!(
            store.verify("PUT", &key, &query, Utc::now()),
            Ok(Grant::Put {
                content_type: "image/png".into(),
                size: 42
            })
        );
        let later = expires + chrono::Duration::seconds(1);
        assert_eq!(
            store.verify("PUT", &key, &query, later),
            Err(Refusal::Expired)
        );
        // Another key, method, size or type: refused.
        let other = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            store.verify("PUT", &other, &query, Utc::now()),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            store.verify("GET", &key, &query, Utc::now()),
            Err(Refusal::BadSignature)
        );
        let bigger = SignedQuery {
            size: Some(43),
            ..query_of(&upload.url)
        };
        assert_eq!(
            store.verify("PUT", &key, &bigger, Utc::now()),
            Err(Refusal::BadSignature)
        );
        let html = SignedQuery {
            content_type: "text/html".into(),
            ..query_of(&upload.url)
        };
        assert_eq!(
            store.verify("PUT", &key, &html, Utc::now()),
            Err(Refusal::BadSignature)
        );
        let presentation = Presentation {
            content_type: "image/png",
            disposition: "inline",
        };
        let download = store
            .download_url(&key, presentation, expires)
            .await
            .unwrap();
        let query = query_of(&download);
        assert!(matches!(
            store.verify("GET", &key, &query, Utc::now()),
            Ok(Grant::Get { .. })
        ));
        let attachment = SignedQuery {
            disposition: Some("attachment".into()),
            ..query_of(&download)
        };
        assert_eq!(
            store.verify("GET", &key, &attachment, Utc::now()),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn one_upload_at_a_time_per_key() {
        let store = store();
        let first = store.receive("k").unwrap();
        assert!(store.receive("k").is_none());
        assert!(store.receive("other").is_some());
        drop(first);
        assert!(store.receive("k").is_some());
    }

    #[actix_web::test]
    async fn objects_are_written_read_and_deleted() {
        let store = store();
        let key = uuid::Uuid::new_v4().to_string();
        assert!(matches!(
            store.size(&key).await,
            Err(StorageError::NotFound)
        ));
        store
            .write(&key, b"hello world".to_vec(), "image/png")
            .await
            .unwrap();
        assert_eq!(store.size(&key).await.unwrap(), 11);
        assert_eq!(store.read_prefix(&key, 5).await.unwrap(), b"hello");
        assert!(matches!(
            store.read(&key, 10).await,
            Err(StorageError::TooLarge(10))
        ));
        assert_eq!(store.read(&key, 11).await.unwrap(), b"hello world");
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(
            store.size(&key).await,
            Err(StorageError::NotFound)
        ));
    }

    #[actix_web::test]
    async fn a_sealed_object_stays_as_it_was_sealed() {
        let store = store();
        let (key, sealed) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        assert!(matches!(
            store.seal(&key, &sealed).await,
            Err(StorageError::NotFound)
        ));
        store
            .write(&key, b"checked".to_vec(), "image/png")
            .await
            .unwrap();
        store.seal(&key, &sealed).await.unwrap();
        store
            .write(&key, b"replaced".to_vec(), "image/png")
            .await
            .unwrap();
        assert_eq!(store.read(&sealed, 100).await.unwrap(), b"checked");
    }
}
