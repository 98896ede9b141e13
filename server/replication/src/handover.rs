//! A planned handover (design §10): before a leader resigns on purpose it names the
//! node that is to lead next in the database's `handover` key, under a short lease of
//! its own. While that key lives only the named node campaigns, and it does so at
//! once instead of waiting for a lease to expire; if the named node does not take
//! over (it died meanwhile), the key expires and every standby campaigns as after a
//! failure.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use crate::keys::DbKeys;
use etcd_client::{GetResponse, PutOptions};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a handover key says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverInfo {
    /// The resigning leader's node id.
    pub from: String,
    /// The node that is to lead next.
    pub to: String,
    /// The epoch the resigning leader led in.
    pub epoch: u64,
}

impl Cluster {
    /// Writes the handover key of the database with `keys`, valid for `ttl` (whole
    /// seconds, at least 1).
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn announce_handover(&self, keys: &DbKeys, info: &HandoverInfo, ttl: Duration) -> Result<()> {
        let mut client = self.client();
        let lease = self.run(
            "grant a handover lease",
            client.lease_grant(ttl.as_secs().max(1) as i64, None),
        )?;
        let value = serde_json::to_vec(info).expect("a HandoverInfo always serializes");
        let options = PutOptions::new().with_lease(lease.id());
        self.run("announce a handover", client.put(keys.handover(), value, Some(options)))?;
        Ok(())
    }

    /// The handover the database's key announces, if one is under way.
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`] for a value this crate
    /// did not write.
    pub fn handover(&self, keys: &DbKeys) -> Result<Option<HandoverInfo>> {
        let mut client = self.client();
        let resp = self.run("read the handover key", client.get(keys.handover(), None))?;
        parse_handover(keys, &resp)
    }

    /// What a standby that finds no leader reads before it campaigns, both at once
    /// (a round trip less on a takeover's path): whether database `db` (named as in
    /// [`Self::catalog_entry`]) still has its catalog entry (it was deleted if not),
    /// and the handover under way, if any.
    ///
    /// # Errors
    /// As [`Self::handover`].
    pub fn vacancy(&self, keys: &DbKeys, db: &str) -> Result<(bool, Option<HandoverInfo>)> {
        let (mut catalog, mut handover) = (self.client(), self.client());
        let entry = format!("{}{db}", self.catalog_prefix());
        let (listed, announced) = self.run("read the catalog entry and the handover key", async {
            tokio::try_join!(catalog.get(entry, None), handover.get(keys.handover(), None))
        })?;
        Ok((!listed.kvs().is_empty(), parse_handover(keys, &announced)?))
    }

    /// Removes the database's handover key (the new leader, once elected).
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn clear_handover(&self, keys: &DbKeys) -> Result<()> {
        let mut client = self.client();
        self.run("clear the handover key", client.delete(keys.handover(), None))?;
        Ok(())
    }
}

/// The handover record a read of the handover key found, if any.
fn parse_handover(keys: &DbKeys, resp: &GetResponse) -> Result<Option<HandoverInfo>> {
    resp.kvs()
        .first()
        .map(|kv| {
            serde_json::from_slice(kv.value()).map_err(|_| ReplicationError::BadValue {
                key: keys.handover(),
                value: String::from_utf8_lossy(kv.value()).into_owned(),
                expected: "a handover record {from, to, epoch}",
            })
        })
        .transpose()
}
