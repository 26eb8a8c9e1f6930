//! The per-objective defaults of `scoretape fit`: Adam's learning rate for
//! each objective and model, and dsm's noise level σ, which adapts to the
//! data. Chosen by the sweep recorded in docs/real-data.md (the bundled toy
//! sets and a held-back real set, scikit-learn's diabetes features); `fit`
//! prints what it chose, and `--lr` / `--sigma` override it.

use super::fit::ModelArg;
use super::objective::ObjectiveName;
use crate::tensor::Tensor;
use clap::ValueEnum;

/// Adam's default learning rate for `objective` on `model`.
///
/// Ratio matching's loss is a sum of d sigmoids that are flat at zero
/// parameters, so its gradients are small and it needs a larger rate
/// than the score-matching objectives.
pub(crate) fn learning_rate(objective: ObjectiveName, model: ModelArg) -> f64 {
    match (objective, model) {
        (ObjectiveName::Rm, ModelArg::Boltzmann) => 3e-2,
        (ObjectiveName::Rm, _) => 1e-2,
        (ObjectiveName::Dsm, _) => 3e-3,
        // fd-ssm and gsm are score-matching losses of the same scale as
        // esm and ssm, so they share the sweep's score-matching rate.
        (
            ObjectiveName::Esm
            | ObjectiveName::Ssm
            | ObjectiveName::SsmVr
            | ObjectiveName::FdSsm
            | ObjectiveName::Gsm,
            _,
        ) => 1e-3,
    }
}

/// dsm's default noise level: Scott's rule for the bandwidth of a Gaussian
/// kernel density estimate, σ = n^(−1/(d+4)) · s, with n the training rows,
/// d the dimension and s the root-mean-square column standard deviation of
/// the rows `x` the model sees (1 after `--standardize`).
///
/// Denoising score matching fits the score of the data convolved with
/// N(0, σ²I), the KDE of bandwidth σ; a σ far below the spacing of the rows
/// (0.1 in 13 dimensions with 100 rows) lets the model put a spike on each
/// training row, which does not generalise.
pub(crate) fn scott_sigma(x: &Tensor<f64>, training_rows: usize) -> f64 {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let data = x.data();
    let mean_variance = (0..d)
        .map(|j| {
            let mean = (0..n).map(|b| data[b * d + j]).sum::<f64>() / n as f64;
            (0..n)
                .map(|b| (data[b * d + j] - mean).powi(2))
                .sum::<f64>()
                / n as f64
        })
        .sum::<f64>()
        / d as f64;
    let spread = if mean_variance > 0.0 {
        mean_variance.sqrt()
    } else {
        1.0
    };
    (training_rows.max(1) as f64).powf(-1.0 / (d as f64 + 4.0)) * spread
}

/// The line `fit` prints about the defaults it filled in (`None` when every
/// one was given).
pub(crate) fn line(
    objective: ObjectiveName,
    model: ModelArg,
    lr: Option<f64>,
    sigma: Option<(f64, usize, usize)>,
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(lr) = lr {
        let model = model
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        parts.push(format!(
            "--lr {lr} (for {} with --model {model})",
            objective.name()
        ));
    }
    if let Some((sigma, n, d)) = sigma {
        parts.push(format!(
            "--sigma {sigma:.4} (Scott's rule: {n}^(-1/{}) × the inputs' RMS standard deviation)",
            d + 4
        ));
    }
    (!parts.is_empty()).then(|| format!("defaults: {}; set them to choose", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scott_sigma_follows_the_rule() {
        // Columns with variances 4 and 1: RMS standard deviation √2.5.
        let x = Tensor::from_rows(&[
            vec![-2.0, -1.0],
            vec![2.0, 1.0],
            vec![-2.0, 1.0],
            vec![2.0, -1.0],
        ])
        .unwrap();
        let expected = 81f64.powf(-1.0 / 6.0) * 2.5f64.sqrt();
        assert!((scott_sigma(&x, 81) - expected).abs() < 1e-12);
        // 96 standardised rows in 13 dimensions: σ ≈ 0.76, not 0.1.
        let x = Tensor::from_fn(&[2, 13], |k| if k < 13 { -1.0 } else { 1.0 });
        assert!((scott_sigma(&x, 96) - 96f64.powf(-1.0 / 17.0)).abs() < 1e-12);
    }
}
