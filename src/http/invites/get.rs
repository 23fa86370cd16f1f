use actix_web::{web, HttpRequest};
use chrono::Utc;
use serde_json::{json, Value};

use super::{code_hash, invite_not_found};
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::http::client_ip;
use crate::invites::Outcome;
use crate::messaging::view::timestamp;
use crate::models::{conversation, invite, workspace};
use crate::state::AppState;

/// `GET /api/invites/{code}` (any signed-in user) → `{ code, conversation: { id, title,
/// memberCount }, expiresAt }` (or `workspace: { id, name, memberCount }` for a workspace's
/// link); 404 when the code is unknown, expired, revoked or used up. Spends the caller's rate
/// of invite look-ups.
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<web::Json<Value>> {
    let address = client_ip(&req, state.settings.server.trust_proxy_headers);
    state.invites.spend(me.id, &address)?;
    let found = match lookup(&state, me.id, &path).await? {
        Some(found) => found,
        None => {
            state.invites.record(Outcome::Unknown, me.id, &address);
            return Err(invite_not_found());
        }
    };
    state.invites.record(Outcome::Found, me.id, &address);
    Ok(web::Json(found))
}

async fn lookup(state: &AppState, me: uuid::Uuid, code: &str) -> ApiResult<Option<Value>> {
    let Ok(hash) = code_hash(code) else {
        return Ok(None);
    };
    let mut conn = state.pool.get().await?;
    let Some(found) = invite::find(&mut conn, &hash).await? else {
        return Ok(None);
    };
    if !found.works(Utc::now()) {
        return Ok(None);
    }
    let expires_at = timestamp(&found.expires_at);
    if let Some(id) = found.conversation_id {
        let Some((group, members)) = conversation::with_member_count(&mut conn, id).await? else {
            return Ok(None);
        };
        // A channel's link opens only to members of its workspace.
        if let Some(w) = group.workspace_id {
            if workspace::member(&mut conn, w, me).await?.is_none() {
                return Ok(None);
            }
        }
        return Ok(Some(json!({
            "code": code,
            "conversation": { "id": group.id, "title": group.title, "memberCount": members },
            "expiresAt": expires_at,
        })));
    }
    let Some(w) = found.workspace_id else {
        return Ok(None);
    };
    let Some(space) = workspace::find(&mut conn, w).await? else {
        return Ok(None);
    };
    let members = workspace::count_members(&mut conn, w).await?;
    Ok(Some(json!({
        "code": code,
        "workspace": { "id": space.id, "name": space.name, "memberCount": members },
        "expiresAt": expires_at,
    })))
}
