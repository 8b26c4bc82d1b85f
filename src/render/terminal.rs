//! Markdown for the terminal: headings, paragraphs and list items wrapped to the width, tables
//! as tables ([`table`](super::table)), and code blocks set apart by rules (never indented or
//! wrapped, so a copied heredoc still ends at its `EOF`). Sections and blocks for other
//! profiles are dropped; `solve` and `cleanup` blocks are labelled as what they are.

use super::table::Table;
use crate::labfile::markdown::{for_profile, parse_info};
use crate::render::text::plain_text;
use console::Style;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;

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

/// The width of the terminal on stdout, `None` when stdout is not a terminal.
pub fn terminal_width() -> Option<usize> {
    console::Term::stdout()
        .size_checked()
        .map(|(_, w)| w as usize)
}

/// Render a step's Markdown for `profile`: other profiles' sections and code blocks left out,
/// prose wrapped at `look.width`, tables as tables, and nothing from the lab text that the
/// terminal would act on (escape sequences and other control characters are dropped).
pub fn markdown(md: &str, profile: &str, look: Look) -> String {
    let md = for_profile(md, profile);
    let mut r = Renderer {
        look,
        profile,
        out: String::new(),
        inline: String::new(),
        lists: Vec::new(),
        after_bullet: false,
        code: None,
        heading: None,
        link: None,
        table: None,
    };
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        r.event(event);
    }
    r.flush(false);
    r.out.trim_end().to_owned() + "\n"
}

/// A list being rendered: the next number (ordered lists) and the column its items' text
/// starts at.
struct List {
    next: Option<u64>,
    text_col: usize,
}

struct Renderer<'a> {
    look: Look,
    profile: &'a str,
    out: String,
    /// The paragraph, heading, list item or table cell being read.
    inline: String,
    lists: Vec<List>,
    /// A bullet was printed and the item's first line goes right after it.
    after_bullet: bool,
    code: Option<(String, bool)>, // (label, shown)
    heading: Option<HeadingLevel>,
    link: Option<String>,
    table: Option<Table>,
}

impl Renderer<'_> {
    fn indent(&self) -> usize {
        self.lists.last().map_or(0, |l| l.text_col)
    }

    /// Print the pending inline text wrapped at the width left after the list indent;
    /// `paragraph`: a paragraph ended (a blank line follows, outside lists).
    fn flush(&mut self, paragraph: bool) {
        let text = std::mem::take(&mut self.inline);
        if !text.trim().is_empty() {
            let indent = self.indent();
            let width = self.look.width.saturating_sub(indent).max(20);
            for (i, line) in wrap(text.trim(), width).iter().enumerate() {
                if i > 0 || !self.after_bullet {
                    self.out.push_str(&" ".repeat(indent));
                }
                self.out.push_str(line);
                self.out.push('\n');
            }
            self.after_bullet = false;
        }
        if paragraph && self.lists.is_empty() {
            self.out.push('\n');
        }
    }

    fn event(&mut self, event: Event) {
        let look = self.look;
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush(false);
                self.heading = Some(level);
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = std::mem::take(&mut self.inline);
                let style = match self.heading.take() {
                    Some(HeadingLevel::H1) => Style::new().bold().underlined(),
                    _ => Style::new().bold().cyan(),
                };
                for line in wrap(text.trim(), look.width) {
                    self.out.push_str(&look.paint(style.clone(), &line));
                    self.out.push('\n');
                }
                self.out.push('\n');
            }
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => self.flush(true),
            Event::Start(Tag::List(start)) => {
                self.flush(false);
                if self.after_bullet {
                    self.out.push('\n');
                    self.after_bullet = false;
                }
                let text_col = self.indent();
                self.lists.push(List {
                    next: start,
                    text_col,
                });
            }
            Event::End(TagEnd::List(_)) => {
                self.flush(false);
                self.lists.pop();
                if self.lists.is_empty() {
                    self.out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                self.flush(false);
                let Some(list) = self.lists.last_mut() else {
                    return;
                };
                let bullet = match &mut list.next {
                    Some(n) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    None => "•".to_owned(),
                };
                // Items sit two columns in from their parent's text; their text after the bullet.
                let parent = self
                    .lists
                    .len()
                    .checked_sub(2)
                    .map_or(0, |i| self.lists[i].text_col);
                let prefix = format!("{}  {bullet} ", " ".repeat(parent));
                if let Some(list) = self.lists.last_mut() {
                    list.text_col = console::measure_text_width(&prefix);
                }
                self.out.push_str(&prefix);
                self.after_bullet = true;
            }
            Event::End(TagEnd::Item) => {
                self.flush(false);
                if self.after_bullet {
                    self.out.push('\n');
                    self.after_bullet = false;
                }
            }
            Event::Start(Tag::Table(_)) => {
                self.flush(false);
                self.table = Some(Table::default());
            }
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => {
                if let Some(t) = &mut self.table {
                    t.start_row();
                }
            }
            Event::End(TagEnd::TableCell) => {
                let text = std::mem::take(&mut self.inline);
                if let Some(t) = &mut self.table {
                    t.push_cell(text.trim().to_owned());
                }
            }
            Event::End(TagEnd::Table) => {
                if let Some(t) = self.table.take() {
                    self.out.push_str(&t.render(look));
                    self.out.push('\n');
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                self.flush(false);
                if self.after_bullet {
                    self.out.push('\n');
                    self.after_bullet = false;
                }
                let block = match &kind {
                    CodeBlockKind::Fenced(info) => parse_info(info, 0, info),
                    CodeBlockKind::Indented => parse_info("", 0, ""),
                };
                let shown = block.applies_to(self.profile);
                let label = if block.solve {
                    format!("run{}", for_profile_label(&block.profiles, self.profile))
                } else if block.cleanup {
                    "undo this step".to_owned()
                } else if matches!(block.lang.as_str(), "text" | "console" | "output") {
                    "expected output".to_owned()
                } else {
                    "example".to_owned()
                };
                if shown {
                    let rule = "─".repeat(look.width.saturating_sub(label.len() + 4).max(4));
                    self.out
                        .push_str(&look.paint(Style::new().dim(), &format!("── {label} {rule}")));
                    self.out.push('\n');
                }
                self.code = Some((label, shown));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((_, true)) = self.code.take() {
                    self.out
                        .push_str(&look.paint(Style::new().dim(), &"─".repeat(look.width)));
                    self.out.push_str("\n\n");
                }
            }
            Event::Text(text) => match &self.code {
                // Code as written (never wrapped or indented: it is copied), minus escapes.
                Some((label, true)) => {
                    let style = if label.starts_with("run") {
                        Style::new().green()
                    } else {
                        Style::new()
                    };
                    for line in text.lines() {
                        self.out
                            .push_str(&look.paint(style.clone(), &code_text(line)));
                        self.out.push('\n');
                    }
                }
                Some((_, false)) => {}
                None => self.inline.push_str(&plain_text(&text)),
            },
            Event::Code(text) => {
                let code = format!("`{}`", plain_text(&text));
                self.inline
                    .push_str(&look.paint(Style::new().cyan(), &code));
            }
            Event::SoftBreak => self.inline.push(' '),
            Event::HardBreak => self.inline.push('\n'),
            Event::Rule => {
                self.flush(true);
                self.out
                    .push_str(&format!("{}\n\n", "─".repeat(look.width)));
            }
            Event::Start(Tag::Link { dest_url, .. }) => self.link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = self.link.take().filter(|u| u.starts_with("http")) {
                    let url = format!(" ({})", plain_text(&url));
                    self.inline.push_str(&look.paint(Style::new().dim(), &url));
                }
            }
            _ => {}
        }
    }
}

/// A line of a code block for the terminal: escape sequences and control characters dropped,
/// tabs kept (a `<<-EOF` heredoc needs them).
fn code_text(line: &str) -> Cow<'_, str> {
    if !line.chars().any(|c| c != '\t' && c.is_control()) {
        return Cow::Borrowed(line);
    }
    console::strip_ansi_codes(line)
        .chars()
        .filter(|c| *c == '\t' || !c.is_control())
        .collect::<String>()
        .into()
}

fn for_profile_label(profiles: &Option<Vec<String>>, profile: &str) -> String {
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

    const STEP: &str = "# Expose the store through the external ingress gateway of the mesh, on either profile

Three pieces must line up:

| workload | kind | role |
|---|---|---|
| `store-front` | Deployment | the web UI customers see (Service port 80 → container port 8080), behind the gateway |
| `rabbitmq` | StatefulSet | the message queue between them |

1. the **gateway** (pods and Service), which the platform provides on AKS and which you install yourself on kind;
2. a **Gateway** object, which picks those pods through `spec.selector` and opens a port on them:
   - its selector must match the labels of the gateway pods, not those of the Service in front of them;
   - its port must be one the gateway listens on.

<!-- profile: aks -->

## AKS: turn on the add-on's external gateway, a separate switch of the add-on

List the ones available in your cluster's region:

```bash solve profile=aks
az aks mesh enable-ingress-gateway --resource-group rg --name aks --ingress-gateway-type external
```

<!-- /profile -->

<!-- profile: kind -->

On kind you install a gateway with the same name, namespace and label, using a second IstioOperator.

```bash solve
istioctl install -y -f ingress-gateway.yaml
```

<!-- /profile -->

Then open the store.
";

    #[test]
    fn golden_at_80_columns_per_profile() {
        for profile in ["aks", "kind"] {
            let out = markdown(STEP, profile, Look::plain());
            let mut in_code = false;
            for line in out.lines() {
                if line.starts_with("── ") || (in_code && line.chars().all(|c| c == '─')) {
                    in_code = !in_code;
                } else if !in_code {
                    assert!(
                        console::measure_text_width(line) <= 80,
                        "{line:?} in\n{out}"
                    );
                }
            }
            insta::assert_snapshot!(format!("step_at_80_columns_{profile}"), out);
        }
        let kind = markdown(STEP, "kind", Look::plain());
        assert!(
            !kind.contains("List the ones available") && !kind.contains("AKS:"),
            "{kind}"
        );
        assert!(kind.contains("On kind you install") && kind.contains("istioctl install"));
        let aks = markdown(STEP, "aks", Look::plain());
        assert!(aks.contains("List the ones available") && !aks.contains("On kind you install"));
        // The kind section's unannotated block belongs to kind only.
        assert!(!aks.contains("istioctl install"), "{aks}");
    }

    #[test]
    fn escape_sequences_in_lab_text_never_reach_the_terminal() {
        let md = "# Title \x1b]0;pwned\x07here\n\nText \x1b[2J with `code \x1b[31m` and [a link](https://x.example/\x1b[1m).\n\n| a \x1b[5m | b |\n|---|---|\n| \x1b[8mc | d |\n\n- item \x1b[41m\n\n```bash solve\necho \x1b[2J\tdone\n```\n";
        let out = markdown(md, "aks", Look::plain());
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
        // Tabs in code stay (a `<<-EOF` heredoc needs them).
        assert!(out.contains("echo \tdone"), "{out:?}");
        let colored = markdown(
            md,
            "aks",
            Look {
                color: true,
                width: 80,
            },
        );
        assert!(!console::strip_ansi_codes(&colored).contains('\x1b'));
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
