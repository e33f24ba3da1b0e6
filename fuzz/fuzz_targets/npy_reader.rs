//! Arbitrary bytes through the `.npy` reader: it must return a dataset or an error, never
//! panic, hang or allocate on a header's word, and a dataset it returns must be a finite,
//! non-empty n x d matrix that fits in the input.
#![no_main]

use std::path::Path;

use flowmatching::data::loader::{read_npy, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dataset) = read_npy(data, Path::new("fuzz.npy"), &LoadOptions::default()) {
        assert!(dataset.n >= 1 && dataset.d >= 1);
        assert_eq!(dataset.values.len(), dataset.n * dataset.d);
        assert!(dataset.values.len() <= data.len(), "at least one byte per value");
        assert!(dataset.values.iter().all(|v| v.is_finite()));
    }
});
