//! The tool's one HTTP client (reqwest): the API calls of the upload and search benchmarks, the
//! uploads' PUTs to storage, the `/metrics` scrapes, and the long-polling start of a client.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// The longest a `/metrics` scrape may take (it runs beside the measurements).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// A client whose connections leave from `source` (any address when `None`). It follows no
/// redirect (a thumbnail's 302 is the answer the upload benchmark waits for) and uses no proxy
/// (the nodes under load are reached directly, whatever the environment says).
pub fn client(source: Option<IpAddr>) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .local_address(source)
        .tcp_nodelay(true)
        .build()?)
}

/// A call of the JSON API under `base` with `token` as its bearer: the status, and the body
/// (`null` when it is not JSON).
pub async fn api(
    http: &Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// The text of `{base}/metrics`; `None` when the node does not answer it with a 200 in time.
pub async fn metrics(http: &Client, base: &str) -> Option<String> {
    let response = http
        .get(format!("{base}/metrics"))
        .timeout(SCRAPE_TIMEOUT)
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    response.text().await.ok()
}
