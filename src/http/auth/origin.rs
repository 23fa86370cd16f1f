//! The origin check of the cookie-authenticated endpoints (`/auth/refresh`, `/auth/logout`;
//! PROTOCOL.md §14). SameSite=Lax keeps the refresh cookie from other sites, but not from a
//! sibling subdomain or another port of the same host, which a browser counts as the same
//! site. A browser names the page that made a request in `Origin` (and in `Sec-Fetch-Site`):
//! a request carrying the cookie from any page but the node's own is refused. Clients that are
//! not browsers send no `Origin` and are not affected.

use actix_web::http::header::{HeaderMap, ORIGIN};
use actix_web::HttpRequest;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Who the node is, as a browser would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnOrigin {
    /// The configured public origin (`storage.public_url`): scheme, host and port all count.
    Configured(url::Origin),
    /// None is configured: the request's `Host` (with its port, if any). The scheme is not
    /// known behind a proxy that ends TLS, so only the host and port count.
    Host(String),
}

/// Refuses (`forbidden`) a request from another origin; see the module's documentation.
pub fn check(req: &HttpRequest, state: &AppState) -> ApiResult<()> {
    let own = own_origin(req, &state.settings.storage.public_url);
    if from_own_origin(req.headers(), &own) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this request comes from another origin; the refresh cookie is only accepted from this site",
        ))
    }
}

/// The node's own origin for `req`: the configured public URL's, else the `Host` header's.
pub fn own_origin(req: &HttpRequest, public_url: &str) -> OwnOrigin {
    if let Ok(url) = url::Url::parse(public_url) {
        return OwnOrigin::Configured(url.origin());
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default();
    OwnOrigin::Host(host.to_ascii_lowercase())
}

/// Whether the request's headers allow it as coming from `own` (or from no browser page).
pub fn from_own_origin(headers: &HeaderMap, own: &OwnOrigin) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    // `same-site` is exactly the sibling subdomain or other port that SameSite lets through.
    if matches!(site.as_deref(), Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Some(origin) = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) else {
        // `null` (a sandboxed or privacy-sensitive context) and anything unparsable.
        return false;
    };
    match own {
        OwnOrigin::Configured(own) => origin.origin() == *own,
        OwnOrigin::Host(host) => {
            let Some(name) = origin.host_str() else {
                return false;
            };
            let authority = match origin.port() {
                Some(port) => format!("{name}:{port}"),
                None => name.to_string(),
            };
            !host.is_empty() && authority.eq_ignore_ascii_case(host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn host(h: &str) -> OwnOrigin {
        OwnOrigin::Host(h.into())
    }

    #[test]
    fn without_origin_a_request_is_not_a_browser_page_of_another_site() {
        assert!(from_own_origin(&headers(&[]), &host("chat.example.com")));
        assert!(from_own_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &host("chat.example.com")
        ));
        assert!(from_own_origin(
            &headers(&[("sec-fetch-site", "none")]),
            &host("chat.example.com")
        ));
    }

    #[test]
    fn the_host_is_compared_with_its_port() {
        let own = host("chat.example.com");
        assert!(from_own_origin(
            &headers(&[("origin", "https://chat.example.com")]),
            &own
        ));
        assert!(from_own_origin(
            &headers(&[("origin", "https://CHAT.example.com")]),
            &own
        ));
        for other in [
            "https://evil.example.com",
            "https://chat.example.com.evil.net",
            "https://chat.example.com:8443",
            "null",
            "garbage",
        ] {
            let h = HeaderValue::from_str(other).unwrap();
            let mut map = HeaderMap::new();
            map.insert(ORIGIN, h);
            assert!(!from_own_origin(&map, &own), "{other}");
        }
        let with_port = host("127.0.0.1:8080");
        assert!(from_own_origin(
            &headers(&[("origin", "http://127.0.0.1:8080")]),
            &with_port
        ));
        assert!(!from_own_origin(
            &headers(&[("origin", "http://127.0.0.1:8081")]),
            &with_port
        ));
        assert!(!from_own_origin(
            &headers(&[("origin", "http://127.0.0.1:8080")]),
            &host("")
        ));
    }

    #[test]
    fn a_configured_origin_counts_scheme_host_and_port() {
        let own = OwnOrigin::Configured(
            url::Url::parse("https://chat.example.com/")
                .unwrap()
                .origin(),
        );
        assert!(from_own_origin(
            &headers(&[("origin", "https://chat.example.com")]),
            &own
        ));
        assert!(from_own_origin(
            &headers(&[("origin", "https://chat.example.com:443")]),
            &own
        ));
        assert!(!from_own_origin(
            &headers(&[("origin", "http://chat.example.com")]),
            &own
        ));
        assert!(!from_own_origin(
            &headers(&[("origin", "https://chat.example.com:444")]),
            &own
        ));
    }

    #[test]
    fn sibling_sites_are_refused_by_fetch_metadata_alone() {
        let own = host("chat.example.com");
        for site in ["cross-site", "same-site", "CROSS-SITE"] {
            let mut map = HeaderMap::new();
            map.insert(
                HeaderName::from_static("sec-fetch-site"),
                HeaderValue::from_str(site).unwrap(),
            );
            assert!(!from_own_origin(&map, &own), "{site}");
            map.insert(ORIGIN, HeaderValue::from_static("https://chat.example.com"));
            assert!(!from_own_origin(&map, &own), "{site} with origin");
        }
    }
}
