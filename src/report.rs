//! Metrics tables and JSON reports.
//!
//! Results are plain data; this module only lays them out: aligned text for the terminal,
//! Markdown for READMEs and reports, and pretty JSON written atomically for machines.

use std::path::Path;

use serde::Serialize;

use crate::{Error, Result};

/// A table of already formatted cells, printable as aligned text or Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row; missing cells are left blank, extra cells are kept.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn widths(&self) -> Vec<usize> {
        let columns = self.rows.iter().map(Vec::len).chain([self.header.len()]).max();
        let mut widths = vec![0; columns.unwrap_or(0)];
        for line in std::iter::once(&self.header).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }

    /// Aligned plain text: the first column left-aligned, the others right-aligned.
    pub fn to_text(&self) -> String {
        let widths = self.widths();
        let mut out = String::new();
        let rule: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        for (i, line) in std::iter::once(&self.header).chain(&self.rows).enumerate() {
            let cells: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(j, &w)| {
                    let cell = line.get(j).map(String::as_str).unwrap_or("");
                    if j == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(rule));
                out.push('\n');
            }
        }
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub fn to_markdown(&self) -> String {
        let columns = self.widths().len();
        let line = |cells: &[String]| {
            let padded: Vec<&str> =
                (0..columns).map(|j| cells.get(j).map(String::as_str).unwrap_or("")).collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(&self.header);
        let rule: Vec<String> =
            (0..columns).map(|j| if j == 0 { ":--" } else { "--:" }.to_string()).collect();
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then a
/// rename, so an existing file is either replaced whole or left untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    crate::atomic::write(path, contents).map_err(|e| Error::io(path, e))
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::setting("JSON report", path.display(), e.to_string()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Formats a number with `digits` decimals where that reads well (0, or a magnitude from 1e-3
/// up to 1e6), in scientific notation with `digits` decimals otherwise, so that an extreme value
/// is never a line of hundreds of digits or a string of zeros.
pub fn fmt_num(value: f64, digits: usize) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e6).contains(&magnitude) || !value.is_finite() {
        format!("{value:.digits$}")
    } else {
        format!("{value:.digits$e}")
    }
}

/// Formats a number with `digits` decimals, or `-` when it is absent.
pub fn fmt_opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_switch_to_an_exponent_outside_the_readable_range() {
        assert_eq!(fmt_num(2.427512, 4), "2.4275");
        assert_eq!(fmt_num(-0.0012345, 3), "-0.001");
        assert_eq!(fmt_num(0.0, 2), "0.00");
        assert_eq!(fmt_num(2.06269824593e59, 6), "2.062698e59");
        assert_eq!(fmt_num(-1.5e-7, 2), "-1.50e-7");
        assert_eq!(fmt_num(999_999.0, 1), "999999.0");
        assert_eq!(fmt_num(1e6, 1), "1.0e6");
    }

    fn sample() -> Table {
        let mut t = Table::new(["method", "W1"]);
        t.row(["Heun", "0.031"]).row(["Euler (200 steps)", "0.1"]);
        t
    }

    #[test]
    fn text_columns_align() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "method                W1");
        assert_eq!(lines[1], "-".repeat(24));
        assert_eq!(lines[2], "Heun               0.031");
        assert_eq!(lines[3], "Euler (200 steps)    0.1");
    }

    #[test]
    fn markdown_has_header_rule_and_rows() {
        let md = sample().to_markdown();
        assert_eq!(
            md,
            "| method | W1 |\n| :-- | --: |\n| Heun | 0.031 |\n| Euler (200 steps) | 0.1 |\n"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("fm-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.json");
        write_atomic(&path, b"old contents that are longer").unwrap();
        write_json(&path, &vec![1, 2]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[\n  1,\n  2\n]\n");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_to_missing_directory_names_the_path() {
        let path = Path::new("/nonexistent-dir-fm/x.json");
        let err = write_atomic(path, b"x").unwrap_err().to_string();
        assert!(err.contains("/nonexistent-dir-fm/x.json"), "{err}");
    }
}
