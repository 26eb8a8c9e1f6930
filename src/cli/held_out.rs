//! What `scoretape fit` holds out and how the fitted model does on it: the
//! validation split announced before training and summarised after it, and
//! the `--test FILE` metrics at the end.

use super::common::Dataset;
use super::error::CliError;
use crate::exec::Evaluator;
use crate::io::AnyModel;
use crate::model::AffineMap;
use crate::objective::Objective;
use crate::random::seeded;
use std::path::Path;

/// The number of rows `fit` holds out for validation: `round(fraction · n)`,
/// as the training loop computes it.
pub(crate) fn validation_rows(fraction: f64, n: usize) -> usize {
    (fraction * n as f64).round() as usize
}

/// The line announcing the split, printed before training.
pub(crate) fn split_line(fraction: f64, n: usize) -> String {
    let held = validation_rows(fraction, n);
    if held == 0 {
        format!("training on all {n} rows (no validation split)")
    } else {
        format!(
            "training on {} rows, holding out {held} for validation (--validation {fraction}; \
             --validation 0 trains on every row)",
            n - held
        )
    }
}

/// The objective's mean loss on the rows of `path` (mapped through
/// `input_map` as the training data were), with draws (projections, noise)
/// from `seed`, so that the number is reproducible.
pub(crate) fn test_loss(
    path: &Path,
    objective: &Objective,
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    seed: u64,
) -> Result<(f64, usize), CliError> {
    let mut test = Dataset::read(path)?;
    test.check_dim(model, path)?;
    if !objective.is_continuous() {
        test.check_binary("ratio matching")?;
    }
    if let Some(map) = input_map {
        test.x = map.apply(&test.x);
    }
    let draws = objective.draw(model, test.len(), &mut seeded(seed))?;
    let loss = Evaluator::new().value(objective, model, &test.x, &draws)?;
    if !loss.is_finite() {
        return Err(CliError::data(format!(
            "{}: the test loss is {loss}",
            path.display()
        )));
    }
    Ok((loss, test.len()))
}
