//! How a [`ControlPlane`] comes up: PKI, token file and audit policy written to its scratch
//! directory; etcd on a free port; kube-apiserver (token auth, RBAC, audit log, service-account
//! keys, no insecure port, `ServiceAccount` admission off, no endpoint reconciler since it
//! advertises 127.0.0.1); then, optionally, kube-controller-manager (`*,-serviceaccount-token`,
//! no leader election, no serving ports, so parallel test processes never collide) and the Istio
//! CRDs. Each step waits until the component works, and fails with the tail of its log.
//! Errors are `(retryable, message)`: a port taken between picking and binding is retried.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use super::audit::{AUDIT_POLICY, AuditLog};
use super::bins::KubeBins;
use super::pki::{Ca, SigningKey};
use super::process::{Processes, free_port, log_tail, new_scratch_dir};
use super::{ControlPlane, ControlPlaneOptions, users};

pub(super) async fn start_once(
    bins: &KubeBins,
    opts: &ControlPlaneOptions,
) -> Result<ControlPlane, (bool, String)> {
    let dir = new_scratch_dir();
    let mut procs = Processes::new(dir.clone());
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("create scratch subdir");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p.display().to_string()
    };

    let ca = Ca::new("labctl-test-ca");
    let serving = ca.server_cert(
        "kube-apiserver",
        &[
            "127.0.0.1",
            "localhost",
            "10.96.0.1",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
    );
    let sa = SigningKey::new();
    let ca_file = write("pki/ca.crt", &ca.cert_pem);
    let cert_file = write("pki/apiserver.crt", &serving.cert_pem);
    let key_file = write("pki/apiserver.key", &serving.key_pem);
    let sa_key = write("pki/sa.key", &sa.private_pem);
    let sa_pub = write("pki/sa.pub", &sa.public_pem);
    let tokens = users::tokens();
    let token_file = write("tokens.csv", &users::token_csv(&tokens));
    let policy = write("audit-policy.yaml", AUDIT_POLICY);
    let audit_path = dir.join("audit.log");

    let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let d = |p: &str| dir.join(p).display().to_string();
    let etcd_args = [
        "--name=labctl".to_string(),
        format!("--data-dir={}", d("etcd-data")),
        format!("--listen-client-urls={etcd_url}"),
        format!("--advertise-client-urls={etcd_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=labctl={peer_url}"),
        "--log-level=warn".to_string(),
    ];
    spawn(&mut procs, "etcd", &bins.etcd, &etcd_args)?;
    wait_tcp(&mut procs, "etcd", etcd_port).await?;

    let apiserver_args = [
        format!("--etcd-servers={etcd_url}"),
        "--bind-address=127.0.0.1".to_string(),
        "--advertise-address=127.0.0.1".to_string(),
        format!("--secure-port={api_port}"),
        "--insecure-port=0".to_string(),
        format!("--cert-dir={}", d("pki")),
        format!("--tls-cert-file={cert_file}"),
        format!("--tls-private-key-file={key_file}"),
        format!("--token-auth-file={token_file}"),
        "--authorization-mode=RBAC".to_string(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
        format!("--service-account-key-file={sa_pub}"),
        format!("--service-account-signing-key-file={sa_key}"),
        // Many fixture states share one server, each with several Services: leave room.
        "--service-cluster-ip-range=10.96.0.0/16".to_string(),
        "--endpoint-reconciler-type=none".to_string(),
        "--disable-admission-plugins=ServiceAccount".to_string(),
        "--allow-privileged=true".to_string(),
        format!("--audit-log-path={}", audit_path.display()),
        format!("--audit-policy-file={policy}"),
        "--profiling=false".to_string(),
        "--v=1".to_string(),
    ];
    spawn(
        &mut procs,
        "kube-apiserver",
        &bins.apiserver,
        &apiserver_args,
    )?;

    let cp = ControlPlane {
        server: format!("https://127.0.0.1:{api_port}"),
        ca_pem: ca.cert_pem.clone(),
        tokens,
        dir: dir.clone(),
        audit: AuditLog::new(audit_path),
        next_learner: AtomicUsize::new(1),
        procs: Mutex::new(procs),
    };
    cp.wait_ready().await?;

    if opts.controller_manager {
        let kubeconfig = cp.kubeconfig_path(users::CONTROLLER_MANAGER);
        let kcm_args = [
            format!("--kubeconfig={}", kubeconfig.display()),
            "--leader-elect=false".to_string(),
            "--controllers=*,-serviceaccount-token".to_string(),
            "--use-service-account-credentials=false".to_string(),
            "--port=0".to_string(),
            "--secure-port=0".to_string(),
            format!("--root-ca-file={ca_file}"),
            "--concurrent-deployment-syncs=10".to_string(),
            "--concurrent-replicaset-syncs=10".to_string(),
            "--v=1".to_string(),
        ];
        {
            let mut procs = cp.procs.lock().expect("processes lock");
            spawn(
                &mut procs,
                "kube-controller-manager",
                &bins.controller_manager,
                &kcm_args,
            )?;
        }
        cp.wait_controller_manager().await?;
    }
    if opts.istio_crds {
        super::install_crds(&cp.client(users::ADMIN).await).await;
    }
    Ok(cp)
}

fn spawn(
    procs: &mut Processes,
    name: &str,
    program: &std::path::Path,
    args: &[String],
) -> Result<(), (bool, String)> {
    procs
        .spawn(name, program, args)
        .map_err(|e| (false, format!("spawn {}: {e}", program.display())))
}

async fn wait_tcp(procs: &mut Processes, name: &str, port: u16) -> Result<(), (bool, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(msg) = procs.exited() {
            return Err((msg.contains("address already in use"), msg));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            let tail = log_tail(&procs.log_path(name), 30);
            return Err((
                false,
                format!("{name} did not listen on {port} in 30s:\n{tail}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl ControlPlane {
    async fn wait_ready(&self) -> Result<(), (bool, String)> {
        let client = self.client(users::ADMIN).await;
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut last;
        loop {
            if let Some(msg) = self.procs.lock().expect("processes lock").exited() {
                return Err((msg.contains("address already in use"), msg));
            }
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("request");
            match client.request_text(req).await {
                Ok(body) if body.trim() == "ok" => return Ok(()),
                Ok(body) => last = body,
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                let tail = log_tail(&self.log_path("kube-apiserver"), 30);
                return Err((
                    false,
                    format!("/readyz not ok after 90s ({last}); log tail:\n{tail}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The controller manager is working once it has created `default/default` (ServiceAccount).
    async fn wait_controller_manager(&self) -> Result<(), (bool, String)> {
        use k8s_openapi::api::core::v1::ServiceAccount;
        let sas: kube::Api<ServiceAccount> =
            kube::Api::namespaced(self.client(users::ADMIN).await, "default");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(msg) = self.procs.lock().expect("processes lock").exited() {
                return Err((false, msg));
            }
            if let Ok(Some(_)) = sas.get_opt("default").await {
                return Ok(());
            }
            if Instant::now() > deadline {
                let tail = log_tail(&self.log_path("kube-controller-manager"), 30);
                return Err((
                    false,
                    format!("controller manager not working after 90s:\n{tail}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
