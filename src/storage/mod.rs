//! Object storage for attachments: one port, two adapters. `local` keeps files under a
//! directory and serves them through the node's own port with expiring HMAC-signed URLs (the
//! default, for a single node); `s3` talks to an S3-compatible service through rust-s3 with
//! presigned URLs, so the bytes never pass through the node.

pub mod local;
pub mod s3;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, Utc};

pub use local::LocalStorage;
pub use s3::S3Storage;

/// The store the node uses.
pub type Storage = Arc<dyn ObjectStore>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("the object is larger than {0} bytes")]
    TooLarge(u64),
    #[error("storage failed: {0}")]
    Failed(String),
}

impl StorageError {
    pub fn failed(cause: impl std::fmt::Display) -> Self {
        StorageError::Failed(cause.to_string())
    }
}

/// Where and how a client uploads an object: a `PUT` of the bytes to `url` with exactly
/// `headers`.
#[derive(Debug, Clone)]
pub struct SignedUpload {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

impl SignedUpload {
    /// An upload through `url`, whose signature binds `content_type` and `size`: the client
    /// must send exactly these headers.
    pub fn new(url: String, content_type: &str, size: u64) -> SignedUpload {
        SignedUpload {
            url,
            headers: vec![
                ("Content-Type", content_type.to_string()),
                ("Content-Length", size.to_string()),
            ],
        }
    }
}

/// What a download URL makes the response say.
#[derive(Debug, Clone, Copy)]
pub struct Presentation<'a> {
    pub content_type: &'a str,
    /// The `Content-Disposition` header (see `disposition`).
    pub disposition: &'a str,
}

#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// `local` or `s3`, for logs.
    fn kind(&self) -> &'static str;

    /// The origin of the signed URLs when it is not the node's own (S3): the page's
    /// Content-Security-Policy lets it load images from there and upload to it.
    fn foreign_origin(&self) -> Option<String> {
        None
    }

    /// A URL through which exactly `size` bytes of `content_type` can be stored as `key`
    /// until `expires_at`.
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> Result<SignedUpload, StorageError>;

    /// A URL that reads `key` until `expires_at`, answered as `presentation` says.
    async fn download_url(
        &self,
        key: &str,
        presentation: Presentation<'_>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StorageError>;

    /// The size of `key` in bytes.
    async fn size(&self, key: &str) -> Result<u64, StorageError>;

    /// The first `len` bytes of `key` (fewer when it is shorter).
    async fn read_prefix(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError>;

    /// All of `key`, when it has at most `max` bytes (one bounded read: the object may be
    /// replaced in between, so no size read before could be trusted).
    async fn read(&self, key: &str, max: u64) -> Result<Vec<u8>, StorageError> {
        let bytes = self.read_prefix(key, max + 1).await?;
        if bytes.len() as u64 > max {
            return Err(StorageError::TooLarge(max));
        }
        Ok(bytes)
    }

    /// Stores `bytes` as `key`.
    async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError>;

    /// Removes `key`; a missing object is no error.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Makes `to`, a key no one else writes, a copy of `from` as it is now (`NotFound` when
    /// there is nothing). `complete` checks the copy and readers read it, so whatever a signed
    /// upload URL writes to `from` later changes nothing anyone gets. `from` may be left as it
    /// was (the cleanup job removes it once its URL has expired).
    async fn seal(&self, from: &str, to: &str) -> Result<(), StorageError>;
}

/// Signs the download URLs of attachments, for a while from now.
#[derive(Clone)]
pub struct Signer {
    pub store: Storage,
    /// URLs are valid at least this long.
    pub ttl: Duration,
}

/// The signed URLs of one attachment.
#[derive(Debug, Clone)]
pub struct Downloads {
    pub url: String,
    pub thumbnail_url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// What the URLs of an attachment are made from.
pub struct Object<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub name: &'a str,
    pub thumbnail_key: Option<&'a str>,
}

impl Signer {
    /// When URLs signed now expire: at least `ttl` from now, rounded up to the next five
    /// minutes, so that URLs signed close together are the same (and cached by browsers).
    pub fn expiry(&self) -> DateTime<Utc> {
        let at =
            Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::hours(1));
        let step = chrono::Duration::minutes(5);
        at.duration_trunc(step)
            .map_or(at, |down| if down == at { at } else { down + step })
    }

    /// The URLs of `object` until `expires_at`.
    pub async fn downloads(
        &self,
        object: Object<'_>,
        expires_at: DateTime<Utc>,
    ) -> Result<Downloads, StorageError> {
        let disposition = disposition(object.name, object.content_type);
        let url = self
            .store
            .download_url(
                object.key,
                Presentation {
                    content_type: object.content_type,
                    disposition: &disposition,
                },
                expires_at,
            )
            .await?;
        let thumbnail_url = match object.thumbnail_key {
            Some(key) => Some(self.thumbnail_url(key, expires_at).await?),
            None => None,
        };
        Ok(Downloads {
            url,
            thumbnail_url,
            expires_at,
        })
    }

    /// The URL of the thumbnail stored as `key` until `expires_at`.
    pub async fn thumbnail_url(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StorageError> {
        let content_type = thumbnail_type(key);
        let disposition = disposition("thumbnail", content_type);
        self.store
            .download_url(
                key,
                Presentation {
                    content_type,
                    disposition: &disposition,
                },
                expires_at,
            )
            .await
    }
}

/// The key of the thumbnail of `key`, of `content_type` (JPEG or WebP).
pub fn thumbnail_key(key: &str, content_type: &str) -> String {
    let extension = if content_type == "image/webp" {
        "webp"
    } else {
        "jpg"
    };
    format!("{key}.thumb.{extension}")
}

fn thumbnail_type(key: &str) -> &'static str {
    if key.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

/// The four image types attachments may have.
pub const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// `Content-Disposition` for an object called `name`: `inline` for the four image types (a
/// browser shows them), `attachment` for anything else (it never renders it).
pub fn disposition(name: &str, content_type: &str) -> String {
    let kind = if IMAGE_TYPES.contains(&content_type) {
        "inline"
    } else {
        "attachment"
    };
    // A plain ASCII fallback, and the exact name in RFC 8187 form.
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        percent_encode(name)
    )
}

/// RFC 3986's unreserved characters: everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Whether `key` is one this node makes: a UUID, perhaps with a thumbnail's suffix. Keys
/// from requests are checked against this before they name a file.
pub fn is_valid_key(key: &str) -> bool {
    let id = key
        .strip_suffix(".thumb.jpg")
        .or_else(|| key.strip_suffix(".thumb.webp"))
        .unwrap_or(key);
    id.len() == 36
        && uuid::Uuid::parse_str(id).is_ok()
        && !id.contains(|c: char| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_are_inline_only_for_images_and_quote_any_name() {
        assert_eq!(
            disposition("cat pic.png", "image/png"),
            "inline; filename=\"cat pic.png\"; filename*=UTF-8''cat%20pic.png"
        );
        let odd = disposition("a\"b\r\n.é", "text/html");
        assert!(odd.starts_with("attachment; filename=\"a_b__._\""), "{odd}");
        assert!(odd.ends_with("a%22b%0D%0A.%C3%A9"), "{odd}");
    }

    #[test]
    fn only_the_nodes_own_keys_are_valid() {
        let id = uuid::Uuid::new_v4().to_string();
        assert!(is_valid_key(&id));
        assert!(is_valid_key(&thumbnail_key(&id, "image/jpeg")));
        assert!(is_valid_key(&thumbnail_key(&id, "image/webp")));
        assert!(!is_valid_key(&format!("{id}.thumb")));
        assert!(!is_valid_key("../etc/passwd"));
        assert!(!is_valid_key(&format!("{id}/../x")));
        assert!(!is_valid_key(&id.to_uppercase()));
        assert!(!is_valid_key(""));
    }
}
