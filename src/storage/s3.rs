//! The S3 adapter, through rust-s3: presigned PUTs that sign `content-type` and
//! `content-length` (the client must send exactly what it declared), presigned GETs that set
//! the response's type and disposition, and HEAD, ranged GET, PUT and DELETE for the node's
//! own checks and thumbnails. Custom endpoints use path-style requests; signed URLs name the
//! public endpoint, which may differ from the one the node reaches.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, IF_NONE_MATCH};
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::{ObjectStore, Presentation, SignedUpload, StorageError};
use crate::config::StorageSettings;

/// How long one request of the node to S3 may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct S3Storage {
    /// What the node talks to.
    bucket: Box<Bucket>,
    /// What signed URLs name.
    public: Box<Bucket>,
    /// Whether upload URLs sign `If-None-Match: *` (store once, refuse every later PUT).
    create_only: bool,
}

fn bucket(settings: &StorageSettings, endpoint: &str) -> Result<Box<Bucket>, StorageError> {
    let credentials = Credentials::new(
        Some(settings.s3_access_key.expose()),
        Some(settings.s3_secret_key.expose()),
        None,
        None,
        None,
    )
    .map_err(StorageError::failed)?;
    let region = if endpoint.is_empty() {
        settings.s3_region.parse().map_err(StorageError::failed)?
    } else {
        Region::Custom {
            region: settings.s3_region.clone(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
        }
    };
    let mut bucket =
        Bucket::new(&settings.s3_bucket, region, credentials).map_err(StorageError::failed)?;
    if !endpoint.is_empty() {
        bucket = bucket.with_path_style();
    }
    bucket.set_request_timeout(Some(REQUEST_TIMEOUT));
    Ok(bucket)
}

impl S3Storage {
    pub fn new(settings: &StorageSettings) -> Result<S3Storage, StorageError> {
        let public_endpoint = if settings.s3_public_endpoint.is_empty() {
            &settings.s3_endpoint
        } else {
            &settings.s3_public_endpoint
        };
        Ok(S3Storage {
            bucket: bucket(settings, &settings.s3_endpoint)?,
            public: bucket(settings, public_endpoint)?,
            create_only: settings.s3_if_none_match,
        })
    }
}

/// Seconds from now until `at`, as a presigned URL counts them (1 s to 7 days).
fn expiry_secs(at: DateTime<Utc>) -> u32 {
    (at - Utc::now()).num_seconds().clamp(1, 604_800) as u32
}

fn s3_error(err: S3Error) -> StorageError {
    match err {
        S3Error::HttpFailWithBody(404, _) => StorageError::NotFound,
        other => StorageError::failed(other),
    }
}

fn header(value: &str) -> Result<HeaderValue, StorageError> {
    HeaderValue::from_str(value).map_err(StorageError::failed)
}

/// `scheme://host[:port]` of `url`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && matches!(scheme, "http" | "https")).then(|| format!("{scheme}://{host}"))
}

#[async_trait]
impl ObjectStore for S3Storage {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn foreign_origin(&self) -> Option<String> {
        origin_of(&self.public.url())
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> Result<SignedUpload, StorageError> {
        let mut signed = HeaderMap::new();
        signed.insert(CONTENT_TYPE, header(content_type)?);
        signed.insert(CONTENT_LENGTH, HeaderValue::from(size));
        if self.create_only {
            signed.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        }
        let url = self
            .public
            .presign_put(key, expiry_secs(expires_at), Some(signed), None)
            .await
            .map_err(s3_error)?;
        let mut upload = SignedUpload::new(url, content_type, size);
        if self.create_only {
            upload.headers.push(("If-None-Match", "*".to_string()));
        }
        Ok(upload)
    }

    async fn download_url(
        &self,
        key: &str,
        presentation: Presentation<'_>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StorageError> {
        let queries = HashMap::from([
            (
                "response-content-type".to_string(),
                presentation.content_type.to_string(),
            ),
            (
                "response-content-disposition".to_string(),
                presentation.disposition.to_string(),
            ),
        ]);
        self.public
            .presign_get(key, expiry_secs(expires_at), Some(queries))
            .await
            .map_err(s3_error)
    }

    async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let (head, _) = self.bucket.head_object(key).await.map_err(s3_error)?;
        head.content_length
            .and_then(|len| u64::try_from(len).ok())
            .ok_or_else(|| StorageError::failed("HEAD gave no Content-Length"))
    }

    async fn read_prefix(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let response = self
            .bucket
            .get_object_range(key, 0, Some(len - 1))
            .await
            .map_err(s3_error)?;
        let mut bytes = response.bytes().to_vec();
        bytes.truncate(len as usize);
        Ok(bytes)
    }

    async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.bucket
            .put_object_with_content_type(key, &bytes, content_type)
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.bucket.delete_object(key).await {
            Ok(_) | Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(err) => Err(StorageError::failed(err)),
        }
    }

    /// A server-side copy, which reads one whole version of `from`.
    async fn seal(&self, from: &str, to: &str) -> Result<(), StorageError> {
        self.bucket
            .copy_object_internal(from, to)
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StorageSettings {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let vars = std::collections::HashMap::from([
            (
                "S3_ENDPOINT".to_string(),
                "http://10.0.0.7:9000".to_string(),
            ),
            (
                "S3_PUBLIC_ENDPOINT".to_string(),
                "https://files.example.com".to_string(),
            ),
            ("S3_BUCKET".to_string(), "pics".to_string()),
            ("S3_ACCESS_KEY".to_string(), "AKIDEXAMPLE".to_string()),
            (
                "S3_SECRET_KEY".to_string(),
                "wJalrXUtnFEMI/K7MDENG".to_string(),
            ),
        ]);
        crate::config::Settings::load_from("test", &dir, &vars)
            .unwrap()
            .storage
    }

    #[test]
    fn the_foreign_origin_is_the_public_endpoints() {
        let store = S3Storage::new(&settings()).unwrap();
        assert_eq!(
            store.foreign_origin().as_deref(),
            Some("https://files.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/pics").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("ftp://host/x"), None);
    }

    #[actix_web::test]
    async fn signed_urls_name_the_public_endpoint_and_bind_type_and_size() {
        let settings = settings();
        assert!(settings.uses_s3());
        let store = S3Storage::new(&settings).unwrap();
        let expires = Utc::now() + chrono::Duration::minutes(15);
        let upload = store
            .upload_url("abc", "image/png", 1234, expires)
            .await
            .unwrap();
        assert!(
            upload
                .url
                .starts_with("https://files.example.com/pics/abc?"),
            "{}",
            upload.url
        );
        assert!(
            upload.url.contains(
                "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match"
            ),
            "{}",
            upload.url
        );
        let seconds: u32 = upload.url.split("X-Amz-Expires=").nth(1).unwrap()[..3]
            .parse()
            .unwrap();
        assert!((890..=900).contains(&seconds), "{}", upload.url);
        assert_eq!(upload.headers[1], ("Content-Length", "1234".to_string()));
        assert_eq!(upload.headers[2], ("If-None-Match", "*".to_string()));
        let presentation = Presentation {
            content_type: "image/png",
            disposition: "inline; filename=\"a.png\"",
        };
        let download = store
            .download_url("abc", presentation, expires)
            .await
            .unwrap();
        assert!(
            download.starts_with("https://files.example.com/pics/abc?"),
            "{download}"
        );
        assert!(
            download.contains("response-content-type=image%2Fpng"),
            "{download}"
        );
        assert!(
            download.contains("response-content-disposition=inline"),
            "{download}"
        );
    }
}
