//! Assembling per-client update messages from shared bytes.
//!
//! A query's `TableUpdate` is encoded once per transaction ([`EncodedTableUpdate`]);
//! each client's `TransactionUpdate` or `ReducerResult` is then its query set ids and
//! counts around those bytes, written here in exactly the BSATN layout of the
//! `spacetime-protocol` types (a test decodes the result with them).

use super::QueryDelta;
use spacetime_protocol::v2::{EventTableRows, PersistentTableRows, TableUpdate, TableUpdateRows};
use spacetime_protocol::{BsatnRowList, Encode};
use spacetime_sats::Timestamp;
use std::sync::Arc;

/// Tag of `ServerMessage::TransactionUpdate`.
const TAG_TRANSACTION_UPDATE: u8 = 4;
/// Tag of `ServerMessage::ReducerResult`.
const TAG_REDUCER_RESULT: u8 = 6;
/// Tag of `ReducerOutcome::Ok`.
const TAG_OUTCOME_OK: u8 = 0;

/// The BSATN of one query's `TableUpdate`, shared by every client subscribed to it.
#[derive(Debug, Clone)]
pub struct EncodedTableUpdate(Arc<[u8]>);

impl EncodedTableUpdate {
    /// Encodes `delta` of table `table` (as events for an event table).
    pub fn new(table: &str, event: bool, delta: &QueryDelta) -> Self {
        let rows = if event {
            TableUpdateRows::EventTable(EventTableRows {
                events: BsatnRowList::from_rows(&delta.inserts),
            })
        } else {
            TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: BsatnRowList::from_rows(&delta.inserts),
                deletes: BsatnRowList::from_rows(&delta.deletes),
            })
        };
        let update = TableUpdate {
            table_name: table.to_owned(),
            rows: vec![rows],
        };
        Self(spacetime_sats::bsatn::to_vec(&update).into())
    }
}

/// One changed query set of one client: its id and its queries' updates.
pub struct QuerySetBytes<'a> {
    /// The client's id for the set.
    pub query_set_id: u32,
    /// The updates of its changed queries.
    pub tables: Vec<&'a EncodedTableUpdate>,
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 query sets and tables per message")
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
    use spacetime_protocol::v2::{
        QuerySetUpdate, ReducerOk, ReducerOutcome, ReducerResult, ServerMessage, TransactionUpdate,
    };
    use spacetime_protocol::QuerySetId;

    fn delta() -> QueryDelta {
        QueryDelta {
            inserts: vec![vec![1, 2], vec![3, 4]],
            deletes: vec![vec![5, 6, 7]],
        }
    }

    fn expected_update() -> TransactionUpdate {
        let d = delta();
        let table = |name: &str| TableUpdate {
            table_name: name.into(),
            rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: BsatnRowList::from_rows(&d.inserts),
                deletes: BsatnRowList::from_rows(&d.deletes),
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
        let (a, b) = (
            EncodedTableUpdate::new("a", false, &delta()),
            EncodedTableUpdate::new("b", false, &delta()),
        );
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
}
