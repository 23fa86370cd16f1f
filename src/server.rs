//! The HTTP server: an actix-web `App` answers every request except WebSocket upgrades, which
//! the HTTP/1 dispatcher hands over, with their connection, to the engine mounted at their path.
//!
//! Served through the `App`, a WebSocket would stay inside the dispatcher for its whole life,
//! and so would the dispatcher's read and write buffers (8 KiB each, fixed in actix-http): at
//! 10,000 connections, most of the server's memory. Handed over, it keeps neither.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_codec::Framed;
use actix_http::{h1, HttpService, Request, Response};
use actix_server::Server;
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::body::MessageBody;
use actix_web::dev::AppConfig;
use actix_web::ResponseError;
use confab_actors::engine::{self, Engine};

use crate::error::ApiError;
use crate::metrics::Answered;

/// How the server listens.
pub struct Options {
    /// Worker threads; 0 for one per core.
    pub workers: usize,
    pub tcp_nodelay: bool,
    pub shutdown_timeout_secs: u64,
    /// How long an idle HTTP/1 connection is kept open for its next request.
    pub keep_alive: Duration,
}

impl Default for Options {
    /// What a single node gets from `config/default.toml`.
    fn default() -> Self {
        Options {
            workers: 0,
            tcp_nodelay: true,
            shutdown_timeout_secs: 30,
            keep_alive: Duration::from_secs(5),
        }
    }
}

/// Told of each WebSocket upgrade request once it is answered.
pub type UpgradeObserver = Arc<dyn Fn(Answered) + Send + Sync>;

/// Engines by the path they are mounted at (e.g. `/socket.io/`, also served without the
/// trailing slash), for the upgrades.
#[derive(Clone)]
pub struct Engines(Vec<(String, Engine)>);

impl Engines {
    pub fn new(engines: impl IntoIterator<Item = (String, Engine)>) -> Engines {
        Engines(engines.into_iter().collect())
    }

    /// The engine serving `path`, and the path it is mounted at.
    fn at(&self, path: &str) -> Option<(&str, &Engine)> {
        self.0
            .iter()
            .find(|(mount, _)| path == mount || path == mount.trim_end_matches('/'))
            .map(|(mount, engine)| (mount.as_str(), engine))
    }
}

/// Serves `app` on `listener`, handing WebSocket upgrades to `engines`. Signals are left to
/// the caller; the server is started when the returned future is first polled.
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    options: &Options,
    engines: Engines,
    observer: Option<UpgradeObserver>,
    app: F,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    B: MessageBody + 'static,
{
    let local_addr = listener.local_addr()?;
    let tcp_nodelay = options.tcp_nodelay;
    let mut builder = Server::build()
        .shutdown_timeout(options.shutdown_timeout_secs)
        .disable_signals();
    if options.workers > 0 {
        builder = builder.workers(options.workers);
    }
    // A graceful stop closes idle keep-alive connections at once and the others after their
    // current response, instead of waiting out their keep-alive.
    let draining = builder.graceful_shutdown_signal();
    let keep_alive = options.keep_alive;
    builder
        .listen("confab", listener, move || {
            let draining = draining.clone();
            let engines = engines.clone();
            let observer = observer.clone();
            let upgrades = fn_service(move |(req, framed)| {
                let answer = upgrade(engines.clone(), observer.clone(), req, framed);
                async move {
                    // The client left mid-answer: nothing is left to tell it.
                    if let Err(err) = answer.await {
                        log::debug!(error:% = err; "upgrade request lost");
                    }
                    Ok::<_, actix_http::Error>(())
                }
            });
            let app = app()
                .into_factory()
                .map_err(|err| err.into().error_response());
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let draining = draining.clone();
                    async move { draining.notified().await }
                })
                .keep_alive(keep_alive)
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .tcp_nodelay(tcp_nodelay)
                .local_addr(local_addr)
                .upgrade(upgrades)
                .finish(map_config(app, |_| AppConfig::default()))
                .tcp()
        })
        .map(|builder| builder.run())
}

/// One upgrade request: the engine at its path serves it; anywhere else it is not found.
async fn upgrade<T>(
    engines: Engines,
    observer: Option<UpgradeObserver>,
    req: Request,
    mut framed: Framed<T, h1::Codec>,
) -> io::Result<()>
where
    T: actix_codec::AsyncRead + actix_codec::AsyncWrite + Unpin + 'static,
{
    let started = Instant::now();
    let found = engines.at(req.path());
    let route = found.map_or("unmatched", |(mount, _)| mount).to_owned();
    let (method, path, peer) = (req.method().clone(), req.path().to_owned(), req.peer_addr());
    let observe = move |status| {
        if let Some(observer) = observer {
            let elapsed = started.elapsed();
            observer(Answered {
                method,
                path,
                route,
                peer,
                status,
                elapsed,
            });
        }
    };
    match found {
        Some((_, engine)) => engine.serve_websocket(req, framed, observe).await,
        None => {
            let response = ApiError::not_found("no such endpoint").error_response();
            let status = response.status();
            engine::respond(&mut framed, response).await?;
            observe(status);
            Ok(())
        }
    }
}
