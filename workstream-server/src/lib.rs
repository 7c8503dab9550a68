//! `workstream serve`: a JSON API, the store's feed as Server-Sent Events, and a dashboard,
//! over any workstream store.
//!
//! [`router`] builds the axum [`Router`] over an [`AsyncEngine`]; [`serve`] runs it on a
//! listener until a shutdown signal. The `workstream` command's `serve` does both over the
//! database `--db` names:
//!
//! ```text
//! workstream --db sprint.db serve                       # read-only, on 127.0.0.1:8080
//! workstream token --actor ann --roles author --tokens tokens   # prints the token once
//! workstream --db sprint.db serve --writes --tokens tokens
//! ```
//!
//! # The API
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /api/workflows` | every workflow version, its workstations (with item counts) and transitions |
//! | `GET /api/items?…` | items, with the filters of `workstream ls` and the derived `state` |
//! | `GET /api/items/{id}` | one item: state, signals, every way out with its reasons, history with hashes, verification |
//! | `GET /api/flow?workflow=…&window=30d&period=1d` | the flow report, lead times, throughput, cumulative flow |
//! | `GET /api/verify` | every chain verified |
//! | `GET /api/events?after=P&limit=N` | a page of the feed |
//! | `GET /api/feed` | the feed as Server-Sent Events, resumable with `Last-Event-ID` |
//! | `POST /api/items` | create (`201`) |
//! | `POST /api/items/{id}/advance` | move by `transition` or `to`; refused: `409` with every reason |
//! | `POST /api/items/{id}/fields` | merge-patch the fields |
//! | `POST /api/items/{id}/holds`, `DELETE /api/items/{id}/holds/{kind}` | hold, release |
//! | `POST /api/items/{id}/deps`, `DELETE /api/items/{id}/deps/{on}` | add, remove a dependency |
//! | `POST /api/session`, `GET /api/session`, `DELETE /api/session` | the dashboard's sign-in |
//!
//! Every error is a status and `{"error": {"code": "…", "message": "…"}}`; a refusal adds
//! `action`, `reasons` (each with `id`, `kind`, `message`, `details`, `items`) and `item`.
//!
//! # Security
//!
//! - Read-only unless [`Config::writes`] is given tokens; then a write needs a bearer token
//!   of the [`Tokens`] (kept as SHA-256 digests, compared in constant time), or a dashboard
//!   session whose CSRF token it carries. The actor of every event is the token's, never a
//!   field of the request.
//! - Bodies are capped ([`Config::body_limit`], 64 KiB by default); bad JSON, unknown
//!   fields and parameters, unknown items and bad filters get a 4xx that says why.
//! - Requests whose `Host` is not one of [`Config::allowed_hosts`] are refused, so a page
//!   on another site cannot reach a server on loopback through a rebound DNS name.
//! - Every answer says `nosniff`, `DENY` framing and `no-referrer`; the dashboard's pages
//!   allow only their own scripts and styles.

mod api;
mod assets;
mod auth;
mod error;
mod feed;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tokio::sync::{Notify, watch};
use workstream::tokio::AsyncEngine;
use workstream::{Position, Store};

pub use auth::{Tokens, TokensError};

use crate::auth::Sessions;
use crate::error::ApiError;

/// How a server runs: whether it takes writes and from whom, its limits, the hosts it
/// answers for.
#[derive(Clone, Debug)]
pub struct Config {
    writes: bool,
    tokens: Tokens,
    body_limit: usize,
    allowed_hosts: Option<Vec<String>>,
    poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// Read-only, bodies up to 64 KiB, any `Host`, the feed polled every 250 ms.
    pub fn new() -> Self {
        Self {
            writes: false,
            tokens: Tokens::new(),
            body_limit: 64 * 1024,
            allowed_hosts: None,
            poll: Duration::from_millis(250),
        }
    }

    /// Takes writes from the holders of `tokens` (and from dashboards they sign in).
    pub fn writes(mut self, tokens: Tokens) -> Self {
        self.writes = true;
        self.tokens = tokens;
        self
    }

    /// Accepts `tokens` for sign-in and for reading as an actor, without taking writes.
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The largest request body accepted, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Answers only requests whose `Host` header is one of `hosts` (`127.0.0.1:8080`,
    /// `localhost:8080`, …), compared without regard to case.
    pub fn allowed_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// The `Host` values a server bound to `addr` answers when it is a loopback address:
    /// its own address, `127.0.0.1`, `localhost` and `[::1]`, each with the port (and
    /// without it on port 80). `None` for any other address.
    pub fn loopback_hosts(addr: std::net::SocketAddr) -> Option<Vec<String>> {
        addr.ip().is_loopback().then(|| {
            let port = addr.port();
            let own = match addr.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            };
            let mut names = vec![own];
            for name in ["127.0.0.1", "localhost", "[::1]"] {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            let mut hosts: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
            // A browser leaves out the default port.
            if port == 80 {
                hosts.extend(names);
            }
            hosts
        })
    }

    /// How often the feed is read for events other processes wrote.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }
}

/// What every handler shares.
pub(crate) struct App<S> {
    engine: AsyncEngine<S>,
    config: Config,
    sessions: Sessions,
    head: watch::Receiver<Option<Position>>,
    wake: Arc<Notify>,
}

/// The service over `engine`: the API under `/api`, the dashboard at `/`.
///
/// It starts a task that follows the store's feed, so it must be called inside a tokio
/// runtime; the task ends when the router and all its clones are dropped.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn router<S: Store + Send + Sync + 'static>(engine: AsyncEngine<S>, config: Config) -> Router {
    let (head_tx, head) = watch::channel(None);
    let wake = Arc::new(Notify::new());
    feed::follow(engine.clone(), head_tx, Arc::clone(&wake), config.poll);
    let limit = config.body_limit;
    let app = Arc::new(App {
        engine,
        config,
        sessions: Sessions::default(),
        head,
        wake,
    });
    let api = Router::new()
        .route("/workflows", get(api::workflows::<S>))
        .route("/items", get(api::list::<S>).post(api::create::<S>))
        .route("/items/{id}", get(api::item::<S>))
        .route("/items/{id}/advance", post(api::advance::<S>))
        .route("/items/{id}/fields", post(api::update_fields::<S>))
        .route("/items/{id}/holds", post(api::hold::<S>))
        .route("/items/{id}/holds/{hold}", delete(api::release::<S>))
        .route("/items/{id}/deps", post(api::add_dependency::<S>))
        .route("/items/{id}/deps/{on}", delete(api::remove_dependency::<S>))
        .route("/flow", get(api::flow::<S>))
        .route("/verify", get(api::verify::<S>))
        .route("/events", get(feed::page::<S>))
        .route("/feed", get(feed::stream::<S>))
        .route(
            "/session",
            get(api::session::<S>)
                .post(api::sign_in::<S>)
                .delete(api::sign_out::<S>),
        )
        .fallback(|| async {
            ApiError::not_found("no such endpoint; see the crate's documentation")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take this method",
            )
        })
        .layer(middleware::from_fn(no_store));
    Router::new()
        .nest("/api", api)
        .merge(assets::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            allowed_host::<S>,
        ))
        .layer(middleware::from_fn(hardened))
        .with_state(app)
}

/// Runs `router` on `listener` until `shutdown` completes, then lets open requests finish;
/// every Server-Sent Events stream ends at once (a client reconnects elsewhere with its
/// `Last-Event-ID`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let router = router.layer(axum::Extension(feed::Stopping(Arc::new(stopping))));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await
}

/// Refuses a request whose `Host` this server does not answer for.
async fn allowed_host<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(hosts) = &app.config.allowed_hosts {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return ApiError::new(
                axum::http::StatusCode::MISDIRECTED_REQUEST,
                "wrong_host",
                format!("this server does not answer for the host `{host}`"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Headers every answer carries.
async fn hardened(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// API answers are never cached.
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
