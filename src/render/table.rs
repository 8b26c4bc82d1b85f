//! Markdown tables in the terminal: columns aligned, the header set off by a rule, and — when
//! the table is wider than the terminal — the widest columns narrowed and their cells wrapped,
//! so a row never runs past the right edge (unless one word is longer than its column).

use super::terminal::{Look, wrap};
use console::{Style, measure_text_width};

/// A table being read: its rows of cells (already rendered inline text), the header first.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<Vec<String>>,
}

/// Columns are never narrowed below this (or their widest word, if narrower).
const MIN_COLUMN: usize = 10;
const GAP: &str = "  ";

impl Table {
    pub fn start_row(&mut self) {
        self.rows.push(Vec::new());
    }

    pub fn push_cell(&mut self, text: String) {
        if self.rows.is_empty() {
            self.start_row();
        }
        if let Some(row) = self.rows.last_mut() {
            row.push(text);
        }
    }

    /// Column widths that fit `width` (the natural ones when they do).
    fn widths(&self, width: usize) -> Vec<usize> {
        let n = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut w = vec![0; n];
        let mut floor = vec![0; n];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                w[i] = w[i].max(measure_text_width(cell));
                let longest_word = cell.split(' ').map(measure_text_width).max().unwrap_or(0);
                floor[i] = floor[i].max(longest_word.min(MIN_COLUMN));
            }
        }
        let budget = width.saturating_sub(GAP.len() * n);
        // Take one column from the widest column until the table fits or nothing can give.
        while w.iter().sum::<usize>() > budget {
            let Some(i) = (0..n).filter(|&i| w[i] > floor[i]).max_by_key(|&i| w[i]) else {
                break;
            };
            w[i] -= 1;
        }
        w
    }

    /// The table, indented by two spaces, each line at most `look.width` wide.
    pub fn render(&self, look: Look) -> String {
        let widths = self.widths(look.width);
        let mut out = String::new();
        for (r, row) in self.rows.iter().enumerate() {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| wrap(row.get(i).map_or("", String::as_str), (*w).max(1)))
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1);
            for line in 0..height {
                let mut text = String::new();
                for (i, w) in widths.iter().enumerate() {
                    let cell = cells[i].get(line).map_or("", String::as_str);
                    let pad = w.saturating_sub(measure_text_width(cell));
                    let cell = if r == 0 {
                        look.paint(Style::new().bold(), cell)
                    } else {
                        cell.to_owned()
                    };
                    text.push_str(GAP);
                    text.push_str(&cell);
                    text.push_str(&" ".repeat(pad));
                }
                out.push_str(text.trim_end());
                out.push('\n');
            }
            if r == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                let rule = format!("{GAP}{}", rule.join(GAP));
                out.push_str(&look.paint(Style::new().dim(), &rule));
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Table {
        let mut t = Table::default();
        for row in rows {
            t.start_row();
            for cell in *row {
                t.push_cell(cell.to_string());
            }
        }
        t
    }

    #[test]
    fn aligns_columns_and_wraps_the_widest_to_fit() {
        let t = table(&[
            &["workload", "kind", "role"],
            &[
                "store-front",
                "Deployment",
                "the web UI customers see (Service port 80 → container port 8080)",
            ],
            &["rabbitmq", "StatefulSet", "the queue"],
        ]);
        let wide = t.render(Look {
            color: false,
            width: 120,
        });
        let rule = |n: usize| "─".repeat(n);
        assert_eq!(
            wide,
            format!(
                "  workload     kind         role\n  {}  {}  {}\n  store-front  Deployment   the web UI customers see (Service port 80 → container port 8080)\n  rabbitmq     StatefulSet  the queue\n",
                rule(11),
                rule(11),
                rule(64)
            )
        );
        let narrow = t.render(Look {
            color: false,
            width: 50,
        });
        assert!(
            narrow.lines().all(|l| measure_text_width(l) <= 50),
            "{narrow}"
        );
        assert!(
            narrow.contains("  store-front  Deployment   the web UI customers\n"),
            "{narrow}"
        );
    }
}
