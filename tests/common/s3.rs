//! A real S3-compatible server for tests: `s3s` over `s3s-fs`, on 127.0.0.1:0 in a thread and
//! runtime of its own. It verifies SigV4 signatures, presigned URLs (expiry and signed
//! headers) and credentials, as a hosted S3 does.

use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Where the bucket's objects are files.
    pub root: PathBuf,
}

impl S3Server {
    /// Starts a server with one empty bucket; it runs until the test process ends.
    pub fn start() -> S3Server {
        let root =
            std::env::temp_dir().join(format!("confab-s3-{}", uuid::Uuid::new_v4().simple()));
        let bucket = "confab-test".to_string();
        std::fs::create_dir_all(root.join(&bucket)).unwrap();
        let (access_key, secret_key) = (
            "confab-test-key".to_string(),
            "confab-test-secret-1234".to_string(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (fs_root, ak, sk) = (root.clone(), access_key.clone(), secret_key.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let fs = s3s_fs::FileSystem::new(fs_root).unwrap();
                let mut builder = S3ServiceBuilder::new(fs);
                builder.set_auth(SimpleAuth::from_single(ak, sk));
                let service = builder.build();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let http = ConnBuilder::new(TokioExecutor::new());
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let conn = http
                        .serve_connection(TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
            });
        });
        S3Server {
            endpoint,
            bucket,
            access_key,
            secret_key,
            root,
        }
    }

    /// Points `settings` at this server.
    pub fn configure(&self, storage: &mut confab::config::StorageSettings) {
        storage.s3_endpoint = self.endpoint.clone();
        storage.s3_bucket = self.bucket.clone();
        storage.s3_access_key = confab::config::Secret::new(&self.access_key);
        storage.s3_secret_key = confab::config::Secret::new(&self.secret_key);
    }

    /// The objects in the bucket, by key.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(self.root.join(&self.bucket))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        keys.sort();
        keys
    }
}
