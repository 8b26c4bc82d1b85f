//! What every kind's lint works with: the file being linted (diagnostics are located in it),
//! the sample values `{{ placeholders }}` stand for while linting, and where diagnostics go.

use crate::labfile::diag::Diagnostic;
use crate::labfile::model::S;
use crate::labfile::template;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Where diagnostics go and what placeholders stand for while linting.
pub struct Lint<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub sample_values: &'a BTreeMap<String, String>,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Lint<'_> {
    /// A diagnostic at `line:col` of the file.
    pub fn at_pos(&self, line: u32, col: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.file, self.text, line, col, message)
    }

    /// A diagnostic where `span` starts.
    pub fn at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        self.at_pos(
            span.referenced.line() as u32,
            span.referenced.column() as u32,
            message,
        )
    }

    /// `s` with its placeholders replaced by the sample values.
    pub fn sample(&self, s: &str) -> String {
        template::substitute(s, self.sample_values).0
    }

    /// A `timeout:` value, or `default` when absent (or invalid, which is reported).
    pub fn duration(&mut self, value: Option<&S>, default: Duration) -> Duration {
        let Some(t) = value else {
            return default;
        };
        crate::labfile::load::parse_duration(&t.value).unwrap_or_else(|| {
            let d = self.at(t, format!("`{}` is not a duration", t.value));
            self.diags.push(
                d.underline_token()
                    .help("write e.g. `30s`, `2m` or `1m30s`"),
            );
            default
        })
    }

    /// A CEL expression that must compile (checked with the sample values).
    pub fn cel(&mut self, cel: &S) {
        if let Err(e) = crate::cel::compile(&self.sample(&cel.value)) {
            let d = self.at(cel, "CEL expression does not compile");
            self.diags.push(d.help(e.to_string()));
        }
    }
}
