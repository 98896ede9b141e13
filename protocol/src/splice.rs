//! Server messages assembled from shared, already encoded parts.
//!
//! A transaction's update for one query is the same bytes for every client subscribed
//! to it, so a server encodes each query's `TableUpdate` once ([`EncodedTableUpdate`])
//! and writes each client's `TransactionUpdate` or `ReducerResult` as its query set
//! ids and counts around those bytes ([`transaction_update`], [`reducer_ok`]). The
//! output is exactly the BSATN of the [`v2`](crate::v2) types; the tests decode it with
//! them.

use crate::v2::{EventTableRows, PersistentTableRows, TableUpdate, TableUpdateRows};
use crate::BsatnRowList;
use spacetime_sats::bsatn::Encode;
use spacetime_sats::Timestamp;
use std::sync::Arc;

/// Tag of `ServerMessage::TransactionUpdate` (its variant index).
const TAG_TRANSACTION_UPDATE: u8 = 4;
/// Tag of `ServerMessage::ReducerResult`.
const TAG_REDUCER_RESULT: u8 = 6;
/// Tag of `ReducerOutcome::Ok`.
const TAG_OUTCOME_OK: u8 = 0;

/// The BSATN of one query's `TableUpdate`, shared by every client subscribed to it.
#[derive(Debug, Clone)]
pub struct EncodedTableUpdate(Arc<[u8]>);

impl EncodedTableUpdate {
    /// The update of a persistent table: rows (each one BSATN row) inserted and
    /// deleted.
    pub fn persistent(table: &str, inserts: &[Vec<u8>], deletes: &[Vec<u8>]) -> Self {
        Self::encode(
            table,
            TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: BsatnRowList::from_rows(inserts),
                deletes: BsatnRowList::from_rows(deletes),
            }),
        )
    }

    /// The update of an event table: the rows the transaction emitted.
    pub fn events(table: &str, events: &[Vec<u8>]) -> Self {
        Self::encode(
            table,
            TableUpdateRows::EventTable(EventTableRows {
                events: BsatnRowList::from_rows(events),
            }),
        )
    }

    fn encode(table: &str, rows: TableUpdateRows) -> Self {
        let update = TableUpdate {
            table_name: table.to_owned(),
            rows: vec![rows],
        };
        Self(spacetime_sats::bsatn::to_vec(&update).into())
    }
}

/// One changed query set of one client: its id and its queries' updates.
#[derive(Debug)]
pub struct QuerySetBytes<'a> {
    /// The client's id for the set.
    pub query_set_id: u32,
    /// The updates of its changed queries.
    pub tables: Vec<&'a EncodedTableUpdate>,
}

/// A length prefix. A client has fewer than 2^32 query sets, and a query set fewer
/// than 2^32 queries, because both arrive in messages whose counts are `u32`s.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Writes the BSATN of a `TransactionUpdate { query_sets }`.
fn write_transaction_update(out: &mut Vec<u8>, sets: &[QuerySetBytes<'_>]) {
    len_u32(sets.len()).encode(out);
    for set in sets {
        set.query_set_id.encode(out);
        len_u32(set.tables.len()).encode(out);
        for table in &set.tables {
            out.extend_from_slice(&table.0);
        }
    }
}

/// The BSATN of `ServerMessage::TransactionUpdate` for these query sets.
pub fn transaction_update(sets: &[QuerySetBytes<'_>]) -> Vec<u8> {
    let mut out = vec![TAG_TRANSACTION_UPDATE];
    write_transaction_update(&mut out, sets);
    out
}

/// The BSATN of `ServerMessage::ReducerResult` with an `Ok` outcome (empty return
/// value) embedding the caller's changed query sets.
pub fn reducer_ok(request_id: u32, timestamp: Timestamp, sets: &[QuerySetBytes<'_>]) -> Vec<u8> {
    let mut out = vec![TAG_REDUCER_RESULT];
    request_id.encode(&mut out);
    timestamp.encode(&mut out);
    out.push(TAG_OUTCOME_OK);
    Vec::<u8>::new().encode(&mut out);
    write_transaction_update(&mut out, sets);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::{QuerySetUpdate, ReducerOk, ReducerOutcome, ReducerResult, ServerMessage, TransactionUpdate};
    use crate::QuerySetId;

    fn inserts() -> Vec<Vec<u8>> {
        vec![vec![1, 2], vec![3, 4]]
    }

    fn deletes() -> Vec<Vec<u8>> {
        vec![vec![5, 6, 7]]
    }

    fn expected_update() -> TransactionUpdate {
        let table = |name: &str| TableUpdate {
            table_name: name.into(),
            rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: BsatnRowList::from_rows(inserts()),
                deletes: BsatnRowList::from_rows(deletes()),
            })],
        };
        TransactionUpdate {
            query_sets: vec![
                QuerySetUpdate {
                    query_set_id: QuerySetId::new(7),
                    tables: vec![table("a"), table("b")],
                },
                QuerySetUpdate {
                    query_set_id: QuerySetId::new(9),
                    tables: vec![table("a")],
                },
            ],
        }
    }

    fn sets<'a>(a: &'a EncodedTableUpdate, b: &'a EncodedTableUpdate) -> Vec<QuerySetBytes<'a>> {
        vec![
            QuerySetBytes {
                query_set_id: 7,
                tables: vec![a, b],
            },
            QuerySetBytes {
                query_set_id: 9,
                tables: vec![a],
            },
        ]
    }

    #[test]
    fn assembled_messages_decode_as_the_protocol_types() {
        let a = EncodedTableUpdate::persistent("a", &inserts(), &deletes());
        let b = EncodedTableUpdate::persistent("b", &inserts(), &deletes());
        let decoded = ServerMessage::from_bytes(&transaction_update(&sets(&a, &b))).unwrap();
        assert_eq!(decoded, ServerMessage::TransactionUpdate(expected_update()));

        let timestamp = Timestamp::from_micros_since_unix_epoch(1_234);
        let decoded = ServerMessage::from_bytes(&reducer_ok(42, timestamp, &sets(&a, &b))).unwrap();
        let expected = ServerMessage::ReducerResult(ReducerResult {
            request_id: 42,
            timestamp,
            result: ReducerOutcome::Ok(ReducerOk {
                ret_value: vec![],
                transaction_update: expected_update(),
            }),
        });
        assert_eq!(decoded, expected);
    }

    #[test]
    fn event_updates_decode_as_event_rows() {
        let e = EncodedTableUpdate::events("e", &inserts());
        let sets = [QuerySetBytes {
            query_set_id: 1,
            tables: vec![&e],
        }];
        let ServerMessage::TransactionUpdate(update) = ServerMessage::from_bytes(&transaction_update(&sets)).unwrap()
        else {
            panic!("not a TransactionUpdate");
        };
        assert_eq!(
            update.query_sets[0].tables[0].rows,
            [TableUpdateRows::EventTable(EventTableRows {
                events: BsatnRowList::from_rows(inserts()),
            })]
        );
    }
}
