//! The HTTP API (PROTOCOL.md section 7) and the operations endpoints. One handler per file,
//! in a folder per resource; handlers extract, authorize, call models and map the result.

pub mod attachments;
pub mod auth;
pub mod blocks;
pub mod contacts;
pub mod conversations;
pub mod extract;
pub mod headers;
pub mod invites;
pub mod me;
pub mod members;
pub mod messages;
pub mod ops;
pub mod page;
pub mod reports;
pub mod search;
pub mod storage;
pub mod uploads;
pub mod users;
pub mod validate;
pub mod views;
pub mod workspaces;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};

use crate::error::ApiError;

/// Mounts every route; `/metrics` too unless it has a listener of its own.
pub fn routes(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    if with_metrics {
        cfg.route("/metrics", web::get().to(ops::metrics::metrics));
    }
    page::routes(cfg);
    cfg.route("/health", web::get().to(ops::health::health))
        .route("/ready", web::get().to(ops::ready::ready))
        .route("/storage/{key}", web::put().to(storage::put::put))
        .route("/storage/{key}", web::get().to(storage::get::get))
        .service(
            web::scope("/api")
                .route("/auth/register", web::post().to(auth::register::register))
                .route("/auth/login", web::post().to(auth::login::login))
                .route("/auth/refresh", web::post().to(auth::refresh::refresh))
                .route("/auth/logout", web::post().to(auth::logout::logout))
                .route("/me", web::get().to(me::get::get))
                .route("/me", web::patch().to(me::update::update))
                .route("/users/search", web::get().to(users::search::search))
                .route(
                    "/users/by-username/{username}",
                    web::get().to(users::get::by_username),
                )
                .route("/users/{id}", web::get().to(users::get::by_id))
                .route("/conversations", web::get().to(conversations::list::list))
                .route(
                    "/conversations",
                    web::post().to(conversations::create::create),
                )
                .route(
                    "/conversations/{id}",
                    web::get().to(conversations::get::get),
                )
                .route(
                    "/conversations/{id}",
                    web::delete().to(conversations::delete::delete),
                )
                .route(
                    "/conversations/{id}/members",
                    web::post().to(members::add::add),
                )
                .route(
                    "/conversations/{id}/members/{user_id}",
                    web::delete().to(members::remove::remove),
                )
                .route(
                    "/conversations/{id}/messages",
                    web::get().to(messages::list::list),
                )
                .route(
                    "/conversations/{id}/messages",
                    web::post().to(messages::create::create),
                )
                .route(
                    "/conversations/{id}/messages/{message_id}",
                    web::patch().to(messages::change::edit),
                )
                .route(
                    "/conversations/{id}/messages/{message_id}",
                    web::delete().to(messages::change::delete),
                )
                .route(
                    "/conversations/{id}/messages/{message_id}/reactions/{emoji}",
                    web::put().to(messages::change::add_reaction),
                )
                .route(
                    "/conversations/{id}/messages/{message_id}/reactions/{emoji}",
                    web::delete().to(messages::change::remove_reaction),
                )
                .route(
                    "/conversations/{id}/messages/{seq}/receipts",
                    web::get().to(messages::receipts::list),
                )
                .route(
                    "/conversations/{id}/changes",
                    web::get().to(messages::changes::list),
                )
                .route("/blocks/{user_id}", web::post().to(blocks::create::create))
                .route(
                    "/blocks/{user_id}",
                    web::delete().to(blocks::delete::delete),
                )
                .route("/reports", web::post().to(reports::create::create))
                .route("/search", web::get().to(search::get::get))
                .route("/uploads", web::post().to(uploads::create::create))
                .route(
                    "/uploads/{id}/complete",
                    web::post().to(uploads::complete::complete),
                )
                .route("/attachments/{id}", web::get().to(attachments::get::get))
                .route(
                    "/conversations/{id}/join",
                    web::post().to(conversations::join::join),
                )
                .route(
                    "/conversations/{id}/invites",
                    web::post().to(invites::create::for_conversation),
                )
                .route(
                    "/conversations/{id}/invites",
                    web::get().to(invites::list::for_conversation),
                )
                .route("/invites/{code}", web::get().to(invites::get::get))
                .route("/invites/{code}", web::delete().to(invites::revoke::revoke))
                .route(
                    "/invites/{code}/accept",
                    web::post().to(invites::accept::accept),
                )
                .route("/workspaces", web::post().to(workspaces::create::create))
                .route("/workspaces", web::get().to(workspaces::list::list))
                .route("/workspaces/{id}", web::get().to(workspaces::get::get))
                .route(
                    "/workspaces/{id}/members",
                    web::post().to(workspaces::members::add),
                )
                .route(
                    "/workspaces/{id}/members/{user_id}",
                    web::delete().to(workspaces::members::remove),
                )
                .route(
                    "/workspaces/{id}/invites",
                    web::post().to(invites::create::for_workspace),
                )
                .route(
                    "/workspaces/{id}/invites",
                    web::get().to(invites::list::for_workspace),
                )
                .route(
                    "/workspaces/{id}/channels",
                    web::get().to(workspaces::channels::list),
                )
                .route(
                    "/contacts/requests",
                    web::post().to(contacts::request::request),
                )
                .route(
                    "/contacts/requests",
                    web::get().to(contacts::requests::list),
                )
                .route(
                    "/contacts/requests/{id}/accept",
                    web::post().to(contacts::answer::accept),
                )
                .route(
                    "/contacts/requests/{id}/decline",
                    web::post().to(contacts::answer::decline),
                )
                .route("/contacts", web::get().to(contacts::list::list))
                .route(
                    "/contacts/{user_id}",
                    web::delete().to(contacts::remove::remove),
                ),
        );
}

/// Bad JSON, a wrong content type, wrong field types and missing fields are all `invalid`;
/// a body over the limit is `too_large`.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _| {
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    ApiError::too_large(format!("request body is over {limit} bytes"))
                }
                JsonPayloadError::ContentType => {
                    ApiError::invalid("Content-Type must be application/json")
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::invalid(format!("invalid JSON body: {e}"))
                }
                other => ApiError::invalid(format!("invalid JSON body: {other}")),
            };
            api.into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::invalid(format!("invalid query string: {err}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_: PathError, _| ApiError::not_found("not found").into())
}

/// Every path that matches no route.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found("no such endpoint"))
}

/// The client's address: the peer, or with `trust_proxy` the one a proxy forwarded.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> String {
    let info = req.connection_info();
    let addr = if trust_proxy {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    let addr = addr.unwrap_or("unknown");
    // Strip the port: "1.2.3.4:5678" and "[::1]:5678".
    match addr.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.ip().to_string(),
        Err(_) => addr.to_string(),
    }
}
