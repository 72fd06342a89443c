//! The global settings of product.md §9 (admin "Settings"): signal defaults (detection.md §6),
//! the detection zone minimum, retention per kind (§4 cleanup), the global ntfy topic and the
//! log level, stored one key each in `settings` as JSON text.
//!
//! Design:
//! - [`GlobalSettings`] is the typed, always-valid value; it is read from the stored rows with
//!   the defaults for absent or unreadable keys (the same fallbacks the jobs use), so a bad row
//!   never breaks a read.
//! - A change arrives as a [`SettingsPatch`] (absent = unchanged; `Some(None)` on a nullable
//!   value = none / keep forever) and [`GlobalSettings::apply`] checks every field, reporting
//!   ALL bad fields at once (the form shows them inline); nothing is written unless all pass.
//! - [`GlobalSettings::changed`] lists only the keys whose stored text differs, so the write
//!   and its audit row name exactly what changed.
//! - The scheduled jobs read them ONCE per tick ([`GlobalSettings::load`], one query) and
//!   derive their knobs from the value ([`GlobalSettings::pipeline_config`],
//!   [`GlobalSettings::dispatch_config`], [`GlobalSettings::notify_config`]), so a change
//!   applies from the next tick.

use crate::admin::InvalidInput;
use crate::jobs::maintenance::RetentionTarget;
use crate::jobs::PipelineJobConfig;
use crate::notify::NotifyConfig;
use crate::ports::admin::LogLevel;
use crate::ports::stats::SettingRow;
use crate::ports::StoreError;
use crate::runs::DispatchConfig;
use cl_domain::signal::SignalSettings;

/// Longest global ntfy topic.
pub const MAX_TOPIC_LEN: usize = 64;
/// Longest retention, in days (10 years).
pub const MAX_RETENTION_DAYS: u32 = 3_650;
/// Largest cleanup batch (product.md §4).
pub const MAX_BATCH: u32 = 5_000;

/// Stored keys of the non-retention settings.
pub mod keys {
    /// `signal.min_confluence`.
    pub const MIN_CONFLUENCE: &str = "signal.min_confluence";
    /// `signal.require_htf`.
    pub const REQUIRE_HTF: &str = "signal.require_htf";
    /// `signal.cooldown_hours`.
    pub const COOLDOWN_HOURS: &str = "signal.cooldown_hours";
    /// `signal.default_rr`.
    pub const DEFAULT_RR: &str = "signal.default_rr";
    /// `signal.min_risk_pct`.
    pub const MIN_RISK_PCT: &str = "signal.min_risk_pct";
    /// `detection.min_zone_pct`.
    pub const MIN_ZONE_PCT: &str = "detection.min_zone_pct";
    /// `notify.global_topic`.
    pub const GLOBAL_TOPIC: &str = "notify.global_topic";
    /// `notify.global_topic_enabled`.
    pub const GLOBAL_TOPIC_ENABLED: &str = "notify.global_topic_enabled";
    /// `log.level`.
    pub const LOG_LEVEL: &str = "log.level";
    /// `retention.batch_size`.
    pub const BATCH_SIZE: &str = "retention.batch_size";
}

/// The wire name of a retention field (`retention_<kind>_days`).
pub const fn retention_field(t: RetentionTarget) -> &'static str {
    match t {
        RetentionTarget::Candles1m => "retention_candles_1m_days",
        RetentionTarget::Logs => "retention_logs_days",
        RetentionTarget::CronRuns => "retention_cron_runs_days",
        RetentionTarget::Notifications => "retention_notifications_days",
        RetentionTarget::EndedPatterns => "retention_ended_patterns_days",
        RetentionTarget::ResolvedErrors => "retention_resolved_errors_days",
        RetentionTarget::SessionsTokens => "retention_sessions_tokens_days",
        RetentionTarget::ApiKeyUsage => "retention_api_key_usage_days",
        RetentionTarget::WebhookEvents => "retention_webhook_events_days",
        // Tables that follow another target's setting.
        RetentionTarget::RunQueue => "retention_cron_runs_days",
        RetentionTarget::BroadcastDeliveries => "retention_notifications_days",
    }
}

/// The global ntfy topic: 1..=64 of `A–Z a–z 0–9 _ -` (ntfy's topic charset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalTopic(String);

impl GlobalTopic {
    /// Parses a topic.
    ///
    /// # Errors
    /// [`InvalidInput`] on `global_topic`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_TOPIC_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput {
                field: "global_topic",
                code: "invalid_format",
                message: "must be 1 to 64 letters, digits, '_' or '-'",
            })
        }
    }

    /// The topic.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The typed global settings (always within range).
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSettings {
    signal: SignalSettings,
    min_zone_pct: f64,
    global_topic: Option<GlobalTopic>,
    global_topic_enabled: bool,
    log_level: LogLevel,
    retention: [Option<u32>; 9],
    batch_size: u32,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        Self {
            signal: SignalSettings::default(),
            min_zone_pct: 0.15,
            global_topic: None,
            global_topic_enabled: false,
            log_level: LogLevel::Info,
            retention: RetentionTarget::ALL.map(|t| Some(t.default_days())),
            batch_size: MAX_BATCH,
        }
    }
}

/// A requested change; `None` = keep. Nullable values are `Option<Option<_>>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsPatch {
    /// `min_confluence`.
    pub min_confluence: Option<i64>,
    /// `require_htf`.
    pub require_htf: Option<bool>,
    /// `cooldown_hours`.
    pub cooldown_hours: Option<f64>,
    /// `default_rr`.
    pub default_rr: Option<f64>,
    /// `min_risk_pct`.
    pub min_risk_pct: Option<f64>,
    /// `min_zone_pct`.
    pub min_zone_pct: Option<f64>,
    /// `global_topic` (`Some(None)`: no topic).
    pub global_topic: Option<Option<String>>,
    /// `global_topic_enabled`.
    pub global_topic_enabled: Option<bool>,
    /// `log_level`.
    pub log_level: Option<String>,
    /// Per [`RetentionTarget::ALL`] index (`Some(None)`: keep forever).
    pub retention: [Option<Option<i64>>; 9],
    /// `retention_batch_size`.
    pub batch_size: Option<i64>,
}

const fn bad(field: &'static str, message: &'static str) -> InvalidInput {
    InvalidInput {
        field,
        code: "out_of_range",
        message,
    }
}

fn in_range(v: f64, min: f64, max: f64) -> bool {
    v.is_finite() && v >= min && v <= max
}

fn json_f64(v: f64) -> String {
    // serde_json prints the shortest text that round-trips.
    serde_json::Value::from(v).to_string()
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl GlobalSettings {
    /// Reads the stored rows; an absent or unreadable key keeps its default.
    pub fn from_rows(rows: &[SettingRow]) -> Self {
        let mut s = Self::default();
        let get = |k: &str| {
            rows.iter()
                .find(|r| r.key == k)
                .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.value).ok())
        };
        let num = |k: &str| get(k).and_then(|v| v.as_f64());
        if let Some(v) = get(keys::MIN_CONFLUENCE).and_then(|v| v.as_u64()) {
            s.signal.min_confluence = usize::try_from(v).unwrap_or(0);
        }
        if let Some(v) = get(keys::REQUIRE_HTF).and_then(|v| v.as_bool()) {
            s.signal.require_htf = v;
        }
        if let Some(v) = num(keys::COOLDOWN_HOURS) {
            s.signal.cooldown_hours = v;
        }
        if let Some(v) = num(keys::DEFAULT_RR) {
            s.signal.default_rr = v;
        }
        if let Some(v) = num(keys::MIN_RISK_PCT) {
            s.signal.min_risk_pct = v;
        }
        if s.signal.validate().is_err() {
            s.signal = SignalSettings::default();
        }
        if let Some(v) = num(keys::MIN_ZONE_PCT).filter(|v| in_range(*v, 0.0, 10.0)) {
            s.min_zone_pct = v;
        }
        s.global_topic = get(keys::GLOBAL_TOPIC)
            .and_then(|v| v.as_str().and_then(|t| GlobalTopic::parse(t).ok()));
        s.global_topic_enabled = s.global_topic.is_some()
            && get(keys::GLOBAL_TOPIC_ENABLED)
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
        if let Some(l) = get(keys::LOG_LEVEL).and_then(|v| v.as_str().map(LogLevel::parse)) {
            s.log_level = l.unwrap_or(LogLevel::Info);
        }
        for (i, t) in RetentionTarget::ALL.into_iter().enumerate() {
            let text = rows
                .iter()
                .find(|r| r.key == t.setting_key())
                .map(|r| r.value.as_str());
            s.retention[i] = crate::jobs::cleanup::retention_days(text, t.default_days())
                .map(|d| d.min(MAX_RETENTION_DAYS));
        }
        s.batch_size = crate::jobs::cleanup::batch_size(
            rows.iter()
                .find(|r| r.key == keys::BATCH_SIZE)
                .map(|r| r.value.as_str()),
        );
        s
    }

    /// The signal defaults.
    pub fn signal(&self) -> SignalSettings {
        self.signal
    }
    /// The detection zone minimum (%).
    pub fn min_zone_pct(&self) -> f64 {
        self.min_zone_pct
    }
    /// The global ntfy topic.
    pub fn global_topic(&self) -> Option<&GlobalTopic> {
        self.global_topic.as_ref()
    }
    /// Whether every signal also goes to the global topic.
    pub fn global_topic_enabled(&self) -> bool {
        self.global_topic_enabled
    }
    /// The log level.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }
    /// The retention of a kind in days (`None`: keep forever).
    pub fn retention(&self, t: RetentionTarget) -> Option<u32> {
        let t = t.setting_target();
        RetentionTarget::ALL
            .iter()
            .position(|x| *x == t)
            .and_then(|i| self.retention[i])
    }
    /// The cleanup batch size.
    pub fn batch_size(&self) -> u32 {
        self.batch_size
    }

    /// Reads the stored settings in ONE query (the scheduled jobs do this once per tick).
    ///
    /// # Errors
    /// The store's error (the caller runs with the defaults and says why).
    pub async fn load<S: crate::ports::stats::StatsStore>(store: &S) -> Result<Self, StoreError> {
        Ok(Self::from_rows(&store.settings().await?))
    }

    /// The pipeline's knobs under these settings: the signal defaults (min confluence, HTF
    /// rule, cooldown, default R:R, min risk) and the detection zone minimum.
    pub fn pipeline_config(&self, mut config: PipelineJobConfig) -> PipelineJobConfig {
        config.settings = self.signal;
        config.params.min_zone_pct = self.min_zone_pct;
        config
    }

    /// The run queue's knobs under these settings (scans detect and signal like the pipeline).
    pub fn dispatch_config(&self, mut config: DispatchConfig) -> DispatchConfig {
        config.settings = self.signal;
        config.params.min_zone_pct = self.min_zone_pct;
        config
    }

    /// The notifier's knobs: the global topic only while it is enabled.
    pub fn notify_config(&self, config: NotifyConfig) -> NotifyConfig {
        NotifyConfig {
            global_topic: self
                .global_topic
                .as_ref()
                .filter(|_| self.global_topic_enabled)
                .map(|t| t.as_str().to_owned()),
            ..config
        }
    }

    /// The settings with `patch` applied.
    ///
    /// # Errors
    /// Every bad field, in field order.
    pub fn apply(&self, patch: &SettingsPatch) -> Result<Self, Vec<InvalidInput>> {
        let mut out = self.clone();
        let mut errors = Vec::new();
        if let Some(v) = patch.min_confluence {
            match usize::try_from(v).ok().filter(|v| (1..=7).contains(v)) {
                Some(v) => out.signal.min_confluence = v,
                None => errors.push(bad("min_confluence", "must be between 1 and 7")),
            }
        }
        if let Some(v) = patch.require_htf {
            out.signal.require_htf = v;
        }
        let mut num = |v: Option<f64>, min, max, field, msg, slot: &mut f64| {
            if let Some(v) = v {
                if in_range(v, min, max) {
                    *slot = v;
                } else {
                    errors.push(bad(field, msg));
                }
            }
        };
        num(
            patch.cooldown_hours,
            0.0,
            168.0,
            "cooldown_hours",
            "must be between 0 and 168",
            &mut out.signal.cooldown_hours,
        );
        num(
            patch.default_rr,
            0.5,
            20.0,
            "default_rr",
            "must be between 0.5 and 20",
            &mut out.signal.default_rr,
        );
        num(
            patch.min_risk_pct,
            0.0,
            10.0,
            "min_risk_pct",
            "must be between 0 and 10",
            &mut out.signal.min_risk_pct,
        );
        num(
            patch.min_zone_pct,
            0.0,
            10.0,
            "min_zone_pct",
            "must be between 0 and 10",
            &mut out.min_zone_pct,
        );
        match &patch.global_topic {
            None => {}
            Some(None) => out.global_topic = None,
            Some(Some(t)) => match GlobalTopic::parse(t) {
                Ok(t) => out.global_topic = Some(t),
                Err(e) => errors.push(e),
            },
        }
        if let Some(v) = patch.global_topic_enabled {
            out.global_topic_enabled = v;
        }
        if out.global_topic_enabled && out.global_topic.is_none() {
            errors.push(InvalidInput {
                field: "global_topic_enabled",
                code: "invalid_choice",
                message: "needs a global topic",
            });
        }
        if let Some(l) = &patch.log_level {
            match LogLevel::parse(l) {
                Ok(l) => out.log_level = l,
                Err(_) => errors.push(InvalidInput {
                    field: "log_level",
                    code: "invalid_choice",
                    message: "must be one of: debug, info, warn, error",
                }),
            }
        }
        for (i, t) in RetentionTarget::ALL.into_iter().enumerate() {
            match patch.retention[i] {
                None => {}
                Some(None) => out.retention[i] = None,
                Some(Some(d)) => match u32::try_from(d)
                    .ok()
                    .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
                {
                    Some(d) => out.retention[i] = Some(d),
                    None => errors.push(bad(
                        retention_field(t),
                        "must be between 1 and 3650 days, or null to keep forever",
                    )),
                },
            }
        }
        if let Some(b) = patch.batch_size {
            match u32::try_from(b)
                .ok()
                .filter(|b| (1..=MAX_BATCH).contains(b))
            {
                Some(b) => out.batch_size = b,
                None => errors.push(bad("retention_batch_size", "must be between 1 and 5000")),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Every stored key with its JSON text.
    pub fn to_rows(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                keys::MIN_CONFLUENCE.to_owned(),
                self.signal.min_confluence.to_string(),
            ),
            (
                keys::REQUIRE_HTF.to_owned(),
                self.signal.require_htf.to_string(),
            ),
            (
                keys::COOLDOWN_HOURS.to_owned(),
                json_f64(self.signal.cooldown_hours),
            ),
            (
                keys::DEFAULT_RR.to_owned(),
                json_f64(self.signal.default_rr),
            ),
            (
                keys::MIN_RISK_PCT.to_owned(),
                json_f64(self.signal.min_risk_pct),
            ),
            (keys::MIN_ZONE_PCT.to_owned(), json_f64(self.min_zone_pct)),
            (
                keys::GLOBAL_TOPIC.to_owned(),
                self.global_topic
                    .as_ref()
                    .map_or_else(|| "null".to_owned(), |t| json_str(t.as_str())),
            ),
            (
                keys::GLOBAL_TOPIC_ENABLED.to_owned(),
                self.global_topic_enabled.to_string(),
            ),
            (
                keys::LOG_LEVEL.to_owned(),
                json_str(self.log_level.as_str()),
            ),
        ];
        for (i, t) in RetentionTarget::ALL.into_iter().enumerate() {
            out.push((
                t.setting_key().to_owned(),
                self.retention[i].map_or_else(|| "null".to_owned(), |d| d.to_string()),
            ));
        }
        out.push((keys::BATCH_SIZE.to_owned(), self.batch_size.to_string()));
        out
    }

    /// The rows of `self` whose value differs from `before` (compared as typed values, so
    /// `3` and `3.0` are the same).
    pub fn changed(&self, before: &Self) -> Vec<(String, String)> {
        let old = before.to_rows();
        self.to_rows()
            .into_iter()
            .zip(old)
            .filter(|(new, old)| new.1 != old.1)
            .map(|(new, _)| new)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: &str, v: &str) -> SettingRow {
        SettingRow {
            key: k.into(),
            value: v.into(),
            updated_at: 0,
        }
    }

    #[test]
    fn the_seeded_rows_read_as_the_defaults() {
        let rows = [
            row("signal.min_confluence", "3"),
            row("signal.cooldown_hours", "4"),
            row("retention.payments_days", "null"),
            row("retention.logs_days", "30"),
            row("log.level", "\"info\""),
            row("notify.global_topic", "null"),
        ];
        assert_eq!(GlobalSettings::from_rows(&rows), GlobalSettings::default());
    }

    #[test]
    fn unreadable_rows_fall_back_to_defaults() {
        let rows = [
            row("signal.min_confluence", "99"),
            row("log.level", "\"loud\""),
            row("notify.global_topic", "\"bad topic!\""),
            row("notify.global_topic_enabled", "true"),
            row("retention.batch_size", "0"),
        ];
        let s = GlobalSettings::from_rows(&rows);
        assert_eq!(s, GlobalSettings::default());
    }

    #[test]
    fn a_patch_reports_every_bad_field_and_changes_nothing() {
        let s = GlobalSettings::default();
        let mut p = SettingsPatch {
            min_confluence: Some(8),
            cooldown_hours: Some(f64::NAN),
            default_rr: Some(0.0),
            min_risk_pct: Some(-1.0),
            min_zone_pct: Some(11.0),
            global_topic: Some(Some("no spaces".into())),
            log_level: Some("verbose".into()),
            batch_size: Some(5001),
            ..SettingsPatch::default()
        };
        p.retention[1] = Some(Some(0));
        p.retention[2] = Some(Some(3651));
        let errs = s.apply(&p).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "min_confluence",
                "cooldown_hours",
                "default_rr",
                "min_risk_pct",
                "min_zone_pct",
                "global_topic",
                "log_level",
                "retention_logs_days",
                "retention_cron_runs_days",
                "retention_batch_size"
            ]
        );
    }

    #[test]
    fn enabling_the_global_topic_needs_one() {
        let p = SettingsPatch {
            global_topic_enabled: Some(true),
            ..SettingsPatch::default()
        };
        let errs = GlobalSettings::default().apply(&p).unwrap_err();
        assert_eq!(errs[0].field, "global_topic_enabled");
        let p = SettingsPatch {
            global_topic: Some(Some("cryptolens-all_1".into())),
            global_topic_enabled: Some(true),
            ..SettingsPatch::default()
        };
        let s = GlobalSettings::default().apply(&p).unwrap();
        assert_eq!(
            s.global_topic().map(GlobalTopic::as_str),
            Some("cryptolens-all_1")
        );
        assert!(GlobalTopic::parse(&"a".repeat(65)).is_err());
        assert!(GlobalTopic::parse("").is_err());
    }

    #[test]
    fn only_changed_keys_are_written_and_they_round_trip() {
        let before = GlobalSettings::default();
        let mut p = SettingsPatch {
            min_confluence: Some(4),
            default_rr: Some(3.0),
            ..SettingsPatch::default()
        };
        p.retention[0] = Some(None);
        let after = before.apply(&p).unwrap();
        let changed = after.changed(&before);
        assert_eq!(
            changed,
            vec![
                ("signal.min_confluence".to_owned(), "4".to_owned()),
                ("retention.candles_1m_days".to_owned(), "null".to_owned()),
            ]
        );
        let rows: Vec<SettingRow> = after
            .to_rows()
            .into_iter()
            .map(|(k, v)| row(&k, &v))
            .collect();
        assert_eq!(GlobalSettings::from_rows(&rows), after);
        assert_eq!(after.retention(RetentionTarget::Candles1m), None);
        assert_eq!(after.retention(RetentionTarget::Logs), Some(30));
    }
}
