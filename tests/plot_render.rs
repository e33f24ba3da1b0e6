//! Renders every plot into a temporary directory, decodes the PNG and checks what it shows:
//! the size, and colours where the data put them (and not where it did not).
//!
//! Pixel regions are fractions of the fixed layouts documented in `flowmatching::plot`, kept
//! well inside the plot areas so that small layout changes do not break the tests, while a plot
//! that draws in the wrong place, the wrong colour or not at all does.

use std::ops::Range;
use std::path::{Path, PathBuf};

use flowmatching::plot::*;

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

/// A decoded 8-bit RGB image.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        rgb.truncate(info.buffer_size());
        Image { width: info.width as usize, height: info.height as usize, rgb }
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * self.width + x);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Pixels in the block `xs x ys` for which `is` holds.
    fn count(&self, xs: Range<usize>, ys: Range<usize>, is: impl Fn([u8; 3]) -> bool) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y))).filter(|&(x, y)| is(self.at(x, y))).count()
    }

    /// Mean row of the pixels in the block for which `is` holds.
    fn mean_row(&self, xs: Range<usize>, ys: Range<usize>, is: impl Fn([u8; 3]) -> bool) -> f64 {
        let rows: Vec<usize> = ys
            .flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| is(self.at(x, y)))
            .map(|(_, y)| y)
            .collect();
        assert!(!rows.is_empty(), "no matching pixel in the block");
        rows.iter().sum::<usize>() as f64 / rows.len() as f64
    }
}

/// The first palette colour (31, 119, 180), however translucent.
fn blue([r, _, b]: [u8; 3]) -> bool {
    b as i32 - r as i32 > 25
}

/// The second palette colour (255, 127, 14), however translucent.
fn orange([r, g, b]: [u8; 3]) -> bool {
    r > 200 && r as i32 - b as i32 > 60 && g < 230
}

fn black([r, g, b]: [u8; 3]) -> bool {
    r < 60 && g < 60 && b < 60
}

fn dark([r, g, b]: [u8; 3]) -> bool {
    (r as u32 + g as u32 + b as u32) < 3 * 128
}

/// Evenly spaced values over `[lo, hi]`.
fn spread(n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|i| lo + (hi - lo) * (i as f64 + 0.5) / n as f64).collect()
}

#[test]
fn histogram_of_left_samples_colours_only_the_left_and_draws_the_density_black() {
    let dir = TempDir::new("hist");
    let left = spread(3000, -3.5, -0.5);
    let sets = [Samples1d { label: "samples", values: &left }];
    let bins = Bins { count: 40, range: (-4.0, 4.0) };
    let labels = Labels { title: "Samples", x: "x", y: "density" };
    // Exact density on the right only: 0.3 on (1, 3).
    let p = |x: f64| if (1.0..3.0).contains(&x) { 0.3 } else { 0.0 };
    let density = Density { label: "exact", p: &p };

    histogram_1d(dir.join("with.png"), &labels, &sets, &bins, Some(&density)).unwrap();
    histogram_1d(dir.join("without.png"), &labels, &sets, &bins, None).unwrap();
    let with = Image::read(&dir.join("with.png"));
    let without = Image::read(&dir.join("without.png"));

    assert_eq!((with.width, with.height), (900, 500));
    // x = -4..4 spans the plot area, about columns 90 to 760: samples fill columns ~130 to ~380.
    let (left_cols, right_cols, rows) = (150..380, 480..740, 70..420);
    assert!(with.count(left_cols.clone(), rows.clone(), blue) > 20_000);
    assert_eq!(with.count(right_cols.clone(), rows.clone(), blue), 0);
    // The plateau of the density is a black line on the right, absent without it.
    assert!(with.count(right_cols.clone(), rows.clone(), black) > 200);
    assert_eq!(without.count(right_cols, rows, black), 0);
}

#[test]
fn titles_are_rendered_with_the_embedded_font() {
    let dir = TempDir::new("font");
    let points = [(0.0, 0.0), (1.0, 0.0)];
    let series = [Series { label: "flat", points: &points }];
    let titled = Labels { title: "A title in DejaVu Sans", x: "x", y: "y" };
    let untitled = Labels { title: "", ..titled };

    line_chart(dir.join("titled.png"), &titled, &series, Axes::default()).unwrap();
    line_chart(dir.join("untitled.png"), &untitled, &series, Axes::default()).unwrap();
    let titled = Image::read(&dir.join("titled.png"));
    let untitled = Image::read(&dir.join("untitled.png"));

    let title_area = (250..550, 0..36);
    assert!(titled.count(title_area.0.clone(), title_area.1.clone(), dark) > 150);
    assert_eq!(untitled.count(title_area.0, 0..12, dark), 0);
    // Tick labels and the axis description under the plot are text too.
    assert!(titled.count(100..700, 442..500, dark) > 80);
}

#[test]
fn log_axis_turns_an_exponential_into_a_straight_line() {
    let dir = TempDir::new("log");
    let points: Vec<(f64, f64)> =
        (0..=100).map(|i| i as f64 * 0.03).map(|x| (x, 10f64.powf(x))).collect();
    let series = [Series { label: "10^x", points: &points }];
    let labels = Labels { title: "", x: "x", y: "y" };
    let straight = |image: &Image| {
        let row = |c: usize| image.mean_row(c..c + 1, 0..500, blue);
        let (r1, r2, r3) = (row(250), row(500), row(750));
        (r2 - (r1 + r3) / 2.0).abs()
    };

    let log = Axes { log_y: true, ..Axes::default() };
    line_chart(dir.join("log.png"), &labels, &series, log).unwrap();
    line_chart(dir.join("linear.png"), &labels, &series, Axes::default()).unwrap();

    assert!(straight(&Image::read(&dir.join("log.png"))) < 2.0);
    assert!(straight(&Image::read(&dir.join("linear.png"))) > 40.0);
}

#[test]
fn markers_add_dots_at_the_points() {
    let dir = TempDir::new("markers");
    let points = [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)];
    let series = [Series { label: "zigzag", points: &points }];
    let labels = Labels::default();
    line_chart(dir.join("plain.png"), &labels, &series, Axes::default()).unwrap();
    let markers = Axes { markers: true, ..Axes::default() };
    line_chart(dir.join("dots.png"), &labels, &series, markers).unwrap();

    let plain = Image::read(&dir.join("plain.png")).count(0..760, 0..500, blue);
    let dots = Image::read(&dir.join("dots.png")).count(0..760, 0..500, blue);
    assert!(dots > plain + 30, "{dots} vs {plain}");
}

#[test]
fn velocity_slices_put_each_t_at_its_own_height_with_a_legend() {
    let dir = TempDir::new("velocity");
    let x = spread(50, -2.0, 2.0);
    let (up, down) = (vec![1.0; 50], vec![-1.0; 50]);
    let slices = [VelocitySlice { t: 0.25, v: &up }, VelocitySlice { t: 0.75, v: &down }];
    velocity_slices(dir.join("v.png"), "Slices", &x, &slices).unwrap();
    let image = Image::read(&dir.join("v.png"));

    assert_eq!((image.width, image.height), (900, 500));
    let (blue_row, orange_row) =
        (image.mean_row(120..700, 40..450, blue), image.mean_row(120..700, 40..450, orange));
    assert!(blue_row + 200.0 < orange_row, "{blue_row} vs {orange_row}");
    // The legend column on the right holds both swatches and dark label text.
    assert!(image.count(780..900, 40..120, blue) > 20);
    assert!(image.count(780..900, 40..120, orange) > 20);
    assert!(image.count(780..900, 40..120, dark) > 20);
}

#[test]
fn trajectory_panels_sit_side_by_side_with_their_own_colour() {
    let dir = TempDir::new("traj");
    let t = spread(20, 0.0, 1.0);
    let n = 50;
    let start = spread(n, -0.2, 0.2);
    // Time-major: x[k * n + i]. Panel 1 rises to 2, panel 2 falls to -2.
    let rise: Vec<f64> = t.iter().flat_map(|&t| start.iter().map(move |&z| z + 2.0 * t)).collect();
    let fall: Vec<f64> = rise.iter().map(|x| -x).collect();
    let panels = [
        Trajectories { title: "rise", t: &t, x: &rise },
        Trajectories { title: "fall", t: &t, x: &fall },
    ];
    trajectories(dir.join("t.png"), "Trajectories", &panels).unwrap();
    let image = Image::read(&dir.join("t.png"));

    assert_eq!((image.width, image.height), (900, 500));
    assert!(image.count(0..450, 0..500, blue) > 2000);
    assert_eq!(image.count(0..450, 0..500, orange), 0);
    assert!(image.count(450..900, 0..500, orange) > 2000);
    assert_eq!(image.count(450..900, 0..500, blue), 0);
    // In the first panel x(t) rises: late pixels sit higher (smaller rows) than early ones.
    let early = image.mean_row(100..140, 60..450, blue);
    let late = image.mean_row(390..430, 60..450, blue);
    assert!(late + 100.0 < early, "{late} vs {early}");
}

#[test]
fn scatter_panels_share_the_region_and_shade_cells_under_the_points() {
    let dir = TempDir::new("scatter");
    let grid = spread(30, -0.9, -0.1);
    let lower_left: Vec<f64> =
        grid.iter().flat_map(|&x| grid.iter().flat_map(move |&y| [x, y])).collect();
    let upper_right: Vec<f64> = lower_left.iter().map(|v| -v).collect();
    let panels = [
        PointPanel { title: "data", points: &lower_left },
        PointPanel { title: "samples", points: &upper_right },
    ];
    let region = Region { x: (-1.0, 1.0), y: (-1.0, 1.0) };
    let shaded = [Region { x: (0.0, 1.0), y: (0.0, 1.0) }];
    scatter_2d(dir.join("s.png"), "", &panels, Some(region), &shaded).unwrap();
    let image = Image::read(&dir.join("s.png"));

    assert_eq!((image.width, image.height), (920, 500));
    // Panel 1 plots x in -1..1 over about columns 64..448 and y over rows 470..50.
    let grey = |[r, g, b]: [u8; 3]| r == g && g == b && (215..230).contains(&r);
    let (left, right, top, bottom) = (90..230, 280..430, 80..230, 290..440);
    assert!(image.count(left.clone(), bottom.clone(), blue) > 1000);
    assert_eq!(image.count(right.clone(), top.clone(), blue), 0);
    assert!(image.count(right.clone(), top.clone(), grey) > 10_000);
    assert_eq!(image.count(left.clone(), bottom.clone(), grey), 0);
    // Panel 2, shifted by 460 pixels, has its points in the upper right, over the shading.
    let shift = |r: &Range<usize>| r.start + 460..r.end + 460;
    assert!(image.count(shift(&right), top.clone(), orange) > 1000);
    assert_eq!(image.count(shift(&left), bottom, orange), 0);
}

#[test]
fn heatmap_is_bright_where_the_points_are() {
    let dir = TempDir::new("heat");
    let grid = spread(20, -0.9, -0.1);
    let lower_left: Vec<f64> =
        grid.iter().flat_map(|&x| grid.iter().flat_map(move |&y| [x, y])).collect();
    let panels = [PointPanel { title: "data", points: &lower_left }];
    let region = Region { x: (-1.0, 1.0), y: (-1.0, 1.0) };
    heatmap_2d(dir.join("h.png"), "", &panels, 2, Some(region)).unwrap();
    let image = Image::read(&dir.join("h.png"));

    assert_eq!((image.width, image.height), (460 + 110, 500));
    let yellow = |[r, g, b]: [u8; 3]| r > 230 && g > 210 && b < 80;
    let purple = |[r, g, b]: [u8; 3]| (60..76).contains(&r) && g < 10 && (76..92).contains(&b);
    assert!(image.count(100..220, 300..430, yellow) > 10_000);
    assert!(image.count(290..420, 90..220, purple) > 10_000);
    assert_eq!(image.count(290..420, 90..220, yellow), 0);
    // The colour bar on the right runs from purple at the bottom to yellow at the top.
    assert!(image.count(460..570, 0..500, yellow) > 50);
}

#[test]
fn quiver_arrows_point_along_the_velocity() {
    let dir = TempDir::new("quiver");
    let axis = spread(5, -1.0, 1.0);
    let points: Vec<f64> =
        axis.iter().flat_map(|&x| axis.iter().flat_map(move |&y| [x, y])).collect();
    let right: Vec<f64> = points.chunks(2).flat_map(|_| [1.0, 0.0]).collect();
    let left: Vec<f64> = right.iter().map(|v| -v).collect();
    let arrow = |[r, g, b]: [u8; 3]| b as i32 - r as i32 > 60 && g < 150;
    let centre_column = |velocities: &[f64], name: &str| {
        let panels = [VectorField { title: "t = 0.5", points: &points, velocities }];
        let region = Region { x: (-1.0, 1.0), y: (-1.0, 1.0) };
        quiver(dir.join(name), "", &panels, Some(region)).unwrap();
        let image = Image::read(&dir.join(name));
        assert_eq!((image.width, image.height), (460, 500));
        let pixels = image.count(0..460, 0..500, arrow);
        assert!(pixels > 300, "{pixels}");
        let columns: Vec<usize> = (0..500)
            .flat_map(|y| (0..460).map(move |x| (x, y)))
            .filter(|&(x, y)| arrow(image.at(x, y)))
            .map(|(x, _)| x)
            .collect();
        columns.iter().sum::<usize>() as f64 / columns.len() as f64
    };

    let (to_right, to_left) =
        (centre_column(&right, "right.png"), centre_column(&left, "left.png"));
    assert!(to_right > to_left + 20.0, "{to_right} vs {to_left}");
}

#[test]
fn corner_plot_fills_the_lower_triangle_and_leaves_the_upper_blank() {
    let dir = TempDir::new("corner");
    let n = 500;
    let data: Vec<f64> = (0..n)
        .flat_map(|i| {
            let u = (i as f64 + 0.5) / n as f64;
            [u, (7.0 * u).fract(), (13.0 * u).fract()]
        })
        .collect();
    let samples: Vec<f64> = data.iter().map(|v| v + 0.5).collect();
    let sets = [
        CornerSet { label: "data", points: &data },
        CornerSet { label: "samples", points: &samples },
    ];
    corner(dir.join("c.png"), "Corner", &sets, 3, 3, 20).unwrap();
    let image = Image::read(&dir.join("c.png"));

    assert_eq!((image.width, image.height), (680, 720));
    // Cells are about 223 pixels a side under a 40-pixel title.
    let white = |p: [u8; 3]| p == [255, 255, 255];
    let cell =
        |r: usize, c: usize| (c * 223 + 20..c * 223 + 200, 40 + r * 226 + 20..40 + r * 226 + 200);
    let (xs, ys) = cell(0, 1);
    assert_eq!(image.count(xs.clone(), ys.clone(), white), (xs.len() * ys.len()));
    for (r, c) in [(1, 0), (2, 0), (2, 1), (0, 0), (1, 1), (2, 2)] {
        let (xs, ys) = cell(r, c);
        assert!(image.count(xs.clone(), ys.clone(), blue) > 200, "blue in cell ({r}, {c})");
        assert!(image.count(xs, ys, orange) > 200, "orange in cell ({r}, {c})");
    }
    // The legend sits in the top-right cell.
    let (xs, ys) = cell(0, 2);
    assert!(image.count(xs.clone(), ys.clone(), dark) > 20);
    assert!(image.count(xs, ys, orange) > 20);
}

#[test]
fn image_grid_draws_bright_values_bright() {
    let dir = TempDir::new("images");
    // Three 2 x 2 images: all 0; 16 at the top-left pixel only; all 8.
    let pixels = [0.0, 0.0, 0.0, 0.0, 16.0, 0.0, 0.0, 0.0, 8.0, 8.0, 8.0, 8.0];
    let grid = ImageGrid { pixels: &pixels, height: 2, width: 2, columns: 3, range: (0.0, 16.0) };
    image_grid(dir.join("g.png"), "Digits", &grid).unwrap();
    let image = Image::read(&dir.join("g.png"));

    // 40 screen pixels an image pixel, 80-pixel tiles, 4-pixel gaps, 10-pixel border, 44 title.
    assert_eq!((image.width, image.height), (10 + 3 * 84 - 4 + 10, 44 + 10 + 80 + 10));
    let tile = |j: usize, r: usize, c: usize| image.at(10 + 84 * j + 40 * c + 20, 54 + 40 * r + 20);
    assert_eq!(tile(0, 0, 0), [0, 0, 0]);
    assert_eq!(tile(1, 0, 0), [255, 255, 255]);
    assert_eq!(tile(1, 0, 1), [0, 0, 0]);
    assert_eq!(tile(1, 1, 1), [0, 0, 0]);
    assert_eq!(tile(2, 1, 0), [128, 128, 128]);
    // Image pixels fill their squares edge to edge: no seams inside a tile.
    let seamless = image.count(10..90, 54..134, |p| p == [0, 0, 0]);
    assert_eq!(seamless, 80 * 80);
    assert!(image.count(60..200, 0..40, dark) > 50, "title text");
}
