//! One connected client as the WebSocket side and the actor share it: who it is
//! ([`ClientHandle`]), its bounded queue of encoded server messages ([`Outgoing`]),
//! and why the server dropped it.

use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc;

/// How many messages a client may have queued before it counts as too slow and is
/// disconnected.
pub const CLIENT_QUEUE_CAPACITY: usize = 4096;

/// One queued server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The offset of the last log record appended when the message was queued: the
    /// message may reflect every transaction up to it. `None` when nothing was logged
    /// yet, or the database has no log.
    pub offset: Option<u64>,
    /// The encoded (uncompressed) server message.
    pub body: Vec<u8>,
}

/// One connection as the WebSocket side and the actor share it: who it is, the
/// sending end of its queue (until the actor takes it), and why the server dropped it.
///
/// Only the subscription manager holds the queue's sender once the client is
/// registered, so the queue closes, and the connection task ends the connection,
/// exactly when the manager forgets the client: a client too slow to keep up, or a
/// database that stops (deleted, or replaced by `publish --delete-data`).
#[derive(Debug, Clone)]
pub struct ClientHandle {
    /// The client's identity.
    pub identity: spacetime_sats::Identity,
    /// Its connection id, unique among the database's clients.
    pub connection_id: spacetime_sats::ConnectionId,
    /// The queue's sender, taken when the client is registered.
    sender: Arc<Mutex<Option<mpsc::Sender<Outgoing>>>>,
    /// Set when the server drops the client, with the reason for the close frame.
    pub dropped: Arc<OnceLock<String>>,
}

impl ClientHandle {
    /// A handle and the receiving end of its bounded queue.
    pub fn new(
        identity: spacetime_sats::Identity,
        connection_id: spacetime_sats::ConnectionId,
    ) -> (Self, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(CLIENT_QUEUE_CAPACITY);
        let handle = Self {
            identity,
            connection_id,
            sender: Arc::new(Mutex::new(Some(sender))),
            dropped: Arc::new(OnceLock::new()),
        };
        (handle, receiver)
    }

    /// Takes the queue for the manager; `None` if it was taken before (the
    /// connection was registered already).
    pub fn take_queue(&self) -> Option<Queue> {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(Queue {
            sender,
            dropped: self.dropped.clone(),
        })
    }
}

/// The manager's side of a registered client: its queue and the reason slot.
#[derive(Debug)]
pub struct Queue {
    sender: mpsc::Sender<Outgoing>,
    dropped: Arc<OnceLock<String>>,
}

impl Queue {
    /// Queues one message; `false` if the client is too far behind (or gone) and must
    /// be dropped.
    pub(crate) fn push(&self, outgoing: Outgoing) -> bool {
        match self.sender.try_send(outgoing) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let _ = self.dropped.set(format!(
                    "the client fell more than {CLIENT_QUEUE_CAPACITY} messages behind; reconnect and read faster"
                ));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
