//! Drift between what learners read and what `labctl solve` / `labctl ci` run. Solve commands
//! *are* the annotated code blocks of the step's Markdown, so they cannot differ from what is
//! shown; the drift that remains possible is a block that changes the cluster without the
//! `solve` (or `cleanup`) annotation: a learner copies it, CI never runs it, and CI goes on
//! proving a lab that learners cannot follow. This lint finds those blocks.

use crate::labfile::markdown::CodeBlock;

/// Languages whose blocks are shell commands a learner runs.
const SHELL: &[&str] = &["bash", "sh", "shell", "console", "zsh"];

/// `kubectl` verbs that only read (or open a session the learner drives), plus ones that
/// never change the cluster. Anything else (apply, create, delete, label, patch, rollout
/// restart, …) writes.
const KUBECTL_READS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "explain",
    "api-resources",
    "api-versions",
    "cluster-info",
    "config",
    "version",
    "top",
    "exec",
    "port-forward",
    "wait",
    "auth",
    "events",
    "diff",
    "completion",
    "plugin",
    "options",
];

/// `kubectl rollout` subcommands that only read.
const ROLLOUT_READS: &[&str] = &["status", "history"];

/// A command in a shell block that changes the cluster: (0-based line in the block, 0-based
/// column of the command word, the command as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub line: u32,
    pub col: u32,
    pub command: String,
}

/// Writes in a block that neither `solve` nor `cleanup` runs.
pub fn unannotated_writes(block: &CodeBlock) -> Vec<Write> {
    // A misspelled annotation (`bash slove`) is reported as such; one error per mistake.
    if block.solve
        || block.cleanup
        || !block.unknown_words.is_empty()
        || !SHELL.contains(&block.lang.as_str())
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut in_heredoc: Option<String> = None;
    for (i, line) in block.code.lines().enumerate() {
        if let Some(delim) = &in_heredoc {
            if line.trim() == delim {
                in_heredoc = None;
            }
            continue;
        }
        in_heredoc = heredoc_delimiter(line);
        for (col, command) in commands(line) {
            if writes(&command) {
                out.push(Write {
                    line: i as u32,
                    col: col as u32,
                    command: command.join(" "),
                });
            }
        }
    }
    out
}

/// The simple commands of a shell line (split on `|`, `;`, `&&`, `||`, `$(`), each with the
/// column of its first word. A `# comment` ends the line; `$ ` prompts are dropped.
fn commands(line: &str) -> Vec<(usize, Vec<String>)> {
    let code = match line.find(" #") {
        Some(p) => &line[..p],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i <= bytes.len() {
        let sep = if i == bytes.len() {
            Some(0)
        } else {
            match bytes[i] {
                b'|' | b';' | b'&' | b'(' | b'`' => Some(1),
                _ => None,
            }
        };
        if let Some(len) = sep {
            let part = &code[start..i];
            let words: Vec<String> = part
                .split_whitespace()
                .skip_while(|w| *w == "$" || w.contains('=') && !w.starts_with('-'))
                .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_owned())
                .collect();
            if let Some(first) = words.first() {
                let col = start + part.find(first.as_str()).unwrap_or(0);
                out.push((col, words));
            }
            start = i + len.max(1);
        }
        i += 1;
    }
    out
}

fn heredoc_delimiter(line: &str) -> Option<String> {
    let pos = line.find("<<")?;
    let spec = line[pos + 2..].trim_start_matches('-').trim_start();
    let delim: String = spec
        .trim_matches(|c| c == '\'' || c == '"')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!delim.is_empty()).then_some(delim)
}

/// Does this command change the cluster (or the cloud resources around it)?
fn writes(words: &[String]) -> bool {
    let program = words[0].rsplit('/').next().unwrap_or("");
    let args: Vec<&str> = words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-'))
        .collect();
    match program {
        "kubectl" | "oc" => match args.first() {
            None => false,
            Some(&"rollout") => !args.get(1).is_some_and(|s| ROLLOUT_READS.contains(s)),
            Some(verb) => !KUBECTL_READS.contains(verb),
        },
        "helm" => matches!(
            args.first(),
            Some(&("install" | "upgrade" | "uninstall" | "delete" | "rollback"))
        ),
        "istioctl" => matches!(
            args.first(),
            Some(&("install" | "uninstall" | "upgrade" | "apply" | "tag"))
        ),
        // `az aks mesh enable`, `az aks create`, `az group delete`, …: anything that is not a
        // read (show, list, get-*, get-revisions, …).
        "az" => args.iter().skip(1).any(|a| {
            matches!(
                *a,
                "create"
                    | "delete"
                    | "update"
                    | "enable"
                    | "disable"
                    | "upgrade"
                    | "start"
                    | "stop"
            ) || a.starts_with("enable-")
                || a.starts_with("disable-")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labfile::markdown::code_blocks;

    fn writes_in(md: &str) -> Vec<String> {
        code_blocks(md)
            .iter()
            .flat_map(unannotated_writes)
            .map(|w| format!("{}:{} {}", w.line, w.col, w.command))
            .collect()
    }

    #[test]
    fn reads_are_fine_in_plain_blocks() {
        let md = "```bash\nkubectl get pods -n pets -w\nkubectl rollout status deploy/x -n pets\n\
POD=\"$(kubectl get pod -l app=curl -o name)\"\nkubectl exec -n a \"$POD\" -- curl -sS http://x\n\
az aks show --name c --query x -o tsv\naz aks mesh get-revisions --location westeurope\n```\n";
        assert_eq!(writes_in(md), Vec::<String>::new());
    }

    #[test]
    fn writes_in_plain_blocks_are_found_with_their_position() {
        let md = "```bash\nkubectl get ns\nkubectl label namespace pets istio.io/rev=asm-1-23\n  \
kubectl rollout restart deploy -n pets\naz aks mesh enable --revision asm-1-23\n\
kubectl get ns && kubectl delete ns pets\n```\n";
        assert_eq!(
            writes_in(md),
            vec![
                "1:0 kubectl label namespace pets istio.io/rev=asm-1-23",
                "2:2 kubectl rollout restart deploy -n pets",
                "3:0 az aks mesh enable --revision asm-1-23",
                "4:18 kubectl delete ns pets",
            ]
        );
    }

    #[test]
    fn annotated_blocks_heredoc_bodies_comments_and_other_languages_are_ignored() {
        let md = "```bash solve\nkubectl apply -f x.yaml\n```\n\n```bash cleanup\nkubectl delete ns x\n```\n\n\
```yaml\nkind: Namespace\n```\n\n```bash\ncat <<EOF\nkubectl delete ns nope\nEOF\n# kubectl delete ns x\nkubectl get ns # then kubectl delete\n```\n";
        assert_eq!(writes_in(md), Vec::<String>::new());
    }

    #[test]
    fn env_prefixes_and_prompts_do_not_hide_the_command() {
        let md = "```console\n$ KUBECONFIG=x kubectl apply -f y.yaml\n```\n";
        assert_eq!(writes_in(md), vec!["0:15 kubectl apply -f y.yaml"]);
    }
}
