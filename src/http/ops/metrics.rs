use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let status = state.pool.status();
    state.metrics.db_pool_size.set(status.size as i64);
    state
        .metrics
        .db_pool_in_use
        .set(status.size.saturating_sub(status.available) as i64);
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(state.metrics.render())
}
