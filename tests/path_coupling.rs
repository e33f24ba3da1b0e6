//! Minibatch couplings: the optimal-transport pairing is a permutation, is the sorted pairing in
//! 1D, and matches a brute-force search over all permutations on small batches.

use flowmatching::path::{ot_permutation, permute_rows, Coupling};
use flowmatching::rng::{stream, Rng, Stream};
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};

fn normals(n: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// sum_i |x_1[i] - x_0[perm[i]]|^2.
fn total_cost(x_0: &[f64], x_1: &[f64], d: usize, perm: &[usize]) -> f64 {
    let mut cost = 0.0;
    for (i, &j) in perm.iter().enumerate() {
        for k in 0..d {
            cost += (x_1[i * d + k] - x_0[j * d + k]).powi(2);
        }
    }
    cost
}

fn is_permutation(perm: &[usize]) -> bool {
    let mut seen = vec![false; perm.len()];
    perm.iter().all(|&j| j < seen.len() && !std::mem::replace(&mut seen[j], true))
}

/// The least total cost over all n! permutations (Heap's algorithm).
fn brute_force_cost(x_0: &[f64], x_1: &[f64], d: usize) -> f64 {
    let n = x_0.len() / d;
    let mut perm: Vec<usize> = (0..n).collect();
    let mut counters = vec![0; n];
    let mut best = total_cost(x_0, x_1, d, &perm);
    let mut i = 0;
    while i < n {
        if counters[i] < i {
            let swap_with = if i % 2 == 0 { 0 } else { counters[i] };
            perm.swap(swap_with, i);
            best = best.min(total_cost(x_0, x_1, d, &perm));
            counters[i] += 1;
            i = 0;
        } else {
            counters[i] = 0;
            i += 1;
        }
    }
    best
}

#[test]
fn one_dimensional_pairing_is_the_sorted_one() {
    let mut rng = stream(21, Stream::Train);
    for n in [1, 2, 5, 64, 500] {
        let x_0 = normals(n, &mut rng);
        let x_1: Vec<f64> = normals(n, &mut rng).iter().map(|x| 3.0 * x + 1.0).collect();
        let perm = ot_permutation(&x_0, &x_1, 1).unwrap();
        assert!(is_permutation(&perm));

        let mut sorted_0 = x_0.clone();
        sorted_0.sort_by(f64::total_cmp);
        let mut ranks_1: Vec<usize> = (0..n).collect();
        ranks_1.sort_by(|&i, &j| x_1[i].total_cmp(&x_1[j]));
        for (rank, &i) in ranks_1.iter().enumerate() {
            assert_eq!(x_0[perm[i]], sorted_0[rank], "n={n}: x_1 of rank {rank}");
        }
    }
}

#[test]
fn one_dimensional_pairing_is_the_brute_force_optimum() {
    let mut rng = stream(22, Stream::Train);
    for n in 1..=7 {
        let x_0 = normals(n, &mut rng);
        let x_1 = normals(n, &mut rng);
        let perm = ot_permutation(&x_0, &x_1, 1).unwrap();
        let best = brute_force_cost(&x_0, &x_1, 1);
        assert!((total_cost(&x_0, &x_1, 1, &perm) - best).abs() < 1e-12 * (1.0 + best));
    }
}

#[test]
fn assignment_is_the_brute_force_optimum_on_small_batches() {
    let mut rng = stream(23, Stream::Train);
    for trial in 0..30 {
        let n = 2 + trial % 6;
        let d = 2 + trial % 3;
        let x_0 = normals(n * d, &mut rng);
        let x_1 = normals(n * d, &mut rng);
        let perm = ot_permutation(&x_0, &x_1, d).unwrap();
        assert!(is_permutation(&perm));
        let cost = total_cost(&x_0, &x_1, d, &perm);
        let best = brute_force_cost(&x_0, &x_1, d);
        assert!((cost - best).abs() < 1e-12 * (1.0 + best), "n={n} d={d}: {cost} vs {best}");
    }
}

#[test]
fn assignment_beats_identity_and_random_permutations() {
    let mut rng = stream(24, Stream::Train);
    let (n, d) = (128, 3);
    let x_0 = normals(n * d, &mut rng);
    let x_1: Vec<f64> = normals(n * d, &mut rng).iter().map(|x| x + 2.0).collect();
    let perm = ot_permutation(&x_0, &x_1, d).unwrap();
    assert!(is_permutation(&perm));

    let cost = total_cost(&x_0, &x_1, d, &perm);
    let mut other: Vec<usize> = (0..n).collect();
    assert!(cost <= total_cost(&x_0, &x_1, d, &other));
    for _ in 0..50 {
        other.shuffle(&mut rng);
        assert!(cost <= total_cost(&x_0, &x_1, d, &other));
    }
    // No single swap of two pairs can improve an optimal assignment.
    for i in 0..n {
        for j in i + 1..n {
            let mut swapped = perm.clone();
            swapped.swap(i, j);
            assert!(cost <= total_cost(&x_0, &x_1, d, &swapped) + 1e-9);
        }
    }
}

#[test]
fn known_crossing_pairs_are_uncrossed() {
    let x_0 = [0.0f32, 0.0, 10.0, 10.0, 5.0, -5.0];
    let x_1 = [10.0f32, 9.0, 5.0, -4.0, 1.0, 0.0];
    assert_eq!(ot_permutation(&x_0, &x_1, 2).unwrap(), vec![1, 2, 0]);
}

#[test]
fn pair_reorders_x_0_rows_by_the_permutation() {
    let mut rng = stream(25, Stream::Train);
    let (n, d) = (40, 2);
    let x_0: Vec<f32> = normals(n * d, &mut rng).iter().map(|&x| x as f32).collect();
    let x_1: Vec<f32> = normals(n * d, &mut rng).iter().map(|&x| x as f32).collect();

    let perm = ot_permutation(&x_0, &x_1, d).unwrap();
    let mut expected = x_0.clone();
    permute_rows(&mut expected, d, &perm);
    let mut paired = x_0.clone();
    Coupling::ExactOt.pair(&mut paired, &x_1, d).unwrap();
    assert_eq!(paired, expected);

    // Nothing dropped or repeated: the same rows, reordered.
    let mut rows_before: Vec<&[f32]> = x_0.chunks(d).collect();
    let mut rows_after: Vec<&[f32]> = paired.chunks(d).collect();
    rows_before.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows_after.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(rows_before, rows_after);

    let mut untouched = x_0.clone();
    Coupling::Independent.pair(&mut untouched, &x_1, d).unwrap();
    assert_eq!(untouched, x_0);
}

#[test]
fn ties_still_give_a_permutation() {
    let x_0 = [1.0f64; 12];
    let x_1 = [1.0f64; 12];
    assert!(is_permutation(&ot_permutation(&x_0, &x_1, 3).unwrap()));
    assert!(is_permutation(&ot_permutation(&x_0, &x_1, 1).unwrap()));
}
