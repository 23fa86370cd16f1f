use actix_web::get;
use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::http::bearer::AuthUser;
use crate::http::views::UserView;
use crate::models::contact;
use crate::state::AppState;

/// Contacts listed at most, by username.
const MAX_LISTED: i64 = 5_000;

/// `{ contacts }`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactList {
    pub contacts: Vec<UserView>,
}

/// `GET /api/contacts` → `{ contacts: [User] }`, by username.
#[utoipa::path(
    operation_id = "listContacts",
    tag = "contacts",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's contacts, by username", body = ContactList)),
)]
#[get("/contacts")]
pub async fn list(state: web::Data<AppState>, me: AuthUser) -> ApiResult<web::Json<ContactList>> {
    let mut conn = state.pool.get().await?;
    let contacts: Vec<UserView> = contact::of_user(&mut conn, me.id, MAX_LISTED)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(ContactList { contacts }))
}
