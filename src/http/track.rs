//! The middleware that counts, times and logs every answered request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::metrics::{record, Answered};
use crate::state::AppState;

/// Counts, times and logs each request under its route pattern (`/api/conversations/{id}`),
/// so that ids never become label values.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let peer = req.peer_addr();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let answered = Answered {
        method,
        path,
        route,
        peer,
        status: res.status(),
        elapsed: started.elapsed(),
    };
    if let Some(state) = state {
        record(&state.metrics, answered);
    }
    Ok(res)
}
