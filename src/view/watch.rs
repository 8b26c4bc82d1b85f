//! Waiting for a step to pass, in one place: watch exactly the resources the step's checks
//! read (kube watch streams, not a sleep loop), and re-grade when any of them changes, until the
//! step passes or the timeout ends. A slow safety re-check covers kinds that cannot be watched
//! (not served yet, e.g. before Istio's CRDs exist) and command checks.
//! [`for_object`] waits for one object (a probe pod) the same way. Both the grading layer
//! (`check --wait`, content CI) and probes wait through here.

use crate::view::query::Query;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
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
    client: &kube::Client,
    queries: &BTreeSet<Query>,
    timeout: Duration,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    // Setting up the watches asks the server too (discovery): bounded by the deadline as well.
    let streams = tokio::time::timeout_at(deadline, watches(client, queries))
        .await
        .unwrap_or_else(|_| vec![futures::stream::pending().boxed()]);
    let mut changes = futures::stream::select_all(streams);
    loop {
        if let Some(done) = attempt().await {
            return Some(done);
        }
        let next_check = (Instant::now() + SAFETY_RECHECK).min(deadline);
        tokio::select! {
            _ = tokio::time::sleep_until(next_check) => {}
            _ = changes.next() => {
                // Let a burst of events (a rollout) settle into one re-grade.
                let settle = tokio::time::sleep(Duration::from_millis(150));
                tokio::pin!(settle);
                loop {
                    tokio::select! {
                        _ = &mut settle => break,
                        more = changes.next() => if more.is_none() { break },
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            return attempt().await;
        }
    }
}

/// One change stream per query whose kind the server serves.
async fn watches(
    client: &kube::Client,
    queries: &BTreeSet<Query>,
) -> Vec<futures::stream::BoxStream<'static, ()>> {
    let mut streams = Vec::new();
    for q in queries {
        let (group, version) = match q.api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), q.api_version.clone()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, &q.kind);
        let Ok((ar, caps)) = kube::discovery::pinned_kind(client, &gvk).await else {
            continue;
        };
        let api: Api<DynamicObject> = match (&q.namespace, caps.scope) {
            (Some(ns), Scope::Namespaced) => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        // Changes only: the initial listing is what the first attempt already saw. Probe pods
        // are left out: each re-grade creates and deletes some, which must not trigger the next.
        let config =
            watcher::Config::default().labels(&format!("{}!={}", MANAGED_BY.0, MANAGED_BY.1));
        let stream = watcher(api, config)
            .default_backoff()
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
