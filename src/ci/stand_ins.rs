//! Offline replays: a lab declares each remote manifest it applies with a local stand-in
//! (`manifests:` in lab.yaml, checked by `labctl validate`). With `--use-stand-ins`, `labctl ci`
//! runs the solve commands with each declared URL replaced by the stand-in's absolute path —
//! the only change ever made to a command before it runs, and it is shown in the output.

use crate::labfile::lab::Lab;

/// `code` with every declared manifest URL replaced by its stand-in file.
pub fn substitute_stand_ins(code: &str, lab: &Lab) -> String {
    let mut out = code.to_owned();
    for m in &lab.manifests {
        // `file` is already resolved against the lab folder by the loader.
        let path = std::path::absolute(&m.file).unwrap_or(m.file.clone());
        out = out.replace(&m.url, &path.display().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labfile::lab::Manifest;

    #[test]
    fn declared_urls_become_local_paths() {
        let lab = Lab {
            name: "x".into(),
            title: "x".into(),
            summary: None,
            duration: None,
            dir: "/labs/x".into(),
            requires: None,
            variables: vec![],
            profiles: vec![],
            manifests: vec![Manifest {
                url: "https://example.com/app.yaml".into(),
                file: "/labs/x/manifests/app.yaml".into(),
            }],
            steps: vec![],
        };
        assert_eq!(
            substitute_stand_ins(
                "kubectl apply -n pets -f https://example.com/app.yaml\nkubectl apply -f https://example.com/other.yaml",
                &lab
            ),
            "kubectl apply -n pets -f /labs/x/manifests/app.yaml\nkubectl apply -f https://example.com/other.yaml"
        );
    }
}
