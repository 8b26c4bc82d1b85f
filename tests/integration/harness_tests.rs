//! Proof that the test harness is real: each test here fails if the piece it covers is faked or
//! broken (the API server, the controller manager, RBAC, the audit log, CRDs, the sidecar-injector
//! webhook, the pod-status driver, kubectl against the 1.20 server).

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};

use crate::harness::{
    ADMIN, ControlPlane, ControlPlaneOptions, NOBODY, PodStatusDriver, SidecarInjector, apply_yaml,
    ensure_namespaces, unique_name, wait_until,
};

const REV: &str = "asm-1-23";
const WAIT: Duration = Duration::from_secs(60);

fn deployment_yaml(ns: &str, name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}, version: v1}}}}
    spec:
      containers:
      - name: {name}
        image: docker.io/istio/examples-bookinfo-{name}-v1:1.20.2
        ports: [{{containerPort: 9080}}]
"
    )
}

async fn namespace(client: &kube::Client, prefix: &str, labels: &[(&str, &str)]) -> String {
    let name = unique_name(prefix);
    let labels: String = labels
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\", "))
        .collect();
    apply_yaml(
        client,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n"
        ),
    )
    .await;
    name
}

/// Pods of `ns` that are not being deleted.
async fn live_pods(client: &kube::Client, ns: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = pods.list(&ListParams::default()).await.expect("list pods");
    list.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

fn container_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    let status = pod.status.clone().unwrap_or_default();
    let containers = status.container_statuses.unwrap_or_default();
    status
        .conditions
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
        && !containers.is_empty()
        && containers.iter().all(|c| c.ready)
        && containers.len() == container_names(pod).len()
}

#[tokio::test]
async fn a_deployment_becomes_pods_through_the_controller_manager() {
    let cp = ControlPlane::shared().await;
    let client = cp.client(ADMIN).await;
    let ns = namespace(&client, "h-deploy", &[]).await;
    apply_yaml(&client, &deployment_yaml(&ns, "reviews", 2)).await;

    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    wait_until("a ReplicaSet for the Deployment", WAIT, || async {
        let n = rs
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items
            .len();
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} ReplicaSets"))
        }
    })
    .await;
    let pods = wait_until("2 pods", WAIT, || async {
        let pods = live_pods(&client, &ns).await;
        if pods.len() == 2 {
            Ok(pods)
        } else {
            Err(format!("{} pods", pods.len()))
        }
    })
    .await;
    for pod in &pods {
        assert!(
            pod.metadata
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with("reviews-")
        );
        assert_eq!(
            container_names(pod),
            ["reviews"],
            "no sidecar without an injection label"
        );
        // No kubelet and no driver here: the pods stay Pending.
        assert_eq!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Pending")
        );
    }
}

#[tokio::test]
async fn the_audit_log_records_a_users_requests_with_their_verbs() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let ns = namespace(&admin, "h-audit", &[]).await;
    let user = cp.fresh_learner();
    let client = cp.client(&user).await;

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    pods.list(&ListParams::default()).await.expect("list pods");
    let cm: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "probe"}, "data": {"k": "v"}}),
    )
    .expect("cm");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create configmap");
    cms.get("probe").await.expect("get configmap");
    cms.delete("probe", &DeleteParams::default())
        .await
        .expect("delete configmap");
    // Someone else's request must not be attributed to `user`.
    Api::<ConfigMap>::namespaced(admin, &ns)
        .list(&ListParams::default())
        .await
        .expect("admin list");

    let events = cp.audit_events(&user).await;
    let seen: Vec<(String, String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e.verb.clone(),
                e.resource.clone(),
                e.namespace.clone(),
                e.name.clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, String, String)> = [
        ("list", "pods", ""),
        ("create", "configmaps", "probe"), // 1.20 names the object of a create too
        ("get", "configmaps", "probe"),
        ("delete", "configmaps", "probe"),
    ]
    .iter()
    .map(|(v, r, n)| (v.to_string(), r.to_string(), ns.clone(), n.to_string()))
    .collect();
    assert_eq!(seen, want, "audit events of {user}");
    assert!(
        events
            .iter()
            .all(|e| e.stage == "ResponseComplete" && e.user == user)
    );
    assert_eq!(
        events.iter().map(|e| e.code).collect::<Vec<_>>(),
        [200, 201, 200, 200]
    );
}

#[tokio::test]
async fn the_webhook_injects_only_into_namespaces_of_an_installed_revision() {
    let cp = ControlPlane::shared().await;
    let client = cp.client(ADMIN).await;
    SidecarInjector::install_revision(&client, REV).await;
    let cases = [
        ("h-inj-rev", vec![("istio.io/rev", REV)], true),
        ("h-inj-none", vec![], false),
        ("h-inj-legacy", vec![("istio-injection", "enabled")], false),
        (
            "h-inj-both",
            vec![("istio-injection", "enabled"), ("istio.io/rev", REV)],
            false,
        ),
        ("h-inj-other", vec![("istio.io/rev", "asm-1-99")], false),
    ];
    for (prefix, labels, injected) in cases {
        let ns = namespace(&client, prefix, &labels).await;
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: {ns}}}\n\
             spec: {{containers: [{{name: web, image: nginx:1.27}}]}}\n"
        );
        apply_yaml(&client, &pod).await;
        let pod = Api::<Pod>::namespaced(client.clone(), &ns)
            .get("web")
            .await
            .expect("get pod");
        let names = container_names(&pod);
        if injected {
            assert_eq!(names, ["web", "istio-proxy"], "{prefix}: {labels:?}");
            let spec = pod.spec.clone().expect("spec");
            let init: Vec<_> = spec
                .init_containers
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.name)
                .collect();
            assert_eq!(init, ["istio-init"]);
            let proxy = &spec.containers[1];
            assert_eq!(
                proxy.image.as_deref(),
                Some("mcr.microsoft.com/oss/istio/proxyv2:1.23.0-distroless")
            );
            assert_eq!(
                proxy.args.as_deref().map(|a| &a[..2]),
                Some(&["proxy".to_string(), "sidecar".to_string()][..])
            );
            let annotations = pod.metadata.annotations.clone().unwrap_or_default();
            let status = annotations
                .get("sidecar.istio.io/status")
                .expect("sidecar.istio.io/status");
            assert!(
                status.contains(&format!("\"revision\":\"{REV}\"")),
                "{status}"
            );
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            assert_eq!(
                labels
                    .get("service.istio.io/canonical-name")
                    .map(String::as_str),
                Some("web")
            );
        } else {
            assert_eq!(names, ["web"], "{prefix}: {labels:?} must not be injected");
            let annotations = pod.metadata.annotations.unwrap_or_default();
            assert!(!annotations.contains_key("sidecar.istio.io/status"));
        }
    }
}

#[tokio::test]
async fn the_pod_status_driver_makes_pods_and_deployments_ready() {
    let cp = ControlPlane::shared().await;
    let client = cp.client(ADMIN).await;
    let ns = namespace(&client, "h-driver", &[]).await;
    let _driver = PodStatusDriver::start(cp, &[&ns]);
    apply_yaml(&client, &deployment_yaml(&ns, "ratings", 2)).await;

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    wait_until("Deployment ratings available 2/2", WAIT, || async {
        let d = deployments
            .get("ratings")
            .await
            .map_err(|e| e.to_string())?;
        let s = d.status.unwrap_or_default();
        let available = s
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Available" && c.status == "True");
        if s.ready_replicas == Some(2) && s.available_replicas == Some(2) && available {
            Ok(())
        } else {
            Err(format!(
                "ready {:?} available {:?}",
                s.ready_replicas, s.available_replicas
            ))
        }
    })
    .await;
    let pods = live_pods(&client, &ns).await;
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert!(is_ready(pod), "{:?}", pod.status);
        let status = pod.status.clone().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.pod_ip.is_some() && status.host_ip.is_some() && status.start_time.is_some());
    }
}

#[tokio::test]
async fn kubectl_label_and_rollout_restart_give_two_of_two_ready_pods() {
    let cp = ControlPlane::shared().await;
    let client = cp.client(ADMIN).await;
    SidecarInjector::install_revision(&client, REV).await;
    let ns = namespace(&client, "h-restart", &[]).await;
    let _driver = PodStatusDriver::start(cp, &[&ns]);
    apply_yaml(&client, &deployment_yaml(&ns, "details", 1)).await;
    let kubectl = cp.kubectl(ADMIN);
    kubectl
        .run(&[
            "rollout",
            "status",
            "deployment/details",
            "-n",
            &ns,
            "--timeout=60s",
        ])
        .await
        .expect_success("rollout status (before)");
    let before = live_pods(&client, &ns).await;
    assert_eq!(
        before.iter().map(container_names).collect::<Vec<_>>(),
        [["details"]]
    );

    kubectl
        .run(&["label", "namespace", &ns, &format!("istio.io/rev={REV}")])
        .await
        .expect_success("label");
    kubectl
        .run(&["rollout", "restart", "deployment/details", "-n", &ns])
        .await
        .expect_success("rollout restart");
    kubectl
        .run(&[
            "rollout",
            "status",
            "deployment/details",
            "-n",
            &ns,
            "--timeout=60s",
        ])
        .await
        .expect_success("rollout status (after)");

    let pods = wait_until("only the restarted pod", WAIT, || async {
        let pods = live_pods(&client, &ns).await;
        if pods.len() == 1 {
            Ok(pods)
        } else {
            Err(format!("{} pods", pods.len()))
        }
    })
    .await;
    assert_eq!(container_names(&pods[0]), ["details", "istio-proxy"]);
    assert!(is_ready(&pods[0]), "{:?}", pods[0].status);
    let table = kubectl
        .run(&["get", "pods", "-n", &ns, "--no-headers"])
        .await;
    let table = table.expect_success("get pods");
    assert!(
        table.contains(" 2/2 ") && table.contains("Running"),
        "{table}"
    );
}

#[tokio::test]
async fn a_user_without_rbac_bindings_gets_403() {
    let cp = ControlPlane::shared().await;
    let pods: Api<Pod> = Api::namespaced(cp.client(NOBODY).await, "default");
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }
    let out = cp.kubectl(NOBODY).run(&["get", "namespaces"]).await;
    assert!(
        !out.success() && out.stderr.contains("Forbidden"),
        "{out:?}"
    );
}

#[tokio::test]
async fn custom_resources_can_be_created_listed_and_validated() {
    let cp = ControlPlane::shared().await;
    let client = cp.client(ADMIN).await;
    let ns = unique_name("h-crd");
    // The namespace is referenced, not declared: apply_yaml creates it.
    let applied = apply_yaml(
        &client,
        &format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
             metadata: {{name: default, namespace: {ns}}}\nspec: {{mtls: {{mode: STRICT}}}}\n\
             status: {{validationMessages: [{{type: {{code: IST0000}}}}]}}\n"
        ),
    )
    .await;
    assert_eq!(applied.len(), 1);
    for version in ["v1", "v1beta1"] {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "security.istio.io",
            version,
            "PeerAuthentication",
        ));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        let list = api
            .list(&ListParams::default())
            .await
            .expect("list PeerAuthentications");
        assert_eq!(list.items.len(), 1, "{version}");
        assert_eq!(list.items[0].data["spec"]["mtls"]["mode"], "STRICT");
        assert_eq!(
            list.items[0].data["status"]["validationMessages"][0]["type"]["code"],
            "IST0000"
        );
    }
    // The schema is enforced like on a real cluster.
    let bad = format!(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {{name: typo, namespace: {ns}}}\nspec: {{mtls: {{mode: STRICTT}}}}\n"
    );
    let err = crate::harness::try_apply_yaml(&client, &bad)
        .await
        .expect_err("STRICTT must be rejected");
    assert!(
        err.contains("Unsupported value") || err.contains("STRICTT"),
        "{err}"
    );
    cp.assert_alive(); // the reflect2 regression killed the API server right here
}

#[tokio::test]
async fn a_private_control_plane_starts_and_dies_with_its_handle() {
    let cp = ControlPlane::start(ControlPlaneOptions {
        controller_manager: false,
        istio_crds: false,
    })
    .await;
    let client = cp.client(ADMIN).await;
    ensure_namespaces(&client, &["private".to_string()].into())
        .await
        .expect("create namespace");
    let url = cp.server_url().to_string();
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in URL");
    let dir = cp.dir().to_path_buf();
    assert!(cp.log_path("kube-apiserver").exists() && cp.audit_log().path().exists());
    drop(cp);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "apiserver still listening on {port}"
    );
    assert!(
        crate::harness::keep_cluster() || !dir.exists(),
        "{} not removed",
        dir.display()
    );
}
