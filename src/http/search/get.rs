use crate::http::extract::Query;
use crate::http::openapi::{InvalidOrTooBroad, NotFound, RateLimited};
use actix_web::get;
use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::http::bearer::AuthUser;
use crate::http::validate;
use crate::messaging::view::MessageView;
use crate::models::conversation;
use crate::search;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (at least one of 2 or more characters; a single word is also a prefix),
    /// `"a phrase"`, `-excluded`, `or`.
    #[param(required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    q: Option<String>,
    /// Only this conversation (one of the caller's).
    #[param(value_type = Option<uuid::Uuid>)]
    conversation_id: Option<String>,
    /// `nextCursor` of the previous page.
    before_id: Option<String>,
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    #[schema(value_type = crate::messaging::view::MessageView)]
    message: MessageView,
    snippet: String,
    highlights: Vec<[usize; 2]>,
}

/// `{ results, nextCursor }`: `nextCursor` is `null` on the last page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub results: Vec<SearchResult>,
    pub next_cursor: Option<String>,
}

/// `GET /api/search?q=&conversationId=&beforeId=&limit=` → `{ results: [{ message, snippet,
/// highlights }], nextCursor }`: messages of the caller's conversations (or of one of them)
/// that match `q`, newest first, never deleted ones nor those of users the caller blocked.
/// Searches spend a per-user rate of their own, and a per-user budget of database time; a
/// search that cannot be answered within its time limit is `too_broad` (400).
#[utoipa::path(
    operation_id = "searchMessages",
    tag = "search",
    security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, description = "Matching messages, newest first", body = SearchPage),
        (status = 400, response = InvalidOrTooBroad),
        (status = 404, response = NotFound),
        (status = 429, response = RateLimited),
    ),
)]
#[get("/search")]
pub async fn get(
    state: web::Data<AppState>,
    me: AuthUser,
    params: Query<SearchParams>,
) -> ApiResult<web::Json<SearchPage>> {
    let params = params.into_inner();
    let query = search::parse(params.q.as_deref().unwrap_or("")).map_err(ApiError::invalid)?;
    let limit = validate::limit(params.limit, 20, 50)?;
    let before = params
        .before_id
        .as_deref()
        .map(|id| {
            let digits = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
            digits
                .then(|| id.parse::<i64>().ok())
                .flatten()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::invalid("beforeId must be a message id"))
        })
        .transpose()?;
    if let Err(wait) = state.search_limiter.check(me.id) {
        return Err(ApiError::rate_limited(
            "searching too fast; retry later",
            wait,
        ));
    }
    let mut conn = state.pool.get().await?;
    let conversation = match params.conversation_id.as_deref() {
        Some(id) => {
            let id = validate::path_id(id, ApiError::conversation_not_found)?;
            conversation::find_for_member(&mut conn, id, me.id)
                .await?
                .ok_or_else(ApiError::conversation_not_found)?;
            Some(id)
        }
        None => None,
    };
    let scope = search::Scope {
        user: me.id,
        conversation,
        before,
        limit: limit + 1,
    };
    let budget = &state.search_budget;
    let found = budget
        .spend(
            me.id,
            search::find(&mut conn, &query, scope, budget.timeout()),
        )
        .await
        .map_err(|wait| {
            ApiError::rate_limited(
                "your searches have used their share of database time; retry later",
                wait,
            )
        })?;
    let mut rows = found.map_err(|err| {
        if crate::db::is_statement_timeout(&err) {
            ApiError::too_broad()
        } else {
            err.into()
        }
    })?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let views = MessageView::load_all(&mut conn, state.messaging.signer(), &rows).await?;
    let next_cursor = more
        .then(|| rows.last().map(|m| m.id.to_string()))
        .flatten();
    let results: Vec<SearchResult> = rows
        .iter()
        .zip(views)
        .map(|(row, message)| {
            let snippet = search::snippet(&row.body, &query);
            SearchResult {
                message,
                snippet: snippet.text,
                highlights: snippet.highlights,
            }
        })
        .collect();
    Ok(web::Json(SearchPage {
        results,
        next_cursor,
    }))
}
