//! Bad inputs are rejected before anything is drawn, with errors that name the culprit, and a
//! failed write leaves neither a half-written file nor a temporary one behind.

use std::path::{Path, PathBuf};

use flowmatching::plot::*;
use flowmatching::Error;

/// A fresh, empty directory for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("flowmatching-plot-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bins() -> Bins {
    Bins { count: 10, range: (-1.0, 1.0) }
}

fn entries(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn empty_data_is_rejected() {
    let dir = TempDir::new("empty");
    let out = dir.join("x.png");
    let labels = Labels::default();

    let err = histogram_1d(&out, &labels, &[], &bins(), None).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { .. }), "{err}");
    let empty = [Samples1d { label: "euler", values: &[] }];
    let err = histogram_1d(&out, &labels, &empty, &bins(), None).unwrap_err();
    assert!(err.to_string().contains("euler"), "{err}");

    assert!(line_chart(&out, &labels, &[], Axes::default()).is_err());
    assert!(
        line_chart(&out, &labels, &[Series { label: "s", points: &[] }], Axes::default()).is_err()
    );
    assert!(scatter_2d(&out, "", &[PointPanel { title: "p", points: &[] }], None, &[]).is_err());
    assert!(heatmap_2d(&out, "", &[], 10, None).is_err());
    assert!(quiver(&out, "", &[], None).is_err());
    let empty = [Trajectories { title: "p", t: &[0.0, 1.0], x: &[] }];
    assert!(trajectories(&out, "", &empty).is_err());
    assert!(corner(&out, "", &[CornerSet { label: "c", points: &[] }], 3, 2, 10).is_err());
    let grid = ImageGrid { pixels: &[], height: 8, width: 8, columns: 4, range: (0.0, 16.0) };
    assert!(image_grid(&out, "", &grid).is_err());
    assert!(entries(&dir).is_empty(), "nothing may be written: {:?}", entries(&dir));
}

#[test]
fn nan_and_infinity_are_rejected_with_their_place() {
    let dir = TempDir::new("nan");
    let out = dir.join("x.png");
    let labels = Labels::default();

    let values = [0.1, 0.2, f64::NAN];
    let err =
        histogram_1d(&out, &labels, &[Samples1d { label: "heun", values: &values }], &bins(), None)
            .unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    assert!(err.to_string().contains("heun") && err.to_string().contains("[2]"), "{err}");

    let p = |x: f64| if x > 0.5 { f64::INFINITY } else { 1.0 };
    let density = Density { label: "exact", p: &p };
    let ok = [Samples1d { label: "ok", values: &[0.0] }];
    let err = histogram_1d(&out, &labels, &ok, &bins(), Some(&density)).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }) && err.to_string().contains("exact"), "{err}");

    let points = [(1.0, 2.0), (2.0, f64::NEG_INFINITY)];
    let err =
        line_chart(&out, &labels, &[Series { label: "loss", points: &points }], Axes::default())
            .unwrap_err();
    assert!(err.to_string().contains("loss"), "{err}");

    let err =
        scatter_2d(&out, "", &[PointPanel { title: "data", points: &[0.0, f64::NAN] }], None, &[])
            .unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    let err = quiver(
        &out,
        "",
        &[VectorField { title: "t = 0", points: &[0.0, 0.0], velocities: &[f64::NAN, 0.0] }],
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("velocities"), "{err}");
    let grid = ImageGrid {
        pixels: &[0.0, f64::NAN, 0.0, 0.0],
        height: 2,
        width: 2,
        columns: 1,
        range: (0.0, 1.0),
    };
    assert!(matches!(image_grid(&out, "", &grid), Err(Error::NonFinite { .. })));
    let slices = [VelocitySlice { t: f64::NAN, v: &[1.0] }];
    assert!(matches!(velocity_slices(&out, "", &[0.0], &slices), Err(Error::NonFinite { .. })));
    assert!(entries(&dir).is_empty());
}

#[test]
fn mismatched_lengths_are_rejected() {
    let dir = TempDir::new("lengths");
    let out = dir.join("x.png");

    let slices = [VelocitySlice { t: 0.5, v: &[1.0, 2.0] }];
    let err = velocity_slices(&out, "", &[0.0, 1.0, 2.0], &slices).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { expected: 3, found: 2, .. }), "{err}");

    let err = quiver(
        &out,
        "",
        &[VectorField { title: "t", points: &[0.0, 0.0, 1.0, 1.0], velocities: &[1.0, 1.0] }],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { expected: 4, found: 2, .. }), "{err}");

    let odd = [0.0, 1.0, 2.0];
    assert!(matches!(
        scatter_2d(&out, "", &[PointPanel { title: "p", points: &odd }], None, &[]),
        Err(Error::DimensionMismatch { .. })
    ));
    // Five states do not split into snapshots at two times.
    let panels = [Trajectories { title: "p", t: &[0.0, 1.0], x: &[0.0; 5] }];
    assert!(matches!(trajectories(&out, "", &panels), Err(Error::DimensionMismatch { .. })));
    let sets = [CornerSet { label: "c", points: &[0.0; 7] }];
    assert!(matches!(corner(&out, "", &sets, 3, 2, 10), Err(Error::DimensionMismatch { .. })));
    let grid = ImageGrid { pixels: &[0.0; 5], height: 2, width: 2, columns: 1, range: (0.0, 1.0) };
    assert!(matches!(image_grid(&out, "", &grid), Err(Error::DimensionMismatch { .. })));
}

#[test]
fn settings_that_cannot_be_drawn_are_rejected() {
    let dir = TempDir::new("settings");
    let out = dir.join("x.png");
    let ok = [Samples1d { label: "ok", values: &[0.0] }];
    let labels = Labels::default();

    let no_bins = Bins { count: 0, range: (0.0, 1.0) };
    assert!(histogram_1d(&out, &labels, &ok, &no_bins, None).is_err());
    let empty_range = Bins { count: 5, range: (1.0, 1.0) };
    assert!(histogram_1d(&out, &labels, &ok, &empty_range, None).is_err());

    let log = Axes { log_y: true, ..Axes::default() };
    let err = line_chart(&out, &labels, &[Series { label: "w1", points: &[(1.0, 0.0)] }], log)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { .. }) && err.to_string().contains("w1"), "{err}");

    let sets = [CornerSet { label: "c", points: &[0.0; 12] }];
    assert!(corner(&out, "", &sets, 6, 6, 10).is_err(), "k above 5");
    assert!(corner(&out, "", &sets, 2, 3, 10).is_err(), "k above d");
    assert!(corner(&out, "", &sets, 3, 1, 10).is_err(), "k below 2");
    let panel = [PointPanel { title: "p", points: &[0.0, 0.0] }];
    let flat = Region { x: (0.0, 0.0), y: (0.0, 1.0) };
    assert!(scatter_2d(&out, "", &panel, Some(flat), &[]).is_err());
    assert!(scatter_2d(&out, "", &panel, None, &[flat]).is_err());
    assert!(heatmap_2d(&out, "", &panel, 0, None).is_err());
    let grid = ImageGrid { pixels: &[0.0; 4], height: 2, width: 2, columns: 0, range: (0.0, 1.0) };
    assert!(image_grid(&out, "", &grid).is_err());
}

#[test]
fn an_unwritable_directory_is_an_io_error_naming_the_path() {
    let dir = TempDir::new("unwritable");
    let out = dir.join("no such directory").join("plot.png");
    let ok = [Samples1d { label: "ok", values: &[0.0] }];

    let err = histogram_1d(&out, &Labels::default(), &ok, &bins(), None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains(&out.display().to_string()), "{err}");
}

#[test]
fn a_failed_write_leaves_no_temporary_file_and_a_good_one_replaces_the_old_file() {
    let dir = TempDir::new("atomic");
    let ok = [Samples1d { label: "ok", values: &[0.0] }];
    let labels = Labels::default();

    // A non-empty directory where the image should go: the rename fails.
    let blocked = dir.join("blocked.png");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"keep").unwrap();
    let err = histogram_1d(&blocked, &labels, &ok, &bins(), None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("blocked.png"), "{err}");
    assert_eq!(entries(&dir), vec!["blocked.png".to_string()]);

    // An old file is replaced whole.
    let out = dir.join("plot.png");
    std::fs::write(&out, b"an old file").unwrap();
    histogram_1d(&out, &labels, &ok, &bins(), None).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(entries(&dir), vec!["blocked.png".to_string(), "plot.png".to_string()]);
}
