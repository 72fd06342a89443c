//! # cryptolens
//!
//! The native command-line tool over the same detection core the worker runs
//! (`cl-domain`): `detect`, `aggregate`, `backtest` and `bench`; and over the same application
//! service the scheduled pipeline runs (`cl-app`'s tick on the in-memory store): `replay`,
//! `demo-sql` and `bench-replay`.
//!
//! Layout: [`args`] parses the command line by hand (no clap, so the WASI build stays small),
//! [`input`] reads CSV/JSON candle files (serde_json stays out of the domain), [`output`]
//! writes the JSON shapes, [`bench`] generates data and times the core, [`replay`] drives
//! the pipeline over history and [`demo`] turns a replay into D1 SQL. Results go to
//! stdout; every error goes to stderr as one `error: …` line, with exit code 2 for bad usage or
//! bad input and 1 when the output cannot be written. It also builds for `wasm32-wasip1`
//! (see `scripts/bench-wasm.sh`).

mod args;
mod bench;
mod create_user;
mod demo;
mod import;
mod input;
mod output;
mod replay;

use args::{AggregateArgs, BacktestArgs, Command, DemoSqlArgs, DetectArgs, ReplayArgs, UsageError};
use cl_domain::aggregate::aggregate;
use cl_domain::backtest::{run_backtest, BacktestError, BacktestParams};
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
    /// The backtest refused its input (parameters, a 1m TF).
    #[error("backtest: {0}")]
    Backtest(#[from] BacktestError),
    /// The replay could not run.
    #[error("replay: {0}")]
    Replay(#[from] replay::ReplayError),
    /// The demo data could not be made or written.
    #[error("demo-sql: {0}")]
    Demo(#[from] demo::DemoError),
    /// The bench could not run.
    #[error("bench: {0}")]
    Bench(#[from] bench::BenchError),
    /// stdout could not be written.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
    /// `create-user` failed.
    #[error("{0}")]
    CreateUser(#[from] create_user::CreateUserError),
    /// `import` failed.
    #[error("{0}")]
    Import(#[from] import::ImportError),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Output(_)
            | Self::Bench(bench::BenchError::Output(_))
            | Self::Replay(replay::ReplayError::Output(_))
            | Self::Demo(demo::DemoError::Write { .. })
            | Self::CreateUser(create_user::CreateUserError::Write { .. })
            | Self::Import(import::ImportError::Write(_)) => EXIT_OUTPUT,
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
    if argv.first().and_then(|a| a.to_str()) == Some("import") {
        let rest: Vec<String> = argv[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        import::run(&rest, &mut out, &mut io::stderr().lock())?;
        return Ok(out.flush()?);
    }
    if argv.first().and_then(|a| a.to_str()) == Some("create-user") {
        let rest: Vec<String> = argv[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        create_user::run(&rest, &mut out)?;
        return Ok(out.flush()?);
    }
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
        Command::Backtest(a) => run_backtest_cmd(&a, &mut out)?,
        Command::Replay(a) => run_replay(&a, &mut out)?,
        Command::DemoSql(a) => run_demo(&a)?,
        Command::BenchReplay(a) => {
            let report = bench::run_replay(&a)?;
            if a.json {
                serde_json::to_writer(&mut out, &report).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            } else {
                bench::write_replay_table(&mut out, &report)?;
            }
        }
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

fn run_backtest_cmd(a: &BacktestArgs, out: &mut impl Write) -> Result<(), CliError> {
    let series = load(&a.candles)?;
    let candles = series.as_slice();
    let detections = cl_domain::detect::detect(
        candles,
        a.pattern_type,
        Mode::Raw,
        &DetectionParams::default(),
    );
    let params = BacktestParams {
        rr: a.rr,
        sl_buffer_pct: a.sl_buffer_pct,
        slippage_pct: a.slippage_pct,
    };
    let report = run_backtest(a.tf, candles, &detections, &params)?;
    serde_json::to_writer(&mut *out, &report).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn run_replay(a: &ReplayArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut inputs = Vec::with_capacity(a.candles.len());
    for (symbol, path) in &a.candles {
        inputs.push(replay::SymbolInput {
            symbol: symbol.clone(),
            candles: load(path)?,
        });
    }
    let steps = a.steps.as_deref().map(replay::load_steps).transpose()?;
    let settings = match &a.settings {
        Some(path) => replay::load_settings(path)?,
        None => cl_domain::signal::SignalSettings::default(),
    };
    replay::run(inputs, steps, settings, out)?;
    Ok(())
}

fn run_demo(a: &DemoSqlArgs) -> Result<(), CliError> {
    let (sql, s) = demo::build(&a.symbols, a.days, a.seed, a.now_ms)?;
    demo::write_file(&a.out, &sql)?;
    // The summary is informational; stdout stays free for nothing else.
    let _ = writeln!(
        io::stderr().lock(),
        "demo-sql: wrote {} ({} bytes, {} statements): {} symbols, {} candles, {} patterns, {} signals",
        a.out.display(),
        s.bytes,
        s.statements,
        s.symbols,
        s.candles,
        s.patterns,
        s.signals
    );
    Ok(())
}
