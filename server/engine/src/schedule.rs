//! Scheduling: the due-time queue of a database's scheduled tables ([`Scheduler`]),
//! and running a due call ([`Scheduler::run`]). Scheduling is a database concern (rows
//! plus time): the actor drives time (it asks [`Scheduler::next_due`], sleeps, then
//! takes the due calls and runs each), the commit funnel feeds every commit to
//! [`Scheduler::observe`], and the host is only asked to call the reducer. The rules:
//!
//! - inserting a row into a scheduled table queues a call of the table's reducer with
//!   the row as its argument, at `ScheduleAt::Time(t)` or `commit time + interval`;
//!   deleting the row cancels it, and updating it re-queues it;
//! - a scheduled call runs with the database's identity as the sender and no
//!   connection id;
//! - a one-shot row is deleted in the same transaction as a successful run; if the
//!   reducer fails, its transaction is rolled back, the failure is logged, and the row
//!   is deleted in a transaction of its own (upstream also deletes the row of a failed
//!   one-shot run in a separate transaction after the call);
//! - an interval row stays, and its next run is the first tick after now counted from
//!   the previous intended time, so delays and jitter do not accumulate;
//! - a row whose delay exceeds 64^6 - 1 ms is refused at insert with
//!   `SCHEDULE_AT_DELAY_TOO_LONG` (in the insert shim).

use spacetime_datastore::{Datastore, MutTx, TxData};
use spacetime_host::{LogLevel, ModuleInstance, ReducerCall, ReducerOutcome};
use spacetime_sats::bsatn::value::skip_value;
use spacetime_sats::bsatn::Decode;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::{AlgebraicType, ColId, IndexId, ReducerId, ScheduleAt, TimeDuration, Timestamp, Typespace};
use std::collections::{BTreeSet, HashMap};

/// A scheduled call that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduledCall {
    /// When it was meant to run.
    pub at: Timestamp,
    /// The position of its table among the module's scheduled tables.
    table: u32,
    /// The row's `scheduled_id`.
    pub scheduled_id: u64,
}

/// What running a scheduled call did.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledOutcome {
    /// The reducer that ran.
    pub reducer_id: ReducerId,
    /// Its outcome; a committed one-shot run includes the row's deletion.
    pub outcome: ReducerOutcome,
    /// The separate transaction that deleted a failed one-shot row.
    pub cleanup: Option<TxData>,
}

/// A scheduled table of the module.
#[derive(Debug)]
struct ScheduledTable {
    /// The canonical name, as `TxData` reports it.
    name: String,
    reducer_id: Option<ReducerId>,
    /// Set when the function is a procedure (run off the actor, see [`Scheduler::take_procedure`]).
    procedure_id: Option<u32>,
    function_name: String,
    id_column: ColId,
    at_column: ColId,
    columns: Vec<AlgebraicType>,
}

/// The queue of scheduled calls of one database.
#[derive(Debug)]
pub struct Scheduler {
    tables: Vec<ScheduledTable>,
    typespace: Typespace,
    queue: BTreeSet<ScheduledCall>,
    queued: HashMap<(u32, u64), Timestamp>,
}

/// A due row, read back from the datastore.
struct DueRow {
    reducer_id: Option<ReducerId>,
    bytes: Vec<u8>,
    one_shot: bool,
    interval: Option<TimeDuration>,
    key: RowKey,
}

/// How to find a scheduled row: its primary-key index and the key's BSATN.
struct RowKey {
    index_id: IndexId,
    point: [u8; 8],
}

/// The first tick of `every` after `now`, counted from `last`.
fn next_tick(last: Timestamp, every: TimeDuration, now: Timestamp) -> Timestamp {
    let step = every.to_micros();
    if step <= 0 {
        return now;
    }
    let elapsed = now.time_duration_since_saturating(last).to_micros();
    let ticks = if elapsed < 0 { 1 } else { elapsed / step + 1 };
    last + TimeDuration::from_micros(ticks.saturating_mul(step))
}

impl Scheduler {
    /// An empty queue for the scheduled tables of `def`.
    pub fn new(def: &ModuleDef) -> Self {
        let tables = def
            .tables
            .iter()
            .filter_map(|t| {
                let s = t.schedule.as_ref()?;
                Some(ScheduledTable {
                    name: t.name.clone(),
                    reducer_id: def.reducer(&s.function_name).map(|(id, _)| id),
                    procedure_id: def.procedure(&s.function_name).map(|(id, _)| id),
                    function_name: s.function_name.clone(),
                    id_column: s.id_column,
                    at_column: s.at_column,
                    columns: t.columns.iter().map(|c| c.ty.clone()).collect(),
                })
            })
            .collect();
        Self {
            tables,
            typespace: def.typespace.clone(),
            queue: BTreeSet::new(),
            queued: HashMap::new(),
        }
    }

    /// When the next call is due, if any is queued.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.queue.first().map(|c| c.at)
    }

    /// How many calls are queued.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no call is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes the calls due at `now`, earliest first.
    pub fn take_due(&mut self, now: Timestamp) -> Vec<ScheduledCall> {
        let mut due = Vec::new();
        while let Some(first) = self.queue.first().copied() {
            if first.at > now {
                break;
            }
            self.queue.pop_first();
            self.queued.remove(&(first.table, first.scheduled_id));
            due.push(first);
        }
        due
    }

    fn schedule(&mut self, table: u32, scheduled_id: u64, at: Timestamp) {
        self.cancel(table, scheduled_id);
        self.queued.insert((table, scheduled_id), at);
        self.queue.insert(ScheduledCall {
            at,
            table,
            scheduled_id,
        });
    }

    fn cancel(&mut self, table: u32, scheduled_id: u64) {
        if let Some(at) = self.queued.remove(&(table, scheduled_id)) {
            self.queue.remove(&ScheduledCall {
                at,
                table,
                scheduled_id,
            });
        }
    }

    /// Reads `(scheduled_id, ScheduleAt)` from a row of scheduled table `t`.
    fn read_row(&self, t: &ScheduledTable, row: &[u8]) -> Option<(u64, ScheduleAt)> {
        let (mut id, mut at) = (None, None);
        let mut rest = row;
        for (col, ty) in t.columns.iter().enumerate() {
            if col == t.id_column.idx() {
                id = Some(u64::decode(&mut rest).ok()?);
            } else if col == t.at_column.idx() {
                at = Some(ScheduleAt::decode(&mut rest).ok()?);
            } else {
                skip_value(ty, &self.typespace, &mut rest).ok()?;
            }
            if let (Some(id), Some(at)) = (id, at) {
                return Some((id, at));
            }
        }
        None
    }

    /// Applies a commit: deleted rows cancel their calls, inserted rows queue theirs.
    pub fn observe(&mut self, tx_data: &TxData, commit_time: Timestamp) {
        if self.tables.is_empty() {
            return;
        }
        for changes in &tx_data.tables {
            let Some(index) = self.tables.iter().position(|t| t.name == changes.table_name) else {
                continue;
            };
            let table = &self.tables[index];
            let deleted: Vec<u64> = changes
                .deletes
                .iter()
                .filter_map(|row| self.read_row(table, row))
                .map(|(id, _)| id)
                .collect();
            let inserted: Vec<(u64, ScheduleAt)> = changes
                .inserts
                .iter()
                .filter_map(|row| self.read_row(table, row))
                .collect();
            for id in deleted {
                self.cancel(index as u32, id);
            }
            for (id, at) in inserted {
                let due = match at {
                    ScheduleAt::Time(t) => t,
                    ScheduleAt::Interval(every) => commit_time + every,
                };
                self.schedule(index as u32, id, due);
            }
        }
    }

    /// Rebuilds the queue from the rows in `ds`.
    pub fn restore(&mut self, ds: &Datastore, now: Timestamp) {
        self.queue.clear();
        self.queued.clear();
        for index in 0..self.tables.len() {
            let Ok(table_id) = ds.table_id_from_name(&self.tables[index].name) else {
                continue;
            };
            let Ok(rows) = ds.scan(table_id) else { continue };
            let found: Vec<(u64, ScheduleAt)> = rows
                .filter_map(|row| self.read_row(&self.tables[index], row.bytes()))
                .collect();
            for (id, at) in found {
                let due = match at {
                    ScheduleAt::Time(t) => t,
                    ScheduleAt::Interval(every) => now + every,
                };
                self.schedule(index as u32, id, due);
            }
        }
    }

    /// Queues the next run of an interval call that just ran.
    fn requeue(&mut self, call: &ScheduledCall, every: TimeDuration, now: Timestamp) {
        self.schedule(call.table, call.scheduled_id, next_tick(call.at, every, now));
    }

    /// Finds the row of a due call. `None` if it was deleted, or its table or reducer
    /// no longer exists.
    fn lookup(&self, ds: &Datastore, call: &ScheduledCall) -> Option<DueRow> {
        let table = self.tables.get(call.table as usize)?;
        let reducer_id = table.reducer_id;
        let table_id = ds.table_id_from_name(&table.name).ok()?;
        let schema = ds.table_schema(table_id).ok()?;
        let index = schema.indexes.iter().find(|i| i.columns == [table.id_column])?;
        let point = call.scheduled_id.to_le_bytes();
        let row = ds.index_scan_point_bsatn(index.index_id, &point).ok()?.next()?;
        let bytes = row.bytes().to_vec();
        let (_, at) = self.read_row(table, &bytes)?;
        let (one_shot, interval) = match at {
            ScheduleAt::Time(_) => (true, None),
            ScheduleAt::Interval(every) => (false, Some(every)),
        };
        Some(DueRow {
            reducer_id,
            bytes,
            one_shot,
            interval,
            key: RowKey {
                index_id: index.index_id,
                point,
            },
        })
    }

    /// Deletes a scheduled row inside `tx` (a no-op if the reducer already did).
    fn delete_row(tx: &mut MutTx<'_>, key: &RowKey) {
        // The index and key were just read from this datastore, so this cannot fail
        // other than by finding nothing, which is fine.
        let _ = tx.delete_by_index_scan_point_bsatn(key.index_id, &key.point);
    }

    /// Runs one due call at `now` (taken with [`Scheduler::take_due`]) on `instance`:
    /// the reducer gets the row as its argument, the database's identity as the
    /// sender and no connection id. A one-shot row is deleted in the same transaction
    /// as a successful run, or in a transaction of its own after a failure (which is
    /// logged); an interval row is queued again. `None` if the row is gone (the
    /// schedule was cancelled).
    ///
    /// The transactions it returns are not yet observed: the caller hands them to the
    /// commit funnel, which feeds them back to [`Scheduler::observe`].
    pub fn run(
        &mut self,
        instance: &mut ModuleInstance,
        ds: &mut Datastore,
        call: ScheduledCall,
        now: Timestamp,
    ) -> Option<ScheduledOutcome> {
        let row = self.lookup(ds, &call)?;
        let reducer_id = row.reducer_id?;
        let reducer_call = ReducerCall {
            reducer_id,
            caller_identity: instance.database_identity(),
            caller_connection_id: None,
            timestamp: now,
            args_bsatn: &row.bytes,
            caller_jwt: None,
        };
        let outcome = instance.call_reducer_then(ds, reducer_call, |tx| {
            if row.one_shot {
                Self::delete_row(tx, &row.key);
            }
        });
        let label = crate::metrics::label(instance.database_identity());
        crate::metrics::reducer_called(&label, self.function_of(&call).unwrap_or("?"), &outcome);
        let mut cleanup = None;
        if let Err(e) = &outcome.result {
            let name = self.function_of(&call).unwrap_or("?");
            instance.log_host(LogLevel::Error, format!("scheduled reducer `{name}` failed: {e}"));
            if row.one_shot {
                let mut tx = ds.begin_mut_tx();
                Self::delete_row(&mut tx, &row.key);
                let tx_data = tx.commit();
                if !tx_data.is_empty() {
                    cleanup = Some(tx_data);
                }
            }
        }
        if let Some(interval) = row.interval {
            self.requeue(&call, interval, now);
        }
        Some(ScheduledOutcome {
            reducer_id,
            outcome,
            cleanup,
        })
    }

    /// The procedure a due call runs, if its table calls a procedure.
    pub fn procedure_of(&self, call: &ScheduledCall) -> Option<u32> {
        self.tables.get(call.table as usize).and_then(|t| t.procedure_id)
    }

    /// Takes a due call of a procedure (see [`Scheduler::procedure_of`]): returns the
    /// procedure's id and argument (the row), and, for a one-shot row, the committed
    /// transaction that deleted it; an interval row is queued again. Procedures run outside
    /// any transaction, so the row goes before the call rather than with it. `None` if the
    /// row is gone.
    pub fn take_procedure(
        &mut self,
        ds: &mut Datastore,
        call: ScheduledCall,
        now: Timestamp,
    ) -> Option<(u32, Vec<u8>, Option<TxData>)> {
        let procedure_id = self.procedure_of(&call)?;
        let row = self.lookup(ds, &call)?;
        let deleted = row.one_shot.then(|| {
            let mut tx = ds.begin_mut_tx();
            Self::delete_row(&mut tx, &row.key);
            tx.commit()
        });
        if let Some(interval) = row.interval {
            self.requeue(&call, interval, now);
        }
        Some((procedure_id, row.bytes, deleted.filter(|tx| !tx.is_empty())))
    }

    /// The reducer a scheduled table calls, by name, for messages.
    pub fn function_of(&self, call: &ScheduledCall) -> Option<&str> {
        self.tables.get(call.table as usize).map(|t| t.function_name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_counts_from_the_intended_time_and_skips_missed_ticks() {
        let t = Timestamp::from_micros_since_unix_epoch;
        let every = TimeDuration::from_micros(100);
        assert_eq!(next_tick(t(1_000), every, t(1_010)), t(1_100));
        assert_eq!(next_tick(t(1_000), every, t(1_350)), t(1_400));
        assert_eq!(next_tick(t(1_000), every, t(900)), t(1_100));
        assert_eq!(next_tick(t(1_000), TimeDuration::from_micros(0), t(1_234)), t(1_234));
    }
}
