//! The HTTP side of `labctl class serve` (axum): the learners' API (`/api/v1/…`, see
//! [`wire`](crate::class::wire)), and for the instructor the dashboard, its server-sent events
//! and the exports. Request bodies are capped by tower-http before any handler reads them.
//!
//! The database is SQLite behind one mutex, used from blocking threads: a submission is
//! committed (fsynced) before its 200 is sent.

use super::auth::{COOKIE_NAME, Learner, Rates, Tokens, instructor};
use super::board::{class_report, validate};
use super::pull::{Pulled, merge};
use super::store::{Store, StoreError};
use crate::class::report::ClassReport;
use crate::class::wire::{self, Accepted, ErrorBody, Health, Submission, Whoami};
use crate::class::{csv, html, json, junit};
use crate::plan::resolve::Plan;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Everything the handlers share.
pub struct Class {
    pub plan: Plan,
    /// The roster's learners, in its order.
    pub learners: Vec<String>,
    pub store: Mutex<Store>,
    pub tokens: Mutex<Tokens>,
    pub rates: Mutex<Rates>,
    pub instructor: [u8; 32],
    /// Bumped after each new submission or pull; dashboards redraw on it.
    pub changed: watch::Sender<u64>,
    /// The latest grade of each learner the server pulls (see [`pull`](super::pull)), by name.
    pub pulled: Mutex<Pulled>,
}

impl Class {
    pub fn new(plan: Plan, learners: Vec<String>, store: Store, instructor: [u8; 32]) -> Class {
        Class {
            plan,
            learners,
            store: Mutex::new(store),
            tokens: Mutex::default(),
            rates: Mutex::default(),
            instructor,
            changed: watch::Sender::new(0),
            pulled: Mutex::default(),
        }
    }

    /// Keep the rows of a pull and tell the dashboards.
    pub fn set_pulled(&self, rows: Pulled) {
        *lock(&self.pulled) = rows;
        self.changed.send_modify(|v| *v += 1);
    }

    /// The class report as of now, from the database.
    pub fn report(&self) -> Result<ClassReport, StoreError> {
        let latest = lock(&self.store).latest()?;
        let mut report = class_report(
            &self.plan,
            &self.learners,
            &latest,
            crate::view::snapshot::now_rfc3339(),
        );
        // A pulled learner's row is its latest pull (it sends nothing).
        merge(&mut report, &lock(&self.pulled));
        Ok(report)
    }
}

/// A poisoned lock only means a handler panicked; the data under it is still consistent
/// (every change is one SQLite statement).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Shared = State<Arc<Class>>;

pub fn router(class: Arc<Class>) -> Router {
    let api = Router::new()
        .route(wire::RESULTS_PATH, post(results))
        .route(wire::WHOAMI_PATH, get(whoami))
        .route(wire::HEALTH_PATH, get(health))
        .route("/", get(dashboard))
        .route("/login", get(login))
        .route("/events", get(events))
        .route("/export.csv", get(export))
        .route("/export.json", get(export))
        .route("/export.junit", get(export))
        .with_state(class);
    // The cap is inside the JSON rewrite, so its 413 is rewritten.
    api.layer(tower_http::limit::RequestBodyLimitLayer::new(
        wire::MAX_BODY_BYTES,
    ))
    .layer(axum::middleware::map_response(json_errors))
}

fn fail(code: StatusCode, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        error: message.into(),
    };
    (code, axum::Json(body)).into_response()
}

/// tower-http's 413 says so in plain text; the contract's errors are JSON.
async fn json_errors(res: Response) -> Response {
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE
        && res.headers().get(header::CONTENT_TYPE)
            != Some(&HeaderValue::from_static("application/json"))
    {
        return fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a request body is at most {} bytes", wire::MAX_BODY_BYTES),
        );
    }
    res
}

fn internal(e: impl std::fmt::Display) -> Response {
    fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Run `f` on a blocking thread (SQLite waits on the disk); its error is a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(internal),
        Err(e) => Err(internal(e)),
    }
}

/// The learner a request's token belongs to, or the answer refusing it.
async fn learner(class: &Arc<Class>, headers: HeaderMap) -> Result<String, Response> {
    let c = class.clone();
    let who = blocking(move || {
        let store = lock(&c.store);
        lock(&c.tokens).check(&store, &headers)
    })
    .await?;
    match who {
        Learner::Known(name) => Ok(name),
        Learner::Missing => Err(fail(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <token>` (run the join command from your instructor)",
        )),
        Learner::Unknown => Err(fail(StatusCode::UNAUTHORIZED, "unknown token")),
        Learner::Revoked => Err(fail(StatusCode::FORBIDDEN, "this token was revoked")),
    }
}

async fn results(State(class): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let name = match learner(&class, headers).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    if !lock(&class.rates).allow(&name) {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests; retry in a second",
        );
    }
    let submission: Submission = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("malformed submission: {e}"),
            );
        }
    };
    if let Err(why) = validate(&class.plan, &submission) {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    let c = class.clone();
    let received = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let inserted = blocking(move || lock(&c.store).insert(&name, &submission, received)).await;
    match inserted {
        Ok(new) => {
            if new {
                class.changed.send_modify(|v| *v += 1);
            }
            axum::Json(Accepted {
                accepted: true,
                duplicate: !new,
            })
            .into_response()
        }
        Err(r) => r,
    }
}

async fn whoami(State(class): Shared, headers: HeaderMap) -> Response {
    match learner(&class, headers).await {
        Ok(name) => axum::Json(Whoami {
            learner: name,
            lab: class.plan.lab.clone(),
        })
        .into_response(),
        Err(r) => r,
    }
}

async fn health() -> Response {
    axum::Json(Health { ok: true }).into_response()
}

fn need_key() -> Response {
    let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>labctl class</title></head>\
<body><p>This dashboard needs the instructor key: open <code>/login?key=KEY</code> with the key \
<code>labctl class serve</code> printed when it first started.</p></body></html>";
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// Redraws the page from the server on each `update` event; no framework, no reload.
const SCRIPT: &str = "new EventSource('/events').addEventListener('update',()=>{\
fetch('/',{credentials:'same-origin',cache:'no-store'}).then(r=>r.ok?r.text():null).then(t=>{\
if(!t)return;const d=new DOMParser().parseFromString(t,'text/html');document.body.replaceWith(d.body);});});";

async fn dashboard(State(class): Shared, headers: HeaderMap) -> Response {
    if !instructor(&headers, &class.instructor) {
        return need_key();
    }
    let c = class.clone();
    let report = match blocking(move || c.report()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let nonce = match super::secret::new_secret() {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let page = html::class_html(&report).replacen(
        "</head>",
        &format!("<script nonce=\"{nonce}\">{SCRIPT}</script></head>"),
        1,
    );
    // Learners' texts are escaped by the renderer; the policy is a second wall: only this
    // page's own script runs, and nothing is loaded from elsewhere.
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        page,
    )
        .into_response()
}

async fn login(State(class): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(key) = q.get("key") else {
        return need_key();
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {key}")) {
        headers.insert(header::AUTHORIZATION, v);
    }
    if !instructor(&headers, &class.instructor) {
        return need_key();
    }
    let cookie = format!("{COOKIE_NAME}={key}; HttpOnly; Secure; SameSite=Strict; Path=/");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/".to_owned()),
        ],
    )
        .into_response()
}

/// An `update` event when results arrived, at most one a second per dashboard.
async fn events(State(class): Shared, headers: HeaderMap) -> Response {
    if !instructor(&headers, &class.instructor) {
        return need_key();
    }
    let rx = class.changed.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let v = *rx.borrow_and_update();
        Some((
            Ok::<_, Infallible>(Event::default().event("update").data(v.to_string())),
            rx,
        ))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn export(State(class): Shared, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if !instructor(&headers, &class.instructor) {
        return fail(StatusCode::UNAUTHORIZED, "exports need the instructor key");
    }
    let c = class.clone();
    let report = match blocking(move || c.report()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (kind, body) = match uri.path() {
        "/export.csv" => ("text/csv; charset=utf-8", csv::class_csv(&report)),
        "/export.json" => ("application/json", json::class_json(&report)),
        _ => ("application/xml", junit::class_junit(&report)),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
