//! Chunked sampling must be sampling: the same seed gives bit-identical samples whatever the
//! chunk size (fixed-step solvers), trajectories are stitched row by row, and memory-bounded
//! streaming hands over every row exactly once.

use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::Error;

/// An untrained network of dimension `d` with a non-trivial standardisation, so the mapping
/// back to data units is exercised too.
fn flow(d: usize) -> Flow {
    let config = NetConfig { dim: d, hidden: 24, depth: 2, t_dim: 8, ..NetConfig::default() };
    let net = VelocityNet::new(config, &mut stream(11, Stream::Init)).unwrap();
    let data: Vec<f64> = (0..40 * d).map(|i| (i as f64 * 0.37).sin() * (1.0 + i as f64)).collect();
    let standardizer = Standardizer::fit_values(&data, d).unwrap();
    Flow::new(net, standardizer, FlowInfo::default()).unwrap()
}

#[test]
fn chunked_samples_equal_unchunked_for_every_chunk_size() {
    for d in [1, 3] {
        let flow = flow(d);
        for solver in [Solver::Euler, Solver::Heun, Solver::Rk4] {
            let options = SolveOptions::new(solver, 6);
            let whole = flow.sample(700, &options, &mut stream(4, Stream::Sample)).unwrap();
            // 1 row, sizes that cut the engine's 128-row chunks anywhere, exact and oversized.
            for chunk in [1, 7, 128, 129, 300, 700, 5000] {
                let mut rng = stream(4, Stream::Sample);
                let parts = flow.sample_chunked(700, chunk, &options, &mut rng, |_| {}).unwrap();
                assert_eq!(parts.x, whole.x, "d {d}, {solver}, chunk {chunk}");
                assert_eq!(parts.nfe, whole.nfe);
                assert_eq!(parts.steps, whole.steps);
            }
        }
    }
}

#[test]
fn chunked_sampling_leaves_the_rng_where_unchunked_does() {
    let flow = flow(2);
    let options = SolveOptions::new(Solver::Euler, 2);
    let mut a = stream(9, Stream::Sample);
    let mut b = stream(9, Stream::Sample);
    flow.sample(250, &options, &mut a).unwrap();
    flow.sample_chunked(250, 64, &options, &mut b, |_| {}).unwrap();
    // Both consumed exactly 500 normal draws, so the next draws agree.
    assert_eq!(flow.noise(3, &mut a), flow.noise(3, &mut b));
}

#[test]
fn trajectories_are_stitched_row_by_row() {
    let flow = flow(2);
    let options = SolveOptions::new(Solver::Heun, 8).with_record_times(vec![0.0, 0.3, 1.0]);
    let whole = flow.sample(90, &options, &mut stream(1, Stream::Sample)).unwrap();
    let parts =
        flow.sample_chunked(90, 40, &options, &mut stream(1, Stream::Sample), |_| {}).unwrap();
    assert_eq!(parts.trajectory, whole.trajectory);
    assert_eq!(parts.trajectory.len(), 3);
    assert_eq!(parts.trajectory[2].x, parts.x);
}

#[test]
fn dopri5_in_one_chunk_is_the_unchunked_solve() {
    let flow = flow(1);
    let options = SolveOptions::new(Solver::dopri5(), 0);
    let whole = flow.sample(200, &options, &mut stream(2, Stream::Sample)).unwrap();
    let one =
        flow.sample_chunked(200, 200, &options, &mut stream(2, Stream::Sample), |_| {}).unwrap();
    assert_eq!(one, whole);
}

#[test]
fn progress_counts_rows_and_streaming_sees_each_row_once() {
    let flow = flow(1);
    let options = SolveOptions::new(Solver::Euler, 3);
    let mut reported = Vec::new();
    flow.sample_chunked(250, 100, &options, &mut stream(3, Stream::Sample), |done| {
        reported.push(done)
    })
    .unwrap();
    assert_eq!(reported, [100, 200, 250]);

    let whole = flow.sample(250, &options, &mut stream(3, Stream::Sample)).unwrap();
    let mut streamed = Vec::new();
    let mut rng = stream(3, Stream::Sample);
    flow.sample_each_chunk(250, 100, &options, &mut rng, |done, part| {
        streamed.extend_from_slice(&part.x);
        assert_eq!(streamed.len(), done);
        Ok(())
    })
    .unwrap();
    assert_eq!(streamed, whole.x);
}

#[test]
fn bad_chunk_and_callback_errors_are_reported() {
    let flow = flow(1);
    let options = SolveOptions::new(Solver::Euler, 3);
    let err = flow.sample_chunked(10, 0, &options, &mut stream(0, Stream::Sample), |_| {});
    assert!(matches!(err, Err(Error::InvalidSetting { .. })), "{err:?}");

    let mut calls = 0;
    let err = flow.sample_each_chunk(10, 3, &options, &mut stream(0, Stream::Sample), |_, _| {
        calls += 1;
        Err(Error::setting("disk", "full", "stop here"))
    });
    assert!(matches!(err, Err(Error::InvalidSetting { .. })));
    assert_eq!(calls, 1, "sampling goes on after the callback failed");

    let none = flow.sample_chunked(0, 5, &options, &mut stream(0, Stream::Sample), |_| {});
    assert!(none.unwrap().x.is_empty());
}
