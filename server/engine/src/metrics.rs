//! The engine's Prometheus metrics: counters and histograms updated where things happen
//! (a reducer call, the commit funnel, a commit log fsync), in one registry the server's
//! `GET /metrics` gathers together with what it asks each database at scrape time
//! ([`crate::Database::stats`]). Series are labelled by `database` (the identity in
//! hex) and, for reducers, `reducer`.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use spacetime_host::ReducerOutcome;
use spacetime_sats::Identity;
use std::sync::LazyLock;
use std::time::Duration;

/// The metric families of the engine.
pub struct EngineMetrics {
    /// The registry holding them; the server adds its own families to it.
    pub registry: Registry,
    reducer_calls: IntCounterVec,
    reducer_errors: IntCounterVec,
    reducer_duration: HistogramVec,
    committed_transactions: IntCounterVec,
    fsync_duration: HistogramVec,
}

/// Latency buckets from 100 µs to 10 s: reducers and fsyncs both span that range.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0,
];

impl EngineMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
            let vec = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(vec.clone()))?;
            Ok(vec)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| -> Result<HistogramVec, prometheus::Error> {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            let vec = HistogramVec::new(opts, labels)?;
            registry.register(Box::new(vec.clone()))?;
            Ok(vec)
        };
        Ok(Self {
            reducer_calls: counter(
                "spacetime_reducer_calls_total",
                "Reducer calls, by database and reducer (client calls and scheduled ones).",
                &["database", "reducer"],
            )?,
            reducer_errors: counter(
                "spacetime_reducer_errors_total",
                "Reducer calls that failed (an error returned, a panic or a trap), by database and reducer.",
                &["database", "reducer"],
            )?,
            reducer_duration: histogram(
                "spacetime_reducer_duration_seconds",
                "How long reducer calls ran, by database and reducer.",
                &["database", "reducer"],
            )?,
            committed_transactions: counter(
                "spacetime_committed_transactions_total",
                "Transactions committed, by database.",
                &["database"],
            )?,
            fsync_duration: histogram(
                "spacetime_commitlog_fsync_duration_seconds",
                "How long each commit log fsync took, by database.",
                &["database"],
            )?,
            registry,
        })
    }

    /// Records one reducer call of `database` and how it went.
    pub fn reducer_called(&self, database: &str, reducer: &str, outcome: &ReducerOutcome) {
        let labels = [database, reducer];
        self.reducer_calls.with_label_values(&labels).inc();
        if outcome.result.is_err() {
            self.reducer_errors.with_label_values(&labels).inc();
        }
        self.reducer_duration
            .with_label_values(&labels)
            .observe(outcome.duration.as_secs_f64());
    }

    /// Records a committed transaction of `database`.
    pub fn committed(&self, database: &str) {
        self.committed_transactions.with_label_values(&[database]).inc();
    }

    /// The fsync latency histogram of `database`, for its commit log writer.
    pub fn fsync_histogram(&self, database: &str) -> Histogram {
        self.fsync_duration.with_label_values(&[database])
    }
}

static METRICS: LazyLock<Option<EngineMetrics>> = LazyLock::new(|| match EngineMetrics::new() {
    Ok(metrics) => Some(metrics),
    Err(e) => {
        log::error!("cannot set up the engine's metrics: {e}");
        None
    }
});

/// The engine's metrics; `None` only if their registration failed (logged once), in
/// which case nothing is recorded and the server keeps running.
pub fn metrics() -> Option<&'static EngineMetrics> {
    METRICS.as_ref()
}

/// The `database` label of `identity`.
pub fn label(identity: Identity) -> String {
    identity.to_string()
}

/// Records a reducer call if metrics are set up.
pub(crate) fn reducer_called(database: &str, reducer: &str, outcome: &ReducerOutcome) {
    if let Some(m) = metrics() {
        m.reducer_called(database, reducer, outcome);
    }
}

/// Records a commit if metrics are set up.
pub(crate) fn committed(database: &str) {
    if let Some(m) = metrics() {
        m.committed(database);
    }
}

/// A hook for the commit log writer that records each fsync's duration.
pub(crate) fn fsync_observer(database: &str) -> Option<impl Fn(Duration) + Send + Sync + 'static> {
    let histogram = metrics()?.fsync_histogram(database);
    Some(move |took: Duration| histogram.observe(took.as_secs_f64()))
}

/// What a database reports at scrape time, read by its actor between requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseStats {
    /// Each table's name and row count.
    pub tables: Vec<(String, u64)>,
    /// Connected WebSocket clients.
    pub clients: usize,
    /// Their query sets (subscriptions), in all.
    pub subscriptions: usize,
    /// Per-caller view materialisations (one per caller and view, or per call of a
    /// view with parameters) held now; they are released once nobody uses them.
    pub view_materialisations: usize,
}

impl crate::actor::Actor {
    /// The database's [`DatabaseStats`] now.
    pub(crate) fn stats(&self) -> DatabaseStats {
        let ds = &self.db.datastore;
        // The module's tables only: views' backing tables (system tables, one per
        // caller for a per-caller view) would make a series per caller.
        let tables = ds
            .tables()
            .filter(|t| t.def.table_type == spacetime_sats::def::raw::TableType::User)
            .map(|t| (t.def.name.to_string(), ds.row_count(t.table_id).unwrap_or(0)))
            .collect();
        let (clients, subscriptions) = self.db.subscriptions.counts();
        DatabaseStats {
            tables,
            clients,
            subscriptions,
            view_materialisations: self.db.views.on_demand(),
        }
    }
}
