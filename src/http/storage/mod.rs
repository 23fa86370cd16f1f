//! The local store's own routes (`/storage/{key}`): uploads and downloads through signed URLs
//! only. Mounted when the local store is in use.

pub mod get;
pub mod put;

use crate::error::ApiError;
use crate::storage::local::{Refusal, SignedQuery};

/// The signed query of a request, or why it is refused.
fn signed_query(query: &str) -> Result<SignedQuery, ApiError> {
    serde_urlencoded::from_str(query).map_err(|_| ApiError::forbidden("the URL is not signed"))
}

fn refused(refusal: Refusal) -> ApiError {
    ApiError::forbidden(refusal.to_string())
}
