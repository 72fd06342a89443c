//! The live pipeline (detection.md §4): one scheduled run ("tick") for one symbol.
//!
//! [`run_symbol_tick`] is THE use case: the cron job calls it per symbol with the 1m candles
//! it fetched, and `cryptolens replay` calls it with history, both through the same ports. All
//! rules come from `cl-domain`; this module only loads, orders the steps and stores:
//!
//! 1. store the new 1m candles (idempotent; `new_1m` = newly stored count);
//! 2. aggregate every higher TF incrementally from its last stored bucket (never rewriting a
//!    stored candle; the bucket containing now is not emitted);
//! 3. detect on every TF, 1m..1d, over the last [`rescan_window`] candles in raw mode, and
//!    check the candidates one at a time (imbalance → order_block → liquidity_sweep, each in
//!    emission order) against the ACTIVE patterns and those selected earlier in this run,
//!    skipping keys that already exist ([`select_new`]);
//! 4. store the survivors with their trading levels (§5, from that TF's loaded candles);
//! 5. update status and fill of every active pattern at the last close;
//! 6. generate at most one signal (§6), gated by the store's cooldown guard; then hand it to
//!    notification (step 6b, see [`TickReport::to_notify`]);
//! 7. expire active patterns with `expires_at < now`.
//!
//! # Query budget
//! The number of port calls does not depend on how many patterns exist: active patterns are
//! read once, candidates are checked in memory, new patterns go in one batch, and the status
//! changes of steps 5 and 7 go in one batch. Per tick, at most:
//!
//! | step | port call | count |
//! |---|---|---|
//! | 1 | `upsert_candles(1m)` | 1 (0 when nothing was fetched) |
//! | 2–3 | `last_candles_many([(tf, rescan window); 8])`, one statement | 1 |
//! | 2 | `candles_in_range(1m)`: older 1m rows a closing bucket needs | 0–1 |
//! | 2 | `upsert_candles(tf)` for TFs with a closed bucket | 0–7 |
//! | 3 | `active_patterns(symbol)` | 1 |
//! | 3 | `pattern_keys(symbol, windows)` | 0–1 (only when a candidate survives the dedup) |
//! | 4 | `insert_patterns(batch)` | 0–1 |
//! | 6 | `insert_signal` (with its cooldown guard) | 0–1 |
//! | 5+7 | `update_statuses(batch)` | 0–1 |
//!
//! So at most 15 calls. A one-minute tick makes 5–6 (measured over 4,560 minute ticks of a
//! random walk: 4 to 14, median 6); see docs/pipeline.md.
//!
//! # Equivalences relied on
//! - Loading a TF's tail BEFORE aggregating and appending the new buckets in memory equals
//!   loading it after storing them: a stored candle is never rewritten and new buckets are
//!   strictly later than the last stored one.
//! - Steps 5 and 7 are written together after step 6: step 6 reads the in-memory state after
//!   step 5, as the spec orders, and no store read happens in between.

use crate::convert::{new_pattern_to_row, new_signal_to_row, pattern_to_domain};
use crate::ports::{
    CandleStore, Clock, KeyWindow, PatternId, PatternStore, SignalId, SignalStore, StatusUpdate,
    StoreError, StoredPatternKey, StoredSymbol, SymbolStore,
};
use cl_domain::aggregate::{aggregate, source_range};
use cl_domain::detect::{detect_all, in_emission_order, Mode};
use cl_domain::levels::{trading_levels, LevelInputs};
use cl_domain::lifecycle::{
    is_live_duplicate, rescan_window, select_new, DedupCandidate, NewPattern, Pattern, PatternKey,
};
use cl_domain::signal::{generate_signal, NoSignal, SignalInput, SignalSettings};
use cl_domain::{
    Candle, CandleSeries, Detection, DetectionParams, PatternStatus, PatternType, SeriesError,
    Timeframe,
};
use std::collections::HashSet;
use std::fmt;

/// The port call of a tick that failed, for error context and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickStep {
    /// Step 1: storing the fetched 1m candles.
    StoreNew1m,
    /// Steps 2–3: loading the last candles of every TF (one statement).
    LoadCandles,
    /// Step 2: loading the older 1m candles that a closing bucket needs.
    LoadAggregationSource,
    /// Step 2: storing the new candles of a TF.
    StoreAggregated(Timeframe),
    /// Step 3: loading the symbol's active patterns.
    LoadActivePatterns,
    /// Step 3: loading the existing pattern keys of the rescanned span.
    LoadPatternKeys,
    /// Step 4: storing the new patterns.
    InsertPatterns,
    /// Step 6: storing the signal.
    InsertSignal,
    /// Steps 5 and 7: storing status, fill and expiry changes.
    UpdateStatuses,
}

impl fmt::Display for TickStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StoreNew1m => f.write_str("storing new 1m candles"),
            Self::LoadCandles => f.write_str("loading the last candles of every timeframe"),
            Self::LoadAggregationSource => f.write_str("loading 1m candles to aggregate"),
            Self::StoreAggregated(tf) => write!(f, "storing aggregated {tf} candles"),
            Self::LoadActivePatterns => f.write_str("loading active patterns"),
            Self::LoadPatternKeys => f.write_str("loading existing pattern keys"),
            Self::InsertPatterns => f.write_str("storing new patterns"),
            Self::InsertSignal => f.write_str("storing the signal"),
            Self::UpdateStatuses => f.write_str("updating pattern statuses"),
        }
    }
}

/// Why a tick failed. Nothing after the failing call ran; every call before it is idempotent
/// or atomic, so the next tick repeats the work safely.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// A port call failed.
    #[error("pipeline tick for {symbol}: {step}: {source}")]
    Store {
        /// The symbol's canonical name.
        symbol: String,
        /// The call that failed.
        step: TickStep,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The store returned 1m candles out of order (a broken adapter).
    #[error("pipeline tick for {symbol}: stored 1m candles are out of order: {source}")]
    CandleOrder {
        /// The symbol's canonical name.
        symbol: String,
        /// The ordering error.
        #[source]
        source: SeriesError,
    },
}

/// What step 6 did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalOutcome {
    /// A signal was stored.
    Created(SignalId),
    /// The rules passed but the store's cooldown guard found a recent signal of the same
    /// symbol and direction.
    Cooldown,
    /// No signal, and why (never [`NoSignal::Cooldown`]: the store checks that).
    NotMade(NoSignal),
}

/// The outcome of one tick.
#[derive(Debug, Clone, PartialEq)]
pub struct TickReport {
    /// The run's clock, UTC ms.
    pub now_ms: i64,
    /// Newly stored 1m candles.
    pub new_1m: u64,
    /// Newly stored candles of the higher TFs, all TFs together.
    pub aggregated: u64,
    /// The last close p (newest stored 1m candle), if any candle is stored.
    pub last_close: Option<f64>,
    /// Ids of the patterns stored by this tick, in storing order.
    pub patterns_saved: Vec<PatternId>,
    /// Patterns that became `filled` in step 5.
    pub filled: u64,
    /// Patterns that became `invalidated` in step 5.
    pub invalidated: u64,
    /// What step 6 did.
    pub signal: SignalOutcome,
    /// Patterns that became `expired` in step 7.
    pub expired: u64,
    /// Step 6b: signals to notify (product.md §5). The notifier port does not exist yet, so
    /// the tick does not send anything; its caller hands these ids to the notifier.
    pub to_notify: Vec<SignalId>,
}

impl TickReport {
    /// 1 when a signal was stored, else 0.
    pub fn signals_generated(&self) -> u64 {
        u64::from(matches!(self.signal, SignalOutcome::Created(_)))
    }
}

/// The pipeline wired to its ports, clock and settings: what the cron job and the replay hold.
#[derive(Debug)]
pub struct PipelineTick<'a, S, C> {
    store: &'a S,
    clock: &'a C,
    settings: SignalSettings,
    params: DetectionParams,
}

impl<'a, S, C> PipelineTick<'a, S, C>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore,
    C: Clock,
{
    /// Wires the pipeline.
    pub fn new(
        store: &'a S,
        clock: &'a C,
        settings: SignalSettings,
        params: DetectionParams,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            params,
        }
    }

    /// One tick for `symbol` at the clock's current time; see [`run_symbol_tick`].
    ///
    /// # Errors
    /// As [`run_symbol_tick`].
    pub async fn run(
        &self,
        symbol: &StoredSymbol,
        new_1m: &[Candle],
    ) -> Result<TickReport, PipelineError> {
        run_symbol_tick(
            self.store,
            symbol,
            new_1m,
            self.clock.now_ms(),
            &self.settings,
            &self.params,
        )
        .await
    }
}

/// The candles of one TF as loaded for this tick (its rescan window), kept up to date with the
/// buckets aggregated in this tick.
struct Frame {
    tf: Timeframe,
    window: usize,
    candles: Vec<Candle>,
}

impl Frame {
    fn append(&mut self, new: &[Candle]) {
        self.candles.extend_from_slice(new);
        let excess = self.candles.len().saturating_sub(self.window);
        self.candles.drain(..excess);
    }
}

/// The per-tick context shared by the steps.
struct Tick<'a, S> {
    store: &'a S,
    symbol: &'a StoredSymbol,
    now: i64,
}

impl<S> Tick<'_, S> {
    fn fail(&self, step: TickStep) -> impl FnOnce(StoreError) -> PipelineError + '_ {
        move |source| PipelineError::Store {
            symbol: self.symbol.symbol.clone(),
            step,
            source,
        }
    }
}

/// A load limit for `n` rows (saturating; windows are far below `u32::MAX`).
fn limit(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Runs one pipeline tick (detection.md §4, steps 1–7) for `symbol` at `now_ms`, feeding it
/// `new_1m` (the fetched 1m candles, oldest first; already stored ones are ignored). See the
/// module docs for the steps and the query budget.
///
/// # Errors
/// [`PipelineError::Store`] naming the failing port call; [`PipelineError::CandleOrder`]
/// when the store returns 1m candles out of order.
pub async fn run_symbol_tick<S>(
    store: &S,
    symbol: &StoredSymbol,
    new_1m: &[Candle],
    now_ms: i64,
    settings: &SignalSettings,
    params: &DetectionParams,
) -> Result<TickReport, PipelineError>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore,
{
    let t = Tick {
        store,
        symbol,
        now: now_ms,
    };
    let id = symbol.id;

    // 1. Store the fetched 1m candles.
    let new_count = if new_1m.is_empty() {
        0
    } else {
        store
            .upsert_candles(id, Timeframe::M1, new_1m)
            .await
            .map_err(t.fail(TickStep::StoreNew1m))?
    };
    let new_usize = usize::try_from(new_count).unwrap_or(usize::MAX);

    // 2. Load every TF's rescan window, then aggregate the closed buckets into it.
    // One statement for all TFs (issue #7: it was one per TF).
    let windows: Vec<(Timeframe, usize)> = Timeframe::ALL
        .into_iter()
        .map(|tf| (tf, rescan_window(tf, new_usize)))
        .collect();
    let wants: Vec<(Timeframe, u32)> = windows.iter().map(|&(tf, w)| (tf, limit(w))).collect();
    let loaded = store
        .last_candles_many(id, &wants)
        .await
        .map_err(t.fail(TickStep::LoadCandles))?;
    let mut frames: Vec<Frame> = windows
        .into_iter()
        .zip(loaded)
        .map(|((tf, window), candles)| Frame {
            tf,
            window,
            candles,
        })
        .collect();
    if frames.len() != Timeframe::ALL.len() {
        return Err(t.fail(TickStep::LoadCandles)(StoreError::Unavailable(
            "last_candles_many returned fewer series than asked".into(),
        )));
    }
    let aggregated = aggregate_step(&t, &mut frames).await?;

    // 3. Detect and select, 4. store with levels.
    let active_rows = store
        .active_patterns(id, None)
        .await
        .map_err(t.fail(TickStep::LoadActivePatterns))?;
    let mut patterns: Vec<Pattern> = active_rows
        .iter()
        .map(|row| pattern_to_domain(row, &symbol.symbol))
        .collect();
    let selected = detect_step(&t, &frames, &patterns, params).await?;
    let patterns_saved = store_step(&t, selected, &mut patterns).await?;

    // 5. Status and fill at the last close.
    let before: Vec<(PatternStatus, f64, Option<i64>)> = patterns
        .iter()
        .map(|p| (p.status, p.fill_pct, p.filled_at))
        .collect();
    let last_close = frames
        .first()
        .and_then(|f| f.candles.last())
        .map(Candle::close);
    let (mut filled, mut invalidated) = (0, 0);
    if let Some(p) = last_close {
        for pattern in &mut patterns {
            pattern.apply_price(p, now_ms);
            match pattern.status {
                PatternStatus::Filled => filled += 1,
                PatternStatus::Invalidated => invalidated += 1,
                PatternStatus::Active | PatternStatus::Expired => {}
            }
        }
    }

    // 6. Signal, then 6b notify.
    let signal = signal_step(&t, &frames, &patterns, settings).await?;
    let to_notify = notify_step(signal);

    // 7. Expiry, then one write for steps 5 and 7.
    let mut expired = 0;
    for pattern in &mut patterns {
        if pattern.expire(now_ms) {
            expired += 1;
        }
    }
    let updates: Vec<StatusUpdate> = patterns
        .iter()
        .zip(&before)
        .filter(|(p, b)| (p.status, p.fill_pct, p.filled_at) != **b)
        .map(|(p, _)| StatusUpdate {
            id: PatternId(p.id),
            status: p.status,
            fill_pct: p.fill_pct,
            filled_at: p.filled_at,
        })
        .collect();
    if !updates.is_empty() {
        store
            .update_statuses(&updates)
            .await
            .map_err(t.fail(TickStep::UpdateStatuses))?;
    }

    Ok(TickReport {
        now_ms,
        new_1m: new_count,
        aggregated,
        last_close,
        patterns_saved,
        filled,
        invalidated,
        signal,
        expired,
        to_notify,
    })
}

/// Step 2: aggregates the closed buckets of every higher TF from its last stored one, stores
/// them, and appends them to the frame. Returns how many candles were stored.
async fn aggregate_step<S: CandleStore>(
    t: &Tick<'_, S>,
    frames: &mut [Frame],
) -> Result<u64, PipelineError> {
    let Some((one_minute, higher)) = frames.split_first_mut() else {
        return Ok(0);
    };
    let ranges: Vec<_> = higher
        .iter()
        .map(|f| source_range(f.tf, t.now, f.candles.last().map(Candle::ts)))
        .collect();
    let Some(start) = ranges
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.start)
        .min()
    else {
        return Ok(0);
    };

    // The 1m frame holds every stored 1m row from its first one on; older rows are loaded
    // only when a closing bucket reaches further back (2h, 4h and 1d buckets, or a first run).
    let tail = &one_minute.candles;
    let complete = tail.len() < one_minute.window;
    let source = match tail.first().map(Candle::ts) {
        Some(first) if !complete && start < first => {
            let mut rows = t
                .store
                .candles_in_range(t.symbol.id, Timeframe::M1, start, first, u32::MAX)
                .await
                .map_err(t.fail(TickStep::LoadAggregationSource))?;
            rows.extend_from_slice(tail);
            rows
        }
        _ => tail.clone(),
    };
    let series = CandleSeries::new(source).map_err(|source| PipelineError::CandleOrder {
        symbol: t.symbol.symbol.clone(),
        source,
    })?;

    let mut stored = 0;
    for (frame, range) in higher.iter_mut().zip(ranges) {
        if range.is_empty() {
            continue;
        }
        let after = frame.candles.last().map(Candle::ts);
        let new = aggregate(&series, frame.tf, t.now, after);
        if new.is_empty() {
            continue;
        }
        stored += t
            .store
            .upsert_candles(t.symbol.id, frame.tf, &new)
            .await
            .map_err(t.fail(TickStep::StoreAggregated(frame.tf)))?;
        frame.append(&new);
    }
    Ok(stored)
}

/// The candidates of one TF and the detections selected from them.
struct Selection {
    tf: Timeframe,
    inputs: LevelInputs,
    chosen: Vec<Detection>,
}

/// Step 3: raw detection on every TF and the live dedup + insert-if-absent, candidate by
/// candidate, in memory. The existing keys are loaded once, for the span of the candidates
/// that survive the dedup against active patterns (none survive in most ticks: a re-detected
/// pattern overlaps its own active row).
async fn detect_step<S: PatternStore>(
    t: &Tick<'_, S>,
    frames: &[Frame],
    active: &[Pattern],
    params: &DetectionParams,
) -> Result<Vec<Selection>, PipelineError> {
    let name = t.symbol.symbol.as_str();
    let mut per_tf = Vec::with_capacity(frames.len());
    let mut windows = Vec::new();
    for frame in frames {
        let runs = detect_all(&frame.candles, PatternType::ALL, Mode::Raw, params);
        let candidates: Vec<Detection> = in_emission_order(&runs).copied().collect();
        let active_tf: Vec<Pattern> = active
            .iter()
            .filter(|p| p.timeframe == frame.tf)
            .cloned()
            .collect();
        let first_survivor = candidates
            .iter()
            .filter(|d| {
                let c = DedupCandidate {
                    symbol: name,
                    timeframe: frame.tf,
                    pattern_type: d.pattern_type,
                    direction: d.direction,
                    zone: &d.zone,
                };
                !is_live_duplicate(&c, &active_tf)
            })
            .map(|d| d.detected_at)
            .min();
        if let Some(from) = first_survivor {
            windows.push(KeyWindow { tf: frame.tf, from });
        }
        per_tf.push((frame, candidates, active_tf));
    }

    let existing: HashSet<StoredPatternKey> = if windows.is_empty() {
        HashSet::new()
    } else {
        t.store
            .pattern_keys(t.symbol.id, &windows)
            .await
            .map_err(t.fail(TickStep::LoadPatternKeys))?
            .into_iter()
            .collect()
    };
    let exists = |k: &PatternKey| {
        existing.contains(&StoredPatternKey {
            tf: k.timeframe,
            pattern_type: k.pattern_type,
            direction: k.direction,
            detected_at: k.detected_at,
        })
    };

    Ok(per_tf
        .into_iter()
        .filter(|(_, candidates, _)| !candidates.is_empty())
        .map(|(frame, candidates, active_tf)| {
            let chosen: Vec<Detection> =
                select_new(name, frame.tf, &candidates, &active_tf, exists)
                    .into_iter()
                    .copied()
                    .collect();
            Selection {
                tf: frame.tf,
                inputs: LevelInputs::from_candles(&frame.candles),
                chosen,
            }
        })
        .filter(|s| !s.chosen.is_empty())
        .collect())
}

/// Step 4: trading levels and one batch insert; the stored patterns join `patterns` (active,
/// 0%). Returns their ids in storing order (TF by TF, 1m first, each in checking order).
async fn store_step<S: PatternStore>(
    t: &Tick<'_, S>,
    selected: Vec<Selection>,
    patterns: &mut Vec<Pattern>,
) -> Result<Vec<PatternId>, PipelineError> {
    let new: Vec<NewPattern> = selected
        .iter()
        .flat_map(|s| {
            s.chosen.iter().map(|d| {
                let levels = trading_levels(d.pattern_type, d.direction, &d.zone, &s.inputs);
                NewPattern::from_detection(&t.symbol.symbol, s.tf, d, levels)
            })
        })
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = new
        .iter()
        .map(|p| new_pattern_to_row(p, t.symbol.id, t.now))
        .collect();
    let ids = t
        .store
        .insert_patterns(&rows)
        .await
        .map_err(t.fail(TickStep::InsertPatterns))?;
    let mut saved = Vec::with_capacity(ids.len());
    for (p, id) in new.into_iter().zip(ids) {
        // `None`: another writer stored the key since it was read; that row stands.
        if let Some(id) = id {
            saved.push(id);
            patterns.push(p.with_id(id.0));
        }
    }
    Ok(saved)
}

/// Step 6: confluence, gating and levels from the domain; the cooldown is the store's guard,
/// so the check and the insert are one statement.
async fn signal_step<S: SignalStore>(
    t: &Tick<'_, S>,
    frames: &[Frame],
    patterns: &[Pattern],
    settings: &SignalSettings,
) -> Result<SignalOutcome, PipelineError> {
    let input = SignalInput {
        symbol: &t.symbol.symbol,
        patterns,
        settings,
        now: t.now,
    };
    let candles_of = |tf: Timeframe| {
        frames
            .iter()
            .find(|f| f.tf == tf)
            .map_or(&[][..], |f| f.candles.as_slice())
    };
    let signal = match generate_signal(&input, |_| None, candles_of) {
        Ok(signal) => signal,
        Err(reason) => return Ok(SignalOutcome::NotMade(reason)),
    };
    let row = new_signal_to_row(&signal, t.symbol.id);
    let id = t
        .store
        .insert_signal(&row, settings.cooldown_ms())
        .await
        .map_err(t.fail(TickStep::InsertSignal))?;
    Ok(id.map_or(SignalOutcome::Cooldown, SignalOutcome::Created))
}

/// Step 6b, notification (product.md §5): not wired yet. There is no notifier port; the
/// tick returns the new signal so that its caller can hand it to one. Nothing is sent here.
fn notify_step(signal: SignalOutcome) -> Vec<SignalId> {
    match signal {
        SignalOutcome::Created(id) => vec![id],
        SignalOutcome::Cooldown | SignalOutcome::NotMade(_) => Vec::new(),
    }
}
