//! Step instructions are Markdown; their fenced code blocks are the single source of truth for
//! the commands a learner copies, `labctl solve` runs and content CI replays. This module finds
//! those blocks and reads the annotations in their info strings (`bash solve profile=aks`).

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// A fenced code block and what its info string says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    pub lang: String,
    /// Run by `labctl solve` / `labctl ci`.
    pub solve: bool,
    /// Undoes the step by hand; shown to learners under "Undo this step", never run by labctl.
    pub cleanup: bool,
    /// `profile=a,b`: shown and run only for these profiles; `None` means every profile.
    pub profiles: Option<Vec<String>>,
    pub code: String,
    /// 1-based line of the opening fence in the Markdown file.
    pub fence_line: u32,
    /// Info-string words labctl did not understand, with their 1-based columns on the fence line.
    pub unknown_words: Vec<(String, u32)>,
    /// Column (1-based) of `profile=` on the fence line, for pointing at unknown profile names.
    pub profile_col: Option<u32>,
}

impl CodeBlock {
    pub fn applies_to(&self, profile: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == profile))
    }
}

/// The words an info string may carry after the language.
pub const INFO_WORDS: &[&str] = &["solve", "cleanup", "profile="];

/// All fenced code blocks of a Markdown document, in order.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let fence_line = line_of(markdown, range.start);
                let fence_text = markdown[range.start..].lines().next().unwrap_or("");
                current = Some(parse_info(&info, fence_line, fence_text));
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = current.take() {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// Read a fence's info string (`bash solve profile=aks`) into a block with no code yet.
pub fn parse_info(info: &str, fence_line: u32, fence_text: &str) -> CodeBlock {
    let mut words = info.split_whitespace();
    let lang = words.next().unwrap_or("").to_owned();
    let mut block = CodeBlock {
        lang,
        solve: false,
        cleanup: false,
        profiles: None,
        code: String::new(),
        fence_line,
        unknown_words: Vec::new(),
        profile_col: None,
    };
    for word in words {
        let col = fence_text.find(word).map(|i| i as u32 + 1).unwrap_or(1);
        match word {
            "solve" => block.solve = true,
            "cleanup" => block.cleanup = true,
            w if w.starts_with("profile=") => {
                block.profile_col = Some(col + "profile=".len() as u32);
                block.profiles = Some(
                    w["profile=".len()..]
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            other => block.unknown_words.push((other.to_owned(), col)),
        }
    }
    block
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> u32 {
    text[..offset.min(text.len())].matches('\n').count() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_annotations_and_lines() {
        let md = "# Step\n\nText.\n\n```bash solve profile=aks\naz aks mesh enable\n```\n\n```text\nout\n```\n\n```bash slove\nx\n```\n";
        let blocks = code_blocks(md);
        assert_eq!(blocks.len(), 3);
        assert!(blocks[0].solve && !blocks[0].cleanup);
        assert_eq!(blocks[0].profiles, Some(vec!["aks".to_string()]));
        assert_eq!(blocks[0].fence_line, 5);
        assert_eq!(blocks[0].code, "az aks mesh enable\n");
        assert!(blocks[0].applies_to("aks") && !blocks[0].applies_to("kind"));
        assert!(blocks[1].applies_to("kind") && !blocks[1].solve);
        assert_eq!(blocks[2].unknown_words, vec![("slove".to_string(), 9)]);
    }
}
