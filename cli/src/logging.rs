//! The server's log output for `spacetime start`, through `tracing-subscriber`: a filter in
//! its `EnvFilter` syntax and text or JSON lines on stderr.
//!
//! The server crates write to the `log` facade; installing the subscriber also installs
//! `tracing-log`'s bridge, so their records pass through the same filter and format.

use crate::subcommands::start::values::LogFormat;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter does not parse (settings check it first, so this is a bug if seen).
    #[error("invalid log filter {filter:?}: {message}")]
    Filter {
        /// The filter.
        filter: String,
        /// The parser's message.
        message: String,
    },
    /// A logger is already installed in this process.
    #[error("cannot install the logger: {0}")]
    Install(String),
}

/// Installs the subscriber (once per process).
///
/// # Errors
/// When `filter` does not parse or a logger is already installed.
pub fn init(filter: &str, format: LogFormat) -> Result<(), LoggingError> {
    let env_filter = tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .map_err(|e| LoggingError::Filter {
            filter: filter.to_owned(),
            message: e.to_string(),
        })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| LoggingError::Install(e.to_string()))
}
