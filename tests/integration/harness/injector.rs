//! [`SidecarInjector`]: a stand-in for istiod's sidecar injector — a mutating admission webhook
//! served by the test process itself over HTTPS, registered the way istiod registers a revision.
//!
//! The server (one per test process, on the harness runtime, TLS from a CA made at run time) is
//! reached by the API server at `https://127.0.0.1:<port>/inject/<revision>`.
//! [`SidecarInjector::install_revision`] creates `MutatingWebhookConfiguration`
//! `istio-sidecar-injector-<rev>`: pods CREATE in namespaces labelled `istio.io/rev=<rev>` and not
//! labelled `istio-injection`, `failurePolicy: Fail`, `sideEffects: None`. So, as on AKS,
//! `istio-injection=enabled` or a revision that is not installed injects nothing. What it adds to
//! a pod is in [`injection_patch`](super::injection_patch).

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::api::{Api, DeleteParams, PostParams};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use serde_json::json;

use super::pki::Ca;

/// The process-wide webhook server.
pub struct SidecarInjector {
    port: u16,
    ca_pem: String,
}

impl SidecarInjector {
    /// The server, started on first use.
    pub fn get() -> &'static SidecarInjector {
        static INJECTOR: OnceLock<SidecarInjector> = OnceLock::new();
        INJECTOR.get_or_init(start_server)
    }

    /// `https://127.0.0.1:<port>/inject/<rev>`
    pub fn url(&self, rev: &str) -> String {
        format!("https://127.0.0.1:{}/inject/{rev}", self.port)
    }

    /// PEM of the CA the webhook's serving certificate chains to (the `caBundle`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Registers revision `rev` in the cluster of `client` (create or replace), like istiod does.
    pub async fn install_revision(client: &kube::Client, rev: &str) {
        let injector = SidecarInjector::get();
        let name = format!("istio-sidecar-injector-{rev}");
        let mut mwc: MutatingWebhookConfiguration = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "istio.io/rev": rev, "app": "sidecar-injector" } },
            "webhooks": [{
                "name": "rev.namespace.sidecar-injector.istio.io",
                "clientConfig": {
                    "url": injector.url(rev),
                    "caBundle": base64_std(injector.ca_pem.as_bytes()),
                },
                "rules": [{ "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                            "resources": ["pods"], "scope": "*" }],
                "namespaceSelector": { "matchExpressions": [
                    { "key": "istio.io/rev", "operator": "In", "values": [rev] },
                    { "key": "istio-injection", "operator": "DoesNotExist" },
                ]},
                "objectSelector": { "matchExpressions": [
                    { "key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"] },
                ]},
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "timeoutSeconds": 10,
            }],
        }))
        .expect("MutatingWebhookConfiguration literal");
        let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        match api.create(&PostParams::default(), &mwc).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                let existing = api.get(&name).await.expect("get existing injector webhook");
                mwc.metadata.resource_version = existing.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &mwc)
                    .await
                    .expect("replace injector webhook");
            }
            Err(e) => panic!("create MutatingWebhookConfiguration {name}: {e}"),
        }
    }

    /// Deletes the revision's webhook configuration (no error if absent).
    pub async fn uninstall_revision(client: &kube::Client, rev: &str) {
        let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        let name = format!("istio-sidecar-injector-{rev}");
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => panic!("delete MutatingWebhookConfiguration {name}: {e}"),
        }
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn start_server() -> SidecarInjector {
    let ca = Ca::new("labctl-test-webhook-ca");
    let leaf = ca.server_cert("labctl-sidecar-injector", &["127.0.0.1", "localhost"]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(leaf.cert_der)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.into()),
        )
        .expect("webhook serving certificate");
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind webhook port");
    listener
        .set_nonblocking(true)
        .expect("nonblocking webhook listener");
    let port = listener.local_addr().expect("webhook address").port();
    super::harness_runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio webhook listener");
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(tls);
                let service = hyper::service::service_fn(handle);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    SidecarInjector {
        port,
        ca_pem: ca.cert_pem,
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |code: StatusCode, body: Vec<u8>| {
        Ok(Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("response"))
    };
    let Some(rev) = req
        .uri()
        .path()
        .strip_prefix("/inject/")
        .map(str::to_string)
    else {
        return reply(StatusCode::NOT_FOUND, b"{}".to_vec());
    };
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string().into_bytes()),
    };
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("bad AdmissionReview: {e}").into_bytes(),
            );
        }
    };
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(r) => r,
        Err(e) => return reply(StatusCode::BAD_REQUEST, format!("{e}").into_bytes()),
    };
    let mut response = AdmissionResponse::from(&request);
    if let Some(pod) = &request.object
        && let Some(ops) = super::injection_patch(pod, request.namespace.as_deref(), &rev)
    {
        let patch: json_patch::Patch = serde_json::from_value(ops).expect("JSONPatch literal");
        response = response.with_patch(patch).expect("serialize JSONPatch");
    }
    let out = serde_json::to_vec(&response.into_review()).expect("serialize AdmissionReview");
    reply(StatusCode::OK, out)
}
