//! The server's side of the Prometheus metrics: the WebSocket send counters, the
//! process collector, and the series read at scrape time (rows per table, clients,
//! subscriptions from each database's actor; commit log size and snapshot age from its
//! replica directory). [`render`] gathers them with the engine's registry
//! ([`spacetime_engine::metrics`]) into the text exposition format.

use crate::state::AppState;
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use spacetime_engine::metrics as engine;
use std::path::Path;
use std::sync::LazyLock;
use std::time::SystemTime;

/// Families registered once per process.
struct ProcessWide {
    messages_sent: IntCounterVec,
    bytes_sent: IntCounterVec,
    /// Process memory and CPU (`process_resident_memory_bytes`, …), read from /proc.
    process: Registry,
}

static PROCESS_WIDE: LazyLock<Option<ProcessWide>> = LazyLock::new(|| {
    let setup = || -> Result<ProcessWide, prometheus::Error> {
        let messages_sent = IntCounterVec::new(
            Opts::new(
                "spacetime_ws_messages_sent_total",
                "Server messages written to WebSocket clients, by database.",
            ),
            &["database"],
        )?;
        let bytes_sent = IntCounterVec::new(
            Opts::new(
                "spacetime_ws_bytes_sent_total",
                "Bytes of server messages written to WebSocket clients (before framing), by database.",
            ),
            &["database"],
        )?;
        let process = Registry::new();
        #[cfg(target_os = "linux")]
        process.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        Ok(ProcessWide {
            messages_sent,
            bytes_sent,
            process,
        })
    };
    setup()
        .inspect_err(|e| log::error!("cannot set up the server's metrics: {e}"))
        .ok()
});

/// The send counters of one database, looked up once per connection.
pub(crate) struct SentCounters {
    messages: IntCounter,
    bytes: IntCounter,
}

impl SentCounters {
    /// The counters of `database` (its identity's label), if metrics are set up.
    pub(crate) fn of(database: spacetime_sats::Identity) -> Option<Self> {
        let wide = PROCESS_WIDE.as_ref()?;
        let label = engine::label(database);
        Some(Self {
            messages: wide.messages_sent.with_label_values(&[&label]),
            bytes: wide.bytes_sent.with_label_values(&[&label]),
        })
    }

    /// Counts `messages` messages of `bytes` bytes written.
    pub(crate) fn sent(&self, messages: usize, bytes: usize) {
        self.messages.inc_by(messages as u64);
        self.bytes.inc_by(bytes as u64);
    }
}

/// The scrape-time gauges, filled anew on each scrape.
struct Gauges {
    registry: Registry,
    rows: IntGaugeVec,
    clients: IntGaugeVec,
    subscriptions: IntGaugeVec,
    views: IntGaugeVec,
    log_size: IntGaugeVec,
    snapshot_age: IntGaugeVec,
}

impl Gauges {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
            let vec = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(vec.clone()))?;
            Ok(vec)
        };
        Ok(Self {
            rows: gauge(
                "spacetime_table_rows",
                "Rows in each table, by database and table.",
                &["database", "table"],
            )?,
            clients: gauge(
                "spacetime_connected_clients",
                "Connected WebSocket clients, by database.",
                &["database"],
            )?,
            subscriptions: gauge(
                "spacetime_subscriptions",
                "Query sets the connected clients subscribed to, by database.",
                &["database"],
            )?,
            views: gauge(
                "spacetime_view_materialisations",
                "Per-caller view materialisations held (one per caller and view, or per call of a view with \
                 parameters), by database; released once no subscription reads them.",
                &["database"],
            )?,
            log_size: gauge(
                "spacetime_commitlog_size_bytes",
                "Bytes of commit log segments on disk, by database.",
                &["database"],
            )?,
            snapshot_age: gauge(
                "spacetime_snapshot_age_seconds",
                "Seconds since the newest snapshot was written, by database (absent without one).",
                &["database"],
            )?,
            registry,
        })
    }
}

/// Everything in the Prometheus text exposition format (version 0.0.4).
///
/// # Errors
/// When a family cannot be built or encoded (a bug: names and labels are fixed).
pub(crate) async fn render(state: &AppState) -> Result<String, prometheus::Error> {
    let gauges = Gauges::new()?;
    for record in state.registry().all() {
        // Whatever copy runs here, a cluster standby's too: gauges are not answers
        // that need the lease.
        let Some(database) = state.databases().get(record.database_identity) else {
            continue;
        };
        let label = engine::label(record.database_identity);
        if let Ok(stats) = database.stats().await {
            for (table, rows) in &stats.tables {
                gauges.rows.with_label_values(&[&label, table]).set(clamp(*rows));
            }
            gauges
                .clients
                .with_label_values(&[&label])
                .set(clamp(stats.clients as u64));
            gauges
                .subscriptions
                .with_label_values(&[&label])
                .set(clamp(stats.subscriptions as u64));
            gauges
                .views
                .with_label_values(&[&label])
                .set(clamp(stats.view_materialisations as u64));
        }
        if !state.config().in_memory {
            let dir = state.config().replica_dir(record.replica_id);
            let (log_bytes, _) = files_under(&dir.join("clog"), spacetime_commitlog::SEGMENT_SUFFIX);
            gauges.log_size.with_label_values(&[&label]).set(clamp(log_bytes));
            let (_, newest) = files_under(&dir.join("snapshots"), spacetime_commitlog::SNAPSHOT_SUFFIX);
            if let Some(age) = newest.and_then(|t| SystemTime::now().duration_since(t).ok()) {
                gauges
                    .snapshot_age
                    .with_label_values(&[&label])
                    .set(clamp(age.as_secs()));
            }
        }
    }
    let mut families = gauges.registry.gather();
    if let Some(m) = engine::metrics() {
        families.extend(m.registry.gather());
    }
    if let Some(wide) = PROCESS_WIDE.as_ref() {
        families.extend(wide.process.gather());
        let mut sent = Vec::new();
        for vec in [&wide.messages_sent, &wide.bytes_sent] {
            sent.extend(prometheus::core::Collector::collect(vec));
        }
        families.extend(sent.into_iter().filter(|f| !f.get_metric().is_empty()));
    }
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The total size of the files in `dir` whose names end with `suffix`, and the newest
/// one's modification time. A missing directory is empty.
fn files_under(dir: &Path, suffix: &str) -> (u64, Option<SystemTime>) {
    let mut total = 0;
    let mut newest = None;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, None);
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().ends_with(suffix) {
            continue;
        }
        if let Ok(meta) = entry.metadata() {
            total += meta.len();
            newest = newest.max(meta.modified().ok());
        }
    }
    (total, newest)
}
