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
//! Program bytes share etcd's request limit (1.5 MiB) with everything else, so only a
//! program of at most [`MAX_INLINE_PROGRAM_BYTES`] is stored here; a larger one is
//! named by its hash in the entry only, and nodes fetch it from a peer that holds it
//! (the server's `cluster/peer.rs`), checking the hash.

use crate::cluster::Cluster;
use crate::error::Result;
use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp};

/// The largest program the catalog stores inline. etcd refuses requests over 1.5 MiB;
/// this leaves room below that for the rest of the request, and keeps etcd's store
/// small. Larger programs travel between nodes by hash (design §3, item 8).
pub const MAX_INLINE_PROGRAM_BYTES: usize = 1024 * 1024;

impl Cluster {
    pub(crate) fn catalog_prefix(&self) -> String {
        format!("{}/catalog/", self.options().prefix.trim_end_matches('/'))
    }

    fn program_key(&self, hash: &str) -> String {
        format!("{}/program/{hash}", self.options().prefix.trim_end_matches('/'))
    }

    /// Puts database `db`'s catalog `entry` and, if it is at most
    /// [`MAX_INLINE_PROGRAM_BYTES`], its program (`hash`, `bytes`), written only if
    /// absent (it is content-addressed). Returns whether the program was stored
    /// inline; if not, nodes fetch it from a peer by `hash`.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn put_catalog_entry(&self, db: &str, entry: &[u8], hash: &str, bytes: &[u8]) -> Result<bool> {
        let inline = bytes.len() <= MAX_INLINE_PROGRAM_BYTES;
        let mut client = self.client();
        if inline {
            let program_key = self.program_key(hash);
            let put_program = Txn::new()
                .when([Compare::create_revision(program_key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(program_key, bytes, None)]);
            self.run("store a program", client.txn(put_program))?;
        }
        let entry_key = format!("{}{db}", self.catalog_prefix());
        self.run("write a catalog entry", client.put(entry_key, entry, None))?;
        Ok(inline)
    }

    /// Every database's catalog entry, by database.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn catalog(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.under_prefix("read the catalog", &self.catalog_prefix())
    }

    /// Every key under `prefix` (with `prefix` stripped) and its value, read as `op`.
    pub(crate) fn under_prefix(&self, op: &'static str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut client = self.client();
        let resp = self.run(op, client.get(prefix, Some(GetOptions::new().with_prefix())))?;
        Ok(resp
            .kvs()
            .iter()
            .filter_map(|kv| {
                let key = std::str::from_utf8(kv.key()).ok()?.strip_prefix(prefix)?;
                Some((key.to_owned(), kv.value().to_vec()))
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

    /// The program with content hash `hash`, if the catalog holds it inline (see
    /// [`MAX_INLINE_PROGRAM_BYTES`]); the caller checks the hash.
    ///
    /// # Errors
    /// etcd errors and timeouts.
    pub fn program(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let mut client = self.client();
        let resp = self.run("read a program", client.get(self.program_key(hash), None))?;
        Ok(resp.kvs().first().map(|kv| kv.value().to_vec()))
    }
}
