//! The caps on the bytes a module can make the host hold for it: what it writes to a
//! bytes sink (its definition, a reducer's or `__setup__`'s error message) and what it
//! logs. Without them one module could make the whole server allocate until the OOM
//! killer strikes (a `__describe_module__` that writes forever, a 100 MiB `Err`).
//!
//! A sink past its cap traps the call, with a message naming the cap, its value and
//! the constant; a log string past its cap is cut, with a marker saying so, because a
//! long log line is not worth failing a reducer over.

/// The most bytes `__describe_module__` may write: 64 MiB. A real module definition is
/// a few KiB (a few MiB for very large schemas), so anything near this is a module
/// writing in a loop.
pub const MAX_MODULE_DEF_BYTES: usize = 64 << 20;

/// The most bytes of a reducer's `Err` message (or of `__setup__`'s error): 1 MiB. The
/// text is sent back to the caller and logged, so it should be a sentence, not data.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1 << 20;

/// The most bytes kept of each string of one log record (the message, the target and
/// the file name), and of a console timer's name: 64 KiB. Longer strings are cut at a
/// character boundary and end in a marker naming this cap and the original length.
pub const MAX_LOG_RECORD_BYTES: usize = 64 << 10;

/// The largest return value a procedure may produce, as BSATN: 16 MiB.
pub const MAX_PROCEDURE_RESULT_BYTES: usize = 16 << 20;

/// The largest result a view may produce in one evaluation, as BSATN: 64 MiB. A view's
/// rows are held by the server for every caller it runs for, so a runaway view must
/// stop here rather than exhaust memory.
pub const MAX_VIEW_RESULT_BYTES: usize = 64 << 20;

/// The largest response body an HTTP handler may produce: 16 MiB, as for a
/// procedure's return value.
pub const MAX_HTTP_HANDLER_RESPONSE_BYTES: usize = 16 << 20;

/// The largest response head (status, version, headers as BSATN) an HTTP handler may
/// produce: 1 MiB.
pub const MAX_HTTP_HANDLER_HEAD_BYTES: usize = 1 << 20;

/// What a bytes sink carries, which decides its cap and the words of its trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkKind {
    /// The output of `__describe_module__`.
    ModuleDef,
    /// The error message of a reducer call.
    ReducerError,
    /// The error message of `__setup__`.
    SetupError,
    /// The BSATN of a procedure's return value.
    ProcedureResult,
    /// The rows a view returns (a header and the BSATN of `Vec<T>`).
    ViewResult,
    /// The BSATN head of an HTTP handler's response.
    HttpResponseHead,
    /// The body of an HTTP handler's response.
    HttpResponseBody,
}

impl SinkKind {
    /// The cap, in bytes.
    pub(crate) fn limit(self) -> usize {
        match self {
            Self::ModuleDef => MAX_MODULE_DEF_BYTES,
            Self::ReducerError | Self::SetupError => MAX_ERROR_MESSAGE_BYTES,
            Self::ProcedureResult => MAX_PROCEDURE_RESULT_BYTES,
            Self::ViewResult => MAX_VIEW_RESULT_BYTES,
            Self::HttpResponseHead => MAX_HTTP_HANDLER_HEAD_BYTES,
            Self::HttpResponseBody => MAX_HTTP_HANDLER_RESPONSE_BYTES,
        }
    }

    /// The message of the trap when a write would pass the cap.
    pub(crate) fn over_limit_message(self, wanted: u64) -> String {
        let (what, constant, fix) = match self {
            Self::ModuleDef => (
                "the module definition written by `__describe_module__`",
                "MAX_MODULE_DEF_BYTES",
                "a real definition is far smaller, so the module is probably writing in a loop; check its `__describe_module__`",
            ),
            Self::ReducerError => (
                "the reducer's error message",
                "MAX_ERROR_MESSAGE_BYTES",
                "return a shorter `Err` message (log details instead, or store them in a table)",
            ),
            Self::SetupError => (
                "the error message of `__setup__`",
                "MAX_ERROR_MESSAGE_BYTES",
                "return a shorter error message",
            ),
            Self::ProcedureResult => (
                "the procedure's return value",
                "MAX_PROCEDURE_RESULT_BYTES",
                "return less (store large results in a table and return a key)",
            ),
            Self::ViewResult => (
                "the view's rows",
                "MAX_VIEW_RESULT_BYTES",
                "return fewer rows (filter in the view, or split it into several views)",
            ),
            Self::HttpResponseHead => (
                "the HTTP handler's response headers",
                "MAX_HTTP_HANDLER_HEAD_BYTES",
                "send fewer or shorter headers",
            ),
            Self::HttpResponseBody => (
                "the HTTP handler's response body",
                "MAX_HTTP_HANDLER_RESPONSE_BYTES",
                "return a smaller body (serve large data in parts)",
            ),
        };
        format!(
            "{what} would be {wanted} bytes, past the host's limit of {} ({constant}); {fix}",
            human_bytes(self.limit())
        )
    }
}

/// `bytes` decoded lossily as UTF-8, cut to at most [`MAX_LOG_RECORD_BYTES`] (at a
/// character boundary) plus a marker saying it was cut, so a huge log string never
/// becomes a huge allocation.
pub(crate) fn log_string(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_LOG_RECORD_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut cut = MAX_LOG_RECORD_BYTES;
    // Back up over UTF-8 continuation bytes so the kept part ends on a whole character.
    while cut > 0 && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    let mut text = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    text.push_str(&format!(
        " … [cut: {} bytes in all, past the host's limit of {} per log string (MAX_LOG_RECORD_BYTES)]",
        bytes.len(),
        human_bytes(MAX_LOG_RECORD_BYTES)
    ));
    text
}

/// `64 MiB (67108864 bytes)`: a cap as people read it, and exactly.
fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB ({n} bytes)", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB ({n} bytes)", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_log_strings_are_kept_whole() {
        assert_eq!(log_string(b"hello"), "hello");
        let exact = vec![b'a'; MAX_LOG_RECORD_BYTES];
        assert_eq!(log_string(&exact).len(), MAX_LOG_RECORD_BYTES);
    }

    #[test]
    fn long_log_strings_are_cut_at_a_character_boundary_with_a_marker() {
        // 'é' is two bytes; an odd prefix puts the cap in the middle of one.
        let mut bytes = b"x".to_vec();
        bytes.extend("é".repeat(MAX_LOG_RECORD_BYTES).as_bytes());
        let text = log_string(&bytes);
        let (kept, marker) = text.split_once(" … [cut: ").expect("a marker");
        assert_eq!(kept.len(), MAX_LOG_RECORD_BYTES - 1, "cut before the split character");
        assert!(!kept.contains('\u{FFFD}'), "no replacement character at the cut");
        assert!(
            marker.contains(&format!("{} bytes in all", bytes.len())) && marker.contains("64 KiB (65536 bytes)"),
            "{marker}"
        );
    }

    #[test]
    fn sink_traps_name_the_cap_and_its_value() {
        let m = SinkKind::ModuleDef.over_limit_message(70_000_000);
        assert!(
            m.contains("64 MiB (67108864 bytes)") && m.contains("MAX_MODULE_DEF_BYTES"),
            "{m}"
        );
        let m = SinkKind::ReducerError.over_limit_message(2 << 20);
        assert!(
            m.contains("1 MiB (1048576 bytes)") && m.contains("MAX_ERROR_MESSAGE_BYTES"),
            "{m}"
        );
    }
}
