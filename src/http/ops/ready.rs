use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /ready`: 200 when PostgreSQL (and Redis, when configured) answer, else 503.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = crate::db::ping(&state.pool, CHECK_TIMEOUT).await;
    let redis = match &state.redis {
        Some(pool) => Some(ping_redis(pool).await),
        None => None,
    };
    let up = |ok: bool| if ok { "up" } else { "down" };
    let all_up = database && redis.unwrap_or(true);
    let body = json!({
        "status": if all_up { "ok" } else { "unavailable" },
        "database": up(database),
        "redis": redis.map_or("not_configured", up),
    });
    if all_up {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn ping_redis(pool: &deadpool_redis::Pool) -> bool {
    let check = async {
        let mut conn = pool.get().await.ok()?;
        deadpool_redis::redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(tokio::time::timeout(CHECK_TIMEOUT, check).await, Ok(Some(pong)) if pong == "PONG")
}
