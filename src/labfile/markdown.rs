//! Step instructions are Markdown; their fenced code blocks are the single source of truth for
//! the commands a learner copies, `labctl solve` runs and content CI replays. This module finds
//! those blocks and reads the annotations in their info strings (`bash solve profile=aks`).
//!
//! Prose can belong to profiles too: a section between `<!-- profile: aks -->` and
//! `<!-- /profile -->` (each an HTML comment on a line of its own, outside lists and quotes, so
//! GitHub shows the text and hides the markers) is shown only for those profiles, and the code
//! blocks in it apply only to them ([`profile_sections`], [`for_profile`]).

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::ops::Range;

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
    /// The profiles of the section the block is in, if any (`profiles` is already narrowed).
    pub section: Option<Vec<String>>,
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

/// All fenced code blocks of a Markdown document, in order. A block inside a profile section
/// applies only to the profiles both name.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let sections = profile_sections(markdown).0;
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let fence_line = line_of(markdown, range.start);
                let fence_text = markdown[range.start..].lines().next().unwrap_or("");
                let mut block = parse_info(&info, fence_line, fence_text);
                if let Some(section) = sections.iter().find(|s| s.range.contains(&range.start)) {
                    block.section = Some(section.profiles.clone());
                    block.profiles = Some(match block.profiles.take() {
                        Some(own) => own
                            .into_iter()
                            .filter(|p| section.profiles.contains(p))
                            .collect(),
                        None => section.profiles.clone(),
                    });
                }
                current = Some(block);
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
        section: None,
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

/// A part of a step's Markdown for some profiles only: from its opening marker to the end of
/// its closing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSection {
    pub profiles: Vec<String>,
    pub range: Range<usize>,
    /// 1-based line and column of the first profile name in the opening marker.
    pub line: u32,
    pub col: u32,
}

/// A marker that breaks the rules, with where it is (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerProblem {
    pub line: u32,
    pub col: u32,
    pub message: String,
    pub help: &'static str,
}

const MARKER_HELP: &str = "mark prose for some profiles with `<!-- profile: aks -->` … `<!-- /profile -->`, each on a line of its own, outside lists and quotes, not nested";

enum Marker<'a> {
    Open(&'a str),
    Close,
}

/// `<!-- profile: a,b -->` or `<!-- /profile -->`; anything else is an ordinary comment.
fn marker(html: &str) -> Option<Marker<'_>> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    if inner == "/profile" {
        return Some(Marker::Close);
    }
    inner
        .strip_prefix("profile:")
        .map(|names| Marker::Open(names.trim()))
}

/// The document's profile sections, and the markers that break the rules (unclosed, nested,
/// inside a list, in the middle of a paragraph, naming no profile).
pub fn profile_sections(markdown: &str) -> (Vec<ProfileSection>, Vec<MarkerProblem>) {
    let mut sections = Vec::new();
    let mut problems = Vec::new();
    let mut open: Option<ProfileSection> = None;
    let mut depth = 0usize;
    let at = |offset: usize, message: String| {
        let line = line_of(markdown, offset);
        let start = markdown[..offset].rfind('\n').map_or(0, |i| i + 1);
        MarkerProblem {
            line,
            col: markdown[start..offset].chars().count() as u32 + 1,
            message,
            help: MARKER_HELP,
        }
    };
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        let (html, inline) = match &event {
            Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => continue,
            Event::Start(_) => {
                depth += 1;
                continue;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Html(h) => (h, false),
            Event::InlineHtml(h) => (h, true),
            _ => continue,
        };
        let Some(m) = marker(html) else { continue };
        // A marker's own text, where it starts (an HTML block event may hold several lines).
        let start = range.start + markdown[range.clone()].find("<!--").unwrap_or(0);
        if inline || depth > 0 {
            let place = if inline {
                "in the middle of a paragraph"
            } else {
                "inside a list or quote"
            };
            problems.push(at(start, format!("a profile marker {place}")));
            continue;
        }
        match (m, &mut open) {
            (Marker::Open(names), None) => {
                let name_at = start + markdown[start..].find("profile:").unwrap_or(0) + 8;
                let name_at =
                    name_at + markdown[name_at..].len() - markdown[name_at..].trim_start().len();
                let profiles: Vec<String> = names
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                if profiles.is_empty() {
                    problems.push(at(start, "a profile marker that names no profile".into()));
                }
                let p = at(name_at, String::new());
                open = Some(ProfileSection {
                    profiles,
                    range: start..markdown.len(),
                    line: p.line,
                    col: p.col,
                });
            }
            (Marker::Open(_), Some(outer)) => {
                let msg = format!(
                    "a profile section inside another (opened on line {})",
                    outer.line
                );
                problems.push(at(start, msg));
            }
            (Marker::Close, None) => {
                problems.push(at(
                    start,
                    "`<!-- /profile -->` closes no profile section".into(),
                ));
            }
            (Marker::Close, Some(_)) => {
                let mut s = open.take().unwrap_or_else(|| unreachable!());
                s.range.end = range.end;
                sections.push(s);
            }
        }
    }
    if let Some(s) = open {
        let mut p = at(
            s.range.start,
            "a profile section that is never closed".into(),
        );
        p.help = "close it with `<!-- /profile -->` on a line of its own";
        problems.push(p);
        sections.push(s);
    }
    (sections, problems)
}

/// The document as `profile` sees it: other profiles' sections left out (markers stay, as
/// comments).
pub fn for_profile<'a>(markdown: &'a str, profile: &str) -> Cow<'a, str> {
    let hidden: Vec<Range<usize>> = profile_sections(markdown)
        .0
        .into_iter()
        .filter(|s| !s.profiles.iter().any(|p| p == profile))
        .map(|s| s.range)
        .collect();
    if hidden.is_empty() {
        return Cow::Borrowed(markdown);
    }
    let mut out = String::with_capacity(markdown.len());
    let mut from = 0;
    for r in hidden {
        out.push_str(&markdown[from..r.start]);
        from = r.end;
    }
    out.push_str(&markdown[from..]);
    Cow::Owned(out)
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> u32 {
    text[..offset.min(text.len())].matches('\n').count() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sections_narrow_blocks_and_hide_prose() {
        let md = "Both.\n\n<!-- profile: aks -->\n\nAKS only.\n\n```bash solve\naz x\n```\n\n```bash profile=aks,kind\naz y\n```\n\n<!-- /profile -->\n\n<!-- a comment -->\n\nBoth again.\n";
        let (sections, problems) = profile_sections(md);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(sections.len(), 1);
        assert_eq!((sections[0].line, sections[0].col), (3, 15));
        let blocks = code_blocks(md);
        assert_eq!(blocks[0].profiles, Some(vec!["aks".to_owned()]));
        assert_eq!(blocks[1].profiles, Some(vec!["aks".to_owned()]));
        assert_eq!(blocks[0].section, Some(vec!["aks".to_owned()]));
        let kind = for_profile(md, "kind");
        assert_eq!(kind, "Both.\n\n\n<!-- a comment -->\n\nBoth again.\n");
        assert_eq!(for_profile(md, "aks"), md);
    }

    #[test]
    fn marker_mistakes_are_located() {
        let problems = |md: &str| -> Vec<(u32, u32, String)> {
            profile_sections(md)
                .1
                .into_iter()
                .map(|p| (p.line, p.col, p.message))
                .collect()
        };
        assert_eq!(
            problems(
                "<!-- profile: aks -->\n\n<!-- profile: kind -->\n\n<!-- /profile -->\n<!-- /profile -->\n"
            ),
            [
                (
                    3,
                    1,
                    "a profile section inside another (opened on line 1)".to_owned()
                ),
                (
                    6,
                    1,
                    "`<!-- /profile -->` closes no profile section".to_owned()
                ),
            ]
        );
        assert_eq!(
            problems("- item\n\n  <!-- profile: aks -->\n"),
            [(3, 3, "a profile marker inside a list or quote".to_owned())]
        );
        assert_eq!(
            problems("Text <!-- profile: aks --> more.\n"),
            [(
                1,
                6,
                "a profile marker in the middle of a paragraph".to_owned()
            )]
        );
        assert_eq!(
            problems("x\n\n<!-- profile: -->\n\ny\n"),
            [
                (3, 1, "a profile marker that names no profile".to_owned()),
                (3, 1, "a profile section that is never closed".to_owned()),
            ]
        );
        // Markers in code are code.
        assert!(problems("```markdown\n<!-- /profile -->\n```\n").is_empty());
    }

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
