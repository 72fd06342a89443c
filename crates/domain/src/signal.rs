//! Confluence, signals and notification text (detection.md §6, product.md §5 "Message").
//!
//! A run turns the symbol's active patterns into [`Confluence`] (one vote per TF from 5m to
//! 1d), gates it with [`SignalSettings`] and the cooldown ([`gate`]), finds the
//! [`source_pattern`], computes [`signal_levels`] and builds a `pending` [`NewSignal`].
//! [`generate_signal`] chains all of it. [`format_notification`] renders the ntfy message.
//!
//! Resolved details:
//! - "Most recent" is the greatest `(detected_at, id)` (§7's tie rule).
//! - Cooldown: a previous signal of the same symbol and direction blocks a new one while
//!   `now − last < cooldown`; at exactly `cooldown_hours` it no longer blocks. A store can
//!   express it as `created_at > now − cooldown` ([`SignalSettings::cooldown_cutoff`]).
//! - The minimum risk is `min_risk_pct / 100 × entry`; when the buffered risk is smaller the
//!   stop moves out to `entry ∓ min_risk`.
//! - The aligned TFs are listed shortest first.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::levels::{atr, round_to, sign};
use crate::lifecycle::{latest, Pattern};
use crate::matrix::Bias;
use crate::{Candle, Direction, PatternType, Timeframe, Zone};

/// Milliseconds per hour.
const HOUR_MS: f64 = 3_600_000.0;

/// Percent scale.
const PERCENT: f64 = 100.0;

/// §6: the signal buffer is at least `0.5·atr`…
pub const SIGNAL_BUFFER_ATR_FACTOR: f64 = 0.5;

/// …and at least 0.5% of the zone mid (§6).
pub const SIGNAL_BUFFER_MID_PCT: f64 = 0.5;

/// §6: the order in which agreeing TFs are searched for the source pattern. 30m and 2h are not
/// in it.
pub const SOURCE_TF_ORDER: [Timeframe; 5] = [
    Timeframe::D1,
    Timeframe::H4,
    Timeframe::H1,
    Timeframe::M15,
    Timeframe::M5,
];

/// §6: the higher TFs of which one must agree when `require_htf` is on.
pub const HIGHER_TFS: [Timeframe; 2] = [Timeframe::H4, Timeframe::D1];

/// Signal settings (per user, with the global defaults of §6).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalSettings {
    /// Minimum number of agreeing TFs (3), in `1..=7`.
    pub min_confluence: usize,
    /// Whether 4h or 1d must agree (true).
    pub require_htf: bool,
    /// No new signal for the same symbol and direction within this many hours (4).
    pub cooldown_hours: f64,
    /// TP3 multiple and the reported risk/reward (3).
    pub default_rr: f64,
    /// Minimum risk as a percentage of the entry (0.5).
    pub min_risk_pct: f64,
}

impl Default for SignalSettings {
    fn default() -> Self {
        Self {
            min_confluence: 3,
            require_htf: true,
            cooldown_hours: 4.0,
            default_rr: 3.0,
            min_risk_pct: 0.5,
        }
    }
}

/// A signal setting out of range.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SignalSettingsError {
    /// `min_confluence` is not in `1..=7`.
    #[error("min_confluence must be between 1 and 7, got {0}")]
    MinConfluence(usize),
    /// `cooldown_hours` is negative or not finite.
    #[error("cooldown_hours must be a finite number >= 0, got {0}")]
    Cooldown(f64),
    /// `default_rr` is not a finite positive number.
    #[error("default_rr must be a finite number > 0, got {0}")]
    DefaultRr(f64),
    /// `min_risk_pct` is negative or not finite.
    #[error("min_risk_pct must be a finite number >= 0, got {0}")]
    MinRiskPct(f64),
}

impl SignalSettings {
    /// Checks the ranges.
    ///
    /// # Errors
    /// The first [`SignalSettingsError`] found.
    pub fn validate(&self) -> Result<(), SignalSettingsError> {
        if !(1..=Timeframe::VOTING.len()).contains(&self.min_confluence) {
            return Err(SignalSettingsError::MinConfluence(self.min_confluence));
        }
        if !(self.cooldown_hours.is_finite() && self.cooldown_hours >= 0.0) {
            return Err(SignalSettingsError::Cooldown(self.cooldown_hours));
        }
        if !(self.default_rr.is_finite() && self.default_rr > 0.0) {
            return Err(SignalSettingsError::DefaultRr(self.default_rr));
        }
        if !(self.min_risk_pct.is_finite() && self.min_risk_pct >= 0.0) {
            return Err(SignalSettingsError::MinRiskPct(self.min_risk_pct));
        }
        Ok(())
    }

    /// The cooldown in milliseconds (rounded to the nearest ms).
    pub fn cooldown_ms(&self) -> i64 {
        // Saturating float-to-int conversion; validated settings are small and finite.
        (self.cooldown_hours * HOUR_MS).round() as i64
    }

    /// A previous signal created strictly after this time blocks a new one at `now`.
    pub fn cooldown_cutoff(&self, now: i64) -> i64 {
        now.saturating_sub(self.cooldown_ms())
    }

    /// Whether a previous signal of the same symbol and direction created at `last` still
    /// blocks a new one at `now` (`last > now − cooldown`).
    pub fn in_cooldown(&self, last: i64, now: i64) -> bool {
        last > self.cooldown_cutoff(now)
    }
}

/// One TF's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Vote {
    /// The voting TF (5m..1d).
    pub timeframe: Timeframe,
    /// The direction of its most recent active pattern.
    pub direction: Direction,
    /// That pattern's id.
    pub pattern_id: i64,
}

/// The confluence of one symbol (§6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confluence {
    /// One vote per TF that has an active pattern, shortest TF first.
    pub votes: Vec<Vote>,
    /// The majority direction, or neutral on a tie (including no votes).
    pub bias: Bias,
    /// The number of TFs that agree with the majority; 0 when neutral.
    pub score: usize,
    /// The TFs that agree with the majority, shortest first; empty when neutral.
    pub aligned: Vec<Timeframe>,
}

impl Confluence {
    /// The majority direction, `None` when neutral.
    pub fn direction(&self) -> Option<Direction> {
        self.bias.direction()
    }

    /// Whether `tf` votes with the majority.
    pub fn agrees(&self, tf: Timeframe) -> bool {
        self.aligned.contains(&tf)
    }
}

/// Votes, direction and score of `symbol` from its patterns (§6). Patterns of other symbols,
/// of 1m, and non-active ones are ignored.
pub fn confluence(symbol: &str, patterns: &[Pattern]) -> Confluence {
    let votes: Vec<Vote> = Timeframe::VOTING
        .iter()
        .filter_map(|&tf| {
            latest(patterns, |p| {
                p.is_active() && p.symbol == symbol && p.timeframe == tf
            })
            .map(|p| Vote {
                timeframe: tf,
                direction: p.direction,
                pattern_id: p.id,
            })
        })
        .collect();
    let count = |d: Direction| votes.iter().filter(|v| v.direction == d).count();
    let (bulls, bears) = (count(Direction::Bullish), count(Direction::Bearish));
    let bias = match bulls.cmp(&bears) {
        std::cmp::Ordering::Greater => Bias::Bullish,
        std::cmp::Ordering::Less => Bias::Bearish,
        std::cmp::Ordering::Equal => Bias::Neutral,
    };
    let aligned: Vec<Timeframe> = match bias.direction() {
        Some(d) => votes
            .iter()
            .filter(|v| v.direction == d)
            .map(|v| v.timeframe)
            .collect(),
        None => Vec::new(),
    };
    Confluence {
        score: aligned.len(),
        votes,
        bias,
        aligned,
    }
}

/// Why no signal was made.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoSignal {
    /// The votes tie (or there are none).
    #[error("the votes are neutral")]
    Neutral,
    /// Too few TFs agree.
    #[error("confluence {score} is below the minimum {min}")]
    LowConfluence {
        /// Agreeing TFs.
        score: usize,
        /// Required.
        min: usize,
    },
    /// Neither 4h nor 1d agrees while `require_htf` is on.
    #[error("neither 4h nor 1d agrees")]
    NoHigherTimeframe,
    /// A signal of the same symbol and direction is too recent.
    #[error("a signal of the same direction was made at {last}, within the cooldown")]
    Cooldown {
        /// When the previous signal was created, UTC ms.
        last: i64,
    },
    /// None of 1d, 4h, 1h, 15m, 5m agrees, so there is no source pattern.
    #[error("no agreeing timeframe among 1d, 4h, 1h, 15m, 5m has a source pattern")]
    NoSourcePattern,
}

/// The gating of §6: returns the direction to signal, or why not.
///
/// `last_signal_at` is the creation time of the newest signal of this symbol in the majority
/// direction, if any (the caller looks it up for that direction).
///
/// # Errors
/// [`NoSignal`] naming the first rule that fails, checked in the order neutral, score,
/// higher TF, cooldown.
pub fn gate(
    confluence: &Confluence,
    settings: &SignalSettings,
    last_signal_at: Option<i64>,
    now: i64,
) -> Result<Direction, NoSignal> {
    let direction = confluence.direction().ok_or(NoSignal::Neutral)?;
    if confluence.score < settings.min_confluence {
        return Err(NoSignal::LowConfluence {
            score: confluence.score,
            min: settings.min_confluence,
        });
    }
    if settings.require_htf && !HIGHER_TFS.iter().any(|tf| confluence.agrees(*tf)) {
        return Err(NoSignal::NoHigherTimeframe);
    }
    if let Some(last) = last_signal_at.filter(|last| settings.in_cooldown(*last, now)) {
        return Err(NoSignal::Cooldown { last });
    }
    Ok(direction)
}

/// The source pattern (§6): on the first TF of [`SOURCE_TF_ORDER`] that agrees with
/// `direction`, the most recent active pattern of `symbol` in that direction.
pub fn source_pattern<'a>(
    confluence: &Confluence,
    direction: Direction,
    symbol: &str,
    patterns: &'a [Pattern],
) -> Option<&'a Pattern> {
    if confluence.direction() != Some(direction) {
        return None;
    }
    SOURCE_TF_ORDER
        .iter()
        .filter(|tf| confluence.agrees(**tf))
        .find_map(|&tf| {
            latest(patterns, |p| {
                p.is_active() && p.symbol == symbol && p.timeframe == tf && p.direction == direction
            })
        })
}

/// Entry, stop, take-profits and risk of a signal (§6).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignalLevels {
    /// Limit entry: `zone_high` (long) or `zone_low` (short).
    pub entry: f64,
    /// Stop loss, after the minimum-risk floor.
    pub stop_loss: f64,
    /// Entry ± 1R.
    pub tp1: f64,
    /// Entry ± 2R.
    pub tp2: f64,
    /// Entry ± `default_rr`·R.
    pub tp3: f64,
    /// R, at least `min_risk_pct`% of the entry.
    pub risk: f64,
    /// `default_rr`.
    pub risk_reward: f64,
}

/// §6 levels for a signal in `direction` on `zone`, given the ATR of the source TF.
///
/// buffer = `max(0.5·atr, 0.5% of mid)`, or 0.5% of mid when `atr = 0`; long: entry =
/// zone_high, stop = zone_low − buffer; short mirrors. R is at least `min_risk_pct`% of the
/// entry, and the stop moves to match.
pub fn signal_levels(
    direction: Direction,
    zone: &Zone,
    atr: f64,
    settings: &SignalSettings,
) -> SignalLevels {
    let mid_buffer = SIGNAL_BUFFER_MID_PCT / PERCENT * zone.mid();
    let buffer = if atr > 0.0 {
        (SIGNAL_BUFFER_ATR_FACTOR * atr).max(mid_buffer)
    } else {
        mid_buffer
    };
    let s = sign(direction);
    let (entry, far_edge) = match direction {
        Direction::Bullish => (zone.high(), zone.low()),
        Direction::Bearish => (zone.low(), zone.high()),
    };
    let buffered_risk = s * (entry - (far_edge - s * buffer));
    let min_risk = settings.min_risk_pct / PERCENT * entry;
    let risk = buffered_risk.max(min_risk);
    let at = |k: f64| entry + s * k * risk;
    SignalLevels {
        entry,
        stop_loss: entry - s * risk,
        tp1: at(1.0),
        tp2: at(2.0),
        tp3: at(settings.default_rr),
        risk,
        risk_reward: settings.default_rr,
    }
}

/// Status of a signal. A new signal is `pending`; it turns `notified` at the first successful
/// send (product.md §5); the others end it. Same names as the app layer's stored statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignalStatus {
    /// Created, not yet sent.
    Pending,
    /// Sent to at least one subscriber.
    Notified,
    /// Price reached the entry.
    Triggered,
    /// Target or stop reached.
    Closed,
    /// Timed out.
    Expired,
    /// Cancelled by an admin.
    Cancelled,
}

/// A signal about to be stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSignal {
    /// Canonical symbol.
    pub symbol: String,
    /// Direction (bullish = long).
    pub direction: Direction,
    /// Levels.
    pub levels: SignalLevels,
    /// Number of agreeing TFs.
    pub confluence_score: usize,
    /// The agreeing TFs, shortest first.
    pub timeframes_aligned: Vec<Timeframe>,
    /// The source pattern's id.
    pub pattern_id: i64,
    /// The source pattern's type (used by notifications and tier checks).
    pub pattern_type: PatternType,
    /// The source pattern's TF.
    pub pattern_timeframe: Timeframe,
    /// Always `pending`.
    pub status: SignalStatus,
    /// The run's now, UTC ms.
    pub created_at: i64,
}

/// Everything [`generate_signal`] needs for one symbol.
#[derive(Debug, Clone, Copy)]
pub struct SignalInput<'a> {
    /// Canonical symbol.
    pub symbol: &'a str,
    /// The symbol's patterns (non-active and other symbols are ignored).
    pub patterns: &'a [Pattern],
    /// The effective settings.
    pub settings: &'a SignalSettings,
    /// The run's clock, UTC ms.
    pub now: i64,
}

/// §6 end to end. `last_signal_at(direction)` returns the newest signal time of this symbol in
/// that direction; `candles_of(tf)` the loaded candles of a TF (oldest first), used for the
/// ATR of the source TF.
///
/// # Errors
/// [`NoSignal`] when the gating fails or there is no source pattern.
pub fn generate_signal<'c>(
    input: &SignalInput<'_>,
    last_signal_at: impl FnOnce(Direction) -> Option<i64>,
    candles_of: impl FnOnce(Timeframe) -> &'c [Candle],
) -> Result<NewSignal, NoSignal> {
    let conf = confluence(input.symbol, input.patterns);
    let last = conf.direction().and_then(last_signal_at);
    let direction = gate(&conf, input.settings, last, input.now)?;
    let source = source_pattern(&conf, direction, input.symbol, input.patterns)
        .ok_or(NoSignal::NoSourcePattern)?;
    let tf_atr = atr(candles_of(source.timeframe));
    Ok(NewSignal {
        symbol: input.symbol.to_owned(),
        direction,
        levels: signal_levels(direction, &source.zone, tf_atr, input.settings),
        confluence_score: conf.score,
        timeframes_aligned: conf.aligned,
        pattern_id: source.id,
        pattern_type: source.pattern_type,
        pattern_timeframe: source.timeframe,
        status: SignalStatus::Pending,
        created_at: input.now,
    })
}

// ---------------------------------------------------------------------------------------
// Notification text (product.md §5 "Message")
// ---------------------------------------------------------------------------------------

/// Title marker of a long signal.
pub const LONG_MARKER: &str = "🟢";
/// Title marker of a short signal.
pub const SHORT_MARKER: &str = "🔴";

/// Prices at or above this get 2 decimals and thousands separators.
const PRICE_BIG: f64 = 1000.0;
/// Prices at or above this (and below [`PRICE_BIG`]) get 4 decimals.
const PRICE_UNIT: f64 = 1.0;
const DECIMALS_BIG: usize = 2;
const DECIMALS_UNIT: usize = 4;
/// Prices below 1 get this many significant digits.
const SIGNIFICANT_DIGITS: i32 = 6;
/// Decimals of the percentage distances.
const PCT_DECIMALS: usize = 2;
/// Decimals of the R:R shown in the body.
const RR_DISPLAY_DECIMALS: usize = 2;

/// The text of one ntfy notification (the caller adds topic and priority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// E.g. `🟢 LONG BTC/USDT FVG 4h`.
    pub title: String,
    /// Direction (`long`/`short`), base asset, pattern abbreviation.
    pub tags: Vec<String>,
    /// The multi-line body.
    pub message: String,
}

/// Inserts `,` every three digits of an integer digit string.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a price for humans: thousands separators; 2 decimals at or above 1000, 4 decimals
/// at or above 1, and 6 significant digits (fixed notation, trailing zeros kept) below 1.
/// Negative values format like their absolute value with a leading `-`; non-finite ones as
/// Rust prints them.
pub fn format_price(price: f64) -> String {
    if !price.is_finite() {
        return price.to_string();
    }
    let abs = price.abs();
    let text = if abs >= PRICE_BIG {
        format!("{abs:.DECIMALS_BIG$}")
    } else if abs >= PRICE_UNIT {
        format!("{abs:.DECIMALS_UNIT$}")
    } else if abs == 0.0 {
        "0".to_owned()
    } else {
        // Scientific formatting rounds to the significant digits and gives the exponent.
        let sci = format!("{abs:.prec$e}", prec = (SIGNIFICANT_DIGITS - 1) as usize);
        let exp: i32 = sci
            .rsplit_once('e')
            .and_then(|(_, e)| e.parse().ok())
            .unwrap_or(-1);
        let decimals = usize::try_from(SIGNIFICANT_DIGITS - 1 - exp).unwrap_or(0);
        format!("{abs:.decimals$}")
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if price < 0.0 {
        out.push('-');
    }
    out.push_str(&group_thousands(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A signed percentage with 2 decimals, e.g. `+1.25%` or `-0.40%`.
fn format_pct(pct: f64) -> String {
    // Round first so that a tiny negative value prints as +0.00%, not -0.00%.
    let pct = round_to(pct, PCT_DECIMALS as i32) + 0.0;
    let sign = if pct >= 0.0 { "+" } else { "" };
    format!("{sign}{pct:.PCT_DECIMALS$}%")
}

/// `(to − from) / from × 100`, or 0 when `from` is 0.
fn pct_change(from: f64, to: f64) -> f64 {
    if from == 0.0 {
        0.0
    } else {
        (to - from) / from * PERCENT
    }
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31) in the proleptic Gregorian
/// calendar. Works in 400-year eras of 146 097 days that start on 1 March, so the leap day
/// falls at the end of each era-year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097;
    // 1970-01-01 is day 719 468 counted from 0000-03-01.
    const EPOCH_SHIFT: i64 = 719_468;
    let z = days + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA); // 0..=146096
                                                 // Year of the era (0..=399): remove the 4-, 100- and 400-year leap-day corrections.
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March (0) to February (11); 153 days per 5 months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// `DD/MM/YYYY HH:MM UTC` for a UTC-ms timestamp.
pub fn format_utc(ts_ms: i64) -> String {
    const MS_PER_DAY: i64 = 86_400_000;
    const MS_PER_MINUTE: i64 = 60_000;
    const MINUTES_PER_HOUR: i64 = 60;
    let days = ts_ms.div_euclid(MS_PER_DAY);
    let minute_of_day = ts_ms.rem_euclid(MS_PER_DAY) / MS_PER_MINUTE;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{d:02}/{m:02}/{y:04} {:02}:{:02} UTC",
        minute_of_day / MINUTES_PER_HOUR,
        minute_of_day % MINUTES_PER_HOUR
    )
}

/// Renders the notification of a new signal (product.md §5): title with the green/red
/// marker, LONG/SHORT, symbol, pattern abbreviation and TF; tags; and a body with the signal
/// time, the current price, the limit entry with its % distance from the current price, the
/// stop loss, TP1–TP3 with their % distance from the entry, R:R, and the confluence `n/7` with
/// the aligned TFs.
pub fn format_notification(signal: &NewSignal, current_price: f64) -> Notification {
    let (marker, side) = match signal.direction {
        Direction::Bullish => (LONG_MARKER, "LONG"),
        Direction::Bearish => (SHORT_MARKER, "SHORT"),
    };
    let abbreviation = signal.pattern_type.abbreviation();
    let title = format!(
        "{marker} {side} {} {abbreviation} {}",
        signal.symbol, signal.pattern_timeframe
    );
    let base = signal
        .symbol
        .split_once('/')
        .map_or(signal.symbol.as_str(), |(b, _)| b);
    let tags = vec![
        signal.direction.side().to_owned(),
        base.to_owned(),
        abbreviation.to_owned(),
    ];

    let l = &signal.levels;
    let mut message = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(message, "Time: {}", format_utc(signal.created_at));
    let _ = writeln!(message, "Price: {}", format_price(current_price));
    let _ = writeln!(
        message,
        "Entry: {} ({} vs price)",
        format_price(l.entry),
        format_pct(pct_change(current_price, l.entry))
    );
    let _ = writeln!(message, "Stop loss: {}", format_price(l.stop_loss));
    for (name, tp) in [("TP1", l.tp1), ("TP2", l.tp2), ("TP3", l.tp3)] {
        let _ = writeln!(
            message,
            "{name}: {} ({})",
            format_price(tp),
            format_pct(pct_change(l.entry, tp))
        );
    }
    let _ = writeln!(message, "R:R 1:{:.RR_DISPLAY_DECIMALS$}", l.risk_reward);
    let aligned: Vec<&str> = signal
        .timeframes_aligned
        .iter()
        .map(|tf| tf.as_str())
        .collect();
    let _ = write!(
        message,
        "Confluence: {}/{} ({})",
        signal.confluence_score,
        Timeframe::VOTING.len(),
        aligned.join(", ")
    );
    Notification {
        title,
        tags,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::levels::tests::bar;
    use crate::lifecycle::tests::pattern;
    use crate::PatternStatus;
    use Direction::{Bearish, Bullish};
    use PatternType::{Imbalance, LiquiditySweep, OrderBlock};
    use Timeframe::{D1, H1, H2, H4, M15, M30, M5};

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_700_000_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// One active imbalance per (tf, direction) with ids in order.
    fn votes_of(spec: &[(Timeframe, Direction)]) -> Vec<Pattern> {
        spec.iter()
            .enumerate()
            .map(|(i, &(tf, d))| pattern(i as i64 + 1, tf, Imbalance, d, 100.0, 110.0, 1_000))
            .collect()
    }

    #[test]
    fn each_tf_votes_with_its_most_recent_active_pattern() {
        let mut ps = vec![
            pattern(1, H1, Imbalance, Bullish, 100.0, 110.0, 2_000),
            pattern(2, H1, OrderBlock, Bearish, 100.0, 110.0, 1_000),
            pattern(3, H4, LiquiditySweep, Bearish, 100.0, 110.0, 5_000),
            pattern(4, H4, Imbalance, Bullish, 100.0, 110.0, 3_000),
            pattern(5, Timeframe::M1, Imbalance, Bearish, 100.0, 110.0, 9_000),
        ];
        // A newer but filled pattern does not vote.
        let mut filled = pattern(6, H1, Imbalance, Bearish, 100.0, 110.0, 9_000);
        filled.status = PatternStatus::Filled;
        ps.push(filled);
        let c = confluence("BTC/USDT", &ps);
        let votes: Vec<_> = c
            .votes
            .iter()
            .map(|v| (v.timeframe, v.direction, v.pattern_id))
            .collect();
        assert_eq!(votes, [(H1, Bullish, 1), (H4, Bearish, 3)]);
        assert_eq!((c.bias, c.score), (Bias::Neutral, 0));
        assert!(c.aligned.is_empty());
    }

    #[test]
    fn a_tie_in_detected_at_is_won_by_the_higher_id() {
        let ps = [
            pattern(8, M15, Imbalance, Bearish, 100.0, 110.0, 1_000),
            pattern(9, M15, OrderBlock, Bullish, 100.0, 110.0, 1_000),
            pattern(7, M15, LiquiditySweep, Bearish, 100.0, 110.0, 1_000),
        ];
        let c = confluence("BTC/USDT", &ps);
        assert_eq!(c.votes.len(), 1);
        assert_eq!((c.votes[0].direction, c.votes[0].pattern_id), (Bullish, 9));
        assert_eq!(
            (c.bias, c.score, c.aligned.clone()),
            (Bias::Bullish, 1, vec![M15])
        );
    }

    #[test]
    fn the_majority_sets_direction_and_score() {
        let ps = votes_of(&[(M5, Bearish), (M15, Bullish), (H1, Bearish), (D1, Bearish)]);
        let c = confluence("BTC/USDT", &ps);
        assert_eq!((c.bias, c.score), (Bias::Bearish, 3));
        assert_eq!(c.aligned, [M5, H1, D1]);
    }

    #[test]
    fn no_votes_is_neutral() {
        let c = confluence("BTC/USDT", &[]);
        assert_eq!((c.bias, c.score), (Bias::Neutral, 0));
    }

    #[test]
    fn other_symbols_do_not_vote() {
        let mut ps = votes_of(&[(H1, Bullish)]);
        ps[0].symbol = "ETH/USDT".into();
        assert!(confluence("BTC/USDT", &ps).votes.is_empty());
    }

    #[test]
    fn a_neutral_confluence_makes_no_signal() {
        let c = confluence("BTC/USDT", &votes_of(&[(H4, Bullish), (D1, Bearish)]));
        assert_eq!(
            gate(&c, &SignalSettings::default(), None, NOW),
            Err(NoSignal::Neutral)
        );
    }

    #[test]
    fn a_signal_needs_the_minimum_confluence() {
        let c = confluence("BTC/USDT", &votes_of(&[(H1, Bullish), (H4, Bullish)]));
        assert_eq!(
            gate(&c, &SignalSettings::default(), None, NOW),
            Err(NoSignal::LowConfluence { score: 2, min: 3 })
        );
        let c3 = confluence(
            "BTC/USDT",
            &votes_of(&[(M5, Bullish), (H1, Bullish), (H4, Bullish)]),
        );
        assert_eq!(
            gate(&c3, &SignalSettings::default(), None, NOW),
            Ok(Bullish)
        );
    }

    #[test]
    fn require_htf_needs_four_hours_or_one_day_to_agree() {
        let c = confluence(
            "BTC/USDT",
            &votes_of(&[
                (M5, Bullish),
                (M15, Bullish),
                (M30, Bullish),
                (H2, Bullish),
                (H4, Bearish),
            ]),
        );
        let strict = SignalSettings::default();
        assert_eq!(
            gate(&c, &strict, None, NOW),
            Err(NoSignal::NoHigherTimeframe)
        );
        let relaxed = SignalSettings {
            require_htf: false,
            ..strict
        };
        assert_eq!(gate(&c, &relaxed, None, NOW), Ok(Bullish));
        let daily = confluence(
            "BTC/USDT",
            &votes_of(&[(M5, Bearish), (M15, Bearish), (D1, Bearish)]),
        );
        assert_eq!(gate(&daily, &strict, None, NOW), Ok(Bearish));
    }

    #[test]
    fn the_cooldown_blocks_until_exactly_four_hours_have_passed() {
        let c = confluence(
            "BTC/USDT",
            &votes_of(&[(M5, Bullish), (H1, Bullish), (H4, Bullish)]),
        );
        let s = SignalSettings::default();
        let just_inside = NOW - 4 * HOUR + 1;
        assert_eq!(
            gate(&c, &s, Some(just_inside), NOW),
            Err(NoSignal::Cooldown { last: just_inside })
        );
        assert_eq!(gate(&c, &s, Some(NOW - 4 * HOUR), NOW), Ok(Bullish));
        assert_eq!(s.cooldown_cutoff(NOW), NOW - 4 * HOUR);
    }

    #[test]
    fn the_source_is_the_first_agreeing_tf_from_one_day_down() {
        let ps = vec![
            pattern(1, M5, Imbalance, Bullish, 10.0, 11.0, 1_000),
            pattern(2, H1, OrderBlock, Bullish, 20.0, 21.0, 1_000),
            pattern(3, H4, Imbalance, Bullish, 30.0, 31.0, 1_000),
            pattern(4, H4, LiquiditySweep, Bullish, 40.0, 41.0, 2_000),
            pattern(5, D1, Imbalance, Bearish, 50.0, 51.0, 1_000),
        ];
        let c = confluence("BTC/USDT", &ps);
        assert_eq!(c.aligned, [M5, H1, H4]);
        let src = source_pattern(&c, Bullish, "BTC/USDT", &ps).unwrap();
        assert_eq!(src.id, 4);
    }

    #[test]
    fn thirty_minutes_and_two_hours_are_never_a_source() {
        let ps = votes_of(&[(M30, Bearish), (H2, Bearish)]);
        let c = confluence("BTC/USDT", &ps);
        assert_eq!(c.score, 2);
        assert_eq!(source_pattern(&c, Bearish, "BTC/USDT", &ps), None);
        let settings = SignalSettings {
            min_confluence: 2,
            require_htf: false,
            ..SignalSettings::default()
        };
        let input = SignalInput {
            symbol: "BTC/USDT",
            patterns: &ps,
            settings: &settings,
            now: NOW,
        };
        assert_eq!(
            generate_signal(&input, |_| None, |_| &[]),
            Err(NoSignal::NoSourcePattern)
        );
    }

    #[test]
    fn long_levels_buffer_by_half_the_atr_when_it_exceeds_half_a_percent_of_mid() {
        // zone [100, 104], mid 102 → 0.51; atr 4 → 2. entry 104, stop 98, R 6.
        let l = signal_levels(
            Bullish,
            &Zone::new(100.0, 104.0).unwrap(),
            4.0,
            &SignalSettings::default(),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (104.0, 98.0, 6.0));
        assert_eq!(
            (l.tp1, l.tp2, l.tp3, l.risk_reward),
            (110.0, 116.0, 122.0, 3.0)
        );
    }

    #[test]
    fn the_buffer_is_half_a_percent_of_mid_without_atr_or_when_larger() {
        // zone [1000, 1010], mid 1005 → 5.025; atr 0 and atr 2 (→ 1) both give 5.025.
        let z = Zone::new(1000.0, 1010.0).unwrap();
        for a in [0.0, 2.0] {
            let l = signal_levels(Bullish, &z, a, &SignalSettings::default());
            assert!(close(l.stop_loss, 994.975));
            assert!(close(l.risk, 15.025));
        }
    }

    #[test]
    fn the_minimum_risk_moves_the_stop_out() {
        // zone [100, 100.1], mid 100.05 → buffer 0.50025; R = 0.1 + 0.50025 = 0.60025.
        // min_risk_pct 1 → R ≥ 1.001 (1% of 100.1): the stop moves to 99.099.
        let settings = SignalSettings {
            min_risk_pct: 1.0,
            ..SignalSettings::default()
        };
        let z = Zone::new(100.0, 100.1).unwrap();
        let l = signal_levels(Bullish, &z, 0.0, &settings);
        assert!(close(l.risk, 1.001));
        assert!(close(l.stop_loss, 99.099));
        assert!(close(l.tp1, 101.101) && close(l.tp3, 103.103));
        // With the default 0.5% the buffered 0.60025 already exceeds 0.5005.
        let d = signal_levels(Bullish, &z, 0.0, &SignalSettings::default());
        assert!(close(d.risk, 0.60025));
    }

    #[test]
    fn short_levels_mirror_long_levels() {
        // zone [100, 104], atr 4 → buffer 2; entry 100, stop 106, R 6; TPs 94 / 88 / 82.
        let l = signal_levels(
            Bearish,
            &Zone::new(100.0, 104.0).unwrap(),
            4.0,
            &SignalSettings::default(),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (100.0, 106.0, 6.0));
        assert_eq!((l.tp1, l.tp2, l.tp3), (94.0, 88.0, 82.0));
        // The floor moves a short stop up: 2% of 100 = 2 > 0.5·0.2 and 0.5% of mid.
        let floor = SignalSettings {
            min_risk_pct: 2.0,
            ..SignalSettings::default()
        };
        let f = signal_levels(Bearish, &Zone::new(100.0, 100.2).unwrap(), 0.2, &floor);
        assert!(close(f.risk, 2.0) && close(f.stop_loss, 102.0));
    }

    #[test]
    fn generate_signal_builds_a_pending_signal_from_the_source_pattern() {
        let ps = vec![
            pattern(1, M5, Imbalance, Bullish, 10.0, 11.0, 1_000),
            pattern(2, H1, OrderBlock, Bullish, 20.0, 21.0, 1_000),
            pattern(3, H4, Imbalance, Bullish, 100.0, 104.0, 1_000),
        ];
        let settings = SignalSettings::default();
        let input = SignalInput {
            symbol: "BTC/USDT",
            patterns: &ps,
            settings: &settings,
            now: NOW,
        };
        // 15 bars of range 8 with flat closes → atr 8, buffer 4.
        let candles: Vec<_> = (0..15).map(|i| bar(i, 104.0, 96.0)).collect();
        let mut asked = None;
        let s = generate_signal(
            &input,
            |_| None,
            |tf| {
                asked = Some(tf);
                &candles
            },
        )
        .unwrap();
        assert_eq!(asked, Some(H4));
        assert_eq!(
            (s.pattern_id, s.pattern_type, s.pattern_timeframe),
            (3, Imbalance, H4)
        );
        assert_eq!(
            (s.status, s.created_at, s.confluence_score),
            (SignalStatus::Pending, NOW, 3)
        );
        assert_eq!(s.timeframes_aligned, [M5, H1, H4]);
        assert_eq!(
            (s.levels.entry, s.levels.stop_loss, s.levels.risk),
            (104.0, 96.0, 8.0)
        );
    }

    #[test]
    fn generate_signal_asks_the_cooldown_for_the_majority_direction() {
        let ps = votes_of(&[(M5, Bearish), (H1, Bearish), (H4, Bearish)]);
        let settings = SignalSettings::default();
        let input = SignalInput {
            symbol: "BTC/USDT",
            patterns: &ps,
            settings: &settings,
            now: NOW,
        };
        let r = generate_signal(&input, |d| (d == Bearish).then_some(NOW - HOUR), |_| &[]);
        assert_eq!(r, Err(NoSignal::Cooldown { last: NOW - HOUR }));
    }

    #[test]
    fn settings_default_from_partial_json_and_reject_unknown_fields() {
        let s: SignalSettings = serde_json::from_str(r#"{"min_confluence": 4}"#).unwrap();
        assert_eq!(s.min_confluence, 4);
        assert!(s.require_htf);
        assert_eq!(
            (s.cooldown_hours, s.default_rr, s.min_risk_pct),
            (4.0, 3.0, 0.5)
        );
        assert!(serde_json::from_str::<SignalSettings>(r#"{"is_admin": true}"#).is_err());
    }

    #[test]
    fn settings_out_of_range_are_rejected() {
        let d = SignalSettings::default();
        assert_eq!(d.validate(), Ok(()));
        let bad = [
            (
                SignalSettings {
                    min_confluence: 0,
                    ..d
                },
                SignalSettingsError::MinConfluence(0),
            ),
            (
                SignalSettings {
                    min_confluence: 8,
                    ..d
                },
                SignalSettingsError::MinConfluence(8),
            ),
            (
                SignalSettings {
                    cooldown_hours: -1.0,
                    ..d
                },
                SignalSettingsError::Cooldown(-1.0),
            ),
            (
                SignalSettings {
                    default_rr: 0.0,
                    ..d
                },
                SignalSettingsError::DefaultRr(0.0),
            ),
            (
                SignalSettings {
                    min_risk_pct: -0.1,
                    ..d
                },
                SignalSettingsError::MinRiskPct(-0.1),
            ),
        ];
        for (s, e) in bad {
            assert_eq!(s.validate(), Err(e));
        }
    }

    #[test]
    fn prices_are_formatted_by_magnitude() {
        assert_eq!(format_price(36_512.345), "36,512.35");
        assert_eq!(format_price(1_234_567.0), "1,234,567.00");
        assert_eq!(format_price(1_000.0), "1,000.00");
        assert_eq!(format_price(999.99999), "1,000.0000");
        assert_eq!(format_price(2.5), "2.5000");
        assert_eq!(format_price(1.0), "1.0000");
        assert_eq!(format_price(0.5), "0.500000");
        assert_eq!(format_price(0.000123456789), "0.000123457");
        assert_eq!(format_price(0.0999999999), "0.100000");
        assert_eq!(format_price(0.0), "0");
        assert_eq!(format_price(-1_500.5), "-1,500.50");
    }

    #[test]
    fn utc_times_use_day_month_year() {
        assert_eq!(format_utc(0), "01/01/1970 00:00 UTC");
        // 2023-11-14T22:13:20Z
        assert_eq!(format_utc(NOW), "14/11/2023 22:13 UTC");
        // Leap day and the day after.
        assert_eq!(format_utc(1_709_164_800_000), "29/02/2024 00:00 UTC");
        assert_eq!(format_utc(1_709_251_199_999), "29/02/2024 23:59 UTC");
        assert_eq!(format_utc(1_709_251_200_000), "01/03/2024 00:00 UTC");
        // 2000-02-29 (a 400-year leap year) and 2100-03-01 (2100 is not leap).
        assert_eq!(format_utc(951_782_400_000), "29/02/2000 00:00 UTC");
        assert_eq!(format_utc(4_107_542_400_000), "01/03/2100 00:00 UTC");
        // Before the epoch.
        assert_eq!(format_utc(-60_000), "31/12/1969 23:59 UTC");
    }

    #[test]
    fn the_notification_shows_levels_distances_and_confluence_out_of_seven() {
        let signal = NewSignal {
            symbol: "BTC/USDT".into(),
            direction: Bullish,
            levels: SignalLevels {
                entry: 36_000.0,
                stop_loss: 35_640.0,
                tp1: 36_360.0,
                tp2: 36_720.0,
                tp3: 37_080.0,
                risk: 360.0,
                risk_reward: 3.0,
            },
            confluence_score: 4,
            timeframes_aligned: vec![M5, H1, H4, D1],
            pattern_id: 42,
            pattern_type: Imbalance,
            pattern_timeframe: H4,
            status: SignalStatus::Pending,
            created_at: NOW,
        };
        let n = format_notification(&signal, 36_500.0);
        assert_eq!(n.title, "🟢 LONG BTC/USDT FVG 4h");
        assert_eq!(n.tags, ["long", "BTC", "FVG"]);
        assert_eq!(
            n.message,
            "Time: 14/11/2023 22:13 UTC\n\
             Price: 36,500.00\n\
             Entry: 36,000.00 (-1.37% vs price)\n\
             Stop loss: 35,640.00\n\
             TP1: 36,360.00 (+1.00%)\n\
             TP2: 36,720.00 (+2.00%)\n\
             TP3: 37,080.00 (+3.00%)\n\
             R:R 1:3.00\n\
             Confluence: 4/7 (5m, 1h, 4h, 1d)"
        );
    }

    #[test]
    fn a_short_notification_is_red_with_the_sweep_abbreviation() {
        let signal = NewSignal {
            symbol: "XRP/USDT".into(),
            direction: Bearish,
            levels: SignalLevels {
                entry: 0.5,
                stop_loss: 0.51,
                tp1: 0.49,
                tp2: 0.48,
                tp3: 0.475,
                risk: 0.01,
                risk_reward: 2.5,
            },
            confluence_score: 3,
            timeframes_aligned: vec![M15, H4, D1],
            pattern_id: 1,
            pattern_type: LiquiditySweep,
            pattern_timeframe: D1,
            status: SignalStatus::Pending,
            created_at: 0,
        };
        let n = format_notification(&signal, 0.5);
        assert_eq!(n.title, "🔴 SHORT XRP/USDT LS 1d");
        assert_eq!(n.tags, ["short", "XRP", "LS"]);
        assert!(n.message.contains("Entry: 0.500000 (+0.00% vs price)"));
        assert!(n.message.contains("TP3: 0.475000 (-5.00%)"));
        assert!(n.message.contains("R:R 1:2.50"));
        assert!(n.message.ends_with("Confluence: 3/7 (15m, 4h, 1d)"));
    }

    proptest::proptest! {
        #[test]
        fn signal_risk_is_never_below_the_floor_and_the_stop_is_on_the_losing_side(
            low in 0.0001f64..1e6,
            width in 0.0f64..1e4,
            atr in 0.0f64..1e4,
            min_risk_pct in 0.0f64..5.0,
            bullish in proptest::bool::ANY,
        ) {
            let settings = SignalSettings { min_risk_pct, ..SignalSettings::default() };
            let direction = if bullish { Bullish } else { Bearish };
            let z = Zone::new(low, low + width).unwrap();
            let l = signal_levels(direction, &z, atr, &settings);
            let floor = min_risk_pct / 100.0 * l.entry;
            proptest::prop_assert!(l.risk >= floor * (1.0 - 1e-12));
            proptest::prop_assert!(l.risk > 0.0);
            let s = if bullish { 1.0 } else { -1.0 };
            proptest::prop_assert!(s * (l.entry - l.stop_loss) > 0.0);
            proptest::prop_assert!(s * (l.tp1 - l.entry) > 0.0);
            proptest::prop_assert!(s * (l.tp3 - l.tp2) >= 0.0);
        }

        #[test]
        fn any_utc_time_formats_to_a_valid_calendar_date(ts in -10_000_000_000_000i64..10_000_000_000_000) {
            let text = format_utc(ts);
            let d: u32 = text[0..2].parse().unwrap();
            let m: u32 = text[3..5].parse().unwrap();
            proptest::prop_assert!((1..=31).contains(&d) && (1..=12).contains(&m));
            // One day later is always another calendar date.
            let next = format_utc(ts + 86_400_000);
            proptest::prop_assert_ne!(&text[0..10], &next[0..10]);
        }
    }
}
