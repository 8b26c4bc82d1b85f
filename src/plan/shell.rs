//! `{{ name }}` in shell code (solve blocks, command checks, the bash blocks learners copy):
//! each value goes in as literal text of the word it is part of, quoted for the quoting context
//! at that point — outside quotes, in `'…'`, in `"…"` (and `$(…)` inside them), in `$'…'`, in a
//! here-document — so no value can end a quote, start a command or expand anything. A value made
//! of plain characters (`asm-1-23`, `pets`, `rg-lab`) needs no quoting and is inserted as it is,
//! so commands read the same as before. Values never hold a newline or other control character
//! (`labfile::pattern`), so a value cannot end a here-document either.
//!
//! The scanner knows the bash syntax that changes how text is read: quotes, backslashes,
//! comments, `$(…)` / `(…)` nesting and here-documents (`<<EOF`, `<<-EOF`, `<<'EOF'`).

use std::collections::BTreeMap;

/// Characters that mean nothing special to bash anywhere in a word.
fn plain(value: &str) -> bool {
    value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '%' | '+' | ',')
    })
}

/// How text at a point of the script is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Outside quotes (the script itself, or inside `$(…)`).
    Code,
    Single,
    AnsiC,
    Double,
    Comment,
    /// Body of a here-document whose delimiter was not quoted: `$`, `` ` `` and `\` are special.
    HeredocExpanding,
    /// Body of a here-document with a quoted delimiter: nothing is special.
    HeredocLiteral,
}

/// `value` as text that reads back as exactly `value` in `ctx`.
fn quote(value: &str, ctx: Ctx) -> String {
    match ctx {
        Ctx::Code if plain(value) => value.to_owned(),
        Ctx::Code => format!("'{}'", value.replace('\'', r"'\''")),
        Ctx::Single => value.replace('\'', r"'\''"),
        Ctx::AnsiC => value.replace('\\', r"\\").replace('\'', r"\'"),
        Ctx::Double => escape(value, &['\\', '$', '`', '"']),
        Ctx::HeredocExpanding => escape(value, &['\\', '$', '`']),
        Ctx::Comment | Ctx::HeredocLiteral => value.to_owned(),
    }
}

/// `value` as one shell word (for the commands labctl suggests in messages).
pub fn word(value: &str) -> String {
    quote(value, Ctx::Code)
}

fn escape(value: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A here-document announced on the current line, whose body starts on the next.
struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
    literal: bool,
}

/// Nesting outside here-documents: the script, `"…"`, and `$(…)` with its open `(` count.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Code { parens: u32 },
    Double,
}

/// Substitute every `{{ name }}` that has a value, quoted for its context; unknown ones stay as
/// they are and are returned (like `template::substitute`).
pub fn substitute_shell(code: &str, values: &BTreeMap<String, String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(code.len());
    let mut missing: Vec<String> = Vec::new();
    let mut stack = vec![Frame::Code { parens: 0 }];
    let mut transient: Option<Ctx> = None; // Single, AnsiC, Comment
    let mut pending: Vec<Heredoc> = Vec::new();
    let mut bodies: std::collections::VecDeque<Heredoc> = Default::default();
    let mut word_start = true;
    let mut rest = code;
    while !rest.is_empty() {
        if let Some(doc) = bodies.front() {
            let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let line = &rest[..end];
            let bare = line.trim_end_matches('\n');
            let bare = if doc.strip_tabs {
                bare.trim_start_matches('\t')
            } else {
                bare
            };
            if bare == doc.delimiter {
                out.push_str(line);
                bodies.pop_front();
            } else {
                let ctx = if doc.literal {
                    Ctx::HeredocLiteral
                } else {
                    Ctx::HeredocExpanding
                };
                let (text, m) = substitute_in(line, values, ctx);
                out.push_str(&text);
                add_missing(&mut missing, m);
            }
            rest = &rest[end..];
            continue;
        }
        let ctx = transient.unwrap_or(match stack.last() {
            Some(Frame::Double) => Ctx::Double,
            _ => Ctx::Code,
        });
        if rest.starts_with("{{")
            && let Some(end) = rest[2..].find("}}")
        {
            let token = &rest[..end + 4];
            let name = rest[2..end + 2].trim();
            match values.get(name) {
                Some(v) => out.push_str(&quote(v, ctx)),
                None => {
                    add_missing(&mut missing, vec![name.to_owned()]);
                    out.push_str(token);
                }
            }
            rest = &rest[token.len()..];
            word_start = false;
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        let mut len = c.len_utf8();
        match ctx {
            Ctx::Single if c == '\'' => transient = None,
            Ctx::AnsiC if c == '\\' => len += next_len(&rest[1..]),
            Ctx::AnsiC if c == '\'' => transient = None,
            Ctx::Comment if c == '\n' => {
                transient = None;
                bodies.extend(pending.drain(..));
                word_start = true;
            }
            Ctx::Double => match c {
                '\\' => len += next_len(&rest[1..]),
                '"' => {
                    stack.pop();
                }
                '$' if rest[1..].starts_with('(') => {
                    len += 1;
                    stack.push(Frame::Code { parens: 0 });
                }
                _ => {}
            },
            Ctx::Code => {
                let starts_word = word_start;
                word_start = c.is_whitespace() || ";|&()<>".contains(c);
                match c {
                    '\\' => len += next_len(&rest[1..]),
                    '\'' => transient = Some(Ctx::Single),
                    '"' => stack.push(Frame::Double),
                    '$' if rest[1..].starts_with('\'') => {
                        len += 1;
                        transient = Some(Ctx::AnsiC);
                    }
                    '$' if rest[1..].starts_with('(') => {
                        len += 1;
                        stack.push(Frame::Code { parens: 0 });
                        word_start = true;
                    }
                    '(' => {
                        if let Some(Frame::Code { parens }) = stack.last_mut() {
                            *parens += 1;
                        }
                    }
                    ')' => {
                        let depth = stack.len();
                        match stack.last_mut() {
                            Some(Frame::Code { parens }) if *parens > 0 => *parens -= 1,
                            _ if depth > 1 => {
                                stack.pop();
                                word_start = false;
                            }
                            _ => {}
                        }
                    }
                    '#' if starts_word => transient = Some(Ctx::Comment),
                    '\n' => bodies.extend(pending.drain(..)),
                    '<' if rest.starts_with("<<<") => len = 3,
                    '<' if rest.starts_with("<<") => {
                        let (consumed, doc) = heredoc_operator(rest);
                        len = consumed;
                        pending.extend(doc);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        out.push_str(&rest[..len]);
        rest = &rest[len..];
    }
    (out, missing)
}

fn next_len(s: &str) -> usize {
    s.chars().next().map_or(0, char::len_utf8)
}

fn add_missing(missing: &mut Vec<String>, names: Vec<String>) {
    for n in names {
        if !missing.contains(&n) {
            missing.push(n);
        }
    }
}

/// Placeholders in text read in one fixed context (a here-document line).
fn substitute_in(text: &str, values: &BTreeMap<String, String>, ctx: Ctx) -> (String, Vec<String>) {
    let quoted: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| (k.clone(), quote(v, ctx)))
        .collect();
    crate::labfile::template::substitute(text, &quoted)
}

/// `<<[-] WORD` at the start of `s`: how many bytes it spans, and the here-document it opens.
fn heredoc_operator(s: &str) -> (usize, Option<Heredoc>) {
    let mut i = 2;
    let strip_tabs = s[i..].starts_with('-');
    if strip_tabs {
        i += 1;
    }
    i += s[i..].len() - s[i..].trim_start_matches([' ', '\t']).len();
    let word_end = s[i..]
        .find(|c: char| c.is_whitespace() || ";|&<>()".contains(c))
        .map_or(s.len(), |e| i + e);
    let word = &s[i..word_end];
    if word.is_empty() {
        return (i, None);
    }
    let literal = word.contains(['\'', '"', '\\']);
    let delimiter: String = word
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    (
        word_end,
        Some(Heredoc {
            delimiter,
            strip_tabs,
            literal,
        }),
    )
}

/// Languages whose fenced blocks are shell code.
pub fn is_shell(lang: &str) -> bool {
    matches!(lang, "bash" | "sh" | "shell" | "zsh")
}

/// Markdown with the placeholders of its shell code blocks substituted by [`substitute_shell`],
/// so the commands a learner copies are the ones `solve` runs; placeholders elsewhere (prose,
/// YAML, expected output) are left for the caller.
pub fn substitute_markdown(markdown: &str, values: &BTreeMap<String, String>) -> String {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut current: Option<Option<std::ops::Range<usize>>> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = info.split_whitespace().next().unwrap_or("");
                current = is_shell(lang).then_some(None);
            }
            Event::Text(_) => {
                if let Some(span) = current.as_mut() {
                    *span = Some(match span.take() {
                        Some(s) => s.start..range.end,
                        None => range,
                    });
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(Some(span)) = current.take() {
                    ranges.push(span);
                }
                current = None;
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(markdown.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&markdown[at..r.start]);
        out.push_str(&substitute_shell(&markdown[r.clone()], values).0);
        at = r.end;
    }
    out.push_str(&markdown[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "a'b\"c $(touch PWNED) `touch PWNED` \\ ${HOME} * ; # ~ !x";

    /// Run `script` (with `{{ v }}` = NASTY) in bash in an empty folder: its output, and whether
    /// anything was created there.
    fn run(script: &str) -> (String, bool) {
        let values = BTreeMap::from([("v".to_owned(), NASTY.to_owned())]);
        let (code, missing) = substitute_shell(script, &values);
        assert!(missing.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &code])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created = std::fs::read_dir(dir.path()).unwrap().next().is_some();
        (String::from_utf8_lossy(&out.stdout).into_owned(), created)
    }

    #[test]
    fn values_read_back_literally_in_every_quoting_context() {
        let cases = [
            ("printf '%s\\n' {{ v }}", format!("{NASTY}\n")),
            (
                "printf '%s\\n' pre-{{v}}-post",
                format!("pre-{NASTY}-post\n"),
            ),
            (
                "printf '%s\\n' 'in single {{ v }} quotes'",
                format!("in single {NASTY} quotes\n"),
            ),
            (
                "printf '%s\\n' \"in double {{ v }} quotes\"",
                format!("in double {NASTY} quotes\n"),
            ),
            (
                "printf '%s\\n' \"$(printf '%s' {{ v }})\"",
                format!("{NASTY}\n"),
            ),
            ("printf '%s\\n' $'ansi {{ v }}'", format!("ansi {NASTY}\n")),
            (
                "x=$(( 1 + (2) )); printf '%s\\n' {{ v }} $x",
                format!("{NASTY}\n3\n"),
            ),
            (
                "cat <<EOF\nname: {{ v }}\nEOF\nprintf '%s\\n' {{ v }}",
                format!("name: {NASTY}\n{NASTY}\n"),
            ),
            (
                "cat <<-'EOF'\n\tliteral {{ v }}\n\tEOF",
                format!("literal {NASTY}\n"),
            ),
            (
                "# a comment {{ v }}\nprintf '%s\\n' {{ v }} # {{ v }}",
                format!("{NASTY}\n"),
            ),
            ("cat <<< {{ v }}", format!("{NASTY}\n")),
        ];
        for (script, want) in cases {
            let (got, created) = run(script);
            assert_eq!(got, want, "script: {script}");
            assert!(!created, "script {script} ran a command from the value");
        }
    }

    #[test]
    fn plain_values_are_inserted_as_they_are_and_unknown_names_reported() {
        let values = BTreeMap::from([
            ("revision".to_owned(), "asm-1-23".to_owned()),
            ("rg".to_owned(), "rg (lab)".to_owned()),
        ]);
        let (code, missing) = substitute_shell(
            "kubectl label ns pets istio.io/rev={{ revision }} && az -g {{ rg }} -n {{ clusterName }}",
            &values,
        );
        assert_eq!(
            code,
            "kubectl label ns pets istio.io/rev=asm-1-23 && az -g 'rg (lab)' -n {{ clusterName }}"
        );
        assert_eq!(missing, vec!["clusterName".to_owned()]);
    }

    #[test]
    fn markdown_quotes_values_in_shell_blocks_only() {
        let values = BTreeMap::from([("rg".to_owned(), "rg (lab)".to_owned())]);
        let md = "Group {{ rg }}.\n\n```bash solve\naz group show -g {{ rg }}\n```\n\n```yaml\nname: {{ rg }}\n```\n";
        assert_eq!(
            substitute_markdown(md, &values),
            "Group {{ rg }}.\n\n```bash solve\naz group show -g 'rg (lab)'\n```\n\n```yaml\nname: {{ rg }}\n```\n"
        );
    }
}
