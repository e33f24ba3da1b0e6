//! Checkpoints: the network as a safetensors file that PyTorch reads and writes too.
//!
//! Tensors carry the notebook's `state_dict` names and layout: Linear layer l of the MLP is
//! entry 2l of its `nn.Sequential` (SiLUs sit at the odd entries), so the file holds
//! `net.0.weight` `[hidden, d + t_dim]`, `net.0.bias` `[hidden]`, `net.2.weight`, ...,
//! `net.{2 depth}.weight` `[d, hidden]`, `net.{2 depth}.bias` `[d]`, written as F32.
//!
//! The file's metadata holds our [`NetConfig`] as JSON under [`CONFIG_KEY`], plus any string
//! map the caller adds (for example what the data was standardised with). A file without our
//! config, such as one saved by `safetensors.torch.save_file(model.state_dict(), ...)`, still
//! loads: d, t_dim, hidden and depth follow from the tensor shapes, and max_period is the
//! notebook's 10000. F32 and F64 tensors are accepted.
//!
//! Writing goes to a temporary file in the same directory, which is then renamed over the
//! target, so an existing checkpoint is never left half-written.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::net::{NetConfig, VelocityNet};
use super::scalar::Scalar;
use crate::{Error, Result};

/// Metadata key under which the network's [`NetConfig`] is stored, as JSON.
pub const CONFIG_KEY: &str = "flowmatching.net_config";

/// max_period assumed for files without our config (the notebook's value).
const DEFAULT_MAX_PERIOD: f64 = 10_000.0;

/// A network read from a checkpoint, with the caller's metadata.
#[derive(Debug, Clone)]
pub struct Checkpoint<T: Scalar> {
    /// The network.
    pub net: VelocityNet<T>,
    /// Every metadata entry of the file except [`CONFIG_KEY`].
    pub extra: BTreeMap<String, String>,
}

/// The `state_dict` names of Linear layer `l`'s weight and bias.
pub fn tensor_names(l: usize) -> (String, String) {
    (format!("net.{}.weight", 2 * l), format!("net.{}.bias", 2 * l))
}

/// Writes `net` (as F32) and `extra` metadata to `path`, atomically.
///
/// Fails if `extra` uses [`CONFIG_KEY`], if a parameter is not finite, or on any I/O error.
pub fn save<T: Scalar>(
    path: &Path,
    net: &VelocityNet<T>,
    extra: &BTreeMap<String, String>,
) -> Result<()> {
    if extra.contains_key(CONFIG_KEY) {
        return Err(Error::setting(
            "checkpoint metadata key",
            CONFIG_KEY,
            "is reserved for the network config",
        ));
    }
    // Checked as stored: a finite f64 beyond the f32 range would become infinite.
    if let Some(i) = net.params().iter().position(|p| !(p.to_f64() as f32).is_finite()) {
        return Err(checkpoint_error(path, format!("refusing to write non-finite parameter {i}")));
    }

    let bytes = serialize(net, extra).map_err(|m| checkpoint_error(path, m))?;
    write_atomically(path, &bytes)
}

/// Reads a checkpoint written by [`save`] or by PyTorch, converting to precision `T`.
pub fn load<T: Scalar>(path: &Path) -> Result<Checkpoint<T>> {
    let bytes = fs::read(path).map_err(|e| checkpoint_error(path, format!("cannot read: {e}")))?;
    from_bytes(&bytes, path)
}

/// Decodes a checkpoint held in memory; `source` names it in errors.
pub fn from_bytes<T: Scalar>(bytes: &[u8], source: &Path) -> Result<Checkpoint<T>> {
    decode(bytes).map_err(|m| checkpoint_error(source, m))
}

fn checkpoint_error(path: &Path, message: String) -> Error {
    Error::Checkpoint { path: path.to_path_buf(), message }
}

fn serialize<T: Scalar>(
    net: &VelocityNet<T>,
    extra: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let mut buffers = Vec::new();
    for (l, layer) in net.layers().iter().enumerate() {
        let (w_name, b_name) = tensor_names(l);
        buffers.push((w_name, vec![layer.outputs, layer.inputs], f32_bytes(net.weight(l))));
        buffers.push((b_name, vec![layer.outputs], f32_bytes(net.bias(l))));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, data)| {
            let view =
                TensorView::new(Dtype::F32, shape.clone(), data).map_err(|e| e.to_string())?;
            Ok((name.as_str(), view))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut metadata: HashMap<String, String> = extra.clone().into_iter().collect();
    let config = serde_json::to_string(net.config()).map_err(|e| e.to_string())?;
    metadata.insert(CONFIG_KEY.to_string(), config);
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| format!("cannot encode: {e}"))?;
    sort_header(&bytes).map_err(|e| format!("cannot encode: {e}"))
}

/// The file with its JSON header's keys in sorted order.
///
/// safetensors writes the metadata in a hash map's order, which changes from run to run, so
/// the same network would be saved as different bytes. The data section and the tensors'
/// offsets into it are untouched; the header is padded with spaces to a multiple of 8 bytes,
/// as safetensors pads it.
fn sort_header(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let short = || "shorter than its header".to_string();
    let len_bytes: [u8; 8] = bytes.get(..8).ok_or_else(short)?.try_into().map_err(|_| short())?;
    let n = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|e| e.to_string())?;
    let header = bytes.get(8..8 + n).ok_or_else(short)?;
    let mut entries: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| e.to_string())?;
    if let Some(metadata) = entries.remove("__metadata__") {
        let sorted: BTreeMap<String, String> =
            serde_json::from_value(metadata).map_err(|e| e.to_string())?;
        let sorted = serde_json::to_value(sorted).map_err(|e| e.to_string())?;
        entries.insert("__metadata__".to_string(), sorted);
    }
    let mut header = serde_json::to_vec(&entries).map_err(|e| e.to_string())?;
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + header.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

fn f32_bytes<T: Scalar>(values: &[T]) -> Vec<u8> {
    values.iter().flat_map(|v| (v.to_f64() as f32).to_le_bytes()).collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write(path, bytes)
        .map_err(|e| checkpoint_error(path, format!("cannot write: {e}")))
}

fn decode<T: Scalar>(bytes: &[u8]) -> Result<Checkpoint<T>, String> {
    if bytes.get(8) != Some(&b'{') {
        return Err("not a safetensors file (those start with an 8-byte header length and a JSON \
             header): give a checkpoint written by `train`, `demo` or PyTorch's save_file"
            .to_string());
    }
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("bad header: {e}"))?;
    let mut extra: BTreeMap<String, String> =
        header.metadata().clone().unwrap_or_default().into_iter().collect();

    let config = match extra.remove(CONFIG_KEY) {
        Some(json) => serde_json::from_str::<NetConfig>(&json)
            .map_err(|e| format!("bad metadata {CONFIG_KEY}: {e}"))?,
        None => infer_config(&tensors)?,
    };
    config.validate().map_err(|e| format!("bad network config: {e}"))?;

    let mut params = Vec::with_capacity(config.num_params());
    let mut expected_names = Vec::new();
    for (l, (outputs, inputs)) in config.layer_dims().into_iter().enumerate() {
        let (w_name, b_name) = tensor_names(l);
        params.extend(read_tensor::<T>(&tensors, &w_name, &[outputs, inputs])?);
        params.extend(read_tensor::<T>(&tensors, &b_name, &[outputs])?);
        expected_names.extend([w_name, b_name]);
    }
    if let Some(name) = tensors.names().into_iter().find(|n| !expected_names.iter().any(|e| e == n))
    {
        return Err(format!("unexpected tensor {name} for a network of depth {}", config.depth));
    }

    let net = VelocityNet::from_params(config, params).map_err(|e| e.to_string())?;
    Ok(Checkpoint { net, extra })
}

/// d, t_dim, hidden and depth from the shapes of a PyTorch `state_dict`.
fn infer_config(tensors: &SafeTensors) -> Result<NetConfig, String> {
    let shape_of = |name: &str| tensors.tensor(name).ok().map(|t| t.shape().to_vec());
    let first = shape_of("net.0.weight").ok_or("missing tensor net.0.weight")?;
    let [hidden, input_dim] = first[..] else {
        return Err(format!("tensor net.0.weight has shape {first:?}, expected 2 dimensions"));
    };

    let mut last = 0;
    while shape_of(&tensor_names(last + 1).0).is_some() {
        last += 1;
    }
    if last == 0 {
        return Err("missing tensor net.2.weight (the network needs a hidden layer)".into());
    }
    let (last_name, _) = tensor_names(last);
    let last_shape = shape_of(&last_name).unwrap_or_default();
    let [dim, _] = last_shape[..] else {
        return Err(format!("tensor {last_name} has shape {last_shape:?}, expected 2 dimensions"));
    };
    if input_dim <= dim {
        return Err(format!(
            "net.0.weight takes {input_dim} inputs, which leaves no time embedding beside d = {dim}"
        ));
    }
    Ok(NetConfig {
        dim,
        hidden,
        depth: last,
        t_dim: input_dim - dim,
        max_period: DEFAULT_MAX_PERIOD,
    })
}

/// The values of tensor `name`, checked for shape and finiteness, converted to `T`.
fn read_tensor<T: Scalar>(
    tensors: &SafeTensors,
    name: &str,
    shape: &[usize],
) -> Result<Vec<T>, String> {
    let view = tensors.tensor(name).map_err(|_| format!("missing tensor {name}"))?;
    if view.shape() != shape {
        return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", view.shape()));
    }
    let values: Vec<f64> = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        Dtype::F64 => {
            view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
        }
        other => {
            return Err(format!("tensor {name} has dtype {other:?}; only F32 and F64 are read"))
        }
    };
    let values: Vec<T> = values.into_iter().map(T::from_f64).collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("tensor {name} holds a non-finite value at flat index {i}"));
    }
    Ok(values)
}
