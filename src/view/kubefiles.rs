//! The files and programs a kubeconfig context points at — certificate authority, client
//! certificate and key, token file, exec credential plugin — checked before kube uses them.
//! kube would read a FIFO or `/dev/zero` named there without end, and its errors for a missing
//! one repeat the cause three times without naming the plugin's command; here each problem is
//! said once, naming the file or command and the context.

use crate::readfile::{self, ReadError};
use kube::config::Kubeconfig;
use std::path::{Path, PathBuf};

/// Certificates, keys and tokens are small.
const LIMIT: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KubeFileError {
    #[error("the {what} of context `{context}`, {}: {reason}", .reason.place(.path))]
    File {
        what: &'static str,
        path: PathBuf,
        context: String,
        reason: ReadError,
    },
    #[error(
        "the credential plugin `{command}` of context `{context}` is not installed (not found{}){}",
        if .command.contains('/') { "" } else { " on PATH" },
        .hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
    )]
    Plugin {
        command: String,
        context: String,
        hint: Option<String>,
    },
}

/// Check what context `context` of `config` refers to (paths are absolute already: kube makes
/// them so relative to their kubeconfig when it reads it).
pub fn check(config: &Kubeconfig, context: &str) -> Result<(), KubeFileError> {
    let Some(ctx) = config
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
    else {
        return Ok(());
    };
    let file = |what: &'static str, path: &Option<String>| -> Result<(), KubeFileError> {
        let Some(path) = path else { return Ok(()) };
        match readfile::read_bytes(Path::new(path), LIMIT) {
            Ok(_) => Ok(()),
            Err(reason) => Err(KubeFileError::File {
                what,
                path: PathBuf::from(path),
                context: context.to_owned(),
                reason,
            }),
        }
    };
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref());
    if let Some(cluster) = cluster {
        file("certificate-authority file", &cluster.certificate_authority)?;
    }
    let user = ctx.user.as_ref().and_then(|u| {
        config
            .auth_infos
            .iter()
            .find(|a| &a.name == u)
            .and_then(|a| a.auth_info.as_ref())
    });
    let Some(user) = user else { return Ok(()) };
    file("client-certificate file", &user.client_certificate)?;
    file("client-key file", &user.client_key)?;
    file("token file", &user.token_file)?;
    if let Some(exec) = &user.exec
        && let Some(command) = &exec.command
        && !installed(command)
    {
        return Err(KubeFileError::Plugin {
            command: command.clone(),
            context: context.to_owned(),
            hint: exec.install_hint.clone().map(|h| h.trim().to_owned()),
        });
    }
    Ok(())
}

/// Whether `command` names an executable file: as a path when it has a `/`, else on `PATH`.
fn installed(command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runs = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        return runs(Path::new(command));
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| runs(&d.join(command))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(user: &str, ca: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:1'{ca}}}\nusers:\n- name: u\n  user: {user}\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn names_a_missing_plugin_once_with_its_command() {
        let c = config(
            "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin-nope, installHint: 'brew install Azure/kubelogin/kubelogin'}}",
            "",
        );
        let e = check(&c, "ctx").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the credential plugin `kubelogin-nope` of context `ctx` is not installed (not found on PATH); brew install Azure/kubelogin/kubelogin"
        );
        let c = config("{exec: {apiVersion: v1, command: sh}}", "");
        assert!(check(&c, "ctx").is_ok());
    }

    #[test]
    fn names_a_missing_or_special_file() {
        let c = config("{token: t}", ", certificate-authority: /nonexistent/ca.crt");
        let e = check(&c, "ctx").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the certificate-authority file of context `ctx`, /nonexistent/ca.crt: not found"
        );
        let c = config("{tokenFile: /dev/zero}", "");
        let e = check(&c, "ctx").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is a character device, not a regular file"),
            "{e}"
        );
    }
}
