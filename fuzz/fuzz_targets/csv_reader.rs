//! Arbitrary bytes through the CSV reader: it must return a dataset or an error, never panic,
//! and a dataset it returns must be a finite, non-empty n x d matrix.
//!
//! The first byte picks the options (header mode, a column selection, the separator) so one
//! corpus explores all of them; the rest is the file.
#![no_main]

use std::path::Path;

use flowmatching::data::loader::{read_csv, HeaderMode, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else {
        return;
    };
    let header = match choice % 3 {
        0 => HeaderMode::Auto,
        1 => HeaderMode::Present,
        _ => HeaderMode::Absent,
    };
    let columns = (choice & 4 != 0).then(|| vec!["1".to_string(), "x0".to_string()]);
    let delimiter = if choice & 8 != 0 { b';' } else { b',' };
    let options = LoadOptions { header, columns, delimiter };

    if let Ok(dataset) = read_csv(file, Path::new("fuzz.csv"), &options) {
        assert!(dataset.n >= 1 && dataset.d >= 1);
        assert_eq!(dataset.values.len(), dataset.n * dataset.d);
        assert_eq!(dataset.columns.len(), dataset.d);
        assert!(dataset.values.iter().all(|v| v.is_finite()));
    }
});
