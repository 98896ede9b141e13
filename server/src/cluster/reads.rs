//! Reads on a reader node (design §8): how fresh its copy of a database is, and
//! whether a read may be answered from it.
//!
//! - The lag: a thread reads each followed database's `head` in etcd every
//!   [`LAG_POLL`] and compares it with what this node has applied. The lag in time is
//!   how long ago the cluster had committed only what this node now holds: the age of
//!   the oldest head seen that this node has not applied yet (0 when caught up).
//! - [`Consistency`]: what a SQL read asks for (`?consistency=`). `local` answers
//!   from this node's copy as it is; `bounded=<ms>` (and the default, with the node's
//!   `max_read_lag`) only while the lag is within the bound, else the read goes to the
//!   leader; `linearizable` reads `head` from etcd and waits until this node has
//!   applied it (a read index), so it sees every write acknowledged before it began.
//!   New subscriptions obey the node's bound as a default read does.

use super::ClusterNode;
use crate::state::AppState;
use spacetime_sats::Identity;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the lag thread reads each followed database's head.
pub const LAG_POLL: Duration = Duration::from_millis(100);

/// How long a linearizable read waits for this node to apply the head.
pub const LINEARIZABLE_WAIT: Duration = Duration::from_secs(5);

/// How long the lag thread keeps head samples that this node has not applied yet
/// (past that, the read is refused anyway).
const MAX_SAMPLES: usize = 1024;

/// What a SQL read on a follower asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// No `consistency` given: bounded by the node's configured `max_read_lag`.
    Default,
    /// `local`: this node's copy as it is.
    Local,
    /// `bounded=<ms>`: this node's copy if it lags at most this much, else the leader.
    Bounded(Duration),
    /// `linearizable`: wait until this node holds everything committed when the
    /// read began.
    Linearizable,
}

impl Consistency {
    /// The `consistency` query parameter.
    ///
    /// # Errors
    /// A message naming the allowed values.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        let Some(value) = value else {
            return Ok(Self::Default);
        };
        let bad = || {
            format!(
                "`consistency` is `{value}`, but it must be `local`, `bounded=<milliseconds>` (e.g. bounded=500) or \
                 `linearizable`"
            )
        };
        match value {
            "local" => Ok(Self::Local),
            "linearizable" => Ok(Self::Linearizable),
            _ => {
                let ms = value
                    .strip_prefix("bounded=")
                    .or_else(|| value.strip_prefix("bounded:"))
                    .ok_or_else(bad)?;
                let ms = ms.strip_suffix("ms").unwrap_or(ms);
                ms.parse::<u64>()
                    .map(|ms| Self::Bounded(Duration::from_millis(ms)))
                    .map_err(|_| bad())
            }
        }
    }
}

/// How far behind the cluster this node's copy of a database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// The cluster's head when last read.
    pub head: Option<u64>,
    /// The last tx offset this node has applied.
    pub applied: Option<u64>,
    /// How long ago the cluster had committed only what this node holds.
    pub behind: Duration,
    /// When it was measured.
    pub at: Instant,
}

impl Lag {
    /// Transactions committed in the cluster and not yet applied here.
    pub fn behind_tx(&self) -> u64 {
        match (self.head, self.applied) {
            (Some(head), Some(applied)) => head.saturating_sub(applied),
            (Some(head), None) => head + 1,
            _ => 0,
        }
    }

    /// The lag as `GET /v1/database/:db` on a reader shows it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "head": self.head,
            "applied": self.applied,
            "behind_tx": self.behind_tx(),
            "lag_ms": self.now().as_millis() as u64,
        })
    }

    /// The lag now: what was measured plus the time since, unless it was caught up.
    pub fn now(&self) -> Duration {
        if self.behind_tx() == 0 {
            Duration::ZERO
        } else {
            self.behind + self.at.elapsed()
        }
    }
}

/// The head samples of one database not yet applied here, oldest first.
#[derive(Default)]
struct Samples {
    unapplied: VecDeque<(u64, Instant)>,
}

impl Samples {
    /// Adds the `head` read now and returns the lag given `applied`.
    fn observe(&mut self, head: Option<u64>, applied: Option<u64>, now: Instant) -> Lag {
        if let Some(head) = head {
            if self.unapplied.back().is_none_or(|(last, _)| *last < head) {
                self.unapplied.push_back((head, now));
                if self.unapplied.len() > MAX_SAMPLES {
                    self.unapplied.pop_front();
                }
            }
        }
        while self
            .unapplied
            .front()
            .is_some_and(|(h, _)| applied.is_some_and(|a| a >= *h))
        {
            self.unapplied.pop_front();
        }
        let behind = self
            .unapplied
            .front()
            .map_or(Duration::ZERO, |(_, seen)| now.saturating_duration_since(*seen));
        Lag {
            head,
            applied,
            behind,
            at: now,
        }
    }
}

/// Each followed database's lag, as the lag thread last measured it.
#[derive(Default)]
pub(super) struct Lags {
    measured: std::sync::Mutex<HashMap<Identity, Lag>>,
}

impl Lags {
    pub(super) fn get(&self, identity: Identity) -> Option<Lag> {
        self.lock().get(&identity).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Lag>> {
        self.measured.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Measures the lag of every database this node follows, every [`LAG_POLL`], for the
/// life of the process (a reader's thread).
pub(super) fn lag_loop(node: &Arc<ClusterNode>, state: &AppState) {
    let mut samples: HashMap<Identity, Samples> = HashMap::new();
    let mut last_error = None;
    loop {
        let followed: Vec<Identity> = node.lock_following().keys().copied().collect();
        samples.retain(|id, _| followed.contains(id));
        let mut measured = HashMap::new();
        for identity in followed {
            let head = match node.cluster.head(&node.keys(identity)) {
                Ok(head) => head,
                Err(e) => {
                    let why = e.to_string();
                    if last_error.as_ref() != Some(&why) {
                        log::warn!("database {identity}: cannot read the cluster's head to measure lag: {why}");
                    }
                    last_error = Some(why);
                    continue;
                }
            };
            let applied = applied(state, identity);
            let lag = samples
                .entry(identity)
                .or_default()
                .observe(head, applied, Instant::now());
            measured.insert(identity, lag);
        }
        *node.lags.lock() = measured;
        std::thread::sleep(LAG_POLL);
    }
}

/// Why a read is not answered from this node's copy.
#[derive(Debug, thiserror::Error)]
pub enum ReadRefusal {
    /// The copy lags more than the read allows: the leader answers it.
    #[error(
        "this node ({node}) is a reader whose copy of the database lags {lag_ms} ms behind the leader, more than \
         the {bound_ms} ms this read allows; ask the leader at {leader}"
    )]
    Lagging {
        /// This node.
        node: String,
        /// The lag.
        lag_ms: u128,
        /// The bound.
        bound_ms: u128,
        /// The leader's address.
        leader: String,
    },
    /// A linearizable read could not be served in time.
    #[error(
        "this node ({node}) could not serve a linearizable read: {why}; retry, or read with consistency=local or \
         bounded=<ms>"
    )]
    NotLinearizable {
        /// This node.
        node: String,
        /// Why.
        why: String,
    },
}

/// Whether a read of database `identity` with `consistency` may be answered from this
/// reader's copy (waiting, for a linearizable read, until it may).
///
/// # Errors
/// [`ReadRefusal`]: a lagging copy names the leader to redirect to.
pub async fn admit(
    state: &AppState,
    node: &Arc<ClusterNode>,
    identity: Identity,
    consistency: Consistency,
) -> Result<(), ReadRefusal> {
    let bound = match consistency {
        Consistency::Local => return Ok(()),
        Consistency::Linearizable => return linearizable(state, node, identity).await,
        Consistency::Default => node.config.max_read_lag,
        Consistency::Bounded(bound) => bound,
    };
    // Not measured yet (the node just started following): as lagging as can be.
    let lag = node.lags.get(identity).map_or(Duration::MAX, |lag| lag.now());
    if lag <= bound {
        return Ok(());
    }
    Err(ReadRefusal::Lagging {
        node: node.config.node_id.clone(),
        lag_ms: lag.as_millis(),
        bound_ms: bound.as_millis(),
        leader: node
            .following(identity)
            .map_or_else(|| "(unknown yet)".into(), |l| l.addr),
    })
}

/// A read index: the head in etcd now, then wait until this node has applied it.
async fn linearizable(state: &AppState, node: &Arc<ClusterNode>, identity: Identity) -> Result<(), ReadRefusal> {
    let refusal = |why: String| ReadRefusal::NotLinearizable {
        node: node.config.node_id.clone(),
        why,
    };
    let reader = node.clone();
    let head = tokio::task::spawn_blocking(move || reader.cluster.head(&reader.keys(identity)))
        .await
        .map_err(|e| refusal(format!("the etcd read failed: {e}")))?
        .map_err(|e| refusal(format!("cannot read the cluster's head from etcd: {e}")))?;
    let Some(head) = head else {
        return Ok(());
    };
    wait_applied(state, identity, head, LINEARIZABLE_WAIT)
        .await
        .map_err(refusal)
}

/// The last tx offset this node's copy of database `identity` has applied.
pub fn applied(state: &AppState, identity: Identity) -> Option<u64> {
    state.databases().get(identity)?.applied()?.get()
}

/// Waits until this node's copy of database `identity` has applied tx `offset`.
///
/// # Errors
/// Why not within `patience`.
pub async fn wait_applied(state: &AppState, identity: Identity, offset: u64, patience: Duration) -> Result<(), String> {
    let database = state
        .databases()
        .get(identity)
        .ok_or_else(|| "the database is not running on this node".to_owned())?;
    let mut applied = database
        .applied()
        .ok_or_else(|| "this node's copy of the database does not follow the cluster's log".to_owned())?;
    match tokio::time::timeout(patience, applied.wait_for(offset)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "it had applied up to tx offset {} after {} ms, not yet {offset}",
            applied.get().map_or_else(|| "none".into(), |a| a.to_string()),
            patience.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_values_and_a_bad_one_naming_the_allowed_values() {
        assert_eq!(Consistency::parse(None), Ok(Consistency::Default));
        assert_eq!(Consistency::parse(Some("local")), Ok(Consistency::Local));
        assert_eq!(Consistency::parse(Some("linearizable")), Ok(Consistency::Linearizable));
        assert_eq!(
            Consistency::parse(Some("bounded=250")),
            Ok(Consistency::Bounded(Duration::from_millis(250)))
        );
        assert_eq!(
            Consistency::parse(Some("bounded=250ms")),
            Ok(Consistency::Bounded(Duration::from_millis(250)))
        );
        for bad in ["strong", "bounded", "bounded=", "bounded=-1", "LOCAL"] {
            let message = Consistency::parse(Some(bad)).expect_err(bad);
            assert!(
                message.contains("`local`")
                    && message.contains("bounded=<milliseconds>")
                    && message.contains("`linearizable`"),
                "{message}"
            );
        }
    }

    #[test]
    fn lag_is_the_age_of_the_oldest_head_not_applied() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut samples = Samples::default();
        // Caught up: no lag.
        let lag = samples.observe(Some(10), Some(10), at(0));
        assert_eq!((lag.behind, lag.behind_tx()), (Duration::ZERO, 0));
        // The head moves on; this node holds only 10.
        let lag = samples.observe(Some(15), Some(10), at(100));
        assert_eq!((lag.behind, lag.behind_tx()), (Duration::ZERO, 5));
        let lag = samples.observe(Some(20), Some(12), at(300));
        assert_eq!((lag.behind, lag.behind_tx()), (Duration::from_millis(200), 8));
        // Applied 15, the head seen at 100 ms: the oldest not applied is 20, seen at 300 ms.
        let lag = samples.observe(Some(20), Some(15), at(350));
        assert_eq!((lag.behind, lag.behind_tx()), (Duration::from_millis(50), 5));
        let lag = samples.observe(Some(20), Some(20), at(400));
        assert_eq!((lag.behind, lag.now()), (Duration::ZERO, Duration::ZERO));
        // Nothing committed yet, nothing applied.
        let lag = Samples::default().observe(None, None, at(0));
        assert_eq!(lag.behind_tx(), 0);
    }
}
