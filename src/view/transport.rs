//! The HTTP client under kube's: one connection per cluster for a whole run.
//!
//! kube's own client speaks HTTP/1.1, where requests in flight at the same time each need a
//! connection of their own: a grade's ~20 concurrent LISTs opened ~13 connections, each paying a
//! TLS handshake — a round trip each that a cluster 50 ms away makes visible. Here instead:
//!
//! - the first request opens one TLS connection offering ALPN `h2` and `http/1.1`; requests that
//!   come meanwhile wait for it rather than open their own;
//! - when the server picks `h2` (the API server does), that connection carries every request of
//!   the run, multiplexed: LISTs, discovery, watches, probe pods. Should it close (the server's
//!   idle timeout, a GOAWAY), the next request opens the next one, again one for all; should it
//!   stop answering, a ping after 30 s without a frame finds out within 15 s (as client-go does);
//! - when it picks HTTP/1.1, or the URL is `http://`, requests go through a pool of HTTP/1.1
//!   connections as with kube's client, the connection already open being the pool's first;
//! - WebSocket upgrades (`pods/exec`, for exec probes) always go over HTTP/1.1: Kubernetes API
//!   servers do not offer WebSockets over HTTP/2 (RFC 8441), and kube does not ask for them.
//!
//! `TCP_NODELAY` is on for every connection (kube's connector leaves it off; Nagle's algorithm
//! against the server's delayed ACK cost ~40 ms per new connection, see benches/README.md), with
//! kube's connect timeout, TLS settings (CA, client certificate, `tls-server-name`, skipping
//! verification when the kubeconfig says so) and its base-URI, auth and extra-header layers.

use futures::future::BoxFuture;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Service, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
type Body = kube::client::Body;

/// kube's client over [`Transport`] (see the module docs).
pub fn build_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use kube::client::ConfigExt;
    let transport = Transport::new(&config)?;
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(transport);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// Which HTTP version the server picked on the first connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http2,
    Http1,
}

/// The tower service kube's layers send requests to.
#[derive(Clone)]
struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    /// Decided by the first connection, once per client.
    protocol: tokio::sync::OnceCell<Protocol>,
    /// Opens that first connection: ALPN `h2`, then `http/1.1`.
    first: HttpsConnector<HttpConnector>,
    /// Every request when the server speaks h2: one connection at a time (`http2_only` makes
    /// concurrent requests wait for the connection being opened instead of opening their own).
    http2: Pool<Reuse, Body>,
    /// Every request otherwise, and upgrades: pooled HTTP/1.1 connections (no ALPN offered, so
    /// a server that speaks h2 answers in HTTP/1.1 here).
    http1: Pool<Reuse, Body>,
    /// The connectors of those pools (sharing their slot for the first connection).
    http2_connector: Reuse,
    http1_connector: Reuse,
}

impl Transport {
    fn new(config: &kube::Config) -> Result<Transport, kube::Error> {
        use kube::client::ConfigExt;
        let tls = config.rustls_client_config()?;
        let connector = |alpn_h2: bool| -> Result<HttpsConnector<HttpConnector>, kube::Error> {
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_nodelay(true);
            http.set_connect_timeout(config.connect_timeout);
            let mut builder = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls.clone())
                .https_or_http();
            if let Some(name) = &config.tls_server_name {
                let name = name.clone().try_into().map_err(|e| {
                    kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
                })?;
                builder = builder
                    .with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
            }
            Ok(match alpn_h2 {
                true => builder.enable_all_versions().wrap_connector(http),
                false => builder.enable_http1().wrap_connector(http),
            })
        };
        let http2 = Reuse::new(connector(true)?);
        let http1 = Reuse::new(connector(false)?);
        Ok(Transport {
            inner: Arc::new(Inner {
                protocol: tokio::sync::OnceCell::new(),
                first: connector(true)?,
                http2: Pool::builder(TokioExecutor::new())
                    .http2_only(true)
                    // Like client-go: a connection that stops answering (a NAT or load balancer
                    // that dropped it) is found by a ping, not by every request hanging on it.
                    .timer(TokioTimer::new())
                    .http2_keep_alive_interval(Duration::from_secs(30))
                    .http2_keep_alive_timeout(Duration::from_secs(15))
                    .http2_keep_alive_while_idle(true)
                    .build(http2.clone()),
                http1: Pool::builder(TokioExecutor::new()).build(http1.clone()),
                http2_connector: http2,
                http1_connector: http1,
            }),
        })
    }
}

impl Inner {
    /// The protocol of this server, opening the first connection if none was yet (requests
    /// that come meanwhile wait for it). The connection opened is handed to the pool of its
    /// protocol, so it is the one the requests then use.
    async fn protocol(&self, uri: &http::Uri) -> Result<Protocol, BoxError> {
        let init = || async {
            let mut dst = http::Uri::builder();
            if let Some(scheme) = uri.scheme() {
                dst = dst.scheme(scheme.clone());
            }
            if let Some(authority) = uri.authority() {
                dst = dst.authority(authority.clone());
            }
            let dst = dst.path_and_query("/").build()?;
            let stream = self.first.clone().oneshot(dst).await?;
            let (protocol, pool) = match stream.connected().is_negotiated_h2() {
                true => (Protocol::Http2, &self.http2_connector),
                false => (Protocol::Http1, &self.http1_connector),
            };
            pool.put(stream);
            Ok::<_, BoxError>(protocol)
        };
        self.protocol.get_or_try_init(init).await.copied()
    }
}

impl Service<http::Request<Body>> for Transport {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let protocol = match req.headers().contains_key(http::header::UPGRADE) {
                true => Protocol::Http1,
                false => inner.protocol(req.uri()).await?,
            };
            let res = match protocol {
                Protocol::Http2 => inner.http2.request(req).await,
                Protocol::Http1 => inner.http1.request(req).await,
            };
            res.map_err(BoxError::from)
        })
    }
}

/// A connector that first hands out a connection opened elsewhere (the first one), then opens
/// new ones.
#[derive(Clone)]
struct Reuse {
    ready: Arc<Mutex<Option<Stream>>>,
    connector: HttpsConnector<HttpConnector>,
}

impl Reuse {
    fn new(connector: HttpsConnector<HttpConnector>) -> Reuse {
        Reuse {
            ready: Arc::new(Mutex::new(None)),
            connector,
        }
    }

    fn put(&self, stream: Stream) {
        if let Ok(mut slot) = self.ready.lock() {
            *slot = Some(stream);
        }
    }
}

impl Service<http::Uri> for Reuse {
    type Response = Stream;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Stream, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.connector.poll_ready(cx)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let ready = self.ready.lock().ok().and_then(|mut slot| slot.take());
        match ready {
            Some(stream) => Box::pin(std::future::ready(Ok(stream))),
            None => Box::pin(self.connector.call(dst)),
        }
    }
}
