//! The address a probe calls, and the request labctl makes itself. A `service:` target is read
//! from the listed objects (the LoadBalancer Service's `status.loadBalancer.ingress[0]`), so it
//! costs no extra request and a snapshot holds it too.

use crate::eval::probe::Reply;
use crate::labfile::lab::{ConnError, HttpTarget, Probe};
use crate::probe::error::{AddressError, ProbeError};
use crate::view::objects::ObjectSet;
use crate::view::query::Query;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;

/// The most of a body kept for `bodyContains`.
const BODY_LIMIT: usize = 64 * 1024;

/// The URL a probe requests.
pub fn url(probe: &Probe, objects: &ObjectSet) -> Result<String, ProbeError> {
    match &probe.http.target {
        HttpTarget::Url(url) => Ok(url.clone()),
        HttpTarget::Service { namespace, name } => {
            let query = Query {
                api_version: "v1".into(),
                kind: "Service".into(),
                namespace: Some(namespace.clone()),
            };
            let services = objects.get(&query).map_err(|e| e.clone())?;
            let svc = services
                .iter()
                .find(|s| s.pointer("/metadata/name") == Some(&Value::from(name.as_str())))
                .ok_or_else(|| ProbeError::NoService {
                    name: name.clone(),
                    namespace: namespace.clone(),
                })?;
            let (host, port) =
                service_address(svc, probe.http.port.as_deref()).map_err(|problem| {
                    ProbeError::Address {
                        name: name.clone(),
                        namespace: namespace.clone(),
                        problem,
                    }
                })?;
            let path = if probe.http.path.is_empty() {
                "/"
            } else {
                &probe.http.path
            };
            Ok(format!("http://{host}:{port}{path}"))
        }
    }
}

/// A LoadBalancer Service's external host and the port to call: `port` if given, else the
/// port named `http` or `http2`, else 80 if it serves it, else its first port.
pub fn service_address(svc: &Value, port: Option<&str>) -> Result<(String, u16), AddressError> {
    let ingress = svc.pointer("/status/loadBalancer/ingress/0");
    let host = ingress
        .and_then(|i| i.get("ip").or_else(|| i.get("hostname")))
        .and_then(Value::as_str)
        .ok_or(AddressError::NoAddress)?;
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let number = |p: &Value| p.get("port").and_then(Value::as_u64).map(|n| n as u16);
    let port = match port {
        Some(p) => p.parse().map_err(|_| AddressError::BadPort(p.to_owned()))?,
        None => ports
            .iter()
            .find(|p| {
                matches!(
                    p.get("name").and_then(Value::as_str),
                    Some("http" | "http2")
                )
            })
            .and_then(number)
            .or_else(|| ports.iter().filter_map(number).find(|n| *n == 80))
            .or_else(|| ports.first().and_then(number))
            .ok_or(AddressError::NoPorts)?,
    };
    Ok((host.to_owned(), port))
}

/// GET `url` from labctl itself.
pub async fn get(url: &str, timeout: Duration) -> Result<Reply, ProbeError> {
    Ok(get_with_header(url, timeout, None).await?.0)
}

/// [`get`], also returning the value of the response header `header` (the first, if it came
/// more than once; lossy UTF-8) when asked for one and the reply had it.
pub async fn get_with_header(
    url: &str,
    timeout: Duration,
    header: Option<&str>,
) -> Result<(Reply, Option<String>), ProbeError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ProbeError::Url {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(uri)
        .header(http::header::USER_AGENT, "labctl-probe")
        .body(Empty::new())
        .map_err(|e| ProbeError::Request {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| failure(&e))?;
        let status = response.status().as_u16();
        let value = header
            .and_then(|h| response.headers().get(h))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut body = Vec::new();
        let mut stream = response.into_body();
        while let Some(frame) = stream.frame().await {
            let frame = frame.map_err(|e| failure(&e))?;
            if let Some(data) = frame.data_ref() {
                body.extend_from_slice(data);
            }
            if body.len() >= BODY_LIMIT {
                break;
            }
        }
        Ok((
            Reply::Http {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            },
            value,
        ))
    };
    Ok(tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(Reply::Failed {
                error: ConnError::Timeout,
                detail: format!("no answer within {}s", timeout.as_secs()),
            })
        })
        .unwrap_or_else(|failed| (failed, None)))
}

/// A client error as a probe failure: the kind, from the I/O error at the bottom of the chain.
fn failure(e: &(dyn std::error::Error + 'static)) -> Reply {
    let mut messages = Vec::new();
    let mut error = ConnError::Other;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        messages.push(err.to_string());
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            error = io_kind(io.kind());
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && h.is_incomplete_message()
        {
            error = ConnError::Empty;
        }
        if err.to_string().contains("dns error") {
            error = ConnError::Dns;
        }
        cur = err.source();
    }
    Reply::Failed {
        error,
        detail: messages.last().cloned().unwrap_or_default(),
    }
}

fn io_kind(kind: std::io::ErrorKind) -> ConnError {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => ConnError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ConnError::Reset
        }
        K::TimedOut => ConnError::Timeout,
        _ => ConnError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(ingress: Value, ports: Value) -> Value {
        json!({"metadata": {"name": "gw"}, "spec": {"ports": ports}, "status": {"loadBalancer": {"ingress": ingress}}})
    }

    #[test]
    fn reads_the_external_address_and_port() {
        let ports = json!([{"name": "status-port", "port": 15021}, {"name": "http2", "port": 80}, {"name": "https", "port": 443}]);
        assert_eq!(
            service_address(&svc(json!([{"ip": "20.1.2.3"}]), ports.clone()), None),
            Ok(("20.1.2.3".into(), 80))
        );
        assert_eq!(
            service_address(
                &svc(json!([{"hostname": "lb.example"}]), ports.clone()),
                Some("8080")
            ),
            Ok(("lb.example".into(), 8080))
        );
        assert_eq!(
            service_address(
                &svc(json!([{"ip": "1.1.1.1"}]), json!([{"port": 9000}])),
                None
            ),
            Ok(("1.1.1.1".into(), 9000))
        );
        assert!(
            service_address(&svc(json!([]), ports), None)
                .unwrap_err()
                .to_string()
                .contains("no external address")
        );
    }

    #[test]
    fn io_errors_map_to_kinds() {
        assert_eq!(
            io_kind(std::io::ErrorKind::ConnectionRefused),
            ConnError::Refused
        );
        assert_eq!(
            io_kind(std::io::ErrorKind::ConnectionReset),
            ConnError::Reset
        );
        assert_eq!(io_kind(std::io::ErrorKind::NotFound), ConnError::Other);
    }

    /// A real request to a port nobody listens on, and one to a tiny server.
    #[tokio::test]
    async fn gets_and_is_refused() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let Reply::Failed { error, .. } =
            get(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
                .await
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(error, ConnError::Refused);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let body = "<title>Contoso Pet Store</title>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        });
        assert_eq!(
            get(&format!("http://{addr}/"), Duration::from_secs(5)).await,
            Ok(Reply::Http {
                status: 200,
                body: "<title>Contoso Pet Store</title>".into()
            })
        );
    }
}
