//! CSV into a [`Dataset`], with errors that point at the line and field.
//!
//! Fields are trimmed; blank lines are skipped; quoting follows RFC 4180. Every row must have
//! as many fields as the first one (or the header), and every selected field must be a finite
//! number: Rust's `f64` syntax (`3`, `-1.5e-3`, `.5`). Unselected columns may hold anything.

use std::io::Read;
use std::path::Path;

use super::{default_column_names, select_columns, Dataset, HeaderMode, LoadOptions};
use crate::{Error, Result};

/// Reads CSV from `reader`; `source` names the file in error messages.
///
/// Errors ([`Error::Parse`], 1-based line and field of the file): a NaN or infinite value, an
/// empty field, text in a selected column (the text is shown), a row with a different number of
/// fields. [`Error::DataFile`]: an empty file, a header with no data rows.
/// [`Error::InvalidSetting`]: a selected column that does not exist (the available ones are
/// listed).
pub fn read_csv<R: Read>(reader: R, source: &Path, options: &LoadOptions) -> Result<Dataset> {
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(options.delimiter)
        .from_reader(reader)
        .into_records();

    let Some(first) = records.next() else {
        return Err(data_error(source, "the file is empty: no header and no data rows"));
    };
    let first = first.map_err(|e| csv_error(source, e))?;
    let has_header = match options.header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Auto => first.iter().any(|field| field.parse::<f64>().is_err()),
    };

    let names = if has_header {
        first.iter().map(|name| name.trim_start_matches('\u{feff}').to_string()).collect()
    } else {
        default_column_names(first.len())
    };
    let selected = select_columns(&names, options, has_header, source)?;
    let mut table = Table { source, names: &names, selected: &selected, values: Vec::new(), n: 0 };

    if !has_header {
        table.push(&first)?;
    }
    for record in records {
        table.push(&record.map_err(|e| csv_error(source, e))?)?;
    }

    if table.n == 0 {
        return Err(data_error(source, "has a header on line 1 but no data rows"));
    }
    let columns = selected.iter().map(|&j| names[j].clone()).collect();
    Ok(Dataset { columns, n: table.n, d: selected.len(), values: table.values })
}

/// The rows read so far and what is needed to check the next one.
struct Table<'a> {
    source: &'a Path,
    names: &'a [String],
    selected: &'a [usize],
    values: Vec<f64>,
    n: usize,
}

impl Table<'_> {
    fn push(&mut self, record: &csv::StringRecord) -> Result<()> {
        let line = record.position().map_or(0, |p| p.line() as usize);
        let width = self.names.len();
        if record.len() != width {
            let message = format!(
                "row has {} fields but the first row has {width} ({})",
                record.len(),
                self.names.join(", ")
            );
            return Err(parse_error(self.source, line, record.len().min(width) + 1, message));
        }

        for &j in self.selected {
            let value = parse_field(&record[j], &self.names[j])
                .map_err(|message| parse_error(self.source, line, j + 1, message))?;
            self.values.push(value);
        }
        self.n += 1;
        Ok(())
    }
}

/// One field as a finite number, or what is wrong with it.
fn parse_field(field: &str, column: &str) -> std::result::Result<f64, String> {
    if field.is_empty() {
        return Err(format!("empty field (missing value) in column '{column}'"));
    }
    match field.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(format!("non-finite value {field:?} in column '{column}' (NaN or infinity)")),
        Err(_) => {
            let separator = [';', '\t'].into_iter().find(|&c| field.contains(c));
            let hint = match separator {
                Some(c) => format!(" (fields are separated by commas, and this one holds {c:?})"),
                None => String::new(),
            };
            Err(format!("text {field:?} in numeric column '{column}'{hint}"))
        }
    }
}

fn parse_error(source: &Path, line: usize, column: usize, message: String) -> Error {
    Error::Parse { path: source.to_path_buf(), line, column, message }
}

fn data_error(source: &Path, message: &str) -> Error {
    Error::DataFile { path: source.to_path_buf(), message: message.to_string() }
}

fn csv_error(source: &Path, error: csv::Error) -> Error {
    let line = error.position().map_or(0, |p| p.line() as usize);
    match error.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(source, e),
        csv::ErrorKind::Utf8 { err, .. } => {
            parse_error(source, line, err.field() + 1, format!("invalid UTF-8: {err}"))
        }
        other => parse_error(source, line, 0, format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, options: &LoadOptions) -> Result<Dataset> {
        read_csv(text.as_bytes(), Path::new("t.csv"), options)
    }

    fn message(text: &str) -> String {
        read(text, &LoadOptions::default()).unwrap_err().to_string()
    }

    #[test]
    fn dropped_and_unpreferred_columns_are_never_parsed() {
        let text = "x,kind,y\n1,long,2\n3,short,4\n";
        assert!(message(text).contains("t.csv:2:2: text \"long\""), "all columns are numbers");

        let drop = LoadOptions { drop: vec!["kind".into()], ..LoadOptions::default() };
        let kept = read(text, &drop).unwrap();
        assert_eq!(
            (kept.columns.clone(), kept.values),
            (vec!["x".into(), "y".into()], vec![1.0, 2.0, 3.0, 4.0])
        );
        let by_index = LoadOptions { drop: vec!["1".into()], ..LoadOptions::default() };
        assert_eq!(read(text, &by_index).unwrap().columns, ["x", "y"]);
        let unknown = LoadOptions { drop: vec!["colour".into()], ..LoadOptions::default() };
        let error = read(text, &unknown).unwrap_err().to_string();
        assert!(error.contains("invalid --drop = colour: no such column"), "{error}");
        assert!(error.contains("available: x, kind, y"), "{error}");
        let all = LoadOptions { drop: vec!["x".into(), "1".into(), "y".into()], ..drop };
        let error = read(text, &all).unwrap_err().to_string();
        assert!(error.contains("invalid --drop = x,1,y: it leaves no column"), "{error}");

        // Preferred columns are taken by name, in their order, when the header has them all.
        let prefer = |names: &[&str]| LoadOptions {
            prefer: Some(names.iter().map(|n| n.to_string()).collect()),
            ..LoadOptions::default()
        };
        let picked = read(text, &prefer(&["y", "x"])).unwrap();
        assert_eq!(
            (picked.columns, picked.values),
            (vec!["y".into(), "x".into()], vec![2.0, 1.0, 4.0, 3.0])
        );
        assert!(read(text, &prefer(&["x", "z"])).is_err(), "a missing name reads every column");
        let numbers = read("1,2\n3,4\n", &prefer(&["y"])).unwrap();
        assert_eq!(numbers.d, 2, "no header: every column, by position");
    }

    #[test]
    fn another_separator_is_pointed_out() {
        let text = message("a;b\n1;2\n");
        assert!(text.contains("t.csv:2:1: text \"1;2\""), "{text}");
        assert!(text.contains("separated by commas, and this one holds ';'"), "{text}");
        assert!(message("a\n1\tx\n").contains("holds '\\t'"));
        assert!(!message("a\nfoo\n").contains("separated"));
    }

    #[test]
    fn header_is_detected_or_stated() {
        let auto = read("a,b\n1,2\n3,4\n", &LoadOptions::default()).unwrap();
        assert_eq!(auto.columns, ["a", "b"]);
        assert_eq!(auto.values, [1.0, 2.0, 3.0, 4.0]);

        let numbers = read("1,2\n3,4\n", &LoadOptions::default()).unwrap();
        assert_eq!(numbers.columns, ["x0", "x1"]);
        assert_eq!(numbers.n, 2);

        let present = LoadOptions { header: HeaderMode::Present, ..LoadOptions::default() };
        let stated = read("1,2\n3,4\n", &present).unwrap();
        assert_eq!(stated.columns, ["1", "2"]);
        assert_eq!(stated.values, [3.0, 4.0]);
    }

    #[test]
    fn selection_by_name_and_by_index() {
        let by_name =
            LoadOptions { columns: Some(vec!["c".into(), "a".into()]), ..LoadOptions::default() };
        let data = read("a,b,c\n1,x,3\n4,y,6\n", &by_name).unwrap();
        assert_eq!(data.columns, ["c", "a"]);
        assert_eq!(data.values, [3.0, 1.0, 6.0, 4.0]);

        let by_index = LoadOptions { columns: Some(vec!["1".into()]), ..LoadOptions::default() };
        let data = read("1,2\n3,4\n", &by_index).unwrap();
        assert_eq!(
            (data.columns[0].as_str(), data.values.as_slice()),
            ("x1", [2.0, 4.0].as_slice())
        );
    }

    #[test]
    fn byte_order_mark_and_blank_lines_and_quotes() {
        let data = read("\u{feff}a,b\n\n\"1\", 2 \n\n", &LoadOptions::default()).unwrap();
        assert_eq!(data.columns, ["a", "b"]);
        assert_eq!(data.values, [1.0, 2.0]);
    }

    #[test]
    fn bad_fields_name_line_column_and_problem() {
        assert_eq!(
            message("a,b\n1,2\n3,nan\n"),
            "t.csv:3:2: non-finite value \"nan\" in column 'b' (NaN or infinity)"
        );
        assert_eq!(
            message("a,b\n1,2\n-inf,2\n"),
            "t.csv:3:1: non-finite value \"-inf\" in column 'a' (NaN or infinity)"
        );
        assert_eq!(message("a,b\n1,hello\n"), "t.csv:2:2: text \"hello\" in numeric column 'b'");
        assert_eq!(message("a,b\n1,\n"), "t.csv:2:2: empty field (missing value) in column 'b'");
        assert_eq!(
            message("a,b\n1,2\n3\n"),
            "t.csv:3:2: row has 1 fields but the first row has 2 (a, b)"
        );
        assert_eq!(
            message("a,b\n1,2,3\n"),
            "t.csv:2:3: row has 3 fields but the first row has 2 (a, b)"
        );
        assert_eq!(message(""), "t.csv: the file is empty: no header and no data rows");
        assert_eq!(message("a,b\n"), "t.csv: has a header on line 1 but no data rows");
    }
}
