//! The default training budget of `scoretape fit`: 50 epochs, but at least
//! [`MIN_DEFAULT_UPDATES`] updates, so that a small data set (150 rows is one
//! minibatch, and 50 epochs only 50 updates) still gets enough updates to
//! converge, while a large one keeps the familiar 50 passes.

use crate::train::Budget;

/// Passes over the training rows when neither --steps nor --epochs is given.
pub(crate) const DEFAULT_EPOCHS: u64 = 50;
/// The fewest updates the default budget makes.
pub(crate) const MIN_DEFAULT_UPDATES: u64 = 2000;

/// The budget: --steps, else --epochs, else
/// `max(DEFAULT_EPOCHS · ⌈n_train / batch⌉, MIN_DEFAULT_UPDATES)` updates,
/// with the sentence that explains the default (`None` when one was given).
pub(crate) fn budget(
    steps: Option<u64>,
    epochs: Option<u64>,
    training_rows: usize,
    batch_size: usize,
) -> (Budget, Option<String>) {
    match (steps, epochs) {
        (Some(steps), _) => (Budget::Steps(steps), None),
        (None, Some(epochs)) => (Budget::Epochs(epochs), None),
        (None, None) => {
            let per_epoch = training_rows.div_ceil(batch_size.max(1)).max(1) as u64;
            let updates = (DEFAULT_EPOCHS * per_epoch).max(MIN_DEFAULT_UPDATES);
            let line = format!(
                "budget: {updates} updates (default: {DEFAULT_EPOCHS} epochs of {per_epoch} \
                 update{}, at least {MIN_DEFAULT_UPDATES}; set --steps or --epochs to choose)",
                if per_epoch == 1 { "" } else { "s" }
            );
            (Budget::Steps(updates), Some(line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_adapts_to_the_data_size() {
        // 135 training rows, batch 128: 2 updates an epoch, 100 < 2000.
        let (b, line) = budget(None, None, 135, 128);
        assert_eq!(b, Budget::Steps(2000));
        assert!(line.unwrap().starts_with("budget: 2000 updates"));
        // 60 000 rows: 469 updates an epoch, 50 epochs = 23 450.
        assert_eq!(budget(None, None, 60_000, 128).0, Budget::Steps(23_450));
        // Given values win and print nothing.
        assert_eq!(budget(Some(7), None, 60_000, 128), (Budget::Steps(7), None));
        assert_eq!(budget(None, Some(3), 10, 128), (Budget::Epochs(3), None));
    }
}
