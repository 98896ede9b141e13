//! WebSocket close reasons: the one place that knows a close frame's reason is at most
//! [`MAX_CLOSE_REASON`] bytes, and how to say why a database went away within it.

use spacetime_engine::Database;

/// The longest reason a WebSocket close frame carries: its payload is at most 125
/// bytes, two of them the close code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close reason must fit a control frame; cut at a character boundary.
pub fn truncate(mut reason: String) -> String {
    if reason.len() > MAX_CLOSE_REASON {
        let mut cut = MAX_CLOSE_REASON;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    reason
}

/// Why the database's actor is gone, short enough for a close frame: the engine's
/// message names the cause and the fix in prose far past that limit, so this keeps
/// its key words and cuts the cause (an OS error, perhaps with a path) to what fits.
pub fn database_gone(database: &Database) -> String {
    match database.log_failure() {
        Some(cause) => log_failure(&cause),
        None => "the database is shutting down".into(),
    }
}

/// The close reason for a database stopped by its log's failure `cause`, within
/// [`MAX_CLOSE_REASON`] bytes. A long cause loses its middle (typically a file path):
/// its start says what failed and its end is the OS error.
fn log_failure(cause: &str) -> String {
    const HEAD: &str = "database stopped: commit log cannot be written (";
    const TAIL: &str = "); fix storage, restart server";
    const ELLIPSIS: &str = "\u{2026}";
    let room = MAX_CLOSE_REASON - HEAD.len() - TAIL.len();
    if cause.len() <= room {
        return format!("{HEAD}{cause}{TAIL}");
    }
    let mut start = (room - ELLIPSIS.len()) / 4;
    while !cause.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = cause.len() - (room - ELLIPSIS.len() - start);
    while !cause.is_char_boundary(end) {
        end += 1;
    }
    format!("{HEAD}{}{ELLIPSIS}{}{TAIL}", &cause[..start], &cause[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_failure_close_reason_fits_a_close_frame_and_keeps_the_key_words() {
        let short = log_failure("File too large (os error 27)");
        assert_eq!(
            short,
            "database stopped: commit log cannot be written (File too large (os error 27)); fix storage, restart server"
        );
        assert!(short.len() <= MAX_CLOSE_REASON);
        let cause = format!(
            "cannot write segment /data/{}/00000.log: File too large (os error 27)",
            "é".repeat(40)
        );
        let long = log_failure(&cause);
        assert!(long.len() <= MAX_CLOSE_REASON, "{} bytes: {long}", long.len());
        assert!(
            long.starts_with("database stopped: commit log cannot be written (cannot"),
            "{long}"
        );
        assert!(
            long.ends_with("File too large (os error 27)); fix storage, restart server"),
            "{long}"
        );
    }

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        let cut = truncate("é".repeat(100));
        assert!(cut.len() <= MAX_CLOSE_REASON && cut.chars().all(|c| c == 'é'), "{cut}");
    }
}
