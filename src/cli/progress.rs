//! The progress display of `scoretape fit`, on standard error: a bar redrawn
//! in place on a terminal, plain lines (about twenty per fit) otherwise, so
//! logs of batch jobs stay readable.

use crate::train::{Event, StepReport};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub(crate) struct Progress {
    /// The total number of updates, when known in advance.
    total: Option<u64>,
    terminal: bool,
    quiet: bool,
    /// Print a plain line every this many updates.
    every: u64,
    last_draw: Option<Instant>,
    last: Option<StepReport<f64>>,
    /// Rows held out for the validation loss, named next to it.
    validation_rows: usize,
}

impl Progress {
    pub fn new(total: Option<u64>, quiet: bool) -> Self {
        Progress {
            total,
            terminal: std::io::stderr().is_terminal(),
            quiet,
            every: total.map_or(100, |t| (t / 20).max(1)),
            last_draw: None,
            last: None,
            validation_rows: 0,
        }
    }

    /// Names the number of held-out rows next to the validation loss.
    pub fn with_validation_rows(mut self, rows: usize) -> Self {
        self.validation_rows = rows;
        self
    }

    pub fn update(&mut self, event: &Event<f64>) {
        let Event::Step(report) = event else {
            return;
        };
        self.last = Some(*report);
        if self.quiet {
            return;
        }
        if self.terminal {
            let due = self
                .last_draw
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
            if due {
                self.last_draw = Some(Instant::now());
                eprint!("\r{}\x1b[K", self.line(report));
                let _ = std::io::stderr().flush();
            }
        } else if report.step % self.every == 0 || report.step == 1 {
            eprintln!("{}", self.line(report));
        }
    }

    /// Ends the display with the final numbers on a line of their own.
    pub fn finish(&mut self) {
        if self.quiet {
            return;
        }
        if let Some(report) = self.last {
            if self.terminal {
                eprintln!("\r{}\x1b[K", self.line(&report));
            } else if report.step % self.every != 0 {
                eprintln!("{}", self.line(&report));
            }
        }
    }

    fn line(&self, r: &StepReport<f64>) -> String {
        let mut line = match self.total {
            Some(total) => {
                const WIDTH: u64 = 24;
                let filled = (r.step.min(total) * WIDTH / total.max(1)) as usize;
                format!(
                    "[{}{}] step {}/{total}",
                    "#".repeat(filled),
                    "-".repeat(WIDTH as usize - filled),
                    r.step
                )
            }
            None => format!("step {}", r.step),
        };
        line += &format!("  epoch {}  loss {:.6}", r.epoch + 1, r.loss);
        if let Some(v) = r.validation_loss {
            line += &format!("  val {v:.6} ({} rows)", self.validation_rows);
        }
        if let Some(rate) = r.steps_per_second {
            line += &format!("  {rate:.1} steps/s");
        }
        line
    }
}
