//! The v2 messages: what a client sends ([`ClientMessage`]) and what a server sends
//! ([`ServerMessage`]). Field order is wire order; an enum's BSATN tag is the variant index.
//!
//! Every request carries a client-chosen `request_id` that the server echoes in its reply.
//! Row data inside messages is opaque here: each row is the BSATN of one row of the table
//! the message names, and only a reader who knows the module's schema can decode it.

use crate::common::{BsatnRowList, QuerySetId};
use spacetime_sats::bsatn::{Decode, DecodeError, Encode};
use spacetime_sats::{ConnectionId, Identity, TimeDuration, Timestamp};

/// The `Sec-WebSocket-Protocol` of v2: binary frames holding one message each.
pub const BIN_PROTOCOL: &str = "v2.bsatn.spacetimedb";

wire_enum! {
    /// A message from the client to the server.
    pub enum ClientMessage {
        /// Adds a query set; answered by `SubscribeApplied` or `SubscriptionError`.
        Subscribe(Subscribe),
        /// Removes a query set; answered by `UnsubscribeApplied`.
        Unsubscribe(Unsubscribe),
        /// Runs one query once; answered by `OneOffQueryResult`.
        OneOffQuery(OneOffQuery),
        /// Calls a reducer; answered by `ReducerResult`.
        CallReducer(CallReducer),
        /// Calls a procedure; answered by `ProcedureResult`.
        CallProcedure(CallProcedure),
    }
}

wire_struct! {
    /// Adds the query set `query_set_id`, made of `query_strings` (each one SQL `SELECT`).
    pub struct Subscribe {
        /// Echoed in the reply.
        pub request_id: u32,
        /// The new query set's id.
        pub query_set_id: QuerySetId,
        /// The queries.
        pub query_strings: Vec<String>,
    }
}

wire_struct! {
    /// Ends the query set `query_set_id`.
    pub struct Unsubscribe {
        /// Echoed in the reply.
        pub request_id: u32,
        /// The query set to end.
        pub query_set_id: QuerySetId,
        /// Whether the reply should carry the rows to remove.
        pub flags: UnsubscribeFlags,
    }
}

wire_enum! {
    /// Options of [`Unsubscribe`].
    #[derive(Copy, Default)]
    pub enum UnsubscribeFlags {
        /// The reply carries no rows.
        #[default]
        Default,
        /// The reply carries the rows the client should drop from its cache.
        SendDroppedRows,
    }
}

wire_struct! {
    /// Runs `query_string` once, without live updates.
    pub struct OneOffQuery {
        /// Echoed in the reply.
        pub request_id: u32,
        /// One SQL `SELECT`.
        pub query_string: String,
    }
}

/// The reserved flags byte of [`CallReducer`] and [`CallProcedure`]: always 0 today.
///
/// It travels as a plain `u8`, not as a sum, so decoding rejects any other value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallFlags {
    /// The only defined value, 0.
    #[default]
    Default,
}

impl Encode for CallFlags {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(0);
    }
}

impl Decode for CallFlags {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match u8::decode(input)? {
            0 => Ok(Self::Default),
            other => Err(DecodeError::Invalid(format!(
                "invalid call flags {other}: the only defined value is 0"
            ))),
        }
    }
}

wire_struct! {
    /// Calls the reducer `reducer` with `args`, the BSATN of its argument product.
    pub struct CallReducer {
        /// Echoed in the reply.
        pub request_id: u32,
        /// Reserved; always [`CallFlags::Default`].
        pub flags: CallFlags,
        /// The reducer's canonical name.
        pub reducer: String,
        /// The BSATN of the arguments, as one product.
        pub args: Vec<u8>,
    }
}

wire_struct! {
    /// Calls the procedure `procedure` with `args`, the BSATN of its argument product.
    pub struct CallProcedure {
        /// Echoed in the reply.
        pub request_id: u32,
        /// Reserved; always [`CallFlags::Default`].
        pub flags: CallFlags,
        /// The procedure's canonical name.
        pub procedure: String,
        /// The BSATN of the arguments, as one product.
        pub args: Vec<u8>,
    }
}

wire_enum! {
    /// A message from the server to the client.
    pub enum ServerMessage {
        /// The first message of every connection.
        InitialConnection(InitialConnection),
        /// The initial rows of a new query set.
        SubscribeApplied(SubscribeApplied),
        /// Confirms that a query set ended.
        UnsubscribeApplied(UnsubscribeApplied),
        /// A query set failed to start, or failed later and ended.
        SubscriptionError(SubscriptionError),
        /// The changes one transaction made to the client's query sets.
        TransactionUpdate(TransactionUpdate),
        /// The reply to a `OneOffQuery`.
        OneOffQueryResult(OneOffQueryResult),
        /// The reply to a `CallReducer`.
        ReducerResult(ReducerResult),
        /// The reply to a `CallProcedure`.
        ProcedureResult(ProcedureResult),
    }
}

wire_struct! {
    /// Who the client is on this connection; `token` is the token to reconnect with.
    pub struct InitialConnection {
        /// The client's identity.
        pub identity: Identity,
        /// This connection's id.
        pub connection_id: ConnectionId,
        /// The token the client presented, or a newly minted one for an anonymous client.
        pub token: String,
    }
}

wire_struct! {
    /// The rows matching a new query set when it was applied.
    pub struct SubscribeApplied {
        /// The `Subscribe`'s request id.
        pub request_id: u32,
        /// The new query set.
        pub query_set_id: QuerySetId,
        /// Its initial rows.
        pub rows: QueryRows,
    }
}

wire_struct! {
    /// Rows grouped by table, at one point in time.
    pub struct QueryRows {
        /// One entry per table (a table may appear more than once).
        pub tables: Vec<SingleTableRows>,
    }
}

wire_struct! {
    /// The rows of one table.
    pub struct SingleTableRows {
        /// The table's canonical (wire) name.
        pub table: String,
        /// Its rows.
        pub rows: BsatnRowList,
    }
}

wire_struct! {
    /// Confirms that `query_set_id` ended; its id may be reused.
    pub struct UnsubscribeApplied {
        /// The `Unsubscribe`'s request id.
        pub request_id: u32,
        /// The ended query set.
        pub query_set_id: QuerySetId,
        /// The rows to drop, if the client asked for them.
        pub rows: Option<QueryRows>,
    }
}

wire_struct! {
    /// A query set failed; it has ended and its id may be reused.
    pub struct SubscriptionError {
        /// The `Subscribe`'s request id if the set failed to start; `None` if it was live
        /// and failed while evaluating a later transaction.
        pub request_id: Option<u32>,
        /// The failed query set.
        pub query_set_id: QuerySetId,
        /// What went wrong, for people.
        pub error: String,
    }
}

wire_struct! {
    /// The changes one committed transaction made, one entry per affected query set.
    pub struct TransactionUpdate {
        /// The affected query sets.
        pub query_sets: Vec<QuerySetUpdate>,
    }
}

wire_struct! {
    /// The changes to one query set.
    pub struct QuerySetUpdate {
        /// The query set.
        pub query_set_id: QuerySetId,
        /// The changes, by table; a table may appear more than once.
        pub tables: Vec<TableUpdate>,
    }
}

wire_struct! {
    /// The changes to one table.
    pub struct TableUpdate {
        /// The table's canonical (wire) name.
        pub table_name: String,
        /// The changed rows, possibly in several chunks.
        pub rows: Vec<TableUpdateRows>,
    }
}

wire_enum! {
    /// One chunk of changed rows, by kind of table.
    pub enum TableUpdateRows {
        /// Inserted and deleted rows of a stored table.
        PersistentTable(PersistentTableRows),
        /// Rows of an event table, which are delivered but never stored.
        EventTable(EventTableRows),
    }
}

wire_struct! {
    /// Inserted and deleted rows of a stored table.
    pub struct PersistentTableRows {
        /// Inserted rows.
        pub inserts: BsatnRowList,
        /// Deleted rows.
        pub deletes: BsatnRowList,
    }
}

wire_struct! {
    /// Rows of an event table.
    pub struct EventTableRows {
        /// The events.
        pub events: BsatnRowList,
    }
}

wire_struct! {
    /// The reply to a one-off query.
    pub struct OneOffQueryResult {
        /// The `OneOffQuery`'s request id.
        pub request_id: u32,
        /// The rows, or what went wrong.
        pub result: Result<QueryRows, String>,
    }
}

wire_struct! {
    /// The reply to a reducer call.
    pub struct ReducerResult {
        /// The `CallReducer`'s request id.
        pub request_id: u32,
        /// When the reducer started, in microseconds since the Unix epoch.
        pub timestamp: Timestamp,
        /// How it ended.
        pub result: ReducerOutcome,
    }
}

wire_enum! {
    /// How a reducer call ended.
    pub enum ReducerOutcome {
        /// It committed; carries its return value and the caller's row changes.
        Ok(ReducerOk),
        /// It committed with an empty return value and no row changes for the caller.
        OkEmpty,
        /// It returned an error, the BSATN of its error value (today a `String`); nothing
        /// was committed.
        Err(Vec<u8>),
        /// It panicked, did not exist, got bad arguments, or ran out of energy.
        InternalError(String),
    }
}

wire_struct! {
    /// A committed reducer's return value and the caller's row changes.
    pub struct ReducerOk {
        /// The BSATN of the return value (empty for `()`).
        pub ret_value: Vec<u8>,
        /// The changes to the caller's query sets.
        pub transaction_update: TransactionUpdate,
    }
}

wire_struct! {
    /// The reply to a procedure call. Note the field order: `request_id` comes last.
    pub struct ProcedureResult {
        /// How it ended.
        pub status: ProcedureStatus,
        /// When it started.
        pub timestamp: Timestamp,
        /// How long the host spent running it.
        pub total_host_execution_duration: TimeDuration,
        /// The `CallProcedure`'s request id.
        pub request_id: u32,
    }
}

wire_enum! {
    /// How a procedure call ended.
    pub enum ProcedureStatus {
        /// It returned this value (BSATN of its return type).
        Returned(Vec<u8>),
        /// It failed in the host.
        InternalError(String),
    }
}

impl TransactionUpdate {
    /// Every table update of every query set, in message order.
    pub fn table_updates(&self) -> impl Iterator<Item = (QuerySetId, &TableUpdate)> {
        self.query_sets
            .iter()
            .flat_map(|qs| qs.tables.iter().map(move |t| (qs.query_set_id, t)))
    }
}

impl ServerMessage {
    /// Decodes one message that must fill `bytes` exactly (a v2 frame after decompression).
    ///
    /// # Errors
    /// A [`DecodeError`] naming what was malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        spacetime_sats::bsatn::from_slice(bytes)
    }

    /// The BSATN of this message.
    pub fn to_bytes(&self) -> Vec<u8> {
        spacetime_sats::bsatn::to_vec(self)
    }
}

impl ClientMessage {
    /// Decodes one message that must fill `bytes` exactly (one v2 frame).
    ///
    /// # Errors
    /// A [`DecodeError`] naming what was malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        spacetime_sats::bsatn::from_slice(bytes)
    }

    /// The BSATN of this message: a v2 client frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        spacetime_sats::bsatn::to_vec(self)
    }
}
