//! Sliced score matching: exact with the scaled basis, unbiased and 1/M
//! variance with random projections, reproducible from a seed.

mod objectives_support;

use objectives_support::*;
use scoretape::model::{Activation, Energy, MlpEnergy, Model};
use scoretape::objective::{
    draw_projections, exact_score_matching, exact_score_matching_score_model,
    sliced_score_matching, sliced_score_matching_score_model, ProjectionKind, Projections,
    SlicedVariant,
};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, hessian, Error, Tape, Tensor, Var};

const VARIANTS: [SlicedVariant; 2] = [SlicedVariant::Standard, SlicedVariant::VarianceReduced];
const KINDS: [ProjectionKind; 3] = [
    ProjectionKind::Gaussian,
    ProjectionKind::Rademacher,
    ProjectionKind::Sphere,
];

/// The `d` projections `√d·eᵢ` for every sample, shape `[d, B, d]`.
fn scaled_basis(batch: usize, d: usize) -> Tensor<f64> {
    let r = (d as f64).sqrt();
    Tensor::from_fn(&[d, batch, d], |k| {
        let (m, j) = (k / (batch * d), k % d);
        if m == j {
            r
        } else {
            0.0
        }
    })
}

#[test]
fn scaled_basis_projections_give_exact_score_matching() {
    let model = MlpEnergy::<f64>::new(3, &[7, 5], Activation::Softplus, 1).unwrap();
    let x = normal_tensor::<f64, _>(&[6, 3], &mut seeded(2));
    let basis = scaled_basis(6, 3);
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let exact = exact_score_matching(&tape, &energy, &x, None)
        .unwrap()
        .item();
    for variant in VARIANTS {
        let sliced = sliced_score_matching(
            &tape,
            &energy,
            &x,
            Projections::Given(&basis),
            variant,
            None,
        )
        .unwrap()
        .item();
        assert!(
            (sliced - exact).abs() < 1e-12,
            "{variant:?}: {sliced} vs {exact}"
        );
    }
    // and for a score model that is not a gradient
    let net = small_score_net(3, 4, 3);
    let vars = net.record(&tape);
    let score = |x| small_score(&vars, x);
    let exact = exact_score_matching_score_model(&tape, &score, &x, None)
        .unwrap()
        .item();
    for variant in VARIANTS {
        let sliced = sliced_score_matching_score_model(
            &tape,
            &score,
            &x,
            Projections::Given(&basis),
            variant,
            None,
        )
        .unwrap()
        .item();
        assert!(
            (sliced - exact).abs() < 1e-12,
            "{variant:?}: {sliced} vs {exact}"
        );
    }
}

/// With many random projections the sliced loss of one sample is the mean of
/// independent per-projection terms `-vᵀHv + ½(vᵀg)²`; computed here from the
/// full Hessian, those give both an exact check of the average and a standard
/// error for its distance from the exact loss.
#[test]
fn many_projections_converge_to_exact_within_five_standard_errors() {
    let model = MlpEnergy::<f64>::new(3, &[6], Activation::Tanh, 4).unwrap();
    let x = Tensor::from_rows(&[vec![0.3, -0.8, 1.1]]).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xv = tape.input(x.clone());
    let e = model.energy(&params, xv).sum();
    let g = grad(e, &[xv]).unwrap()[0].value().as_ref().clone();
    let h = hessian(e, xv).unwrap().value().reshape(&[3, 3]);
    let energy = |x| model.energy(&params, x);
    let exact = exact_score_matching(&tape, &energy, &x, None)
        .unwrap()
        .item();
    let count = 4000;
    for kind in KINDS {
        for variant in VARIANTS {
            let v = draw_projections::<f64>(kind, count, 1, 3, &mut seeded(5)).unwrap();
            let terms: Vec<f64> = v
                .data()
                .chunks(3)
                .map(|v| {
                    let v = Tensor::from_vec(&[3, 1], v.to_vec()).unwrap();
                    let hv = h.matmul(&v);
                    let vg = v.dot(&g.reshape(&[3, 1]));
                    let norm = match variant {
                        SlicedVariant::Standard => 0.5 * vg * vg,
                        SlicedVariant::VarianceReduced => 0.5 * g.dot(&g),
                    };
                    -v.dot(&hv) + norm
                })
                .collect();
            let (mean, se) = mean_and_standard_error(&terms);
            let sliced =
                sliced_score_matching(&tape, &energy, &x, Projections::Given(&v), variant, None)
                    .unwrap()
                    .item();
            assert!(
                (sliced - mean).abs() < 1e-10,
                "{kind:?} {variant:?}: average"
            );
            assert!(
                (sliced - exact).abs() < 5.0 * se,
                "{kind:?} {variant:?}: {sliced} vs exact {exact}, standard error {se}"
            );
        }
    }
}

fn separable<'t>(a: Var<'t, f64>, x: Var<'t, f64>) -> Var<'t, f64> {
    ((x * a).softplus() + x.powi(4) * 0.25).sum_axis(1)
}

fn sine_energy<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    x.sin().sum_axis(1)
}

/// With a diagonal Hessian, `vᵀHv = Σ Hᵢᵢvᵢ² = tr H` for every Rademacher
/// `v`: one projection already gives the exact SSM-VR loss.
#[test]
fn rademacher_is_exact_for_a_diagonal_hessian() {
    // separable: E(x) = Σᵢ softplus(aᵢ xᵢ) + xᵢ⁴/4
    let a = Tensor::vector(&[0.5, -2.0, 1.5, 1.0]);
    let x = normal_tensor::<f64, _>(&[5, 4], &mut seeded(6));
    let tape = Tape::new();
    let av = tape.constant(a);
    let energy = |x| separable(av, x);
    let exact = exact_score_matching(&tape, &energy, &x, None)
        .unwrap()
        .item();
    let one = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Random {
            kind: ProjectionKind::Rademacher,
            count: 1,
            rng: &mut seeded(7),
        },
        SlicedVariant::VarianceReduced,
        None,
    )
    .unwrap()
    .item();
    assert!((one - exact).abs() < 1e-12);
    // a Gaussian projection is not exact (so the test above can fail)
    let gaussian = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Random {
            kind: ProjectionKind::Gaussian,
            count: 1,
            rng: &mut seeded(7),
        },
        SlicedVariant::VarianceReduced,
        None,
    )
    .unwrap()
    .item();
    assert!((gaussian - exact).abs() > 1e-3);
}

/// The estimator averages its `M` projections: over many seeds its variance
/// with `M = 8` is about an eighth of that with `M = 1` (the ratio of two
/// variance estimates from 400 draws each lies well within [5, 13]), and its
/// mean does not grow with `M`.
#[test]
fn variance_falls_as_one_over_m() {
    let model = MlpEnergy::<f64>::new(2, &[5], Activation::Softplus, 8).unwrap();
    let x = Tensor::from_rows(&[vec![0.4, -1.2]]).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let mark = tape.mark();
    let draws = |count: usize, seed0: u64| -> Vec<f64> {
        (0..400)
            .map(|r| {
                let loss = sliced_score_matching(
                    &tape,
                    &energy,
                    &x,
                    Projections::Random {
                        kind: ProjectionKind::Gaussian,
                        count,
                        rng: &mut seeded(seed0 + r),
                    },
                    SlicedVariant::Standard,
                    None,
                )
                .unwrap()
                .item();
                tape.rewind(mark);
                loss
            })
            .collect()
    };
    let one = draws(1, 1000);
    let eight = draws(8, 5000);
    let ratio = variance(&one) / variance(&eight);
    assert!((5.0..13.0).contains(&ratio), "variance ratio {ratio}");
    let (m1, se1) = mean_and_standard_error(&one);
    let (m8, se8) = mean_and_standard_error(&eight);
    assert!((m1 - m8).abs() < 5.0 * (se1 * se1 + se8 * se8).sqrt());
}

#[test]
fn same_seed_gives_bit_identical_losses() {
    let model = MlpEnergy::<f64>::new(3, &[6], Activation::Silu, 9).unwrap();
    let x = normal_tensor::<f64, _>(&[4, 3], &mut seeded(10));
    let run = |seed: u64, kind: ProjectionKind| {
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let projections = Projections::Random {
            kind,
            count: 3,
            rng: &mut seeded(seed),
        };
        let loss = sliced_score_matching(
            &tape,
            &|x| model.energy(&params, x),
            &x,
            projections,
            SlicedVariant::Standard,
            None,
        )
        .unwrap();
        let g = grad(loss, &params).unwrap();
        (
            loss.item().to_bits(),
            g[0].to_vec()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
        )
    };
    for kind in KINDS {
        assert_eq!(run(11, kind), run(11, kind));
        assert_ne!(run(11, kind).0, run(12, kind).0);
    }
}

/// `Random` is exactly `Given(draw_projections(..))` with the same generator.
#[test]
fn random_projections_are_the_drawn_tensor() {
    let x = normal_tensor::<f64, _>(&[3, 2], &mut seeded(13));
    let tape = Tape::new();
    let energy = sine_energy;
    let v = draw_projections::<f64>(ProjectionKind::Sphere, 2, 3, 2, &mut seeded(14)).unwrap();
    let given = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Given(&v),
        SlicedVariant::Standard,
        None,
    )
    .unwrap();
    let random = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Random {
            kind: ProjectionKind::Sphere,
            count: 2,
            rng: &mut seeded(14),
        },
        SlicedVariant::Standard,
        None,
    )
    .unwrap();
    assert_eq!(given.item().to_bits(), random.item().to_bits());
}

/// Each projection kind has `E[vvᵀ] = I` (checked on 20 000 draws).
#[test]
fn projections_have_identity_second_moment() {
    let d = 3;
    for kind in KINDS {
        let n = 20_000;
        let v = draw_projections::<f64>(kind, n, 1, d, &mut seeded(15)).unwrap();
        let m = v
            .reshape(&[n, d])
            .matmul_t(&v.reshape(&[n, d]), true, false)
            .map(|a| a / n as f64);
        // each entry's standard error is at most ~√(E v⁴/n) ≈ 0.012
        assert!(m.max_abs_diff(&Tensor::eye(d)) < 0.06, "{kind:?}: {m:?}");
    }
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let model = MlpEnergy::<f64>::new(2, &[4], Activation::Softplus, 16).unwrap();
    let x = normal_tensor::<f64, _>(&[4, 2], &mut seeded(17));
    let v = draw_projections::<f64>(ProjectionKind::Gaussian, 2, 4, 2, &mut seeded(18)).unwrap();
    for variant in VARIANTS {
        check_parameter_gradient(
            model.params(),
            |tape, params| {
                let energy = |x| model.energy(params, x);
                sliced_score_matching(tape, &energy, &x, Projections::Given(&v), variant, None)
                    .unwrap()
            },
            1e-5,
            1e-7,
        );
        let net = small_score_net(2, 4, 19);
        check_parameter_gradient(
            &net,
            |tape, params| {
                sliced_score_matching_score_model(
                    tape,
                    &|x| small_score(params, x),
                    &x,
                    Projections::Given(&v),
                    variant,
                    None,
                )
                .unwrap()
            },
            1e-5,
            1e-7,
        );
    }
}

#[test]
fn bad_projections_are_typed_errors() {
    let x = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    let run = |projections: Projections<'_, f64>| {
        let tape = Tape::new();
        sliced_score_matching(
            &tape,
            &|x| x.square().sum_axis(1),
            &x,
            projections,
            SlicedVariant::Standard,
            None,
        )
        .map(|l| l.item())
    };
    let zero_m = Projections::Random {
        kind: ProjectionKind::Gaussian,
        count: 0,
        rng: &mut seeded(0),
    };
    assert!(matches!(run(zero_m), Err(Error::InvalidData(_))));
    assert!(matches!(
        run(Projections::Given(&Tensor::zeros(&[0, 2, 2]))),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        run(Projections::Given(&Tensor::zeros(&[1, 3, 2]))),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        run(Projections::Given(&Tensor::zeros(&[2, 2]))),
        Err(Error::Shape(_))
    ));
    let nan = Tensor::from_vec(&[1, 2, 2], vec![1.0, f64::NAN, 0.0, 1.0]).unwrap();
    assert!(matches!(
        run(Projections::Given(&nan)),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        draw_projections::<f64>(ProjectionKind::Sphere, 1, 0, 2, &mut seeded(0)),
        Err(Error::Shape(_))
    ));
}
