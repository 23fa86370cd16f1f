//! bcrypt hashing, always off the async threads.

use actix_web::web;

use crate::error::ApiResult;

/// Hashes `password` with `cost` on the blocking pool.
pub async fn hash(password: String, cost: u32) -> ApiResult<String> {
    let hashed = web::block(move || bcrypt::hash(password, cost)).await?;
    hashed.map_err(crate::error::ApiError::internal)
}

/// Checks `password` against `hash` on the blocking pool. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> ApiResult<bool> {
    let matched = web::block(move || bcrypt::verify(password, &hash).unwrap_or(false)).await?;
    Ok(matched)
}
