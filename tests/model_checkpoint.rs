//! Checkpoints: round trips, PyTorch-style files without our metadata, and every error case.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use flowmatching::model::checkpoint::{self, tensor_names, CONFIG_KEY};
use flowmatching::model::{NetConfig, VelocityNet, Workspace};
use flowmatching::rng::{stream, Stream};
use flowmatching::Error;
use safetensors::tensor::{Dtype, TensorView};

/// A fresh directory under the system temp dir, unique to this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fm-model-ckpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config() -> NetConfig {
    NetConfig { dim: 3, hidden: 9, depth: 3, t_dim: 5, max_period: 321.0 }
}

fn net() -> VelocityNet<f32> {
    VelocityNet::new(config(), &mut stream(2, Stream::Init)).unwrap()
}

fn outputs(net: &VelocityNet<f32>) -> Vec<f32> {
    let n = 50;
    let x: Vec<f32> = (0..n * net.dim()).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
    let t: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
    let mut v = vec![0.0; x.len()];
    net.forward(&x, &t, &mut v, &mut Workspace::new()).unwrap();
    v
}

/// A raw safetensors file of named f32/f64 tensors and optional metadata, as PyTorch writes.
fn write_raw(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<f64>, Dtype)],
    meta: Option<HashMap<String, String>>,
) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|(name, shape, values, dtype)| {
            let data = match dtype {
                Dtype::F64 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                Dtype::F32 => values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect(),
                _ => vec![0; values.len() * dtype.bitsize() / 8],
            };
            (name.clone(), shape.clone(), data, *dtype)
        })
        .collect();
    let views = bytes.iter().map(|(name, shape, data, dtype)| {
        (name.clone(), TensorView::new(*dtype, shape.clone(), data).unwrap())
    });
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

/// The tensors of `net` in state_dict naming, as f64 values of the given dtype.
fn state_dict(net: &VelocityNet<f32>, dtype: Dtype) -> Vec<(String, Vec<usize>, Vec<f64>, Dtype)> {
    let mut tensors = Vec::new();
    for (l, layer) in net.layers().iter().enumerate() {
        let (w, b) = tensor_names(l);
        let widen = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        tensors.push((w, vec![layer.outputs, layer.inputs], widen(net.weight(l)), dtype));
        tensors.push((b, vec![layer.outputs], widen(net.bias(l)), dtype));
    }
    tensors
}

fn checkpoint_message(result: Result<checkpoint::Checkpoint<f32>, Error>) -> String {
    match result {
        Err(Error::Checkpoint { message, .. }) => message,
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
}

#[test]
fn round_trip_keeps_config_metadata_and_outputs_bit_for_bit() {
    let dir = temp_dir("round-trip");
    let path = dir.join("net.safetensors");
    let net = net();
    let extra = BTreeMap::from([
        ("path".to_string(), "linear".to_string()),
        ("standardize".to_string(), "{\"mean\":[1.5],\"std\":[2.0]}".to_string()),
    ]);
    checkpoint::save(&path, &net, &extra).unwrap();

    let loaded = checkpoint::load::<f32>(&path).unwrap();
    assert_eq!(loaded.net.config(), &config());
    assert_eq!(loaded.extra, extra);
    assert_eq!(loaded.net.params(), net.params());
    assert_eq!(outputs(&loaded.net), outputs(&net));

    // An f64 network is stored as f32 and read back in either precision.
    let wide = net.to_f64();
    checkpoint::save(&path, &wide, &BTreeMap::new()).unwrap();
    let back = checkpoint::load::<f64>(&path).unwrap().net;
    assert_eq!(back.cast::<f32>().params(), net.params());

    // Writing leaves nothing else behind (the temporary file was renamed).
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("net.safetensors")]);
}

#[test]
fn files_without_our_metadata_have_their_config_inferred() {
    let dir = temp_dir("infer");
    let net = net();
    for dtype in [Dtype::F32, Dtype::F64] {
        let path = dir.join(format!("{dtype:?}.safetensors"));
        let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
        write_raw(&path, &state_dict(&net, dtype), Some(meta));

        let loaded = checkpoint::load::<f32>(&path).unwrap();
        // max_period is not in the shapes: the notebook's 10000 is assumed.
        let expected = NetConfig { max_period: 10_000.0, ..config() };
        assert_eq!(loaded.net.config(), &expected);
        assert_eq!(loaded.net.params(), net.params());
        assert_eq!(loaded.extra.get("format").map(String::as_str), Some("pt"));
    }
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let dir = temp_dir("shapes");
    let path = dir.join("bad.safetensors");
    let good = state_dict(&net(), Dtype::F32);
    let with_config = || {
        Some(HashMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(&config()).unwrap())]))
    };

    // Missing bias of layer 1 (net.2.bias), with our config present.
    let missing: Vec<_> = good.iter().filter(|t| t.0 != "net.2.bias").cloned().collect();
    write_raw(&path, &missing, with_config());
    assert!(checkpoint_message(checkpoint::load(&path)).contains("missing tensor net.2.bias"));

    // Wrong shape.
    let mut wrong = good.clone();
    wrong[0].1 = vec![wrong[0].1[1], wrong[0].1[0]]; // [9, 8] stored as [8, 9]
    write_raw(&path, &wrong, with_config());
    let message = checkpoint_message(checkpoint::load(&path));
    assert!(message.contains("net.0.weight has shape [8, 9], expected [9, 8]"), "{message}");

    // A tensor the network does not have.
    let mut extra = good.clone();
    extra.push(("net.1.weight".to_string(), vec![1], vec![0.0], Dtype::F32));
    write_raw(&path, &extra, with_config());
    assert!(checkpoint_message(checkpoint::load(&path)).contains("unexpected tensor net.1.weight"));

    // No first layer at all, without metadata.
    write_raw(&path, &good[2..], None);
    assert!(checkpoint_message(checkpoint::load(&path)).contains("missing tensor net.0.weight"));

    // Unsupported dtype.
    let mut half = good.clone();
    half[0].3 = Dtype::F16;
    write_raw(&path, &half, with_config());
    assert!(checkpoint_message(checkpoint::load(&path)).contains("dtype"));
}

#[test]
fn non_finite_weights_are_refused_both_ways() {
    let dir = temp_dir("non-finite");
    let path = dir.join("nan.safetensors");
    let mut tensors = state_dict(&net(), Dtype::F32);
    tensors[1].2[1] = f64::NAN; // net.0.bias
    write_raw(&path, &tensors, None);
    let message = checkpoint_message(checkpoint::load(&path));
    assert!(message.contains("net.0.bias") && message.contains("non-finite"), "{message}");

    // An f64 value too large for f32 becomes infinite on reading into f32.
    let mut tensors = state_dict(&net(), Dtype::F64);
    tensors[0].2[0] = 1e300;
    write_raw(&path, &tensors, None);
    assert!(checkpoint_message(checkpoint::load(&path)).contains("non-finite"));

    let mut broken = net();
    broken.params_mut()[5] = f32::INFINITY;
    let target = dir.join("out.safetensors");
    assert!(matches!(
        checkpoint::save(&target, &broken, &BTreeMap::new()),
        Err(Error::Checkpoint { .. })
    ));
    // Finite in f64 but not in the f32 file.
    let mut too_big = net().to_f64();
    too_big.params_mut()[7] = 1e300;
    assert!(checkpoint::save(&target, &too_big, &BTreeMap::new()).is_err());
    assert!(!target.exists());
}

#[test]
fn bad_metadata_unreadable_files_and_reserved_keys_are_errors() {
    let dir = temp_dir("metadata");
    let path = dir.join("meta.safetensors");
    let tensors = state_dict(&net(), Dtype::F32);

    let bad_json = HashMap::from([(CONFIG_KEY.to_string(), "{\"dim\": 3,".to_string())]);
    write_raw(&path, &tensors, Some(bad_json));
    assert!(checkpoint_message(checkpoint::load(&path)).contains(CONFIG_KEY));

    let zero_dim = NetConfig { dim: 0, ..config() };
    let invalid =
        HashMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(&zero_dim).unwrap())]);
    write_raw(&path, &tensors, Some(invalid));
    assert!(checkpoint_message(checkpoint::load(&path)).contains("dim"));

    let missing = dir.join("does-not-exist.safetensors");
    match checkpoint::load::<f32>(&missing) {
        Err(Error::Checkpoint { path, message }) => {
            assert_eq!(path, missing);
            assert!(message.contains("cannot read"));
        }
        other => panic!("{other:?}"),
    }

    // A CSV given as a checkpoint, and a checkpoint cut short.
    std::fs::write(&path, b"x,y\n1.5,2\n3,4\n").unwrap();
    let message = checkpoint_message(checkpoint::load(&path));
    assert!(message.contains("not a safetensors file") && message.contains("`train`"), "{message}");
    checkpoint::save(&path, &net(), &BTreeMap::new()).unwrap();
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    assert!(checkpoint_message(checkpoint::load(&path)).contains("not a safetensors file"));

    let reserved = BTreeMap::from([(CONFIG_KEY.to_string(), "x".to_string())]);
    assert!(matches!(
        checkpoint::save(&dir.join("r.safetensors"), &net(), &reserved),
        Err(Error::InvalidSetting { .. })
    ));
}

#[test]
fn a_failed_write_leaves_the_existing_file_intact() {
    let dir = temp_dir("atomic");
    let path = dir.join("keep.safetensors");
    checkpoint::save(&path, &net(), &BTreeMap::new()).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Writing into a directory that does not exist fails before touching anything.
    let elsewhere = dir.join("no-such-dir").join("keep.safetensors");
    assert!(checkpoint::save(&elsewhere, &net(), &BTreeMap::new()).is_err());

    // Refused weights never reach the existing file.
    let mut broken = net();
    broken.params_mut()[0] = f32::NAN;
    assert!(checkpoint::save(&path, &broken, &BTreeMap::new()).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn the_same_network_is_saved_as_the_same_bytes_with_sorted_metadata() {
    let dir = temp_dir("bytes");
    let path = dir.join("net.safetensors");
    let net = net();
    let extra: BTreeMap<String, String> =
        (0..8).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
    checkpoint::save(&path, &net, &extra).unwrap();
    let first = std::fs::read(&path).unwrap();
    // Each save builds a fresh hash map inside safetensors; unsorted, eight keys would come
    // out in another order almost every time.
    for _ in 0..4 {
        checkpoint::save(&path, &net, &extra).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first);
    }

    let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
    let at = |key: &str| header.find(&format!("\"{key}\"")).unwrap();
    let mut keys: Vec<String> = extra.keys().cloned().collect();
    keys.push(CONFIG_KEY.to_string());
    keys.sort();
    assert!(keys.windows(2).all(|w| at(&w[0]) < at(&w[1])), "{header}");
    assert_eq!(checkpoint::load::<f32>(&path).unwrap().net.params(), net.params());
}
