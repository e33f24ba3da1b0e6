//! The readers on many random and mutated inputs: each must return a dataset or an error, never
//! panic, and a dataset it returns must be finite and consistent. A seeded, bounded stand-in for
//! the cargo-fuzz targets in fuzz/ that runs in every `cargo test`.

use std::path::Path;

use flowmatching::data::loader::{read_csv, read_npy, Dataset, HeaderMode, LoadOptions};
use flowmatching::rng::{stream, Rng, Stream};
use rand::Rng as _;

fn fixtures(extension: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// One random edit: flip a bit, overwrite, insert or delete a byte, truncate, or splice in an
/// interesting token.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) {
    const TOKENS: [&[u8]; 12] = [
        b"nan",
        b"-inf",
        b"1e400",
        b",",
        b"\n",
        b"\"",
        b"\r\n",
        b"18446744073709551616",
        b"(4294967296, 4294967296)",
        b"'>c16'",
        b"True",
        b"[[[[[[",
    ];
    let at = if bytes.is_empty() { 0 } else { rng.random_range(0..bytes.len()) };
    match rng.random_range(0..6) {
        0 if !bytes.is_empty() => bytes[at] ^= 1 << rng.random_range(0..8),
        1 if !bytes.is_empty() => bytes[at] = rng.random(),
        2 => bytes.insert(at, rng.random()),
        3 if !bytes.is_empty() => {
            bytes.remove(at);
        }
        4 => bytes.truncate(at),
        _ => {
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            bytes.splice(at..at, token.iter().copied());
        }
    }
}

fn check(dataset: &Dataset) {
    assert!(dataset.n >= 1 && dataset.d >= 1);
    assert_eq!(dataset.values.len(), dataset.n * dataset.d);
    assert_eq!(dataset.columns.len(), dataset.d);
    assert!(dataset.values.iter().all(|v| v.is_finite()));
}

fn random_options(rng: &mut Rng) -> LoadOptions {
    let header =
        [HeaderMode::Auto, HeaderMode::Present, HeaderMode::Absent][rng.random_range(0..3)];
    let columns = rng.random_bool(0.3).then(|| vec!["1".to_string(), "x".to_string()]);
    LoadOptions { header, columns, ..LoadOptions::default() }
}

#[test]
fn csv_reader_survives_mutated_and_random_input() {
    let mut rng = stream(2024, Stream::Data);
    let mut seeds = fixtures("csv");
    seeds.push(b"x,y\n1,2\n-3.5,4e-3\n5,6\n".to_vec());
    seeds.push(b"1,2,3\n4,5,6\n".to_vec());
    let mut accepted = 0;
    for round in 0..4000 {
        let mut bytes = if round % 10 == 0 {
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
        } else {
            seeds[rng.random_range(0..seeds.len())].clone()
        };
        for _ in 0..rng.random_range(1..6) {
            mutate(&mut bytes, &mut rng);
        }
        if let Ok(dataset) =
            read_csv(bytes.as_slice(), Path::new("m.csv"), &random_options(&mut rng))
        {
            check(&dataset);
            accepted += 1;
        }
    }
    assert!(accepted > 30, "mutations should leave some files valid; {accepted} were");
}

#[test]
fn npy_reader_survives_mutated_and_random_input() {
    let mut rng = stream(2025, Stream::Data);
    let seeds = fixtures("npy");
    let mut accepted = 0;
    for round in 0..4000 {
        let mut bytes = if round % 10 == 0 {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend((0..rng.random_range(0..200)).map(|_| rng.random::<u8>()));
            b
        } else {
            seeds[rng.random_range(0..seeds.len())].clone()
        };
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut bytes, &mut rng);
        }
        if let Ok(dataset) = read_npy(bytes.as_slice(), Path::new("m.npy"), &LoadOptions::default())
        {
            check(&dataset);
            assert!(dataset.values.len() <= bytes.len());
            accepted += 1;
        }
    }
    assert!(accepted > 30, "mutations should leave some files valid; {accepted} were");
}
