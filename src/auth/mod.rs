//! Authentication: access JWTs, password hashing and refresh tokens. The HTTP extractor that
//! applies them to a request is `http::bearer::AuthUser`.

pub mod jwt;
pub mod password;
pub mod refresh;
pub mod throttle;

pub use jwt::{Access, JwtKeys, TokenError};
