//! # cryptolens
//!
//! The native command-line tool over the same detection core the worker runs
//! (`cl-domain`): `detect`, `aggregate` and `bench` today; `backtest` and `replay` are listed
//! and answer "not yet available" (exit 2).
//!
//! Layout: [`args`] parses the command line by hand (no clap, so the WASI build stays small),
//! [`input`] reads CSV/JSON candle files (serde_json stays out of the domain), [`output`]
//! writes the JSON shapes, and [`bench`] generates data and times the core. Results go to
//! stdout; every error goes to stderr as one `error: …` line, with exit code 2 for bad usage or
//! bad input and 1 when the output cannot be written. It also builds for `wasm32-wasip1`
//! (see `scripts/bench-wasm.sh`).

mod args;
mod bench;
mod input;
mod output;

use args::{AggregateArgs, Command, DetectArgs, UsageError};
use cl_domain::aggregate::aggregate;
use cl_domain::detect::{detect_all, in_emission_order, Mode};
use cl_domain::DetectionParams;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for bad usage, bad input, or a command not yet available.
const EXIT_USAGE: u8 = 2;
/// Exit code when the output cannot be written.
const EXIT_OUTPUT: u8 = 1;

/// Everything that ends a run early.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The command line is wrong.
    #[error("{0}")]
    Usage(#[from] UsageError),
    /// A candle file is unreadable or invalid.
    #[error("{path}: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: input::InputError,
    },
    /// A listed command that is not implemented yet.
    #[error("{0} is not yet available")]
    NotYetAvailable(&'static str),
    /// The bench could not run.
    #[error("bench: {0}")]
    Bench(#[from] bench::BenchError),
    /// stdout could not be written.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Output(_) | Self::Bench(bench::BenchError::Output(_)) => EXIT_OUTPUT,
            _ => EXIT_USAGE,
        }
    }
}

fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Nothing better to do if stderr itself is gone.
            let _ = writeln!(io::stderr().lock(), "error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(argv: Vec<std::ffi::OsString>) -> Result<(), CliError> {
    let stdout = io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    match args::parse(argv)? {
        Command::Help => out.write_all(args::USAGE.as_bytes())?,
        Command::Version => writeln!(out, "cryptolens {}", env!("CARGO_PKG_VERSION"))?,
        Command::Detect(a) => run_detect(&a, &mut out)?,
        Command::Aggregate(a) => run_aggregate(&a, &mut out)?,
        Command::Bench(a) => {
            let report = bench::run(&a)?;
            if a.json {
                serde_json::to_writer(&mut out, &report).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            } else {
                bench::write_table(&mut out, &report)?;
            }
        }
        Command::Coming(name) => return Err(CliError::NotYetAvailable(name)),
    }
    out.flush()?;
    Ok(())
}

fn load(path: &Path) -> Result<cl_domain::CandleSeries, CliError> {
    input::load(path).map_err(|source| CliError::Input {
        path: path.to_path_buf(),
        source,
    })
}

fn run_detect(a: &DetectArgs, out: &mut impl Write) -> Result<(), CliError> {
    let series = load(&a.candles)?;
    let defaults = DetectionParams::default();
    let params = DetectionParams {
        min_zone_pct: a.min_zone_pct.unwrap_or(defaults.min_zone_pct),
        ..defaults
    };
    let mode = if a.dedup { Mode::Dedup } else { Mode::Raw };
    let runs = detect_all(series.as_slice(), &a.types, mode, &params);
    output::write_patterns(out, in_emission_order(&runs))?;
    Ok(())
}

fn run_aggregate(a: &AggregateArgs, out: &mut impl Write) -> Result<(), CliError> {
    let series = load(&a.candles)?;
    let per_tf: Vec<_> =
        a.to.iter()
            .map(|&tf| (tf, aggregate(&series, tf, a.now_ms, None)))
            .collect();
    output::write_aggregates(out, &per_tf)?;
    Ok(())
}
