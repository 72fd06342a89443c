//! The pipeline job under the STORED global settings (issue #7): the tick reads them once
//! (`GlobalSettings::load`) and runs with `pipeline_config` / `notify_config`, exactly as the
//! worker wires it. A changed setting changes the signals; the global topic, when enabled,
//! gets ONE recorded broadcast per signal, sent by the dispatch step like an admin broadcast
//! (never twice, an outage leaves it queued for the next tick, listed for admins).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::clock::ManualClock;
use cl_app::cron::RunTrigger;
use cl_app::global_settings::GlobalSettings;
use cl_app::jobs::{
    run_pipeline_job_notifying, CandleSource, FetchFailure, Fetched, JobOutcome, PipelineJobConfig,
    PipelineReport,
};
use cl_app::notify::{
    NotificationSender, Notifier, NotifyConfig, OutgoingMessage, SendFailure, SignalNotifier,
};
use cl_app::notify_admin::{send_broadcasts, BroadcastBudget};
use cl_app::ports::broadcast_delivery::{BroadcastDeliveryStore, BroadcastState};
use cl_app::ports::{
    NewPattern, NewSymbol, PatternStore, SignalStore, StoredSignal, SymbolId, SymbolStore,
    TradeLevels,
};
use cl_domain::{Candle, Direction, PatternType, Timeframe, Zone};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::{Cell, RefCell};

const T0: i64 = 1_704_067_200_000;
const MIN: i64 = 60_000;
const AT: i64 = T0 + 10 * MIN;

/// One flat candle per minute from the last stored one.
struct Flat;

impl CandleSource for Flat {
    async fn fetch_since(
        &self,
        _symbol: &str,
        last: Option<i64>,
        start: i64,
        now: i64,
        _pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        let from = last.map_or(start, |t| t + MIN);
        let candles = (0..)
            .map(|k| from + k * MIN)
            .take_while(|t| *t < now - now.rem_euclid(MIN))
            .filter_map(|t| Candle::new(t, 100.0, 100.5, 99.5, 100.0, 1.0).ok())
            .collect();
        Ok(Fetched {
            candles,
            complete: true,
            ..Fetched::default()
        })
    }
}

/// Records what it sends; `down` answers "unavailable" (breaker open).
#[derive(Default)]
struct Ntfy {
    sent: RefCell<Vec<OutgoingMessage>>,
    down: Cell<bool>,
}

impl NotificationSender for Ntfy {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendFailure> {
        if self.down.get() {
            return Err(SendFailure::Unavailable("breaker open".into()));
        }
        self.sent.borrow_mut().push(m.clone());
        Ok(())
    }
}

/// BTC/USDT with three bullish imbalances far below the price (5m, 1h, 4h): confluence 3.
fn world() -> (MemoryStore, SymbolId) {
    let s = MemoryStore::new();
    let sym = block_on(s.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: T0,
        created_at: T0,
    }))
    .unwrap()
    .id;
    let new = |tf: Timeframe| NewPattern {
        symbol: sym,
        tf,
        pattern_type: PatternType::Imbalance,
        direction: Direction::Bullish,
        zone: Zone::new(90.0, 95.0).unwrap(),
        swept_level: None,
        detected_at: T0,
        expires_at: T0 + tf.expiry_ms(),
        levels: TradeLevels::default(),
        created_at: T0,
    };
    block_on(s.insert_patterns(&[new(Timeframe::M5), new(Timeframe::H1), new(Timeframe::H4)]))
        .unwrap();
    (s, sym)
}

/// One pipeline tick as the worker runs it: the settings read once, then the job.
fn tick(s: &MemoryStore, ntfy: &Ntfy, at: i64) -> PipelineReport {
    let global = block_on(GlobalSettings::load(s)).unwrap();
    let config = global.pipeline_config(PipelineJobConfig::default());
    let notifier = Notifier::new(s, ntfy, global.notify_config(NotifyConfig::default()));
    let clock = ManualClock::new(at);
    let (outcome, report) = block_on(run_pipeline_job_notifying(
        s,
        &Flat,
        &clock,
        || 0,
        &config,
        at,
        RunTrigger::Cron,
        &notifier,
    ))
    .unwrap();
    assert!(matches!(outcome, JobOutcome::Ran(_)), "{outcome:?}");
    report
}

fn signals(s: &MemoryStore, report: &PipelineReport) -> Vec<StoredSignal> {
    report
        .to_notify
        .iter()
        .map(|id| block_on(s.signal(*id)).unwrap().unwrap())
        .collect()
}

#[test]
fn the_stored_signal_settings_change_the_pipelines_signals() {
    // Defaults: one signal, R:R 3 (entry at the zone top 95, stop below it).
    let (a, _) = world();
    let ntfy = Ntfy::default();
    let by_default = signals(&a, &tick(&a, &ntfy, AT));
    assert_eq!(by_default.len(), 1, "a signal with the defaults");
    assert_eq!(by_default[0].confluence_score, 3);
    assert!((by_default[0].risk_reward - 3.0).abs() < 1e-9);

    // default_rr = 2: the same signal with R:R 2 and a nearer take-profit.
    let (b, _) = world();
    b.put_setting("signal.default_rr", "2");
    let rr2 = signals(&b, &tick(&b, &ntfy, AT));
    assert_eq!(rr2.len(), 1);
    assert!((rr2[0].risk_reward - 2.0).abs() < 1e-9);
    assert_eq!(rr2[0].entry, by_default[0].entry);
    assert!(rr2[0].tp3 < by_default[0].tp3 || rr2[0].tp1 < by_default[0].tp1);

    // min_confluence = 4: three agreeing TFs are not enough any more.
    let (c, _) = world();
    c.put_setting("signal.min_confluence", "4");
    let report = tick(&c, &ntfy, AT);
    assert!(report.to_notify.is_empty(), "no signal below the minimum");
    assert_eq!(report.counts.signals, 0);
}

#[test]
fn the_global_topic_setting_gives_one_recorded_broadcast_per_signal() {
    // A topic that is stored but switched off sends nothing.
    let (off, _) = world();
    off.put_setting("notify.global_topic", "\"cryptolens-all\"");
    off.put_setting("notify.global_topic_enabled", "false");
    let ntfy = Ntfy::default();
    let r = tick(&off, &ntfy, AT);
    assert_eq!(r.to_notify.len(), 1);
    assert!(block_on(off.broadcast_summaries(10)).unwrap().is_empty());

    let (s, _) = world();
    s.put_setting("notify.global_topic", "\"cryptolens-all\"");
    s.put_setting("notify.global_topic_enabled", "true");
    let r = tick(&s, &ntfy, AT);
    assert_eq!(r.counts.extra.get("notify.global_queued"), Some(&1));
    assert!(
        ntfy.sent.borrow().is_empty(),
        "the pipeline itself sends nothing inline"
    );
    let list = block_on(s.broadcast_summaries(10)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].audience.topics(), Some("cryptolens-all"));
    assert_eq!(list[0].title, "🟢 LONG BTC/USDT FVG 4h");
    assert_eq!(list[0].signal, Some(r.to_notify[0]));

    // A re-run of the same signal's fan-out (double trigger, re-run) queues nothing new.
    let global = block_on(GlobalSettings::load(&s)).unwrap();
    let again = Notifier::new(&s, &ntfy, global.notify_config(NotifyConfig::default()));
    assert_eq!(
        block_on(again.notify(&r.to_notify, AT + MIN)).global_queued,
        0
    );
    assert_eq!(block_on(s.broadcast_summaries(10)).unwrap().len(), 1);

    // ntfy down: the delivery stays queued for the next tick.
    ntfy.down.set(true);
    let d = block_on(send_broadcasts(
        &s,
        &ntfy,
        BroadcastBudget::default(),
        AT + MIN,
    ));
    assert_eq!((d.sent, d.deferred), (0, 1));
    assert_eq!(
        block_on(s.broadcast_summaries(10)).unwrap()[0].state,
        BroadcastState::Sending
    );

    // Back up: sent once, to the topic, and recorded; later ticks send nothing more.
    ntfy.down.set(false);
    let d = block_on(send_broadcasts(
        &s,
        &ntfy,
        BroadcastBudget::default(),
        AT + 2 * MIN,
    ));
    assert_eq!((d.sent, d.finished), (1, 1));
    let d = block_on(send_broadcasts(
        &s,
        &ntfy,
        BroadcastBudget::default(),
        AT + 3 * MIN,
    ));
    assert_eq!(d.sent, 0);
    let sent = ntfy.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "cryptolens-all");
    assert!(sent[0].body.contains("Entry"), "{}", sent[0].body);
    let row = &block_on(s.broadcast_summaries(10)).unwrap()[0];
    assert_eq!(
        (row.state, row.recipients, row.sent, row.failed),
        (BroadcastState::Done, 1, 1, 0)
    );
}
