//! Opaque refresh tokens: random, stored only as SHA-256 hashes, carried in an HttpOnly cookie.

use actix_web::cookie::{time, Cookie, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::AuthSettings;

/// The path the refresh cookie is sent to: only the token endpoints see it.
pub const COOKIE_PATH: &str = "/api/auth";

/// A new random token (256 bits, URL-safe base64).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hash under which a token is stored.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The cookie that carries `token` for `settings.refresh_ttl_secs`.
pub fn cookie(settings: &AuthSettings, token: String) -> Cookie<'static> {
    Cookie::build(settings.refresh_cookie_name.clone(), token)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(settings.refresh_cookie_secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(settings.refresh_ttl_secs as i64))
        .finish()
}

/// A cookie that makes the browser forget the refresh token.
pub fn removal_cookie(settings: &AuthSettings) -> Cookie<'static> {
    let mut cookie = cookie(settings, String::new());
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }
}
