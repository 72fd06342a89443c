//! A small hand-rolled argument parser: `cryptolens <command> [--option value | --option=value
//! | --flag]...`. Kept by hand to avoid pulling clap into a tool that also builds for WASI.

use cl_domain::{PatternType, Timeframe};
use std::ffi::OsString;
use std::path::PathBuf;

/// The usage text for `--help`.
pub const USAGE: &str = "\
cryptolens: the CryptoLens Edge detection core, offline

USAGE:
    cryptolens <COMMAND> [OPTIONS]

COMMANDS:
    detect      Run the pattern detectors over a candle file
                  --candles FILE         CSV or JSON candles (required)
                  --dedup                historical dedup mode (default: raw)
                  --min-zone-pct X       size test threshold in percent (default 0.15)
                  --types LIST           comma list of imbalance,order_block,liquidity_sweep
                                         (default: all three)
                prints {\"patterns\":[...]}: detector by detector (imbalance, order_block,
                liquidity_sweep), each in emission order (by index, bullish before bearish)
    aggregate   Aggregate 1m candles into higher timeframes
                  --candles FILE         CSV or JSON 1m candles (required)
                  --to LIST              comma list of 5m,15m,30m,1h,2h,4h,1d (default: all)
                  --now MS               the clock, UTC ms; its bucket is not emitted (required)
                prints {\"<tf>\":[[ts,open,high,low,close,volume],...],...}
    bench       Time aggregation and every detector on a generated random walk
                  --candles N            number of 1m candles (default 1000000)
                  --seed S               generator seed (default 42)
                  --runs R               best of R runs (default 3)
                  --json                 print JSON instead of a table
    backtest    Backtest the raw detections of one pattern type (detection.md §8)
                  --candles FILE         CSV or JSON candles OF THE GIVEN TF, used as they are
                                         (not aggregated; run `aggregate` first for 1m data)
                  --type T               imbalance, order_block or liquidity_sweep (required)
                  --tf TF                5m,15m,30m,1h,2h,4h or 1d (default 1h); selects the
                                         entry/exit window (1h: 100 candles); 1m is refused
                  --rr X                 target in R, 0.5..10 (default 2)
                  --sl-buffer-pct X      stop beyond the zone, % of its size, 0..100 (default 10)
                  --slippage-pct X       entry slippage %, 0..5 (default 0)
                prints {\"timeframe\",\"params\",\"window\",\"stats\",\"trades\",\"equity_curve\",...}
    replay      Run the live pipeline (the app crate's tick) over history, in-process, on the
                in-memory store
                  --candles SYMBOL=FILE  1m candles of one symbol (repeatable; at least one)
                  --steps FILE           JSON array of [from, to) index ranges; each range is one
                                         scheduled run feeding those candles (default: one run
                                         feeding everything)
                  --settings FILE        JSON object of signal settings: min_confluence,
                                         require_htf, cooldown_hours, default_rr, min_risk_pct
                                         (defaults 3, true, 4, 3, 0.5; unknown keys refused)
                each run's clock is its last fed candle's open + 60 s. With several symbols,
                every step applies to every symbol's list by index (clamped to its length),
                symbols in argument order; a step needs 0 <= from <= to, 1 <= to <= the
                longest list. prints {\"symbols\",\"steps\",\"patterns\",\"signals\",\"matrix\"};
                each \"steps\" row is one run of one symbol (step by step, symbols in argument
                order): [from, to, now_ms, new_1m, patterns_saved, signals_generated, expired].
                Progress goes to stderr.
    demo-sql    Generate demo data with the pipeline and write it as D1 SQL
                  --out FILE             the SQL file to write (required)
                  --symbols LIST         comma list (default BTC/USDT,ETH/USDT,SOL/USDT,XRP/USDT,
                                         BNB/USDT); known symbols start at a realistic price,
                                         others at 100
                  --days N               days of 1m candles per symbol (default 10)
                  --seed S               generator seed (default 7; symbol k uses S + k)
                  --now MS               end of the data and the last run's clock, UTC ms
                                         (default 1717200000000 = 2024-06-01T00:00Z, so the
                                         output is byte-for-byte reproducible)
                runs the pipeline in hourly steps, then writes INSERT OR IGNORE statements
                (symbols, the last 3 days of 1m and every higher-TF candle, patterns,
                signals) for migrations/; loading it twice inserts nothing new
    bench-replay
                Time the replay: one symbol's candles as one run, then minute by minute
                  --days N               days of 1m candles (default 14 = 20,160 candles)
                  --seed S               generator seed (default 42)
                  --json                 print JSON instead of a table
    help        Print this help

CANDLE FILES:
    CSV with the header timestamp,open,high,low,close,volume; or JSON, either a bare array
    of [ts_ms, open, high, low, close, volume] rows or an object whose \"candles\" key holds
    such rows (other keys are ignored). The format is detected from the content. Timestamps
    must strictly increase. A bad row is reported by its 1-based data row number.

EXIT CODES:
    0 success · 1 output could not be written · 2 bad usage, bad input or command not yet available
";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `help`, `--help`, `-h`, or a command's `--help`.
    Help,
    /// `--version`.
    Version,
    /// `detect`.
    Detect(DetectArgs),
    /// `aggregate`.
    Aggregate(AggregateArgs),
    /// `bench`.
    Bench(BenchArgs),
    /// `backtest`.
    Backtest(BacktestArgs),
    /// `replay`.
    Replay(ReplayArgs),
    /// `demo-sql`.
    DemoSql(DemoSqlArgs),
    /// `bench-replay`.
    BenchReplay(BenchReplayArgs),
}

/// Options of `backtest`.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestArgs {
    /// The candle file (candles of `tf`).
    pub candles: PathBuf,
    /// The detector.
    pub pattern_type: PatternType,
    /// The TF the candles are taken as.
    pub tf: Timeframe,
    /// Target in R.
    pub rr: f64,
    /// Stop buffer, % of the zone size.
    pub sl_buffer_pct: f64,
    /// Entry slippage %.
    pub slippage_pct: f64,
}

/// Default `backtest --tf`.
pub const DEFAULT_BACKTEST_TF: Timeframe = Timeframe::H1;

/// Options of `replay`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayArgs {
    /// `(symbol, file)` pairs in argument order.
    pub candles: Vec<(String, PathBuf)>,
    /// The steps file.
    pub steps: Option<PathBuf>,
    /// The settings file.
    pub settings: Option<PathBuf>,
}

/// Options of `demo-sql`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSqlArgs {
    /// Where to write the SQL.
    pub out: PathBuf,
    /// Symbols, in order.
    pub symbols: Vec<String>,
    /// Days of 1m candles.
    pub days: usize,
    /// Generator seed.
    pub seed: u64,
    /// End of the data, UTC ms.
    pub now_ms: i64,
}

/// Default `demo-sql --symbols`.
pub const DEFAULT_DEMO_SYMBOLS: [&str; 5] =
    ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT"];
/// Default `demo-sql --days`.
pub const DEFAULT_DEMO_DAYS: usize = 10;
/// Default `demo-sql --seed`.
pub const DEFAULT_DEMO_SEED: u64 = 7;
/// Default `demo-sql --now`: 2024-06-01T00:00:00Z.
pub const DEFAULT_DEMO_NOW_MS: i64 = 1_717_200_000_000;

/// Options of `bench-replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchReplayArgs {
    /// Days of 1m candles.
    pub days: usize,
    /// Generator seed.
    pub seed: u64,
    /// JSON output instead of a table.
    pub json: bool,
}

/// Default `bench-replay --days` (14 days = 20,160 candles).
pub const DEFAULT_BENCH_REPLAY_DAYS: usize = 14;

/// Options of `detect`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectArgs {
    /// The candle file.
    pub candles: PathBuf,
    /// Historical dedup mode.
    pub dedup: bool,
    /// Size-test threshold override.
    pub min_zone_pct: Option<f64>,
    /// Selected detectors (all when not given).
    pub types: Vec<PatternType>,
}

/// Options of `aggregate`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateArgs {
    /// The 1m candle file.
    pub candles: PathBuf,
    /// Target timeframes, in the order given, without repeats.
    pub to: Vec<Timeframe>,
    /// The clock, UTC ms.
    pub now_ms: i64,
}

/// Options of `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchArgs {
    /// How many 1m candles to generate.
    pub candles: usize,
    /// Generator seed.
    pub seed: u64,
    /// Runs per measurement; the best is reported.
    pub runs: usize,
    /// JSON output instead of a table.
    pub json: bool,
}

/// Default `bench --candles`.
pub const DEFAULT_BENCH_CANDLES: usize = 1_000_000;
/// Default `bench --seed`.
pub const DEFAULT_BENCH_SEED: u64 = 42;
/// Default `bench --runs`.
pub const DEFAULT_BENCH_RUNS: usize = 3;

/// A command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// No command given.
    #[error("no command given (try `cryptolens --help`)")]
    NoCommand,
    /// An unknown command.
    #[error("unknown command {0:?} (try `cryptolens --help`)")]
    UnknownCommand(String),
    /// An option the command does not take.
    #[error("{command}: unknown option {option:?}")]
    UnknownOption {
        /// The command.
        command: &'static str,
        /// The option as written.
        option: String,
    },
    /// A positional argument where none is taken.
    #[error("{command}: unexpected argument {arg:?}")]
    UnexpectedArgument {
        /// The command.
        command: &'static str,
        /// The argument.
        arg: String,
    },
    /// An option given without its value.
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    /// A flag given a value.
    #[error("{0} takes no value")]
    UnexpectedValue(&'static str),
    /// A required option is absent.
    #[error("{command}: {option} is required")]
    MissingOption {
        /// The command.
        command: &'static str,
        /// The option.
        option: &'static str,
    },
    /// An option value that does not parse.
    #[error("{option}: invalid value {value:?}: {reason}")]
    BadValue {
        /// The option.
        option: &'static str,
        /// The value as written (truncated).
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An argument that is not valid UTF-8.
    #[error("arguments must be valid UTF-8")]
    NotUtf8,
}

/// Parses the arguments after the program name.
///
/// # Errors
/// A [`UsageError`] describing the first problem.
pub fn parse(args: Vec<OsString>) -> Result<Command, UsageError> {
    let args = args
        .into_iter()
        .map(|a| a.into_string().map_err(|_| UsageError::NotUtf8))
        .collect::<Result<Vec<String>, _>>()?;
    let Some((command, rest)) = args.split_first() else {
        return Err(UsageError::NoCommand);
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" => Ok(Command::Version),
        "detect" => parse_detect(rest),
        "aggregate" => parse_aggregate(rest),
        "bench" => parse_bench(rest),
        "backtest" => parse_backtest(rest),
        "replay" => parse_replay(rest),
        "demo-sql" => parse_demo_sql(rest),
        "bench-replay" => parse_bench_replay(rest),
        other => Err(UsageError::UnknownCommand(truncate(other))),
    }
}

/// Walks `--name value`, `--name=value` and `--flag` tokens.
struct Options<'a> {
    command: &'static str,
    rest: std::slice::Iter<'a, String>,
}

/// One option occurrence: its name and the inline `=value`, if any.
struct Opt<'a> {
    name: &'a str,
    inline: Option<&'a str>,
}

impl<'a> Options<'a> {
    fn new(command: &'static str, rest: &'a [String]) -> Self {
        Self {
            command,
            rest: rest.iter(),
        }
    }

    fn next_opt(&mut self) -> Result<Option<Opt<'a>>, UsageError> {
        let Some(token) = self.rest.next() else {
            return Ok(None);
        };
        if !token.starts_with("--") && token != "-h" {
            return Err(UsageError::UnexpectedArgument {
                command: self.command,
                arg: truncate(token),
            });
        }
        Ok(Some(match token.split_once('=') {
            Some((name, value)) => Opt {
                name,
                inline: Some(value),
            },
            None => Opt {
                name: token,
                inline: None,
            },
        }))
    }

    fn value(&mut self, opt: &Opt<'a>, name: &'static str) -> Result<&'a str, UsageError> {
        match opt.inline {
            Some(v) => Ok(v),
            None => self
                .rest
                .next()
                .map(String::as_str)
                .ok_or(UsageError::MissingValue(name)),
        }
    }

    fn unknown(&self, opt: &Opt<'_>) -> UsageError {
        UsageError::UnknownOption {
            command: self.command,
            option: truncate(opt.name),
        }
    }
}

fn flag(opt: &Opt<'_>, name: &'static str) -> Result<bool, UsageError> {
    match opt.inline {
        Some(_) => Err(UsageError::UnexpectedValue(name)),
        None => Ok(true),
    }
}

fn parse_detect(rest: &[String]) -> Result<Command, UsageError> {
    const CMD: &str = "detect";
    let mut opts = Options::new(CMD, rest);
    let (mut candles, mut dedup, mut min_zone_pct, mut types) = (None, false, None, None);
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--candles" => candles = Some(PathBuf::from(opts.value(&opt, "--candles")?)),
            "--dedup" => dedup = flag(&opt, "--dedup")?,
            "--min-zone-pct" => {
                let v = opts.value(&opt, "--min-zone-pct")?;
                min_zone_pct = Some(parse_pct(v)?);
            }
            "--types" => types = Some(parse_types(opts.value(&opt, "--types")?)?),
            _ => return Err(opts.unknown(&opt)),
        }
    }
    Ok(Command::Detect(DetectArgs {
        candles: candles.ok_or(UsageError::MissingOption {
            command: CMD,
            option: "--candles",
        })?,
        dedup,
        min_zone_pct,
        types: types.unwrap_or_else(|| PatternType::ALL.to_vec()),
    }))
}

fn parse_aggregate(rest: &[String]) -> Result<Command, UsageError> {
    const CMD: &str = "aggregate";
    let mut opts = Options::new(CMD, rest);
    let (mut candles, mut to, mut now_ms) = (None, None, None);
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--candles" => candles = Some(PathBuf::from(opts.value(&opt, "--candles")?)),
            "--to" => to = Some(parse_timeframes(opts.value(&opt, "--to")?)?),
            "--now" => {
                let v = opts.value(&opt, "--now")?;
                now_ms = Some(v.parse::<i64>().map_err(|e| bad("--now", v, e))?);
            }
            _ => return Err(opts.unknown(&opt)),
        }
    }
    let missing = |option| UsageError::MissingOption {
        command: CMD,
        option,
    };
    Ok(Command::Aggregate(AggregateArgs {
        candles: candles.ok_or_else(|| missing("--candles"))?,
        to: to.unwrap_or_else(|| Timeframe::AGGREGATED.to_vec()),
        now_ms: now_ms.ok_or_else(|| missing("--now"))?,
    }))
}

fn parse_bench(rest: &[String]) -> Result<Command, UsageError> {
    let mut opts = Options::new("bench", rest);
    let mut args = BenchArgs {
        candles: DEFAULT_BENCH_CANDLES,
        seed: DEFAULT_BENCH_SEED,
        runs: DEFAULT_BENCH_RUNS,
        json: false,
    };
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--candles" => args.candles = parse_count(opts.value(&opt, "--candles")?, "--candles")?,
            "--seed" => {
                let v = opts.value(&opt, "--seed")?;
                args.seed = v.parse().map_err(|e| bad("--seed", v, e))?;
            }
            "--runs" => args.runs = parse_count(opts.value(&opt, "--runs")?, "--runs")?,
            "--json" => args.json = flag(&opt, "--json")?,
            _ => return Err(opts.unknown(&opt)),
        }
    }
    Ok(Command::Bench(args))
}

fn parse_backtest(rest: &[String]) -> Result<Command, UsageError> {
    const CMD: &str = "backtest";
    let mut opts = Options::new(CMD, rest);
    let defaults = cl_domain::backtest::BacktestParams::default();
    let (mut candles, mut pattern_type) = (None, None);
    let mut tf = DEFAULT_BACKTEST_TF;
    let (mut rr, mut sl, mut slip) = (defaults.rr, defaults.sl_buffer_pct, defaults.slippage_pct);
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--candles" => candles = Some(PathBuf::from(opts.value(&opt, "--candles")?)),
            "--type" => {
                let v = opts.value(&opt, "--type")?;
                pattern_type = Some(PatternType::parse(v).map_err(|e| bad("--type", v, e))?);
            }
            "--tf" => {
                let v = opts.value(&opt, "--tf")?;
                tf = Timeframe::parse(v).map_err(|e| bad("--tf", v, e))?;
            }
            "--rr" => rr = parse_number(opts.value(&opt, "--rr")?, "--rr")?,
            "--sl-buffer-pct" => {
                sl = parse_number(opts.value(&opt, "--sl-buffer-pct")?, "--sl-buffer-pct")?;
            }
            "--slippage-pct" => {
                slip = parse_number(opts.value(&opt, "--slippage-pct")?, "--slippage-pct")?;
            }
            _ => return Err(opts.unknown(&opt)),
        }
    }
    let missing = |option| UsageError::MissingOption {
        command: CMD,
        option,
    };
    Ok(Command::Backtest(BacktestArgs {
        candles: candles.ok_or_else(|| missing("--candles"))?,
        pattern_type: pattern_type.ok_or_else(|| missing("--type"))?,
        tf,
        rr,
        sl_buffer_pct: sl,
        slippage_pct: slip,
    }))
}

fn parse_replay(rest: &[String]) -> Result<Command, UsageError> {
    const CMD: &str = "replay";
    let mut opts = Options::new(CMD, rest);
    let mut args = ReplayArgs {
        candles: Vec::new(),
        steps: None,
        settings: None,
    };
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--candles" => {
                let v = opts.value(&opt, "--candles")?;
                let (symbol, file) = v
                    .split_once('=')
                    .filter(|(s, f)| !s.trim().is_empty() && !f.is_empty())
                    .ok_or_else(|| bad("--candles", v, "expected SYMBOL=FILE"))?;
                let symbol = symbol.trim().to_owned();
                if args.candles.iter().any(|(s, _)| *s == symbol) {
                    return Err(bad("--candles", v, "this symbol is given twice"));
                }
                args.candles.push((symbol, PathBuf::from(file)));
            }
            "--steps" => args.steps = Some(PathBuf::from(opts.value(&opt, "--steps")?)),
            "--settings" => {
                args.settings = Some(PathBuf::from(opts.value(&opt, "--settings")?));
            }
            _ => return Err(opts.unknown(&opt)),
        }
    }
    if args.candles.is_empty() {
        return Err(UsageError::MissingOption {
            command: CMD,
            option: "--candles",
        });
    }
    Ok(Command::Replay(args))
}

fn parse_demo_sql(rest: &[String]) -> Result<Command, UsageError> {
    const CMD: &str = "demo-sql";
    let mut opts = Options::new(CMD, rest);
    let mut out = None;
    let mut args = DemoSqlArgs {
        out: PathBuf::new(),
        symbols: DEFAULT_DEMO_SYMBOLS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        days: DEFAULT_DEMO_DAYS,
        seed: DEFAULT_DEMO_SEED,
        now_ms: DEFAULT_DEMO_NOW_MS,
    };
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--out" => out = Some(PathBuf::from(opts.value(&opt, "--out")?)),
            "--symbols" => {
                let v = opts.value(&opt, "--symbols")?;
                let mut list: Vec<String> = Vec::new();
                for part in v.split(',').map(str::trim) {
                    if !list.iter().any(|s| s == part) {
                        list.push(part.to_owned());
                    }
                }
                args.symbols = list;
            }
            "--days" => args.days = parse_count(opts.value(&opt, "--days")?, "--days")?,
            "--seed" => {
                let v = opts.value(&opt, "--seed")?;
                args.seed = v.parse().map_err(|e| bad("--seed", v, e))?;
            }
            "--now" => {
                let v = opts.value(&opt, "--now")?;
                args.now_ms = v.parse::<i64>().map_err(|e| bad("--now", v, e))?;
            }
            _ => return Err(opts.unknown(&opt)),
        }
    }
    args.out = out.ok_or(UsageError::MissingOption {
        command: CMD,
        option: "--out",
    })?;
    Ok(Command::DemoSql(args))
}

fn parse_bench_replay(rest: &[String]) -> Result<Command, UsageError> {
    let mut opts = Options::new("bench-replay", rest);
    let mut args = BenchReplayArgs {
        days: DEFAULT_BENCH_REPLAY_DAYS,
        seed: DEFAULT_BENCH_SEED,
        json: false,
    };
    while let Some(opt) = opts.next_opt()? {
        match opt.name {
            "--help" | "-h" => return Ok(Command::Help),
            "--days" => args.days = parse_count(opts.value(&opt, "--days")?, "--days")?,
            "--seed" => {
                let v = opts.value(&opt, "--seed")?;
                args.seed = v.parse().map_err(|e| bad("--seed", v, e))?;
            }
            "--json" => args.json = flag(&opt, "--json")?,
            _ => return Err(opts.unknown(&opt)),
        }
    }
    Ok(Command::BenchReplay(args))
}

fn parse_number(v: &str, option: &'static str) -> Result<f64, UsageError> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(bad(option, v, "must be a finite number")),
        Err(e) => Err(bad(option, v, e)),
    }
}

fn parse_count(v: &str, option: &'static str) -> Result<usize, UsageError> {
    match v.parse::<usize>() {
        Ok(0) => Err(bad(option, v, "must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(bad(option, v, e)),
    }
}

fn parse_pct(v: &str) -> Result<f64, UsageError> {
    let x: f64 = v.parse().map_err(|e| bad("--min-zone-pct", v, e))?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(bad("--min-zone-pct", v, "must be a finite number >= 0"))
    }
}

fn parse_types(v: &str) -> Result<Vec<PatternType>, UsageError> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim) {
        let t = PatternType::parse(part).map_err(|e| bad("--types", v, e))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn parse_timeframes(v: &str) -> Result<Vec<Timeframe>, UsageError> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim) {
        let tf = Timeframe::parse(part).map_err(|e| bad("--to", v, e))?;
        if !out.contains(&tf) {
            out.push(tf);
        }
    }
    Ok(out)
}

fn bad(option: &'static str, value: &str, reason: impl std::fmt::Display) -> UsageError {
    UsageError::BadValue {
        option,
        value: truncate(value),
        reason: reason.to_string(),
    }
}

/// Echoed user input is capped so a pasted file cannot flood the terminal.
fn truncate(s: &str) -> String {
    const MAX_ECHO: usize = 64;
    s.chars().take(MAX_ECHO).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn detect_takes_space_and_equals_forms() {
        let cmd = p(&[
            "detect",
            "--candles",
            "a.csv",
            "--dedup",
            "--min-zone-pct=0.3",
            "--types",
            "order_block,imbalance,order_block",
        ])
        .unwrap();
        assert_eq!(
            cmd,
            Command::Detect(DetectArgs {
                candles: PathBuf::from("a.csv"),
                dedup: true,
                min_zone_pct: Some(0.3),
                types: vec![PatternType::OrderBlock, PatternType::Imbalance],
            })
        );
    }

    #[test]
    fn detect_defaults_to_raw_mode_and_all_types() {
        let Command::Detect(a) = p(&["detect", "--candles", "x.json"]).unwrap() else {
            panic!("not detect");
        };
        assert!(!a.dedup);
        assert_eq!(a.types, PatternType::ALL.to_vec());
        assert_eq!(a.min_zone_pct, None);
    }

    #[test]
    fn aggregate_requires_now_and_candles() {
        assert_eq!(
            p(&["aggregate", "--candles", "x"]),
            Err(UsageError::MissingOption {
                command: "aggregate",
                option: "--now"
            })
        );
        let Command::Aggregate(a) = p(&["aggregate", "--candles", "x", "--now", "5"]).unwrap()
        else {
            panic!("not aggregate");
        };
        assert_eq!(a.to, Timeframe::AGGREGATED.to_vec());
    }

    #[test]
    fn bad_values_are_reported_with_their_option() {
        assert!(matches!(
            p(&["detect", "--candles", "x", "--types", "fvg"]),
            Err(UsageError::BadValue {
                option: "--types",
                ..
            })
        ));
        assert!(matches!(
            p(&["detect", "--candles", "x", "--min-zone-pct", "-1"]),
            Err(UsageError::BadValue { .. })
        ));
        assert!(matches!(
            p(&["aggregate", "--candles", "x", "--now", "5", "--to", "3m"]),
            Err(UsageError::BadValue { option: "--to", .. })
        ));
        assert!(matches!(
            p(&["bench", "--runs", "0"]),
            Err(UsageError::BadValue { .. })
        ));
        assert_eq!(
            p(&["detect", "--candles"]),
            Err(UsageError::MissingValue("--candles"))
        );
        assert_eq!(
            p(&["bench", "--json=yes"]),
            Err(UsageError::UnexpectedValue("--json"))
        );
    }

    #[test]
    fn unknown_commands_options_and_arguments_are_errors() {
        assert!(matches!(
            p(&["frobnicate"]),
            Err(UsageError::UnknownCommand(_))
        ));
        assert!(matches!(
            p(&["bench", "--fast"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert!(matches!(
            p(&["bench", "extra"]),
            Err(UsageError::UnexpectedArgument { .. })
        ));
        assert_eq!(p(&[]), Err(UsageError::NoCommand));
    }

    #[test]
    fn help_parses_at_top_level_and_per_command() {
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["detect", "--help"]), Ok(Command::Help));
        assert_eq!(p(&["replay", "--help"]), Ok(Command::Help));
    }

    #[test]
    fn replay_takes_repeated_symbol_files_in_order() {
        let Command::Replay(a) = p(&[
            "replay",
            "--candles",
            "BTC/USDT=a.csv",
            "--candles=ETH/USDT=b.json",
            "--steps",
            "s.json",
        ])
        .unwrap() else {
            panic!("not replay");
        };
        assert_eq!(
            a.candles,
            vec![
                ("BTC/USDT".to_owned(), PathBuf::from("a.csv")),
                ("ETH/USDT".to_owned(), PathBuf::from("b.json"))
            ]
        );
        assert_eq!(a.steps, Some(PathBuf::from("s.json")));
        assert_eq!(a.settings, None);
    }

    #[test]
    fn replay_refuses_missing_malformed_or_repeated_symbols() {
        assert!(matches!(
            p(&["replay"]),
            Err(UsageError::MissingOption { .. })
        ));
        assert!(matches!(
            p(&["replay", "--candles", "a.csv"]),
            Err(UsageError::BadValue { .. })
        ));
        assert!(matches!(
            p(&["replay", "--candles", "X=a", "--candles", "X=b"]),
            Err(UsageError::BadValue { .. })
        ));
    }

    #[test]
    fn backtest_defaults_to_1h_and_the_product_parameters() {
        let Command::Backtest(a) =
            p(&["backtest", "--candles", "x", "--type", "imbalance"]).unwrap()
        else {
            panic!("not backtest");
        };
        assert_eq!(a.tf, Timeframe::H1);
        assert_eq!((a.rr, a.sl_buffer_pct, a.slippage_pct), (2.0, 10.0, 0.0));
        assert!(matches!(
            p(&["backtest", "--candles", "x"]),
            Err(UsageError::MissingOption {
                option: "--type",
                ..
            })
        ));
        assert!(matches!(
            p(&[
                "backtest",
                "--candles",
                "x",
                "--type",
                "imbalance",
                "--rr",
                "inf"
            ]),
            Err(UsageError::BadValue { option: "--rr", .. })
        ));
    }

    #[test]
    fn demo_sql_has_fixed_defaults() {
        let Command::DemoSql(a) = p(&["demo-sql", "--out", "d.sql"]).unwrap() else {
            panic!("not demo-sql");
        };
        assert_eq!(a.symbols.len(), 5);
        assert_eq!((a.days, a.seed, a.now_ms), (10, 7, 1_717_200_000_000));
        assert!(matches!(
            p(&["demo-sql"]),
            Err(UsageError::MissingOption {
                option: "--out",
                ..
            })
        ));
    }

    #[test]
    fn bench_defaults_to_a_million_candles_best_of_three() {
        assert_eq!(
            p(&["bench"]),
            Ok(Command::Bench(BenchArgs {
                candles: 1_000_000,
                seed: 42,
                runs: 3,
                json: false
            }))
        );
    }
}
