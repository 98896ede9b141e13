//! The error codes of the module ABI: the one table of every `spacetime_10.x` errno, its
//! number, name and message (`shared/reference/module-api.md` §2.3).
//!
//! A host call returns 0 for success and one of these codes for an expected failure. The
//! host (which returns them), the datastore (whose errors map onto them) and the module
//! bindings (which decode them into errors) all read this table, so a code is spelled once.
//! The numbers are part of the wire ABI: modules built against SpacetimeDB's crates compare
//! against them, so they never change.

use std::fmt;
use std::num::NonZeroU16;

/// An error code returned by a host call. Never 0, which means success.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(NonZeroU16);

/// Defines one associated constant per code, the table [`Errno::ALL`], and the lookups by
/// code, so the three can never disagree.
macro_rules! errnos {
    ($($name:ident($code:literal, $msg:literal),)*) => {
        impl Errno {
            $(
                #[doc = $msg]
                pub const $name: Errno = Errno(match NonZeroU16::new($code) {
                    Some(code) => code,
                    None => panic!("errno codes are non-zero"),
                });
            )*

            /// Every code the ABI defines, in ascending order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The code's name as the ABI spells it (`NO_SUCH_TABLE`), if the code is known.
            pub const fn name(self) -> Option<&'static str> {
                match self.0.get() {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// The host's description of this error, if the code is known.
            pub const fn message(self) -> Option<&'static str> {
                match self.0.get() {
                    $($code => Some($msg),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    HOST_CALL_FAILURE(1, "ABI called by host returned an error"),
    NOT_IN_TRANSACTION(2, "ABI call can only be made while in a transaction"),
    BSATN_DECODE_ERROR(3, "Couldn't decode the BSATN to the expected type"),
    NO_SUCH_TABLE(4, "No such table"),
    NO_SUCH_INDEX(5, "No such index"),
    NO_SUCH_ITER(6, "The provided row iterator is not valid"),
    NO_SUCH_CONSOLE_TIMER(7, "The provided console timer does not exist"),
    NO_SUCH_BYTES(8, "The provided bytes source or sink is not valid"),
    NO_SPACE(9, "The provided sink has no more space left"),
    WRONG_INDEX_ALGO(10, "The Index does not support range scans"),
    BUFFER_TOO_SMALL(11, "The provided buffer is not large enough to store the data"),
    UNIQUE_ALREADY_EXISTS(12, "Value with given unique identifier already exists"),
    SCHEDULE_AT_DELAY_TOO_LONG(13, "Specified delay in scheduling row was too long"),
    INDEX_NOT_UNIQUE(14, "The index was not unique"),
    NO_SUCH_ROW(15, "The row was not found, e.g., in an update call"),
    AUTO_INC_OVERFLOW(16, "The auto-increment sequence overflowed"),
    WOULD_BLOCK_TRANSACTION(17, "Attempted async or blocking op while holding open a transaction"),
    TRANSACTION_NOT_ANONYMOUS(18, "Not in an anonymous transaction. Called by a reducer?"),
    TRANSACTION_IS_READ_ONLY(19, "ABI call can only be made while within a mutable transaction"),
    TRANSACTION_IS_MUT(20, "ABI call can only be made while within a read-only transaction"),
    HTTP_ERROR(21, "The HTTP request failed"),
}

impl Errno {
    /// The errno for `code`, or `None` for 0 (success). Codes outside the table are kept:
    /// a newer host may return one this build does not know.
    pub const fn from_code(code: u16) -> Option<Self> {
        match NonZeroU16::new(code) {
            Some(code) => Some(Errno(code)),
            None => None,
        }
    }

    /// The numeric code, as a host call returns it.
    pub const fn code(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Errno")
            .field("code", &self.code())
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (error {})",
            self.message().unwrap_or("Unknown error"),
            self.code()
        )
    }
}

impl std::error::Error for Errno {}
