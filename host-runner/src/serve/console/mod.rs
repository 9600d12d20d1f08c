//! The operator's console at `/ui`: executions, handlers and the rollout,
//! rendered on the server as plain HTML with inline CSS and SVG. It needs
//! no script, fetches nothing from elsewhere (its Content-Security-Policy
//! forbids it) and sits behind the API's bearer token: a browser signs in
//! with the token and keeps a session cookie signed with it, good for
//! twelve hours (a new token ends every session at once).

mod charts;
mod executions;
mod handlers;
mod layout;
mod rollout;
mod transcripts;

use super::auth::{presents_token, same_secret};
use super::state::AppState;
use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

/// The session cookie's name.
const COOKIE: &str = "pilot_console";
/// How long a sign-in lasts.
const SESSION_SECONDS: u64 = 12 * 3_600;
/// Everything the console's pages may load: their own inline styles and images.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, under `/ui`.
pub(super) fn router(state: AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/", get(|| async { Redirect::to("/ui/executions") }))
        .route("/executions", get(list_executions))
        .route("/executions/{id}", get(show_execution))
        .route("/handlers", get(list_handlers))
        .route("/rollout", get(show_rollout).post(change_flag))
        .route("/logout", axum::routing::post(logout))
        .layer(middleware::from_fn_with_state(state.clone(), require_session));
    Router::new()
        .route("/login", get(login_page).post(login))
        .merge(signed_in)
        .layer(middleware::from_fn(secure_headers))
}

/// The cookie value that proves the token was presented at `issued` (Unix
/// seconds): the time and an HMAC of it keyed by the token, so the cookie
/// never holds the token and cannot be moved to another time.
fn session_value(token: &str, issued: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(b"pilot-console-session\0");
    mac.update(issued.to_string().as_bytes());
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{issued}.{digest}")
}

/// Whether `cookie` is a session this token signed within the last twelve hours.
fn valid_session(cookie: &str, token: &str, now: u64) -> bool {
    let Some(issued) = cookie.split_once('.').and_then(|(issued, _)| issued.parse::<u64>().ok()) else {
        return false;
    };
    // A minute of clock skew between replicas behind one address.
    let fresh = issued <= now + 60 && now.saturating_sub(issued) < SESSION_SECONDS;
    fresh && same_secret(cookie, &session_value(token, issued))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A session cookie or the bearer token; a form post must also come from this origin.
async fn require_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let by_cookie = cookie(headers, COOKIE).is_some_and(|c| valid_session(c, &state.token, now()));
    let by_bearer = presents_token(headers, &state.token);
    if !(by_cookie || by_bearer) {
        return match request.method() {
            &axum::http::Method::GET => Redirect::to("/ui/login").into_response(),
            _ => (StatusCode::UNAUTHORIZED, "sign in at /ui/login").into_response(),
        };
    }
    if request.method() != axum::http::Method::GET && !same_origin(headers) {
        tracing::warn!("console: a form post from another origin was refused");
        return (StatusCode::FORBIDDEN, "cross-origin form posts are refused").into_response();
    }
    next.run(request).await
}

/// Whether a request's `Origin` (when a browser sent one) is this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
}

async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn login_page() -> Html<String> {
    login_form(None)
}

fn login_form(error: Option<&str>) -> Html<String> {
    let error = error.map(|e| format!("<p class=\"err\" role=\"alert\">{}</p>", layout::esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/ui/login\" class=\"inline\" id=\"login\">\
         <label>Bearer token<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>\
         <button>Sign in</button></form>\
         <p class=\"note\">The token <code>pilot serve</code> printed or was given (<code>PILOT_TOKEN</code>).</p>"
    );
    layout::page("Sign in", "", &body)
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

async fn login(State(state): State<AppState>, Form(form): Form<Login>) -> Response {
    if !same_secret(form.token.trim(), &state.token) {
        tracing::warn!("console: sign-in with a wrong token");
        return (StatusCode::UNAUTHORIZED, login_form(Some("That is not this server's token."))).into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age={SESSION_SECONDS}",
        session_value(&state.token, now())
    );
    let mut response = Redirect::to("/ui/executions").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("digits, a dot and hex are a header value"));
    response
}

async fn logout() -> Response {
    let mut response = Redirect::to("/ui/login").into_response();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&expired).expect("ascii"));
    response
}

/// Runs a page's database reads off the async workers; a failure is a 500 page naming it.
async fn blocking(
    state: &AppState,
    page: impl FnOnce(&crate::host::Host) -> anyhow::Result<Response> + Send + 'static,
) -> Response {
    let host = state.host.clone();
    match tokio::task::spawn_blocking(move || page(&host)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            let message = crate::error::chain(e.as_ref());
            tracing::warn!("console page failed: {message}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                layout::page("Error", "", &format!("<p class=\"err\">{}</p>", layout::esc(&message))),
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn list_executions(State(state): State<AppState>, Query(filters): Query<executions::Filters>) -> Response {
    blocking(&state, move |host| Ok(executions::list(host, &filters)?.into_response())).await
}

async fn show_execution(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let token = state.token.clone();
    blocking(&state, move |host| {
        Ok(match executions::run(host, &token, &id)? {
            Some(page) => page.into_response(),
            None => (
                StatusCode::NOT_FOUND,
                layout::page(
                    "Not found",
                    "/ui/executions",
                    &format!("<p>No execution <code>{}</code>.</p>", layout::esc(&id)),
                ),
            )
                .into_response(),
        })
    })
    .await
}

async fn list_handlers(State(state): State<AppState>) -> Response {
    handlers::list(&state.host).into_response()
}

async fn show_rollout(State(state): State<AppState>, Query(view): Query<rollout::View>) -> Response {
    blocking(&state, move |host| Ok(rollout::show(host, &view, None)?.into_response())).await
}

async fn change_flag(State(state): State<AppState>, Form(change): Form<rollout::FlagChange>) -> Response {
    blocking(&state, move |host| {
        let outcome = rollout::apply(host, &change);
        let status = if outcome.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        Ok((status, rollout::show(host, &rollout::View::default(), Some(outcome))?).into_response())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_signed_by_the_token_and_ends_after_twelve_hours() {
        let issued = 1_796_558_400;
        let cookie = session_value("token-a", issued);
        assert!(!cookie.contains("token-a"));
        assert!(valid_session(&cookie, "token-a", issued + 60));
        assert!(valid_session(&cookie, "token-a", issued + SESSION_SECONDS - 1));
        assert!(!valid_session(&cookie, "token-a", issued + SESSION_SECONDS), "expired");
        assert!(!valid_session(&cookie, "token-b", issued + 60), "another token: every session ends");
        let moved = cookie.replacen(&issued.to_string(), &(issued + 3_600).to_string(), 1);
        assert!(!valid_session(&moved, "token-a", issued + 3_600), "the time is signed");
        assert!(!valid_session(&cookie, "token-a", issued - 3_600), "issued in the future");
        assert!(!valid_session("garbage", "token-a", issued));
    }
}
