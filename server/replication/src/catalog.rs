//! The cluster's catalog of databases (design §3, a first cut of item 8's shared
//! registry): one entry per database, written by the node that created it, and the
//! programs the entries name, by content hash. A node that does not hold a database
//! yet reads its entry and program here to become its standby.
//!
//! ```text
//! <prefix>/catalog/<db>        the caller's entry (opaque bytes; the server writes JSON)
//! <prefix>/program/<hash>      program bytes (content-addressed: written once, never changed)
//! ```
//!
//! Program bytes share etcd's request limit with everything else, so a program larger
//! than [`MAX_PROGRAM_BYTES`] is refused here; fetching programs from peers by hash
//! (design §3) lifts that limit later.

use crate::cluster::Cluster;
use crate::error::{ReplicationError, Result};
use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp};

/// The largest program the catalog holds: etcd refuses requests over 1.5 MiB.
pub const MAX_PROGRAM_BYTES: usize = 1_400 * 1024;

impl Cluster {
    fn catalog_prefix(&self) -> String {
        format!("{}/catalog/", self.options().prefix.trim_end_matches('/'))
    }

    fn program_key(&self, hash: &str) -> String {
        format!("{}/program/{hash}", self.options().prefix.trim_end_matches('/'))
    }

    /// Puts database `db`'s catalog `entry` and its program (`hash`, `bytes`) in one
    /// `Txn`; the program is written only if absent (it is content-addressed).
    ///
    /// # Errors
    /// [`ReplicationError::ProgramTooLarge`]; etcd errors and timeouts.
    pub fn put_catalog_entry(&self, db: &str, entry: &[u8], hash: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() > MAX_PROGRAM_BYTES {
            return Err(ReplicationError::ProgramTooLarge {
                hash: hash.to_owned(),
                size: bytes.len(),
            });
        }
        let program_key = self.program_key(hash);
        let entry_key = format!("{}{db}", self.catalog_prefix());
        let mut client = self.client();
        let put_program = Txn::new()
            .when([Compare::create_revision(program_key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(program_key, bytes, None)]);
        self.run("store a program", client.txn(put_program))?;
        self.run("write a catalog entry", client.put(entry_key, entry, None))?;
        Ok(())
    }

    /// Every database's catalog entry, by database.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn catalog(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = self.catalog_prefix();
        let mut client = self.client();
        let resp = self.run(
            "read the catalog",
            client.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
        )?;
        Ok(resp
            .kvs()
            .iter()
            .filter_map(|kv| {
                let db = std::str::from_utf8(kv.key()).ok()?.strip_prefix(&prefix)?;
                Some((db.to_owned(), kv.value().to_vec()))
            })
            .collect())
    }

    /// Database `db`'s catalog entry, if it has one.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn catalog_entry(&self, db: &str) -> Result<Option<Vec<u8>>> {
        let mut client = self.client();
        let key = format!("{}{db}", self.catalog_prefix());
        let resp = self.run("read a catalog entry", client.get(key, None))?;
        Ok(resp.kvs().first().map(|kv| kv.value().to_vec()))
    }

    /// Removes database `db` from the catalog: its standbys then stop following it
    /// and never campaign for it. Its log keys stay until etcd is cleaned up.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn remove_catalog_entry(&self, db: &str) -> Result<()> {
        let mut client = self.client();
        let key = format!("{}{db}", self.catalog_prefix());
        self.run("remove a catalog entry", client.delete(key, None))?;
        Ok(())
    }

    /// The program with content hash `hash`, if the catalog holds it.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn program(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let mut client = self.client();
        let resp = self.run("read a program", client.get(self.program_key(hash), None))?;
        Ok(resp.kvs().first().map(|kv| kv.value().to_vec()))
    }
}
