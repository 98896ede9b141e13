//! Starting a replica from a peer's files (design §7, issue 17 item 5): a node whose
//! log ends before what etcd still holds (it joined after the leader trimmed, or was
//! away too long) cannot catch up from etcd. It copies the newest snapshot a peer has
//! and the log segments from there on, checks them, installs them in its replica
//! directory in one step, and then follows etcd from where they end.
//!
//! 1. **Reserve**: the node reports the current trim offset as its progress, so the
//!    leader trims no further while it copies (trimming waits for every standby
//!    within the lag bound; a reader holds nothing back, so a reader may have to
//!    copy again), and reads the trim offset `T` again: its copy must hold offset `T`.
//! 2. **Choose**: peers in order, the leader first (its address is in the leader key),
//!    then every live node registered under `nodes/`. From a peer's file list it takes the
//!    newest snapshot and the segments from the one holding the snapshot's next offset
//!    to the newest; with no snapshot, the whole log from offset 0.
//! 3. **Check** into a staging directory: a snapshot must carry the hash the list gave
//!    and verify (BLAKE3 over header and payload); every segment must have a valid
//!    header, start where the one before ended, and hold only commits that verify
//!    (CRC32C, framing, consecutive offsets); the newest may end in a commit cut off
//!    by the copy, which is dropped. The copy must reach past `T`. Anything else is
//!    refused with a log line naming the peer and the file, and the next peer tried.
//! 4. **Install**: the old `clog/` and `snapshots/` are moved aside, the staged
//!    `snapshots/` and then `clog/` renamed into place, and the directory fsynced. A
//!    crash before `clog/` is in place leaves no log, so the node bootstraps again;
//!    after it, the copy is whole.
//!
//! Then `replica.rs` reopens the log and compares it with the commits etcd holds
//! (`Cluster::rejoin`): the part of the copy past `T` must match them exactly, or it
//! is cut, which checks the copy against the cluster and not only against itself.

use super::peer::{FileList, PeerClient, PeerError, SegmentFile, SnapshotFile};
use super::{ClusterError, ClusterNode};
use crate::registry::DatabaseRecord;
use crate::state::AppState;
use spacetime_commitlog::{
    check_segment_header, segment_file_name, segment_header, snapshot_file_name, split_commits_prefix, verify_snapshot,
    FramesEnd, LOG_DIR, SEGMENT_HEADER_LEN, SNAPSHOT_DIR,
};
use spacetime_replication::DbKeys;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The staging directory inside a replica directory.
const STAGING: &str = "bootstrap.tmp";
/// Where the replaced log and snapshots go until the new ones are in place.
const REPLACED: &str = "bootstrap.replaced";

/// Why a peer's copy was not taken.
#[derive(Debug, thiserror::Error)]
enum CopyError {
    /// The peer could not send it.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// What it sent does not check out, or does not cover what is needed.
    #[error("{0}")]
    Refused(String),
    /// Writing the copy here failed.
    #[error("staging the copy in {path}: {source}")]
    Local {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What to copy from one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    snapshot: Option<SnapshotFile>,
    segments: Vec<SegmentFile>,
}

/// A checked copy in the staging directory.
struct Staged {
    /// Bytes copied.
    bytes: u64,
    /// The snapshot's tx offset, if one was copied.
    snapshot: Option<u64>,
    /// Segments copied.
    segments: usize,
    /// The next tx offset of the copied log.
    next: u64,
}

/// Bootstraps the replica of `record` from a peer (see the module doc); on success
/// its replica directory holds a snapshot and log reaching past the trim offset.
///
/// # Errors
/// etcd errors; [`ClusterError::Local`] when no peer had a copy that checked out.
pub(super) fn bootstrap(
    node: &ClusterNode,
    state: &AppState,
    record: &DatabaseRecord,
    keys: &DbKeys,
) -> Result<(), ClusterError> {
    let identity = record.database_identity;
    let started = Instant::now();
    let reserved = node.cluster.trim_offset(keys)?;
    node.cluster
        .report_persisted(keys, &node.config.node_id, reserved, node.replica_role(), None)?;
    let trim = node.cluster.trim_offset(keys)?;
    let client = PeerClient::new(&node.peer_secret).map_err(|e| ClusterError::Local(e.to_string()))?;
    let dir = state.config().replica_dir(record.replica_id);
    let mut tried = Vec::new();
    for (peer, addr) in candidates(node, keys)? {
        let hex = identity.to_hex().to_string();
        match copy_from(&client, &addr, &hex, trim, &dir) {
            Ok(staged) => {
                install(&dir).map_err(|e| ClusterError::Local(format!("installing the copy from {peer}: {e}")))?;
                let snapshot = staged.snapshot.map_or_else(
                    || "no snapshot".to_owned(),
                    |s| format!("the snapshot at tx offset {s}"),
                );
                log::info!(
                    "database {identity}: bootstrapped from peer {peer} at {addr}: {snapshot} and {} segment(s), {} \
                     bytes, up to tx offset {} in {} ms (the replicated log starts at {trim}); following etcd from \
                     there",
                    staged.segments,
                    staged.bytes,
                    staged.next - 1,
                    started.elapsed().as_millis()
                );
                return Ok(());
            }
            Err(e) => {
                log::warn!("database {identity}: bootstrap: refused the copy from peer {peer} at {addr}: {e}; trying the next peer");
                tried.push(format!("{peer} ({e})"));
            }
        }
    }
    Err(ClusterError::Local(format!(
        "the cluster trimmed its log up to tx offset {trim}, past this node's log, and no peer had a copy to start \
         from (tried: {}); retrying",
        if tried.is_empty() {
            "none registered".to_owned()
        } else {
            tried.join("; ")
        }
    )))
}

/// The peers to ask, as `(node, address)`: the leader first, then every registered
/// node but this one, each once.
fn candidates(node: &ClusterNode, keys: &DbKeys) -> Result<Vec<(String, String)>, ClusterError> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(leader) = node.cluster.leader(keys)? {
        out.push((leader.node, leader.addr));
    }
    for live in node.cluster.nodes()? {
        if live.node != node.config.node_id && !out.iter().any(|(p, _)| *p == live.node) {
            out.push((live.node, live.addr));
        }
    }
    out.retain(|(peer, _)| *peer != node.config.node_id);
    Ok(out)
}

/// What to copy from a peer holding `list` for a log that must hold offset `trim`:
/// the newest snapshot whose next offset a segment holds (or none, from offset 0),
/// and the segments from that one on.
fn plan(list: &FileList, trim: u64) -> Result<Plan, String> {
    let from_segment = |base: u64| list.segments.iter().rposition(|s| s.start <= base);
    for snapshot in list.snapshots.iter().rev() {
        if let Some(i) = from_segment(snapshot.tx_offset + 1) {
            return Ok(Plan {
                snapshot: Some(snapshot.clone()),
                segments: list.segments[i..].to_vec(),
            });
        }
    }
    match list.segments.first() {
        Some(first) if first.start == 0 => Ok(Plan {
            snapshot: None,
            segments: list.segments.clone(),
        }),
        _ => Err(format!(
            "it holds no snapshot with the log after it and no log from tx offset 0 (its segments start at {:?}, \
             snapshots at {:?}); this node needs tx offset {trim} on",
            list.segments.iter().map(|s| s.start).collect::<Vec<_>>(),
            list.snapshots.iter().map(|s| s.tx_offset).collect::<Vec<_>>()
        )),
    }
}

/// Copies and checks the plan of the peer at `addr` into `dir`'s staging directory.
fn copy_from(client: &PeerClient, addr: &str, identity: &str, trim: u64, dir: &Path) -> Result<Staged, CopyError> {
    let list = client.files(addr, identity)?;
    let plan = plan(&list, trim).map_err(CopyError::Refused)?;
    let staging = dir.join(STAGING);
    reset_dir(&staging)?;
    let (log_dir, snapshot_dir) = (staging.join(LOG_DIR), staging.join(SNAPSHOT_DIR));
    create_dir(&log_dir)?;
    create_dir(&snapshot_dir)?;
    let mut bytes = 0u64;
    if let Some(snapshot) = &plan.snapshot {
        let name = snapshot_file_name(snapshot.tx_offset);
        let file = client.get(
            addr,
            &format!("/v1/peer/database/{identity}/snapshot/{}", snapshot.tx_offset),
        )?;
        let hash = verify_snapshot(&file, snapshot.tx_offset)
            .map_err(|why| CopyError::Refused(format!("snapshot {name}: {why}")))?;
        if hex::encode(hash) != snapshot.blake3 {
            return Err(CopyError::Refused(format!(
                "snapshot {name}: its hash {} is not the {} the peer listed",
                hex::encode(hash),
                snapshot.blake3
            )));
        }
        write_file(&snapshot_dir.join(name), &file)?;
        bytes += file.len() as u64;
    }
    let base = plan.snapshot.as_ref().map_or(0, |s| s.tx_offset + 1);
    let mut next: Option<u64> = None;
    for (i, segment) in plan.segments.iter().enumerate() {
        let name = segment_file_name(segment.start);
        let path = format!(
            "/v1/peer/database/{identity}/segment/{}?bytes={}",
            segment.start, segment.bytes
        );
        let file = client.get(addr, &path)?;
        let refuse = |why: String| CopyError::Refused(format!("segment {name}: {why}"));
        if next.is_some_and(|n| n != segment.start) {
            return Err(refuse(format!(
                "it starts at tx offset {}, where the segment before ended ({next:?})",
                segment.start
            )));
        }
        check_segment_header(&file).map_err(refuse)?;
        let (commits, end) = split_commits_prefix(&file[SEGMENT_HEADER_LEN..]);
        let last = i + 1 == plan.segments.len();
        match end {
            FramesEnd::Complete => {}
            FramesEnd::Damaged(why) => return Err(refuse(why)),
            // Only the newest segment was being written while it was copied.
            FramesEnd::CutOff(_) | FramesEnd::Zeroes { .. } if last => {}
            FramesEnd::CutOff(why) => return Err(refuse(why)),
            FramesEnd::Zeroes { at } => {
                return Err(refuse(format!("its commits end at byte {at}, before the next segment")))
            }
        }
        if commits.first().is_some_and(|(id, _)| id.tx_offset != segment.start) {
            return Err(refuse(format!(
                "its first commit is not at tx offset {}",
                segment.start
            )));
        }
        let kept = commits.last().map_or(0, |(_, range)| range.end);
        let ends = commits
            .last()
            .map_or(segment.start, |(id, _)| id.tx_offset + u64::from(id.n));
        write_file(&log_dir.join(&name), &file[..SEGMENT_HEADER_LEN + kept])?;
        bytes += (SEGMENT_HEADER_LEN + kept) as u64;
        next = Some(ends);
    }
    let next = next.unwrap_or(base);
    if next < base {
        return Err(CopyError::Refused(format!(
            "its log ends at tx offset {next}, before the snapshot's next offset {base}"
        )));
    }
    if next <= trim {
        return Err(CopyError::Refused(format!(
            "its log ends at tx offset {next}, not past {trim}, where the replicated log starts"
        )));
    }
    if plan.segments.is_empty() {
        write_file(&log_dir.join(segment_file_name(base)), &segment_header())?;
    }
    sync_dir(&log_dir)?;
    sync_dir(&snapshot_dir)?;
    sync_dir(&staging)?;
    Ok(Staged {
        bytes,
        snapshot: plan.snapshot.map(|s| s.tx_offset),
        segments: plan.segments.len(),
        next,
    })
}

/// Replaces `dir`'s log and snapshots with the staged ones (see the module doc).
fn install(dir: &Path) -> Result<(), CopyError> {
    let replaced = dir.join(REPLACED);
    reset_dir(&replaced)?;
    for sub in [LOG_DIR, SNAPSHOT_DIR] {
        let old = dir.join(sub);
        if old.exists() {
            rename(&old, &replaced.join(sub))?;
        }
    }
    sync_dir(dir)?;
    let staging = dir.join(STAGING);
    // The log last: once it is in place, the copy is whole.
    rename(&staging.join(SNAPSHOT_DIR), &dir.join(SNAPSHOT_DIR))?;
    rename(&staging.join(LOG_DIR), &dir.join(LOG_DIR))?;
    sync_dir(dir)?;
    for leftover in [replaced, staging] {
        if let Err(e) = std::fs::remove_dir_all(&leftover) {
            log::warn!("bootstrap: cannot remove {}: {e}", leftover.display());
        }
    }
    Ok(())
}

fn local(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Local {
        path: path.to_owned(),
        source,
    }
}

/// Empties `dir` (removing what an interrupted bootstrap left) and creates it.
fn reset_dir(dir: &Path) -> Result<(), CopyError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(local(dir)(e)),
    }
    create_dir(dir)
}

fn create_dir(dir: &Path) -> Result<(), CopyError> {
    std::fs::create_dir_all(dir).map_err(local(dir))
}

fn rename(from: &Path, to: &Path) -> Result<(), CopyError> {
    std::fs::rename(from, to).map_err(local(from))
}

/// Writes `bytes` to `path` and fsyncs it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CopyError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(local(path))?;
    file.write_all(bytes).map_err(local(path))?;
    file.sync_all().map_err(local(path))
}

/// Fsyncs directory `dir`, so the names in it survive a crash.
fn sync_dir(dir: &Path) -> Result<(), CopyError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(local(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(tx_offset: u64) -> SnapshotFile {
        SnapshotFile {
            tx_offset,
            bytes: 100,
            blake3: String::new(),
        }
    }

    fn segments(starts: &[u64]) -> Vec<SegmentFile> {
        starts.iter().map(|&start| SegmentFile { start, bytes: 50 }).collect()
    }

    #[test]
    fn plans_the_newest_snapshot_and_the_segments_after_it() {
        let list = FileList {
            snapshots: vec![snapshot(9), snapshot(19)],
            segments: segments(&[10, 15, 25]),
        };
        let plan = plan(&list, 22).expect("a plan");
        assert_eq!(plan.snapshot, Some(snapshot(19)));
        assert_eq!(plan.segments, segments(&[15, 25]));
    }

    #[test]
    fn install_replaces_the_log_and_snapshots_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let dir = dir.path();
        for (sub, file) in [(LOG_DIR, "old.log"), (SNAPSHOT_DIR, "old.snapshot")] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
            std::fs::write(dir.join(sub).join(file), b"old").expect("write");
        }
        std::fs::write(dir.join("sql-settings"), b"kept").expect("write");
        for (sub, file) in [(LOG_DIR, "new.log"), (SNAPSHOT_DIR, "new.snapshot")] {
            std::fs::create_dir_all(dir.join(STAGING).join(sub)).expect("mkdir");
            std::fs::write(dir.join(STAGING).join(sub).join(file), b"new").expect("write");
        }
        install(dir).expect("installed");
        let names = |sub: &str| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
                .expect("a directory")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(LOG_DIR), ["new.log"]);
        assert_eq!(names(SNAPSHOT_DIR), ["new.snapshot"]);
        assert_eq!(names("."), [LOG_DIR, SNAPSHOT_DIR, "sql-settings"]);
    }

    #[test]
    fn without_a_usable_snapshot_plans_the_whole_log_or_refuses() {
        let whole = FileList {
            snapshots: vec![],
            segments: segments(&[0, 8]),
        };
        assert_eq!(plan(&whole, 3).expect("a plan").segments, segments(&[0, 8]));
        // The log was pruned before the only snapshot's next offset: nothing fits.
        let pruned = FileList {
            snapshots: vec![snapshot(3)],
            segments: segments(&[10]),
        };
        let why = plan(&pruned, 12).expect_err("no plan");
        assert!(why.contains("segments start at [10]"), "{why}");
    }
}
