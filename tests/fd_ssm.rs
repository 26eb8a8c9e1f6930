//! Finite-difference sliced score matching: the sliced loss to O(ε²) (exactly
//! for a quadratic energy, in closed form for a quartic), its parameter
//! gradient against finite differences, weights, thread counts, f32 against
//! f64 at the documented steps, the curvature it sees at a kink where the HVP
//! sees none, its errors, and the command line.

mod objectives_support;

use objectives_support::{check_parameter_gradient, one_arg};
use scoretape::exec::Evaluator;
use scoretape::model::{Activation, Boltzmann, Energy, MlpEnergy, MlpScore, Model};
use scoretape::objective::{
    draw_projections, fd_ssm_epsilon, finite_difference_sliced_score_matching,
    sliced_score_matching, Fittable, Objective, ProjectionKind, Projections, SlicedVariant,
};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Error, Real, Tape, Tensor};

/// A softplus MLP energy, a batch and `M` Gaussian projections, in `T`.
struct Case<T> {
    model: MlpEnergy<T>,
    x: Tensor<T>,
    v: Tensor<T>,
}

fn case<T: Real>(d: usize, batch: usize, count: usize) -> Case<T> {
    Case {
        model: MlpEnergy::new(d, &[32, 32], Activation::Softplus, 1).unwrap(),
        x: normal_tensor(&[batch, d], &mut seeded(2)),
        v: draw_projections(ProjectionKind::Gaussian, count, batch, d, &mut seeded(3)).unwrap(),
    }
}

/// The loss and θ-gradient of fd-ssm at step `epsilon` (`None`: ssm itself),
/// as `f64`.
fn loss_and_grad<T: Real>(case: &Case<T>, epsilon: Option<f64>) -> (f64, Vec<f64>) {
    let tape = Tape::new();
    let params = case.model.params().record(&tape);
    let energy = |x| case.model.energy(&params, x);
    let given = Projections::Given(&case.v);
    let loss = match epsilon {
        Some(e) => finite_difference_sliced_score_matching(
            &tape,
            &energy,
            &case.x,
            None,
            given,
            T::cast(e),
        ),
        None => sliced_score_matching(
            &tape,
            &energy,
            &case.x,
            given,
            SlicedVariant::Standard,
            None,
        ),
    }
    .unwrap();
    let g = grad(loss, &params).unwrap();
    let flat = g
        .iter()
        .flat_map(|t| {
            t.value()
                .data()
                .iter()
                .map(|v| v.as_f64())
                .collect::<Vec<_>>()
        })
        .collect();
    (loss.item().as_f64(), flat)
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The error `|fd(ε) - ssm|` falls four-fold when ε halves, for the loss and
/// for the θ-gradient: the truncation error is c·ε² with c ≠ 0 (ε = 1e-2 and
/// 5e-3 are far above f64's rounding error ~1e-16/ε²).
#[test]
fn converges_to_ssm_at_second_order_on_an_mlp() {
    let case = case::<f64>(3, 7, 2);
    let (ssm, ssm_grad) = loss_and_grad(&case, None);
    let (coarse, coarse_grad) = loss_and_grad(&case, Some(1e-2));
    let (fine, fine_grad) = loss_and_grad(&case, Some(5e-3));
    let ratio = (coarse - ssm).abs() / (fine - ssm).abs();
    assert!((3.5..=4.5).contains(&ratio), "loss error ratio {ratio}");
    assert!((coarse - ssm).abs() < 1e-3 * ssm.abs(), "{coarse} vs {ssm}");
    let ratio = distance(&coarse_grad, &ssm_grad) / distance(&fine_grad, &ssm_grad);
    assert!((3.5..=4.5).contains(&ratio), "gradient error ratio {ratio}");
}

/// `E = ½xᵀAx + bᵀx`: both differences are exact (no third or fourth
/// derivative), so fd-ssm *is* ssm for every ε, up to rounding of order
/// `u·|E|/ε²`; there is no ε² term to see.
#[test]
fn equals_ssm_for_every_step_on_a_quadratic_energy() {
    let d = 3;
    let raw = normal_tensor::<f64, _>(&[d, d], &mut seeded(4));
    let a = Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        raw.get(&[i, j]) + raw.get(&[j, i]) + if i == j { 4.0 } else { 0.0 }
    });
    let b = normal_tensor::<f64, _>(&[d], &mut seeded(5));
    let x = normal_tensor::<f64, _>(&[5, d], &mut seeded(6));
    let v = draw_projections::<f64>(ProjectionKind::Rademacher, 3, 5, d, &mut seeded(7)).unwrap();
    let tape = Tape::new();
    let (a_var, b_var) = (tape.constant(a), tape.constant(b));
    let energy = one_arg(|x| (x.matmul(a_var) * x).sum_axis(1) * 0.5 + (x * b_var).sum_axis(1));
    let ssm = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Given(&v),
        SlicedVariant::Standard,
        None,
    )
    .unwrap()
    .item();
    for epsilon in [1e-2, 0.1, 1.0, 3.0] {
        let fd = finite_difference_sliced_score_matching(
            &tape,
            &energy,
            &x,
            None,
            Projections::Given(&v),
            epsilon,
        )
        .unwrap()
        .item();
        assert!(
            (fd - ssm).abs() < 1e-11 * ssm.abs(),
            "ε = {epsilon}: {fd} vs {ssm}"
        );
    }
}

/// `E = x⁴/4` in one dimension: `(E₊ + E₋ - 2E)/ε² = 3x²v² + ε²v⁴/2` and
/// `(E₊ - E₋)/(2ε) = x³v + ε²xv³` exactly, so the loss is known in closed
/// form for every ε, including both O(ε²) terms.
#[test]
fn matches_the_closed_form_of_a_quartic_for_every_step() {
    let xs = [-1.3, -0.4, 0.2, 0.9, 1.7];
    let vs = [1.0, -0.5, 2.0, 0.7, -1.1];
    let x = Tensor::<f64>::from_vec(&[5, 1], xs.to_vec()).unwrap();
    let v = Tensor::from_vec(&[1, 5, 1], vs.to_vec()).unwrap();
    let tape = Tape::new();
    let energy = one_arg(|x| x.powi(4).sum_axis(1) * 0.25);
    for epsilon in [1e-2, 0.3, 1.0] {
        let fd = finite_difference_sliced_score_matching(
            &tape,
            &energy,
            &x,
            None,
            Projections::Given(&v),
            epsilon,
        )
        .unwrap()
        .item();
        let e2 = epsilon * epsilon;
        let expected = xs
            .iter()
            .zip(&vs)
            .map(|(&x, &v)| {
                let second = 3.0 * x * x * v * v + e2 * v.powi(4) / 2.0;
                let first = x.powi(3) * v + e2 * x * v.powi(3);
                -second + 0.5 * first * first
            })
            .sum::<f64>()
            / 5.0;
        assert!(
            (fd - expected).abs() < 1e-10 * expected.abs().max(1.0),
            "ε = {epsilon}: {fd} vs {expected}"
        );
    }
}

/// The recorded θ-gradient against central differences of the loss in every
/// parameter (ε = 0.05 keeps the loss's rounding error, ~1e-16/ε², far below
/// the differences' step).
#[test]
fn parameter_gradient_matches_finite_differences() {
    let case = case::<f64>(2, 6, 2);
    check_parameter_gradient(
        case.model.params(),
        |tape, params| {
            let energy = |x| case.model.energy(params, x);
            finite_difference_sliced_score_matching(
                tape,
                &energy,
                &case.x,
                None,
                Projections::Given(&case.v),
                0.05,
            )
            .unwrap()
        },
        1e-5,
        1e-6,
    );
}

/// Weighted, the loss is `Σ w_b ℓ_b / Σ w_b` with `ℓ_b` the loss of sample
/// `b` alone (with its own projections); equal weights change nothing.
#[test]
fn weights_give_the_weighted_mean_of_the_per_sample_losses() {
    let case = case::<f64>(3, 4, 2);
    let tape = Tape::new();
    let params = case.model.params().record(&tape);
    let energy = |x| case.model.energy(&params, x);
    let loss = |x: &Tensor<f64>, v: &Tensor<f64>, w: Option<&Tensor<f64>>| {
        finite_difference_sliced_score_matching(&tape, &energy, x, w, Projections::Given(v), 0.01)
            .unwrap()
            .item()
    };
    let per_sample: Vec<f64> = (0..4)
        .map(|b| loss(&case.x.slice(0, b, b + 1), &case.v.slice(1, b, b + 1), None))
        .collect();
    let w = Tensor::vector(&[0.5, 2.0, 0.0, 1.5]);
    let expected = per_sample
        .iter()
        .zip(w.data())
        .map(|(l, w)| l * w)
        .sum::<f64>()
        / 4.0;
    let weighted = loss(&case.x, &case.v, Some(&w));
    assert!((weighted - expected).abs() < 1e-12 * expected.abs());
    let plain = loss(&case.x, &case.v, None);
    let equal = loss(&case.x, &case.v, Some(&Tensor::vector(&[3.0; 4])));
    let mean = per_sample.iter().sum::<f64>() / 4.0;
    assert!((plain - mean).abs() < 1e-12 * mean.abs());
    assert!((equal - plain).abs() < 1e-12 * plain.abs());
}

/// Through the evaluator, 1, 2 and 3 threads agree (loss, and the gradient
/// relative to its largest entry) as far as the numbers carry: the θ-gradient
/// sums per-row terms of size ~1/ε² that cancel to O(1), so summing them in
/// another order (another split of the rows) moves it by about `u/ε²` (`u`
/// the unit roundoff), the rounding error every fd-ssm gradient has. At
/// ε = 0.1 that is below 1e-12, the bound every other objective meets; at
/// the default 1e-3 it is ~1e-10, and the threads agree to 256 `u/ε²` (36
/// seen: each of the 55 energy rows contributes terms of size up to 2/ε²).
/// One thread gives the objective function's own numbers, bit for bit.
#[test]
fn the_evaluator_agrees_on_one_two_and_three_threads() {
    let model = MlpEnergy::<f64>::new(3, &[6, 5], Activation::Softplus, 2).unwrap();
    let x = normal_tensor::<f64, _>(&[11, 3], &mut seeded(1));
    let unit_roundoff = f64::EPSILON / 2.0;
    for (epsilon, tolerance) in [
        (0.1, 1e-12),
        (fd_ssm_epsilon::<f64>(), 256.0 * unit_roundoff / 1e-6),
    ] {
        let objective = Objective::FiniteDifferenceSliced {
            kind: ProjectionKind::Rademacher,
            count: 2,
            epsilon,
        };
        let draws = objective.draw(&model, 11, &mut seeded(7)).unwrap();
        let results: Vec<(f64, Vec<Tensor<f64>>)> = (1..=3)
            .map(|threads| {
                Evaluator::with_threads(threads)
                    .value_and_grad(&objective, &model, &x, &draws)
                    .unwrap()
            })
            .collect();
        let scale = results[0]
            .1
            .iter()
            .flat_map(|g| g.data())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        for (loss, grads) in &results[1..] {
            assert!((loss - results[0].0).abs() <= 1e-12 * results[0].0.abs());
            for (g, h) in grads.iter().zip(&results[0].1) {
                let diff = g.max_abs_diff(h) / scale;
                assert!(diff <= tolerance, "ε = {epsilon}: {diff:e}");
            }
        }
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let energy = |x| model.energy(&params, x);
        let projections = Projections::Random {
            kind: ProjectionKind::Rademacher,
            count: 2,
            rng: &mut seeded(7),
        };
        let direct =
            finite_difference_sliced_score_matching(&tape, &energy, &x, None, projections, epsilon)
                .unwrap();
        assert_eq!(results[0].0, direct.item());
        let direct_grads = grad(direct, &params).unwrap();
        for (g, h) in direct_grads.iter().zip(&results[0].1) {
            assert_eq!(&*g.value(), h);
        }
    }
}

/// The documented precision (see `fd_ssm_epsilon`; the softplus, d = 8 case
/// of its table): at its default step each precision's fd-ssm is within the
/// stated relative error of ssm in f64 (2e-7 and 6e-4), and f64's step is far
/// too small for f32 (26 %).
#[test]
fn f32_and_f64_lose_what_the_documentation_says() {
    let (wide, narrow) = (case::<f64>(8, 64, 1), case::<f32>(8, 64, 1));
    let (ssm, _) = loss_and_grad(&wide, None);
    let relative = |fd: f64| ((fd - ssm) / ssm).abs();
    let f64_default = relative(loss_and_grad(&wide, Some(fd_ssm_epsilon::<f64>())).0);
    let f32_default = relative(loss_and_grad(&narrow, Some(fd_ssm_epsilon::<f32>() as f64)).0);
    let f32_small = relative(loss_and_grad(&narrow, Some(1e-3)).0);
    assert!(f64_default < 1e-6, "f64 at its default: {f64_default:e}");
    assert!(f32_default < 1e-3, "f32 at its default: {f32_default:e}");
    assert!(f32_small > 0.1, "f32 at 1e-3: {f32_small:e}");
}

/// `E = |x|` in one dimension: piecewise linear, so its HVP is 0 everywhere
/// but at the kink and ssm sees no curvature, while the second difference
/// sees the kink's `2δ(x)`. Averaged over `x` uniform on `[-1, 1]` (density
/// ½ at 0), fd-ssm - ssm = -2·½ (the curvature) - ε/3 (the first difference
/// near the kink, `½(x/ε)²` instead of `½`).
#[test]
fn sees_the_curvature_of_a_kink_where_the_hvp_sees_none() {
    let n = 20_000;
    let x = Tensor::<f64>::from_fn(&[n, 1], |i| -1.0 + (i as f64 + 0.5) * 2.0 / n as f64);
    let v = Tensor::from_fn(&[1, n, 1], |_| 1.0);
    let energy = one_arg(|x| x.abs().sum_axis(1));
    let tape = Tape::new();
    let ssm = sliced_score_matching(
        &tape,
        &energy,
        &x,
        Projections::Given(&v),
        SlicedVariant::Standard,
        None,
    )
    .unwrap()
    .item();
    assert!((ssm - 0.5).abs() < 1e-15, "ssm = ½(v·sign x)² only: {ssm}");
    let epsilon = 0.01;
    let fd = finite_difference_sliced_score_matching(
        &tape,
        &energy,
        &x,
        None,
        Projections::Given(&v),
        epsilon,
    )
    .unwrap()
    .item();
    let expected = -1.0 - epsilon / 3.0;
    assert!(
        (fd - ssm - expected).abs() < 1e-4,
        "{} vs {expected}",
        fd - ssm
    );
}

#[test]
fn bad_steps_models_and_projections_are_typed_errors() {
    let case = case::<f64>(2, 3, 1);
    let tape = Tape::new();
    let params = case.model.params().record(&tape);
    let energy = |x| case.model.energy(&params, x);
    let call = |v: &Tensor<f64>, epsilon: f64| {
        finite_difference_sliced_score_matching(
            &tape,
            &energy,
            &case.x,
            None,
            Projections::Given(v),
            epsilon,
        )
    };
    for epsilon in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(call(&case.v, epsilon), Err(Error::InvalidData(_))),
            "ε = {epsilon}"
        );
    }
    // A step below the resolution of x: x ± εv = x, every difference 0.
    assert!(matches!(call(&case.v, 1e-300), Err(Error::InvalidData(_))));
    let wrong = Tensor::zeros(&[1, 2, 2]);
    assert!(matches!(call(&wrong, 1e-3), Err(Error::Shape(_))));
    let empty = Tensor::zeros(&[0, 3, 2]);
    assert!(matches!(call(&empty, 1e-3), Err(Error::InvalidData(_))));
    let fd = |count, epsilon| Objective::FiniteDifferenceSliced {
        kind: ProjectionKind::Gaussian,
        count,
        epsilon,
    };
    let energy_form = case.model.form();
    assert!(fd(1, 1e-3).check(energy_form).is_ok());
    assert!(matches!(
        fd(0, 1e-3).check(energy_form),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        fd(1, -1.0).check(energy_form),
        Err(Error::InvalidData(_))
    ));
    let score = MlpScore::<f64>::new(2, &[4], Activation::Tanh, false, 0).unwrap();
    let bm = Boltzmann::<f64>::new(2).unwrap();
    for form in [score.form(), bm.form()] {
        assert!(matches!(
            fd(1, 1e-3).check(form),
            Err(Error::InvalidData(_))
        ));
    }
}

#[cfg(all(feature = "cli", unix))]
mod cli_support;

#[cfg(all(feature = "cli", unix))]
mod cli {
    use super::cli_support::{fails, ok, scratch};
    use scoretape::io::{load_model, write_csv, AnyModel};
    use scoretape::model::{Energy, Model};
    use scoretape::objective::{finite_difference_sliced_score_matching, Projections};
    use scoretape::random::{normal_tensor, seeded};
    use scoretape::{grad, Tape, Tensor};
    use serde_json::Value;
    use std::path::Path;

    fn numbers(v: &Value) -> Vec<f64> {
        match v {
            Value::Number(n) => vec![n.as_f64().unwrap()],
            Value::Array(items) => items.iter().flat_map(numbers).collect(),
            Value::Object(fields) => fields.values().flat_map(numbers).collect(),
            _ => Vec::new(),
        }
    }

    /// A fitted model `m.json` (a few fd-ssm steps), its data `x.csv` (6 × 2)
    /// and two projections per sample `v.csv`, sample-major.
    fn setup(dir: &Path) -> (Tensor<f64>, Tensor<f64>) {
        let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(1));
        let v = normal_tensor::<f64, _>(&[12, 2], &mut seeded(2));
        write_csv(&dir.join("x.csv"), &x).unwrap();
        write_csv(&dir.join("v.csv"), &v).unwrap();
        let fit = [
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "fd-ssm",
            "--epsilon",
            "0.01",
            "--projections",
            "2",
            "--projection-kind",
            "rademacher",
            "--hidden",
            "5",
            "--steps",
            "3",
            "--batch-size",
            "6",
            "--validation",
            "0",
            "--quiet",
            "--out",
            "m.json",
        ];
        ok(dir, &fit);
        (x, v)
    }

    /// `eval --objective fd-ssm --projections v.csv` prints the library's
    /// loss and gradient for those projections (on one thread, the same
    /// sums: the gradient's rounding is ~1e-16/ε², see the thread test), and
    /// is close to ssm's.
    #[test]
    fn eval_prints_the_library_loss_and_gradient() {
        let dir = scratch("fd-ssm-eval");
        let (x, v) = setup(&dir);
        let eval = |objective: &str, extra: &[&str]| -> Value {
            let mut args = vec![
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--objective",
                objective,
                "--projections",
                "v.csv",
                "--grad",
                "--threads",
                "1",
            ];
            args.extend_from_slice(extra);
            serde_json::from_str(&ok(&dir, &args)).unwrap()
        };
        let out = eval("fd-ssm", &["--epsilon", "0.001"]);
        assert_eq!(out["objective"], "fd-ssm");
        // Row b·M + m of v.csv is v[m, b].
        let given = Tensor::from_fn(&[2, 6, 2], |k| {
            let (m, b, j) = (k / 12, (k / 2) % 6, k % 2);
            v.data()[(b * 2 + m) * 2 + j]
        });
        let AnyModel::MlpEnergy(model) = load_model(&dir.join("m.json")).unwrap() else {
            panic!("fit --model mlp writes an MLP energy")
        };
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let energy = |x| model.energy(&params, x);
        let loss = finite_difference_sliced_score_matching(
            &tape,
            &energy,
            &x,
            None,
            Projections::Given(&given),
            1e-3,
        )
        .unwrap();
        let expected: Vec<f64> = grad(loss, &params)
            .unwrap()
            .iter()
            .flat_map(|g| g.value().data().to_vec())
            .collect();
        let printed = out["loss"].as_f64().unwrap();
        assert!((printed - loss.item()).abs() <= 1e-12 * loss.item().abs());
        let grads = numbers(&out["grad"]);
        assert_eq!(grads.len(), expected.len());
        let scale = expected.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for (a, b) in grads.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-12 * scale, "{a} vs {b}");
        }
        let ssm = eval("ssm", &[])["loss"].as_f64().unwrap();
        assert!(
            (printed - ssm).abs() < 1e-4 * ssm.abs(),
            "{printed} vs {ssm}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A bad step, a step without fd-ssm and a resume with another step are
    /// usage errors (exit 2); fd-ssm on a score model is a data error (exit 1).
    #[test]
    fn bad_epsilon_is_refused() {
        let dir = scratch("fd-ssm-bad");
        setup(&dir);
        let base = [
            "eval",
            "--model",
            "m.json",
            "--data",
            "x.csv",
            "--objective",
        ];
        let with =
            |extra: &[&'static str]| -> Vec<&str> { base.iter().chain(extra).copied().collect() };
        for bad in ["0", "--epsilon=-1e-3", "nan", "inf", "abc"] {
            let args = if bad.starts_with("--") {
                with(&["fd-ssm", bad])
            } else {
                with(&["fd-ssm", "--epsilon", bad])
            };
            fails(&dir, &args, 2, "--epsilon");
        }
        fails(
            &dir,
            &with(&["ssm", "--epsilon", "0.01"]),
            2,
            "--epsilon does not apply",
        );
        let fit = |extra: &[&'static str]| -> Vec<&str> {
            let head: [&'static str; 11] = [
                "fit",
                "--data",
                "x.csv",
                "--hidden",
                "5",
                "--batch-size",
                "6",
                "--validation",
                "0",
                "--quiet",
                "--out",
            ];
            head.iter()
                .chain(["f.json"].iter())
                .chain(extra)
                .copied()
                .collect()
        };
        fails(
            &dir,
            &fit(&["--objective", "dsm", "--epsilon", "0.01"]),
            2,
            "--epsilon does not apply",
        );
        fails(
            &dir,
            &fit(&["--objective", "fd-ssm", "--epsilon", "0"]),
            2,
            "--epsilon",
        );
        ok(
            &dir,
            &fit(&[
                "--objective",
                "fd-ssm",
                "--epsilon",
                "0.01",
                "--steps",
                "2",
                "--checkpoint-every",
                "1",
            ]),
        );
        fails(
            &dir,
            &fit(&[
                "--objective",
                "fd-ssm",
                "--epsilon",
                "0.02",
                "--steps",
                "4",
                "--resume",
            ]),
            2,
            "epsilon = 0.01",
        );
        ok(
            &dir,
            &fit(&[
                "--objective",
                "fd-ssm",
                "--epsilon",
                "0.01",
                "--steps",
                "4",
                "--resume",
            ]),
        );
        fails(
            &dir,
            &fit(&[
                "--objective",
                "fd-ssm",
                "--model",
                "mlp-score",
                "--steps",
                "1",
            ]),
            1,
            "fd-ssm",
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
