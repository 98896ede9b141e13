//! One connected client as the WebSocket side and the actor share it: who it is
//! ([`ClientHandle`]), its bounded queue of encoded server messages ([`Outgoing`]),
//! the bytes it has pending, and why the server dropped it ([`DropReason`]).
//!
//! A client's backlog is bounded twice: by message count ([`CLIENT_QUEUE_CAPACITY`]) and
//! by bytes ([`CLIENT_BYTE_BUDGET`]): the bytes in the queue plus those the connection
//! task has taken off the queue and not yet flushed to the socket. A client that does not
//! read thus costs the server at most the budget before it is dropped.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, Notify};

/// How many messages a client may have queued before it counts as too slow and is
/// disconnected.
pub const CLIENT_QUEUE_CAPACITY: usize = 4096;

/// How many bytes of server messages a client may have pending (queued, or handed to
/// its socket and not yet flushed) before it counts as too slow and is disconnected.
pub const CLIENT_BYTE_BUDGET: usize = 64 * 1024 * 1024;

/// Why the server ended a client's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The client fell too far behind; the text names the limit it hit.
    TooSlow(String),
    /// A newer connection of the same identity took over the connection id.
    Replaced,
    /// A module update changed rows in a way the client's bindings cannot read
    /// (`--break-clients`); the text says so.
    ModuleUpdated(String),
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooSlow(reason) => f.write_str(reason),
            Self::Replaced => f.write_str("replaced by a newer connection with the same identity and connection id"),
            Self::ModuleUpdated(reason) => f.write_str(reason),
        }
    }
}

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

/// What the manager's [`Queue`] and the connection's [`ClientHandle`] share.
#[derive(Debug)]
struct Shared {
    /// Set when the server drops the client.
    dropped: OnceLock<DropReason>,
    /// Woken when `dropped` is set, so a connection blocked on its socket notices.
    on_drop: Notify,
    /// Bytes queued plus bytes taken off the queue and not yet flushed.
    pending: AtomicUsize,
    /// Set once the connection's end was handled (its `client_disconnected` ran), so
    /// it runs once even when the server ended the connection first.
    ended: AtomicBool,
}

/// One connection as the WebSocket side and the actor share it: who it is, the
/// sending end of its queue (until the actor takes it), its pending bytes, and why the
/// server dropped it.
///
/// Only the subscription manager holds the queue's sender once the client is
/// registered, so the queue closes, and the connection task ends the connection,
/// exactly when the manager forgets the client: a client too slow to keep up, one
/// replaced by a newer connection, or a database that stops (deleted, or replaced by
/// `publish --delete-data`).
#[derive(Debug, Clone)]
pub struct ClientHandle {
    /// The client's identity.
    pub identity: spacetime_sats::Identity,
    /// Its connection id, unique among the database's clients.
    pub connection_id: spacetime_sats::ConnectionId,
    /// The queue's sender, taken when the client is registered.
    sender: Arc<Mutex<Option<mpsc::Sender<Outgoing>>>>,
    shared: Arc<Shared>,
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
            shared: Arc::new(Shared {
                dropped: OnceLock::new(),
                on_drop: Notify::new(),
                pending: AtomicUsize::new(0),
                ended: AtomicBool::new(false),
            }),
        };
        (handle, receiver)
    }

    /// Takes the queue for the manager; `None` if it was taken before (the
    /// connection was registered already).
    pub fn take_queue(&self) -> Option<Queue> {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(Queue {
            sender,
            shared: self.shared.clone(),
        })
    }

    /// Why the server dropped the client, once it did.
    pub fn dropped(&self) -> Option<&DropReason> {
        self.shared.dropped.get()
    }

    /// Resolves once the server has dropped the client (at once if it already has).
    pub async fn wait_dropped(&self) {
        loop {
            let notified = self.shared.on_drop.notified();
            if self.shared.dropped.get().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// The bytes pending for this client: queued, or taken off the queue and not yet
    /// flushed.
    pub fn pending_bytes(&self) -> usize {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// Records that `bytes` taken off the queue were flushed to the socket.
    pub fn flushed(&self, bytes: usize) {
        let _ = self
            .shared
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_sub(bytes)));
    }

    /// Marks the connection's end as handled; `false` if it was marked before.
    pub(crate) fn end(&self) -> bool {
        !self.shared.ended.swap(true, Ordering::AcqRel)
    }

    /// Whether `queue` is this connection's queue.
    pub(crate) fn owns(&self, queue: &Queue) -> bool {
        Arc::ptr_eq(&self.shared, &queue.shared)
    }
}

/// The manager's side of a registered client: its queue, pending bytes and reason slot.
#[derive(Debug)]
pub struct Queue {
    sender: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

impl Queue {
    /// Queues one message; `false` if the client is too far behind (or gone) and must
    /// be dropped.
    pub(crate) fn push(&self, outgoing: Outgoing) -> bool {
        let len = outgoing.body.len();
        let pending = self.shared.pending.fetch_add(len, Ordering::AcqRel) + len;
        if pending > CLIENT_BYTE_BUDGET {
            self.shared.pending.fetch_sub(len, Ordering::AcqRel);
            self.drop_client(DropReason::TooSlow(format!(
                "too slow: {} MiB queued, over the {} MiB budget; read faster or subscribe to less",
                pending.div_ceil(1 << 20),
                CLIENT_BYTE_BUDGET >> 20
            )));
            return false;
        }
        match self.sender.try_send(outgoing) {
            Ok(()) => true,
            Err(e) => {
                self.shared.pending.fetch_sub(len, Ordering::AcqRel);
                if let mpsc::error::TrySendError::Full(_) = e {
                    self.drop_client(DropReason::TooSlow(format!(
                        "too slow: over {CLIENT_QUEUE_CAPACITY} messages queued; read faster or subscribe to less"
                    )));
                }
                false
            }
        }
    }

    /// Records why the client is dropped and wakes its connection task.
    pub(crate) fn drop_client(&self, reason: DropReason) {
        if self.shared.dropped.set(reason).is_ok() {
            // Wakes every `wait_dropped` that exists now; a later one sees `dropped`.
            self.shared.on_drop.notify_waiters();
        }
    }

    /// Why the client was dropped, for the log (empty if it was not).
    pub(crate) fn reason(&self) -> String {
        self.shared.dropped.get().map(ToString::to_string).unwrap_or_default()
    }

    /// Marks the connection's end as handled (see [`ClientHandle::end`]).
    pub(crate) fn end(&self) -> bool {
        !self.shared.ended.swap(true, Ordering::AcqRel)
    }
}
