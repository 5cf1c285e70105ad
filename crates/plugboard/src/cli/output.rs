//! Printing results: aligned plain-text tables for people, the server's JSON for scripts.

use std::io::Write;

/// A table: upper-case headers, one line per row, columns separated by two spaces. Control
/// characters in cells (a newline in a reason, say) become spaces so each row stays one line.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Append a row (missing cells are blank, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| clean(&c)).collect();
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// The rendered table, ending with a newline. Trailing blanks are trimmed from each line.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = w.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Print to stdout.
    pub fn print(&self) {
        print_text(&self.render());
    }
}

fn clean(cell: &str) -> String {
    cell.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Print text to stdout as is; a closed pipe (`| head`) is not an error worth a panic.
pub fn print_text(text: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).ok();
    out.flush().ok();
}

/// Print a JSON body exactly as the server sent it, on one line.
pub fn print_json(body: &str) {
    let body = body.trim_end();
    if !body.is_empty() {
        print_text(&format!("{body}\n"));
    }
}

/// A string field of a JSON object, or `""`; numbers are shown as they are.
pub fn field(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The items of a JSON array, or none when it is not one.
pub fn items(v: &serde_json::Value) -> &[serde_json::Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A progress bar of `len` steps drawn on stderr in `template`, when stderr is a terminal
/// (hidden otherwise: the caller then prints a line per change); and whether it is drawn.
pub fn stderr_bar(len: Option<u64>, template: &str) -> (indicatif::ProgressBar, bool) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let target = if terminal {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(len, target);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    (bar, terminal)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn aligned_columns() {
        let mut t = Table::new(&["ID", "NAME", "REASON"]);
        t.row(vec!["1".into(), "orders".into(), "".into()]);
        t.row(vec!["22".into(), "x".into(), "refused\nby peer".into()]);
        assert_eq!(
            t.render(),
            "ID  NAME    REASON\n1   orders\n22  x       refused by peer\n"
        );
    }
}
