//! Short-lived HS256 access tokens.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Secret;

const ACCESS: &str = "access";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    typ: String,
    /// The refresh-token family the token was issued with, so that revoking the family
    /// (logout, reuse) can end what it authenticated. Absent on tokens issued without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fam: Option<Uuid>,
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub user: Uuid,
    pub family: Option<Uuid>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs and verifies access tokens with the configured secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &Secret, access_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl,
        }
    }

    /// An access token for `user_id` with the configured lifetime, of refresh-token `family`.
    pub fn issue_access(&self, user_id: Uuid, family: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign_claims(
            user_id,
            now,
            now + self.access_ttl.as_secs() as i64,
            Some(family),
        )
    }

    /// An access token for `user_id` valid for `ttl`, of no family (long-lived tokens for load
    /// tests, and tests).
    pub fn issue_access_for(&self, user_id: Uuid, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign(user_id, now, now + ttl.as_secs() as i64)
    }

    /// A token that expired `ago` seconds ago, for tests of expiry handling.
    pub fn issue_expired(&self, user_id: Uuid, ago: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let exp = now - ago.as_secs() as i64;
        self.sign(user_id, exp - self.access_ttl.as_secs() as i64, exp)
    }

    fn sign(&self, user_id: Uuid, iat: i64, exp: i64) -> String {
        self.sign_claims(user_id, iat, exp, None)
    }

    fn sign_claims(&self, user_id: Uuid, iat: i64, exp: i64, fam: Option<Uuid>) -> String {
        let claims = Claims {
            sub: user_id,
            iat,
            exp,
            typ: ACCESS.into(),
            fam,
        };
        // HS256 signing with an in-memory key cannot fail.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// The user id of a valid, unexpired access token.
    pub fn verify_access(&self, token: &str) -> Result<Uuid, TokenError> {
        self.verify(token).map(|access| access.user)
    }

    /// What a valid, unexpired access token says.
    pub fn verify(&self, token: &str) -> Result<Access, TokenError> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == ACCESS => Ok(Access {
                user: data.claims.sub,
                family: data.claims.fam,
                expires_at: data.claims.exp,
            }),
            Ok(_) => Err(TokenError::Invalid),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(&Secret::new(secret), Duration::from_secs(900))
    }

    #[test]
    fn a_fresh_token_verifies_to_its_user() {
        let keys = keys("a");
        let user = Uuid::new_v4();
        let family = Uuid::new_v4();
        let access = keys.verify(&keys.issue_access(user, family)).unwrap();
        assert_eq!((access.user, access.family), (user, Some(family)));
        assert!(access.expires_at > chrono::Utc::now().timestamp());
        assert_eq!(
            keys.verify(&keys.issue_access_for(user, Duration::from_secs(9)))
                .unwrap()
                .family,
            None
        );
    }

    #[test]
    fn expired_garbled_and_foreign_tokens_are_refused() {
        let (keys, other) = (keys("a"), keys("b"));
        let user = Uuid::new_v4();
        assert_eq!(
            keys.verify_access(&keys.issue_expired(user, Duration::from_secs(5))),
            Err(TokenError::Expired)
        );
        assert_eq!(keys.verify_access("not.a.token"), Err(TokenError::Invalid));
        assert_eq!(keys.verify_access(""), Err(TokenError::Invalid));
        let foreign = other.issue_access(user, Uuid::new_v4());
        assert_eq!(keys.verify_access(&foreign), Err(TokenError::Invalid));
        let mut tampered = keys.issue_access(user, Uuid::new_v4());
        tampered.pop();
        assert_eq!(keys.verify_access(&tampered), Err(TokenError::Invalid));
    }
}
