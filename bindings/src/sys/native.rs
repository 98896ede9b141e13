//! The stand-in for the host on targets other than wasm32.
//!
//! A native build (unit tests of module logic, `cargo check`, trybuild) has no Spacetime
//! host. Each raw import is routed to the [`Host`] installed on the current thread with
//! [`set_host`]; without one, a call panics with a message naming the import. Tests
//! install a small [`Host`] that implements only the calls they exercise.

use super::raw::{BytesSink, BytesSource, RowIter};
use std::cell::RefCell;

/// A host implementation for native builds. Every method defaults to a panic that names
/// the missing import, so an implementation overrides only what its test uses.
#[allow(missing_docs, clippy::missing_safety_doc, clippy::too_many_arguments)]
pub trait Host {
    fn table_id_from_name(&mut self, name: &str) -> Result<u32, u16> {
        unavailable("table_id_from_name", name)
    }
    fn index_id_from_name(&mut self, name: &str) -> Result<u32, u16> {
        unavailable("index_id_from_name", name)
    }
    fn datastore_table_row_count(&mut self, table_id: u32) -> Result<u64, u16> {
        unavailable("datastore_table_row_count", table_id)
    }
    fn datastore_table_scan_bsatn(&mut self, table_id: u32) -> Result<RowIter, u16> {
        unavailable("datastore_table_scan_bsatn", table_id)
    }
    fn datastore_index_scan_range_bsatn(
        &mut self,
        index_id: u32,
        prefix: &[u8],
        prefix_elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<RowIter, u16> {
        unavailable(
            "datastore_index_scan_range_bsatn",
            (index_id, prefix, prefix_elems, rstart, rend),
        )
    }
    fn datastore_delete_by_index_scan_range_bsatn(
        &mut self,
        index_id: u32,
        prefix: &[u8],
        prefix_elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<u32, u16> {
        unavailable(
            "datastore_delete_by_index_scan_range_bsatn",
            (index_id, prefix, prefix_elems, rstart, rend),
        )
    }
    fn datastore_index_scan_point_bsatn(&mut self, index_id: u32, point: &[u8]) -> Result<RowIter, u16> {
        unavailable("datastore_index_scan_point_bsatn", (index_id, point))
    }
    fn datastore_delete_by_index_scan_point_bsatn(&mut self, index_id: u32, point: &[u8]) -> Result<u32, u16> {
        unavailable("datastore_delete_by_index_scan_point_bsatn", (index_id, point))
    }
    fn datastore_delete_all_by_eq_bsatn(&mut self, table_id: u32, relation: &[u8]) -> Result<u32, u16> {
        unavailable("datastore_delete_all_by_eq_bsatn", (table_id, relation))
    }
    /// Returns `Ok(None)` when exhausted, `Ok(Some(bytes))` for the next chunk.
    fn row_iter_next_chunk(&mut self, iter: RowIter) -> Result<Option<Vec<u8>>, u16> {
        unavailable("row_iter_bsatn_advance", iter)
    }
    fn row_iter_bsatn_close(&mut self, iter: RowIter) -> Result<(), u16> {
        unavailable("row_iter_bsatn_close", iter)
    }
    /// Returns the BSATN of the generated column values.
    fn datastore_insert_bsatn(&mut self, table_id: u32, row: &[u8]) -> Result<Vec<u8>, u16> {
        unavailable("datastore_insert_bsatn", (table_id, row))
    }
    /// Returns the BSATN of the generated column values.
    fn datastore_update_bsatn(&mut self, table_id: u32, index_id: u32, row: &[u8]) -> Result<Vec<u8>, u16> {
        unavailable("datastore_update_bsatn", (table_id, index_id, row))
    }
    fn datastore_clear(&mut self, table_id: u32) -> Result<u64, u16> {
        unavailable("datastore_clear", table_id)
    }
    fn bytes_sink_write(&mut self, sink: BytesSink, bytes: &[u8]) -> Result<(), u16> {
        unavailable("bytes_sink_write", (sink, bytes))
    }
    /// Returns the whole remaining content of `source`, which is then drained.
    fn bytes_source_take(&mut self, source: BytesSource) -> Result<Vec<u8>, u16> {
        unavailable("bytes_source_read", source)
    }
    fn console_log(&mut self, level: u8, target: Option<&str>, file: Option<&str>, line: u32, message: &str) {
        unavailable("console_log", (level, target, file, line, message))
    }
    fn console_timer_start(&mut self, name: &str) -> u32 {
        unavailable("console_timer_start", name)
    }
    fn console_timer_end(&mut self, timer_id: u32) -> Result<(), u16> {
        unavailable("console_timer_end", timer_id)
    }
    fn identity(&mut self) -> [u8; 32] {
        unavailable("identity", ())
    }
    fn volatile_nonatomic_schedule_immediate(&mut self, name: &str, args: &[u8]) {
        unavailable("volatile_nonatomic_schedule_immediate", (name, args))
    }
    fn get_jwt(&mut self, connection_id: [u8; 16]) -> Result<BytesSource, u16> {
        unavailable("get_jwt", connection_id)
    }
    fn env_get(&mut self, key: &str) -> Result<BytesSource, u16> {
        unavailable("env_get", key)
    }
}

#[track_caller]
fn unavailable<T>(import: &str, args: impl std::fmt::Debug) -> T {
    panic!(
        "host call `{import}` ({args:?}) needs a Spacetime host: build the module for wasm32-unknown-unknown, \
         or install a `spacetimedb::sys::native::Host` with `set_host` in native tests"
    )
}

thread_local! {
    static HOST: RefCell<Option<Box<dyn Host>>> = const { RefCell::new(None) };
    // Sources drained partially by `bytes_source_read`, keyed by handle.
    static PENDING: RefCell<Vec<(BytesSource, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

/// Installs `host` for the current thread and returns the previous one.
pub fn set_host(host: Option<Box<dyn Host>>) -> Option<Box<dyn Host>> {
    HOST.with(|h| std::mem::replace(&mut *h.borrow_mut(), host))
}

fn with_host<R>(f: impl FnOnce(&mut dyn Host) -> R) -> R {
    HOST.with(|h| {
        let mut h = h.borrow_mut();
        match h.as_deref_mut() {
            Some(host) => f(host),
            None => f(&mut NoHost),
        }
    })
}

struct NoHost;
impl Host for NoHost {}

fn code<T>(r: Result<T, u16>, write: impl FnOnce(T)) -> u16 {
    match r {
        Ok(v) => {
            write(v);
            0
        }
        Err(e) => e,
    }
}

/// The raw imports with the wasm signatures, forwarding to the installed [`Host`].
///
/// # Safety
/// Each function has the safety contract of the import it stands for: every pointer must
/// be valid for the length given.
#[allow(clippy::missing_safety_doc, clippy::too_many_arguments, missing_docs)]
pub mod imports {
    use super::*;

    unsafe fn str_arg<'a>(ptr: *const u8, len: usize) -> &'a str {
        let bytes = unsafe { bytes_arg(ptr, len) };
        std::str::from_utf8(bytes)
            .unwrap_or_else(|_| panic!("host call received a name that is not UTF-8: the real host traps"))
    }

    unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
        if len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(ptr, len) }
        }
    }

    pub unsafe fn procedure_start_mut_tx(_out: *mut i64) -> u16 {
        unavailable("procedure_start_mut_tx", ())
    }

    pub unsafe fn procedure_commit_mut_tx() -> u16 {
        unavailable("procedure_commit_mut_tx", ())
    }

    pub unsafe fn procedure_abort_mut_tx() -> u16 {
        unavailable("procedure_abort_mut_tx", ())
    }

    pub unsafe fn procedure_sleep_until(wake_micros: i64) -> i64 {
        unavailable("procedure_sleep_until", wake_micros)
    }

    pub unsafe fn procedure_http_request(
        _req_ptr: *const u8,
        req_len: usize,
        _body_ptr: *const u8,
        body_len: usize,
        _out: *mut [BytesSource; 2],
    ) -> u16 {
        unavailable("procedure_http_request", (req_len, body_len))
    }

    pub unsafe fn table_id_from_name(name: *const u8, name_len: usize, out: *mut u32) -> u16 {
        let name = unsafe { str_arg(name, name_len) };
        code(with_host(|h| h.table_id_from_name(name)), |v| unsafe { *out = v })
    }
    pub unsafe fn index_id_from_name(name: *const u8, name_len: usize, out: *mut u32) -> u16 {
        let name = unsafe { str_arg(name, name_len) };
        code(with_host(|h| h.index_id_from_name(name)), |v| unsafe { *out = v })
    }
    pub unsafe fn datastore_table_row_count(table_id: u32, out: *mut u64) -> u16 {
        code(with_host(|h| h.datastore_table_row_count(table_id)), |v| unsafe {
            *out = v
        })
    }
    pub unsafe fn datastore_table_scan_bsatn(table_id: u32, out: *mut RowIter) -> u16 {
        code(with_host(|h| h.datastore_table_scan_bsatn(table_id)), |v| unsafe {
            *out = v
        })
    }
    pub unsafe fn datastore_index_scan_range_bsatn(
        index_id: u32,
        prefix_ptr: *const u8,
        prefix_len: usize,
        prefix_elems: u16,
        rstart_ptr: *const u8,
        rstart_len: usize,
        rend_ptr: *const u8,
        rend_len: usize,
        out: *mut RowIter,
    ) -> u16 {
        let (prefix, rstart, rend) = unsafe {
            (
                bytes_arg(prefix_ptr, prefix_len),
                bytes_arg(rstart_ptr, rstart_len),
                bytes_arg(rend_ptr, rend_len),
            )
        };
        code(
            with_host(|h| h.datastore_index_scan_range_bsatn(index_id, prefix, prefix_elems, rstart, rend)),
            |v| unsafe { *out = v },
        )
    }
    pub unsafe fn datastore_delete_by_index_scan_range_bsatn(
        index_id: u32,
        prefix_ptr: *const u8,
        prefix_len: usize,
        prefix_elems: u16,
        rstart_ptr: *const u8,
        rstart_len: usize,
        rend_ptr: *const u8,
        rend_len: usize,
        out: *mut u32,
    ) -> u16 {
        let (prefix, rstart, rend) = unsafe {
            (
                bytes_arg(prefix_ptr, prefix_len),
                bytes_arg(rstart_ptr, rstart_len),
                bytes_arg(rend_ptr, rend_len),
            )
        };
        code(
            with_host(|h| h.datastore_delete_by_index_scan_range_bsatn(index_id, prefix, prefix_elems, rstart, rend)),
            |v| unsafe { *out = v },
        )
    }
    pub unsafe fn datastore_index_scan_point_bsatn(
        index_id: u32,
        point_ptr: *const u8,
        point_len: usize,
        out: *mut RowIter,
    ) -> u16 {
        let point = unsafe { bytes_arg(point_ptr, point_len) };
        code(
            with_host(|h| h.datastore_index_scan_point_bsatn(index_id, point)),
            |v| unsafe { *out = v },
        )
    }
    pub unsafe fn datastore_delete_by_index_scan_point_bsatn(
        index_id: u32,
        point_ptr: *const u8,
        point_len: usize,
        out: *mut u32,
    ) -> u16 {
        let point = unsafe { bytes_arg(point_ptr, point_len) };
        code(
            with_host(|h| h.datastore_delete_by_index_scan_point_bsatn(index_id, point)),
            |v| unsafe { *out = v },
        )
    }
    pub unsafe fn datastore_delete_all_by_eq_bsatn(
        table_id: u32,
        rel_ptr: *const u8,
        rel_len: usize,
        out: *mut u32,
    ) -> u16 {
        let rel = unsafe { bytes_arg(rel_ptr, rel_len) };
        code(
            with_host(|h| h.datastore_delete_all_by_eq_bsatn(table_id, rel)),
            |v| unsafe { *out = v },
        )
    }
    pub unsafe fn row_iter_bsatn_advance(iter: RowIter, buffer_ptr: *mut u8, buffer_len_ptr: *mut usize) -> i16 {
        let capacity = unsafe { *buffer_len_ptr };
        match with_host(|h| h.row_iter_next_chunk(iter)) {
            Ok(None) => {
                unsafe { *buffer_len_ptr = 0 };
                -1
            }
            Ok(Some(chunk)) if chunk.len() > capacity => {
                panic!(
                    "native host returned a {}-byte chunk for a {capacity}-byte buffer",
                    chunk.len()
                )
            }
            Ok(Some(chunk)) => {
                unsafe {
                    std::ptr::copy_nonoverlapping(chunk.as_ptr(), buffer_ptr, chunk.len());
                    *buffer_len_ptr = chunk.len();
                }
                0
            }
            Err(e) => e as i16,
        }
    }
    pub unsafe fn row_iter_bsatn_close(iter: RowIter) -> u16 {
        code(with_host(|h| h.row_iter_bsatn_close(iter)), |()| {})
    }
    pub unsafe fn datastore_insert_bsatn(table_id: u32, row_ptr: *mut u8, row_len_ptr: *mut usize) -> u16 {
        let row = unsafe { bytes_arg(row_ptr, *row_len_ptr) }.to_vec();
        code(
            with_host(|h| h.datastore_insert_bsatn(table_id, &row)),
            |generated| unsafe {
                std::ptr::copy_nonoverlapping(generated.as_ptr(), row_ptr, generated.len().min(row.len()));
                *row_len_ptr = generated.len();
            },
        )
    }
    pub unsafe fn datastore_update_bsatn(
        table_id: u32,
        index_id: u32,
        row_ptr: *mut u8,
        row_len_ptr: *mut usize,
    ) -> u16 {
        let row = unsafe { bytes_arg(row_ptr, *row_len_ptr) }.to_vec();
        code(
            with_host(|h| h.datastore_update_bsatn(table_id, index_id, &row)),
            |generated| unsafe {
                std::ptr::copy_nonoverlapping(generated.as_ptr(), row_ptr, generated.len().min(row.len()));
                *row_len_ptr = generated.len();
            },
        )
    }
    pub unsafe fn datastore_clear(table_id: u32, out: *mut u64) -> u16 {
        code(with_host(|h| h.datastore_clear(table_id)), |v| unsafe { *out = v })
    }
    pub unsafe fn bytes_sink_write(sink: BytesSink, buffer_ptr: *const u8, buffer_len_ptr: *mut usize) -> u16 {
        let bytes = unsafe { bytes_arg(buffer_ptr, *buffer_len_ptr) };
        code(with_host(|h| h.bytes_sink_write(sink, bytes)), |()| {})
    }
    fn take_pending(source: BytesSource) -> Result<Vec<u8>, u16> {
        let pending = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.iter().position(|(s, _)| *s == source).map(|i| p.swap_remove(i).1)
        });
        match pending {
            Some(bytes) => Ok(bytes),
            None => with_host(|h| h.bytes_source_take(source)),
        }
    }
    pub unsafe fn bytes_source_remaining_length(source: BytesSource, out: *mut u32) -> i16 {
        match take_pending(source) {
            Ok(bytes) => {
                unsafe { *out = bytes.len() as u32 };
                PENDING.with(|p| p.borrow_mut().push((source, bytes)));
                0
            }
            Err(e) => e as i16,
        }
    }
    pub unsafe fn bytes_source_read(source: BytesSource, buffer_ptr: *mut u8, buffer_len_ptr: *mut usize) -> i16 {
        match take_pending(source) {
            Ok(mut bytes) => {
                let n = bytes.len().min(unsafe { *buffer_len_ptr });
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer_ptr, n);
                    *buffer_len_ptr = n;
                }
                if n == bytes.len() {
                    -1
                } else {
                    bytes.drain(..n);
                    PENDING.with(|p| p.borrow_mut().push((source, bytes)));
                    0
                }
            }
            Err(e) => e as i16,
        }
    }
    pub unsafe fn console_log(
        level: u8,
        target_ptr: *const u8,
        target_len: usize,
        filename_ptr: *const u8,
        filename_len: usize,
        line_number: u32,
        message_ptr: *const u8,
        message_len: usize,
    ) {
        let opt = |ptr: *const u8, len| {
            (!ptr.is_null()).then(|| String::from_utf8_lossy(unsafe { bytes_arg(ptr, len) }).into_owned())
        };
        let (target, file) = (opt(target_ptr, target_len), opt(filename_ptr, filename_len));
        let message = String::from_utf8_lossy(unsafe { bytes_arg(message_ptr, message_len) }).into_owned();
        with_host(|h| h.console_log(level, target.as_deref(), file.as_deref(), line_number, &message))
    }
    pub unsafe fn console_timer_start(name_ptr: *const u8, name_len: usize) -> u32 {
        let name = unsafe { str_arg(name_ptr, name_len) };
        with_host(|h| h.console_timer_start(name))
    }
    pub unsafe fn console_timer_end(timer_id: u32) -> u16 {
        code(with_host(|h| h.console_timer_end(timer_id)), |()| {})
    }
    pub unsafe fn volatile_nonatomic_schedule_immediate(
        name_ptr: *const u8,
        name_len: usize,
        args_ptr: *const u8,
        args_len: usize,
    ) {
        let name = unsafe { str_arg(name_ptr, name_len) };
        let args = unsafe { bytes_arg(args_ptr, args_len) };
        with_host(|h| h.volatile_nonatomic_schedule_immediate(name, args))
    }
    pub unsafe fn identity(out_ptr: *mut u8) {
        let id = with_host(|h| h.identity());
        unsafe { std::ptr::copy_nonoverlapping(id.as_ptr(), out_ptr, 32) }
    }
    pub unsafe fn get_jwt(connection_id_ptr: *const u8, bytes_source_id: *mut BytesSource) -> u16 {
        let mut id = [0u8; 16];
        unsafe { std::ptr::copy_nonoverlapping(connection_id_ptr, id.as_mut_ptr(), 16) };
        code(with_host(|h| h.get_jwt(id)), |v| unsafe { *bytes_source_id = v })
    }
    pub unsafe fn env_get(key: *const u8, key_len: usize, out: *mut BytesSource) -> u16 {
        let key = unsafe { str_arg(key, key_len) };
        code(with_host(|h| h.env_get(key)), |v| unsafe { *out = v })
    }
}
