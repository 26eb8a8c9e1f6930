//! Denoising score matching and Tweedie denoising, against closed forms.

mod objectives_support;

use objectives_support::*;
use scoretape::model::linalg::inverse;
use scoretape::model::{Activation, Energy, MlpEnergy, MlpScore, Model, QuadraticEnergy, Score};
use scoretape::objective::{
    denoising_score_matching, denoising_score_matching_multilevel,
    denoising_score_matching_score_model, tweedie_denoise, tweedie_denoise_energy,
    tweedie_denoise_score_model, Noise, NoiseLevels,
};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Error, Tape, Tensor};
use std::cell::RefCell;

/// Every sample of `x` repeated with each of the `2d` noise vectors `±√d·eᵢ`.
/// Over this set the noise has mean 0, second moment `I` and no correlation
/// with the data, exactly: the empirical DSM loss is then the expected one.
fn with_balanced_noise(x: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let r = (d as f64).sqrt();
    let rows = n * 2 * d;
    let repeated = Tensor::from_fn(&[rows, d], |k| x.get(&[k / d / (2 * d), k % d]));
    let noise = Tensor::from_fn(&[rows, d], |k| {
        let (row, j) = (k / d, k % d);
        let which = row % (2 * d);
        let (axis, sign) = (which / 2, if which % 2 == 0 { 1.0 } else { -1.0 });
        if axis == j {
            sign * r
        } else {
            0.0
        }
    });
    (repeated, noise)
}

/// On Gaussian data with noise of exactly the right moments, the DSM
/// minimiser of the quadratic energy is μ = x̄, P = (Σ̂ + σ²I)⁻¹: the parameter
/// gradient vanishes there, and not at the noise-free answer Σ̂⁻¹.
#[test]
fn quadratic_minimiser_is_inverse_of_noised_covariance() {
    let factor = Tensor::from_rows(&[vec![1.0, 0.0], vec![0.7, 0.5]]).unwrap();
    let x = gaussian_samples(&[0.5, -1.0], &factor, 40, 1);
    let (xbar, cov) = mean_and_covariance(&x);
    let sigma = 0.4;
    let (repeated, noise) = with_balanced_noise(&x);
    let gradient_at = |precision: &Tensor<f64>| {
        let model = QuadraticEnergy::from_mean_precision(&xbar, precision).unwrap();
        let (_, g) = parameter_gradient(model.params(), |tape, params| {
            let energy = |x| model.energy(params, x);
            denoising_score_matching(tape, &energy, &repeated, sigma, Noise::Given(&noise), None)
                .unwrap()
        });
        g.iter()
            .map(|t| t.max_abs_diff(&Tensor::zeros(t.shape())))
            .fold(0.0, f64::max)
    };
    let noised = inverse(&plus_identity(&cov, sigma * sigma)).unwrap();
    assert!(gradient_at(&noised) < 1e-10, "{:e}", gradient_at(&noised));
    assert!(gradient_at(&inverse(&cov).unwrap()) > 1e-2);
}

/// Tweedie with the DSM-optimal quadratic model is the Gaussian posterior
/// mean `μ + Σ(Σ + σ²I)⁻¹(x̃ - μ)`.
#[test]
fn tweedie_with_the_optimal_quadratic_is_the_posterior_mean() {
    let mu = Tensor::vector(&[1.0, -0.5, 2.0]);
    let cov = Tensor::from_rows(&[
        vec![2.0, 0.4, 0.1],
        vec![0.4, 1.0, -0.3],
        vec![0.1, -0.3, 0.5],
    ])
    .unwrap();
    let sigma = 0.7;
    let noised = plus_identity(&cov, sigma * sigma);
    let model = QuadraticEnergy::from_mean_precision(&mu, &inverse(&noised).unwrap()).unwrap();
    let noisy = normal_tensor::<f64, _>(&[5, 3], &mut seeded(2));
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let denoised =
        tweedie_denoise_energy(&tape, &|x| model.energy(&params, x), &noisy, sigma).unwrap();
    let gain = cov.matmul(&inverse(&noised).unwrap()); // Σ(Σ + σ²I)⁻¹
    let centred = Tensor::from_fn(&[5, 3], |k| noisy.data()[k] - mu.data()[k % 3]);
    let shift = centred.matmul_t(&gain, false, true);
    let posterior = Tensor::from_fn(&[5, 3], |k| mu.data()[k % 3] + shift.data()[k]);
    assert!(denoised.max_abs_diff(&posterior) < 1e-12);
    assert_eq!(tape.len(), params.len(), "the tape is left as it was found");
}

#[test]
fn tweedie_with_a_point_mass_returns_the_point() {
    let a = [2.0, -1.0];
    let sigma = 0.3;
    let noisy = normal_tensor::<f64, _>(&[4, 2], &mut seeded(3));
    let tape = Tape::new();
    let centre = tape.constant(Tensor::vector(&a));
    // q_σ = N(a, σ²I): score -(x̃ - a)/σ²
    let score = one_arg(|x| (x - centre) * (-1.0 / (sigma * sigma)));
    let denoised = tweedie_denoise_score_model(&tape, &|x| score(x), &noisy, sigma).unwrap();
    let point = Tensor::from_fn(&[4, 2], |k| a[k % 2]);
    assert!(denoised.max_abs_diff(&point) < 1e-13);
}

/// Two equal point masses at ±a in 1-D: `q_σ ∝ N(a, σ²) + N(-a, σ²)` and
/// `E[x | x̃] = a·tanh(a x̃ / σ²)`.
#[test]
fn tweedie_with_two_points_is_a_tanh() {
    let (a, sigma) = (1.0, 0.5);
    let noisy = Tensor::from_vec(&[7, 1], vec![-2.0, -1.0, -0.3, 0.0, 0.2, 0.9, 1.8]).unwrap();
    let tape = Tape::new();
    let c = -0.5 / (sigma * sigma);
    let energy = one_arg(|x| {
        let near = ((x - a).square() * c).exp();
        let far = ((x + a).square() * c).exp();
        -(near + far).log().sum_axis(1)
    });
    let denoised = tweedie_denoise_energy(&tape, &|x| energy(x), &noisy, sigma).unwrap();
    let expected = noisy.map(|v| a * (a * v / (sigma * sigma)).tanh());
    assert!(denoised.max_abs_diff(&expected) < 1e-13);
}

#[test]
fn tweedie_tensor_form_checks_its_inputs() {
    let noisy = Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap();
    let score = Tensor::from_rows(&[vec![-1.0, 0.5]]).unwrap();
    let out = tweedie_denoise(&noisy, &score, 2.0).unwrap();
    assert_eq!(out.data(), &[-3.0, 4.0]);
    assert!(matches!(
        tweedie_denoise(&noisy, &score, 0.0),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        tweedie_denoise(&noisy, &score, f64::NAN),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        tweedie_denoise(&noisy, &Tensor::zeros(&[2, 2]), 1.0),
        Err(Error::Shape(_))
    ));
}

/// The loss value written out: `½ mean‖-∇E(x + σε) + ε/σ‖²`, with `∇E` of a
/// quadratic in closed form; the score-model form with `s = -∇E` agrees.
#[test]
fn loss_value_matches_the_formula_and_the_score_form() {
    let mu = Tensor::vector(&[0.5, 0.0]);
    let p = Tensor::from_rows(&[vec![2.0, 0.5], vec![0.5, 1.0]]).unwrap();
    let model = QuadraticEnergy::from_mean_precision(&mu, &p).unwrap();
    let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(4));
    let eps = normal_tensor::<f64, _>(&[6, 2], &mut seeded(5));
    let sigma = 0.3;
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let loss = denoising_score_matching(&tape, &energy, &x, sigma, Noise::Given(&eps), None)
        .unwrap()
        .item();
    let noisy_centred = Tensor::from_fn(&[6, 2], |k| {
        x.data()[k] + sigma * eps.data()[k] - mu.data()[k % 2]
    });
    let score = noisy_centred.matmul(&p).map(|v| -v);
    let residual = score.zip_map(&eps, |s, e| s + e / sigma);
    let expected = 0.5 * residual.dot(&residual) / 6.0;
    assert!((loss - expected).abs() < 1e-12);

    let (pv, muv) = (tape.constant(p.clone()), tape.constant(mu.clone()));
    let score_form = denoising_score_matching_score_model(
        &tape,
        &|x| -(x - muv).matmul(pv),
        &x,
        sigma,
        Noise::Given(&eps),
        None,
    )
    .unwrap()
    .item();
    assert!((score_form - expected).abs() < 1e-12);
}

/// Multi-level DSM with given levels: each sample's term is `σ_b²` times its
/// single-level term at `σ_b`, and the σ column reaches the score model.
#[test]
fn multilevel_weights_each_level_by_sigma_squared() {
    let sigmas = [1.0, 0.3, 0.05];
    let levels = [2, 0, 1, 1, 0];
    let x = normal_tensor::<f64, _>(&[5, 2], &mut seeded(6));
    let eps = normal_tensor::<f64, _>(&[5, 2], &mut seeded(7));
    let net = small_score_net(2, 4, 8);
    let tape = Tape::new();
    let vars = net.record(&tape);
    // a σ-conditioned score: the net, divided by σ
    let conditioned = two_args(|x, s| small_score(&vars, x) / s);
    let loss = denoising_score_matching_multilevel(
        &tape,
        &|x, s| conditioned(x, s),
        &x,
        &sigmas,
        NoiseLevels::Given {
            levels: &levels,
            noise: &eps,
        },
        None,
    )
    .unwrap()
    .item();
    let mut expected = 0.0;
    for (b, &level) in levels.iter().enumerate() {
        let sigma = sigmas[level];
        let xb = x.slice(0, b, b + 1);
        let eb = eps.slice(0, b, b + 1);
        let single = denoising_score_matching_score_model(
            &tape,
            &|x| small_score(&vars, x) / sigma,
            &xb,
            sigma,
            Noise::Given(&eb),
            None,
        )
        .unwrap()
        .item();
        expected += sigma * sigma * single / 5.0;
    }
    assert!((loss - expected).abs() < 1e-12, "{loss} vs {expected}");
}

/// Random levels: each sample's level is uniform over the levels (counts
/// within 5 binomial standard errors), drawn before the noise exactly as
/// documented, so `Random(rng)` equals `Given` with the same draws.
#[test]
fn multilevel_random_levels_are_uniform_and_documented() {
    use rand::RngExt;
    let sigmas = [1.0, 0.5, 0.25, 0.125];
    let n = 4000;
    let x = normal_tensor::<f64, _>(&[n, 1], &mut seeded(20));
    let tape = Tape::new();
    let seen = RefCell::new(Vec::new());
    let score = two_args(|x, s| {
        *seen.borrow_mut() = s.to_vec();
        x.sin() / s
    });
    let random = denoising_score_matching_multilevel(
        &tape,
        &|x, s| score(x, s),
        &x,
        &sigmas,
        NoiseLevels::Random(&mut seeded(21)),
        None,
    )
    .unwrap()
    .item();
    let expected_count = n as f64 / 4.0;
    let standard_error = (n as f64 * 0.25 * 0.75).sqrt();
    for sigma in sigmas {
        let count = seen.borrow().iter().filter(|&&s| s == sigma).count() as f64;
        assert!(
            (count - expected_count).abs() < 5.0 * standard_error,
            "σ = {sigma}: {count}"
        );
    }

    let mut rng = seeded(21);
    let levels: Vec<usize> = (0..n).map(|_| rng.random_range(0..sigmas.len())).collect();
    let eps = normal_tensor::<f64, _>(&[n, 1], &mut rng);
    let given = denoising_score_matching_multilevel(
        &tape,
        &|x, s| score(x, s),
        &x,
        &sigmas,
        NoiseLevels::Given {
            levels: &levels,
            noise: &eps,
        },
        None,
    )
    .unwrap()
    .item();
    assert_eq!(random.to_bits(), given.to_bits());
}

#[test]
fn same_seed_gives_bit_identical_losses() {
    let model = MlpEnergy::<f64>::new(2, &[5], Activation::Tanh, 9).unwrap();
    let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(10));
    let run = |seed: u64| {
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let energy = |x| model.energy(&params, x);
        let loss = denoising_score_matching(
            &tape,
            &energy,
            &x,
            0.1,
            Noise::Random(&mut seeded(seed)),
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
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).0, run(2).0);
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let model = MlpEnergy::<f64>::new(2, &[4], Activation::Softplus, 11).unwrap();
    let x = normal_tensor::<f64, _>(&[5, 2], &mut seeded(12));
    let eps = normal_tensor::<f64, _>(&[5, 2], &mut seeded(13));
    check_parameter_gradient(
        model.params(),
        |tape, params| {
            let energy = |x| model.energy(params, x);
            denoising_score_matching(tape, &energy, &x, 0.2, Noise::Given(&eps), None).unwrap()
        },
        1e-5,
        1e-7,
    );
    let net = small_score_net(2, 4, 14);
    check_parameter_gradient(
        &net,
        |tape, params| {
            denoising_score_matching_score_model(
                tape,
                &|x| small_score(params, x),
                &x,
                0.2,
                Noise::Given(&eps),
                None,
            )
            .unwrap()
        },
        1e-5,
        1e-7,
    );
    let levels = [0, 1, 1, 0, 1];
    check_parameter_gradient(
        &net,
        |tape, params| {
            denoising_score_matching_multilevel(
                tape,
                &|x, s| small_score(params, x) / s,
                &x,
                &[0.5, 0.1],
                NoiseLevels::Given {
                    levels: &levels,
                    noise: &eps,
                },
                None,
            )
            .unwrap()
        },
        1e-5,
        1e-7,
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let x = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    let eps = Tensor::zeros(&[2, 2]);
    let tape = Tape::new();
    let energy = one_arg(|x| x.square().sum_axis(1));
    let single = |sigma: f64, noise: &Tensor<f64>| {
        denoising_score_matching(&tape, &|x| energy(x), &x, sigma, Noise::Given(noise), None)
            .map(|l| l.item())
    };
    assert!(matches!(single(0.0, &eps), Err(Error::InvalidData(_))));
    assert!(matches!(single(-1.0, &eps), Err(Error::InvalidData(_))));
    assert!(matches!(
        single(f64::INFINITY, &eps),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        single(0.1, &Tensor::zeros(&[2, 3])),
        Err(Error::Shape(_))
    ));
    let nan = Tensor::from_rows(&[vec![0.0, 0.0], vec![f64::NAN, 0.0]]).unwrap();
    assert!(matches!(single(0.1, &nan), Err(Error::InvalidData(_))));

    let multi = |sigmas: &[f64], levels: &[usize]| {
        denoising_score_matching_multilevel(
            &tape,
            &|x, s| x / s,
            &x,
            sigmas,
            NoiseLevels::Given {
                levels,
                noise: &eps,
            },
            None,
        )
        .map(|l| l.item())
    };
    assert!(multi(&[1.0, 0.5], &[0, 1]).is_ok());
    assert!(matches!(multi(&[], &[0, 0]), Err(Error::InvalidData(_))));
    assert!(matches!(
        multi(&[1.0, 0.0], &[0, 0]),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        multi(&[1.0, 0.5], &[0, 2]),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(multi(&[1.0, 0.5], &[0]), Err(Error::Shape(_))));
}

/// The σ-conditioned MLP score network through multi-level DSM.
#[test]
fn multilevel_gradient_matches_finite_differences_mlp_score() {
    let model = MlpScore::<f64>::new(2, &[5], Activation::Silu, true, 30).unwrap();
    let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(31));
    let eps = normal_tensor::<f64, _>(&[6, 2], &mut seeded(32));
    let levels = [0, 1, 2, 2, 1, 0];
    check_parameter_gradient(
        model.params(),
        |tape, params| {
            denoising_score_matching_multilevel(
                tape,
                &|x, s| model.score(params, x, Some(s)),
                &x,
                &[1.0, 0.3, 0.05],
                NoiseLevels::Given {
                    levels: &levels,
                    noise: &eps,
                },
                None,
            )
            .unwrap()
        },
        1e-5,
        1e-7,
    );
}
