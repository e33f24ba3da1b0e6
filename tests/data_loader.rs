//! Loading user data: the real datasets in shared/data, every bad-input kind (each message must
//! name the file, the place and the fault), the .npy layouts, and atomic CSV writing.
//!
//! Fixtures in tests/fixtures/data/ are named after their fault; the .npy ones were written by
//! numpy with make_npy_fixtures.py beside them, and hold a[i, j] = 10 i + j when they are good.

use std::path::{Path, PathBuf};

use flowmatching::data::loader::{
    load, read_csv, read_npy, split, write_csv, Dataset, HeaderMode, LoadOptions,
};
use flowmatching::data::standardize::Standardizer;
use flowmatching::rng::{stream, Stream};
use flowmatching::Error;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data").join(name)
}

/// shared/data: beside the checkout (sessions and CI), inside it, or at /work/shared.
fn shared_data(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates =
        [root.join("../shared/data"), root.join("shared/data"), PathBuf::from("/work/shared/data")];
    let dir = candidates.iter().find(|d| d.join(name).exists()).unwrap_or_else(|| {
        panic!("{name} not found in shared/data beside or inside {}", root.display())
    });
    dir.join(name)
}

fn columns(names: &[&str]) -> LoadOptions {
    let columns = Some(names.iter().map(|s| s.to_string()).collect());
    LoadOptions { columns, ..LoadOptions::default() }
}

fn load_error(name: &str) -> String {
    let err = load(&fixture(name), &LoadOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(name), "the message must name the file: {message}");
    message
}

fn grid(n: usize, d: usize) -> Vec<f64> {
    (0..n).flat_map(|i| (0..d).map(move |j| (10 * i + j) as f64)).collect()
}

#[test]
fn faithful_csv_is_272_by_2_with_the_right_first_row() {
    let data = load(&shared_data("faithful.csv"), &LoadOptions::default()).unwrap();
    assert_eq!((data.n, data.d), (272, 2));
    assert_eq!(data.columns, ["eruptions", "waiting"]);
    assert_eq!(data.row(0), [3.6, 79.0]);
    assert_eq!(data.row(1), [1.8, 54.0]);
}

#[test]
fn faithful_npy_equals_faithful_csv() {
    let csv = load(&shared_data("faithful.csv"), &LoadOptions::default()).unwrap();
    let npy = load(&shared_data("faithful.npy"), &LoadOptions::default()).unwrap();
    assert_eq!((npy.n, npy.d), (272, 2));
    assert_eq!(npy.values, csv.values);
}

#[test]
fn digits_without_label_is_1797_by_64_and_its_constant_columns_standardise_finitely() {
    let pixels: Vec<String> =
        (0..8).flat_map(|r| (0..8).map(move |c| format!("pixel_{r}_{c}"))).collect();
    let options = LoadOptions { columns: Some(pixels), ..LoadOptions::default() };
    let data = load(&shared_data("digits.csv"), &options).unwrap();
    assert_eq!((data.n, data.d), (1797, 64));
    assert!(!data.columns.contains(&"label".to_string()));

    let standardizer = Standardizer::fit(&data).unwrap();
    let constant: Vec<&str> =
        standardizer.constant_columns().iter().map(|&j| data.columns[j].as_str()).collect();
    assert_eq!(constant, ["pixel_0_0", "pixel_4_0", "pixel_4_7"]);

    let z = standardizer.forward(&data.values).unwrap();
    assert!(z.iter().all(|v| v.is_finite()));
    assert!(standardizer.log_det_forward().is_finite());
    let back = standardizer.inverse(&z).unwrap();
    let worst = back.iter().zip(&data.values).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-12, "round trip error {worst}");
}

#[test]
fn csv_bad_values_name_file_line_column_and_fault() {
    let cases = [
        ("nan_value.csv", 3, 2, "non-finite value \"nan\" in column 'y'"),
        ("inf_value.csv", 4, 2, "non-finite value \"inf\" in column 'y'"),
        ("ragged_row.csv", 3, 3, "row has 3 fields but the first row has 2"),
        ("text_in_numeric_column.csv", 5, 2, "text \"oops\" in numeric column 'y'"),
        ("missing_value.csv", 2, 2, "empty field (missing value) in column 'y'"),
    ];
    for (name, line, column, fault) in cases {
        let message = load_error(name);
        assert!(message.contains(&format!("{name}:{line}:{column}: ")), "{message}");
        assert!(message.contains(fault), "{message}");
        let err = load(&fixture(name), &LoadOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Parse { line: l, column: c, .. } if (l, c) == (line, column)));
    }
}

#[test]
fn csv_empty_file_and_header_without_rows_are_errors() {
    assert!(load_error("empty_file.csv").contains("the file is empty"));
    assert!(load_error("header_without_rows.csv").contains("header on line 1 but no data rows"));
}

#[test]
fn unknown_column_lists_the_available_ones() {
    let err = load(&shared_data("faithful.csv"), &columns(&["eruptions", "duration"])).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("duration"), "{message}");
    assert!(message.contains("faithful.csv"), "{message}");
    assert!(message.contains("available: eruptions, waiting"), "{message}");
}

#[test]
fn selection_by_index_without_header_and_explicit_header_modes() {
    let text = "1,2,3\n4,5,6\n";
    let absent = LoadOptions { header: HeaderMode::Absent, ..columns(&["2", "0"]) };
    let data = read_csv(text.as_bytes(), Path::new("mem.csv"), &absent).unwrap();
    assert_eq!(data.columns, ["x2", "x0"]);
    assert_eq!(data.values, [3.0, 1.0, 6.0, 4.0]);

    let out_of_range = columns(&["3"]);
    let message =
        read_csv(text.as_bytes(), Path::new("mem.csv"), &out_of_range).unwrap_err().to_string();
    assert!(message.contains("no header") && message.contains("0..2"), "{message}");

    let present = LoadOptions { header: HeaderMode::Present, ..LoadOptions::default() };
    let data = read_csv(text.as_bytes(), Path::new("mem.csv"), &present).unwrap();
    assert_eq!((data.n, data.columns.clone()), (1, vec!["1".into(), "2".into(), "3".into()]));
}

#[test]
fn unknown_extension_is_an_error() {
    let message = load_error("unknown_extension.txt");
    assert!(message.contains(".txt") && message.contains(".csv or .npy"), "{message}");
}

#[test]
fn npy_orders_byte_orders_and_dtypes_all_read_as_a_ij_equals_10i_plus_j() {
    let cases = [
        ("c_order_f8.npy", 3, 2),
        ("fortran_order_f8.npy", 3, 2),
        ("big_endian_f4.npy", 3, 2),
        ("big_endian_fortran_i2.npy", 4, 3),
        ("dtype_i1.npy", 3, 2),
        ("dtype_u1.npy", 3, 2),
        ("dtype_u2.npy", 3, 2),
        ("dtype_u4.npy", 3, 2),
        ("dtype_i8.npy", 3, 2),
        ("dtype_u8.npy", 3, 2),
        ("one_d_i4.npy", 5, 1),
    ];
    for (name, n, d) in cases {
        let data = load(&fixture(name), &LoadOptions::default()).unwrap();
        assert_eq!((data.n, data.d), (n, d), "{name}");
        assert_eq!(data.values, grid(n, d), "{name}");
    }
}

#[test]
fn npy_column_selection_by_index() {
    let data = load(&fixture("big_endian_fortran_i2.npy"), &columns(&["2", "x0"])).unwrap();
    assert_eq!(data.columns, ["x2", "x0"]);
    assert_eq!(data.row(3), [32.0, 30.0]);
}

#[test]
fn npy_bad_files_name_file_and_fault() {
    let cases = [
        ("nan_value_fortran.npy", "non-finite value NaN at numpy index [2, 1]"),
        ("inf_value_c.npy", "non-finite value -inf at numpy index [1, 0]"),
        ("three_dimensions.npy", "has 3 dimensions"),
        ("no_rows.npy", "no rows"),
        ("complex_dtype.npy", "'<c16' is not supported"),
        ("bool_dtype.npy", "'|b1' is not supported"),
        ("structured_dtype.npy", "record"),
        (
            "truncated_data.npy",
            "truncated: shape (3, 2) of '<f8' needs 48 bytes of data, the file has 43",
        ),
        ("trailing_bytes.npy", "3 unexpected bytes after the data"),
        ("truncated_header.npy", "truncated"),
        ("not_npy_magic.npy", "not a .npy file"),
    ];
    for (name, fault) in cases {
        let message = load_error(name);
        assert!(message.contains(fault), "{name}: {message}");
    }
}

/// A `.npy` v1.0 file written byte by byte, independent of numpy and npyz.
fn hand_made_npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

#[test]
fn hand_made_big_endian_fortran_f8_reads_back() {
    // a = [[1.5, -2], [3, 4.25], [5, 6]] stored column by column, big-endian.
    let stored = [1.5, 3.0, 5.0, -2.0, 4.25, 6.0];
    let data: Vec<u8> = stored.iter().flat_map(|v: &f64| v.to_be_bytes()).collect();
    let bytes = hand_made_npy(">f8", true, "(3, 2)", &data);
    let read = read_npy(bytes.as_slice(), Path::new("hand.npy"), &LoadOptions::default()).unwrap();
    assert_eq!(read.values, [1.5, -2.0, 3.0, 4.25, 5.0, 6.0]);

    let mut bad = stored;
    bad[4] = f64::NAN; // Fortran element 4 is a[1, 1].
    let data: Vec<u8> = bad.iter().flat_map(|v: &f64| v.to_be_bytes()).collect();
    let bytes = hand_made_npy(">f8", true, "(3, 2)", &data);
    let err = read_npy(bytes.as_slice(), Path::new("hand.npy"), &LoadOptions::default());
    let message = err.unwrap_err().to_string();
    assert!(message.starts_with("hand.npy: ") && message.contains("[1, 1]"), "{message}");
}

#[test]
fn npy_huge_claimed_shape_is_an_error_not_an_allocation() {
    let bytes = hand_made_npy("<f8", false, "(4000000000000, 1000000)", &[0; 16]);
    let err = read_npy(bytes.as_slice(), Path::new("huge.npy"), &LoadOptions::default());
    assert!(err.unwrap_err().to_string().contains("huge.npy"));
}

#[test]
fn npy_shape_overflowing_64_bits_is_an_error_not_a_panic() {
    for shape in ["(1099511627776, 1099511627776)", "(4294967296, 4294967296, 0)"] {
        let bytes = hand_made_npy("<f8", false, shape, &[]);
        let err = read_npy(bytes.as_slice(), Path::new("overflow.npy"), &LoadOptions::default());
        let message = err.unwrap_err().to_string();
        assert!(message.contains("more elements than fit in 64 bits"), "{message}");
    }
}

#[test]
fn npy_deeply_nested_header_is_refused_before_parsing() {
    // The Python-literal parser takes time exponential in the nesting depth: 30 levels would
    // take hours, so this test hangs if the depth check is gone.
    let shape = format!("{}2{}", "[".repeat(30), "]".repeat(30));
    let bytes = hand_made_npy("<f8", false, &shape, &[]);
    let err = read_npy(bytes.as_slice(), Path::new("deep.npy"), &LoadOptions::default());
    assert!(err.unwrap_err().to_string().contains("nests brackets deeper than"));
}

#[test]
fn write_csv_round_trips_and_leaves_no_temporary_file() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("data_loader_write_csv");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("samples.csv");
    let values = [0.1, -2.5e-300, 1e300, 3.0, f64::MIN_POSITIVE, -0.0];
    write_csv(&path, &["a", "b,c"], &values).unwrap();

    let data = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(data.columns, ["a", "b,c"]);
    assert_eq!(data.values, values);
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["samples.csv"]);

    let refused = write_csv(&path, &["a", "b"], &[1.0, f64::NAN]);
    assert!(refused.is_err());
    assert_eq!(load(&path, &LoadOptions::default()).unwrap().values, values, "old file kept");
}

#[test]
fn write_csv_into_a_missing_directory_is_an_io_error() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_such_dir/samples.csv");
    let err = write_csv(&path, &["a"], &[1.0]).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn split_of_faithful_is_reproducible_and_partitions_the_rows() {
    let data = load(&shared_data("faithful.csv"), &LoadOptions::default()).unwrap();
    let (train, test) = split(&data, 0.25, &mut stream(1, Stream::Split)).unwrap();
    let (train_again, _) = split(&data, 0.25, &mut stream(1, Stream::Split)).unwrap();
    assert_eq!((train.n, test.n), (204, 68));
    assert_eq!(train, train_again);

    let mut rows: Vec<Vec<u64>> = (0..train.n)
        .map(|i| train.row(i).iter().map(|v| v.to_bits()).collect())
        .chain((0..test.n).map(|i| test.row(i).iter().map(|v| v.to_bits()).collect()))
        .collect();
    let mut all: Vec<Vec<u64>> =
        (0..data.n).map(|i| data.row(i).iter().map(|v| v.to_bits()).collect()).collect();
    rows.sort();
    all.sort();
    assert_eq!(rows, all);
}

#[test]
fn dataset_new_checks_shape() {
    let ok = Dataset::new(vec!["a".into(), "b".into()], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!((ok.n, ok.d, ok.column(1)), (2, 2, vec![2.0, 4.0]));
}
