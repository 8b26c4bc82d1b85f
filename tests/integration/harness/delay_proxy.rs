//! A far-away API server on loopback: a TCP proxy that holds every chunk back by a one-way delay,
//! in both directions, in order — a link with a round-trip time of twice that delay. The kernel
//! here has no netem; this is the part of it a request/response protocol feels. (The TCP
//! handshake itself is not delayed: the client's `connect` completes on loopback, so a new
//! connection costs the round trips of its TLS handshake and requests, not the SYN's.)
//!
//! It also counts the connections it accepted: how many connections a client opened is a real
//! property of the client, read here without looking inside TLS.
//!
//! Runs on the harness runtime (it must keep forwarding while a test waits for a `labctl`
//! process) and stops when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::runtime::harness_runtime;

pub struct DelayProxy {
    addr: SocketAddr,
    one_way: Duration,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`, each chunk
    /// `one_way` later than it arrived (`Duration::ZERO`: plain forwarding).
    pub fn start(upstream: SocketAddr, one_way: Duration) -> DelayProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the delay proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("delay proxy address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = harness_runtime().spawn(async move {
            let listener = TcpListener::from_std(listener).expect("a tokio listener");
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, one_way), pump(sr, cw, one_way));
                });
            }
        });
        DelayProxy {
            addr,
            one_way,
            accepted,
            task,
        }
    }

    /// `https://127.0.0.1:<port>`: the API server URL to give a kubeconfig.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The round-trip time this proxy adds.
    pub fn rtt(&self) -> Duration {
        self.one_way * 2
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read; the end of the stream
/// (shut down for writing) travels with the same delay.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = tx.send((Instant::now() + delay, None));
                    return;
                }
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, Some(buf[..n].to_vec())))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            match chunk {
                Some(bytes) => {
                    if to.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                None => {
                    let _ = to.shutdown().await;
                    return;
                }
            }
        }
    };
    tokio::join!(reader, writer);
}
