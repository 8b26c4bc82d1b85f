//! Text helpers: where a key or a variable's default is written in a YAML text, ids, durations.

use std::time::Duration;

/// Line and column of variable `name`'s `default:` value (else of its key) under the top-level
/// `variables:` of a lab file written in block style.
pub(super) fn find_variable(text: &str, name: &str) -> Option<(u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("variables:"))?;
    let mut key: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        match key {
            _ if indent == 0 => break,
            None => {
                if trimmed
                    .strip_prefix(name)
                    .is_some_and(|r| r.starts_with(':'))
                {
                    key = Some((i, indent));
                }
            }
            Some((_, key_indent)) if indent <= key_indent => break,
            Some(_) => {
                if let Some(rest) = trimmed.strip_prefix("default:") {
                    let col = indent + "default:".len() + rest.len() - rest.trim_start().len();
                    return Some((i as u32 + 1, col as u32 + 1));
                }
            }
        }
    }
    key.map(|(i, indent)| (i as u32 + 1, indent as u32 + 1))
}

/// Line and column of the first `key:` in a YAML text.
/// Where the value of `default:` under variable `name` starts (line, column), 1-based.
pub(super) fn find_default(text: &str, name: &str) -> Option<(u32, u32)> {
    let (key_line, key_col) = find_key(text, name)?;
    text.lines()
        .enumerate()
        .skip(key_line as usize)
        .take_while(|(_, l)| l.len() - l.trim_start().len() >= key_col as usize)
        .find_map(|(i, l)| {
            let t = l.trim_start();
            let rest = t.strip_prefix("default:")?;
            let col = l.len() - rest.trim_start().len() + 1;
            Some((i as u32 + 1, col as u32))
        })
}

pub(super) fn find_key(text: &str, key: &str) -> Option<(u32, u32)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix(key)?;
        rest.starts_with(':')
            .then(|| (i as u32 + 1, (line.len() - trimmed.len()) as u32 + 1))
    })
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// `30s`, `2m`, `1m30s`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            total += match c {
                's' => n,
                'm' => n * 60,
                'h' => n * 3600,
                _ => return None,
            };
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
