//! The HTTP API (PROTOCOL.md section 7) and the operations endpoints. One handler per file,
//! in a folder per resource; handlers extract, authorize, call models and map the result.

pub mod attachments;
pub mod auth;
pub mod bearer;
pub mod blocks;
pub mod contacts;
pub mod conversations;
pub mod extract;
pub mod headers;
pub mod invites;
pub mod me;
pub mod members;
pub mod messages;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod reports;
pub mod search;
pub mod storage;
mod track;
pub mod uploads;
pub mod users;
pub mod validate;
pub mod views;
pub mod workspaces;

pub use track::track;

use actix_web::dev::HttpServiceFactory;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use utoipa_actix_web::OpenApiFactory;

use crate::error::ApiError;

/// Mounts every route; `/metrics` too unless it has a listener of its own. `/api` needs the
/// app data `web::Data<openapi::Served>`, made once from `description()`.
pub fn routes(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    if with_metrics {
        cfg.route("/metrics", web::get().to(ops::metrics::metrics));
    }
    page::routes(cfg);
    cfg.route("/health", web::get().to(ops::health::health))
        .route("/ready", web::get().to(ops::ready::ready))
        .route("/storage/{key}", web::put().to(storage::put::put))
        .route("/storage/{key}", web::get().to(storage::get::get));
    cfg.service(api());
}

/// The OpenAPI description of `/api`, as `GET /api/openapi.json` serves it.
pub fn description() -> utoipa::openapi::OpenApi {
    openapi::document(&api())
}

/// `/api`: every operation, mounted from its handler's `#[utoipa::path]` (in this order, which
/// matters where a literal segment and a parameter meet: `/users/search`, `/users/{id}`).
fn api() -> impl HttpServiceFactory + OpenApiFactory {
    utoipa_actix_web::scope("/api")
        .service(auth::register::register)
        .service(auth::login::login)
        .service(auth::refresh::refresh)
        .service(auth::logout::logout)
        .service(me::get::get)
        .service(me::update::update)
        .service(me::delete::delete)
        .service(users::search::search)
        .service(users::get::by_username)
        .service(users::get::by_id)
        .service(conversations::list::list)
        .service(conversations::create::create)
        .service(conversations::get::get)
        .service(conversations::delete::delete)
        .service(members::add::add)
        .service(members::remove::remove)
        .service(messages::list::list)
        .service(messages::create::create)
        .service(messages::change::edit)
        .service(messages::change::delete)
        .service(messages::change::add_reaction)
        .service(messages::change::remove_reaction)
        .service(messages::receipts::list)
        .service(messages::changes::list)
        .service(blocks::create::create)
        .service(blocks::delete::delete)
        .service(reports::create::create)
        .service(search::get::get)
        .service(uploads::create::create)
        .service(uploads::complete::complete)
        .service(attachments::get::get)
        .service(conversations::join::join)
        .service(invites::create::for_conversation)
        .service(invites::list::for_conversation)
        .service(invites::get::get)
        .service(invites::revoke::revoke)
        .service(invites::accept::accept)
        .service(workspaces::create::create)
        .service(workspaces::list::list)
        .service(workspaces::get::get)
        .service(workspaces::members::add)
        .service(workspaces::members::remove)
        .service(invites::create::for_workspace)
        .service(invites::list::for_workspace)
        .service(workspaces::channels::list)
        .service(contacts::request::request)
        .service(contacts::requests::list)
        .service(contacts::answer::accept)
        .service(contacts::answer::decline)
        .service(contacts::list::list)
        .service(contacts::remove::remove)
        .route("/openapi.json", web::get().to(openapi::serve))
        .default_service(web::to(openapi::unmatched))
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
