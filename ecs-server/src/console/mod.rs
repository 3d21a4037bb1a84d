//! The web console: a page, its script and its style, served at `/`. The page calls
//! the same API as the aws CLI (`POST /`), each request signed in the browser with
//! the access key its user signs in with, and follows changes by asking again every
//! two seconds; its actions (a service's desired count, a new deployment, stopping a
//! task, draining an instance) are API calls like any other. The server adds nothing
//! for it but these three files.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");

/// The console's routes: `/`, `/console/app.js`, `/console/style.css`. `region` is the
/// one the page signs for by default; `signed` whether it signs at all (the server
/// checks signatures).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(region: &str, signed: bool) -> Router<S> {
    let page = PAGE
        .replace("{{REGION}}", &escape(region))
        .replace("{{AUTH}}", if signed { "sigv4" } else { "none" });
    Router::new()
        .route(
            "/",
            get(move || {
                let page = page.clone();
                async move { asset("text/html; charset=utf-8", page) }
            }),
        )
        .route(
            "/console/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT.to_owned()) }),
        )
        .route(
            "/console/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE.to_owned()) }),
        )
        // Browsers ask for it; there is none.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// An asset with headers that keep the page to itself: its own scripts and styles
/// only, no framing, no guessing of types.
fn asset(content_type: &'static str, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Text for an HTML attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
