//! The HTTP server: one route for the API (`POST /`), the request's path through it
//! (target, body, signature, operation), and the answer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecs_core::Ecs;
use serde_json::Value;
use tracing::Instrument;

use crate::auth::Verifier;
use crate::config::{Auth, ServerConfig};
use crate::protocol::{self, Answer, ApiError, Dialect, Target};
use crate::{Error, autoscaling, ecs};

/// What every request handler shares.
pub(crate) struct App {
    /// The control plane the API drives.
    pub(crate) ecs: Ecs,
    /// The server's configuration.
    pub(crate) config: ServerConfig,
    /// Checks signatures; `None` when checking is off.
    verifier: Option<Verifier>,
}

impl App {
    /// The control plane's error as ECS names it.
    pub(crate) fn error(&self, e: ecs_core::Error) -> ApiError {
        ApiError::from_core(e, Dialect::Ecs)
    }
}

/// The API as an axum router, to serve on a listener of one's own or to merge into an
/// application's router. [`Server`] serves it on its own.
pub fn router(ecs: Ecs, config: ServerConfig) -> Router {
    let verifier = match &config.auth {
        Auth::SigV4(keys) => Some(Verifier::new(keys.clone(), ecs.arn_scope().region.clone())),
        Auth::Disabled => None,
    };
    let console = crate::console::routes(&ecs.arn_scope().region, verifier.is_some());
    let app = Arc::new(App {
        ecs,
        config,
        verifier,
    });
    Router::new()
        .route("/", post(api))
        .route("/metrics", get(metrics))
        .merge(console)
        .with_state(app)
}

/// `GET /metrics`: the state's gauges recorded from a snapshot now, then everything
/// the recorder holds, in Prometheus' text format.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let Some(handle) = &app.config.metrics else {
        return (StatusCode::NOT_FOUND, "no metrics recorder is configured\n").into_response();
    };
    app.ecs.record_state_metrics();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The API server: bound to its address, then serving until told to stop.
///
/// It runs no background work of its own: every request runs on the control plane it
/// was given, and [`Server::serve`] returns once the shutdown future completes and the
/// requests in flight are answered.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `config.listen` to serve `ecs`'s API.
    pub async fn bind(ecs: Ecs, config: ServerConfig) -> Result<Self, Error> {
        config.check()?;
        // A certificate that cannot be read is refused before anything listens.
        let tls = config
            .tls
            .as_ref()
            .map(crate::tls::TlsConfig::acceptor)
            .transpose()?;
        let address = config.listen;
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| Error::Bind { address, source })?;
        if matches!(config.auth, Auth::Disabled) {
            tracing::warn!(%address, "API authentication is off: any caller may do anything");
        }
        Ok(Self {
            listener,
            router: router(ecs, config),
            tls,
        })
    }

    /// The address it listens on (the port chosen, when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Serve)
    }

    /// Serves until `shutdown` completes, then answers the requests in flight and
    /// returns.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        match self.tls {
            Some(acceptor) => {
                crate::tls::serve(self.listener, acceptor, self.router, shutdown).await
            }
            None => axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(Error::Serve),
        }
    }
}

/// `POST /`: one API call.
async fn api(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = format!("{:032x}", fastrand::u128(..));
    let header = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let span = tracing::info_span!("api", operation = header.as_deref().unwrap_or("-"), request_id = %request_id);
    let result = call(&app, header.as_deref(), request)
        .instrument(span.clone())
        .await;
    let response = match result {
        Ok(Answer::Value(value)) => answer(StatusCode::OK, json_text(value), &request_id),
        Ok(Answer::Text(text)) => answer(StatusCode::OK, text, &request_id),
        Err(e) => answer(e.status, json_text(e.body()), &request_id),
    };
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        );
    });
    response
}

async fn call(app: &App, header: Option<&str>, request: Request) -> Result<Answer, ApiError> {
    let target = Target::parse(header)?;
    let (parts, body) = request.into_parts();
    let limit = app.config.max_body_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
        ApiError::invalid(format!(
            "the request body could not be read whole (at most {limit} bytes are accepted): {e}"
        ))
    })?;
    if let Some(verifier) = &app.verifier {
        let signed = Request::from_parts(parts, body.clone());
        verifier.verify(signed, target.signing_name()).await?;
    }
    let operation = target.operation.as_str();
    let answer = match target.dialect {
        Dialect::Ecs => ecs::call(app, operation, &body).await?,
        Dialect::AutoScaling => autoscaling::call(app, operation, &body)?,
    };
    // A change is answered only once it is durable in the control plane's store (at
    // once without one): nothing acknowledged is then lost to a crash.
    let reads = ["Describe", "List"];
    if !reads.iter().any(|r| operation.starts_with(r)) {
        app.ecs.flush().await.map_err(|e| {
            ApiError::server(format!(
                "{operation} was applied but could not be made durable: {e}"
            ))
        })?;
    }
    Ok(answer)
}

/// A value's JSON text, its null members left out as ECS leaves absent members out (a
/// null `nextToken` would read as one).
fn json_text(mut value: Value) -> Vec<u8> {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

fn answer(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(protocol::CONTENT_TYPE),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
