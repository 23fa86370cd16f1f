use crate::http::extract::Json;
use crate::http::openapi::{Conflict, Forbidden, NotFound};
use crate::http::views::ConversationView;
use actix_web::post;
use actix_web::{web, HttpResponse};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{announce_added, view};
use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::members;
use crate::http::validate;
use crate::models::conversation::{
    self, Conversation, NewConversation, DM, GROUP, PRIVATE, PUBLIC,
};
use crate::models::member::{self, NewMember, MEMBER, OWNER};
use crate::models::{block, contact, user, workspace};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[schema(as = NewConversation)]
pub enum CreateBody {
    /// A direct message with one other user.
    Dm {
        #[serde(rename = "userId")]
        #[schema(value_type = uuid::Uuid)]
        user_id: String,
    },
    /// A group, or a channel of a workspace.
    Group {
        #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
        title: String,
        #[serde(rename = "memberIds", default)]
        #[schema(value_type = Vec<uuid::Uuid>)]
        member_ids: Vec<String>,
        /// The workspace of a channel.
        #[serde(rename = "workspaceId", default)]
        #[schema(value_type = Option<uuid::Uuid>)]
        workspace_id: Option<String>,
        /// `"private"` (the default) or, inside a workspace, `"public"`.
        #[serde(default)]
        #[schema(value_type = Option<crate::http::views::Visibility>)]
        visibility: Option<String>,
    },
}

/// `POST /api/conversations` with `{ kind: "dm", userId }` or `{ kind: "group", title,
/// memberIds, workspaceId?, visibility? }` → 201 the conversation; 200 with the existing one
/// when the DM already exists. A channel's creator and listed members must belong to its
/// workspace; only channels inside a workspace can be public.
#[utoipa::path(
    operation_id = "createConversation",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The new conversation", body = ConversationView),
        (status = 200, description = "The DM that already existed", body = ConversationView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
#[post("/conversations")]
pub async fn create(
    state: web::Data<AppState>,
    me: AuthUser,
    body: Json<CreateBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    match body.into_inner() {
        CreateBody::Dm { user_id } => {
            let other = validate::uuid("userId", &user_id)?;
            let (conversation, created) = open_dm(&mut conn, me.id, other).await?;
            let body = view(&mut conn, &conversation).await?;
            if !created {
                return Ok(HttpResponse::Ok().json(body));
            }
            announce_added(&state, &[me.id, other], &body).await;
            Ok(HttpResponse::Created().json(body))
        }
        CreateBody::Group {
            title,
            member_ids,
            workspace_id,
            visibility,
        } => {
            let title = validate::text("title", &title, 1, 100)?;
            let visibility = match visibility.as_deref() {
                None | Some(PRIVATE) => PRIVATE,
                Some(PUBLIC) => PUBLIC,
                Some(_) => return Err(ApiError::invalid("visibility must be private or public")),
            };
            let space = workspace_id
                .as_deref()
                .map(|id| validate::uuid("workspaceId", id))
                .transpose()?;
            if visibility == PUBLIC && space.is_none() {
                return Err(ApiError::invalid(
                    "only channels inside a workspace can be public",
                ));
            }
            let mut others = Vec::with_capacity(member_ids.len());
            for id in &member_ids {
                let id = validate::uuid("memberIds", id)?;
                if id != me.id && !others.contains(&id) {
                    others.push(id);
                }
            }
            let max = state.settings.limits.group_max_members;
            if others.len() + 1 > max {
                return Err(ApiError::conflict(format!(
                    "a group has at most {max} members"
                )));
            }
            if user::count_existing(&mut conn, &others).await? != others.len() as i64 {
                return Err(ApiError::not_found("user not found"));
            }
            members::may_add(&mut conn, me.id, &others).await?;
            if let Some(space) = space {
                if workspace::member(&mut conn, space, me.id).await?.is_none() {
                    return Err(ApiError::not_found("workspace not found"));
                }
                if workspace::count_members_among(&mut conn, space, &others).await?
                    != others.len() as i64
                {
                    return Err(ApiError::invalid(
                        "a channel's members must belong to its workspace",
                    ));
                }
            }
            let group = NewGroup {
                title: &title,
                workspace_id: space,
                visibility,
            };
            let conversation = create_group(&mut conn, me.id, &group, &others).await?;
            log::info!(conversation_id:% = conversation.id, members = others.len() + 1; "group created");
            let body = view(&mut conn, &conversation).await?;
            let mut members = others;
            members.push(me.id);
            announce_added(&state, &members, &body).await;
            Ok(HttpResponse::Created().json(body))
        }
    }
}

async fn open_dm(
    conn: &mut AsyncPgConnection,
    me: Uuid,
    other: Uuid,
) -> ApiResult<(Conversation, bool)> {
    if other == me {
        return Err(ApiError::invalid("userId must be another user"));
    }
    if user::find(conn, other).await?.is_none() {
        return Err(ApiError::not_found("user not found"));
    }
    if block::between(conn, me, other).await? {
        return Err(ApiError::forbidden(
            "a block between you and this user forbids a direct message",
        ));
    }
    let key = conversation::dm_key(me, other);
    if let Some(existing) = conversation::find_dm(conn, &key).await? {
        return Ok((existing, false));
    }
    let reachable = contact::are_contacts(conn, me, other).await?
        || !user::find(conn, other)
            .await?
            .is_some_and(|u| u.dm_from_contacts_only);
    if !reachable {
        return Err(ApiError::forbidden(
            "this user takes direct messages from their contacts only",
        ));
    }
    let created = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let new = NewConversation {
                id: Uuid::now_v7(),
                kind: DM,
                title: None,
                dm_key: Some(&key),
                created_by: me,
                workspace_id: None,
                visibility: PRIVATE,
            };
            let Some(conversation) = conversation::insert(conn, &new).await? else {
                return Ok(None);
            };
            let members = [me, other].map(|user_id| NewMember {
                conversation_id: conversation.id,
                user_id,
                role: MEMBER,
            });
            member::insert_many(conn, &members).await?;
            Ok(Some(conversation))
        })
        .await?;
    match created {
        Some(conversation) => Ok((conversation, true)),
        // Opened by the other user at the same moment.
        None => conversation::find_dm(conn, &conversation::dm_key(me, other))
            .await?
            .map(|c| (c, false))
            .ok_or_else(|| ApiError::internal("DM vanished after a conflicting insert")),
    }
}

/// What a new group is.
struct NewGroup<'a> {
    title: &'a str,
    workspace_id: Option<Uuid>,
    visibility: &'static str,
}

async fn create_group(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    group: &NewGroup<'_>,
    others: &[Uuid],
) -> ApiResult<Conversation> {
    let conversation = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let new = NewConversation {
                id: Uuid::now_v7(),
                kind: GROUP,
                title: Some(group.title),
                dm_key: None,
                created_by: owner,
                workspace_id: group.workspace_id,
                visibility: group.visibility,
            };
            let conversation = conversation::insert(conn, &new)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let mut members = vec![NewMember {
                conversation_id: conversation.id,
                user_id: owner,
                role: OWNER,
            }];
            members.extend(others.iter().map(|&user_id| NewMember {
                conversation_id: conversation.id,
                user_id,
                role: MEMBER,
            }));
            member::insert_many(conn, &members).await?;
            Ok(conversation)
        })
        .await?;
    Ok(conversation)
}
