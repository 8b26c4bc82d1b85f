//! Load generator for `labctl class serve` (scripts/bench-serve.sh, benches/README.md): N
//! learners, each on its own keep-alive HTTPS connection, submit a result every INTERVAL for
//! DURATION, while one dashboard client listens to `/events`. Prints throughput, p50/p99
//! latency of acknowledged submissions, answers other than 200, and dashboard updates seen.
//!
//! Usage: serve_load PORT TOKENS_FILE INSTRUCTOR_KEY [INTERVAL_MS] [DURATION_S]
//! (TOKENS_FILE: `labctl class invite` output). Loopback only: the certificate is not checked
//! here (the pin is, in tests/integration/class_server.rs).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(port: u16, tls: &Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    tokio_rustls::TlsConnector::from(tls.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

fn body(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id, "lab": "istio-aks", "step": "deploy-app", "command": "check",
        "at": "2026-12-06T02:10:00Z", "duration_ms": 900, "status": "failed",
        "checks": [
            {"id": "app-namespace", "status": "passed", "duration_ms": 3},
            {"id": "store-front-available", "status": "failed",
             "diagnosis": "app-applied-to-wrong-namespace", "message": "store-front: 0/1 ready"}
        ]
    }))
    .unwrap()
}

/// One learner: its latencies (ms) and the count of answers other than 200.
async fn learner(
    n: usize,
    port: u16,
    token: String,
    tls: Arc<rustls::ClientConfig>,
    every: Duration,
    until: Instant,
) -> (Vec<f64>, usize) {
    let (mut lat, mut bad) = (Vec::new(), 0);
    // Spread the learners over the first interval.
    tokio::time::sleep(every.mul_f64(n as f64 % 97.0 / 97.0)).await;
    let mut send = None;
    let mut tick = tokio::time::interval(every);
    let mut k = 0u64;
    while Instant::now() < until {
        tick.tick().await;
        if send.is_none() {
            let Ok(stream) = connect(port, &tls).await else {
                bad += 1;
                continue;
            };
            let Ok((s, conn)) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
            else {
                bad += 1;
                continue;
            };
            tokio::spawn(conn);
            send = Some(s);
        }
        let Some(s) = send.as_mut() else { continue };
        k += 1;
        let req = http::Request::post("/api/v1/results")
            .header("host", "localhost")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body(&format!(
                "load-{n:05}-{k:010}"
            )))))
            .unwrap();
        let started = Instant::now();
        match s.send_request(req).await {
            Ok(res) => {
                let ok = res.status() == 200;
                let _ = res.into_body().collect().await;
                if ok {
                    lat.push(started.elapsed().as_secs_f64() * 1000.0);
                } else {
                    bad += 1;
                }
            }
            Err(_) => {
                bad += 1;
                send = None;
            }
        }
    }
    (lat, bad)
}

/// The dashboard: counts `update` events until `until`.
async fn dashboard(
    port: u16,
    key: String,
    tls: Arc<rustls::ClientConfig>,
    until: Instant,
) -> usize {
    let Ok(mut s) = connect(port, &tls).await else {
        return 0;
    };
    let req =
        format!("GET /events HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let (mut seen, mut buf) = (0, vec![0u8; 16384]);
    while let Ok(Ok(n)) = tokio::time::timeout_at(until.into(), s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        seen += String::from_utf8_lossy(&buf[..n])
            .matches("event: update")
            .count();
    }
    seen
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: serve_load PORT TOKENS_FILE INSTRUCTOR_KEY [INTERVAL_MS] [DURATION_S]");
        std::process::exit(3);
    }
    let port: u16 = args[1].parse().expect("PORT");
    let tokens: Vec<String> = std::fs::read_to_string(&args[2])
        .expect("TOKENS_FILE")
        .lines()
        .filter_map(|l| {
            l.split("token=")
                .nth(1)?
                .split('&')
                .next()
                .map(str::to_owned)
        })
        .collect();
    let key = args[3].clone();
    let every = Duration::from_millis(args.get(4).map_or(2000, |s| s.parse().unwrap()));
    let duration = Duration::from_secs(args.get(5).map_or(60, |s| s.parse().unwrap()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
            .with_no_client_auth(),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let until = started + duration;
    let (results, updates) = runtime.block_on(async {
        let board = tokio::spawn(dashboard(port, key, tls.clone(), until));
        let tasks: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(n, t)| tokio::spawn(learner(n, port, t.clone(), tls.clone(), every, until)))
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        (results, board.await.unwrap_or(0))
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let bad: usize = results.iter().map(|r| r.1).sum();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "learners {} · interval {} ms · {:.0} s · acknowledged {} ({:.1}/s) · other answers {} · p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms · dashboard updates {}",
        tokens.len(),
        every.as_millis(),
        elapsed,
        lat.len(),
        lat.len() as f64 / elapsed,
        bad,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        updates
    );
}
