//! The `--var` hint: how a user gives the variables a plan has no value for. Written once here,
//! so `ci`, `solve` and the notes under rendered steps say it the same way.

/// The two arguments that set `name`: `["--var", "name=…"]` (for a command line to copy).
pub fn var_args(name: &str) -> [String; 2] {
    ["--var".to_owned(), format!("{name}=…")]
}

/// The flags that set every one of `names`: "--var a=… --var b=…".
pub fn var_flags<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| var_args(n).join(" "))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_every_variable() {
        assert_eq!(var_flags(["a", "b"]), "--var a=… --var b=…");
        assert_eq!(var_args("x"), ["--var", "x=…"]);
        assert_eq!(var_flags([]), "");
    }
}
