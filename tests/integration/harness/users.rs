//! Who can talk to a control plane: static bearer tokens (`--token-auth-file`), kubeconfig files
//! and `kube::Client`s per user.
//!
//! | user | groups | for |
//! |---|---|---|
//! | `admin` | `system:masters` | test set-up (fixtures, CRDs, webhooks) |
//! | `learner` | `system:masters` | the identity labctl grades with; filter the audit log by it |
//! | `learner-1` .. `learner-64` | `system:masters` | one per test ([`ControlPlane::fresh_learner`]) so audit counts of parallel tests don't mix |
//! | `nobody` | — (only `system:authenticated`) | no RBAC binding: 403 for everything |
//! | `system:kube-controller-manager` | `system:masters` | the controller manager |

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use base64::Engine;

use super::ControlPlane;
use super::audit::AuditEvent;
use super::kubectl::Kubectl;

pub const ADMIN: &str = "admin";
pub const LEARNER: &str = "learner";
pub const NOBODY: &str = "nobody";
pub const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";
/// How many `learner-N` users every control plane knows.
pub const LEARNER_POOL: usize = 64;
/// Name of the cluster and of the context in every kubeconfig the harness writes.
pub const CONTEXT: &str = "labctl-test";

/// user -> token for every known user.
pub(super) fn tokens() -> BTreeMap<String, String> {
    let salt = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let mut users: Vec<String> = [ADMIN, LEARNER, NOBODY, CONTROLLER_MANAGER]
        .map(String::from)
        .to_vec();
    users.extend((1..=LEARNER_POOL).map(|n| format!("{LEARNER}-{n}")));
    users
        .into_iter()
        .enumerate()
        .map(|(i, u)| (u, format!("labctl-{i}-{salt}")))
        .collect()
}

/// The `--token-auth-file` CSV: `token,user,uid,"group,..."`.
pub(super) fn token_csv(tokens: &BTreeMap<String, String>) -> String {
    tokens
        .iter()
        .map(|(user, token)| {
            let groups = if user == NOBODY { "" } else { "system:masters" };
            format!("{token},{user},uid-{user},\"{groups}\"\n")
        })
        .collect()
}

impl ControlPlane {
    /// The bearer token of `user` (panics for an unknown user).
    pub fn token(&self, user: &str) -> &str {
        self.tokens.get(user).unwrap_or_else(|| {
            panic!("unknown test user {user:?}; known: admin, learner, learner-N, nobody")
        })
    }

    /// A `learner-N` user no other test of this process has been given (all in `system:masters`).
    pub fn fresh_learner(&self) -> String {
        let n = self.next_learner.fetch_add(1, Ordering::Relaxed);
        assert!(
            n <= LEARNER_POOL,
            "more than {LEARNER_POOL} fresh learners asked for; raise LEARNER_POOL"
        );
        format!("{LEARNER}-{n}")
    }

    /// A copy of `user`'s kubeconfig in `dir` that reaches the API server at `url` (a proxy in
    /// front of it, e.g. [`DelayProxy`](super::DelayProxy)); same CA, so TLS still verifies.
    pub fn kubeconfig_via(&self, user: &str, url: &str, dir: &std::path::Path) -> PathBuf {
        let text = std::fs::read_to_string(self.kubeconfig_path(user)).expect("read kubeconfig");
        let path = dir.join(format!(
            "kubeconfig-{}-via-proxy.yaml",
            user.replace(':', "_")
        ));
        std::fs::write(&path, text.replace(&self.server, url)).expect("write kubeconfig");
        path
    }

    /// The API server's address, for a proxy to forward to.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        self.server
            .trim_start_matches("https://")
            .parse()
            .expect("the server URL is https://<ip>:<port>")
    }

    /// Writes (once) and returns `<dir>/kubeconfig-<user>.yaml`: cluster and context `labctl-test`,
    /// the server's CA as `certificate-authority-data`, the user's token.
    pub fn kubeconfig_path(&self, user: &str) -> PathBuf {
        let path = self
            .dir
            .join(format!("kubeconfig-{}.yaml", user.replace(':', "_")));
        if !path.exists() {
            let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
            let text = format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: {CONTEXT}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    token: {token}\ncontexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: {user}\n    namespace: default\ncurrent-context: {CONTEXT}\npreferences: {{}}\n",
                server = self.server,
                token = self.token(user),
            );
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, text).expect("write kubeconfig");
            std::fs::rename(&tmp, &path).expect("move kubeconfig into place");
        }
        path
    }

    /// A `kube::Client` for `user`, built from its kubeconfig file. Make one per test: a client
    /// belongs to the tokio runtime it was created on.
    pub async fn client(&self, user: &str) -> kube::Client {
        client_from_kubeconfig(&self.kubeconfig_path(user)).await
    }

    /// `kubectl --kubeconfig <kubeconfig of user>`.
    pub fn kubectl(&self, user: &str) -> Kubectl {
        Kubectl::new(self.kubeconfig_path(user)).cache_dir(self.dir.join("kubectl-cache"))
    }

    /// The audit events of `user`, after making sure everything sent so far has been logged (an
    /// `admin` marker request is sent and waited for).
    pub async fn audit_events(&self, user: &str) -> Vec<AuditEvent> {
        let marker = super::unique_name("labctl-audit-marker");
        let req = http::Request::get(format!("/api/v1/namespaces/{marker}"))
            .body(Vec::new())
            .expect("marker request");
        let _ = self.client(ADMIN).await.request_text(req).await; // 404, but audited
        let events = self
            .audit
            .wait_for(
                "the audit marker request",
                std::time::Duration::from_secs(10),
                |evs| evs.iter().any(|e| e.name == marker),
            )
            .await;
        events.into_iter().filter(|e| e.user == user).collect()
    }
}

/// A `kube::Client` from a kubeconfig file (its current context).
pub async fn client_from_kubeconfig(path: &std::path::Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {} unusable: {e}", path.display()));
    kube::Client::try_from(config).expect("build kube::Client")
}
