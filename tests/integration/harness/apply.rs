//! [`apply_yaml`]: puts a multi-document YAML of arbitrary kinds into a cluster — the fixtures of a
//! test — through per-group discovery and `DynamicObject`.
//!
//! Create, or replace when the object exists (no server-side apply: kube 5's SSA needs a newer
//! server than 1.20). Order: `Namespace` documents, then `CustomResourceDefinition`s (waited for
//! until Established), then every other document in file order, each preceded, the first time its
//! namespace is referenced, by creating that namespace if it is missing. A document's `status` is then written through the `/status`
//! subresource (merge patch), since no kubelet or controller will ever write it here.
//! Discovery is `discovery::pinned_kind` per kind (not `run_aggregated`, which needs 1.26+).
//!
//! When an existing object is replaced, its `status` becomes exactly the document's: top-level
//! status fields the document does not name are removed (merge patch with `null`s), so a delta
//! fixture does not inherit stale status fields from the previous version.
//!
//! Pseudo-kind `Delete` (`apiVersion: v1`, the fixture contract of `tests/fixtures/istio-aks`):
//! `{kind: Delete, items: [{apiVersion, kind, namespace, name}, ..]}` deletes each item, in order,
//! with `gracePeriodSeconds: 0` (pods carry `spec.nodeName` and there is no kubelet, so a graceful
//! delete would leave them `Terminating` forever), and waits until it is gone (or replaced by a
//! new object of the same name, i.e. another UID) before the next document. An item that does not
//! exist is an error. A `Delete` document stays in its place among the "every other document"
//! ones and yields no object in the returned list.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use kube::{Client, discovery};
use serde_json::{Value, json};

/// Applies every document of `yaml` (see the module docs); panics with the document that failed.
pub async fn apply_yaml(client: &Client, yaml: &str) -> Vec<DynamicObject> {
    match try_apply_yaml(client, yaml).await {
        Ok(objs) => objs,
        Err(e) => panic!("apply_yaml failed: {e}"),
    }
}

/// Like [`apply_yaml`], returning the first error as a message.
pub async fn try_apply_yaml(client: &Client, yaml: &str) -> Result<Vec<DynamicObject>, String> {
    let docs = parse_documents(yaml)?;
    let kind_of = |d: &Value| d["kind"].as_str().unwrap_or_default().to_string();
    let (mut ordered, rest): (Vec<Value>, Vec<Value>) =
        docs.into_iter().partition(|d| kind_of(d) == "Namespace");
    let (crds, rest): (Vec<Value>, Vec<Value>) = rest
        .into_iter()
        .partition(|d| kind_of(d) == "CustomResourceDefinition");
    let n_early = ordered.len() + crds.len();
    ordered.extend(crds.iter().cloned());
    ordered.extend(rest);

    let mut resolver = Resolver {
        client: client.clone(),
        cache: HashMap::new(),
        namespaces: BTreeSet::new(),
    };
    let mut out = Vec::new();
    for (i, doc) in ordered.into_iter().enumerate() {
        if i == n_early {
            for crd in &crds {
                let name = crd["metadata"]["name"].as_str().unwrap_or_default();
                super::wait_crd_established(client, name).await;
            }
        }
        if is_delete(&doc) {
            delete_items(&mut resolver, &doc).await?;
        } else {
            out.push(apply_one(&mut resolver, doc).await?);
        }
    }
    Ok(out)
}

/// Whether `doc` is the `Delete` pseudo-kind (`apiVersion: v1`, `kind: Delete`).
pub fn is_delete(doc: &Value) -> bool {
    doc["apiVersion"] == "v1" && doc["kind"] == "Delete"
}

/// How long a `Delete` item may take to disappear.
const DELETE_TIMEOUT: Duration = Duration::from_secs(30);

/// Deletes the items of a `Delete` document, one after the other, waiting for each to be gone.
async fn delete_items(resolver: &mut Resolver, doc: &Value) -> Result<(), String> {
    let items = doc["items"]
        .as_array()
        .ok_or("Delete document without an items list")?;
    for item in items {
        let label = format!(
            "Delete {} {} {}/{}",
            item["apiVersion"].as_str().unwrap_or("?"),
            item["kind"].as_str().unwrap_or("?"),
            item["namespace"].as_str().unwrap_or("-"),
            item["name"].as_str().unwrap_or("?"),
        );
        if let Some(unknown) = item
            .as_object()
            .ok_or_else(|| format!("{label}: item is not a mapping"))?
            .keys()
            .find(|k| !["apiVersion", "kind", "namespace", "name"].contains(&k.as_str()))
        {
            return Err(format!("{label}: unknown item field {unknown:?}"));
        }
        let name = item["name"]
            .as_str()
            .ok_or_else(|| format!("{label}: item without name"))?;
        let (ar, caps) = resolver
            .resolve(item)
            .await
            .map_err(|e| format!("{label}: {e}"))?;
        let api = match caps.scope {
            Scope::Cluster => Api::<DynamicObject>::all_with(resolver.client.clone(), &ar),
            Scope::Namespaced => {
                let ns = item["namespace"]
                    .as_str()
                    .ok_or_else(|| format!("{label}: namespaced kind, item without namespace"))?;
                Api::namespaced_with(resolver.client.clone(), ns, &ar)
            }
        };
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        let uid = match api.delete(name, &dp).await {
            Ok(either) => either.left().and_then(|o| o.metadata.uid),
            Err(kube::Error::Api(s)) if s.is_not_found() => {
                return Err(format!(
                    "{label}: not found (the fixtures expect it to exist at this point)"
                ));
            }
            Err(e) => return Err(format!("{label}: {e}")),
        };
        let deadline = std::time::Instant::now() + DELETE_TIMEOUT;
        loop {
            match api.get_opt(name).await {
                Ok(None) => break,
                // Re-created meanwhile (by a controller): the deleted object is gone.
                Ok(Some(o)) if uid.is_some() && o.metadata.uid != uid => break,
                Ok(Some(_)) if std::time::Instant::now() >= deadline => {
                    return Err(format!("{label}: still there after {DELETE_TIMEOUT:?}"));
                }
                Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => return Err(format!("{label}: get: {e}")),
            }
        }
    }
    Ok(())
}

/// Parses a multi-document YAML into JSON values; flattens `kind: List`, drops empty documents.
pub fn parse_documents(yaml: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| format!("YAML does not parse: {e}"))?;
    let mut out = Vec::new();
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(_) if doc["kind"] == "List" => {
                out.extend(doc["items"].as_array().cloned().unwrap_or_default())
            }
            Value::Object(_) => out.push(doc),
            other => return Err(format!("a YAML document is not a mapping: {other}")),
        }
    }
    Ok(out)
}

struct Resolver {
    client: Client,
    cache: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
    /// Namespaces known to exist.
    namespaces: BTreeSet<String>,
}

impl Resolver {
    /// (ApiResource, capabilities) of a document's apiVersion/kind; retried briefly, since a
    /// freshly created CRD takes a moment to show up in discovery.
    async fn resolve(&mut self, doc: &Value) -> Result<(ApiResource, ApiCapabilities), String> {
        let api_version = doc["apiVersion"]
            .as_str()
            .ok_or("document without apiVersion")?;
        let kind = doc["kind"].as_str().ok_or("document without kind")?;
        let key = (api_version.to_string(), kind.to_string());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let mut last = String::new();
        for _ in 0..50 {
            match discovery::pinned_kind(&self.client, &gvk).await {
                Ok(found) => {
                    self.cache.insert(key, found.clone());
                    return Ok(found);
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!(
            "{api_version} {kind} is not served by this API server: {last}"
        ))
    }
}

fn api_for(
    client: &Client,
    ar: &ApiResource,
    caps: &ApiCapabilities,
    doc: &Value,
) -> Api<DynamicObject> {
    match caps.scope {
        Scope::Cluster => Api::all_with(client.clone(), ar),
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
            Api::namespaced_with(client.clone(), ns, ar)
        }
    }
}

async fn apply_one(resolver: &mut Resolver, doc: Value) -> Result<DynamicObject, String> {
    let (ar, caps) = resolver.resolve(&doc).await?;
    let label = format!(
        "{} {}/{}",
        ar.kind,
        doc["metadata"]["namespace"].as_str().unwrap_or("-"),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    );
    if caps.scope == Scope::Namespaced
        && let Some(ns) = doc["metadata"]["namespace"].as_str()
        && resolver.namespaces.insert(ns.to_string())
    {
        ensure_namespaces(&resolver.client, &BTreeSet::from([ns.to_string()])).await?;
    }
    let api = api_for(&resolver.client, &ar, &caps, &doc);
    let status = doc.get("status").cloned().filter(|s| !s.is_null());
    let mut obj: DynamicObject =
        serde_json::from_value(doc).map_err(|e| format!("{label}: not an object: {e}"))?;
    let name = obj
        .metadata
        .name
        .clone()
        .ok_or_else(|| format!("{label}: no metadata.name"))?;
    let pp = PostParams::default();
    let mut replaced = false;
    let mut applied = match api.create(&pp, &obj).await {
        Ok(o) => o,
        Err(kube::Error::Api(s)) if s.is_already_exists() => {
            let existing = api
                .get(&name)
                .await
                .map_err(|e| format!("{label}: get: {e}"))?;
            obj.metadata.resource_version = existing.metadata.resource_version.clone();
            keep_immutable_fields(&ar, &existing, &mut obj);
            replaced = true;
            api.replace(&name, &pp, &obj)
                .await
                .map_err(|e| format!("{label}: replace: {e}"))?
        }
        Err(e) => return Err(format!("{label}: create: {e}")),
    };
    let has_status_subresource = caps
        .subresources
        .iter()
        .any(|(sub, _)| sub.plural == "status");
    if let (Some(mut status), true) = (status, has_status_subresource) {
        if replaced
            && let (Some(new), Some(old)) =
                (status.as_object_mut(), applied.data["status"].as_object())
        {
            for key in old.keys() {
                new.entry(key.clone()).or_insert(Value::Null);
            }
        }
        applied = api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .map_err(|e| format!("{label}: patch status: {e}"))?;
    }
    Ok(applied)
}

/// Fields the server fills in and then refuses to see changed (a replace without them fails).
fn keep_immutable_fields(ar: &ApiResource, existing: &DynamicObject, obj: &mut DynamicObject) {
    if ar.group.is_empty() && ar.kind == "Service" {
        for field in ["clusterIP", "clusterIPs"] {
            if obj.data["spec"].get(field).is_none()
                && let Some(v) = existing.data["spec"].get(field)
                && let Some(spec) = obj.data.get_mut("spec").and_then(Value::as_object_mut)
            {
                spec.insert(field.to_string(), v.clone());
            }
        }
        // A LoadBalancer Service with `externalTrafficPolicy: Local` gets a health-check node
        // port, which a replace that keeps the policy must carry over (the server refuses a
        // change); one that drops the policy must not have it.
        let local = obj.data["spec"]["externalTrafficPolicy"] == "Local";
        if local
            && obj.data["spec"].get("healthCheckNodePort").is_none()
            && let Some(v) = existing.data["spec"].get("healthCheckNodePort")
            && let Some(spec) = obj.data.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.insert("healthCheckNodePort".to_string(), v.clone());
        }
    }
}

/// Creates the namespaces of `names` that don't exist yet.
pub async fn ensure_namespaces(client: &Client, names: &BTreeSet<String>) -> Result<(), String> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    for name in names {
        if api
            .get_opt(name)
            .await
            .map_err(|e| format!("get namespace {name}: {e}"))?
            .is_some()
        {
            continue;
        }
        let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))
            .expect("namespace literal");
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_already_exists() => {}
            Err(e) => return Err(format!("create namespace {name}: {e}")),
        }
    }
    Ok(())
}
