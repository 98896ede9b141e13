//! The snapshot payload: every row of every table, and each sequence's state, at one
//! tx offset. The commit log stores it atomically (`SnapshotStore`); this file decides
//! what is in it.
//!
//! # Format (version 1)
//! `version: u8` = 1, `u32` table count, then per table: its name (`u32` length +
//! UTF-8), `u32` sequence count, per sequence `column: u16`, `exhausted: u8` (1 when
//! the sequence is used up) and `next: i128` (the value it hands out next), then
//! `u32` row count and the BSATN rows (each `u32`-length-prefixed). Little-endian.
//! Tables are named for the reason given in `record.rs`.
//!
//! Version 2 appends the clients connected at that offset: a `u32` count, then each
//! as in a "connected" record (`record.rs`). Version 3 (written today) then appends
//! the hosts of those connected through another node of a cluster: a `u32` count,
//! then each `connection_id` (16 bytes) and host (`u32` length + UTF-8), as in a
//! "connected elsewhere" record. Versions 1 (no clients) and 2 (no hosts) are still
//! read.

use super::record::{get_client, get_rows, get_string, put_bytes, put_client, put_len, RecordError};
use spacetime_datastore::Datastore;
use spacetime_sats::bsatn::{decode_len, take_array, DecodeError};
use spacetime_sats::def::raw::TableType;
use spacetime_sats::{ColId, ConnectionId, Identity};

const VERSION: u8 = 3;
/// The first version, without clients.
const VERSION_1: u8 = 1;
/// The second, with clients but not their hosts.
const VERSION_2: u8 = 2;

/// The clients a snapshot holds as connected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SnapshotClients {
    /// Every connected client.
    pub connected: Vec<(Identity, ConnectionId)>,
    /// The node hosting each of them that connected through another node.
    pub hosts: Vec<(ConnectionId, String)>,
}

/// Encodes every table of `ds`, the `clients` connected, and the `hosts` of those
/// connected through another node.
pub fn encode(ds: &Datastore, clients: &[(Identity, ConnectionId)], hosts: &[(ConnectionId, String)]) -> Vec<u8> {
    let mut out = vec![VERSION];
    // System tables hold derived state (views' rows), rebuilt on start: not saved.
    let tables: Vec<_> = ds.tables().filter(|t| t.def.table_type == TableType::User).collect();
    put_len(tables.len(), &mut out);
    for schema in tables {
        let id = schema.table_id;
        put_bytes(schema.def.name.as_bytes(), &mut out);
        let sequences = ds.sequence_states(id).unwrap_or_default();
        put_len(sequences.len(), &mut out);
        for (col, next) in sequences {
            out.extend_from_slice(&col.0.to_le_bytes());
            out.push(u8::from(next.is_none()));
            out.extend_from_slice(&next.unwrap_or(0).to_le_bytes());
        }
        let rows = ds.row_count(id).unwrap_or(0);
        put_len(rows as usize, &mut out);
        for row in ds.scan(id).into_iter().flatten() {
            put_bytes(row.bytes(), &mut out);
        }
    }
    put_len(clients.len(), &mut out);
    for &(identity, connection_id) in clients {
        put_client(identity, connection_id, &mut out);
    }
    put_len(hosts.len(), &mut out);
    for (connection_id, host) in hosts {
        out.extend_from_slice(&connection_id.as_le_byte_array());
        put_bytes(host.as_bytes(), &mut out);
    }
    out
}

/// One table of a snapshot, as [`visit_tables`] hands it over.
pub(crate) struct SnapshotTable {
    /// The table's canonical name.
    pub(crate) name: String,
    /// Each sequence's column and the value it hands out next (`None`: used up).
    pub(crate) sequences: Vec<(ColId, Option<i128>)>,
    /// The BSATN rows.
    pub(crate) rows: Vec<Box<[u8]>>,
}

/// Decodes a snapshot payload table by table (so one table's rows are held at a
/// time), calling `each` for every table; returns the clients connected at the
/// snapshot and their hosts. Restore and the rolling checksum read snapshots through it.
///
/// # Errors
/// [`RecordError`] if the payload is not a snapshot, or `each`'s error.
pub(crate) fn visit_tables(
    mut input: &[u8],
    mut each: impl FnMut(SnapshotTable) -> Result<(), RecordError>,
) -> Result<SnapshotClients, RecordError> {
    let input = &mut input;
    let [version] = take_array::<1>(input)?;
    if ![VERSION_1, VERSION_2, VERSION].contains(&version) {
        return Err(RecordError::Version(version));
    }
    let n = decode_len(input, 12)?;
    for _ in 0..n {
        let name = get_string(input)?;
        let n_seq = decode_len(input, 19)?;
        let mut sequences = Vec::with_capacity(n_seq);
        for _ in 0..n_seq {
            let col = ColId(u16::from_le_bytes(take_array(input)?));
            let [exhausted] = take_array::<1>(input)?;
            let next = i128::from_le_bytes(take_array(input)?);
            sequences.push((col, (exhausted == 0).then_some(next)));
        }
        let rows = get_rows(input)?;
        each(SnapshotTable { name, sequences, rows })?;
    }
    let mut clients = SnapshotClients::default();
    if version >= VERSION_2 {
        let n = decode_len(input, 48)?;
        for _ in 0..n {
            clients.connected.push(get_client(input)?);
        }
    }
    if version >= VERSION {
        let n = decode_len(input, 20)?;
        for _ in 0..n {
            let connection_id = ConnectionId::from_le_byte_array(take_array(input)?);
            clients.hosts.push((connection_id, get_string(input)?));
        }
    }
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes(input.len()).into());
    }
    Ok(clients)
}

/// Loads a snapshot into `ds`, whose tables exist and are empty; returns the clients
/// connected at the snapshot and their hosts.
///
/// # Errors
/// [`RecordError`] if the payload is not a snapshot of this module's tables.
pub fn restore(ds: &mut Datastore, input: &[u8]) -> Result<SnapshotClients, RecordError> {
    visit_tables(input, |SnapshotTable { name, sequences, rows }| {
        let id = ds
            .table_id_from_name(&name)
            .map_err(|_| RecordError::UnknownTable(name.clone()))?;
        let err = |source| RecordError::Datastore {
            table: name.clone(),
            source,
        };
        let mut tx = ds.begin_mut_tx();
        for row in &rows {
            tx.insert_bsatn(id, row).map_err(err)?;
        }
        tx.commit();
        let increments: Vec<(ColId, i128)> = ds
            .table_schema(id)
            .map_err(err)?
            .def
            .sequences
            .iter()
            .map(|s| (s.column, s.increment))
            .collect();
        for (col, next) in sequences {
            let Some(&(_, increment)) = increments.iter().find(|(c, _)| *c == col) else {
                continue;
            };
            // "Continue after the value before `next`" restores `next` exactly; an
            // exhausted sequence is moved past the end of its direction.
            let past = match next {
                Some(next) => next.checked_sub(increment),
                None => Some(if increment > 0 { i128::MAX } else { i128::MIN }),
            };
            if let Some(past) = past {
                ds.advance_sequence_past(id, col, past).map_err(err)?;
            }
        }
        Ok(())
    })
}
