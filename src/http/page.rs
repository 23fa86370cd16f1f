//! The web client (`web/`), embedded in the binary and served at `/`: the page, its script,
//! its styles, the client library and the vendored socket.io-client bundle. Nothing is loaded
//! from another origin; HTML carries the strict Content-Security-Policy of `headers`. Each
//! file is also kept gzipped, for clients that take it, and has an ETag (its SHA-256), so a
//! browser revalidates with one small request.

use std::io::Write as _;
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use flate2::write::GzEncoder;
use flate2::Compression;
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

/// One asset as it is sent: its bytes as they are and gzipped (made once, so a page load
/// costs no compression), with an ETag for each (the SHA-256 of the file).
struct Variants {
    etag: String,
    gzip_etag: String,
    gzip: Vec<u8>,
}

/// The variants of every asset, in the order of `ASSETS`.
static VARIANTS: LazyLock<Vec<Variants>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = format!("{:x}", Sha256::digest(a.body));
            Variants {
                etag: format!("\"{digest}\""),
                gzip_etag: format!("\"{digest}-gzip\""),
                gzip: gzipped(a.body),
            }
        })
        .collect()
});

fn gzipped(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

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
    let variants = &VARIANTS[index];
    let gzip = !variants.gzip.is_empty() && accepts_gzip(req);
    let (etag, body): (&str, &'static [u8]) = if gzip {
        (&variants.gzip_etag, variants.gzip.as_slice())
    } else {
        (&variants.etag, asset.body)
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified().finish()
    } else {
        let mut ok = HttpResponse::Ok();
        ok.content_type(asset.content_type);
        if gzip {
            // Already encoded: actix must not encode it again.
            ok.insert_header((header::CONTENT_ENCODING, "gzip"));
        }
        ok.body(body)
    };
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// Whether the request's `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}
