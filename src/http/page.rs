//! The web client (`web/`), embedded in the binary and served at `/`: the page, its script,
//! its styles, the client library and the vendored socket.io-client bundle. Nothing is loaded
//! from another origin; HTML carries the strict Content-Security-Policy of `headers`. Each
//! file has an ETag (its SHA-256), so a browser revalidates with one small request.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// An embedded file of `web/`, served at `/` followed by its path there.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $content_type,
            body: include_bytes!(concat!("../../web/", $file)),
        }
    };
}

/// Every file of the client, by the path it is served at.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: HTML,
        body: include_bytes!("../../web/index.html"),
    },
    asset!("app.js", JS),
    asset!("app/composer.js", JS),
    asset!("app/contacts.js", JS),
    asset!("app/dom.js", JS),
    asset!("app/list.js", JS),
    asset!("app/messages.js", JS),
    asset!("app/people.js", JS),
    asset!("app/search.js", JS),
    asset!("app/spaces.js", JS),
    asset!("app/state.js", JS),
    asset!("confab-client.js", JS),
    asset!("style.css", CSS),
    asset!("vendor/socket.io.esm.min.js", JS),
];

/// Each asset's ETag, in the order of `ASSETS`.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{:x}\"", Sha256::digest(a.body)))
        .collect()
});

/// Mounts the client: each file at its path, and the page at `/invite/{code}` too (the page
/// reads the code from its address).
pub fn routes(cfg: &mut web::ServiceConfig) {
    for (index, asset) in ASSETS.iter().enumerate() {
        cfg.route(
            asset.path,
            web::get().to(move |req: HttpRequest| async move { serve(&req, index) }),
        );
    }
    cfg.route(
        "/invite/{code}",
        web::get().to(|req: HttpRequest| async move { serve(&req, 0) }),
    );
}

fn serve(req: &HttpRequest, index: usize) -> HttpResponse {
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok()
            .content_type(asset.content_type)
            .body(asset.body)
    };
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
