//! Markdown for the terminal: headings, wrapped paragraphs, lists, and code blocks set apart by
//! rules (never indented, so a copied heredoc still ends at its `EOF`). Blocks for other
//! profiles are dropped; `solve` and `cleanup` blocks are labelled as what they are.

use crate::spec::markdown::parse_info;
use console::Style;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

/// How to render: colours on or off, and the width to wrap prose at.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub color: bool,
    pub width: usize,
}

impl Look {
    pub fn plain() -> Self {
        Look {
            color: false,
            width: 80,
        }
    }
    pub fn paint(&self, style: Style, s: &str) -> String {
        if self.color {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_owned()
        }
    }
}

/// Render a step's Markdown for `profile`.
pub fn markdown(md: &str, profile: &str, look: Look) -> String {
    let mut out = String::new();
    let mut inline = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut code: Option<(String, bool)> = None; // (label, shown)
    let mut heading: Option<HeadingLevel> = None;
    let mut in_item = false;
    let mut link: Option<String> = None;
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some(level),
            Event::End(TagEnd::Heading(_)) => {
                let text = std::mem::take(&mut inline);
                let styled = match heading.take() {
                    Some(HeadingLevel::H1) => look.paint(Style::new().bold().underlined(), &text),
                    _ => look.paint(Style::new().bold().cyan(), &text),
                };
                out.push_str(&format!("{styled}\n\n"));
            }
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => {
                let text = std::mem::take(&mut inline);
                let indent = if in_item {
                    "    ".repeat(lists.len())
                } else {
                    String::new()
                };
                let wrapped = wrap(&text, look.width.saturating_sub(indent.len()).max(30));
                if in_item {
                    // The first line follows the bullet already printed.
                    out.push_str(&wrapped.join(&format!("\n{indent}")));
                    out.push('\n');
                } else {
                    out.push_str(&wrapped.join("\n"));
                    out.push_str("\n\n");
                }
            }
            Event::Start(Tag::List(start)) => {
                if !inline.is_empty() {
                    out.push_str(&std::mem::take(&mut inline));
                    out.push('\n');
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                let depth = lists.len().saturating_sub(1);
                let bullet = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    _ => "•".to_owned(),
                };
                out.push_str(&format!("{}  {bullet} ", "    ".repeat(depth)));
                in_item = true;
            }
            Event::End(TagEnd::Item) => {
                if !inline.is_empty() {
                    out.push_str(&wrap(&std::mem::take(&mut inline), look.width).join("\n      "));
                    out.push('\n');
                }
                in_item = false;
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let block = match &kind {
                    CodeBlockKind::Fenced(info) => parse_info(info, 0, info),
                    CodeBlockKind::Indented => parse_info("", 0, ""),
                };
                let shown = block.applies_to(profile);
                let label = if block.solve {
                    format!("run{}", for_profile(&block.profiles, profile))
                } else if block.cleanup {
                    "undo this step".to_owned()
                } else if matches!(block.lang.as_str(), "text" | "console" | "output") {
                    "expected output".to_owned()
                } else {
                    "example".to_owned()
                };
                code = Some((label.clone(), shown));
                if shown {
                    let rule = "─".repeat(look.width.saturating_sub(label.len() + 4).max(4));
                    out.push_str(&look.paint(Style::new().dim(), &format!("── {label} {rule}")));
                    out.push('\n');
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((_, true)) = code.take() {
                    out.push_str(&look.paint(Style::new().dim(), &"─".repeat(look.width)));
                    out.push_str("\n\n");
                }
            }
            Event::Text(text) => match &code {
                Some((label, true)) => {
                    let style = if label.starts_with("run") {
                        Style::new().green()
                    } else {
                        Style::new()
                    };
                    for line in text.lines() {
                        out.push_str(&look.paint(style.clone(), line));
                        out.push('\n');
                    }
                }
                Some((_, false)) => {}
                None => inline.push_str(&text),
            },
            Event::Code(text) => {
                inline.push_str(&look.paint(Style::new().cyan(), &format!("`{text}`")))
            }
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => {}
            Event::SoftBreak => inline.push(' '),
            Event::HardBreak => inline.push('\n'),
            Event::Rule => out.push_str(&format!("{}\n\n", "─".repeat(look.width))),
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take().filter(|u| u.starts_with("http")) {
                    inline.push_str(&look.paint(Style::new().dim(), &format!(" ({url})")));
                }
            }
            _ => {}
        }
    }
    if !inline.is_empty() {
        out.push_str(&inline);
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

fn for_profile(profiles: &Option<Vec<String>>, profile: &str) -> String {
    match profiles {
        Some(_) => format!(" ({profile})"),
        None => String::new(),
    }
}

/// Greedy word wrap that keeps explicit newlines.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let len = console::measure_text_width(&line);
            if len > 0 && len + 1 + console::measure_text_width(word) > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_other_profiles_and_labels_blocks() {
        let md = "# Title\n\nSome *text* with `code`.\n\n```bash solve profile=aks\naz aks mesh enable\n```\n\n```bash solve profile=kind\nistioctl install\n```\n\n- one\n- two\n";
        let out = markdown(
            md,
            "aks",
            Look {
                color: false,
                width: 40,
            },
        );
        assert!(out.contains("az aks mesh enable"));
        assert!(!out.contains("istioctl"));
        assert!(out.contains("── run (aks) "));
        assert!(out.contains("Some text with `code`."));
        assert!(out.contains("  • one\n  • two"));
    }

    #[test]
    fn code_is_never_indented_or_wrapped() {
        let md = "```bash solve\nkubectl apply -f - <<EOF\napiVersion: v1\nEOF\n```\n";
        let out = markdown(
            md,
            "aks",
            Look {
                color: false,
                width: 20,
            },
        );
        assert!(
            out.contains("\nkubectl apply -f - <<EOF\napiVersion: v1\nEOF\n"),
            "{out}"
        );
    }
}
