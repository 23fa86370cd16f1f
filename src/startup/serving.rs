//! The HTTP servers: the API, the page and the engine on one listener; `/metrics` on its own
//! when configured.

use super::*;

/// Binds the port and builds the HTTP server: the actix-web `App` and the engine's
/// WebSocket handover on one service per worker.
pub(super) fn http_server(
    state: &web::Data<AppState>,
    listener: TcpListener,
) -> anyhow::Result<(Server, u16)> {
    let server_settings = &state.settings.server;
    let port = listener.local_addr()?.port();
    let json_limit = server_settings.json_limit_bytes;
    let options = crate::server::Options {
        workers: server_settings.workers,
        // Chat frames are small and should leave at once: without TCP_NODELAY, a frame
        // written while the previous one is unacknowledged waits for the client's delayed
        // ACK (~40 ms).
        tcp_nodelay: server_settings.tcp_nodelay,
        shutdown_timeout_secs: server_settings.shutdown_timeout_secs,
        keep_alive: Duration::from_secs(server_settings.keep_alive_secs),
    };
    let engines = Engines::new([(ENGINE_PATH.to_string(), state.engine.clone())]);
    let observer_state = state.clone();
    let observer: UpgradeObserver =
        Arc::new(move |answered| crate::metrics::record(&observer_state.metrics, answered));
    let app_state = state.clone();
    let metrics_here = state.settings.metrics.bind.is_empty();
    let csp = web::Data::new(crate::http::headers::Csp::new(
        state.attachments.foreign_origin().as_deref(),
    )?);
    let described = web::Data::new(crate::http::openapi::Served::new(
        &crate::http::description(),
    )?);
    // SIGTERM/SIGINT are handled by `drain`, which closes the sessions first.
    let server = crate::server::serve(listener, &options, engines, Some(observer), move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(csp.clone())
            .app_data(described.clone())
            .app_data(crate::http::json_config(json_limit))
            .app_data(crate::http::query_config())
            .app_data(crate::http::path_config())
            .wrap(from_fn(crate::http::track))
            .wrap(from_fn(crate::http::headers::secure))
            .service(app_state.engine.service(ENGINE_PATH))
            .configure(|cfg| crate::http::routes(cfg, metrics_here))
            .default_service(web::to(crate::http::not_found))
    })?;
    Ok((server, port))
}

/// `/metrics` alone on `[metrics] bind`, one worker, when it names an address; started here.
pub(super) fn metrics_server(
    state: &web::Data<AppState>,
) -> anyhow::Result<Option<(ServerHandle, u16)>> {
    let bind = &state.settings.metrics.bind;
    if bind.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(bind).with_context(|| format!("binding metrics {bind}"))?;
    let port = listener.local_addr()?.port();
    let app_state = state.clone();
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(crate::http::headers::secure))
            .route(
                "/metrics",
                web::get().to(crate::http::ops::metrics::metrics),
            )
            .default_service(web::to(crate::http::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    log::info!(port = port; "metrics listening");
    Ok(Some((handle, port)))
}
