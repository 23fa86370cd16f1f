//! Security headers on every HTTP response: no content sniffing, no referrer, nothing from
//! the API cached, and any HTML the node serves locked to its own origin and never framed.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// The policy for HTML: scripts, styles, images and connections from this origin only (and
/// images from and uploads to the object store, when it has an origin of its own), no
/// plugins, no framing.
pub fn content_security_policy(storage_origin: Option<&str>) -> String {
    let store = storage_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{store}; \
         connect-src 'self'{store}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The policy as a header value, made once from the node's settings.
#[derive(Clone)]
pub struct Csp(pub HeaderValue);

impl Csp {
    /// The policy for a node whose object store signs URLs of `storage_origin`.
    pub fn new(storage_origin: Option<&str>) -> anyhow::Result<Csp> {
        Ok(Csp(HeaderValue::from_str(&content_security_policy(
            storage_origin,
        ))?))
    }
}

/// The policy where no node settings are at hand (the metrics listener): this origin only.
static DEFAULT_CSP: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    HeaderValue::from_str(&content_security_policy(None))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// Adds the headers to the response of `req`.
pub async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let api = req.path().starts_with("/api");
    let csp = req
        .app_data::<web::Data<Csp>>()
        .map_or_else(|| DEFAULT_CSP.clone(), |c| c.0.clone());
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if html {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Ok(res)
}
