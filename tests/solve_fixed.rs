//! Fixed-step solvers against closed forms: convergence orders, exact quadratures that pin where
//! each stage is evaluated, evaluation counts, grids and trajectories.

mod solve_support;

use flowmatching::solve::{solve, FnField, SolveOptions, Solver, TimeGrid};
use flowmatching::Error;
use solve_support::{max_abs_diff, time_logging_field, Problem, PROBLEMS};

const FIXED: [Solver; 4] = [Solver::Euler, Solver::Midpoint, Solver::Heun, Solver::Rk4];

/// Max error of `solver` on `problem` from t0 to t1 on `options`' grid.
fn error(problem: &Problem, solver: Solver, t0: f64, t1: f64, grid: TimeGrid) -> f64 {
    let x_0 = problem.batch();
    let options = SolveOptions { solver, grid, record_times: Vec::new() };
    let solution = solve(&mut problem.field(), &x_0, t0, t1, &options).unwrap();
    max_abs_diff(&solution.x, &problem.exact_batch(t0, &x_0, t1))
}

/// log2 of the error ratio when the number of steps doubles from `steps`.
fn observed_order(problem: &Problem, solver: Solver, t0: f64, t1: f64, steps: usize) -> f64 {
    let coarse = error(problem, solver, t0, t1, TimeGrid::uniform(steps));
    let fine = error(problem, solver, t0, t1, TimeGrid::uniform(2 * steps));
    (coarse / fine).log2()
}

#[test]
fn halving_the_step_divides_the_error_by_two_to_the_order() {
    for problem in &PROBLEMS {
        for solver in FIXED {
            for (t0, t1) in [(0.0, 1.0), (1.0, 0.0), (0.2, 1.7)] {
                let order = observed_order(problem, solver, t0, t1, 32);
                let expected = solver.order() as f64;
                assert!(
                    (order - expected).abs() < 0.15,
                    "{solver} on {} from {t0} to {t1}: observed order {order:.3}, expected \
                     {expected}",
                    problem.name
                );
            }
        }
    }
}

#[test]
fn orders_hold_on_a_nonuniform_explicit_grid() {
    let quadratic = |steps: usize, t0: f64, t1: f64| -> TimeGrid {
        let mut grid: Vec<f64> =
            (0..=steps).map(|k| t0 + (t1 - t0) * (k as f64 / steps as f64).powi(2)).collect();
        grid[steps] = t1;
        TimeGrid::Explicit(grid)
    };
    for problem in &PROBLEMS {
        for solver in FIXED {
            let coarse = error(problem, solver, 0.0, 1.0, quadratic(20, 0.0, 1.0));
            let fine = error(problem, solver, 0.0, 1.0, quadratic(40, 0.0, 1.0));
            let order = (coarse / fine).log2();
            let expected = solver.order() as f64;
            assert!((order - expected).abs() < 0.25, "{solver} on {}: {order}", problem.name);
        }
    }
}

/// Solves dx/dt = f(t) for one point from t0 to t1 in `steps` uniform steps.
fn quadrature(solver: Solver, f: fn(f64) -> f64, x_0: f64, t0: f64, t1: f64, steps: usize) -> f64 {
    let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(f(t)));
    let solution = solve(&mut field, &[x_0], t0, t1, &SolveOptions::new(solver, steps)).unwrap();
    solution.x[0]
}

#[test]
fn euler_on_2t_takes_exactly_the_ten_left_steps() {
    // sum over k = 0..9 of 0.1 * 2 (k / 10) = 0.9: no reversed and no extra step.
    let x = quadrature(Solver::Euler, |t| 2.0 * t, 0.25, 0.0, 1.0, 10);
    assert!((x - (0.25 + 0.9)).abs() < 1e-12, "{x}");

    // In reverse the left points are t = 1, 0.9, ..., 0.1: -0.1 * 2 * 5.5 = -1.1.
    let x = quadrature(Solver::Euler, |t| 2.0 * t, 0.25, 1.0, 0.0, 10);
    assert!((x - (0.25 - 1.1)).abs() < 1e-12, "{x}");
}

#[test]
fn second_and_fourth_order_solvers_integrate_2t_exactly() {
    for solver in [Solver::Midpoint, Solver::Heun, Solver::Rk4] {
        for steps in [1, 3, 10] {
            let forward = quadrature(solver, |t| 2.0 * t, -0.4, 0.0, 1.0, steps);
            assert!((forward - 0.6).abs() < 1e-12, "{solver}, {steps} steps: {forward}");
            let reverse = quadrature(solver, |t| 2.0 * t, 0.6, 1.0, 0.0, steps);
            assert!((reverse + 0.4).abs() < 1e-12, "{solver}, {steps} steps: {reverse}");
        }
    }
}

#[test]
fn velocity_3t2_gives_each_rule_its_own_quadrature_error() {
    // With h = 1/N, integrating 3 t^2 over [0, 1]: left rectangles give (N-1)(2N-1)/(2 N^2),
    // the midpoint rule 1 - h^2/4, the trapezoid rule (Heun) 1 + h^2/2, Simpson (RK4) 1.
    for steps in [1usize, 4, 10] {
        let (n, h) = (steps as f64, 1.0 / steps as f64);
        let expected = [
            (Solver::Euler, (n - 1.0) * (2.0 * n - 1.0) / (2.0 * n * n)),
            (Solver::Midpoint, 1.0 - h * h / 4.0),
            (Solver::Heun, 1.0 + h * h / 2.0),
            (Solver::Rk4, 1.0),
        ];
        for (solver, moved) in expected {
            let x = quadrature(solver, |t| 3.0 * t * t, 0.0, 0.0, 1.0, steps);
            assert!((x - moved).abs() < 1e-12, "{solver}, {steps} steps: {x} vs {moved}");
        }
    }
}

#[test]
fn one_step_solves_match_the_taylor_polynomials_of_exp() {
    // x' = x, x(0) = 1, one step of h = 1: the methods reproduce exp's Taylor polynomial up to
    // their order.
    let expected = [
        (Solver::Euler, 2.0),
        (Solver::Midpoint, 2.5),
        (Solver::Heun, 2.5),
        (Solver::Rk4, 1.0 + 1.0 + 0.5 + 1.0 / 6.0 + 1.0 / 24.0),
    ];
    for (solver, value) in expected {
        let mut field = FnField::new(1, |_t: f64, x: &[f64], v: &mut [f64]| v.copy_from_slice(x));
        let solution = solve(&mut field, &[1.0], 0.0, 1.0, &SolveOptions::new(solver, 1)).unwrap();
        assert!((solution.x[0] - value).abs() < 1e-14, "{solver}: {}", solution.x[0]);
        assert_eq!(solution.steps, 1);
    }
}

#[test]
fn every_solver_costs_its_stages_times_the_steps() {
    for solver in FIXED {
        let per_step = solver.evals_per_step().unwrap();
        for steps in [1, 7, 50] {
            let mut times = Vec::new();
            let options = SolveOptions::new(solver, steps);
            let solution = solve(&mut time_logging_field(&mut times), &[0.3], 0.0, 1.0, &options);
            let solution = solution.unwrap();
            assert_eq!(solution.nfe, per_step * steps, "{solver}, {steps} steps");
            assert_eq!(times.len(), per_step * steps, "{solver}, {steps} steps");
            assert_eq!((solution.steps, solution.rejected), (steps, 0));
        }
    }
}

#[test]
fn stages_are_evaluated_only_inside_the_span_and_the_last_one_at_t1() {
    let (t0, t1, steps) = (0.1, 0.7, 3);
    for (lo, hi, from, to) in [(t0, t1, t0, t1), (t0, t1, t1, t0)] {
        for solver in FIXED {
            let mut times = Vec::new();
            let options = SolveOptions::new(solver, steps);
            solve(&mut time_logging_field(&mut times), &[0.3], from, to, &options).unwrap();
            assert!(times.iter().all(|&t| t >= lo && t <= hi), "{solver}: {times:?}");
            assert_eq!(times[0], from, "{solver}");
            match solver {
                Solver::Heun | Solver::Rk4 => assert_eq!(*times.last().unwrap(), to),
                Solver::Euler => {
                    let last_left = from + (to - from) * 2.0 / 3.0;
                    assert!((times.last().unwrap() - last_left).abs() < 1e-15, "{times:?}");
                }
                _ => {
                    let last_mid = from + (to - from) * 5.0 / 6.0;
                    assert!((times.last().unwrap() - last_mid).abs() < 1e-15, "{times:?}");
                }
            }
        }
    }
}

#[test]
fn reverse_solves_invert_forward_ones() {
    // A nonlinear, time-dependent 2D field.
    let mut field = FnField::new(2, |t: f64, x: &[f64], v: &mut [f64]| {
        for (x_i, v_i) in x.chunks(2).zip(v.chunks_mut(2)) {
            v_i[0] = (x_i[1] * t).sin() - 0.5 * x_i[0];
            v_i[1] = x_i[0] * t.cos() + 0.3 * x_i[1].tanh();
        }
    });
    let x_0 = [0.4, -1.0, 1.3, 0.2, -0.7, 2.1];
    let forward = solve(&mut field, &x_0, 0.0, 1.0, &SolveOptions::new(Solver::Rk4, 100)).unwrap();
    let back = solve(&mut field, &forward.x, 1.0, 0.0, &SolveOptions::new(Solver::Rk4, 100));
    let back = back.unwrap();
    assert!(max_abs_diff(&forward.x, &x_0) > 0.1, "the test field should move the points");
    assert!(max_abs_diff(&back.x, &x_0) < 1e-8, "{:?}", back.x);
}

#[test]
fn recorded_states_are_at_exactly_the_requested_times() {
    let problem = &PROBLEMS[2];
    let x_0 = problem.batch();
    let requested = vec![0.0, 0.3, 0.35, 1.0];
    let options = SolveOptions::new(Solver::Rk4, 10).with_record_times(requested.clone());
    let solution = solve(&mut problem.field(), &x_0, 0.0, 1.0, &options).unwrap();

    let times: Vec<f64> = solution.trajectory.iter().map(|s| s.t).collect();
    assert_eq!(times, requested);
    // 0.35 is off the grid and splits one step in two; the others are grid times.
    assert_eq!((solution.steps, solution.nfe), (11, 44));
    assert_eq!(solution.trajectory[0].x, x_0);
    assert_eq!(solution.trajectory[3].x, solution.x);
    for snapshot in &solution.trajectory {
        let exact = problem.exact_batch(0.0, &x_0, snapshot.t);
        assert!(max_abs_diff(&snapshot.x, &exact) < 1e-6, "t = {}", snapshot.t);
    }
}

#[test]
fn recording_on_a_reverse_grid_keeps_the_steps_when_times_are_grid_times() {
    let problem = &PROBLEMS[0];
    let x_0 = problem.batch();
    let requested = vec![0.75, 0.5, 0.0];
    let options = SolveOptions::new(Solver::Heun, 4).with_record_times(requested.clone());
    let solution = solve(&mut problem.field(), &x_0, 1.0, 0.0, &options).unwrap();
    let times: Vec<f64> = solution.trajectory.iter().map(|s| s.t).collect();
    assert_eq!(times, requested);
    assert_eq!((solution.steps, solution.nfe), (4, 8));
}

#[test]
fn a_nan_from_the_field_is_an_error_even_when_a_later_stage_hides_it() {
    // k1 is NaN at t = 0; the field maps the NaN stage input to 0, so the midpoint update
    // x + h k2 would look finite.
    let mut field = FnField::new(1, |t: f64, x: &[f64], v: &mut [f64]| {
        for (x_i, v_i) in x.iter().zip(v.iter_mut()) {
            *v_i = if x_i.is_nan() {
                0.0
            } else if t == 0.0 {
                f64::NAN
            } else {
                -x_i
            };
        }
    });
    for solver in FIXED {
        let result = solve(&mut field, &[1.0], 0.0, 1.0, &SolveOptions::new(solver, 4));
        assert!(matches!(result, Err(Error::NonFinite { .. })), "{solver}: {result:?}");
    }
}

#[test]
fn bad_inputs_are_rejected_with_clear_errors() {
    let mut field = PROBLEMS[0].field();
    let ok = SolveOptions::new(Solver::Euler, 4);
    let is_setting = |r: Result<_, Error>| matches!(r, Err(Error::InvalidSetting { .. }));

    assert!(is_setting(solve(&mut field, &[1.0], 0.0, 1.0, &SolveOptions::new(Solver::Rk4, 0))));
    assert!(is_setting(solve(&mut field, &[1.0], 0.5, 0.5, &ok)));
    assert!(is_setting(solve(&mut field, &[1.0], f64::NAN, 1.0, &ok)));
    assert!(is_setting(solve(&mut field, &[1.0], 0.0, f64::INFINITY, &ok)));
    let mut rotation = PROBLEMS[3].field();
    assert!(is_setting(solve(&mut rotation, &[1.0, 2.0, 3.0], 0.0, 1.0, &ok)));
    let bad_grid = ok.clone().with_grid(vec![0.0, 0.6, 0.4, 1.0]);
    assert!(is_setting(solve(&mut field, &[1.0], 0.0, 1.0, &bad_grid)));
    let short_grid = ok.clone().with_grid(vec![0.0, 0.5]);
    assert!(is_setting(solve(&mut field, &[1.0], 0.0, 1.0, &short_grid)));
    let outside = ok.clone().with_record_times(vec![1.5]);
    assert!(is_setting(solve(&mut field, &[1.0], 0.0, 1.0, &outside)));
    let dopri_grid = SolveOptions::new(Solver::dopri5(), 0).with_grid(vec![0.0, 1.0]);
    assert!(is_setting(solve(&mut field, &[1.0], 0.0, 1.0, &dopri_grid)));

    let nan_state = solve(&mut field, &[f64::NAN], 0.0, 1.0, &ok);
    assert!(matches!(nan_state, Err(Error::NonFinite { .. })));
}

#[test]
fn an_explicit_grid_is_followed_step_by_step() {
    // Euler on v = 2t visits the left ends of the given steps: 2 (0 * 0.5 + 0.5 * 0.25 +
    // 0.75 * 0.25) = 0.625.
    let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(2.0 * t));
    let options = SolveOptions::new(Solver::Euler, 0).with_grid(vec![0.0, 0.5, 0.75, 1.0]);
    let solution = solve(&mut field, &[0.0], 0.0, 1.0, &options).unwrap();
    assert!((solution.x[0] - 0.625).abs() < 1e-15);
    assert_eq!((solution.steps, solution.nfe), (3, 3));
}

#[test]
fn an_empty_batch_is_solved_trivially() {
    let solution =
        solve(&mut PROBLEMS[0].field(), &[], 0.0, 1.0, &SolveOptions::new(Solver::Rk4, 3));
    assert!(solution.unwrap().x.is_empty());
}
