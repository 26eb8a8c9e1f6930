//! `scoretape data`: writes a seeded toy data set as CSV.

use super::common::{at_least_one, write_samples};
use super::error::CliError;
use crate::data::ToyData;
use clap::Args;
use std::path::PathBuf;

/// Options of `scoretape data`.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// two-moons, 8-gaussians, rings, swiss-roll, checkerboard or
    /// bars-and-stripes.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The number of samples.
    #[arg(long, value_parser = at_least_one)]
    pub n: usize,
    /// The seed: the same seed gives the same numbers on every machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// bars-and-stripes: the image side k (samples have k² bits).
    #[arg(long, value_parser = at_least_one, default_value_t = 4)]
    pub side: usize,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `scoretape data`.
pub(crate) fn run(args: &DataArgs) -> Result<(), CliError> {
    let set = match args.name.parse::<ToyData>() {
        Ok(ToyData::BarsAndStripes { .. }) => ToyData::BarsAndStripes { side: args.side },
        Ok(set) => set,
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    let x = set.generate::<f64>(args.n, args.seed)?;
    write_samples(args.out.as_deref(), &x, &format!("data set {}", args.name))
}
