//! [`InstanceEnv`]: the host state of one warm instance, the `T` of its
//! `Store<InstanceEnv>`. The import shims reach it through `Caller`; it holds the
//! handle tables, the log sink, the call being served and, only while a call runs, the
//! transaction lent to it.
//!
//! # Lending the transaction
//! The datastore belongs to the database's actor, and a `MutTx<'a>` borrows it, while
//! a `Store`'s data must be `'static`. For the duration of one call
//! [`InstanceEnv::lend_tx`] stores a pointer to the caller's `MutTx` and clears it
//! when the call returns (also on unwind); shims reach it through
//! [`InstanceEnv::tx`]. This costs two stores per call, versus moving the datastore in
//! and out of the store or boxing the transaction.

use crate::abi::handles::{BytesSink, BytesSource, ConsoleTimer, Handles, RowIter};
use crate::abi::memory::{AbiResult, NOT_IN_TRANSACTION};
use crate::egress::Egress;
use crate::environment::Environments;
use crate::limits::SinkKind;
use crate::logs::{LogLevel, LogSink, ModuleLogRecord};
use crate::procedure::{ProcedureHost, TxLoan};
use crate::runtime::GuestLimits;
use crate::view_reads::ViewReads;
use spacetime_datastore::{IndexKey, MutTx};
use spacetime_sats::{ConnectionId, Identity, ReducerId, TableId, Timestamp};
use std::ptr::NonNull;
use std::sync::Arc;
use wasmtime::{Memory, Store};

/// The host state of one instance.
pub struct InstanceEnv {
    /// The guest's exported memory, recorded right after instantiation.
    pub(crate) memory: Option<Memory>,
    pub(crate) limits: GuestLimits,
    tx: Option<LentTx>,
    /// The identity of the database the instance serves (ABI `identity`).
    pub(crate) database_identity: Identity,
    /// What the instance is doing, for log records and the scheduling checks.
    pub(crate) call: CallInfo,
    /// Reducer names, by id, for log records.
    pub(crate) reducer_names: Arc<[String]>,
    pub(crate) iters: Handles<RowIter>,
    iter_pool: Vec<RowIter>,
    pub(crate) sources: Handles<BytesSource>,
    source_pool: Vec<BytesSource>,
    pub(crate) sinks: Handles<BytesSink>,
    sink_pool: Vec<Vec<u8>>,
    pub(crate) timers: Handles<ConsoleTimer>,
    pub(crate) logs: Arc<dyn LogSink>,
    /// The message of the last PANIC-level log line, which precedes a panic's trap.
    pub(crate) panic_message: Option<String>,
    /// The calling connection and its token payload, for `get_jwt`; set per call.
    pub(crate) caller_jwt: Option<(ConnectionId, Box<str>)>,
    /// Set while a procedure runs: what it may ask of the engine and its open transaction.
    pub(crate) procedure: Option<ProcedureState>,
    /// Every database's environment values, for `env_get`.
    pub(crate) environments: Environments,
    /// Reducer calls queued by `volatile_nonatomic_schedule_immediate`, until the engine
    /// takes them ([`crate::ModuleInstance::take_immediate_calls`]).
    pub(crate) immediate: Vec<ImmediateCall>,
    /// Set while a view runs: what it has read so far (its read set).
    pub(crate) view_reads: Option<ViewReads>,
}

/// The most reducer calls one call may queue with `volatile_nonatomic_schedule_immediate`.
pub const MAX_IMMEDIATE_CALLS: usize = 1024;

/// A reducer call queued with `volatile_nonatomic_schedule_immediate`, to run right after
/// the call that queued it, outside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmediateCall {
    /// The reducer's name (one of the module's reducers).
    pub reducer: String,
    /// The BSATN of its arguments, as the module wrote them (checked when it runs).
    pub args: Vec<u8>,
}

/// The host state of a running procedure.
pub(crate) struct ProcedureState {
    /// The engine side: lends transactions.
    pub(crate) host: Box<dyn ProcedureHost>,
    /// The transaction opened by `procedure_start_mut_tx`, until commit or abort.
    pub(crate) loan: Option<TxLoan>,
    /// The outbound HTTP client.
    pub(crate) egress: Arc<Egress>,
    /// The epoch deadline to restore after a blocking import (the wait does not count
    /// against the time budget).
    pub(crate) budget_ticks: u64,
    /// How many transactions it committed.
    pub(crate) committed: u32,
}

/// The call an instance is serving.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallInfo {
    /// The reducer running, or `None` during set-up and describe.
    pub(crate) reducer: Option<ReducerId>,
    /// The call's timestamp (the transaction's time).
    pub(crate) timestamp: Timestamp,
}

/// A pointer to the transaction lent for one call.
struct LentTx(NonNull<MutTx<'static>>);

// SAFETY: the pointer is set and cleared by `lend_tx` on the thread that owns both the
// store and the transaction, and is only dereferenced inside that call.
unsafe impl Send for LentTx {}
unsafe impl Sync for LentTx {}

impl InstanceEnv {
    pub(crate) fn new(
        database_identity: Identity,
        logs: Arc<dyn LogSink>,
        memory_limit: usize,
        reducer_names: Arc<[String]>,
    ) -> Self {
        Self {
            memory: None,
            limits: GuestLimits { memory_limit },
            tx: None,
            database_identity,
            call: CallInfo::default(),
            reducer_names,
            iters: Handles::default(),
            iter_pool: Vec::new(),
            sources: Handles::default(),
            source_pool: Vec::new(),
            sinks: Handles::default(),
            sink_pool: Vec::new(),
            timers: Handles::default(),
            logs,
            panic_message: None,
            caller_jwt: None,
            procedure: None,
            environments: Environments::default(),
            immediate: Vec::new(),
            view_reads: None,
        }
    }

    /// The transaction lent for the current call.
    ///
    /// # Errors
    /// `NOT_IN_TRANSACTION` outside a call (during set-up or describe).
    #[inline]
    pub(crate) fn tx(&mut self) -> AbiResult<&mut MutTx<'static>> {
        match (&mut self.tx, &mut self.procedure) {
            // SAFETY: `lend_tx` keeps the pointee exclusively borrowed for as long as
            // the pointer is set, and `&mut self` keeps this borrow from outliving it.
            (Some(lent), _) => Ok(unsafe { lent.0.as_mut() }),
            (None, Some(ProcedureState { loan: Some(loan), .. })) => Ok(loan.tx()),
            _ => Err(NOT_IN_TRANSACTION),
        }
    }

    /// Records that the running view (if any) read every row of `table`.
    pub(crate) fn note_read(&mut self, table: TableId) {
        if let Some(reads) = &mut self.view_reads {
            reads.read_all(table);
        }
    }

    /// Records that the running view (if any) read the rows of an index scan whose
    /// key `decode` gives from the lent transaction. A key that does not decode is not
    /// recorded: the scan fails the same way and reads nothing.
    pub(crate) fn note_index_read(
        &mut self,
        decode: impl FnOnce(&MutTx<'static>) -> spacetime_datastore::Result<IndexKey>,
    ) {
        if self.view_reads.is_none() {
            return;
        }
        let key = self.tx().ok().and_then(|tx| decode(tx).ok());
        if let (Some(key), Some(reads)) = (key, &mut self.view_reads) {
            reads.read_key(key);
        }
    }

    /// Whether a transaction is lent (a reducer call, or a procedure's `with_tx`).
    pub(crate) fn in_tx(&self) -> bool {
        self.tx.is_some() || self.procedure.as_ref().is_some_and(|p| p.loan.is_some())
    }

    /// Runs `f` with `tx` reachable from the shims, then takes it back (also if `f`
    /// unwinds).
    pub(crate) fn lend_tx<R>(
        store: &mut Store<InstanceEnv>,
        tx: &mut MutTx<'_>,
        f: impl FnOnce(&mut Store<InstanceEnv>) -> R,
    ) -> R {
        struct Reclaim<'s>(&'s mut Store<InstanceEnv>);
        impl Drop for Reclaim<'_> {
            fn drop(&mut self) {
                self.0.data_mut().tx = None;
            }
        }
        // Only the lifetime is erased; `Reclaim` clears the pointer before the borrow
        // of `tx` ends.
        store.data_mut().tx = Some(LentTx(NonNull::from(tx).cast::<MutTx<'static>>()));
        let guard = Reclaim(store);
        f(guard.0)
    }

    /// A fresh row iterator, reusing a pooled buffer.
    pub(crate) fn new_row_iter(&mut self) -> RowIter {
        self.iter_pool.pop().unwrap_or_default()
    }

    /// Returns an iterator's buffers to the pool.
    pub(crate) fn recycle_row_iter(&mut self, mut iter: RowIter) {
        iter.reset();
        self.iter_pool.push(iter);
    }

    /// Registers `bytes` as a bytes source and returns its handle (0 when empty: the
    /// ABI's "no bytes").
    pub(crate) fn new_source(&mut self, bytes: &[u8]) -> u32 {
        if bytes.is_empty() {
            return 0;
        }
        let mut source = self.source_pool.pop().unwrap_or_default();
        source.bytes.extend_from_slice(bytes);
        self.sources.insert(source)
    }

    /// Registers `bytes` as a bytes source even when empty (a present empty value is not
    /// "no bytes"), and returns its handle.
    pub(crate) fn new_source_always(&mut self, bytes: &[u8]) -> u32 {
        let mut source = self.source_pool.pop().unwrap_or_default();
        source.bytes.extend_from_slice(bytes);
        self.sources.insert(source)
    }

    /// Frees a drained bytes source.
    pub(crate) fn recycle_source(&mut self, mut source: BytesSource) {
        source.bytes.clear();
        source.pos = 0;
        self.source_pool.push(source);
    }

    /// A new empty bytes sink for `kind`, which caps what the guest may write to it.
    pub(crate) fn new_sink(&mut self, kind: SinkKind) -> u32 {
        let bytes = self.sink_pool.pop().unwrap_or_default();
        self.sinks.insert(BytesSink { bytes, kind })
    }

    /// Removes a sink, returning what was written to it.
    pub(crate) fn take_sink(&mut self, handle: u32) -> Vec<u8> {
        self.sinks.take(handle).map(|sink| sink.bytes).unwrap_or_default()
    }

    /// Returns a sink's buffer to the pool.
    pub(crate) fn recycle_sink(&mut self, mut sink: Vec<u8>) {
        sink.clear();
        self.sink_pool.push(sink);
    }

    /// Frees every handle the last call left open.
    pub(crate) fn end_call(&mut self) {
        self.caller_jwt = None;
        let (mut iters, mut sources, mut sinks) = (
            std::mem::take(&mut self.iter_pool),
            std::mem::take(&mut self.source_pool),
            std::mem::take(&mut self.sink_pool),
        );
        self.iters.drain(|mut it| {
            it.reset();
            iters.push(it);
        });
        self.sources.drain(|mut s| {
            s.bytes.clear();
            s.pos = 0;
            sources.push(s);
        });
        self.sinks.drain(|mut s| {
            s.bytes.clear();
            sinks.push(s.bytes);
        });
        self.timers.drain(drop);
        (self.iter_pool, self.source_pool, self.sink_pool) = (iters, sources, sinks);
        self.call = CallInfo::default();
    }

    /// Sends one log line to the sink, remembering panic messages.
    pub(crate) fn log(
        &mut self,
        level: LogLevel,
        target: Option<String>,
        filename: Option<String>,
        line_number: Option<u32>,
        message: String,
    ) {
        if level == LogLevel::Panic {
            self.panic_message = Some(message.clone());
        }
        let function = self
            .call
            .reducer
            .and_then(|id| self.reducer_names.get(id.idx()).cloned());
        self.logs.log(ModuleLogRecord {
            level,
            ts: Timestamp::now(),
            target,
            filename,
            line_number,
            function,
            message,
        });
    }
}
