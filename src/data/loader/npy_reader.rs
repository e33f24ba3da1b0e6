//! NumPy `.npy` into a [`Dataset`].
//!
//! Accepted: format versions 1 to 3; dtypes float32/float64 and the integers int8..int64 and
//! uint8..uint64, either byte order; C or Fortran order; shape `(n,)` (read as n x 1) or
//! `(n, d)` with n, d >= 1. Integers are converted to f64 (exact up to 2^53 in magnitude).
//!
//! Decoding is done by `npyz`, after checks that keep a hostile file from hurting it: the
//! header must be at most 10,000 bytes (numpy's own default limit) with brackets nested at most
//! [`MAX_NESTING`] deep (the Python-literal parser takes time exponential in the depth), its
//! shape must not overflow 64 bits (npyz multiplies without checking), and the data must have
//! exactly the length the header promises, so nothing is allocated on a file's word alone.

use std::io::Read;
use std::path::Path;

use npyz::{DType, Deserialize, NpyFile, NpyHeader, Order, TypeChar};

use super::{default_column_names, select_columns, Dataset, LoadOptions};
use crate::{Error, Result};

/// The largest header accepted. numpy writes a few hundred bytes and refuses to read more than
/// 10,000 by default.
const MAX_HEADER_BYTES: usize = 10_000;

/// The deepest bracket nesting accepted in a header: a plain array's header, a dict holding a
/// shape tuple, has depth 2.
const MAX_NESTING: usize = 4;

/// Reads a `.npy` file from `reader`; `source` names the file in error messages.
///
/// Errors ([`Error::DataFile`]): not a `.npy` file, a truncated header or data, extra bytes after
/// the data, an unsupported dtype (complex, bool, strings, records, ...) or shape (0 or more
/// than 2 dimensions, no rows or columns), and a NaN or infinite value, given with its 0-based
/// numpy index `[row, column]`. Column selection uses 0-based indices (or `x0, x1, ...`).
pub fn read_npy<R: Read>(mut reader: R, source: &Path, options: &LoadOptions) -> Result<Dataset> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| Error::io(source, e))?;

    let data_start = check_preamble(&bytes).map_err(|m| data_error(source, m))?;
    check_header_text(&bytes[..data_start]).map_err(|m| data_error(source, m))?;
    let header = NpyHeader::from_reader(&bytes[..])
        .map_err(|e| data_error(source, format!("bad .npy header: {e}")))?;
    let layout = Layout::of(&header).map_err(|m| data_error(source, m))?;
    layout.check_length(bytes.len() - data_start).map_err(|m| data_error(source, m))?;

    let values = decode(header, &bytes[data_start..], &layout, source)?;
    let names = default_column_names(layout.d);
    let selected = select_columns(&names, options, false, source)?;
    let values = keep_columns(values, layout.d, &selected);
    let columns = selected.iter().map(|&j| names[j].clone()).collect();
    Ok(Dataset { columns, n: layout.n, d: selected.len(), values })
}

/// Checks the magic string, version and header length; returns where the data starts.
fn check_preamble(bytes: &[u8]) -> std::result::Result<usize, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (it does not start with \\x93NUMPY)".into());
    }

    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        2 | 3 => return Err("truncated .npy preamble".into()),
        major => return Err(format!(".npy format version {major} is not supported (1 to 3 are)")),
    };

    if header_len > MAX_HEADER_BYTES {
        return Err(format!("header of {header_len} bytes is larger than {MAX_HEADER_BYTES}"));
    }
    let data_start = header_start + header_len;
    if data_start > bytes.len() {
        return Err(format!(
            "truncated: the header needs {header_len} bytes, the file has {} after the preamble",
            bytes.len() - header_start
        ));
    }
    Ok(data_start)
}

/// Rejects headers that would make `npyz` slow or panic; leaves every other fault to `npyz`.
///
/// `preamble_and_header` ends where the data starts.
fn check_header_text(preamble_and_header: &[u8]) -> std::result::Result<(), String> {
    let header_start = if preamble_and_header[6] == 1 { 10 } else { 12 };
    let text = &preamble_and_header[header_start..];

    let mut depth = 0usize;
    for &byte in text {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(format!("header nests brackets deeper than {MAX_NESTING}"));
        }
    }

    let text = std::str::from_utf8(text).map_err(|_| "header is not UTF-8".to_string())?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let Ok(py_literal::Value::Dict(entries)) = text.parse::<py_literal::Value>() else {
        return Ok(());
    };
    for (key, value) in &entries {
        let is_shape = matches!(key, py_literal::Value::String(k) if k == "shape");
        let dims = match value {
            py_literal::Value::Tuple(dims) | py_literal::Value::List(dims) if is_shape => dims,
            _ => continue,
        };
        let mut elements: u64 = 1;
        for dim in dims {
            let py_literal::Value::Integer(dim) = dim else { continue };
            let Ok(dim) = dim.to_string().parse::<u64>() else { continue };
            if dim != 0 {
                elements = elements.checked_mul(dim).ok_or_else(|| {
                    format!("shape {value} has more elements than fit in 64 bits")
                })?;
            }
        }
    }
    Ok(())
}

/// Shape, storage order and element type of a 1D or 2D numeric array.
struct Layout {
    n: usize,
    d: usize,
    /// Whether the file's shape was `(n,)`.
    one_d: bool,
    order: Order,
    type_char: TypeChar,
    item_bytes: usize,
    descr: String,
}

impl Layout {
    fn of(header: &NpyHeader) -> std::result::Result<Layout, String> {
        let dtype = header.dtype();
        let descr = dtype.descr();
        let DType::Plain(type_str) = dtype else {
            return Err(format!("dtype {descr} is a record or array type; expected plain numbers"));
        };
        let item_bytes = type_str.size_field() as usize;
        let supported = matches!(
            (type_str.type_char(), item_bytes),
            (TypeChar::Float, 4 | 8) | (TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8)
        );
        if !supported {
            return Err(format!(
                "dtype {descr} is not supported: expected float32, float64 or an integer type"
            ));
        }

        let (n, d) = match header.shape() {
            [n] => (*n, 1),
            [n, d] => (*n, *d),
            shape => {
                return Err(format!(
                    "shape {shape:?} has {} dimensions; expected (n,) or (n, d)",
                    shape.len()
                ))
            }
        };
        if n == 0 || d == 0 {
            return Err(format!("shape {:?} has no rows or no columns", header.shape()));
        }
        let to_usize = |k: u64| usize::try_from(k).map_err(|_| format!("dimension {k} too large"));
        let (n, d) = (to_usize(n)?, to_usize(d)?);
        let one_d = header.shape().len() == 1;
        let type_char = type_str.type_char();
        Ok(Layout { n, d, one_d, order: header.order(), type_char, item_bytes, descr })
    }

    /// The data must be exactly `n * d * item_bytes` long.
    fn check_length(&self, available: usize) -> std::result::Result<(), String> {
        let needed = self
            .n
            .checked_mul(self.d)
            .and_then(|k| k.checked_mul(self.item_bytes))
            .ok_or_else(|| format!("shape ({}, {}) is too large", self.n, self.d))?;
        if available < needed {
            return Err(format!(
                "truncated: shape ({}, {}) of {} needs {needed} bytes of data, the file has \
                 {available}",
                self.n, self.d, self.descr
            ));
        }
        if available > needed {
            return Err(format!(
                "{} unexpected bytes after the data of shape ({}, {}) of {}",
                available - needed,
                self.n,
                self.d,
                self.descr
            ));
        }
        Ok(())
    }

    /// The row-major position of the `k`-th stored element, and its numpy index.
    fn place(&self, k: usize) -> (usize, usize) {
        match self.order {
            Order::C => (k / self.d, k % self.d),
            Order::Fortran => (k % self.n, k / self.n),
        }
    }
}

/// Decodes every element to f64, row-major, rejecting NaN and infinities.
fn decode(header: NpyHeader, data: &[u8], layout: &Layout, source: &Path) -> Result<Vec<f64>> {
    let file = NpyFile::with_header(header, data);
    let stored = match (layout.type_char, layout.item_bytes) {
        (TypeChar::Float, 4) => stored_as::<f32>(file, |v| v as f64),
        (TypeChar::Float, _) => stored_as::<f64>(file, |v| v),
        (TypeChar::Int, 1) => stored_as::<i8>(file, |v| v as f64),
        (TypeChar::Int, 2) => stored_as::<i16>(file, |v| v as f64),
        (TypeChar::Int, 4) => stored_as::<i32>(file, |v| v as f64),
        (TypeChar::Int, _) => stored_as::<i64>(file, |v| v as f64),
        (_, 1) => stored_as::<u8>(file, |v| v as f64),
        (_, 2) => stored_as::<u16>(file, |v| v as f64),
        (_, 4) => stored_as::<u32>(file, |v| v as f64),
        (_, _) => stored_as::<u64>(file, |v| v as f64),
    }
    .map_err(|e| data_error(source, format!("cannot decode {} data: {e}", layout.descr)))?;

    let mut values = vec![0.0; stored.len()];
    for (k, value) in stored.into_iter().enumerate() {
        let (row, column) = layout.place(k);
        if !value.is_finite() {
            return Err(data_error(source, non_finite_message(value, row, column, k, layout)));
        }
        values[row * layout.d + column] = value;
    }
    Ok(values)
}

fn stored_as<T: Deserialize>(
    file: NpyFile<&[u8]>,
    to_f64: fn(T) -> f64,
) -> std::io::Result<Vec<f64>> {
    let reader = file.data::<T>().map_err(std::io::Error::other)?;
    reader.map(|value| value.map(to_f64)).collect()
}

fn non_finite_message(value: f64, row: usize, column: usize, k: usize, layout: &Layout) -> String {
    let index = if layout.one_d { format!("[{row}]") } else { format!("[{row}, {column}]") };
    let order = match layout.order {
        Order::C => "C",
        Order::Fortran => "Fortran",
    };
    format!(
        "non-finite value {value} at numpy index {index} (element {k} of the file, {order} order)"
    )
}

fn keep_columns(values: Vec<f64>, d: usize, selected: &[usize]) -> Vec<f64> {
    if selected.iter().copied().eq(0..d) {
        return values;
    }
    values.chunks(d).flat_map(|row| selected.iter().map(|&j| row[j])).collect()
}

fn data_error(source: &Path, message: impl Into<String>) -> Error {
    Error::DataFile { path: source.to_path_buf(), message: message.into() }
}
