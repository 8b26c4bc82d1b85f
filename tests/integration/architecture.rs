//! The direction of dependencies between the top-level modules of `src/` (docs/architecture.md):
//! a module may use only the modules listed before it in [`ORDER`]. Every `crate::…` path in every
//! file under `src/` is checked (tests included; comments and string literals are not code), so an
//! import against the direction fails here, named by `file:line`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first: each may use only those before it. The same list, in the
/// same order, is in docs/architecture.md (checked below). A new top-level module must be placed.
const ORDER: &[&str] = &[
    // Neutral pieces: they use nothing of labctl.
    "output", "fsutil", "readfile", "signal", "bundle", "cel",
    // The pipeline: lab format → plan → cluster view → evaluation.
    "labfile", "plan", "view", "eval",
    // Running programs, text for people, reporters, the errors that stop a command.
    "process", "render", "report", "error",
    // Live grading: probes, then the grading layer that drives a run.
    "probe", "grade", // Users of the grading layer, then the command line on top.
    "ci", "class", "learner", "cli", "cmd",
];

/// One use of another top-level module: where, and which.
#[derive(Debug, PartialEq, Eq)]
struct Use {
    line: usize,
    module: String,
}

/// The top-level modules a Rust source file names through `crate::` paths (`use crate::a::b`,
/// `crate::a::f()`, `use crate::{a, b::c}`), with the line of each.
fn crate_uses(source: &str) -> Vec<Use> {
    let code = code_only(source);
    let chars: Vec<char> = code.chars().collect();
    let line_at = |i: usize| chars[..i].iter().filter(|c| **c == '\n').count() + 1;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let needle: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + needle.len() <= chars.len() {
        let preceded = i > 0 && (ident(chars[i - 1]) || chars[i - 1] == '$');
        if chars[i..i + needle.len()] != needle[..] || preceded {
            i += 1;
            continue;
        }
        let line = line_at(i);
        let mut j = i + needle.len();
        if chars.get(j) == Some(&'{') {
            // `crate::{a, b::{c, d}}`: the first name of each item at the outer level.
            let mut depth = 0;
            let mut at_item_start = true;
            while j < chars.len() {
                match chars[j] {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            at_item_start = false;
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => at_item_start = true,
                    c if depth == 1 && at_item_start && ident(c) => {
                        let start = j;
                        while j < chars.len() && ident(chars[j]) {
                            j += 1;
                        }
                        let module: String = chars[start..j].iter().collect();
                        out.push(Use {
                            line: line_at(start),
                            module,
                        });
                        at_item_start = false;
                        continue;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else {
            let start = j;
            while j < chars.len() && ident(chars[j]) {
                j += 1;
            }
            out.push(Use {
                line,
                module: chars[start..j].iter().collect(),
            });
        }
        i = j.max(i + 1);
    }
    out.retain(|u| u.module != "self" && !u.module.is_empty());
    out
}

/// `source` with comments and string and character literals blanked out (newlines kept, so
/// lines still count).
fn code_only(source: &str) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut keep = vec![true; c.len()];
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let start = i;
        let at = |j: usize| c.get(j).copied();
        if c[i] == '/' && at(i + 1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && matches!(at(i + 1), Some('"' | '#'))
            && (i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = i + 1;
            while at(j) == Some('#') {
                j += 1;
            }
            if at(j) != Some('"') {
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            i = j + 1;
            while i < c.len() && !(c[i] == '"' && (1..=hashes).all(|k| at(i + k) == Some('#'))) {
                i += 1;
            }
            i = (i + 1 + hashes).min(c.len());
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(c.len());
        } else if c[i] == '\'' && (at(i + 1) == Some('\\') || at(i + 2) == Some('\'')) {
            // A character literal ('"', '\''), not a lifetime.
            i += if at(i + 1) == Some('\\') { 3 } else { 2 };
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i = (i + 1).min(c.len());
        } else {
            i += 1;
            continue;
        }
        let end = i.min(c.len());
        keep[start..end].fill(false);
    }
    c.iter()
        .zip(keep)
        .map(|(ch, kept)| if kept || *ch == '\n' { *ch } else { ' ' })
        .collect()
}

/// The imports against [`ORDER`] in one file of top-level module `module`: "file:line: a uses b".
fn violations(file: &str, module: &str, source: &str, order: &[&str]) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|o| *o == m);
    let Some(own) = rank(module) else {
        return vec![format!(
            "{file}: top-level module `{module}` is not placed in the order (tests/integration/architecture.rs, docs/architecture.md)"
        )];
    };
    crate_uses(source)
        .into_iter()
        .filter(|u| u.module != module)
        .filter_map(|u| match rank(&u.module) {
            Some(r) if r < own => None,
            Some(_) => Some(format!(
                "{file}:{}: `{module}` uses `{}`, which comes after it in the dependency order",
                u.line, u.module
            )),
            None => Some(format!(
                "{file}:{}: `{module}` uses `{}`, which is not in the dependency order",
                u.line, u.module
            )),
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_only_use_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src");
        let module = match rel.components().count() {
            1 => rel
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned(),
            _ => rel
                .components()
                .next()
                .expect("a first component")
                .as_os_str()
                .to_string_lossy()
                .into_owned(),
        };
        // The crate root declares the modules; the binary uses the library from outside.
        if module == "lib" || module == "main" {
            continue;
        }
        let source = std::fs::read_to_string(path).expect("readable source");
        *seen.entry(module.clone()).or_default() += crate_uses(&source).len();
        let shown = format!("src/{}", rel.display());
        problems.extend(violations(&shown, &module, &source, ORDER));
    }
    assert!(
        problems.is_empty(),
        "imports against the dependency order (docs/architecture.md):\n{}",
        problems.join("\n")
    );
    // The check saw the code: every module of the order exists, and paths were found.
    for m in ORDER {
        assert!(
            seen.contains_key(*m),
            "`{m}` is in the order but not in src/"
        );
    }
    assert!(
        seen.values().sum::<usize>() > 100,
        "too few crate:: paths found: {seen:?}"
    );
}

#[test]
fn the_documented_order_is_the_checked_one() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md");
    let text = std::fs::read_to_string(&doc).expect("docs/architecture.md");
    // The fenced block after "<!-- dependency order -->": module names, lowest first.
    let block = text
        .split("<!-- dependency order -->")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("docs/architecture.md has a ``` block after <!-- dependency order -->");
    let documented: Vec<&str> = block
        .lines()
        .skip(1) // the fence's info string
        .flat_map(|l| l.split('#').next().unwrap_or("").split([' ', '<', ',']))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(documented, ORDER, "docs/architecture.md and ORDER disagree");
}

#[test]
fn the_checker_finds_uses_and_flags_those_against_the_order() {
    let source = r##"
//! Docs mention crate::cmd, which is not code.
use crate::labfile::lab::Lab;
use crate::{
    plan::resolve::Plan,
    grade::{live, run},
};
fn f() -> &'static str {
    let _ = crate::view::query::queries;
    let _c = '"';
    let _s = "crate::cmd in a string";
    let _r = r#"crate::ci in a raw string"#;
    /* crate::class in a /* nested */ block comment */
    crate::grade::run::grade
}
macro_rules! m { () => { $crate::output::print() } }
"##;
    let found: Vec<(usize, String)> = crate_uses(source)
        .into_iter()
        .map(|u| (u.line, u.module))
        .collect();
    assert_eq!(
        found,
        [
            (3, "labfile".into()),
            (5, "plan".into()),
            (6, "grade".into()),
            (9, "view".into()),
            (14, "grade".into()),
        ]
    );
    let order = ["labfile", "plan", "view", "eval", "grade"];
    assert_eq!(
        violations("src/eval/x.rs", "eval", source, &order),
        [
            "src/eval/x.rs:6: `eval` uses `grade`, which comes after it in the dependency order",
            "src/eval/x.rs:14: `eval` uses `grade`, which comes after it in the dependency order",
        ]
    );
    assert!(violations("src/grade/x.rs", "grade", source, &order).is_empty());
    assert_eq!(
        violations("src/new.rs", "new", "", &order),
        [
            "src/new.rs: top-level module `new` is not placed in the order (tests/integration/architecture.rs, docs/architecture.md)"
        ]
    );
    assert_eq!(
        violations("src/grade/x.rs", "grade", "use crate::nowhere::X;", &order),
        ["src/grade/x.rs:1: `grade` uses `nowhere`, which is not in the dependency order"]
    );
}
