//! The host ABI: the raw `spacetime_10.x` imports in [`raw`], and safe wrappers that turn
//! their errno results into [`Errno`] errors.
//!
//! Names, signatures and error codes are exactly those of SpacetimeDB's ABI, so a module
//! built against these bindings runs on any host that implements `spacetime_10.0`…`10.6`.
//! Versioning rule: a new function goes into a new minor import module (`spacetime_10.N`);
//! a breaking change needs a new major version. The linker keeps only the imports a module
//! actually calls, so a module's import modules reflect what it uses.
//!
//! On targets other than wasm32 there is no host; the same functions are routed to a
//! replaceable [`native`] stand-in so that module logic can be unit-tested natively.

use spacetime_sats::ids::{ColId, IndexId, TableId};

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

/// The raw imports, one `extern` block per ABI minor version.
///
/// Pointers and `usize` are wasm `i32`. Every function that returns `u16` returns an errno:
/// 0 for success, otherwise one of the codes of [`Errno`]. Bad pointers, out-of-bounds
/// ranges and invalid UTF-8 make the host trap rather than return an error.
pub mod raw {
    /// A handle to bytes the host offers the module (reducer arguments, JWT payloads).
    /// `0` is [`BytesSource::INVALID`].
    #[derive(Debug, PartialEq, Eq, Copy, Clone)]
    #[repr(transparent)]
    pub struct BytesSource(pub u32);

    impl BytesSource {
        /// No source: what the host passes when there are no bytes.
        pub const INVALID: Self = Self(0);
    }

    /// A handle to a host buffer the module writes into (module definition, error text).
    #[derive(Debug, PartialEq, Eq, Copy, Clone)]
    #[repr(transparent)]
    pub struct BytesSink(pub u32);

    /// A handle to a host-side iterator over BSATN rows. `0` is [`RowIter::INVALID`].
    #[derive(Debug, PartialEq, Eq, Copy, Clone)]
    #[repr(transparent)]
    pub struct RowIter(pub u32);

    impl RowIter {
        /// No iterator: an exhausted (freed) one.
        pub const INVALID: Self = Self(0);
    }

    /// `console_log` level: error.
    pub const LOG_LEVEL_ERROR: u8 = 0;
    /// `console_log` level: warning.
    pub const LOG_LEVEL_WARN: u8 = 1;
    /// `console_log` level: information.
    pub const LOG_LEVEL_INFO: u8 = 2;
    /// `console_log` level: debugging.
    pub const LOG_LEVEL_DEBUG: u8 = 3;
    /// `console_log` level: tracing.
    pub const LOG_LEVEL_TRACE: u8 = 4;
    /// `console_log` level: a panic, logged just before the module traps.
    pub const LOG_LEVEL_PANIC: u8 = 101;

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.0")]
    unsafe extern "C" {
        /// Resolves the table called `name` (its name or accessor) and writes its id to `out`.
        ///
        /// # Traps
        /// If `name` is not in bounds of memory, is not UTF-8, or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION` outside a transaction; `NO_SUCH_TABLE` if no table has that name.
        pub fn table_id_from_name(name: *const u8, name_len: usize, out: *mut u32) -> u16;

        /// Resolves the index called `name` (`{table}_{cols}_idx_{algo}`) and writes its id.
        ///
        /// # Traps
        /// If `name` is not in bounds of memory, is not UTF-8, or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION` outside a transaction; `NO_SUCH_INDEX` if no index has that name.
        pub fn index_id_from_name(name: *const u8, name_len: usize, out: *mut u32) -> u16;

        /// Writes the number of rows of `table_id` to `out`.
        ///
        /// # Traps
        /// If `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_TABLE`.
        pub fn datastore_table_row_count(table_id: u32, out: *mut u64) -> u16;

        /// Opens an iterator over all rows of `table_id` and writes its handle to `out`.
        ///
        /// # Traps
        /// If `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_TABLE`.
        pub fn datastore_table_scan_bsatn(table_id: u32, out: *mut RowIter) -> u16;

        /// Opens an iterator over the rows of `index_id` whose key starts with `prefix` (the
        /// BSATN of the first `prefix_elems` key columns) and whose next column lies between
        /// the BSATN `Bound`s `rstart` and `rend`.
        ///
        /// # Traps
        /// If any buffer is not in bounds of memory or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_INDEX`; `WRONG_INDEX_ALGO` for a hash index;
        /// `BSATN_DECODE_ERROR` if a buffer does not decode at the key column types.
        pub fn datastore_index_scan_range_bsatn(
            index_id: u32,
            prefix_ptr: *const u8,
            prefix_len: usize,
            prefix_elems: u16,
            rstart_ptr: *const u8,
            rstart_len: usize,
            rend_ptr: *const u8,
            rend_len: usize,
            out: *mut RowIter,
        ) -> u16;

        /// Deletes the rows [`datastore_index_scan_range_bsatn`] would yield and writes the count.
        ///
        /// # Traps
        /// If any buffer is not in bounds of memory or `out` is not writable.
        ///
        /// # Errors
        /// As [`datastore_index_scan_range_bsatn`].
        pub fn datastore_delete_by_index_scan_range_bsatn(
            index_id: u32,
            prefix_ptr: *const u8,
            prefix_len: usize,
            prefix_elems: u16,
            rstart_ptr: *const u8,
            rstart_len: usize,
            rend_ptr: *const u8,
            rend_len: usize,
            out: *mut u32,
        ) -> u16;

        /// Deletes every row equal to one of `rel` (BSATN `Vec<Row>`) and writes the count.
        ///
        /// # Traps
        /// If `rel` is not in bounds of memory or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_TABLE`; `BSATN_DECODE_ERROR`.
        pub fn datastore_delete_all_by_eq_bsatn(
            table_id: u32,
            rel_ptr: *const u8,
            rel_len: usize,
            out: *mut u32,
        ) -> u16;

        /// Copies as many whole rows as fit into the buffer and sets `*buffer_len` to the
        /// bytes written. Returns `0` if rows remain and `-1` when the iterator is exhausted
        /// (it is then freed). Otherwise returns a positive errno.
        ///
        /// # Traps
        /// If the buffer is not in bounds of memory.
        ///
        /// # Errors
        /// `NO_SUCH_ITER` for a bad handle; `BUFFER_TOO_SMALL` (with `*buffer_len` set to the
        /// size needed) if not even one row fits.
        pub fn row_iter_bsatn_advance(iter: RowIter, buffer_ptr: *mut u8, buffer_len_ptr: *mut usize) -> i16;

        /// Frees an iterator that was not exhausted.
        ///
        /// # Traps
        /// Never.
        ///
        /// # Errors
        /// `NO_SUCH_ITER` for a bad handle.
        pub fn row_iter_bsatn_close(iter: RowIter) -> u16;

        /// Inserts the BSATN row in the buffer. On success it overwrites the buffer with the
        /// BSATN of the generated (auto-inc) column values, in column order, and sets
        /// `*row_len` to their length.
        ///
        /// # Traps
        /// If the buffer is not in bounds of memory.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_TABLE`; `BSATN_DECODE_ERROR`;
        /// `UNIQUE_ALREADY_EXISTS`; `AUTO_INC_OVERFLOW`; `SCHEDULE_AT_DELAY_TOO_LONG`.
        pub fn datastore_insert_bsatn(table_id: u32, row_ptr: *mut u8, row_len_ptr: *mut usize) -> u16;

        /// Replaces the row that has the new row's value in the unique index `index_id`,
        /// writing back generated values as [`datastore_insert_bsatn`] does.
        ///
        /// # Traps
        /// If the buffer is not in bounds of memory.
        ///
        /// # Errors
        /// `INDEX_NOT_UNIQUE`; `NO_SUCH_ROW`; and every error of [`datastore_insert_bsatn`].
        pub fn datastore_update_bsatn(table_id: u32, index_id: u32, row_ptr: *mut u8, row_len_ptr: *mut usize) -> u16;

        /// Appends up to `*buffer_len` bytes to `sink` and sets `*buffer_len` to the count written.
        ///
        /// # Traps
        /// If the buffer is not in bounds of memory.
        ///
        /// # Errors
        /// `NO_SUCH_BYTES` for a bad sink; `NO_SPACE` if the sink is full.
        pub fn bytes_sink_write(sink: BytesSink, buffer_ptr: *const u8, buffer_len_ptr: *mut usize) -> u16;

        /// Copies up to `*buffer_len` bytes from `source` and sets `*buffer_len` to the count.
        /// Returns `-1` when this call drained the source (it is then freed), `0` if bytes
        /// remain, or a positive errno.
        ///
        /// # Traps
        /// If the buffer is not in bounds of memory.
        ///
        /// # Errors
        /// `NO_SUCH_BYTES` for a bad source.
        pub fn bytes_source_read(source: BytesSource, buffer_ptr: *mut u8, buffer_len_ptr: *mut usize) -> i16;

        /// Logs `message` at `level`. A null `target` or `filename` means none; `line_number`
        /// `u32::MAX` means none. Strings are decoded lossily.
        ///
        /// # Traps
        /// If a buffer is not in bounds of memory.
        ///
        /// # Errors
        /// None.
        pub fn console_log(
            level: u8,
            target_ptr: *const u8,
            target_len: usize,
            filename_ptr: *const u8,
            filename_len: usize,
            line_number: u32,
            message_ptr: *const u8,
            message_len: usize,
        );

        /// Starts a timer called `name` and returns its id.
        ///
        /// # Traps
        /// If `name` is not in bounds of memory or not UTF-8.
        ///
        /// # Errors
        /// None.
        pub fn console_timer_start(name_ptr: *const u8, name_len: usize) -> u32;

        /// Stops a timer and logs its elapsed time.
        ///
        /// # Traps
        /// Never.
        ///
        /// # Errors
        /// `NO_SUCH_CONSOLE_TIMER` for a bad id.
        pub fn console_timer_end(timer_id: u32) -> u16;

        /// Writes the 32-byte little-endian identity of the database to `out_ptr`.
        ///
        /// # Traps
        /// If `out_ptr` is not writable for 32 bytes.
        ///
        /// # Errors
        /// None.
        pub fn identity(out_ptr: *mut u8);

        /// Unstable: queues a call of the reducer named `name[..name_len]` with the BSATN
        /// arguments `args[..args_len]`, to run right after this call, outside its
        /// transaction (not atomic with it, not durable).
        ///
        /// # Traps
        /// If either slice is not in bounds of memory or the name is not UTF-8.
        pub fn volatile_nonatomic_schedule_immediate(
            name: *const u8,
            name_len: usize,
            args: *const u8,
            args_len: usize,
        );
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.1")]
    unsafe extern "C" {
        /// Writes the number of bytes left in `source` to `out`.
        ///
        /// # Traps
        /// If `out` is not writable.
        ///
        /// # Errors
        /// `NO_SUCH_BYTES` for a bad source (returned as a positive `i16`).
        pub fn bytes_source_remaining_length(source: BytesSource, out: *mut u32) -> i16;
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.2")]
    unsafe extern "C" {
        /// Writes a source holding the JWT payload of `connection_id` (16 little-endian
        /// bytes), or `0` if there is none.
        ///
        /// # Traps
        /// If a pointer is not in bounds of memory.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`.
        pub fn get_jwt(connection_id_ptr: *const u8, bytes_source_id: *mut BytesSource) -> u16;
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.3")]
    unsafe extern "C" {
        /// Procedures only: opens a transaction (blocking until the database lends one) and
        /// writes its timestamp, in microseconds since the Unix epoch, to `out`.
        ///
        /// # Errors
        /// `WOULD_BLOCK_TRANSACTION` if one is open already or this is not a procedure.
        pub fn procedure_start_mut_tx(out: *mut i64) -> u16;
        /// Procedures only: commits the open transaction.
        ///
        /// # Errors
        /// `TRANSACTION_NOT_ANONYMOUS` if none is open.
        pub fn procedure_commit_mut_tx() -> u16;
        /// Procedures only: rolls back the open transaction.
        ///
        /// # Errors
        /// `TRANSACTION_NOT_ANONYMOUS` if none is open.
        pub fn procedure_abort_mut_tx() -> u16;
        /// Procedures only: sleeps until `wake_micros` and returns the time it woke.
        pub fn procedure_sleep_until(wake_micros: i64) -> i64;
        /// Procedures only: sends the BSATN `HttpRequest` `req` with body `body`. On success
        /// `out` holds the response head (BSATN `HttpResponse`) and body sources; on
        /// `HTTP_ERROR`, `out[0]` holds the BSATN error text.
        ///
        /// # Errors
        /// `WOULD_BLOCK_TRANSACTION` inside a transaction; `BSATN_DECODE_ERROR`; `HTTP_ERROR`.
        pub fn procedure_http_request(
            req_ptr: *const u8,
            req_len: usize,
            body_ptr: *const u8,
            body_len: usize,
            out: *mut [BytesSource; 2],
        ) -> u16;
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.4")]
    unsafe extern "C" {
        /// Opens an iterator over the rows whose key in `index_id` equals `point`, the BSATN
        /// of the whole key (the concatenated column values for a multi-column index).
        ///
        /// # Traps
        /// If `point` is not in bounds of memory or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_INDEX`; `BSATN_DECODE_ERROR`.
        pub fn datastore_index_scan_point_bsatn(
            index_id: u32,
            point_ptr: *const u8,
            point_len: usize,
            out: *mut RowIter,
        ) -> u16;

        /// Deletes the rows [`datastore_index_scan_point_bsatn`] would yield and writes the count.
        ///
        /// # Traps
        /// If `point` is not in bounds of memory or `out` is not writable.
        ///
        /// # Errors
        /// As [`datastore_index_scan_point_bsatn`].
        pub fn datastore_delete_by_index_scan_point_bsatn(
            index_id: u32,
            point_ptr: *const u8,
            point_len: usize,
            out: *mut u32,
        ) -> u16;
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.5")]
    unsafe extern "C" {
        /// Deletes every row of `table_id` and writes the count.
        ///
        /// # Traps
        /// If `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION`; `NO_SUCH_TABLE`.
        pub fn datastore_clear(table_id: u32, out: *mut u64) -> u16;
    }

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "spacetime_10.6")]
    unsafe extern "C" {
        /// Looks up the database's environment value for the UTF-8 key
        /// `key[..key_len]` and writes a source of its bytes to `out`, or
        /// [`BytesSource::INVALID`] when the key has no value.
        ///
        /// # Traps
        /// If `key` is not valid UTF-8 or `out` is not writable.
        ///
        /// # Errors
        /// `NOT_IN_TRANSACTION` outside a reducer, view or procedure; `HOST_CALL_FAILURE`
        /// for a key the module did not declare or that is not a POSIX name.
        pub fn env_get(key: *const u8, key_len: usize, out: *mut BytesSource) -> u16;
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub use super::native::imports::*;
}

/// An error code returned by a host call (never 0, which means success). The table of
/// codes is [`spacetime_sats::errno`], shared with the host.
pub use spacetime_sats::errno::Errno;

/// The result of a host call.
pub type Result<T, E = Errno> = core::result::Result<T, E>;

fn cvt(code: u16) -> Result<()> {
    match Errno::from_code(code) {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Resolves a table by name.
///
/// # Errors
/// See [`raw::table_id_from_name`].
pub fn table_id_from_name(name: &str) -> Result<TableId> {
    let mut out = 0u32;
    cvt(unsafe { raw::table_id_from_name(name.as_ptr(), name.len(), &mut out) })?;
    Ok(TableId(out))
}

/// Resolves an index by name.
///
/// # Errors
/// See [`raw::index_id_from_name`].
pub fn index_id_from_name(name: &str) -> Result<IndexId> {
    let mut out = 0u32;
    cvt(unsafe { raw::index_id_from_name(name.as_ptr(), name.len(), &mut out) })?;
    Ok(IndexId(out))
}

/// The number of rows of a table.
///
/// # Errors
/// See [`raw::datastore_table_row_count`].
pub fn datastore_table_row_count(table_id: TableId) -> Result<u64> {
    let mut out = 0u64;
    cvt(unsafe { raw::datastore_table_row_count(table_id.0, &mut out) })?;
    Ok(out)
}

/// Scans all rows of a table.
///
/// # Errors
/// See [`raw::datastore_table_scan_bsatn`].
pub fn datastore_table_scan_bsatn(table_id: TableId) -> Result<RowIter> {
    let mut out = raw::RowIter::INVALID;
    cvt(unsafe { raw::datastore_table_scan_bsatn(table_id.0, &mut out) })?;
    Ok(RowIter { raw: out })
}

/// Scans the rows whose key equals `point`.
///
/// # Errors
/// See [`raw::datastore_index_scan_point_bsatn`].
pub fn datastore_index_scan_point_bsatn(index_id: IndexId, point: &[u8]) -> Result<RowIter> {
    let mut out = raw::RowIter::INVALID;
    cvt(unsafe { raw::datastore_index_scan_point_bsatn(index_id.0, point.as_ptr(), point.len(), &mut out) })?;
    Ok(RowIter { raw: out })
}

/// Deletes the rows whose key equals `point` and returns how many there were.
///
/// # Errors
/// See [`raw::datastore_delete_by_index_scan_point_bsatn`].
pub fn datastore_delete_by_index_scan_point_bsatn(index_id: IndexId, point: &[u8]) -> Result<u32> {
    let mut out = 0u32;
    cvt(unsafe { raw::datastore_delete_by_index_scan_point_bsatn(index_id.0, point.as_ptr(), point.len(), &mut out) })?;
    Ok(out)
}

/// Scans the rows matching a prefix and a range of the next key column.
///
/// # Errors
/// See [`raw::datastore_index_scan_range_bsatn`].
pub fn datastore_index_scan_range_bsatn(
    index_id: IndexId,
    prefix: &[u8],
    prefix_elems: ColId,
    rstart: &[u8],
    rend: &[u8],
) -> Result<RowIter> {
    let mut out = raw::RowIter::INVALID;
    cvt(unsafe {
        raw::datastore_index_scan_range_bsatn(
            index_id.0,
            prefix.as_ptr(),
            prefix.len(),
            prefix_elems.0,
            rstart.as_ptr(),
            rstart.len(),
            rend.as_ptr(),
            rend.len(),
            &mut out,
        )
    })?;
    Ok(RowIter { raw: out })
}

/// Deletes the rows a range scan would yield and returns how many there were.
///
/// # Errors
/// See [`raw::datastore_delete_by_index_scan_range_bsatn`].
pub fn datastore_delete_by_index_scan_range_bsatn(
    index_id: IndexId,
    prefix: &[u8],
    prefix_elems: ColId,
    rstart: &[u8],
    rend: &[u8],
) -> Result<u32> {
    let mut out = 0u32;
    cvt(unsafe {
        raw::datastore_delete_by_index_scan_range_bsatn(
            index_id.0,
            prefix.as_ptr(),
            prefix.len(),
            prefix_elems.0,
            rstart.as_ptr(),
            rstart.len(),
            rend.as_ptr(),
            rend.len(),
            &mut out,
        )
    })?;
    Ok(out)
}

/// Inserts a BSATN row. Returns the BSATN of the generated column values, which the host
/// wrote over the front of `row`.
///
/// # Errors
/// See [`raw::datastore_insert_bsatn`].
pub fn datastore_insert_bsatn(table_id: TableId, row: &mut [u8]) -> Result<&[u8]> {
    let mut len = row.len();
    cvt(unsafe { raw::datastore_insert_bsatn(table_id.0, row.as_mut_ptr(), &mut len) })?;
    Ok(&row[..len.min(row.len())])
}

/// Replaces the row with the same value in the unique index `index_id`. Returns the
/// generated column values as [`datastore_insert_bsatn`] does.
///
/// # Errors
/// See [`raw::datastore_update_bsatn`].
pub fn datastore_update_bsatn(table_id: TableId, index_id: IndexId, row: &mut [u8]) -> Result<&[u8]> {
    let mut len = row.len();
    cvt(unsafe { raw::datastore_update_bsatn(table_id.0, index_id.0, row.as_mut_ptr(), &mut len) })?;
    Ok(&row[..len.min(row.len())])
}

/// Deletes the rows equal to those in `relation` (BSATN `Vec<Row>`); returns the count.
///
/// # Errors
/// See [`raw::datastore_delete_all_by_eq_bsatn`].
pub fn datastore_delete_all_by_eq_bsatn(table_id: TableId, relation: &[u8]) -> Result<u32> {
    let mut out = 0u32;
    cvt(unsafe { raw::datastore_delete_all_by_eq_bsatn(table_id.0, relation.as_ptr(), relation.len(), &mut out) })?;
    Ok(out)
}

/// Deletes every row of a table and returns the count.
///
/// # Errors
/// See [`raw::datastore_clear`].
pub fn datastore_clear(table_id: TableId) -> Result<u64> {
    let mut out = 0u64;
    cvt(unsafe { raw::datastore_clear(table_id.0, &mut out) })?;
    Ok(out)
}

/// The levels of [`console_log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LogLevel {
    /// An error.
    Error = raw::LOG_LEVEL_ERROR,
    /// A warning.
    Warn = raw::LOG_LEVEL_WARN,
    /// Information.
    Info = raw::LOG_LEVEL_INFO,
    /// Debugging detail.
    Debug = raw::LOG_LEVEL_DEBUG,
    /// Tracing detail.
    Trace = raw::LOG_LEVEL_TRACE,
    /// A panic, logged before the module traps.
    Panic = raw::LOG_LEVEL_PANIC,
}

/// Writes a line to the database's log.
pub fn console_log(level: LogLevel, target: Option<&str>, filename: Option<&str>, line: Option<u32>, text: &str) {
    let ptr = |s: Option<&str>| s.map_or(core::ptr::null(), str::as_ptr);
    let len = |s: Option<&str>| s.map_or(0, str::len);
    unsafe {
        raw::console_log(
            level as u8,
            ptr(target),
            len(target),
            ptr(filename),
            len(filename),
            line.unwrap_or(u32::MAX),
            text.as_ptr(),
            text.len(),
        )
    }
}

/// Queues a call of reducer `name` with the BSATN arguments `args`, to run right after
/// the current call, outside its transaction (unstable upstream).
pub fn volatile_nonatomic_schedule_immediate(name: &str, args: &[u8]) {
    unsafe { raw::volatile_nonatomic_schedule_immediate(name.as_ptr(), name.len(), args.as_ptr(), args.len()) }
}

/// The database's identity as 32 little-endian bytes.
pub fn identity() -> [u8; 32] {
    let mut out = [0u8; 32];
    unsafe { raw::identity(out.as_mut_ptr()) };
    out
}

/// Starts a timer called `name` in the host; [`console_timer_end`] logs its elapsed time.
pub fn console_timer_start(name: &str) -> u32 {
    unsafe { raw::console_timer_start(name.as_ptr(), name.len()) }
}

/// Stops the timer `timer_id` and logs how long it ran.
///
/// # Errors
/// `NO_SUCH_CONSOLE_TIMER` if the host does not know the timer.
pub fn console_timer_end(timer_id: u32) -> Result<()> {
    cvt(unsafe { raw::console_timer_end(timer_id) })
}

/// The JWT payload (JSON text) of the connection `connection_id` (16 little-endian bytes),
/// or `None` when the host has no token for it.
///
/// # Errors
/// `NOT_IN_TRANSACTION` outside a reducer; `NO_SUCH_BYTES` if the host's source is bad.
pub fn get_jwt(connection_id: [u8; 16]) -> Result<Option<Vec<u8>>> {
    let mut source = raw::BytesSource::INVALID;
    cvt(unsafe { raw::get_jwt(connection_id.as_ptr(), &mut source) })?;
    if source == raw::BytesSource::INVALID {
        return Ok(None);
    }
    let mut payload = Vec::new();
    read_bytes_source(source, &mut payload)?;
    Ok(Some(payload))
}

/// The environment value of `key` (`spacetime_10.6`), or `None` when it has none.
///
/// # Errors
/// `NOT_IN_TRANSACTION` outside a call; `HOST_CALL_FAILURE` for an undeclared or invalid key.
pub fn env_get(key: &str) -> Result<Option<Vec<u8>>> {
    let mut source = raw::BytesSource::INVALID;
    cvt(unsafe { raw::env_get(key.as_ptr(), key.len(), &mut source) })?;
    if source == raw::BytesSource::INVALID {
        return Ok(None);
    }
    let mut value = Vec::new();
    read_bytes_source(source, &mut value)?;
    Ok(Some(value))
}

/// The procedure imports (`spacetime_10.3`), for `ProcedureContext`.
pub mod procedure {
    use super::{cvt, raw, read_bytes_source, Result};

    /// Opens the procedure's transaction; returns its timestamp in microseconds.
    ///
    /// # Errors
    /// `WOULD_BLOCK_TRANSACTION` if one is open or this is not a procedure.
    pub fn start_mut_tx() -> Result<i64> {
        let mut micros = 0i64;
        cvt(unsafe { raw::procedure_start_mut_tx(&mut micros) })?;
        Ok(micros)
    }

    /// Commits the procedure's transaction.
    ///
    /// # Errors
    /// `TRANSACTION_NOT_ANONYMOUS` if none is open.
    pub fn commit_mut_tx() -> Result<()> {
        cvt(unsafe { raw::procedure_commit_mut_tx() })
    }

    /// Rolls back the procedure's transaction.
    ///
    /// # Errors
    /// `TRANSACTION_NOT_ANONYMOUS` if none is open.
    pub fn abort_mut_tx() -> Result<()> {
        cvt(unsafe { raw::procedure_abort_mut_tx() })
    }

    /// Sleeps until `wake_micros` (since the Unix epoch); returns when it woke.
    pub fn sleep_until(wake_micros: i64) -> i64 {
        unsafe { raw::procedure_sleep_until(wake_micros) }
    }

    /// Sends an HTTP request: the response head and body bytes, or the host's error text.
    pub fn http_request(request: &[u8], body: &[u8]) -> core::result::Result<(Vec<u8>, Vec<u8>), String> {
        let mut out = [raw::BytesSource::INVALID; 2];
        let code = unsafe {
            raw::procedure_http_request(request.as_ptr(), request.len(), body.as_ptr(), body.len(), &mut out)
        };
        let read = |source: raw::BytesSource| {
            let mut buf = Vec::new();
            if source != raw::BytesSource::INVALID {
                read_bytes_source(source, &mut buf).unwrap_or_else(|e| panic!("reading the HTTP response failed: {e}"));
            }
            buf
        };
        match cvt(code) {
            Ok(()) => Ok((read(out[0]), read(out[1]))),
            Err(errno) => {
                let text = read(out[0]);
                Err(spacetime_sats::bsatn::from_slice::<String>(&text).unwrap_or_else(|_| errno.to_string()))
            }
        }
    }
}

/// Reads all of `source` into `buf` (appending).
///
/// # Errors
/// `NO_SUCH_BYTES` if `source` is not a valid source.
pub fn read_bytes_source(source: raw::BytesSource, buf: &mut Vec<u8>) -> Result<()> {
    let mut remaining = 0u32;
    let code = unsafe { raw::bytes_source_remaining_length(source, &mut remaining) };
    cvt(code as u16)?;
    buf.reserve(remaining as usize);
    loop {
        let spare = buf.spare_capacity_mut();
        let capacity = spare.len();
        let mut len = capacity;
        let ret = unsafe { raw::bytes_source_read(source, spare.as_mut_ptr().cast(), &mut len) };
        if ret <= 0 {
            // SAFETY: the host wrote `len` (at most `capacity`) initialized bytes into the spare capacity.
            unsafe { buf.set_len(buf.len() + len.min(capacity)) };
        }
        match ret {
            -1 => return Ok(()),
            0 if len == capacity => buf.reserve(1024),
            0 => {}
            code => return cvt(code as u16),
        }
    }
}

/// Writes all of `bytes` to `sink`.
///
/// # Errors
/// `NO_SUCH_BYTES` for a bad sink and `NO_SPACE` when the sink is full.
pub fn write_bytes_sink(sink: raw::BytesSink, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        let mut len = bytes.len();
        cvt(unsafe { raw::bytes_sink_write(sink, bytes.as_ptr(), &mut len) })?;
        bytes = &bytes[len.min(bytes.len())..];
    }
    Ok(())
}

/// An open host iterator over BSATN rows; closed on drop unless exhausted.
#[derive(Debug)]
pub struct RowIter {
    raw: raw::RowIter,
}

impl RowIter {
    /// Appends the next chunk of whole rows to `buf` and returns the number of bytes added.
    /// Returns 0 once exhausted.
    ///
    /// # Errors
    /// `NO_SUCH_ITER` if the host no longer knows the iterator.
    pub fn read(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        if self.is_exhausted() {
            return Ok(0);
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(32 * 1024);
        }
        loop {
            let spare = buf.spare_capacity_mut();
            let capacity = spare.len();
            let mut len = capacity;
            let ret = unsafe { raw::row_iter_bsatn_advance(self.raw, spare.as_mut_ptr().cast(), &mut len) };
            if let -1 | 0 = ret {
                // SAFETY: the host wrote `len` (at most `capacity`) initialized bytes.
                unsafe { buf.set_len(buf.len() + len.min(capacity)) };
            }
            match ret {
                -1 => {
                    self.raw = raw::RowIter::INVALID;
                    return Ok(len);
                }
                0 => return Ok(len),
                code if code as u16 == Errno::BUFFER_TOO_SMALL.code() => buf.reserve(len),
                code => return cvt(code as u16).map(|()| 0),
            }
        }
    }

    /// Whether the host has no more rows (the handle is then freed).
    pub fn is_exhausted(&self) -> bool {
        self.raw == raw::RowIter::INVALID
    }
}

impl Drop for RowIter {
    fn drop(&mut self) {
        if !self.is_exhausted() {
            // Closing can only fail for an unknown handle, which then needs no closing.
            unsafe { raw::row_iter_bsatn_close(self.raw) };
        }
    }
}
