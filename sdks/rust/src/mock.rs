//! [`MockServer`]: the server side of a connection made by
//! [`DbConnectionBuilder::build_with_mock`](crate::DbConnectionBuilder::build_with_mock),
//! for testing client code without a network. The test plays the server: it reads what
//! the client sent and pushes the messages a server would answer with.

use crate::error::{Error, InternalError};
use crate::transport::{TransportEvent, Work};
use spacetime_protocol::v2::{ClientMessage, InitialConnection, ServerMessage};
use spacetime_sats::{ConnectionId, Identity};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The server end of a mock connection.
pub struct MockServer {
    events: UnboundedSender<Work>,
    from_client: UnboundedReceiver<ClientMessage>,
}

impl MockServer {
    pub(crate) fn new(events: UnboundedSender<Work>, from_client: UnboundedReceiver<ClientMessage>) -> Self {
        Self { events, from_client }
    }

    /// Delivers `message` to the client (processed by its next run-method call).
    pub fn send(&self, message: ServerMessage) {
        let _ = self.events.send(Work::Transport(TransportEvent::Message(message)));
    }

    /// Accepts the connection as the server would: sends `InitialConnection`.
    pub fn accept(&self, identity: Identity, connection_id: ConnectionId, token: &str) {
        self.send(ServerMessage::InitialConnection(InitialConnection {
            identity,
            connection_id,
            token: token.into(),
        }));
    }

    /// The next message the client has sent, if any.
    pub fn try_recv(&mut self) -> Option<ClientMessage> {
        self.from_client.try_recv().ok()
    }

    /// Every message the client has sent so far.
    pub fn drain(&mut self) -> Vec<ClientMessage> {
        std::iter::from_fn(|| self.try_recv()).collect()
    }

    /// Whether the client has closed its side (after `disconnect`).
    pub fn client_closed(&self) -> bool {
        self.from_client.is_closed() && self.from_client.is_empty()
    }

    /// Drops the socket as a network failure would, then lets the client reconnect at
    /// once, as a transport with a reconnect policy does. The client then waits for
    /// [`MockServer::accept`] on the new connection.
    pub fn drop_and_reconnect(&mut self, reason: &str) {
        let error = Error::Internal(InternalError::new(reason));
        let _ = self.events.send(Work::Transport(TransportEvent::Closed {
            error: Some(error),
            will_retry: true,
        }));
        let (tx, rx) = unbounded_channel();
        self.from_client = rx;
        let _ = self.events.send(Work::Transport(TransportEvent::Reconnected(tx)));
    }

    /// Closes the connection for good, with `error` (or normally with `None`).
    pub fn close(&self, error: Option<&str>) {
        let error = error.map(|e| Error::Internal(InternalError::new(e)));
        let _ = self.events.send(Work::Transport(TransportEvent::Closed {
            error,
            will_retry: false,
        }));
    }
}
