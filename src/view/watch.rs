//! Waiting for a step to pass, in one place: watch exactly the resources the step's checks
//! read (kube watch streams, not a sleep loop), and re-grade when any of them changes, until the
//! step passes or the timeout ends. A slow safety re-check covers kinds that cannot be watched
//! (not served yet, e.g. before Istio's CRDs exist) and command checks.
//! [`for_object`] waits for one object (a probe pod) the same way. Both the grading layer
//! (`check --wait`, content CI) and probes wait through here.
//!
//! The watches ride on the connection's one HTTP/2 connection, beside the re-grades' LISTs;
//! they are read all the time (by a task of their own), so events that come while a re-grade
//! runs never hold the connection's flow-control window.

use crate::view::connect::Connection;
use crate::view::query::Query;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// The label on every object labctl creates itself (probe pods): watches leave those out, and
/// leftovers are easy to find (`kubectl delete pod -A -l app.kubernetes.io/managed-by=labctl`).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "labctl");

/// How often to re-check even when no watched object changed.
pub const SAFETY_RECHECK: Duration = Duration::from_secs(15);

/// Re-run `attempt` whenever a watched object changes; stop when it returns `Some` or at the
/// deadline (then `None`). `attempt` is called once at once.
pub async fn until<T, F, Fut>(
    conn: &Connection,
    queries: &BTreeSet<Query>,
    timeout: Duration,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let (seen, mut changes) = tokio::sync::watch::channel(0u64);
    let mut streams = futures::stream::select_all(watches(conn, queries));
    let reader = AbortOnDrop(tokio::spawn(async move {
        while streams.next().await.is_some() {
            seen.send_modify(|n| *n += 1);
        }
    }));
    loop {
        if let Some(done) = attempt().await {
            return Some(done);
        }
        let next_check = (Instant::now() + SAFETY_RECHECK).min(deadline);
        tokio::select! {
            _ = tokio::time::sleep_until(next_check) => {}
            changed = changes.changed() => match changed {
                // Let a burst of events (a rollout) settle into one re-grade.
                Ok(()) => tokio::time::sleep(Duration::from_millis(150).min(
                    deadline.saturating_duration_since(Instant::now()),
                )).await,
                Err(_) => tokio::time::sleep_until(next_check).await,
            },
        }
        // What changed so far, the next attempt sees.
        changes.borrow_and_update();
        if Instant::now() >= deadline {
            drop(reader);
            return attempt().await;
        }
    }
}

/// Ends the task when dropped (the watches end with it).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One change stream per query whose kind was listed on this connection (so it is served, and
/// where is known: no discovery). A stream ends when its kind goes away (a 404): the safety
/// re-check covers it then, as it covers kinds not served yet.
fn watches(
    conn: &Connection,
    queries: &BTreeSet<Query>,
) -> Vec<futures::stream::BoxStream<'static, ()>> {
    let mut streams = Vec::new();
    for q in queries {
        let Some(place) = conn.kinds.served(&q.api_version, &q.kind) else {
            continue;
        };
        let client = conn.client.clone();
        let api: Api<DynamicObject> = match place.namespace(q.namespace.as_deref()) {
            Some(ns) => Api::namespaced_with(client, ns, &place.resource),
            None => Api::all_with(client, &place.resource),
        };
        // Changes only: the initial listing is what the first attempt already saw. Probe pods
        // are left out: each re-grade creates and deletes some, which must not trigger the next.
        let config =
            watcher::Config::default().labels(&format!("{}!={}", MANAGED_BY.0, MANAGED_BY.1));
        let stream = watcher(api, config)
            .default_backoff()
            .take_while(|e| futures::future::ready(!gone(e)))
            .filter_map(|e| {
                futures::future::ready(
                    matches!(e, Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)))
                        .then_some(()),
                )
            })
            .boxed();
        streams.push(stream);
    }
    // select_all needs at least one stream to wait on; a pending one waits for the timeout.
    streams.push(futures::stream::pending().boxed());
    streams
}

/// The watched kind is no longer served.
fn gone<K>(e: &Result<watcher::Event<K>, watcher::Error>) -> bool {
    match e {
        Err(
            watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            | watcher::Error::WatchFailed(kube::Error::Api(s)),
        ) => s.code == 404,
        Err(watcher::Error::WatchError(s)) => s.code == 404,
        _ => false,
    }
}

/// Watch one object until `done` holds for it: `Ok(Some(object))`, or `Ok(None)` when `timeout`
/// runs out first (the object may also have been deleted meanwhile: it is then never done).
pub async fn for_object<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    done: impl Fn(&K) -> bool + Send + 'static,
) -> Result<Option<K>, kube::runtime::wait::Error>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send,
{
    let condition = move |o: Option<&K>| o.is_some_and(&done);
    match tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api.clone(), name, condition),
    )
    .await
    {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(None),
    }
}
