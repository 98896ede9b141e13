//! The import shims: one function per `spacetime_10.x` import, linked by name from the
//! table in [`super`]. Each decodes the guest's pointers and lengths through
//! [`GuestMem`], calls the lent transaction or the instance state, and returns through
//! [`with_env`]/[`cvt`](super::memory::cvt), which turn failures into an errno or a trap.
//!
//! Common to all: a pointer/length pair outside guest memory traps; every datastore
//! call returns `NOT_IN_TRANSACTION` outside a reducer call. Guest `usize` and `u16`
//! values arrive as wasm `i32`, taken here as `u32`.

use super::handles::RowIter;
use super::memory::{with_env, AbiError, AbiResult, GuestMem, HostTrap};
use crate::env::{ImmediateCall, InstanceEnv, MAX_IMMEDIATE_CALLS};
use crate::limits::log_string;
use crate::logs::LogLevel;
use spacetime_datastore::{MutTx, RowRef};
use spacetime_sats::bsatn::value::skip_value;
use spacetime_sats::bsatn::Decode;
use spacetime_sats::def::validate::env_key_problem;
use spacetime_sats::{ConnectionId, Errno, IndexId, ScheduleAt, TableId};
use std::time::Instant;
use wasmtime::Caller;

pub(crate) use super::procedures::{
    procedure_abort_mut_tx, procedure_commit_mut_tx, procedure_http_request, procedure_sleep_until,
    procedure_start_mut_tx,
};

type Cx<'a> = Caller<'a, InstanceEnv>;

/// The longest delay a scheduled row may ask for: 64^6 - 1 milliseconds (about 2.18
/// years), as upstream's timer wheel holds.
pub(crate) const MAX_SCHEDULE_DELAY_MICROS: i64 = (64i64.pow(6) - 1) * 1000;

/// Writes the id of the table named `name_ptr[..name_len]` (canonical or accessor
/// name) to `out`.
///
/// # Traps
/// If the name is out of bounds or not UTF-8, or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`.
pub(crate) fn table_id_from_name(mut cx: Cx<'_>, name_ptr: u32, name_len: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "table_id_from_name", |mut mem, env| {
        let id = env
            .tx()?
            .table_id_from_name(mem.str("the table name", name_ptr, name_len)?)?;
        mem.write_u32("out", out, id.0)?;
        Ok(0)
    })
}

/// Writes the id of the index named `name_ptr[..name_len]`
/// (`{table}_{cols}_idx_{btree|hash|direct}`) to `out`.
///
/// # Traps
/// If the name is out of bounds or not UTF-8, or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_INDEX`.
pub(crate) fn index_id_from_name(mut cx: Cx<'_>, name_ptr: u32, name_len: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "index_id_from_name", |mut mem, env| {
        let id = env
            .tx()?
            .index_id_from_name(mem.str("the index name", name_ptr, name_len)?)?;
        mem.write_u32("out", out, id.0)?;
        Ok(0)
    })
}

/// Writes the number of rows of `table_id` to `out` (a `u64`).
///
/// # Traps
/// If `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`.
pub(crate) fn datastore_table_row_count(mut cx: Cx<'_>, table_id: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_table_row_count", |mut mem, env| {
        env.note_read(TableId(table_id));
        let count = env.tx()?.row_count(TableId(table_id))?;
        mem.write_u64("out", out, count)?;
        Ok(0)
    })
}

/// Opens an iterator over every row of `table_id` and writes its handle to `out`.
///
/// # Traps
/// If `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`.
pub(crate) fn datastore_table_scan_bsatn(mut cx: Cx<'_>, table_id: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_table_scan_bsatn", |mem, env| {
        env.note_read(TableId(table_id));
        let mut iter = env.new_row_iter();
        let filled = env.tx().and_then(|tx| {
            collect(&mut iter, tx.scan(TableId(table_id))?);
            Ok(())
        });
        finish_iter(mem, env, iter, filled, out)
    })
}

/// Fills `iter` from a scan.
fn collect<'r>(iter: &mut RowIter, rows: impl Iterator<Item = RowRef<'r>>) {
    rows.for_each(|row| iter.push_row(row.bytes()));
}

/// Registers a filled iterator (or recycles it after a failure) and writes its handle.
fn finish_iter(
    mut mem: GuestMem<'_>,
    env: &mut InstanceEnv,
    mut iter: RowIter,
    filled: AbiResult<()>,
    out: u32,
) -> AbiResult<u32> {
    if let Err(e) = filled {
        env.recycle_row_iter(iter);
        return Err(e);
    }
    iter.finish();
    let handle = env.iters.insert(iter);
    mem.write_u32("out", out, handle)?;
    Ok(0)
}

/// The byte slices of a range scan's arguments.
struct RangeArgs<'m> {
    prefix: &'m [u8],
    prefix_elems: u16,
    rstart: &'m [u8],
    rend: &'m [u8],
}

#[allow(clippy::too_many_arguments)]
fn range_args<'m>(
    mem: &'m GuestMem<'_>,
    prefix_ptr: u32,
    prefix_len: u32,
    prefix_elems: u32,
    rstart_ptr: u32,
    rstart_len: u32,
    rend_ptr: u32,
    rend_len: u32,
) -> AbiResult<RangeArgs<'m>> {
    Ok(RangeArgs {
        prefix: mem.bytes("the prefix", prefix_ptr, prefix_len)?,
        prefix_elems: u16::try_from(prefix_elems).map_err(|_| AbiError::Errno(Errno::BSATN_DECODE_ERROR))?,
        rstart: mem.bytes("the range start", rstart_ptr, rstart_len)?,
        rend: mem.bytes("the range end", rend_ptr, rend_len)?,
    })
}

/// Opens an iterator over the rows of index `index_id` whose first `prefix_elems` key
/// columns equal `prefix` and whose next column lies between the BSATN `Bound`s
/// `rstart` and `rend`; writes its handle to `out`. Also linked under its deprecated
/// name `datastore_btree_scan_bsatn`.
///
/// # Traps
/// If `prefix`, `rstart`, `rend` or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_INDEX`, `WRONG_INDEX_ALGO` (a hash index),
/// `BSATN_DECODE_ERROR`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn datastore_index_scan_range_bsatn(
    mut cx: Cx<'_>,
    index_id: u32,
    prefix_ptr: u32,
    prefix_len: u32,
    prefix_elems: u32,
    rstart_ptr: u32,
    rstart_len: u32,
    rend_ptr: u32,
    rend_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_index_scan_range_bsatn", |mem, env| {
        let mut iter = env.new_row_iter();
        let filled = (|| {
            let a = range_args(
                &mem,
                prefix_ptr,
                prefix_len,
                prefix_elems,
                rstart_ptr,
                rstart_len,
                rend_ptr,
                rend_len,
            )?;
            env.note_index_read(|tx| tx.index_range_key(IndexId(index_id), a.prefix, a.prefix_elems, a.rstart, a.rend));
            collect(
                &mut iter,
                env.tx()?
                    .index_scan_range_bsatn(IndexId(index_id), a.prefix, a.prefix_elems, a.rstart, a.rend)?,
            );
            Ok(())
        })();
        finish_iter(mem, env, iter, filled, out)
    })
}

/// Deletes the rows [`datastore_index_scan_range_bsatn`] would return and writes how
/// many to `out` (a `u32`). Also linked under its deprecated name
/// `datastore_delete_by_btree_scan_bsatn`.
///
/// # Traps
/// As [`datastore_index_scan_range_bsatn`].
///
/// # Errors
/// As [`datastore_index_scan_range_bsatn`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn datastore_delete_by_index_scan_range_bsatn(
    mut cx: Cx<'_>,
    index_id: u32,
    prefix_ptr: u32,
    prefix_len: u32,
    prefix_elems: u32,
    rstart_ptr: u32,
    rstart_len: u32,
    rend_ptr: u32,
    rend_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_delete_by_index_scan_range_bsatn", |mut mem, env| {
        let a = range_args(
            &mem,
            prefix_ptr,
            prefix_len,
            prefix_elems,
            rstart_ptr,
            rstart_len,
            rend_ptr,
            rend_len,
        )?;
        let count = env.tx()?.delete_by_index_scan_range_bsatn(
            IndexId(index_id),
            a.prefix,
            a.prefix_elems,
            a.rstart,
            a.rend,
        )?;
        mem.write_u32("out", out, count)?;
        Ok(0)
    })
}

/// Opens an iterator over the rows of index `index_id` whose whole key equals the
/// BSATN `point` (the concatenated key column values); writes its handle to `out`.
///
/// # Traps
/// If `point` or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_INDEX`, `BSATN_DECODE_ERROR`.
pub(crate) fn datastore_index_scan_point_bsatn(
    mut cx: Cx<'_>,
    index_id: u32,
    point_ptr: u32,
    point_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_index_scan_point_bsatn", |mem, env| {
        let mut iter = env.new_row_iter();
        let filled = (|| {
            let point = mem.bytes("the point", point_ptr, point_len)?;
            env.note_index_read(|tx| tx.index_point_key(IndexId(index_id), point));
            collect(&mut iter, env.tx()?.index_scan_point_bsatn(IndexId(index_id), point)?);
            Ok(())
        })();
        finish_iter(mem, env, iter, filled, out)
    })
}

/// Deletes the rows [`datastore_index_scan_point_bsatn`] would return and writes how
/// many to `out` (a `u32`).
///
/// # Traps
/// If `point` or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_INDEX`, `BSATN_DECODE_ERROR`.
pub(crate) fn datastore_delete_by_index_scan_point_bsatn(
    mut cx: Cx<'_>,
    index_id: u32,
    point_ptr: u32,
    point_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_delete_by_index_scan_point_bsatn", |mut mem, env| {
        let point = mem.bytes("the point", point_ptr, point_len)?;
        let count = env.tx()?.delete_by_index_scan_point_bsatn(IndexId(index_id), point)?;
        mem.write_u32("out", out, count)?;
        Ok(0)
    })
}

/// Copies as many whole ~32 KiB chunks of rows as fit into `buf_ptr[..*buf_len_ptr]`
/// and sets `*buf_len_ptr` to the bytes written. Returns 0 if rows remain and -1 once
/// the iterator is exhausted (it is then freed).
///
/// # Traps
/// If `buf_len_ptr` or the buffer is out of bounds.
///
/// # Errors
/// `NO_SUCH_ITER`; `BUFFER_TOO_SMALL` with `*buf_len_ptr` set to the size the next
/// chunk needs.
pub(crate) fn row_iter_bsatn_advance(
    mut cx: Cx<'_>,
    iter: u32,
    buf_ptr: u32,
    buf_len_ptr: u32,
) -> wasmtime::Result<i32> {
    with_env(&mut cx, "row_iter_bsatn_advance", |mut mem, env| {
        let capacity = mem.read_u32("the buffer length", buf_len_ptr)?;
        let rows = env.iters.get_mut(iter).ok_or(AbiError::Errno(Errno::NO_SUCH_ITER))?;
        match rows.next_chunks(capacity as usize) {
            Err(needed) => {
                mem.write_u32("the buffer length", buf_len_ptr, needed as u32)?;
                Err(AbiError::Errno(Errno::BUFFER_TOO_SMALL))
            }
            Ok(range) => {
                mem.write("the buffer", buf_ptr, &rows.bytes[range.clone()])?;
                mem.write_u32("the buffer length", buf_len_ptr, range.len() as u32)?;
                if !rows.is_exhausted() {
                    return Ok(0);
                }
                if let Some(done) = env.iters.take(iter) {
                    env.recycle_row_iter(done);
                }
                Ok(-1)
            }
        }
    })
}

/// Frees an iterator before it is exhausted.
///
/// # Traps
/// Never.
///
/// # Errors
/// `NO_SUCH_ITER`.
pub(crate) fn row_iter_bsatn_close(mut cx: Cx<'_>, iter: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "row_iter_bsatn_close", |_mem, env| {
        let rows = env.iters.take(iter).ok_or(AbiError::Errno(Errno::NO_SUCH_ITER))?;
        env.recycle_row_iter(rows);
        Ok(0)
    })
}

/// Checks that a row for a scheduled table does not ask for a delay longer than
/// [`MAX_SCHEDULE_DELAY_MICROS`]. Rows that do not decode are left for the insert to
/// reject.
fn check_schedule_delay(tx: &MutTx<'static>, table: TableId, row: &[u8], now_micros: i64) -> AbiResult<()> {
    let Ok(schema) = tx.table_schema(table) else {
        return Ok(());
    };
    let Some(schedule) = &schema.def.schedule else {
        return Ok(());
    };
    let Some(before) = schema.def.columns.get(..schedule.at_column.idx()) else {
        return Ok(());
    };
    let mut rest = row;
    for col in before {
        if skip_value(&col.ty, &schema.typespace, &mut rest).is_err() {
            return Ok(());
        }
    }
    let delay = match ScheduleAt::decode(&mut rest) {
        Ok(ScheduleAt::Time(at)) => at.to_micros_since_unix_epoch().saturating_sub(now_micros),
        Ok(ScheduleAt::Interval(every)) => every.to_micros(),
        Err(_) => return Ok(()),
    };
    if delay > MAX_SCHEDULE_DELAY_MICROS {
        return Err(AbiError::Errno(Errno::SCHEDULE_AT_DELAY_TOO_LONG));
    }
    Ok(())
}

/// Inserts the BSATN row `row_ptr[..*row_len_ptr]` into `table_id`. On success it
/// overwrites the buffer with the BSATN of the generated (auto-inc) column values, in
/// column order, and sets `*row_len_ptr` to their length. Inserting a row identical to
/// an existing one changes nothing.
///
/// # Traps
/// If `row_len_ptr` or the row is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`, `BSATN_DECODE_ERROR`,
/// `UNIQUE_ALREADY_EXISTS`, `AUTO_INC_OVERFLOW`, `SCHEDULE_AT_DELAY_TOO_LONG`.
pub(crate) fn datastore_insert_bsatn(
    mut cx: Cx<'_>,
    table_id: u32,
    row_ptr: u32,
    row_len_ptr: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_insert_bsatn", |mut mem, env| {
        let len = mem.read_u32("the row length", row_len_ptr)?;
        let row = mem.bytes("the row", row_ptr, len)?;
        let now = env.call.timestamp.to_micros_since_unix_epoch();
        let tx = env.tx()?;
        let table = TableId(table_id);
        check_schedule_delay(tx, table, row, now)?;
        let generated = tx.insert_bsatn(table, row)?;
        write_back(&mut mem, row_ptr, row_len_ptr, &generated)
    })
}

/// Writes generated column values back over the caller's row buffer.
fn write_back(mem: &mut GuestMem<'_>, row_ptr: u32, row_len_ptr: u32, generated: &[u8]) -> AbiResult<u32> {
    mem.write("the row", row_ptr, generated)?;
    mem.write_u32("the row length", row_len_ptr, generated.len() as u32)?;
    Ok(0)
}

/// Replaces the row of `table_id` that has the same key on the unique index
/// `index_id` as the BSATN row `row_ptr[..*row_len_ptr]`, and writes back generated
/// values as [`datastore_insert_bsatn`] does.
///
/// # Traps
/// If `row_len_ptr` or the row is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`, `NO_SUCH_INDEX`, `INDEX_NOT_UNIQUE`,
/// `NO_SUCH_ROW`, `BSATN_DECODE_ERROR`, `UNIQUE_ALREADY_EXISTS`, `AUTO_INC_OVERFLOW`,
/// `SCHEDULE_AT_DELAY_TOO_LONG`.
pub(crate) fn datastore_update_bsatn(
    mut cx: Cx<'_>,
    table_id: u32,
    index_id: u32,
    row_ptr: u32,
    row_len_ptr: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_update_bsatn", |mut mem, env| {
        let len = mem.read_u32("the row length", row_len_ptr)?;
        let row = mem.bytes("the row", row_ptr, len)?;
        let now = env.call.timestamp.to_micros_since_unix_epoch();
        let tx = env.tx()?;
        let table = TableId(table_id);
        check_schedule_delay(tx, table, row, now)?;
        let generated = tx.update_bsatn(table, IndexId(index_id), row)?;
        write_back(&mut mem, row_ptr, row_len_ptr, &generated)
    })
}

/// Deletes the rows of `table_id` equal to those in `rel_ptr[..rel_len]`, a BSATN
/// `Vec<Row>`, and writes how many to `out` (a `u32`).
///
/// # Traps
/// If `rel` or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`, `BSATN_DECODE_ERROR`.
pub(crate) fn datastore_delete_all_by_eq_bsatn(
    mut cx: Cx<'_>,
    table_id: u32,
    rel_ptr: u32,
    rel_len: u32,
    out: u32,
) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_delete_all_by_eq_bsatn", |mut mem, env| {
        let rel = mem.bytes("the rows", rel_ptr, rel_len)?;
        let count = env.tx()?.delete_by_rows(TableId(table_id), rel)?;
        mem.write_u32("out", out, count)?;
        Ok(0)
    })
}

/// Deletes every row of `table_id` and writes how many to `out` (a `u64`).
///
/// # Traps
/// If `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`, `NO_SUCH_TABLE`.
pub(crate) fn datastore_clear(mut cx: Cx<'_>, table_id: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "datastore_clear", |mut mem, env| {
        let count = env.tx()?.clear(TableId(table_id))?;
        mem.write_u64("out", out, count)?;
        Ok(0)
    })
}

/// Copies up to `*buf_len_ptr` bytes of `source` into `buf_ptr` and sets
/// `*buf_len_ptr` to the count. Returns -1 when this call drained the source (it is
/// then freed) and 0 if bytes remain.
///
/// # Traps
/// If `buf_len_ptr` or the buffer is out of bounds.
///
/// # Errors
/// `NO_SUCH_BYTES`.
pub(crate) fn bytes_source_read(mut cx: Cx<'_>, source: u32, buf_ptr: u32, buf_len_ptr: u32) -> wasmtime::Result<i32> {
    with_env(&mut cx, "bytes_source_read", |mut mem, env| {
        let capacity = mem.read_u32("the buffer length", buf_len_ptr)? as usize;
        let src = env
            .sources
            .get_mut(source)
            .ok_or(AbiError::Errno(Errno::NO_SUCH_BYTES))?;
        let n = capacity.min(src.bytes.len() - src.pos);
        mem.write("the buffer", buf_ptr, &src.bytes[src.pos..src.pos + n])?;
        mem.write_u32("the buffer length", buf_len_ptr, n as u32)?;
        src.pos += n;
        if src.pos < src.bytes.len() {
            return Ok(0);
        }
        if let Some(done) = env.sources.take(source) {
            env.recycle_source(done);
        }
        Ok(-1)
    })
}

/// Writes the number of bytes left in `source` to `out` (a `u32`).
///
/// # Traps
/// If `out` is out of bounds.
///
/// # Errors
/// `NO_SUCH_BYTES`.
pub(crate) fn bytes_source_remaining_length(mut cx: Cx<'_>, source: u32, out: u32) -> wasmtime::Result<i32> {
    with_env(&mut cx, "bytes_source_remaining_length", |mut mem, env| {
        let src = env
            .sources
            .get_mut(source)
            .ok_or(AbiError::Errno(Errno::NO_SUCH_BYTES))?;
        mem.write_u32("out", out, (src.bytes.len() - src.pos) as u32)?;
        Ok(0)
    })
}

/// Appends `buf_ptr[..*buf_len_ptr]` to `sink` and sets `*buf_len_ptr` to the number
/// of bytes written (all of them).
///
/// # Traps
/// If `buf_len_ptr` or the buffer is out of bounds, or if the write would take the
/// sink past its cap ([`SinkKind::limit`](crate::limits::SinkKind::limit)); nothing is appended then.
///
/// # Errors
/// `NO_SUCH_BYTES`.
pub(crate) fn bytes_sink_write(mut cx: Cx<'_>, sink: u32, buf_ptr: u32, buf_len_ptr: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "bytes_sink_write", |mut mem, env| {
        let len = mem.read_u32("the buffer length", buf_len_ptr)?;
        let buf = mem.bytes("the buffer", buf_ptr, len)?;
        let sink = env.sinks.get_mut(sink).ok_or(AbiError::Errno(Errno::NO_SUCH_BYTES))?;
        let wanted = sink.bytes.len() as u64 + u64::from(len);
        if wanted > sink.kind.limit() as u64 {
            return Err(AbiError::Trap(HostTrap::OverLimit {
                import: "bytes_sink_write",
                message: sink.kind.over_limit_message(wanted),
            }));
        }
        sink.bytes.extend_from_slice(buf);
        mem.write_u32("the buffer length", buf_len_ptr, len)?;
        Ok(0)
    })
}

/// Logs `message` at `level` (0 error … 4 trace, 101 panic). `target` and `filename`
/// may be NULL; `line_number == u32::MAX` means none. Strings are decoded lossily, and
/// each is cut at [`MAX_LOG_RECORD_BYTES`](crate::limits::MAX_LOG_RECORD_BYTES) with a
/// marker saying so.
///
/// # Traps
/// If a non-NULL string is out of bounds.
///
/// # Errors
/// None.
#[allow(clippy::too_many_arguments)]
pub(crate) fn console_log(
    mut cx: Cx<'_>,
    level: u32,
    target_ptr: u32,
    target_len: u32,
    filename_ptr: u32,
    filename_len: u32,
    line_number: u32,
    message_ptr: u32,
    message_len: u32,
) -> wasmtime::Result<()> {
    with_env(&mut cx, "console_log", |mem, env| {
        let target = mem.log_string_opt("the target", target_ptr, target_len)?;
        let filename = mem.log_string_opt("the file name", filename_ptr, filename_len)?;
        let message = log_string(mem.bytes("the message", message_ptr, message_len)?);
        let line = (line_number != u32::MAX).then_some(line_number);
        env.log(LogLevel::from_abi(level as u8), target, filename, line, message);
        Ok(())
    })
}

/// Starts a console timer named `name_ptr[..name_len]` (lossy UTF-8) and returns its id.
///
/// # Traps
/// If the name is out of bounds.
///
/// # Errors
/// None.
pub(crate) fn console_timer_start(mut cx: Cx<'_>, name_ptr: u32, name_len: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "console_timer_start", |mem, env| {
        let name = log_string(mem.bytes("the timer name", name_ptr, name_len)?);
        Ok(env.timers.insert(crate::abi::handles::ConsoleTimer {
            name,
            started: Instant::now(),
        }))
    })
}

/// Ends a console timer and logs its elapsed time at info level.
///
/// # Traps
/// Never.
///
/// # Errors
/// `NO_SUCH_CONSOLE_TIMER`.
pub(crate) fn console_timer_end(mut cx: Cx<'_>, timer_id: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "console_timer_end", |_mem, env| {
        let timer = env
            .timers
            .take(timer_id)
            .ok_or(AbiError::Errno(Errno::NO_SUCH_CONSOLE_TIMER))?;
        let message = format!("Timing span {:?}: {:?}", timer.name, timer.started.elapsed());
        env.log(LogLevel::Info, None, None, None, message);
        Ok(0)
    })
}

/// Writes the database's identity (32 little-endian bytes) to `out_ptr`.
///
/// # Traps
/// If `out_ptr[..32]` is out of bounds.
///
/// # Errors
/// None.
pub(crate) fn identity(mut cx: Cx<'_>, out_ptr: u32) -> wasmtime::Result<()> {
    with_env(&mut cx, "identity", |mut mem, env| {
        mem.write("out", out_ptr, &env.database_identity.to_byte_array())
    })
}

/// Writes a bytes source holding the JWT payload JSON of connection `conn_id_ptr` to
/// `out`, or 0 when there is none. The host knows the payload of the calling connection
/// only (what `ctx.sender_auth().jwt()` asks for); scheduled and `init` calls have none.
///
/// # Traps
/// If `conn_id_ptr[..16]` or `out` is out of bounds.
///
/// # Errors
/// `NOT_IN_TRANSACTION`.
pub(crate) fn get_jwt(mut cx: Cx<'_>, conn_id_ptr: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "get_jwt", |mut mem, env| {
        let mut conn_id = [0; 16];
        conn_id.copy_from_slice(mem.bytes("the connection id", conn_id_ptr, 16)?);
        if !env.in_tx() {
            return Err(AbiError::Errno(Errno::NOT_IN_TRANSACTION));
        }
        let conn_id = ConnectionId::from_le_byte_array(conn_id);
        let source = match env.caller_jwt.take() {
            Some((caller, jwt)) => {
                let source = if caller == conn_id {
                    env.new_source(jwt.as_bytes())
                } else {
                    0
                };
                env.caller_jwt = Some((caller, jwt));
                source
            }
            None => 0,
        };
        mem.write_u32("out", out, source)?;
        Ok(0)
    })
}

/// Unstable: queues a call of reducer `name_ptr[..name_len]` with the BSATN arguments
/// `args_ptr[..args_len]`, to run right after the current call, outside its transaction,
/// as the database (like a scheduled reducer). It is not atomic with the caller: it runs
/// even if the caller's transaction rolls back, and it is not durable (a crash before it
/// runs loses it). The name (canonical or source) and the arguments are checked when it
/// runs; a failure is logged.
///
/// # Traps
/// If the name or arguments are out of bounds, the name is not UTF-8, or one call queues
/// more than [`MAX_IMMEDIATE_CALLS`].
///
/// # Errors
/// None.
pub(crate) fn volatile_nonatomic_schedule_immediate(
    mut cx: Cx<'_>,
    name_ptr: u32,
    name_len: u32,
    args_ptr: u32,
    args_len: u32,
) -> wasmtime::Result<()> {
    const IMPORT: &str = "volatile_nonatomic_schedule_immediate";
    with_env(&mut cx, IMPORT, |mem, env| {
        let name = mem.str("the reducer name", name_ptr, name_len)?;
        let args = mem.bytes("the arguments", args_ptr, args_len)?;
        if env.immediate.len() >= MAX_IMMEDIATE_CALLS {
            return Err(AbiError::Trap(HostTrap::Failed {
                import: IMPORT,
                message: format!("one call may queue at most {MAX_IMMEDIATE_CALLS} immediate reducer calls"),
            }));
        }
        env.immediate.push(ImmediateCall {
            reducer: name.to_owned(),
            args: args.to_vec(),
        });
        Ok(())
    })
}

/// Writes to `out` a source holding the value of environment key `key_ptr[..key_len]`
/// for this database, or 0 when it has none (a present empty value gets a source too).
///
/// # Traps
/// If the key or `out` is out of bounds, or the key is not UTF-8.
///
/// # Errors
/// `NOT_IN_TRANSACTION` outside a reducer, a view or a procedure; `HOST_CALL_FAILURE` for
/// a key that is not a POSIX environment name of at most 256 bytes.
pub(crate) fn env_get(mut cx: Cx<'_>, key_ptr: u32, key_len: u32, out: u32) -> wasmtime::Result<u32> {
    with_env(&mut cx, "env_get", |mut mem, env| {
        let key = mem.str("the key", key_ptr, key_len)?;
        if !env.in_tx() && env.procedure.is_none() {
            return Err(AbiError::Errno(Errno::NOT_IN_TRANSACTION));
        }
        if env_key_problem(key).is_some() {
            return Err(AbiError::Errno(Errno::HOST_CALL_FAILURE));
        }
        let source = match env.environments.value(env.database_identity, key) {
            Some(value) => env.new_source_always(value.as_bytes()),
            None => 0,
        };
        mem.write_u32("out", out, source)?;
        Ok(0)
    })
}
