//! [`MetricsStore`] over the in-memory state: the same counts the SQL stores compute in one
//! query. User notifications are counted by the notification state's own reader.

use crate::MemoryStore;
use cl_app::metrics::{MetricsStore, StoredMetrics};
use cl_app::ports::StoreError;
use cl_domain::PatternStatus;

impl MetricsStore for MemoryStore {
    async fn metrics_snapshot(&self) -> Result<StoredMetrics, StoreError> {
        let mut out = StoredMetrics::default();
        {
            let st = self.state.borrow();
            for p in st.patterns.values() {
                if p.status == PatternStatus::Active {
                    *out.active_patterns
                        .entry(p.pattern_type.as_str().to_owned())
                        .or_insert(0) += 1;
                }
            }
            for s in st.signals.values() {
                *out.signals.entry(s.status.as_str().to_owned()).or_insert(0) += 1;
            }
        }
        out.cron = self.cron.borrow().last_finished_runs();
        Ok(out)
    }
}
