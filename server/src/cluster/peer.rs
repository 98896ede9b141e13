//! Transfer between the nodes of a cluster (design §7, items 6 and 8): what one node
//! asks another for and how the two authenticate.
//!
//! - **Endpoints** (served by `routes/peer.rs`, cluster mode only):
//!   `GET /v1/peer/database/<identity>/files` lists a database's snapshots (tx offset,
//!   size, the BLAKE3 hash their header carries) and log segments (start offset,
//!   size); `…/snapshot/<tx offset>` and `…/segment/<start>?bytes=<n>` send one file
//!   as it is on disk (a segment cut to the `n` bytes listed, since the newest one is
//!   still being written); `GET /v1/peer/program/<hash>` sends a program.
//! - **Authentication**: every request carries `Authorization: Bearer <secret>`, the
//!   cluster's peer secret, which the first node creates in etcd at random and every
//!   node reads from there ([`join`]); a request without it is refused with 401, so
//!   only the cluster's nodes (and whoever can read its etcd) can pull a database's
//!   files or programs.
//! - **Client side**: [`PeerClient`] fetches from a peer's advertised address; the
//!   caller checks what it gets (snapshot hashes, segment CRCs, program hashes), never
//!   the serving node: files are sent unchecked, so damage on the peer's disk is
//!   caught by the node that would have installed it.

use serde::{Deserialize, Serialize};
use spacetime_commitlog::{
    parse_segment_file_name, snapshot_file_name, snapshot_header, LOG_DIR, SNAPSHOT_DIR, SNAPSHOT_HEADER_LEN,
    SNAPSHOT_SUFFIX,
};
use spacetime_replication::{Cluster, ReplicationError};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// How long one peer request may take: a whole snapshot or segment travels in one.
const PEER_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long connecting to a peer may take before the next one is tried.
const PEER_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a transfer from a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer could not be reached, or the transfer broke off.
    #[error("peer {addr}: {op}: {source}")]
    Http {
        /// The peer's address.
        addr: String,
        /// What was asked.
        op: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The peer answered with an error status.
    #[error("peer {addr}: {op}: {status}: {body}")]
    Refused {
        /// The peer's address.
        addr: String,
        /// What was asked.
        op: String,
        /// Its status.
        status: u16,
        /// Its message.
        body: String,
    },
    /// The peer's answer is not what the protocol says.
    #[error("peer {addr}: {op}: {why}")]
    Malformed {
        /// The peer's address.
        addr: String,
        /// What was asked.
        op: String,
        /// What is wrong.
        why: String,
    },
    /// The local runtime for the requests could not start.
    #[error("cannot start the runtime for peer requests: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The files of one database a node can send, as `GET …/files` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileList {
    /// Its snapshots, ascending by tx offset.
    pub snapshots: Vec<SnapshotFile>,
    /// Its log segments, ascending by start.
    pub segments: Vec<SegmentFile>,
}

/// One snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// The last transaction it includes.
    pub tx_offset: u64,
    /// The file's size.
    pub bytes: u64,
    /// The BLAKE3 hash its header carries (hex): the file checks itself against it.
    pub blake3: String,
}

/// One log segment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFile {
    /// The tx offset of its first commit.
    pub start: u64,
    /// Its size when listed; the newest segment grows, so exactly this many bytes are
    /// asked for (every commit in them is CRC32C-framed; a cut-off last one is dropped).
    pub bytes: u64,
}

/// This node's part in peer transfer, set up when it joins: the cluster's peer secret
/// (created if it is the first node). Peers find each other's addresses in the node
/// registry (`nodes/<node>`, `placement.rs`), which lists live nodes only.
///
/// # Errors
/// etcd errors.
pub(super) fn join(cluster: &Cluster) -> Result<String, ReplicationError> {
    let mut candidate = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut candidate);
    cluster.peer_secret(&hex::encode(candidate))
}

/// Whether `given` (a request's bearer token) is the peer `secret`. Compared as BLAKE3
/// hashes, whose equality is constant-time, so timing does not reveal the secret.
pub fn secret_matches(secret: &str, given: &str) -> bool {
    blake3::hash(secret.as_bytes()) == blake3::hash(given.as_bytes())
}

/// The snapshots and segments in the replica directory `dir`. A snapshot whose header
/// does not read is left out (it cannot be sent as a valid one); the files are not
/// otherwise checked here.
///
/// # Errors
/// I/O errors listing the directories.
pub fn list_files(dir: &Path) -> std::io::Result<FileList> {
    let mut list = FileList::default();
    for (name, bytes) in dir_files(&dir.join(SNAPSHOT_DIR))? {
        let Some(digits) = name.strip_suffix(SNAPSHOT_SUFFIX) else {
            continue;
        };
        let Ok(tx_offset) = digits.parse::<u64>() else {
            continue;
        };
        if snapshot_file_name(tx_offset) != name {
            continue;
        }
        let mut header = [0u8; SNAPSHOT_HEADER_LEN];
        let read = std::fs::File::open(dir.join(SNAPSHOT_DIR).join(&name)).and_then(|mut f| f.read_exact(&mut header));
        let Ok(()) = read else { continue };
        match snapshot_header(&header) {
            Ok((offset, _, hash)) if offset == tx_offset => list.snapshots.push(SnapshotFile {
                tx_offset,
                bytes,
                blake3: hex::encode(hash),
            }),
            _ => log::warn!(
                "peer files: snapshot {name} in {} has a damaged header; not offered",
                dir.display()
            ),
        }
    }
    for (name, bytes) in dir_files(&dir.join(LOG_DIR))? {
        if let Some(start) = parse_segment_file_name(&name) {
            list.segments.push(SegmentFile { start, bytes });
        }
    }
    list.snapshots.sort_by_key(|s| s.tx_offset);
    list.segments.sort_by_key(|s| s.start);
    Ok(list)
}

/// The regular files of `dir` with their sizes; none if `dir` does not exist.
fn dir_files(dir: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if let (true, Some(name)) = (meta.is_file(), entry.file_name().to_str()) {
            files.push((name.to_owned(), meta.len()));
        }
    }
    Ok(files)
}

/// Requests to other nodes' peer endpoints, authenticated with the peer secret.
/// Blocking: it runs its own small runtime, for the replica and catalog threads.
pub struct PeerClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    secret: String,
}

impl PeerClient {
    /// A client presenting `secret`.
    ///
    /// # Errors
    /// [`PeerError::Runtime`]; the HTTP client could not be built.
    pub fn new(secret: &str) -> Result<Self, PeerError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PeerError::Runtime)?;
        let http = reqwest::Client::builder()
            .connect_timeout(PEER_CONNECT_TIMEOUT)
            .timeout(PEER_REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| PeerError::Http {
                addr: String::new(),
                op: "build an HTTP client".into(),
                source,
            })?;
        Ok(Self {
            http,
            runtime,
            secret: secret.to_owned(),
        })
    }

    /// `GET http://<addr><path>`, the whole body.
    ///
    /// # Errors
    /// [`PeerError::Http`] and [`PeerError::Refused`].
    pub fn get(&self, addr: &str, path: &str) -> Result<Vec<u8>, PeerError> {
        let op = format!("GET {path}");
        let http_err = |source| PeerError::Http {
            addr: addr.to_owned(),
            op: op.clone(),
            source,
        };
        self.runtime.block_on(async {
            let response = self
                .http
                .get(format!("http://{addr}{path}"))
                .bearer_auth(&self.secret)
                .send()
                .await
                .map_err(http_err)?;
            let status = response.status();
            let body = response.bytes().await.map_err(http_err)?;
            if !status.is_success() {
                return Err(PeerError::Refused {
                    addr: addr.to_owned(),
                    op: op.clone(),
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            Ok(body.to_vec())
        })
    }

    /// The files of database `identity` (hex) on the peer at `addr`.
    ///
    /// # Errors
    /// As [`Self::get`]; [`PeerError::Malformed`].
    pub fn files(&self, addr: &str, identity: &str) -> Result<FileList, PeerError> {
        let path = format!("/v1/peer/database/{identity}/files");
        let body = self.get(addr, &path)?;
        serde_json::from_slice(&body).map_err(|e| PeerError::Malformed {
            addr: addr.to_owned(),
            op: format!("GET {path}"),
            why: format!("not a file list: {e}"),
        })
    }

    /// The program with hash `hash` from the peer at `addr` (unchecked).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn program(&self, addr: &str, hash: &str) -> Result<Vec<u8>, PeerError> {
        self.get(addr, &format!("/v1/peer/program/{hash}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_commitlog::{Commitlog, CommitlogOptions, SnapshotStore};

    #[test]
    fn the_secret_must_match_exactly() {
        assert!(secret_matches("abc", "abc"));
        assert!(!secret_matches("abc", "abd"));
        assert!(!secret_matches("abc", ""));
    }

    #[test]
    fn lists_snapshots_with_their_hash_and_segments_with_their_size() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (mut log, _) = Commitlog::open(
            dir.path().join(LOG_DIR),
            CommitlogOptions::default().max_segment_size(64),
        )
        .expect("a log");
        for i in 0..3u8 {
            log.append(&[i; 40]).expect("append");
        }
        log.sync().expect("sync");
        let snapshots = SnapshotStore::open(dir.path().join(SNAPSHOT_DIR)).expect("a snapshot dir");
        let written = snapshots.write(2, b"state").expect("a snapshot");
        // A damaged header is not offered.
        std::fs::write(dir.path().join(SNAPSHOT_DIR).join(snapshot_file_name(1)), b"txyz").expect("write");
        let list = list_files(dir.path()).expect("a list");
        assert_eq!(list.segments.iter().map(|s| s.start).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(list.segments.iter().all(|s| s.bytes > 10));
        assert_eq!(list.snapshots.len(), 1);
        let file = std::fs::read(written).expect("read");
        let hash = spacetime_commitlog::verify_snapshot(&file, 2).expect("a valid snapshot");
        assert_eq!(list.snapshots[0].blake3, hex::encode(hash));
        assert_eq!(list.snapshots[0].bytes, file.len() as u64);
    }
}
