//! `cryptolens bench`: throughput of aggregation and of every detector on a generated,
//! deterministic random walk of 1m candles.
//!
//! The generator uses only `+`, `×` and comparisons on IEEE doubles (no `ln`/`cos`, whose
//! libm implementations differ), so a given seed yields bit-identical candles natively and
//! under WASI, and the two targets' figures measure the same work.

use crate::args::BenchArgs;
use cl_domain::aggregate::aggregate;
use cl_domain::detect::{detect, detect_all, Mode};
use cl_domain::{
    Candle, CandleError, CandleSeries, DetectionParams, PatternType, SeriesError, Timeframe,
};
use serde::Serialize;
use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, Instant};

const MINUTE_MS: i64 = 60_000;
/// 2023-11-14T00:00:00Z: a UTC midnight, so every bucket boundary is a real one.
const START_MS: i64 = 1_699_920_000_000;
const START_PRICE: f64 = 30_000.0;
/// Per-minute volatility of close vs open, calm and in bursts.
const CALM_VOL: f64 = 0.0008;
const BURST_VOL: f64 = 0.003;
/// Chance per minute of entering / leaving a burst.
const BURST_ON: f64 = 0.01;
const BURST_OFF: f64 = 0.1;
/// Chance per minute of an opening gap, and its largest size.
const GAP_CHANCE: f64 = 0.05;
const GAP_MAX: f64 = 0.002;
/// Chance per minute of a missing candle (a hole).
const HOLE_CHANCE: f64 = 0.001;
const MAX_VOLUME: f64 = 50.0;

/// Why the bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The generator produced an invalid candle (a bug).
    #[error("generated candle {index} is invalid: {source}")]
    Generator {
        /// Row index.
        index: usize,
        /// The rule it broke.
        source: CandleError,
    },
    /// The generated series is out of order (a bug).
    #[error("generated series: {0}")]
    Order(#[from] SeriesError),
    /// Writing the report failed.
    #[error("cannot write the report: {0}")]
    Output(#[from] io::Error),
    /// A replayed run failed (a bug).
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
}

/// splitmix64: tiny, fast, and good enough for test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    fn unit(&mut self) -> f64 {
        const MANTISSA_BITS: u32 = 53;
        (self.next_u64() >> (64 - MANTISSA_BITS)) as f64 / (1u64 << MANTISSA_BITS) as f64
    }

    /// Roughly standard normal (Irwin–Hall of 4 uniforms, rescaled), arithmetic only.
    fn normal(&mut self) -> f64 {
        // The sum of 4 uniforms has mean 2 and variance 4/12.
        let sum = self.unit() + self.unit() + self.unit() + self.unit();
        (sum - 2.0) * 3.0_f64.sqrt()
    }
}

/// Generates `n` 1m candles from `seed`: a multiplicative random walk with volatility bursts,
/// occasional opening gaps and rare missing minutes.
///
/// # Errors
/// [`BenchError::Generator`] if a candle fails validation (never expected).
pub fn generate(n: usize, seed: u64) -> Result<CandleSeries, BenchError> {
    generate_walk(n, seed, START_MS, START_PRICE)
}

/// [`generate`] from a chosen first minute and first price (e.g. a symbol's price level).
///
/// # Errors
/// [`BenchError::Generator`] if a candle fails validation (never expected for a positive
/// finite `start_price`).
pub fn generate_walk(
    n: usize,
    seed: u64,
    start_ms: i64,
    start_price: f64,
) -> Result<CandleSeries, BenchError> {
    let mut rng = SplitMix64(seed);
    let mut out = Vec::with_capacity(n);
    let (mut ts, mut close, mut burst) = (start_ms, start_price, false);
    for index in 0..n {
        if rng.unit() < HOLE_CHANCE {
            ts += MINUTE_MS;
        }
        burst = if burst {
            rng.unit() >= BURST_OFF
        } else {
            rng.unit() < BURST_ON
        };
        let vol = if burst { BURST_VOL } else { CALM_VOL };
        let gap = if rng.unit() < GAP_CHANCE {
            (rng.unit() * 2.0 - 1.0) * GAP_MAX
        } else {
            0.0
        };
        let open = close * (1.0 + gap);
        close = open * (1.0 + vol * rng.normal());
        let high = open.max(close) * (1.0 + vol * 0.5 * rng.unit());
        let low = open.min(close) * (1.0 - vol * 0.5 * rng.unit());
        let volume = MAX_VOLUME * rng.unit();
        let candle = Candle::new(ts, open, high, low, close, volume)
            .map_err(|source| BenchError::Generator { index, source })?;
        out.push(candle);
        ts += MINUTE_MS;
    }
    // Timestamps only ever grow, so the series is ordered.
    Ok(CandleSeries::new(out)?)
}

/// One measured stage.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What ran: `aggregate`, a pattern type, or `detect_all`.
    pub stage: String,
    /// Aggregation target, when the stage is an aggregation.
    pub timeframe: Option<&'static str>,
    /// `raw` or `dedup` for detectors.
    pub mode: Option<&'static str>,
    /// Best wall time over the runs, in milliseconds.
    pub best_ms: f64,
    /// Input candles per second at the best time.
    pub candles_per_sec: f64,
    /// Candles or detections produced (a sanity check that work was done).
    pub output: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Input size.
    pub candles: usize,
    /// Generator seed.
    pub seed: u64,
    /// Runs per stage.
    pub runs: usize,
    /// `arch-os` of the running binary, e.g. `wasm32-wasi`.
    pub target: String,
    /// One row per stage.
    pub results: Vec<Row>,
}

/// Runs `f` `runs` times and returns the best time and the last output.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let start = Instant::now();
    let mut out = black_box(f());
    let mut best = start.elapsed();
    for _ in 1..runs {
        let start = Instant::now();
        out = black_box(f());
        best = best.min(start.elapsed());
    }
    (best, out)
}

fn row(
    stage: &str,
    timeframe: Option<&'static str>,
    mode: Option<&'static str>,
    n: usize,
    (best, output): (Duration, usize),
) -> Row {
    let secs = best.as_secs_f64();
    Row {
        stage: stage.to_owned(),
        timeframe,
        mode,
        best_ms: secs * 1e3,
        candles_per_sec: if secs > 0.0 {
            n as f64 / secs
        } else {
            f64::INFINITY
        },
        output,
    }
}

/// Generates the data and measures every stage.
///
/// # Errors
/// [`BenchError`] if the data cannot be generated.
pub fn run(args: &BenchArgs) -> Result<Report, BenchError> {
    let series = generate(args.candles, args.seed)?;
    let n = series.len();
    let now = series
        .as_slice()
        .last()
        .map_or(START_MS, |c| c.ts() + MINUTE_MS);
    let one_min = series.as_slice();
    let params = DetectionParams::default();
    let mut results = Vec::new();

    for tf in Timeframe::AGGREGATED {
        let timed = best_of(args.runs, || {
            aggregate(black_box(&series), tf, now, None).len()
        });
        results.push(row("aggregate", Some(tf.as_str()), None, n, timed));
    }
    let timed = best_of(args.runs, || {
        Timeframe::AGGREGATED
            .iter()
            .map(|&tf| aggregate(black_box(&series), tf, now, None).len())
            .sum()
    });
    results.push(row("aggregate", Some("all 7"), None, n, timed));

    for (mode, label) in [(Mode::Raw, "raw"), (Mode::Dedup, "dedup")] {
        for &t in PatternType::ALL {
            let timed = best_of(args.runs, || {
                detect(black_box(one_min), t, mode, &params).len()
            });
            results.push(row(t.as_str(), None, Some(label), n, timed));
        }
        let timed = best_of(args.runs, || {
            detect_all(black_box(one_min), PatternType::ALL, mode, &params)
                .iter()
                .map(|r| r.detections.len())
                .sum()
        });
        results.push(row("detect_all", None, Some(label), n, timed));
    }

    Ok(Report {
        candles: n,
        seed: args.seed,
        runs: args.runs,
        target: target_name(),
        results,
    })
}

/// One mode of `bench-replay`.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayRow {
    /// `one run` or `minute by minute`.
    pub mode: &'static str,
    /// Pipeline ticks.
    pub runs: usize,
    /// 1m candles fed.
    pub candles: usize,
    /// Wall time of the ticks, in seconds.
    pub seconds: f64,
    /// Candles fed per second, end to end (store, aggregate, detect, levels, status, signals,
    /// expiry).
    pub candles_per_sec: f64,
    /// Patterns stored.
    pub patterns: usize,
    /// Signals stored.
    pub signals: usize,
}

/// The `bench-replay` report.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Days of 1m candles.
    pub days: usize,
    /// Generator seed.
    pub seed: u64,
    /// `arch-os` of the binary.
    pub target: String,
    /// One row per mode.
    pub results: Vec<ReplayRow>,
}

/// Minutes per day.
const MINUTES_PER_DAY: usize = 1_440;

/// Times the replay of `days` days of generated 1m candles for one symbol: as ONE run, then
/// as one run per candle, each on a fresh in-memory store.
///
/// # Errors
/// [`BenchError`] when the data cannot be generated or a run fails (never expected).
pub fn run_replay(args: &crate::args::BenchReplayArgs) -> Result<ReplayReport, BenchError> {
    use crate::replay::{Progress, Replay, SymbolInput};
    use cl_domain::signal::SignalSettings;
    let n = args.days.saturating_mul(MINUTES_PER_DAY);
    let series = generate(n, args.seed)?;
    let n = series.len();
    let modes: [(&'static str, Vec<(usize, usize)>); 2] = [
        ("one run", vec![(0, n)]),
        ("minute by minute", (0..n).map(|k| (k, k + 1)).collect()),
    ];
    let mut results = Vec::with_capacity(modes.len());
    for (mode, steps) in modes {
        let input = SymbolInput {
            symbol: "BTC/USDT".to_owned(),
            candles: series.clone(),
        };
        let start = Instant::now();
        let mut replay = Replay::new(
            vec![input],
            SignalSettings::default(),
            DetectionParams::default(),
        )?;
        let mut progress = Progress::new("bench-replay", steps.len());
        for (k, step) in steps.iter().enumerate() {
            replay.step(*step)?;
            progress.tick(k + 1);
        }
        let seconds = start.elapsed().as_secs_f64();
        progress.finish();
        results.push(ReplayRow {
            mode,
            runs: steps.len(),
            candles: n,
            seconds,
            candles_per_sec: if seconds > 0.0 {
                n as f64 / seconds
            } else {
                f64::INFINITY
            },
            patterns: replay
                .patterns()
                .map_err(crate::replay::ReplayError::from)?
                .len(),
            signals: replay
                .signals()
                .map_err(crate::replay::ReplayError::from)?
                .len(),
        });
    }
    Ok(ReplayReport {
        days: args.days,
        seed: args.seed,
        target: target_name(),
        results,
    })
}

/// Writes the `bench-replay` report as an aligned table.
///
/// # Errors
/// The writer's I/O error.
pub fn write_replay_table<W: Write>(mut out: W, r: &ReplayReport) -> io::Result<()> {
    writeln!(
        out,
        "cryptolens bench-replay: {} day(s) of 1m candles, seed {}, {}",
        r.days, r.seed, r.target
    )?;
    writeln!(
        out,
        "{:<18} {:>7} {:>8} {:>10} {:>14} {:>9} {:>8}",
        "mode", "runs", "candles", "seconds", "candles/s", "patterns", "signals"
    )?;
    for row in &r.results {
        writeln!(
            out,
            "{:<18} {:>7} {:>8} {:>10.3} {:>14} {:>9} {:>8}",
            row.mode,
            row.runs,
            row.candles,
            row.seconds,
            group_thousands(row.candles_per_sec),
            row.patterns,
            row.signals
        )?;
    }
    Ok(())
}

/// `arch-os` of this binary; WASI builds report an empty OS, so name it.
fn target_name() -> String {
    let os = match std::env::consts::OS {
        "" if cfg!(target_os = "wasi") => "wasi",
        "" => "unknown",
        os => os,
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// Writes the report as an aligned table.
///
/// # Errors
/// The writer's I/O error.
pub fn write_table<W: Write>(mut out: W, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "cryptolens bench: {} 1m candles, seed {}, best of {} run(s), {}",
        r.candles, r.seed, r.runs, r.target
    )?;
    writeln!(
        out,
        "{:<18} {:<6} {:<6} {:>10} {:>16} {:>9}",
        "stage", "tf", "mode", "best ms", "candles/s", "output"
    )?;
    for row in &r.results {
        writeln!(
            out,
            "{:<18} {:<6} {:<6} {:>10.3} {:>16} {:>9}",
            row.stage,
            row.timeframe.unwrap_or("-"),
            row.mode.unwrap_or("-"),
            row.best_ms,
            group_thousands(row.candles_per_sec),
            row.output
        )?;
    }
    Ok(())
}

/// `12345678.9` → `12,345,679`.
fn group_thousands(x: f64) -> String {
    if !x.is_finite() {
        return "inf".to_owned();
    }
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_valid() {
        let a = generate(5_000, 7).unwrap();
        let b = generate(5_000, 7).unwrap();
        let c = generate(5_000, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 5_000);
    }

    #[test]
    fn generated_data_has_holes_and_every_pattern_type() {
        let s = generate(20_000, 42).unwrap();
        let holes = s
            .as_slice()
            .windows(2)
            .filter(|w| w[1].ts() - w[0].ts() > MINUTE_MS)
            .count();
        assert!(holes > 0);
        let runs = detect_all(
            s.as_slice(),
            PatternType::ALL,
            Mode::Raw,
            &DetectionParams::default(),
        );
        for r in runs {
            assert!(!r.detections.is_empty(), "{:?}", r.pattern_type);
        }
    }

    #[test]
    fn a_report_covers_aggregation_and_both_modes_of_every_detector() {
        let args = BenchArgs {
            candles: 2_000,
            seed: 1,
            runs: 1,
            json: false,
        };
        let r = run(&args).unwrap();
        // 7 TFs + all, and (3 detectors + detect_all) × 2 modes.
        assert_eq!(r.results.len(), 8 + 8);
        let mut table = Vec::new();
        write_table(&mut table, &r).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains("liquidity_sweep") && table.contains("dedup"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(1_234_567.8), "1,234,568");
        assert_eq!(group_thousands(999.0), "999");
        assert_eq!(group_thousands(f64::INFINITY), "inf");
    }
}
