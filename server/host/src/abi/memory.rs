//! Guest memory access for the import shims, and [`cvt`], the one converter from a
//! shim's result to what the guest sees: success, an errno, or a trap.
//!
//! The rules are those of the ABI: a pointer or length that leaves guest memory, or a
//! string that is not UTF-8 where UTF-8 is required, traps; a datastore or handle
//! failure returns its errno; an unexpected host failure traps.

use crate::env::InstanceEnv;
use crate::limits::log_string;
use spacetime_datastore::DatastoreError;
use spacetime_sats::Errno;
use wasmtime::Caller;

/// Why a host call traps.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostTrap {
    /// A pointer and length do not lie inside guest memory.
    #[error("`{import}` was passed {what} at {ptr:#x}..+{len}, outside the module's {size}-byte memory")]
    OutOfBounds {
        import: &'static str,
        what: &'static str,
        ptr: u32,
        len: u64,
        size: usize,
    },
    /// A string that must be UTF-8 is not.
    #[error("`{import}` was passed {what} that is not valid UTF-8")]
    InvalidUtf8 { import: &'static str, what: &'static str },
    /// A write would take a bytes sink past its cap (see [`crate::limits`]).
    #[error("`{import}`: {message}")]
    OverLimit { import: &'static str, message: String },
    /// The call asked for something the host cannot do, described in full.
    #[error("`{import}`: {message}")]
    Failed { import: &'static str, message: String },
}

/// The failure of one host call before conversion.
#[derive(Debug)]
pub(crate) enum AbiError {
    /// Return this errno to the guest.
    Errno(Errno),
    /// Trap the guest.
    Trap(HostTrap),
}

impl From<DatastoreError> for AbiError {
    fn from(e: DatastoreError) -> Self {
        Self::Errno(e.errno())
    }
}

impl From<HostTrap> for AbiError {
    fn from(t: HostTrap) -> Self {
        Self::Trap(t)
    }
}

/// A shim's result type.
pub(crate) type AbiResult<T> = Result<T, AbiError>;

/// How a successful shim result and an errno become the guest-visible return value.
pub(crate) trait AbiReturn: Sized {
    /// The value for an errno, or `None` if this import cannot return one (it traps).
    fn from_errno(errno: Errno) -> Option<Self>;
}

/// `u16` errno imports (wasm `i32`): 0 is success.
impl AbiReturn for u32 {
    fn from_errno(errno: Errno) -> Option<Self> {
        Some(u32::from(errno.code()))
    }
}

/// `i16` imports (wasm `i32`): -1 is "exhausted", 0 "more", positive an errno.
impl AbiReturn for i32 {
    fn from_errno(errno: Errno) -> Option<Self> {
        Some(i32::from(errno.code()))
    }
}

/// Imports returning a time (`procedure_sleep_until`); an errno here becomes a trap.
impl AbiReturn for i64 {
    fn from_errno(_errno: Errno) -> Option<Self> {
        None
    }
}

/// Imports without a return value; an errno here becomes a trap.
impl AbiReturn for () {
    fn from_errno(_errno: Errno) -> Option<Self> {
        None
    }
}

/// Converts a shim's result: `Ok` passes through, an errno is returned where the
/// import has one, and everything else traps with the [`HostTrap`] as the error.
pub(crate) fn cvt<R: AbiReturn>(import: &'static str, result: AbiResult<R>) -> wasmtime::Result<R> {
    match result {
        Ok(r) => Ok(r),
        Err(AbiError::Errno(errno)) => R::from_errno(errno).ok_or_else(|| {
            wasmtime::Error::new(HostTrap::Failed {
                import,
                message: format!("failed with errno {}", errno.code()),
            })
        }),
        Err(AbiError::Trap(trap)) => Err(wasmtime::Error::new(trap)),
    }
}

/// Runs a shim body with the guest's memory and the instance state borrowed
/// side by side, and converts its result.
#[inline]
pub(crate) fn with_env<R: AbiReturn>(
    caller: &mut Caller<'_, InstanceEnv>,
    import: &'static str,
    body: impl FnOnce(GuestMem<'_>, &mut InstanceEnv) -> AbiResult<R>,
) -> wasmtime::Result<R> {
    let result = match caller.data().memory {
        Some(memory) => {
            let (mem, env) = memory.data_and_store_mut(caller);
            body(GuestMem { mem, import }, env)
        }
        // Imports run only from exports, and exports run only after the memory is
        // recorded; a module without one was refused at load time.
        None => Err(AbiError::Trap(HostTrap::Failed {
            import,
            message: "the module has no memory".into(),
        })),
    };
    cvt(import, result)
}

/// The guest's linear memory during one host call.
pub(crate) struct GuestMem<'a> {
    mem: &'a mut [u8],
    import: &'static str,
}

impl<'a> GuestMem<'a> {
    fn range(&self, what: &'static str, ptr: u32, len: u64) -> AbiResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        match (start as u64).checked_add(len) {
            Some(end) if end <= self.mem.len() as u64 => Ok(start..end as usize),
            _ => Err(AbiError::Trap(HostTrap::OutOfBounds {
                import: self.import,
                what,
                ptr,
                len,
                size: self.mem.len(),
            })),
        }
    }

    /// The bytes `ptr..ptr + len`.
    pub(crate) fn bytes(&self, what: &'static str, ptr: u32, len: u32) -> AbiResult<&[u8]> {
        let range = self.range(what, ptr, u64::from(len))?;
        Ok(&self.mem[range])
    }

    /// The bytes `ptr..ptr + len`, writable.
    pub(crate) fn bytes_mut(&mut self, what: &'static str, ptr: u32, len: u32) -> AbiResult<&mut [u8]> {
        let range = self.range(what, ptr, u64::from(len))?;
        Ok(&mut self.mem[range])
    }

    /// The UTF-8 string `ptr..ptr + len`.
    pub(crate) fn str(&self, what: &'static str, ptr: u32, len: u32) -> AbiResult<&str> {
        std::str::from_utf8(self.bytes(what, ptr, len)?).map_err(|_| {
            AbiError::Trap(HostTrap::InvalidUtf8 {
                import: self.import,
                what,
            })
        })
    }

    /// The string `ptr..ptr + len` of a log record, decoded lossily and capped as
    /// [`log_string`] does; `None` for a NULL pointer.
    pub(crate) fn log_string_opt(&self, what: &'static str, ptr: u32, len: u32) -> AbiResult<Option<String>> {
        if ptr == 0 {
            return Ok(None);
        }
        Ok(Some(log_string(self.bytes(what, ptr, len)?)))
    }

    /// Reads a little-endian `u32`.
    pub(crate) fn read_u32(&self, what: &'static str, ptr: u32) -> AbiResult<u32> {
        let b = self.bytes(what, ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Writes `bytes` at `ptr`.
    pub(crate) fn write(&mut self, what: &'static str, ptr: u32, bytes: &[u8]) -> AbiResult<()> {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.bytes_mut(what, ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Writes a little-endian `u32`.
    pub(crate) fn write_u32(&mut self, what: &'static str, ptr: u32, value: u32) -> AbiResult<()> {
        self.write(what, ptr, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    pub(crate) fn write_u64(&mut self, what: &'static str, ptr: u32, value: u64) -> AbiResult<()> {
        self.write(what, ptr, &value.to_le_bytes())
    }
}

/// The errno for a call that needs a transaction outside of one.
pub(crate) const NOT_IN_TRANSACTION: AbiError = AbiError::Errno(Errno::NOT_IN_TRANSACTION);
