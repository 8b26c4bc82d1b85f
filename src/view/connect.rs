//! Connecting to a cluster the way kubectl does: `--kubeconfig` if given, else the files listed in
//! `KUBECONFIG` (merged, first one wins, missing ones ignored), else `~/.kube/config`, else the
//! in-cluster service account when running in a pod. `--context` picks a context; without it the
//! kubeconfig's `current-context` is used.
//!
//! Credentials never leave this module: errors name files, contexts and line numbers, never a
//! token or key, and nothing here `Debug`-prints a `Kubeconfig` or `Config` (YAML parse errors
//! are reduced to their location, since a parser message may quote the offending value).

use crate::labfile::diag::did_you_mean;
use crate::readfile::{self, ReadError};
use crate::view::kinds::Kinds;
use crate::view::transport::build_client;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name reported as the context when the in-cluster service account is used.
pub const IN_CLUSTER_CONTEXT: &str = "in-cluster";

/// A client for one cluster, and what to call it in messages and reports. One per run: its
/// client holds one connection to the server (HTTP/2, see [`crate::view::transport`]) that
/// every request of the run shares, clones included, and its [`Kinds`] what the server said
/// about where kinds are.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub kinds: Arc<Kinds>,
    /// The kubeconfig context used (or [`IN_CLUSTER_CONTEXT`]).
    pub context_name: String,
    /// The API server URL, e.g. `https://127.0.0.1:6443` (no credentials in it).
    pub server_url: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("context_name", &self.context_name)
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "no kubeconfig found (looked for {}); pass --kubeconfig or set KUBECONFIG",
        show_paths(.searched)
    )]
    NoKubeconfig { searched: Vec<PathBuf> },
    /// Not a regular file, too large, or not text (the reason is said once, with the file).
    #[error("cannot read kubeconfig {}: {reason}", .reason.place(.path))]
    Unreadable {
        path: PathBuf,
        reason: Box<ReadError>,
    },
    #[error("cannot read kubeconfig {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig is not valid YAML, or not a usable kubeconfig. A YAML error is reduced to
    /// its location (`detail`, no source): the parser's message may quote a token.
    #[error("invalid kubeconfig {origin}{}", .detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    InvalidKubeconfig {
        origin: String,
        detail: Option<String>,
        #[source]
        source: Option<KubeconfigError>,
    },
    #[error("kubeconfig {origin} has no context `{context}`{}", context_hint(.suggestion, .available))]
    UnknownContext {
        origin: String,
        context: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    #[error(
        "kubeconfig {origin} has no current context; pick one with --context{}",
        context_hint(&None, .available)
    )]
    NoCurrentContext {
        origin: String,
        available: Vec<String>,
    },
    /// A file or plugin the context needs is missing or unusable (said once, no cause chain).
    #[error("kubeconfig {origin}: {error}")]
    KubeFile {
        origin: String,
        error: Box<crate::view::kubefiles::KubeFileError>,
    },
    #[error("cannot use the in-cluster service account")]
    InCluster {
        #[source]
        source: kube::config::InClusterError,
    },
    #[error("cannot set up a client for context `{context}`")]
    Client {
        context: String,
        #[source]
        source: kube::Error,
    },
}

fn show_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "KUBECONFIG and ~/.kube/config".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn context_hint(suggestion: &Option<String>, available: &[String]) -> String {
    match (suggestion, available.is_empty()) {
        (Some(s), _) => format!(" (did you mean `{s}`? available: {})", available.join(", ")),
        (None, false) => format!(" (available: {})", available.join(", ")),
        (None, true) => " (it defines no contexts)".into(),
    }
}

/// Where a kubeconfig came from, for messages.
struct Loaded {
    config: Kubeconfig,
    origin: String,
}

impl Connection {
    /// Opens a connection as kubectl would (see the module docs). Makes no request: an
    /// unreachable cluster shows up on the first fetch, as a per-query `Unreachable`.
    pub async fn open(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Connection, ConnectError> {
        let loaded = match load_kubeconfig(kubeconfig)? {
            Some(l) => l,
            None => return Self::in_cluster(),
        };
        let available: Vec<String> = loaded
            .config
            .contexts
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let context_name = match context {
            Some(c) => c.to_owned(),
            None => match loaded.config.current_context.as_deref() {
                Some(c) if !c.is_empty() => c.to_owned(),
                _ => {
                    return Err(ConnectError::NoCurrentContext {
                        origin: loaded.origin,
                        available,
                    });
                }
            },
        };
        if !available.contains(&context_name) {
            return Err(ConnectError::UnknownContext {
                origin: loaded.origin,
                suggestion: did_you_mean(&context_name, available.iter().map(String::as_str)),
                context: context_name,
                available,
            });
        }
        crate::view::kubefiles::check(&loaded.config, &context_name).map_err(|error| {
            ConnectError::KubeFile {
                origin: loaded.origin.clone(),
                error: Box::new(error),
            }
        })?;
        let options = KubeConfigOptions {
            context: Some(context_name.clone()),
            ..Default::default()
        };
        let origin = loaded.origin;
        let config = kube::Config::from_custom_kubeconfig(loaded.config, &options)
            .await
            .map_err(|e| invalid(&origin, e))?;
        let server_url = config.cluster_url.to_string();
        let client = build_client(config).map_err(|source| ConnectError::Client {
            context: context_name.clone(),
            source,
        })?;
        Ok(Connection {
            client,
            kinds: Arc::default(),
            context_name,
            server_url: server_url.trim_end_matches('/').to_owned(),
        })
    }

    /// [`fetch_report`](crate::view::live::fetch_report) on this connection, naming its server
    /// in `Unreachable` messages.
    pub async fn fetch(
        &self,
        queries: &std::collections::BTreeSet<crate::view::query::Query>,
        timeout: std::time::Duration,
    ) -> crate::view::live::FetchReport {
        let opts =
            crate::view::live::FetchOptions::new(timeout).server_url(self.server_url.clone());
        crate::view::live::fetch_report(self, queries, &opts).await
    }

    fn in_cluster() -> Result<Connection, ConnectError> {
        let config =
            kube::Config::incluster().map_err(|source| ConnectError::InCluster { source })?;
        let server_url = config.cluster_url.to_string();
        let client = build_client(config).map_err(|source| ConnectError::Client {
            context: IN_CLUSTER_CONTEXT.into(),
            source,
        })?;
        Ok(Connection {
            client,
            kinds: Arc::default(),
            context_name: IN_CLUSTER_CONTEXT.into(),
            server_url: server_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// `Ok(None)`: no kubeconfig anywhere, but we run in a pod (use the service account).
fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<Loaded>, ConnectError> {
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(ConnectError::NoKubeconfig {
                searched: vec![path.to_owned()],
            });
        }
        return read_one(path).map(Some);
    }
    let from_env: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let searched = if from_env.is_empty() {
        std::env::home_dir()
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default()
    } else {
        from_env.clone()
    };
    // Like client-go: files named in KUBECONFIG that do not exist are skipped.
    let existing: Vec<&PathBuf> = searched.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        if from_env.is_empty() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return Ok(None);
        }
        return Err(ConnectError::NoKubeconfig { searched });
    }
    let mut merged: Option<Loaded> = None;
    for path in existing {
        let next = read_one(path)?;
        merged = Some(match merged {
            None => next,
            Some(m) => {
                let origin = format!("{}:{}", m.origin, next.origin);
                let config = m
                    .config
                    .merge(next.config)
                    .map_err(|e| invalid(&origin, e))?;
                Loaded { config, origin }
            }
        });
    }
    Ok(merged)
}

fn read_one(path: &Path) -> Result<Loaded, ConnectError> {
    let origin = path.display().to_string();
    // Type, size and encoding first: kube would read a FIFO or `/dev/zero` without end.
    // (The text is read again by kube, which also resolves the paths inside.)
    readfile::read_text(path, readfile::KUBECONFIG_LIMIT).map_err(|reason| {
        ConnectError::Unreadable {
            path: path.to_owned(),
            reason: Box::new(reason),
        }
    })?;
    match Kubeconfig::read_from(path) {
        Ok(config) => Ok(Loaded { config, origin }),
        Err(KubeconfigError::ReadConfig(source, _)) => Err(ConnectError::Read {
            path: path.to_owned(),
            source,
        }),
        Err(e) => Err(invalid(&origin, e)),
    }
}

/// An invalid-kubeconfig error that cannot leak file content: YAML errors keep only their
/// location (a parser message may quote a token), other kube errors are kept as the source.
fn invalid(origin: &str, e: KubeconfigError) -> ConnectError {
    match e {
        KubeconfigError::Parse(p) => {
            let detail = match p.location() {
                Some(loc) if loc.line() > 0 => {
                    format!("YAML error at line {}, column {}", loc.line(), loc.column())
                }
                _ => "YAML error".into(),
            };
            ConnectError::InvalidKubeconfig {
                origin: origin.to_owned(),
                detail: Some(detail),
                source: None,
            }
        }
        other => ConnectError::InvalidKubeconfig {
            origin: origin.to_owned(),
            detail: None,
            source: Some(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const TWO_CONTEXTS: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443'}\nusers:\n- name: u\n  user: {token: s3cr3t-token-value}\ncontexts:\n- name: aks-labs\n  context: {cluster: c, user: u}\n- name: kind-labs\n  context: {cluster: c, user: u}\ncurrent-context: kind-labs\n";

    #[tokio::test]
    async fn explicit_file_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "kc", TWO_CONTEXTS);
        let c = Connection::open(Some(&p), Some("aks-labs")).await.unwrap();
        assert_eq!(c.context_name, "aks-labs");
        assert_eq!(c.server_url, "https://127.0.0.1:6443");
        let c = Connection::open(Some(&p), None).await.unwrap();
        assert_eq!(c.context_name, "kind-labs");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[tokio::test]
    async fn unknown_context_suggests() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "kc", TWO_CONTEXTS);
        let e = Connection::open(Some(&p), Some("aks-lab"))
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("no context `aks-lab`"), "{msg}");
        assert!(msg.contains("did you mean `aks-labs`?"), "{msg}");
        assert!(msg.contains("aks-labs, kind-labs"), "{msg}");
        let e = Connection::open(Some(&p), Some("prod")).await.unwrap_err();
        assert!(
            e.to_string().ends_with("(available: aks-labs, kind-labs)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn missing_and_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = Connection::open(Some(&missing), None).await.unwrap_err();
        assert!(matches!(e, ConnectError::NoKubeconfig { .. }), "{e}");
        assert!(e.to_string().contains("nope"), "{e}");

        let p = write(
            dir.path(),
            "broken",
            "users:\n- name: u\n  user: {token: s3cr3t-token-value\n",
        );
        let e = Connection::open(Some(&p), None).await.unwrap_err();
        let all = error_chain(&e);
        assert!(matches!(e, ConnectError::InvalidKubeconfig { .. }), "{all}");
        assert!(all.contains("line"), "{all}");
        assert!(!all.contains("s3cr3t"), "{all}");

        let p = write(dir.path(), "wrongtype", "users: s3cr3t-token-value\n");
        let e = Connection::open(Some(&p), None).await.unwrap_err();
        let all = error_chain(&e);
        assert!(!all.contains("s3cr3t"), "{all}");
        assert!(!format!("{e:?}").contains("s3cr3t"), "{e:?}");

        let p = write(
            dir.path(),
            "nocurrent",
            &TWO_CONTEXTS.replace("current-context: kind-labs\n", ""),
        );
        let e = Connection::open(Some(&p), None).await.unwrap_err();
        assert!(matches!(e, ConnectError::NoCurrentContext { .. }), "{e}");
        assert!(e.to_string().contains("aks-labs, kind-labs"), "{e}");
    }

    fn error_chain(e: &dyn std::error::Error) -> String {
        let mut out = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            out.push_str(": ");
            out.push_str(&s.to_string());
            cur = s.source();
        }
        out
    }
}
