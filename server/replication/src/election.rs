//! Leader election (design §6) with fencing through the epoch (§5): a candidate
//! takes the leader key under its lease and increments the epoch in one `Txn`
//!
//! ```text
//! If   create_revision(leader) == 0  AND  value(epoch) == E   (or: epoch absent)
//! Then put(leader, {node, epoch: E+1, addr}, lease), put(epoch, E+1)
//! Else get(leader)
//! ```
//!
//! The winner keeps its lease alive; it may serve confirmed reads only while the
//! lease is valid by its own clock ([`Leadership::lease_valid`]). Its appends carry
//! the new epoch, so once another node is elected, every append of the old leader
//! is fenced and its commit log writer stops.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::{number, parse_number, DbKeys};
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who leads a database, as its leader key says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The leader's node id.
    pub node: String,
    /// The epoch it was elected in.
    pub epoch: u64,
    /// Where it serves clients (`host:port`).
    pub addr: String,
}

/// The result of [`Cluster::campaign`].
#[derive(Debug)]
pub enum Campaign {
    /// This node leads now.
    Won(Leadership),
    /// Another node leads (or won the race); its leader key, if it could be read.
    Lost(Option<LeaderInfo>),
}

/// The part of a lease validity this node does not count on: clock-rate drift
/// between it and etcd, and the time its keepalive took to arrive.
const LEASE_SAFETY_MARGIN: Duration = Duration::from_millis(500);

/// This node's leadership of one database: its epoch and its lease, kept alive in
/// the background until [`Leadership::resign`] or drop.
#[derive(Debug)]
pub struct Leadership {
    cluster: Cluster,
    keys: DbKeys,
    info: LeaderInfo,
    lease: i64,
    /// Until when the lease is certainly valid, shared with the keepalive task and
    /// every [`LeaseCheck`].
    validity: Arc<Mutex<Validity>>,
    keepalive: tokio::task::JoinHandle<()>,
}

/// A lease's validity by this node's monotonic clock.
#[derive(Debug)]
struct Validity {
    /// Until when the lease is certainly valid.
    until: Instant,
    /// Set when the leadership is resigned or dropped: from then on the lease counts
    /// as invalid whatever `until` says, and a keepalive answer still in flight (the
    /// task's abort is asynchronous) cannot extend it.
    ended: bool,
}

impl Validity {
    fn valid(&self) -> bool {
        !self.ended && Instant::now() < self.until
    }
}

/// Reads a lease's validity (a poisoned lock still holds a consistent value: every
/// writer sets plain fields).
fn lock(validity: &Mutex<Validity>) -> std::sync::MutexGuard<'_, Validity> {
    validity.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cluster {
    /// Campaigns for the leadership of the database with `keys`: this node (`node`,
    /// serving at `addr`) wins if no leader key exists, and then holds it under a
    /// lease of `ttl` (whole seconds, at least 1) and the epoch is one higher.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn campaign(&self, keys: &DbKeys, node: &str, addr: &str, ttl: Duration) -> Result<Campaign> {
        let ttl_secs = ttl.as_secs().max(1);
        let (mut client, mut reader) = (self.client(), self.client());
        let sent = Instant::now();
        // Both at once: a campaign's round trips are most of a planned handover.
        let (lease, read) = self.run("grant a leader lease and read the epoch", async {
            tokio::try_join!(
                client.lease_grant(ttl_secs as i64, None),
                reader.get(keys.epoch(), None)
            )
        })?;
        let epoch = read
            .kvs()
            .first()
            .map(|kv| parse_number(&keys.epoch(), kv.value()))
            .transpose()?;
        let next = epoch.unwrap_or(0) + 1;
        let info = LeaderInfo {
            node: node.to_owned(),
            epoch: next,
            addr: addr.to_owned(),
        };
        let value = serde_json::to_vec(&info).expect("a LeaderInfo always serializes");
        let epoch_compare = match epoch {
            Some(e) => Compare::value(keys.epoch(), CompareOp::Equal, number(e)),
            None => Compare::create_revision(keys.epoch(), CompareOp::Equal, 0),
        };
        let txn = Txn::new()
            .when([
                Compare::create_revision(keys.leader(), CompareOp::Equal, 0),
                epoch_compare,
            ])
            .and_then([
                TxnOp::put(keys.leader(), value, Some(PutOptions::new().with_lease(lease.id()))),
                TxnOp::put(keys.epoch(), number(next), None),
            ])
            .or_else([TxnOp::get(keys.leader(), None)]);
        let resp = self.run("campaign", client.txn(txn))?;
        if !resp.succeeded() {
            // Not ours to keep; it would expire by itself, but need not wait.
            let _ = self.run("revoke an unused lease", client.lease_revoke(lease.id()));
            let leader = resp.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().and_then(|kv| serde_json::from_slice(kv.value()).ok()),
                _ => None,
            });
            return Ok(Campaign::Lost(leader));
        }
        let ttl = Duration::from_secs(ttl_secs);
        let validity = Arc::new(Mutex::new(Validity {
            until: sent + ttl.saturating_sub(LEASE_SAFETY_MARGIN),
            ended: false,
        }));
        let keepalive = self.spawn(keep_alive(
            self.client(),
            lease.id(),
            keys.leader(),
            ttl,
            validity.clone(),
        ));
        log::info!("database {}: node {node} elected leader in epoch {next}", keys.leader());
        Ok(Campaign::Won(Leadership {
            cluster: self.clone(),
            keys: keys.clone(),
            info,
            lease: lease.id(),
            validity,
            keepalive,
        }))
    }

    /// The current leader of the database, if any.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`] for a leader key this
    /// crate did not write.
    pub fn leader(&self, keys: &DbKeys) -> Result<Option<LeaderInfo>> {
        let mut client = self.client();
        let resp = self.run("read the leader", client.get(keys.leader(), None))?;
        resp.kvs()
            .first()
            .map(|kv| {
                serde_json::from_slice(kv.value()).map_err(|_| ReplicationError::BadValue {
                    key: keys.leader(),
                    value: String::from_utf8_lossy(kv.value()).into_owned(),
                    expected: "a leader record {node, epoch, addr}",
                })
            })
            .transpose()
    }
}

/// Renews the lease every third of its TTL; each renewal that a linearizable read
/// confirms extends the validity to the time the keepalive was sent plus the TTL
/// granted, less the safety margin.
///
/// A keepalive answer alone is no proof: etcd's leader renews leases in memory,
/// without its quorum, and etcd before 3.4.25/3.5.8 (Debian ships 3.4.23) lets a
/// leader cut off from its quorum go on renewing until it notices, while the majority
/// side elects another etcd leader, lets the lease expire and elects another of our
/// nodes (etcd issue 15247). So each renewal is followed by a linearizable read of
/// the leader key, which only an etcd leader in contact with its quorum answers: the
/// renewal counts only if the key is still held under this lease and the read comes
/// from the same raft term as the renewal (the same etcd leader, whose renewal the
/// lease's expiry then reflects). A key gone or held under another lease ends the
/// renewals: this node no longer leads.
async fn keep_alive(
    mut client: etcd_client::Client,
    lease: i64,
    leader_key: String,
    ttl: Duration,
    validity: Arc<Mutex<Validity>>,
) {
    let mut tick = tokio::time::interval(ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stream = None;
    loop {
        tick.tick().await;
        if stream.is_none() {
            stream = client.lease_keep_alive(lease).await.ok();
        }
        let Some((keeper, responses)) = stream.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        let answer = match keeper.keep_alive().await {
            Ok(()) => tokio::time::timeout(ttl / 3, responses.message()).await,
            Err(_) => Ok(Ok(None)),
        };
        match answer {
            Ok(Ok(Some(resp))) if resp.ttl() > 0 => {
                let renewed_in = resp.header().map(|h| h.raft_term());
                let read = tokio::time::timeout(ttl / 3, client.get(leader_key.as_str(), None)).await;
                let confirmed_in = match read {
                    Ok(Ok(get)) => match get.kvs().first() {
                        Some(kv) if kv.lease() == lease => get.header().map(|h| h.raft_term()),
                        // The key expired, or another node holds it: not the leader.
                        _ => return,
                    },
                    // No quorum answered: this renewal proves nothing.
                    _ => None,
                };
                if confirmed_in.is_none() || confirmed_in != renewed_in {
                    continue;
                }
                let granted = Duration::from_secs(resp.ttl() as u64);
                let until = sent + granted.saturating_sub(LEASE_SAFETY_MARGIN);
                let mut validity = lock(&validity);
                if validity.ended {
                    return;
                }
                validity.until = validity.until.max(until);
            }
            // TTL 0: the lease is gone; this node is no longer the leader.
            Ok(Ok(Some(_))) => return,
            // A broken stream is opened again on the next tick.
            _ => stream = None,
        }
    }
}

/// A handle on a [`Leadership`]'s lease validity that request paths can hold and
/// check cheaply (see [`Leadership::lease_valid`]); it turns invalid for good the
/// moment the leadership is resigned or dropped (before its leader key is deleted),
/// so a handle taken when a request was admitted never vouches for a later answer.
#[derive(Debug, Clone)]
pub struct LeaseCheck {
    validity: Arc<Mutex<Validity>>,
    epoch: u64,
}

impl LeaseCheck {
    /// Whether the lease is certainly still valid by this node's clock.
    pub fn valid(&self) -> bool {
        lock(&self.validity).valid()
    }

    /// The epoch of the leadership this lease belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

impl Leadership {
    /// A handle on this leadership's lease validity.
    pub fn lease_check(&self) -> LeaseCheck {
        LeaseCheck {
            validity: self.validity.clone(),
            epoch: self.info.epoch,
        }
    }

    /// The epoch this node leads in: what its commit log writer writes and its
    /// appends are fenced by.
    pub fn epoch(&self) -> u64 {
        self.info.epoch
    }

    /// The leader record this node wrote.
    pub fn info(&self) -> &LeaderInfo {
        &self.info
    }

    /// The lease id.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Whether the lease is certainly still valid by this node's clock, so no other
    /// node can have been elected: confirmed reads may be served only while it is.
    pub fn lease_valid(&self) -> bool {
        lock(&self.validity).valid()
    }

    /// Ends the lease's validity here for good: no request may count on it any more.
    fn end(&self) {
        self.keepalive.abort();
        lock(&self.validity).ended = true;
    }

    /// Steps down (a planned handover): stops renewing and ends the lease's validity
    /// here (every [`LeaseCheck`] turns invalid), then deletes the leader key if it is
    /// still ours and revokes the lease, so another node can campaign at once; no
    /// request here counts on the lease once another node can be elected.
    /// The epoch stays: the next leader increments it, which fences this node.
    ///
    /// # Errors
    /// etcd errors and timeouts (the lease then expires by itself).
    pub fn resign(self) -> Result<()> {
        self.end();
        let mut client = self.cluster.client();
        let txn = Txn::new()
            .when([Compare::lease(self.keys.leader(), CompareOp::Equal, self.lease)])
            .and_then([TxnOp::delete(self.keys.leader(), None)]);
        self.cluster.run("resign", client.txn(txn))?;
        self.cluster
            .run("revoke the leader lease", client.lease_revoke(self.lease))
            .map(drop)
            .or_else(|e| match e {
                // Already expired: nothing left to revoke.
                ReplicationError::Etcd { .. } => Ok(()),
                other => Err(other),
            })
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Without renewals the lease, and with it the leader key, expires after its
        // TTL; nothing here counts on it from now on.
        self.end();
    }
}
