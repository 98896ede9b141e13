//! The shutdown signals: the first SIGTERM or SIGINT starts a graceful shutdown, a
//! second one exits the process at once (an operator who asks twice means it).

use crate::error::ServerError;

/// The exit code after a second signal: 128 + SIGINT, as shells report an interrupt.
const FORCED_EXIT_CODE: i32 = 130;

/// Installed signal handlers; installed before the server loads its databases, so a
/// signal during a long start is not lost (nor kills the process without a flush).
pub(crate) struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    /// [`ServerError::Signals`] if the OS refuses.
    pub(crate) fn install() -> Result<Self, ServerError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate()).map_err(ServerError::Signals)?,
                int: signal(SignalKind::interrupt()).map_err(ServerError::Signals)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Completes at the first signal, after arranging for a second one to exit the
    /// process at once.
    pub(crate) async fn first(mut self) {
        let name = self.next().await;
        log::info!("{name} received: shutting down gracefully (send it again to exit at once)");
        tokio::spawn(async move {
            let name = self.next().await;
            log::warn!("{name} received again: exiting at once, without waiting for the graceful shutdown");
            std::process::exit(FORCED_EXIT_CODE);
        });
    }

    /// The next signal's name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                log::error!("cannot listen for Ctrl-C: {e}");
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}
