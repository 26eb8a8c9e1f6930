//! The training log of `scoretape fit --log`: CSV with the header
//! `step,epoch,loss,validation_loss`, one row per update; `validation_loss`
//! is filled on the last update of each epoch (when it is computed) and
//! empty otherwise.

use crate::io::FileError;
use std::fmt::Write as _;
use std::path::Path;

const HEADER: &str = "step,epoch,loss,validation_loss";

/// One update's line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LogRow {
    pub step: u64,
    /// 1-based.
    pub epoch: u64,
    pub loss: f64,
    pub validation_loss: Option<f64>,
}

pub(crate) fn format_log(rows: &[LogRow]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows {
        let validation = r.validation_loss.map_or(String::new(), |v| v.to_string());
        writeln!(out, "{},{},{},{validation}", r.step, r.epoch, r.loss)
            .expect("writing to a String cannot fail");
    }
    out
}

pub(crate) fn read_log(path: &Path) -> Result<Vec<LogRow>, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    parse_log(&text, path)
}

pub(crate) fn parse_log(text: &str, path: &Path) -> Result<Vec<LogRow>, FileError> {
    let mut lines = crate::io::without_bom(text).lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == HEADER => {}
        _ => {
            return Err(FileError::at_line(
                path,
                1,
                format!("not a training log (expected the header {HEADER:?})"),
            ))
        }
    }
    let mut rows = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [step, epoch, loss, validation] = fields[..] else {
            return Err(FileError::at_line(
                path,
                number,
                format!("row has {} fields, expected 4", fields.len()),
            ));
        };
        let bad = |what: &str, field: &str| {
            FileError::at_line(path, number, format!("{what} is {field:?}, not a number"))
        };
        let finite = |what: &str, field: &str| match field.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(bad(what, field)),
        };
        rows.push(LogRow {
            step: step.parse().map_err(|_| bad("step", step))?,
            epoch: epoch.parse().map_err(|_| bad("epoch", epoch))?,
            loss: finite("loss", loss)?,
            validation_loss: if validation.is_empty() {
                None
            } else {
                Some(finite("validation_loss", validation)?)
            },
        });
    }
    if rows.is_empty() {
        return Err(FileError::new(path, "the training log has no rows"));
    }
    Ok(rows)
}
