//! Requests answered by one reply and nothing else: procedure calls and one-off queries.
//!
//! Each is sent by the connection's run methods and waits in the dispatcher under its
//! request id; the reply (or the connection's end) completes it exactly once, through a
//! [`Reply`]. An application sees the result either as a future ([`ProcedureCall`],
//! [`OneOffQuery`]) or, for procedures, in a callback with a [`ProcedureEventContext`].
//!
//! [`ProcedureEventContext`]: crate::ProcedureEventContext

use crate::cache::Row;
use crate::connection::DbContextImpl;
use crate::error::{Error, InternalError, Result};
use crate::module::SpacetimeModule;
use bytes::Bytes;
use spacetime_protocol::v2;
use spacetime_sats::bsatn::{self, Decode};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

/// Completes one request with its outcome; called once, by the dispatcher, with no cache
/// lock held (so a callback may read the cache and queue more requests).
pub(crate) type Reply<M, T> = Box<dyn FnOnce(&DbContextImpl<M>, Result<T>) + Send + 'static>;

/// Decodes a procedure's returned BSATN as `T`, the procedure's declared return type.
pub(crate) fn decode_return<T: Decode>(procedure: &str, bytes: &[u8]) -> Result<T> {
    bsatn::from_slice(bytes).map_err(|e| {
        Error::Internal(
            InternalError::new(format!(
                "cannot decode the value procedure `{procedure}` returned as {}; the bindings are probably out of \
                 date: re-run `spacetime generate`",
                std::any::type_name::<T>()
            ))
            .with_cause(e),
        )
    })
}

/// A reply channel and the [`Reply`] that feeds it.
pub(crate) fn channel<M: SpacetimeModule, T: Send + 'static>() -> (Reply<M, T>, oneshot::Receiver<Result<T>>) {
    let (tx, rx) = oneshot::channel();
    let reply: Reply<M, T> = Box::new(move |_, outcome| {
        // The caller may have dropped the future: then nobody wants the outcome.
        let _ = tx.send(outcome);
    });
    (reply, rx)
}

/// Polls a reply channel; a channel closed without a reply means the connection dropped
/// the request (it ended while the request waited).
fn poll_reply<T>(rx: &mut oneshot::Receiver<Result<T>>, cx: &mut Context<'_>, what: &str) -> Poll<Result<T>> {
    Pin::new(rx).poll(cx).map(|outcome| {
        outcome.unwrap_or_else(|_| {
            Err(Error::Internal(InternalError::new(format!(
                "the connection ended before the {what} was answered"
            ))))
        })
    })
}

/// The result of a procedure call, as a future: the value the procedure returned, decoded
/// as `T`.
///
/// It completes only while something drives the connection (`run_threaded`, `run_async`,
/// or the `advance_one_message*` and `frame_tick` methods on another task), since the
/// reply is one of the messages those methods process.
///
/// # Errors
/// [`Error::ProcedureFailed`] with the host's message if the procedure panicked or failed
/// in the host; [`Error::Internal`] if the connection ended before the result arrived or
/// the value does not decode as `T`; [`Error::Disconnected`] if the connection had already
/// ended when the call was made.
#[must_use = "a procedure call's future does nothing unless awaited; the call itself is already queued"]
pub struct ProcedureCall<T> {
    state: CallState,
    procedure: &'static str,
    ty: PhantomData<fn() -> T>,
}

enum CallState {
    Waiting(oneshot::Receiver<Result<Bytes>>),
    Failed(Option<Error>),
}

impl<T> ProcedureCall<T> {
    pub(crate) fn waiting(procedure: &'static str, rx: oneshot::Receiver<Result<Bytes>>) -> Self {
        Self {
            state: CallState::Waiting(rx),
            procedure,
            ty: PhantomData,
        }
    }

    pub(crate) fn failed(procedure: &'static str, error: Error) -> Self {
        Self {
            state: CallState::Failed(Some(error)),
            procedure,
            ty: PhantomData,
        }
    }
}

impl<T: Decode> Future for ProcedureCall<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        let procedure = this.procedure;
        match &mut this.state {
            CallState::Failed(error) => Poll::Ready(Err(error.take().unwrap_or(Error::Disconnected))),
            CallState::Waiting(rx) => poll_reply(rx, cx, &format!("call of procedure `{procedure}`"))
                .map(|outcome| outcome.and_then(|bytes| decode_return(procedure, &bytes))),
        }
    }
}

/// The rows a one-off query returned, grouped by table as the server sent them.
#[derive(Debug, Clone, Default)]
pub struct QueryRows {
    tables: Vec<QueryTable>,
}

/// The rows of one table in a [`QueryRows`].
#[derive(Debug, Clone)]
pub struct QueryTable {
    /// The table's (or view's) wire name.
    pub name: String,
    /// Each row's BSATN, in the server's order.
    pub rows: Vec<Bytes>,
}

impl QueryRows {
    pub(crate) fn from_wire(rows: v2::QueryRows) -> Self {
        let tables = rows
            .tables
            .into_iter()
            .map(|t| QueryTable {
                name: t.table,
                rows: t.rows.iter().collect(),
            })
            .collect();
        Self { tables }
    }

    /// Every table the answer has rows for, in the server's order (raw BSATN rows).
    pub fn tables(&self) -> &[QueryTable] {
        &self.tables
    }

    /// The number of rows over all tables.
    pub fn len(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// Whether the query matched no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows of `table`, decoded as `R` (the table's generated row type); none if the
    /// answer has no rows of that table.
    ///
    /// # Errors
    /// [`Error::Internal`] if a row does not decode as `R`.
    pub fn rows_of<R: Row>(&self, table: &str) -> Result<Vec<R>> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| t.rows.iter().map(move |row| (t, row)))
            .map(|(t, row)| decode_row(&t.name, row))
            .collect()
    }

    /// Every row of the answer decoded as `R`: for a query of one table (`SELECT * FROM
    /// t …`), the typed result.
    ///
    /// # Errors
    /// [`Error::Internal`] if a row does not decode as `R` (a query over another table, or
    /// out-of-date bindings).
    pub fn into_rows<R: Row>(self) -> Result<Vec<R>> {
        self.tables
            .iter()
            .flat_map(|t| t.rows.iter().map(move |row| (t, row)))
            .map(|(t, row)| decode_row(&t.name, row))
            .collect()
    }
}

fn decode_row<R: Row>(table: &str, row: &[u8]) -> Result<R> {
    bsatn::from_slice(row).map_err(|e| {
        Error::Internal(
            InternalError::new(format!(
                "cannot decode a row of `{table}` from a one-off query as {}: ask for the table's own row type, or \
                 re-run `spacetime generate` if the module changed",
                std::any::type_name::<R>()
            ))
            .with_cause(e),
        )
    })
}

/// The result of a one-off query, as a future; completes as [`ProcedureCall`] does.
///
/// # Errors
/// [`Error::QueryFailed`] with the server's message if the query was refused;
/// [`Error::Internal`] if the connection ended first; [`Error::Disconnected`] if it had
/// already ended when the query was made.
#[must_use = "a one-off query's future does nothing unless awaited; the query itself is already queued"]
pub struct OneOffQuery {
    state: QueryState,
}

enum QueryState {
    Waiting(oneshot::Receiver<Result<QueryRows>>),
    Failed(Option<Error>),
}

impl OneOffQuery {
    pub(crate) fn waiting(rx: oneshot::Receiver<Result<QueryRows>>) -> Self {
        Self {
            state: QueryState::Waiting(rx),
        }
    }

    pub(crate) fn failed(error: Error) -> Self {
        Self {
            state: QueryState::Failed(Some(error)),
        }
    }
}

impl Future for OneOffQuery {
    type Output = Result<QueryRows>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<QueryRows>> {
        match &mut self.get_mut().state {
            QueryState::Failed(error) => Poll::Ready(Err(error.take().unwrap_or(Error::Disconnected))),
            QueryState::Waiting(rx) => poll_reply(rx, cx, "one-off query"),
        }
    }
}
