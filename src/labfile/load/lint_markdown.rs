//! Markdown lints: profile sections, code block annotations, unannotated cluster writes,
//! manifests in blocks and heredocs, and remote manifests without a local stand-in.

use super::lab_file::Loader;
use crate::labfile::diag::did_you_mean;
use crate::labfile::drift;
use crate::labfile::markdown::{self, CodeBlock};
use crate::labfile::source::Source;
use crate::labfile::{manifest, template};

impl Loader {
    /// Profile markers (`<!-- profile: aks -->` … `<!-- /profile -->`): well formed, naming
    /// the lab's profiles, and no code block in a section that none of its profiles shows.
    fn lint_profile_sections(&mut self, src: &Source, blocks: &[CodeBlock]) {
        let md = &*src.text;
        let (sections, problems) = markdown::profile_sections(md);
        for p in problems {
            let d = src.at_pos(p.line, p.col, p.message);
            self.diags.push(d.width(4).help(p.help));
        }
        for section in &sections {
            let line = md.lines().nth(section.line as usize - 1).unwrap_or("");
            let from = line
                .char_indices()
                .nth(section.col as usize - 1)
                .map_or(line.len(), |(i, _)| i);
            for name in &section.profiles {
                if self.profiles.contains(name) {
                    continue;
                }
                let col = line[from..]
                    .find(name.as_str())
                    .map_or(section.col, |i| line[..from + i].chars().count() as u32 + 1);
                let d = src
                    .at_pos(section.line, col, format!("unknown profile `{name}`"))
                    .width(name.chars().count())
                    .suggest(name, self.profiles.iter().map(String::as_str));
                self.diags
                    .push(d.help(format!("profiles: {}", self.profiles.join(", "))));
            }
        }
        for block in blocks {
            if let (Some(section), Some(own)) = (&block.section, &block.profiles)
                && own.is_empty()
            {
                let d = src.at_pos(
                                        block.fence_line,
                    block.profile_col.unwrap_or(1),
                    format!(
                        "this block's profiles are not among its section's ({}): no profile shows it",
                        section.join(", ")
                    ),
                )
                .underline_token();
                self.diags.push(d.help(
                    "a block inside a profile section applies only to the profiles both name; drop its `profile=` or move it out of the section",
                ));
            }
        }
    }

    pub(super) fn lint_markdown(&mut self, src: &Source, blocks: &[CodeBlock], urls: &[String]) {
        self.lint_placeholders(src);
        self.lint_profile_sections(src, blocks);
        for block in blocks {
            for (word, col) in &block.unknown_words {
                let mut d = src
                    .at_pos(
                        block.fence_line,
                        *col,
                        format!("unknown code block annotation `{word}`"),
                    )
                    .width(word.len());
                d = match did_you_mean(word, ["solve", "cleanup", "profile"]) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d,
                };
                self.diags.push(d.help(
                    "annotations after the language: `solve`, `cleanup`, `profile=NAME[,NAME]`",
                ));
            }
            for p in block.profiles.iter().flatten() {
                if !self.profiles.contains(p) {
                    let col = block.profile_col.unwrap_or(1);
                    let mut d = src
                        .at_pos(block.fence_line, col, format!("unknown profile `{p}`"))
                        .underline_token();
                    d = d.suggest(p, self.profiles.iter().map(String::as_str));
                    self.diags.push(d);
                }
            }
            let first_code_line = block.fence_line + 1;
            for w in drift::unannotated_writes(block) {
                let d = src.at_pos(
                                        first_code_line + w.line,
                    w.col + 1,
                    "this command changes the cluster, but neither `labctl solve` nor `labctl ci` runs it",
                )
                .width(w.command.split_whitespace().take(2).map(str::len).sum::<usize>() + 1);
                self.diags.push(d.help(
                    "annotate the block `bash solve` (or `bash cleanup`) so that learners, `labctl solve` and CI run the same commands; keep only reading commands (get, describe, logs, exec) in unannotated blocks",
                ));
            }
            let code = template::substitute(&block.code, &self.sample_values).0;
            if block.lang == "yaml" || block.lang == "yml" {
                if manifest::looks_like_manifest(&code) {
                    let origin = manifest::Origin {
                        file: &src.file,
                        file_text: &src.text,
                        first_line: first_code_line,
                    };
                    manifest::validate(&code, &origin, &mut self.diags);
                }
                continue;
            }
            for heredoc in heredocs(&code) {
                if manifest::looks_like_manifest(&heredoc.body) {
                    let origin = manifest::Origin {
                        file: &src.file,
                        file_text: &src.text,
                        first_line: first_code_line + heredoc.first_line,
                    };
                    manifest::validate(&heredoc.body, &origin, &mut self.diags);
                }
            }
            if block.solve || block.cleanup {
                for (i, line) in block.code.lines().enumerate() {
                    for url in remote_manifests(line) {
                        if !urls.iter().any(|u| u == url) {
                            let col = line.find(url).map(|c| c as u32 + 1).unwrap_or(1);
                            let d = src.at_pos(
                                                                first_code_line + i as u32,
                                col,
                                "remote manifest is not declared under `manifests:` in lab.yaml",
                            )
                            .width(url.len());
                            self.diags.push(d.help("declare it with a local stand-in `file:` so labctl can validate it offline"));
                        }
                    }
                }
            }
        }
    }
}

/// A heredoc inside a shell block: its body and the 0-based line (within the block) it starts on.
pub(super) struct Heredoc {
    body: String,
    first_line: u32,
}

pub(super) fn heredocs(code: &str) -> Vec<Heredoc> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(pos) = lines[i].find("<<") else {
            i += 1;
            continue;
        };
        let spec = lines[i][pos + 2..].trim_start_matches('-').trim_start();
        let delim: String = spec
            .trim_matches(|c| c == '\'' || c == '"')
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if delim.is_empty() {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && lines[end].trim() != delim {
            end += 1;
        }
        out.push(Heredoc {
            body: lines[start..end.min(lines.len())].join("\n"),
            first_line: start as u32,
        });
        i = end + 1;
    }
    out
}

/// URLs given to `kubectl apply|create -f` on one line.
pub(super) fn remote_manifests(line: &str) -> Vec<&str> {
    if !line.contains("kubectl") {
        return Vec::new();
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "-f" || w[0] == "--filename")
        .map(|w| w[1].trim_matches(|c| c == '"' || c == '\''))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_heredocs_and_their_lines() {
        let code = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Namespace\nEOF\necho done\ncat > x.yaml <<'END'\na: 1\nEND\n";
        let docs = heredocs(code);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].body, "apiVersion: v1\nkind: Namespace");
        assert_eq!(docs[0].first_line, 1);
        assert_eq!(docs[1].first_line, 6);
    }

    #[test]
    fn finds_remote_manifests() {
        assert_eq!(
            remote_manifests("kubectl apply -n pets -f https://x/y.yaml"),
            vec!["https://x/y.yaml"]
        );
        assert!(remote_manifests("kubectl apply -f local.yaml").is_empty());
    }
}
