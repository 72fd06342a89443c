//! `cryptolens replay`: the live pipeline over history, in-process.
//!
//! It runs the SAME use case as the scheduled job, [`cl_app::pipeline::PipelineTick`], wired
//! to the in-memory store (`cl-store-memory`) and a [`ManualClock`] set to each run's "now"
//! (the last fed candle's open + 60 s). Nothing here decides anything about patterns; this
//! module only feeds candles, steps the clock and prints what the store holds.
//!
//! Multi-symbol steps: every step `[from, to)` applies to every symbol's candle list by index,
//! clamped to that list's length, and the symbols run in argument order within a step. A
//! symbol whose list is exhausted still runs (no new candle, its clock stays at its last
//! candle + 60 s), so each step yields exactly one run per symbol.
//!
//! The memory store's futures never wait, so they are driven with a plain `block_on`.

use cl_app::clock::ManualClock;
use cl_app::pipeline::{PipelineError, PipelineTick, TickReport};
use cl_app::ports::{
    side_str, NewSymbol, PageRequest, PatternId, PatternStore, SignalFilter, SignalStore,
    StoreError, StoredPattern, StoredSignal, StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::signal::{SignalSettings, SignalSettingsError};
use cl_domain::{Candle, CandleSeries, DetectionParams};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One minute: a run's clock is its last candle's open plus this.
pub const RUN_CLOCK_OFFSET_MS: i64 = 60_000;
/// Exchange recorded for replayed symbols.
const REPLAY_EXCHANGE: &str = "replay";
/// Rows per page when reading the signals back.
const SIGNAL_PAGE: u32 = 500;
/// Progress lines at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Why a replay could not run. Every variant is bad input except [`ReplayError::Output`].
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A steps or settings file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The steps file is not a JSON array of `[from, to]` pairs of non-negative integers.
    #[error("{path}: expected a JSON array of [from, to] index pairs: {source}")]
    StepsJson {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A step's range is unusable.
    #[error("step {index} [{from}, {to}]: {reason}")]
    BadStep {
        /// 0-based position in the steps file.
        index: usize,
        /// Its start.
        from: usize,
        /// Its end (exclusive).
        to: usize,
        /// Why.
        reason: String,
    },
    /// The steps file holds no step.
    #[error("{0}: the steps array is empty")]
    NoSteps(PathBuf),
    /// The settings file is not a JSON object of known signal settings.
    #[error("{path}: invalid signal settings: {source}")]
    SettingsJson {
        /// The file.
        path: PathBuf,
        /// The parse error (names an unknown field).
        source: serde_json::Error,
    },
    /// A signal setting is out of range.
    #[error("{path}: {source}")]
    SettingsRange {
        /// The file.
        path: PathBuf,
        /// Which setting.
        source: SignalSettingsError,
    },
    /// A symbol name the store refuses (1–20 bytes).
    #[error("symbol {symbol:?}: {source}")]
    Symbol {
        /// The name as given.
        symbol: String,
        /// The store's reason.
        source: StoreError,
    },
    /// A run failed (e.g. a timestamp no store can hold).
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Reading the results back failed.
    #[error("reading results: {0}")]
    Store(#[from] StoreError),
    /// stdout could not be written.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

/// One symbol's input.
#[derive(Debug, Clone)]
pub struct SymbolInput {
    /// Canonical name, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Its 1m candles, oldest first.
    pub candles: CandleSeries,
}

/// A run range `[from, to)` into the candle lists.
pub type Step = (usize, usize);

/// Reads a steps file: a JSON array of `[from, to]` pairs.
///
/// # Errors
/// [`ReplayError::Read`], [`ReplayError::StepsJson`] or [`ReplayError::NoSteps`].
pub fn load_steps(path: &Path) -> Result<Vec<Step>, ReplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let steps: Vec<Step> =
        serde_json::from_str(&text).map_err(|source| ReplayError::StepsJson {
            path: path.to_path_buf(),
            source,
        })?;
    if steps.is_empty() {
        return Err(ReplayError::NoSteps(path.to_path_buf()));
    }
    Ok(steps)
}

/// Checks every step against the longest list: `from <= to` and `1 <= to <= longest`.
///
/// # Errors
/// [`ReplayError::BadStep`] for the first bad one.
pub fn check_steps(steps: &[Step], longest: usize) -> Result<(), ReplayError> {
    for (index, &(from, to)) in steps.iter().enumerate() {
        let reason = if from > to {
            "from is after to".to_owned()
        } else if to == 0 {
            "to must be at least 1 (a run needs a fed candle for its clock)".to_owned()
        } else if to > longest {
            format!("to is beyond the longest candle list ({longest} candles)")
        } else {
            continue;
        };
        return Err(ReplayError::BadStep {
            index,
            from,
            to,
            reason,
        });
    }
    Ok(())
}

/// Reads a settings file: a JSON object of [`SignalSettings`] fields, missing ones defaulted.
///
/// # Errors
/// [`ReplayError::Read`], [`ReplayError::SettingsJson`] (including unknown fields) or
/// [`ReplayError::SettingsRange`].
pub fn load_settings(path: &Path) -> Result<SignalSettings, ReplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let settings: SignalSettings =
        serde_json::from_str(&text).map_err(|source| ReplayError::SettingsJson {
            path: path.to_path_buf(),
            source,
        })?;
    settings
        .validate()
        .map_err(|source| ReplayError::SettingsRange {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(settings)
}

/// One run's row: `[from, to, now_ms, new_1m, patterns_saved, signals_generated, expired]`.
pub type StepRow = (usize, usize, i64, u64, usize, u64, u64);

/// A replay in progress: the store, the symbols and their candles.
#[derive(Debug)]
pub struct Replay {
    store: MemoryStore,
    clock: ManualClock,
    symbols: Vec<(StoredSymbol, Vec<Candle>)>,
    settings: SignalSettings,
    params: DetectionParams,
    saved: Vec<PatternId>,
}

impl Replay {
    /// A fresh in-memory store holding the symbols (ids in argument order).
    ///
    /// # Errors
    /// [`ReplayError::Symbol`] for a name the store refuses or given twice.
    pub fn new(
        inputs: Vec<SymbolInput>,
        settings: SignalSettings,
        params: DetectionParams,
    ) -> Result<Self, ReplayError> {
        let store = MemoryStore::new();
        let mut symbols = Vec::with_capacity(inputs.len());
        for input in inputs {
            let first = input.candles.as_slice().first().map_or(0, Candle::ts);
            let new = NewSymbol {
                symbol: input.symbol.clone(),
                exchange: REPLAY_EXCHANGE.to_owned(),
                is_active: true,
                notify_enabled: false,
                fetch_start_ms: first,
                created_at: first,
            };
            let stored =
                block_on(store.add_symbol(&new)).map_err(|source| ReplayError::Symbol {
                    symbol: input.symbol,
                    source,
                })?;
            symbols.push((stored, input.candles.into_vec()));
        }
        Ok(Self {
            store,
            clock: ManualClock::new(0),
            symbols,
            settings,
            params,
            saved: Vec::new(),
        })
    }

    /// The longest candle list.
    pub fn longest(&self) -> usize {
        self.symbols.iter().map(|(_, c)| c.len()).max().unwrap_or(0)
    }

    /// The store (to read results or export them).
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    /// The stored symbols, in argument order.
    pub fn symbols(&self) -> impl Iterator<Item = &StoredSymbol> {
        self.symbols.iter().map(|(s, _)| s)
    }

    /// Runs one step: one pipeline tick per symbol, in argument order, each fed its candles
    /// `[from, to)` (clamped) at its last fed candle's open + 60 s. A symbol never fed yet
    /// (impossible after [`check_steps`]) is skipped.
    ///
    /// # Errors
    /// [`ReplayError::Pipeline`] when a tick fails.
    pub fn step(&mut self, (from, to): Step) -> Result<Vec<(StepRow, TickReport)>, ReplayError> {
        let tick = PipelineTick::new(&self.store, &self.clock, self.settings, self.params);
        let mut rows = Vec::with_capacity(self.symbols.len());
        for (symbol, candles) in &self.symbols {
            let end = to.min(candles.len());
            let Some(last) = end.checked_sub(1).and_then(|i| candles.get(i)) else {
                continue;
            };
            let fed = candles.get(from.min(end)..end).unwrap_or_default();
            self.clock
                .set(last.ts().saturating_add(RUN_CLOCK_OFFSET_MS));
            let report = block_on(tick.run(symbol, fed))?;
            self.saved.extend_from_slice(&report.patterns_saved);
            let row = (
                from,
                to,
                report.now_ms,
                report.new_1m,
                report.patterns_saved.len(),
                report.signals_generated(),
                report.expired,
            );
            rows.push((row, report));
        }
        Ok(rows)
    }

    /// Every stored pattern, ordered by id.
    ///
    /// # Errors
    /// The store's error.
    pub fn patterns(&self) -> Result<Vec<StoredPattern>, StoreError> {
        let mut ids = self.saved.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = block_on(self.store.pattern(id))? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Every stored signal, ordered by id.
    ///
    /// # Errors
    /// The store's error.
    pub fn signals(&self) -> Result<Vec<StoredSignal>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = block_on(self.store.list_signals(
                &SignalFilter::default(),
                PageRequest {
                    limit: SIGNAL_PAGE,
                    after,
                },
            ))?;
            out.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.sort_by_key(|s| s.id);
        Ok(out)
    }

    /// The symbol name of an id.
    pub fn name_of(&self, id: SymbolId) -> &str {
        self.symbols
            .iter()
            .find(|(s, _)| s.id == id)
            .map_or("", |(s, _)| s.symbol.as_str())
    }

    /// The whole output document.
    ///
    /// # Errors
    /// The store's error.
    pub fn output(&self, steps: Vec<StepRow>) -> Result<ReplayOutput, StoreError> {
        let patterns = self.patterns()?;
        let by_id: BTreeMap<PatternId, &StoredPattern> =
            patterns.iter().map(|p| (p.id, p)).collect();
        let signals = self
            .signals()?
            .iter()
            .map(|s| {
                let source = s.pattern_id.and_then(|id| match by_id.get(&id) {
                    Some(p) => Some(PatternRef::from(*p)),
                    None => block_on(self.store.pattern(id))
                        .ok()
                        .flatten()
                        .map(|p| PatternRef::from(&p)),
                });
                SignalOut::new(s, self.name_of(s.symbol), source)
            })
            .collect();
        let cells = block_on(self.store.matrix())?;
        let mut matrix: Vec<(String, Vec<(&'static str, &'static str)>)> = Vec::new();
        for cell in cells {
            let direction = cell.latest.map_or("neutral", |p| p.direction.as_str());
            match matrix.last_mut() {
                Some((name, row)) if *name == cell.symbol_name => {
                    row.push((cell.tf.as_str(), direction));
                }
                _ => matrix.push((cell.symbol_name, vec![(cell.tf.as_str(), direction)])),
            }
        }
        Ok(ReplayOutput {
            symbols: self.symbols().map(|s| s.symbol.clone()).collect(),
            steps,
            patterns: patterns
                .iter()
                .map(|p| PatternOut::new(p, self.name_of(p.symbol)))
                .collect(),
            signals,
            matrix: Ordered(
                matrix
                    .into_iter()
                    .map(|(name, row)| (name, Ordered(row)))
                    .collect(),
            ),
        })
    }
}

/// Throttled progress lines on stderr.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: usize,
    start: Instant,
    last: Instant,
}

impl Progress {
    /// Starts counting `total` steps.
    pub fn new(label: &'static str, total: usize) -> Self {
        let now = Instant::now();
        Self {
            label,
            total,
            start: now,
            last: now,
        }
    }

    /// Reports that `done` steps are finished (at most once per second).
    pub fn tick(&mut self, done: usize) {
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            // Progress is best effort: a closed stderr must not stop the replay.
            let _ = writeln!(
                io::stderr().lock(),
                "{}: step {done}/{} ({:.1} s)",
                self.label,
                self.total,
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    /// The final line, when the run was long enough to have shown progress.
    pub fn finish(&self) {
        if self.start.elapsed() >= PROGRESS_EVERY {
            let _ = writeln!(
                io::stderr().lock(),
                "{}: {} steps in {:.1} s",
                self.label,
                self.total,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// Runs a whole replay and writes its JSON document and a newline.
///
/// # Errors
/// [`ReplayError`]; only [`ReplayError::Output`] is not the input's fault.
pub fn run(
    inputs: Vec<SymbolInput>,
    steps: Option<Vec<Step>>,
    settings: SignalSettings,
    out: &mut impl Write,
) -> Result<(), ReplayError> {
    let mut replay = Replay::new(inputs, settings, DetectionParams::default())?;
    let steps = steps.unwrap_or_else(|| vec![(0, replay.longest())]);
    check_steps(&steps, replay.longest())?;
    let mut progress = Progress::new("replay", steps.len());
    let mut rows = Vec::with_capacity(steps.len());
    for (k, step) in steps.iter().enumerate() {
        rows.extend(replay.step(*step)?.into_iter().map(|(row, _)| row));
        progress.tick(k + 1);
    }
    progress.finish();
    let doc = replay.output(rows)?;
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output shapes
// ---------------------------------------------------------------------------------------------

/// The replay's JSON document.
#[derive(Debug, Serialize)]
pub struct ReplayOutput {
    /// Symbols in argument order.
    pub symbols: Vec<String>,
    /// One row per run.
    pub steps: Vec<StepRow>,
    /// Every stored pattern, by id.
    pub patterns: Vec<PatternOut>,
    /// Every stored signal, by id.
    pub signals: Vec<SignalOut>,
    /// `{symbol: {tf: direction}}` for 5m..1d at the end.
    pub matrix: Ordered<String, Ordered<&'static str, &'static str>>,
}

/// A JSON object whose keys keep the given order.
#[derive(Debug)]
pub struct Ordered<K, V>(pub Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Ordered<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One stored pattern.
#[derive(Debug, Serialize)]
pub struct PatternOut {
    id: i64,
    symbol: String,
    timeframe: &'static str,
    pattern_type: &'static str,
    direction: &'static str,
    zone_low: f64,
    zone_high: f64,
    detected_at: i64,
    expires_at: i64,
    status: &'static str,
    fill_percentage: f64,
    filled_at: Option<i64>,
    entry: f64,
    stop_loss: f64,
    take_profit_1: f64,
    take_profit_2: f64,
    take_profit_3: f64,
    risk: f64,
    risk_reward_1: f64,
    risk_reward_2: f64,
    risk_reward_3: f64,
}

impl PatternOut {
    fn new(p: &StoredPattern, symbol: &str) -> Self {
        Self {
            id: p.id.0,
            symbol: symbol.to_owned(),
            timeframe: p.tf.as_str(),
            pattern_type: p.pattern_type.as_str(),
            direction: p.direction.as_str(),
            zone_low: p.zone.low(),
            zone_high: p.zone.high(),
            detected_at: p.detected_at,
            expires_at: p.expires_at,
            status: p.status.as_str(),
            fill_percentage: p.fill_pct,
            filled_at: p.filled_at,
            entry: p.levels.entry,
            stop_loss: p.levels.stop_loss,
            take_profit_1: p.levels.tp1,
            take_profit_2: p.levels.tp2,
            take_profit_3: p.levels.tp3,
            risk: p.levels.risk,
            risk_reward_1: p.levels.rr1,
            risk_reward_2: p.levels.rr2,
            risk_reward_3: p.levels.rr3,
        }
    }
}

/// The source pattern of a signal.
#[derive(Debug, Serialize)]
pub struct PatternRef {
    id: i64,
    timeframe: &'static str,
    pattern_type: &'static str,
    direction: &'static str,
    detected_at: i64,
    zone_low: f64,
    zone_high: f64,
}

impl From<&StoredPattern> for PatternRef {
    fn from(p: &StoredPattern) -> Self {
        Self {
            id: p.id.0,
            timeframe: p.tf.as_str(),
            pattern_type: p.pattern_type.as_str(),
            direction: p.direction.as_str(),
            detected_at: p.detected_at,
            zone_low: p.zone.low(),
            zone_high: p.zone.high(),
        }
    }
}

/// One stored signal.
#[derive(Debug, Serialize)]
pub struct SignalOut {
    id: i64,
    symbol: String,
    direction: &'static str,
    entry_price: f64,
    stop_loss: f64,
    take_profit_1: f64,
    take_profit_2: f64,
    take_profit_3: f64,
    risk_reward: f64,
    confluence_score: u8,
    timeframes_aligned: Vec<&'static str>,
    status: &'static str,
    created_at: i64,
    pattern: Option<PatternRef>,
}

impl SignalOut {
    fn new(s: &StoredSignal, symbol: &str, pattern: Option<PatternRef>) -> Self {
        Self {
            id: s.id.0,
            symbol: symbol.to_owned(),
            direction: side_str(s.direction),
            entry_price: s.entry,
            stop_loss: s.stop_loss,
            take_profit_1: s.tp1,
            take_profit_2: s.tp2,
            take_profit_3: s.tp3,
            risk_reward: s.risk_reward,
            confluence_score: s.confluence_score,
            timeframes_aligned: s.timeframes_aligned.iter().map(|t| t.as_str()).collect(),
            status: s.status.as_str(),
            created_at: s.created_at,
            pattern,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_must_be_ordered_non_empty_and_within_the_longest_list() {
        assert!(check_steps(&[(0, 5), (5, 5), (3, 10)], 10).is_ok());
        for bad in [(6, 5), (0, 0), (0, 11)] {
            assert!(
                matches!(check_steps(&[bad], 10), Err(ReplayError::BadStep { .. })),
                "{bad:?}"
            );
        }
    }
}
