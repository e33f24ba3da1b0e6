//! Dopri5 against closed forms: tolerances that hold, cost that follows them, evaluations kept
//! inside the span, exact landing on record times, and failures that are reported, not hidden.

mod solve_support;

use flowmatching::solve::{solve, FnField, SolveOptions, Solver};
use flowmatching::Error;
use solve_support::{max_abs_diff, time_logging_field, PROBLEMS};

const SPANS: [(f64, f64); 3] = [(0.0, 1.0), (1.0, 0.0), (0.2, 1.7)];
const RTOLS: [f64; 4] = [1e-9, 1e-7, 1e-5, 1e-3];

fn dopri5(rtol: f64, atol: f64) -> Solver {
    Solver::Dopri5 { rtol, atol, max_steps: 100_000 }
}

#[test]
fn achieved_error_stays_within_the_tolerance() {
    for problem in &PROBLEMS {
        for (t0, t1) in SPANS {
            for rtol in RTOLS {
                for atol in [rtol, rtol / 100.0] {
                    let x_0 = problem.batch();
                    let options = SolveOptions::new(dopri5(rtol, atol), 0);
                    let solution = solve(&mut problem.field(), &x_0, t0, t1, &options).unwrap();
                    let exact = problem.exact_batch(t0, &x_0, t1);
                    for (x, e) in solution.x.iter().zip(&exact) {
                        let bound = atol + rtol * e.abs();
                        assert!(
                            (x - e).abs() <= bound,
                            "{} from {t0} to {t1}, rtol {rtol:e}, atol {atol:e}: error {:e} > \
                             {bound:e}",
                            problem.name,
                            (x - e).abs()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn looser_tolerances_cost_fewer_evaluations() {
    for problem in &PROBLEMS {
        for (t0, t1) in SPANS {
            let nfe: Vec<usize> = RTOLS
                .iter()
                .map(|&rtol| {
                    let options = SolveOptions::new(dopri5(rtol, rtol), 0);
                    let x_0 = problem.batch();
                    solve(&mut problem.field(), &x_0, t0, t1, &options).unwrap().nfe
                })
                .collect();
            assert!(nfe.windows(2).all(|w| w[1] < w[0]), "{}: {nfe:?}", problem.name);
        }
    }
}

#[test]
fn evaluations_count_two_plus_six_per_attempted_step() {
    for problem in &PROBLEMS {
        for rtol in RTOLS {
            let x_0 = problem.batch();
            let options = SolveOptions::new(dopri5(rtol, rtol), 0);
            let solution = solve(&mut problem.field(), &x_0, 0.0, 1.0, &options).unwrap();
            assert_eq!(solution.nfe, 2 + 6 * (solution.steps + solution.rejected));
        }
    }
}

#[test]
fn the_field_is_never_evaluated_outside_the_span() {
    for (t0, t1) in [(0.0, 1.0), (1.0, 0.0), (0.1, 0.7), (0.7, 0.1)] {
        for rtol in [1e-10, 1e-6, 1e-2] {
            for record_times in [vec![], vec![t0 + 0.3 * (t1 - t0), t0 + 0.31 * (t1 - t0)]] {
                let mut times = Vec::new();
                let options =
                    SolveOptions::new(dopri5(rtol, rtol), 0).with_record_times(record_times);
                solve(&mut time_logging_field(&mut times), &[0.3, -2.0, 5.0], t0, t1, &options)
                    .unwrap();
                let (lo, hi) = (t0.min(t1), t0.max(t1));
                assert!(times.iter().all(|&t| t >= lo && t <= hi), "{t0} -> {t1}: {times:?}");
                assert_eq!(times[0], t0);
                assert_eq!(*times.last().unwrap(), t1, "the last step must land on t1");
            }
        }
    }
}

#[test]
fn recorded_states_are_at_exactly_the_requested_times() {
    let problem = &PROBLEMS[3];
    let x_0 = problem.batch();
    for (t0, t1, requested) in [
        (0.0, 1.0, vec![0.0, 0.1, 1.0 / 3.0, 0.7000000000000001, 1.0]),
        (1.0, 0.0, vec![0.9, 0.5, 0.25]),
    ] {
        let (rtol, atol) = (1e-8, 1e-10);
        let options = SolveOptions::new(dopri5(rtol, atol), 0).with_record_times(requested.clone());
        let solution = solve(&mut problem.field(), &x_0, t0, t1, &options).unwrap();

        let times: Vec<f64> = solution.trajectory.iter().map(|s| s.t).collect();
        assert_eq!(times, requested);
        for snapshot in &solution.trajectory {
            let exact = problem.exact_batch(t0, &x_0, snapshot.t);
            assert!(max_abs_diff(&snapshot.x, &exact) < 1e-8, "t = {}", snapshot.t);
        }
        let exact = problem.exact_batch(t0, &x_0, t1);
        assert!(max_abs_diff(&solution.x, &exact) < 1e-8);
    }
}

#[test]
fn every_point_of_a_batch_meets_the_tolerance_whatever_the_batch_size() {
    // One fast point (x' = -8 x) among 400 still ones: an RMS over the whole batch would dilute
    // its error by sqrt(401) and let it exceed the tolerance.
    let mut field = FnField::new(1, |_t: f64, x: &[f64], v: &mut [f64]| {
        for (i, (x_i, v_i)) in x.iter().zip(v.iter_mut()).enumerate() {
            *v_i = if i == 0 { -8.0 * x_i } else { 0.0 };
        }
    });
    let mut x_0 = vec![1.0; 401];
    x_0[0] = 1.0;
    for rtol in [1e-4, 1e-6] {
        let options = SolveOptions::new(dopri5(rtol, rtol), 0);
        let alone = solve(&mut field, &x_0[..1], 0.0, 1.0, &options).unwrap();
        let batch = solve(&mut field, &x_0, 0.0, 1.0, &options).unwrap();
        let exact = (-8.0f64).exp();
        let bound = rtol + rtol * exact;
        assert!((alone.x[0] - exact).abs() <= bound, "alone: {:e}", alone.x[0] - exact);
        assert!((batch.x[0] - exact).abs() <= bound, "in a batch: {:e}", batch.x[0] - exact);
        assert_eq!(batch.nfe, alone.nfe);
    }
}

#[test]
fn too_few_steps_is_a_step_limit_error() {
    let problem = &PROBLEMS[3];
    let solver = Solver::Dopri5 { rtol: 1e-12, atol: 1e-12, max_steps: 5 };
    let result =
        solve(&mut problem.field(), &problem.batch(), 0.0, 1.0, &SolveOptions::new(solver, 0));
    match result {
        Err(Error::StepLimit { max_steps: 5, t }) => assert!(t > 0.0 && t < 1.0, "t = {t}"),
        other => panic!("expected a step limit, got {other:?}"),
    }
}

#[test]
fn a_field_that_turns_nan_makes_steps_shrink_until_the_cap() {
    // NaN for t > 0.5: every step across 0.5 is rejected, so the solve creeps towards 0.5 and
    // stops at the cap instead of passing a NaN on.
    let mut field = FnField::new(1, |t: f64, x: &[f64], v: &mut [f64]| {
        for (x_i, v_i) in x.iter().zip(v.iter_mut()) {
            *v_i = if t > 0.5 { f64::NAN } else { -x_i };
        }
    });
    let solver = Solver::Dopri5 { rtol: 1e-6, atol: 1e-6, max_steps: 200 };
    let result = solve(&mut field, &[1.0], 0.0, 1.0, &SolveOptions::new(solver, 0));
    match result {
        Err(Error::StepLimit { max_steps: 200, t }) => {
            assert!(t <= 0.5 && t > 0.49, "t = {t}")
        }
        other => panic!("expected a step limit, got {other:?}"),
    }
}

#[test]
fn a_nan_at_the_initial_time_is_a_non_finite_error() {
    let mut field = FnField::new(1, |_t: f64, _x: &[f64], v: &mut [f64]| v.fill(f64::NAN));
    let result = solve(&mut field, &[1.0], 0.0, 1.0, &SolveOptions::new(Solver::dopri5(), 0));
    assert!(matches!(result, Err(Error::NonFinite { .. })), "{result:?}");
}

#[test]
fn a_zero_field_is_crossed_exactly_with_steps_growing_tenfold() {
    // Hairer's starting step is 1e-6 when the field vanishes; a zero error then grows the step
    // by the maximal factor 10 each time: 1e-6, 1e-5, ..., 0.1, then the remainder.
    let mut field = FnField::new(2, |_t: f64, _x: &[f64], v: &mut [f64]| v.fill(0.0));
    let solution =
        solve(&mut field, &[1.0, 2.0], 0.0, 1.0, &SolveOptions::new(Solver::dopri5(), 0));
    let solution = solution.unwrap();
    assert_eq!(solution.x, vec![1.0, 2.0]);
    assert_eq!((solution.steps, solution.rejected, solution.nfe), (7, 0, 44));
}

#[test]
fn reverse_solves_invert_forward_ones() {
    let problem = &PROBLEMS[1];
    let x_0 = problem.batch();
    let options = SolveOptions::new(dopri5(1e-11, 1e-12), 0);
    let forward = solve(&mut problem.field(), &x_0, 0.0, 1.0, &options).unwrap();
    let back = solve(&mut problem.field(), &forward.x, 1.0, 0.0, &options).unwrap();
    assert!(max_abs_diff(&back.x, &x_0) < 1e-9, "{:?}", back.x);
}

#[test]
fn the_adaptive_shorthand_is_dopri5_with_the_default_cap() {
    let options = SolveOptions::dopri5(1e-9, 1e-9);
    let max_steps = Solver::DEFAULT_MAX_STEPS;
    let longhand = Solver::Dopri5 { rtol: 1e-9, atol: 1e-9, max_steps };
    assert_eq!(options, SolveOptions::new(longhand, 0));

    // dx/dt = -x from t = 0 to 1: x_0 e^-1.
    let mut field = FnField::new(1, |_t: f64, x: &[f64], v: &mut [f64]| {
        for (v, x) in v.iter_mut().zip(x) {
            *v = -x;
        }
    });
    let solution = solve(&mut field, &[2.0, -0.5], 0.0, 1.0, &options).unwrap();
    let exact = [2.0 * (-1.0f64).exp(), -0.5 * (-1.0f64).exp()];
    assert!(max_abs_diff(&solution.x, &exact) < 1e-8, "{:?}", solution.x);
}
