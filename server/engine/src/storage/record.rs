//! The commit-log record of one transaction, and how it is applied on replay.
//!
//! # Format (version 1)
//! Every record is one log payload (the commit log frames and checksums it):
//! - `version: u8` = 1, then `kind: u8`;
//! - kind 0, **created**: nothing more. Written once, when a database starts on an
//!   empty log, before its `init` runs; a log holding it means "initialized", so a
//!   restart never runs `init` again even when `init` wrote nothing.
//! - kind 1, **transaction**: `u32` table count, then per table: its name
//!   (`u32` length + UTF-8), its deleted rows, its inserted rows (each a `u32` count of
//!   `u32`-length-prefixed BSATN rows). All integers are little-endian, as in BSATN.
//! - kind 2, **connected**, and kind 3, **disconnected**: a client's `identity`
//!   (32 bytes) and `connection_id` (16 bytes), little-endian. Logged when a client's
//!   `client_connected` is accepted, and when its `client_disconnected` has run, if the
//!   module has a `client_disconnected` reducer; a restart runs that reducer for every
//!   client the log leaves connected (the crash closed their connections). Written
//!   alone only when the lifecycle reducer changed no row (or failed, for
//!   "disconnected", or is not defined); otherwise the change is part of kind 7.
//! - kind 4, **module**: the program hash (`u32` length + UTF-8 hex) of the module the
//!   following records were written with. Written after "created", and after every
//!   snapshot (see below).
//! - kind 5, **migration**: a module update: the new program hash (`u32` length +
//!   UTF-8 hex), the publish time (`i64` microseconds since the Unix epoch), the
//!   publisher's identity (32 bytes), the plan's summary (`u32` length + UTF-8), then
//!   the whole state after the update in the snapshot format (`u32` length + bytes,
//!   see [`super::snapshot`]). It counts as a module record too.
//! - kind 6, **connected elsewhere**: a client connected through another node of a
//!   cluster (a reader hosts its WebSocket; the leader ran its `client_connected`):
//!   its `identity` and `connection_id` as in kind 2, then the host (`u32` length +
//!   UTF-8, see [`ClientChange::ConnectedAt`]). Kind 3 ends it as it ends any client.
//! - kind 7, **lifecycle transaction**: a lifecycle reducer's transaction and the
//!   client change it goes with, as one record: `u8` the change's kind (2, 3 or 6), its
//!   fields as in that kind, then the transaction as in kind 1 (`u32` table count …).
//!   It replaces what servers wrote before it, a kind 1 record followed by a kind 2, 3
//!   or 6 one: two log commits, so a crash, or a leader's failover (a new leader
//!   holds exactly a prefix of the commits), between them left the module's rows
//!   saying a client was online with no logged connection for a restart to end (a
//!   ghost, online for ever), or a departure in the rows with the client still logged
//!   connected (so a restart ran `client_disconnected` a second time). Upstream
//!   records the client (`st_client`) in the `client_connected` transaction itself;
//!   this is the same atomicity. Logs written before still replay (each record as it
//!   always did); a server without kind 7 refuses it ("unknown record kind 7"), so a
//!   cluster's followers are upgraded before its leader.
//!
//! # Migrations
//! A module update may change the schema (add columns, drop tables, add unique
//! constraints), so records before it may not fit the new module. The migration record
//! therefore carries the whole state after the update, and restore starts from the last
//! migration record newer than the snapshot, as from a snapshot, skipping the records
//! before it. The record is one log commit, so a crash leaves either no trace of the
//! update (the old module and its records) or all of it (the new module and the state
//! the update made): never a mix.
//!
//! # Module records and the registry
//! An update switches the actor to the new module (which may add tables, soon holding
//! logged rows), then the control plane writes the new program hash to the registry.
//! A crash in between would leave a log naming tables the registry's module lacks. So
//! the update waits until its module record is durable before the registry is written,
//! and at start (`control::reload_all`) the last module record in the log wins: when it
//! names another program than the registry, that program (kept in the program store
//! since the publish stored it before the update) is loaded and the registry corrected.
//! Only the *last* module record matters: the newest module can replay every record
//! after the last migration record. The start looks for it while recovery checks
//! the log (one read, see `durability::logged_program`), but segments before the oldest
//! kept snapshot are pruned, so a module record is written again right after each
//! snapshot's offset: what is left of the log always names the running module (unless
//! it predates module records, when the registry is trusted).
//!
//! Tables are named, not numbered, because table ids are handed out in creation order
//! and a restart creates the tables from the *current* module. That is sound because
//! every record replayed comes after the last migration record, so was written by the
//! current module. The schema itself is not logged: it is the registry's program.
//!
//! Replay applies a record as one transaction: every delete first (each must find its
//! row, or the log does not belong to this state), then every insert.

use spacetime_datastore::{Datastore, TableChanges, TxData};
use spacetime_sats::bsatn::{decode_len, take, take_array, DecodeError};
use spacetime_sats::{ColId, ConnectionId, Identity};

/// The record format version written today.
const VERSION: u8 = 1;
const KIND_CREATED: u8 = 0;
const KIND_TX: u8 = 1;
const KIND_CONNECTED: u8 = 2;
const KIND_DISCONNECTED: u8 = 3;
const KIND_MODULE: u8 = 4;
const KIND_MIGRATION: u8 = 5;
const KIND_CONNECTED_AT: u8 = 6;
const KIND_LIFECYCLE: u8 = 7;

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The database was created (its `init` ran, or is about to).
    Created,
    /// A committed transaction's net changes.
    Tx(Vec<TableRecord>),
    /// A client connected or disconnected, and its lifecycle reducer changed no row
    /// (kinds 2, 3 and 6).
    Client(ClientChange),
    /// A lifecycle reducer's transaction's net changes, and the client change it
    /// goes with, committed as one (kind 7).
    Lifecycle(Vec<TableRecord>, ClientChange),
    /// Later records were written by the module with this program hash.
    Module(String),
    /// A module update, with the state it made.
    Migration(Migration),
}

/// A change of the clients the log holds as connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientChange {
    /// A client connected (its `client_connected` accepted it).
    Connected(Identity, ConnectionId),
    /// A client connected through another node, `host` (its `client_connected`
    /// ran here): the connection lives as long as that node says, so a restart or
    /// takeover does not end it, and the node's death does.
    ConnectedAt(Identity, ConnectionId, String),
    /// A client disconnected (its `client_disconnected` ran).
    Disconnected(Identity, ConnectionId),
}

impl ClientChange {
    /// The connection it is about.
    pub fn connection_id(&self) -> ConnectionId {
        match self {
            Self::Connected(_, c) | Self::ConnectedAt(_, c, _) | Self::Disconnected(_, c) => *c,
        }
    }

    /// Appends its kind and fields (kinds 2, 3 and 6), without the version.
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Self::Connected(identity, connection_id) => {
                out.push(KIND_CONNECTED);
                put_client(*identity, *connection_id, out);
            }
            Self::Disconnected(identity, connection_id) => {
                out.push(KIND_DISCONNECTED);
                put_client(*identity, *connection_id, out);
            }
            Self::ConnectedAt(identity, connection_id, host) => {
                out.push(KIND_CONNECTED_AT);
                put_client(*identity, *connection_id, out);
                put_bytes(host.as_bytes(), out);
            }
        }
    }

    /// Reads the fields of a change of kind `kind`; `None` if it is no client kind.
    fn get(kind: u8, input: &mut &[u8]) -> Result<Option<Self>, DecodeError> {
        Ok(Some(match kind {
            KIND_CONNECTED => {
                let (identity, connection_id) = get_client(input)?;
                Self::Connected(identity, connection_id)
            }
            KIND_DISCONNECTED => {
                let (identity, connection_id) = get_client(input)?;
                Self::Disconnected(identity, connection_id)
            }
            KIND_CONNECTED_AT => {
                let (identity, connection_id) = get_client(input)?;
                Self::ConnectedAt(identity, connection_id, get_string(input)?)
            }
            _ => return Ok(None),
        }))
    }
}

/// A module update as logged: which program, when, by whom, what it did, and the whole
/// state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The new program's hash.
    pub hash: String,
    /// When it was published, in microseconds since the Unix epoch.
    pub published_at_micros: i64,
    /// Who published it.
    pub publisher: Identity,
    /// The plan's summary (see `spacetime_migrate::Plan::summary`).
    pub summary: String,
    /// The state after the update, in the snapshot format.
    pub state: Vec<u8>,
}

/// The changes of one table in a [`Record::Tx`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    /// The table's canonical name.
    pub name: String,
    /// BSATN rows deleted.
    pub deletes: Vec<Box<[u8]>>,
    /// BSATN rows inserted.
    pub inserts: Vec<Box<[u8]>>,
}

/// Why a record could not be decoded or applied.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The bytes are not a record this server understands.
    #[error("undecodable record: {0}")]
    Decode(#[from] DecodeError),
    /// Written by a newer server.
    #[error("record format version {0} is not supported (this server writes version {VERSION}); upgrade the server")]
    Version(u8),
    /// An unknown record kind.
    #[error("unknown record kind {0}")]
    Kind(u8),
    /// A table the current module does not have.
    #[error("the log names table `{0}`, which the module does not define")]
    UnknownTable(String),
    /// A delete of a row that is not there: the log does not fit the state.
    #[error("the log deletes a row of `{0}` that is not present")]
    MissingRow(String),
    /// The datastore refused a row.
    #[error("table `{table}`: {source}")]
    Datastore {
        /// The table.
        table: String,
        /// The datastore's error.
        source: spacetime_datastore::DatastoreError,
    },
}

/// Encodes the "created" record.
pub fn encode_created() -> Vec<u8> {
    vec![VERSION, KIND_CREATED]
}

/// Encodes a "module" record naming program `hash`.
pub fn encode_module(hash: &str) -> Vec<u8> {
    let mut out = vec![VERSION, KIND_MODULE];
    put_bytes(hash.as_bytes(), &mut out);
    out
}

/// Encodes a "migration" record.
pub fn encode_migration(migration: &Migration) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + migration.summary.len() + migration.state.len());
    out.extend_from_slice(&[VERSION, KIND_MIGRATION]);
    put_bytes(migration.hash.as_bytes(), &mut out);
    out.extend_from_slice(&migration.published_at_micros.to_le_bytes());
    out.extend_from_slice(&migration.publisher.to_byte_array());
    put_bytes(migration.summary.as_bytes(), &mut out);
    put_bytes(&migration.state, &mut out);
    out
}

/// Encodes a client change alone: a "connected", "disconnected" or "connected
/// elsewhere" record (kinds 2, 3, 6).
pub fn encode_client(change: &ClientChange) -> Vec<u8> {
    let mut out = vec![VERSION];
    change.put(&mut out);
    out
}

/// Appends the record of a lifecycle reducer's committed transaction and the client
/// change it goes with (kind 7) to `out`, the log writer's buffer.
pub fn encode_lifecycle_into(tx: &TxData, change: &ClientChange, out: &mut Vec<u8>) {
    out.extend_from_slice(&[VERSION, KIND_LIFECYCLE]);
    change.put(out);
    put_tx(tx, out);
}

pub(super) fn put_client(identity: Identity, connection_id: ConnectionId, out: &mut Vec<u8>) {
    out.extend_from_slice(&identity.to_byte_array());
    out.extend_from_slice(&connection_id.as_le_byte_array());
}

pub(super) fn get_client(input: &mut &[u8]) -> Result<(Identity, ConnectionId), DecodeError> {
    let identity = Identity::from_byte_array(take_array(input)?);
    let connection_id = ConnectionId::from_le_byte_array(take_array(input)?);
    Ok((identity, connection_id))
}

/// Encodes a committed transaction as a record.
pub fn encode_tx(tx: &TxData) -> Vec<u8> {
    let mut out = Vec::new();
    encode_tx_into(tx, &mut out);
    out
}

/// Appends the record of a committed transaction to `out` (the log writer's buffer:
/// see `spacetime_commitlog::Durability::append_tx_with`).
pub fn encode_tx_into(tx: &TxData, out: &mut Vec<u8>) {
    out.extend_from_slice(&[VERSION, KIND_TX]);
    put_tx(tx, out);
}

/// Appends a transaction's tables, as kinds 1 and 7 hold them.
fn put_tx(tx: &TxData, out: &mut Vec<u8>) {
    let size: usize = tx
        .tables
        .iter()
        .map(|t| 12 + t.table_name.len() + t.inserts.iter().chain(&t.deletes).map(|r| 4 + r.len()).sum::<usize>())
        .sum();
    out.reserve(4 + size);
    put_len(tx.tables.len(), out);
    for TableChanges {
        table_name,
        inserts,
        deletes,
        ..
    } in &tx.tables
    {
        put_bytes(table_name.as_bytes(), out);
        put_rows(deletes, out);
        put_rows(inserts, out);
    }
}

pub(super) fn put_len(len: usize, out: &mut Vec<u8>) {
    // Records are bounded by the commit log's maximum record length, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

pub(super) fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    put_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

pub(super) fn put_rows(rows: &[Box<[u8]>], out: &mut Vec<u8>) {
    put_len(rows.len(), out);
    for row in rows {
        put_bytes(row, out);
    }
}

pub(super) fn get_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = decode_len(input, 1)?;
    take(input, len)
}

pub(super) fn get_string(input: &mut &[u8]) -> Result<String, DecodeError> {
    let bytes = get_bytes(input)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid("a table name is not UTF-8".into()))
}

pub(super) fn get_rows(input: &mut &[u8]) -> Result<Vec<Box<[u8]>>, DecodeError> {
    let n = decode_len(input, 4)?;
    (0..n).map(|_| get_bytes(input).map(Box::from)).collect()
}

/// Whether `bytes` is a "module" record, telling by its first two bytes, so a scan for
/// module records does not decode the others.
pub fn is_module(bytes: &[u8]) -> bool {
    bytes.starts_with(&[VERSION, KIND_MODULE]) || is_migration(bytes)
}

/// Whether a payload is a "migration" record, without decoding it.
pub fn is_migration(bytes: &[u8]) -> bool {
    bytes.starts_with(&[VERSION, KIND_MIGRATION])
}

/// Decodes one record.
///
/// # Errors
/// [`RecordError::Version`], [`RecordError::Kind`], [`RecordError::Decode`].
pub fn decode(mut input: &[u8]) -> Result<Record, RecordError> {
    let input = &mut input;
    let [version, kind] = take_array::<2>(input)?;
    if version != VERSION {
        return Err(RecordError::Version(version));
    }
    let record = match kind {
        KIND_CREATED => Record::Created,
        KIND_TX => Record::Tx(get_tx(input)?),
        KIND_CONNECTED | KIND_DISCONNECTED | KIND_CONNECTED_AT => match ClientChange::get(kind, input)? {
            Some(change) => Record::Client(change),
            None => return Err(RecordError::Kind(kind)),
        },
        KIND_LIFECYCLE => {
            let [change_kind] = take_array::<1>(input)?;
            let change = ClientChange::get(change_kind, input)?.ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "a lifecycle transaction's client change has kind {change_kind}"
                ))
            })?;
            Record::Lifecycle(get_tx(input)?, change)
        }
        KIND_MODULE => Record::Module(get_string(input)?),
        KIND_MIGRATION => {
            let hash = get_string(input)?;
            let published_at_micros = i64::from_le_bytes(take_array(input)?);
            let publisher = Identity::from_byte_array(take_array(input)?);
            let summary = get_string(input)?;
            let state = get_bytes(input)?.to_vec();
            Record::Migration(Migration {
                hash,
                published_at_micros,
                publisher,
                summary,
                state,
            })
        }
        other => return Err(RecordError::Kind(other)),
    };
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes(input.len()).into());
    }
    Ok(record)
}

/// Reads a transaction's tables, as kinds 1 and 7 hold them.
fn get_tx(input: &mut &[u8]) -> Result<Vec<TableRecord>, DecodeError> {
    let n = decode_len(input, 12)?;
    let mut tables = Vec::with_capacity(n);
    for _ in 0..n {
        let name = get_string(input)?;
        let deletes = get_rows(input)?;
        let inserts = get_rows(input)?;
        tables.push(TableRecord { name, deletes, inserts });
    }
    Ok(tables)
}

/// Applies a transaction record to `ds` as one transaction, without running any
/// reducer. Sequences are moved past every value an inserted row holds in a sequence
/// column, so no value handed out before the restart is handed out again (a deleted
/// row's value included: its insert is in the log or in the snapshot's sequence state).
///
/// A row whose sequence column holds 0 would have a fresh value generated on insert;
/// sequences never generate 0 unless a module declares a range that includes it, which
/// is the one case this replay does not reproduce exactly.
///
/// Returns the transaction's net changes, which a follower publishes to its
/// subscribers.
///
/// # Errors
/// [`RecordError::UnknownTable`], [`RecordError::MissingRow`],
/// [`RecordError::Datastore`]; then `ds` is unchanged.
pub fn apply(ds: &mut Datastore, tables: &[TableRecord]) -> Result<TxData, RecordError> {
    let mut tx = ds.begin_mut_tx();
    let mut ids = Vec::with_capacity(tables.len());
    for t in tables {
        let id = tx
            .table_id_from_name(&t.name)
            .map_err(|_| RecordError::UnknownTable(t.name.clone()))?;
        ids.push(id);
        for row in &t.deletes {
            let found = tx.delete_row(id, row).map_err(|source| RecordError::Datastore {
                table: t.name.clone(),
                source,
            })?;
            if !found {
                return Err(RecordError::MissingRow(t.name.clone()));
            }
        }
    }
    for (t, &id) in tables.iter().zip(&ids) {
        for row in &t.inserts {
            tx.insert_bsatn(id, row).map_err(|source| RecordError::Datastore {
                table: t.name.clone(),
                source,
            })?;
        }
    }
    let changes = tx.commit();
    for (t, &id) in tables.iter().zip(&ids) {
        advance_sequences(ds, id, &t.name, &t.inserts)?;
    }
    Ok(changes)
}

/// Moves the sequences of table `id` past the values `rows` hold in their columns.
pub(crate) fn advance_sequences(
    ds: &mut Datastore,
    id: spacetime_sats::TableId,
    name: &str,
    rows: &[Box<[u8]>],
) -> Result<(), RecordError> {
    let err = |source| RecordError::Datastore {
        table: name.to_owned(),
        source,
    };
    let columns: Vec<ColId> = ds
        .table_schema(id)
        .map_err(err)?
        .sequences
        .iter()
        .map(|s| s.2)
        .collect();
    if columns.is_empty() {
        return Ok(());
    }
    for row in rows {
        let value = ds.decode_row(id, row).map_err(err)?;
        for &col in &columns {
            if let Some(v) = value.elements.get(col.0 as usize).and_then(|v| v.as_i128()) {
                ds.advance_sequence_past(id, col, v).map_err(err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_datastore::TableChanges;
    use spacetime_sats::TableId;

    #[test]
    fn records_round_trip_and_reject_what_they_cannot_read() {
        let tx = TxData {
            tables: vec![TableChanges {
                table_id: TableId(4096),
                table_name: "person".into(),
                inserts: vec![Box::from(&b"abc"[..]), Box::from(&b""[..])],
                deletes: vec![Box::from(&b"x"[..])],
            }],
        };
        let expected = Record::Tx(vec![TableRecord {
            name: "person".into(),
            deletes: vec![Box::from(&b"x"[..])],
            inserts: vec![Box::from(&b"abc"[..]), Box::from(&b""[..])],
        }]);
        assert_eq!(decode(&encode_tx(&tx)).unwrap(), expected);
        assert_eq!(decode(&encode_created()).unwrap(), Record::Created);
        assert_eq!(decode(&encode_module("ab12")).unwrap(), Record::Module("ab12".into()));
        let (identity, connection_id) = (
            Identity::from_byte_array([7; 32]),
            ConnectionId::from_u128(9 << 100 | 5),
        );
        let changes = [
            ClientChange::Connected(identity, connection_id),
            ClientChange::Disconnected(identity, connection_id),
            ClientChange::ConnectedAt(identity, connection_id, "n3 7f".into()),
        ];
        let Record::Tx(tables) = expected.clone() else {
            unreachable!("a transaction record")
        };
        for change in changes {
            assert_eq!(decode(&encode_client(&change)).unwrap(), Record::Client(change.clone()));
            let mut lifecycle = Vec::new();
            encode_lifecycle_into(&tx, &change, &mut lifecycle);
            assert_eq!(
                decode(&lifecycle).unwrap(),
                Record::Lifecycle(tables.clone(), change.clone())
            );
            lifecycle.pop();
            assert!(matches!(decode(&lifecycle), Err(RecordError::Decode(_))));
        }
        // Kinds 2, 3 and 6 as servers before kind 7 wrote them (byte for byte) still read.
        let mut old_connected = vec![1, 2];
        old_connected.extend_from_slice(&[7; 32]);
        old_connected.extend_from_slice(&connection_id.as_le_byte_array());
        assert_eq!(
            decode(&old_connected).unwrap(),
            Record::Client(ClientChange::Connected(identity, connection_id))
        );
        let mut old_at = old_connected.clone();
        old_at[1] = 6;
        old_at.extend_from_slice(&[2, 0, 0, 0, b'n', b'3']);
        assert_eq!(
            decode(&old_at).unwrap(),
            Record::Client(ClientChange::ConnectedAt(identity, connection_id, "n3".into()))
        );
        // A lifecycle record whose change is not a client kind.
        let mut bad = vec![1, 7, 1];
        bad.extend_from_slice(&encode_tx(&tx)[2..]);
        assert!(matches!(decode(&bad), Err(RecordError::Decode(_))));
        let migration = Migration {
            hash: "ab12".into(),
            published_at_micros: -5,
            publisher: identity,
            summary: "add table `pet`".into(),
            state: vec![1, 2, 3],
        };
        let encoded = encode_migration(&migration);
        assert!(is_module(&encoded) && is_migration(&encoded));
        assert_eq!(decode(&encoded).unwrap(), Record::Migration(migration));
        assert!(matches!(decode(&[2, 0]), Err(RecordError::Version(2))));
        assert!(matches!(decode(&[1, 9]), Err(RecordError::Kind(9))));
        let mut truncated = encode_tx(&tx);
        truncated.pop();
        assert!(matches!(decode(&truncated), Err(RecordError::Decode(_))));
    }
}
