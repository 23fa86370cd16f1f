use actix_web::web;
use serde_json::{json, Value};

/// `GET /health`: the process is alive.
pub async fn health() -> web::Json<Value> {
    web::Json(json!({ "status": "ok" }))
}
