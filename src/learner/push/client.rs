//! Requests to the class server: `GET whoami` and `POST results`, over the TLS of [`super::pin`]
//! (plain HTTP only to loopback, which the join link already enforces), with the learner's
//! bearer token. Answers are read up to a small cap; the caller bounds the time.

use super::error::PushError;
use super::join::Joined;
use crate::class::wire::{Accepted, ErrorBody, RESULTS_PATH, WHOAMI_PATH, Whoami};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The most of an answer read: the server's answers are a line of JSON.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// How the server answered a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: stored (or already stored: `duplicate`).
    Accepted { duplicate: bool },
    /// 4xx other than 429: sending it again cannot help.
    Rejected { status: u16, error: String },
    /// 429, 5xx, or an answer that is not the contract's: try again later.
    Later { status: u16, error: String },
}

pub struct Client {
    pool: Pool<HttpsConnector<HttpConnector>, Full<Bytes>>,
    server: String,
    authorization: String,
}

impl Client {
    pub fn new(joined: &Joined) -> Result<Client, PushError> {
        let tls = super::pin::client_config(joined.pin.as_deref())?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client {
            pool: Pool::builder(TokioExecutor::new()).build(connector),
            server: joined.server.clone(),
            authorization: format!("Bearer {}", joined.token),
        })
    }

    /// Who the token belongs to.
    pub async fn whoami(&self) -> Result<Whoami, PushError> {
        let (status, body) = self.exchange(http::Method::GET, WHOAMI_PATH, None).await?;
        match status {
            200 => serde_json::from_slice(&body).map_err(PushError::NotLabctl),
            401 => Err(PushError::UnknownToken),
            403 => Err(PushError::Revoked),
            _ => Err(PushError::Answered {
                status,
                error: error_text(&body),
            }),
        }
    }

    /// Send one submission, already serialized.
    pub async fn submit(&self, body: Vec<u8>) -> Result<Answer, PushError> {
        let (status, answer) = self
            .exchange(http::Method::POST, RESULTS_PATH, Some(body))
            .await?;
        Ok(match status {
            200 => match serde_json::from_slice::<Accepted>(&answer) {
                Ok(a) if a.accepted => Answer::Accepted {
                    duplicate: a.duplicate,
                },
                _ => Answer::Later {
                    status,
                    error: "the server's answer is not labctl's".into(),
                },
            },
            400..=499 if status != 429 => Answer::Rejected {
                status,
                error: error_text(&answer),
            },
            _ => Answer::Later {
                status,
                error: error_text(&answer),
            },
        })
    }

    async fn exchange(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), PushError> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server))
            .header(http::header::AUTHORIZATION, &self.authorization)
            .header(
                http::header::USER_AGENT,
                concat!("labctl/", env!("CARGO_PKG_VERSION")),
            );
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(PushError::Request)?;
        let response = self
            .pool
            .request(request)
            .await
            .map_err(|e| PushError::Transport(cause(&e)))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| PushError::Transport(cause(&e)))?;
            if let Some(data) = frame.data_ref() {
                bytes.extend_from_slice(data);
            }
            if bytes.len() > MAX_ANSWER_BYTES {
                bytes.truncate(MAX_ANSWER_BYTES);
                break;
            }
        }
        Ok((status, bytes))
    }
}

/// The error of an answer: its `error` field, else its text; made safe to print and short.
fn error_text(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = crate::render::text::plain_text(&text).into_owned();
    let text: String = text.chars().take(300).collect();
    if text.trim().is_empty() {
        "no reason given".into()
    } else {
        text.trim().to_owned()
    }
}

/// What went wrong, from the innermost error of a chain (hyper's outer ones say only
/// "client error (Connect)"), made safe to print.
pub fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut messages = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        messages.push(err.to_string());
        cur = err.source();
    }
    let text = messages
        .iter()
        .rev()
        .find(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| "unknown error".into());
    crate::render::text::plain_text(&text).into_owned()
}
