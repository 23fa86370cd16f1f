//! `TestApp`: the real server on port 0 against a database of its own, and a small client.

use std::collections::HashMap;
use std::path::Path;

use actix_web::dev::ServerHandle;
use actix_web::web;
use awc::http::header::HeaderMap;
use confab::config::{Secret, Settings};
use confab::startup::Application;
use confab::state::AppState;
use serde_json::{json, Value};

/// The settings the test suite runs with: `config/test.toml`, on the PostgreSQL server of
/// `DATABASE_URL` (default: the local one), in a new database named `name`.
pub fn test_settings(name: &str) -> Settings {
    let vars: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k == "DATABASE_URL")
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::load_from("test", &dir, &vars).expect("test settings");
    let url = confab::db::with_database_name(settings.database.url.expose(), name).unwrap();
    settings.database.url = Secret::new(url);
    settings.storage.dir = std::env::temp_dir().join("confab-test-uploads").join(name);
    settings
}

pub fn unique_db_name() -> String {
    format!("confab_test_{}", uuid::Uuid::new_v4().simple())
}

/// Drops a test database from a thread of its own (usable from `Drop`).
pub fn drop_database_blocking(url: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        if let Err(err) = rt.block_on(crate::common::drop_database(&url)) {
            eprintln!("could not drop test database: {err}");
        }
    })
    .join();
}

/// Drops its database when it goes out of scope, even when the test panics.
pub struct DbGuard(pub String);

impl Drop for DbGuard {
    fn drop(&mut self) {
        drop_database_blocking(self.0.clone());
    }
}

pub struct TestApp {
    pub base: String,
    pub db_url: String,
    pub state: web::Data<AppState>,
    pub client: awc::Client,
    /// The metrics listener, when `[metrics] bind` gave it one.
    pub metrics_base: Option<String>,
    handle: ServerHandle,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The value of the `name` cookie set by this response.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookie_header(name)
            .and_then(|h| h.split(';').next().map(str::to_string))
            .and_then(|pair| pair.split_once('=').map(|(_, v)| v.to_string()))
    }

    /// The whole `Set-Cookie` header for the cookie `name`.
    pub fn set_cookie_header(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// Reads a response: JSON bodies parsed, other bodies as a string, an empty one as null.
pub async fn read<S>(res: Result<awc::ClientResponse<S>, awc::error::SendRequestError>) -> Resp
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut res = res.expect("request reaches the server");
    let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Resp {
        status: res.status().as_u16(),
        body,
        headers: res.headers().clone(),
    }
}

/// A registered user and their credentials.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose settings `adjust` may change first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings(&unique_db_name());
        adjust(&mut settings);
        let db_url = settings.database.url.expose().to_string();
        let app = Application::build(settings).await.expect("server starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics_base = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let handle = app.handle();
        let state = app.state();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            base,
            db_url,
            state,
            client: awc::Client::default(),
            metrics_base,
            handle,
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        match body {
            Some(body) => read(req.send_json(&body).await).await,
            None => read(req.send().await).await,
        }
    }

    /// A request with a raw body and content type (for malformed input).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Resp {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{}", self.base, path))
            .insert_header(("Content-Type", content_type));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        read(req.send_body(body.to_string()).await).await
    }

    /// A request carrying a `Cookie` header and no other credentials.
    pub async fn with_cookie(&self, path: &str, cookie: &str) -> Resp {
        let req = self.client.post(format!("{}{}", self.base, path));
        read(req.insert_header(("Cookie", cookie)).send().await).await
    }

    /// A login attempt that a trusted proxy forwarded from `ip`.
    pub async fn login_from(&self, ip: &str, login: &str, password: &str) -> Resp {
        let req = self.client.post(format!("{}/api/auth/login", self.base));
        let req = req.insert_header(("X-Forwarded-For", ip));
        read(
            req.send_json(&json!({ "login": login, "password": password }))
                .await,
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request("POST", path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request("DELETE", path, Some(token), None).await
    }

    pub async fn register(&self, username: &str) -> TestUser {
        let res = self
            .request(
                "POST",
                "/api/auth/register",
                None,
                Some(json!({
                    "email": format!("{username}@example.com"),
                    "username": username,
                    "password": "correct horse battery",
                })),
            )
            .await;
        assert_eq!(res.status, 201, "register {username}: {:?}", res.body);
        TestUser {
            id: res.body["user"]["id"].as_str().unwrap().to_string(),
            username: username.to_string(),
            token: res.body["accessToken"].as_str().unwrap().to_string(),
            refresh: res.cookie("confab_refresh").expect("refresh cookie"),
        }
    }

    /// A group titled `title` owned by `owner` with `members`; returns its id.
    pub async fn group(&self, owner: &TestUser, title: &str, members: &[&TestUser]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let res = self
            .post(
                "/api/conversations",
                &owner.token,
                json!({ "kind": "group", "title": title, "memberIds": ids }),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body["id"].as_str().unwrap().to_string()
    }

    pub async fn dm(&self, from: &TestUser, to: &TestUser) -> Resp {
        self.post(
            "/api/conversations",
            &from.token,
            json!({ "kind": "dm", "userId": to.id }),
        )
        .await
    }

    /// The id of the DM between `from` and `to`, opening it if needed.
    pub async fn dm_id(&self, from: &TestUser, to: &TestUser) -> String {
        let res = self.dm(from, to).await;
        assert!(res.status == 200 || res.status == 201, "{:?}", res.body);
        res.body["id"].as_str().unwrap().to_string()
    }

    /// Makes `a` and `b` each other's contacts (a request from `a`, accepted by `b`).
    pub async fn befriend(&self, a: &TestUser, b: &TestUser) {
        let request = self
            .post(
                "/api/contacts/requests",
                &a.token,
                json!({ "userId": b.id }),
            )
            .await;
        assert_eq!(request.status, 201, "{:?}", request.body);
        let id = request.body["id"].as_str().unwrap();
        let accepted = self
            .post(
                &format!("/api/contacts/requests/{id}/accept"),
                &b.token,
                json!({}),
            )
            .await;
        assert_eq!(accepted.body["status"], "accepted", "{:?}", accepted.body);
    }

    /// Sets `settings.dmFromContactsOnly` of `user`.
    pub async fn contacts_only(&self, user: &TestUser) {
        let res = self
            .request(
                "PATCH",
                "/api/me",
                Some(&user.token),
                Some(json!({ "settings": { "dmFromContactsOnly": true } })),
            )
            .await;
        assert_eq!(
            res.body["settings"]["dmFromContactsOnly"], true,
            "{:?}",
            res.body
        );
    }

    /// The ids of `user`'s conversations (the first page).
    pub async fn conversation_ids(&self, user: &TestUser) -> Vec<String> {
        let res = self.get("/api/conversations", &user.token).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Sends `body` with client id `client_id` over HTTP.
    pub async fn send(
        &self,
        user: &TestUser,
        conversation: &str,
        client_id: &str,
        body: &str,
    ) -> Resp {
        self.post(
            &format!("/api/conversations/{conversation}/messages"),
            &user.token,
            json!({ "clientMessageId": client_id, "body": body }),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Ask the server to stop, then remove its database (open connections are cut).
        drop(self.handle.stop(false));
        drop_database_blocking(self.db_url.clone());
    }
}

/// Asserts that `res` is the contract's error with `status` and `code`.
#[track_caller]
pub fn assert_error(res: &Resp, status: u16, code: &str) {
    assert_eq!(res.status, status, "unexpected status, body {:?}", res.body);
    assert_eq!(res.code(), code, "unexpected code, body {:?}", res.body);
    assert!(
        res.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{:?}",
        res.body
    );
}
